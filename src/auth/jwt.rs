//! Access and refresh tokens: HS256 only, issuer and audience set and checked, no
//! leeway on `exp` (the issuer is the verifier). A `typ` claim keeps the two kinds
//! apart, so a refresh token is never accepted as an access token and vice versa.

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub jti: String,
    /// The session (one login) this token descends from.
    pub sid: String,
    pub typ: TokenKind,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    pub aud: String,
}

impl Claims {
    pub fn expires_at(&self) -> DateTime<Utc> {
        DateTime::from_timestamp(self.exp, 0).unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("invalid token")]
pub struct InvalidToken;

pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    pub access_ttl: i64,
    pub refresh_ttl: i64,
}

/// A freshly signed token with its claims.
pub struct Issued {
    pub token: String,
    pub claims: Claims,
}

impl JwtKeys {
    pub fn new(
        secret: &SecretString,
        issuer: &str,
        audience: &str,
        access_ttl: u64,
        refresh_ttl: u64,
    ) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            access_ttl: access_ttl as i64,
            refresh_ttl: refresh_ttl as i64,
        }
    }

    pub fn issue(&self, kind: TokenKind, user_id: &str, role: Role, sid: &str) -> Issued {
        let now = Utc::now().timestamp();
        let ttl = match kind {
            TokenKind::Access => self.access_ttl,
            TokenKind::Refresh => self.refresh_ttl,
        };
        let claims = Claims {
            sub: user_id.to_owned(),
            role,
            jti: random_id(),
            sid: sid.to_owned(),
            typ: kind,
            iat: now,
            exp: now + ttl,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .expect("HS256 signing of serializable claims cannot fail");
        Issued { token, claims }
    }

    /// Verifies signature, algorithm, issuer, audience, expiry and kind.
    pub fn verify(&self, token: &str, kind: TokenKind) -> Result<Claims, InvalidToken> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| InvalidToken)?;
        if data.claims.typ != kind {
            return Err(InvalidToken);
        }
        Ok(data.claims)
    }
}

pub use crate::ids::random_id;

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(
            &SecretString::from("0123456789abcdef0123456789abcdef"),
            "photoshare",
            "photoshare-api",
            900,
            3600,
        )
    }

    #[test]
    fn issued_access_token_verifies_with_its_claims() {
        let k = keys();
        let issued = k.issue(TokenKind::Access, "u1", Role::Moderator, "s1");
        let claims = k.verify(&issued.token, TokenKind::Access).unwrap();
        assert_eq!(claims.sub, "u1");
        assert_eq!(claims.role, Role::Moderator);
        assert_eq!(claims.sid, "s1");
        assert_eq!(claims.exp - claims.iat, 900);
        assert_eq!(claims.jti.len(), 32);
    }

    #[test]
    fn access_and_refresh_tokens_are_not_interchangeable() {
        let k = keys();
        let access = k.issue(TokenKind::Access, "u1", Role::User, "s1");
        let refresh = k.issue(TokenKind::Refresh, "u1", Role::User, "s1");
        assert!(k.verify(&access.token, TokenKind::Refresh).is_err());
        assert!(k.verify(&refresh.token, TokenKind::Access).is_err());
    }

    #[test]
    fn other_secret_issuer_or_audience_is_rejected() {
        let k = keys();
        let token = k.issue(TokenKind::Access, "u1", Role::User, "s1").token;
        let secret = SecretString::from("another-secret-another-secret-xx");
        let other_secret = JwtKeys::new(&secret, "photoshare", "photoshare-api", 900, 900);
        let good = SecretString::from("0123456789abcdef0123456789abcdef");
        let other_iss = JwtKeys::new(&good, "someone-else", "photoshare-api", 900, 900);
        let other_aud = JwtKeys::new(&good, "photoshare", "another-api", 900, 900);
        for verifier in [other_secret, other_iss, other_aud] {
            assert!(verifier.verify(&token, TokenKind::Access).is_err());
        }
    }

    #[test]
    fn expired_token_is_rejected_without_leeway() {
        let k = keys();
        let mut claims = k.issue(TokenKind::Access, "u1", Role::User, "s1").claims;
        claims.exp = Utc::now().timestamp() - 1;
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &k.encoding).unwrap();
        assert!(k.verify(&token, TokenKind::Access).is_err());
    }

    #[test]
    fn unsigned_and_other_algorithm_tokens_are_rejected() {
        let k = keys();
        let claims = k.issue(TokenKind::Access, "u1", Role::Admin, "s1").claims;
        let hs512 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS512),
            &claims,
            &EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef"),
        )
        .unwrap();
        assert!(k.verify(&hs512, TokenKind::Access).is_err());
        // alg=none: header {"alg":"none"} and an empty signature.
        use base64_like::encode as b64;
        let none = format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"JWT"}"#),
            b64(serde_json::to_string(&claims).unwrap().as_bytes())
        );
        assert!(k.verify(&none, TokenKind::Access).is_err());
    }

    /// Minimal URL-safe base64 without padding, for building a forged token.
    mod base64_like {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

        pub fn encode(input: &[u8]) -> String {
            let mut out = String::new();
            for chunk in input.chunks(3) {
                let b = [
                    chunk[0],
                    *chunk.get(1).unwrap_or(&0),
                    *chunk.get(2).unwrap_or(&0),
                ];
                let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
                for i in 0..=chunk.len() {
                    out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
