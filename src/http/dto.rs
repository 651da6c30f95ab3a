//! Wire types: what clients send and receive. Inbound bodies reject unknown fields;
//! outbound ones are built from stored records, never the other way round.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::{IntoParams, ToSchema};

use super::error::ApiError;
use crate::actors::user_registry::TokenPair;
use crate::domain::UserRecord;
use crate::domain::{FieldError, Role};

/// RFC 3339 in UTC with milliseconds: `2026-11-26T14:21:17.042Z`.
pub fn ser_time<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true))
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
pub fn double_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    #[schema(example = "ada_l", pattern = "^[A-Za-z0-9_.-]{3,32}$")]
    pub username: String,
    #[schema(example = "ada@example.com")]
    pub email: String,
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    pub full_name: Option<String>,
}

/// JSON login; the form variant (OAuth2 password grant) has the same two fields.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"username": "ada_l", "password": "correct horse battery"}))]
pub struct LoginRequest {
    /// Username or email.
    pub username: String,
    pub password: String,
}

/// OAuth2 password-grant form: extra standard fields are accepted and ignored.
#[derive(Debug, Deserialize)]
pub struct LoginForm {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"refresh_token": "eyJhbGciOiJIUzI1NiJ9.e30.cmVmcmVzaA"}))]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "access_token": "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl",
    "refresh_token": "eyJhbGciOiJIUzI1NiJ9.e30.cmVmcmVzaA",
    "token_type": "bearer", "expires_in": 900
}))]
pub struct Tokens {
    pub access_token: String,
    pub refresh_token: String,
    pub token_type: TokenType,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// How the access token is sent: `Authorization: Bearer <token>`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TokenType {
    Bearer,
}

impl From<TokenPair> for Tokens {
    fn from(p: TokenPair) -> Self {
        Tokens {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            token_type: TokenType::Bearer,
            expires_in: p.expires_in,
        }
    }
}

/// `null` clears `full_name` or `bio`; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"full_name": "Ada Lovelace", "bio": null}))]
pub struct UpdateMeRequest {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub full_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub bio: Option<Option<String>>,
    pub email: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "current_password": "correct horse battery", "new_password": "staple battery horse"
}))]
pub struct ChangePasswordRequest {
    pub current_password: String,
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"role": "moderator"}))]
pub struct RoleRequest {
    /// `user`, `moderator` or `admin`.
    #[schema(value_type = Role)]
    pub role: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "6b0e9f00da39323937709300", "username": "ada_l", "email": "ada@example.com",
    "full_name": "Ada Lovelace", "bio": null, "role": "user", "is_active": true,
    "created_at": "2026-11-20T09:00:00.000Z", "photo_count": 12
}))]
pub struct PrivateUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub bio: Option<String>,
    pub role: Role,
    pub is_active: bool,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    pub photo_count: u64,
}

impl PrivateUser {
    pub fn new(u: UserRecord, photo_count: u64) -> Self {
        PrivateUser {
            id: u.id,
            username: u.username,
            email: u.email,
            full_name: u.full_name,
            bio: u.bio,
            role: u.role,
            is_active: u.is_active,
            created_at: u.created_at,
            photo_count,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "username": "ada_l", "full_name": "Ada Lovelace", "bio": "Harbours and light",
    "role": "user", "created_at": "2026-11-20T09:00:00.000Z",
    "photo_count": 12, "comment_count": 40, "followers": 310, "following": 87
}))]
pub struct PublicProfile {
    pub username: String,
    pub full_name: Option<String>,
    pub bio: Option<String>,
    pub role: Role,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    pub photo_count: u64,
    pub comment_count: u64,
    /// Accounts following this one.
    pub followers: u64,
    /// Accounts this one follows.
    pub following: u64,
}

impl PublicProfile {
    pub fn new(
        u: UserRecord,
        photo_count: u64,
        comment_count: u64,
        follows: crate::domain::FollowCounts,
    ) -> Self {
        PublicProfile {
            username: u.username,
            full_name: u.full_name,
            bio: u.bio,
            role: u.role,
            created_at: u.created_at,
            photo_count,
            comment_count,
            followers: follows.followers,
            following: follows.following,
        }
    }
}

/// A page of a list. In the OpenAPI document, `Page_Photo`'s items refer to
/// `Photo` (see `openapi::ClientReady`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Page<T: ToSchema> {
    pub items: Vec<T>,
    pub total: u64,
    pub limit: u32,
    pub offset: u64,
}

/// `?limit=` (1..=100, default 20) and `?offset=` (>= 0, default 0).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

impl PageQuery {
    pub fn bounds(&self) -> Result<(u32, u64), ApiError> {
        let mut errors = Vec::new();
        let limit = self.limit.unwrap_or(20);
        let offset = self.offset.unwrap_or(0);
        if !(1..=100).contains(&limit) {
            errors.push(FieldError::new("limit", "must be 1..=100"));
        }
        if offset < 0 {
            errors.push(FieldError::new("offset", "must be >= 0"));
        }
        if errors.is_empty() {
            Ok((limit as u32, offset as u64))
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}
