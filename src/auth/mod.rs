//! Authentication: tokens, password hashing, and who the caller is.

pub mod jwt;
pub mod password;

use chrono::{DateTime, Utc};

use crate::domain::Role;
use crate::store::UserRecord;

/// The authenticated caller: the account as stored now (so a role change or a ban
/// takes effect at once), and the token that proved it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserRecord,
    pub sid: String,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
}

impl Principal {
    pub fn id(&self) -> &str {
        &self.user.id
    }

    pub fn role(&self) -> Role {
        self.user.role
    }

    pub fn is_staff(&self) -> bool {
        self.user.role >= Role::Moderator
    }
}
