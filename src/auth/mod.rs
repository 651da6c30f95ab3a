//! Authentication: tokens, password hashing, and who the caller is.

pub mod jwt;
pub mod password;

use chrono::{DateTime, Utc};

use crate::domain::Role;
use crate::domain::UserRecord;

/// The authenticated caller: the account as stored now (so a role change or a ban
/// takes effect at once), and the token that proved it.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: UserRecord,
    pub sid: String,
    pub jti: String,
    pub expires_at: DateTime<Utc>,
    /// Photos the account has (on its own profile page).
    pub photo_count: u64,
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

/// Who is asking, as the actors need it: enough to decide owner-or-admin rights.
#[derive(Debug, Clone)]
pub struct Caller {
    pub id: String,
    pub username: String,
    pub role: Role,
}

impl From<&Principal> for Caller {
    fn from(p: &Principal) -> Self {
        Caller {
            id: p.user.id.clone(),
            username: p.user.username.clone(),
            role: p.user.role,
        }
    }
}
