//! Account fields: what a valid username, email, password and role are.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `^[A-Za-z0-9_.-]{3,32}$`; compared case-insensitively, displayed as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Self, String> {
        let ok_chars = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !(3..=32).contains(&s.len()) || !ok_chars {
            return Err("must be 3 to 32 characters of A-Z, a-z, 0-9, '_', '.' or '-'".into());
        }
        Ok(Self(s.to_owned()))
    }

    /// The key uniqueness is decided on.
    pub fn folded(&self) -> String {
        self.0.to_ascii_lowercase()
    }
}

impl AsRef<str> for Username {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// The key an email address is unique by: Unicode's compatibility caseless form
/// (NFKD of the full case folding, twice, as Unicode defines caseless matching;
/// composed to NFC to keep it short). `ΑΣ@`, `ας@` and `ασ@` (final sigma) are
/// one address, as are a composed and a decomposed accent, and `ﬁ` and `fi`.
pub fn email_key(s: &str) -> String {
    use caseless::Caseless;
    use unicode_normalization::UnicodeNormalization;
    s.nfd()
        .default_case_fold()
        .nfkd()
        .default_case_fold()
        .nfkd()
        .nfc()
        .collect()
}

/// An email address, stored as typed; compared by [`email_key`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let invalid = || Err("must be a valid email address".to_owned());
        if s.len() > 254 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return invalid();
        }
        let Some((local, domain)) = s.rsplit_once('@') else {
            return invalid();
        };
        // RFC 5322's unquoted local part (atext and dots), plus letters and digits
        // of any script (RFC 6531); no quoted local parts, no <, >, (, ), [, ], \.
        let atext = |c: char| c.is_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local.chars().all(|c| c == '.' || atext(c))
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..");
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !labels_ok {
            return invalid();
        }
        Ok(Self(s.to_owned()))
    }

    pub fn folded(&self) -> String {
        email_key(&self.0)
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// 8..=128 characters. Never logged, never serialized.
pub struct Password(String);

impl Password {
    pub fn parse(s: &str) -> Result<Self, String> {
        let n = s.chars().count();
        if !(8..=128).contains(&n) {
            return Err("must be 8 to 128 characters".into());
        }
        // Spaces are fine (pass phrases); control characters and a password of
        // only whitespace are not.
        if s.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        if s.chars().all(char::is_whitespace) {
            return Err("must not be only whitespace".into());
        }
        Ok(Self(s.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// Free-text display name, at most 100 characters, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FullName(String);

impl FullName {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.chars().count() > 100 {
            return Err("must be at most 100 characters".into());
        }
        super::text::check(s, false)?;
        Ok(Self(s.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// Profile text, at most 500 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bio(String);

impl Bio {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.chars().count() > 500 {
            return Err("must be at most 500 characters".into());
        }
        super::text::check(s, true)?;
        Ok(Self(s.to_owned()))
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Moderator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Moderator => "moderator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "user" => Ok(Role::User),
            "moderator" => Ok(Role::Moderator),
            "admin" => Ok(Role::Admin),
            _ => Err("must be one of user, moderator, admin".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_pattern() {
        for ok in ["abc", "A.b-c_9", &"x".repeat(32)] {
            assert!(Username::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", &"x".repeat(33), "has space", "émile", "a/b", ""] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn username_folds_to_lower_case() {
        assert_eq!(Username::parse("Alice").unwrap().folded(), "alice");
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        for ok in ["a@b.co", "first.last+tag@mail.example.org", "ü@bücher.de"] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "plain",
            "@b.co",
            "a@",
            "a@b",
            "a b@c.de",
            "a@@b.co",
            "a@-b.co",
            ".a@b.co",
            "a..b@c.de",
            "a@b..co",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_are_8_to_128_characters() {
        assert!(Password::parse("1234567").is_err());
        assert!(Password::parse("12345678").is_ok());
        assert!(Password::parse(&"é".repeat(128)).is_ok());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert_eq!(
            format!("{:?}", Password::parse("secret-pass").unwrap()),
            "Password(..)"
        );
    }

    #[test]
    fn roles_parse_and_print() {
        for r in [Role::User, Role::Moderator, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").is_err());
        assert!(Role::Admin > Role::Moderator && Role::Moderator > Role::User);
    }

    #[test]
    fn full_name_and_bio_have_length_limits() {
        assert_eq!(
            FullName::parse("  Ada  ").unwrap().into_inner(),
            "Ada".to_owned()
        );
        assert!(FullName::parse(&"x".repeat(101)).is_err());
        assert!(Bio::parse(&"x".repeat(500)).is_ok());
        assert!(Bio::parse(&"x".repeat(501)).is_err());
    }
}
