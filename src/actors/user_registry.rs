//! UserRegistry: accounts, sessions and the rules around them (first account is admin,
//! refresh rotation with reuse detection, logout, bans that bite at once, no self-ban).
//!
//! The actor owns an `Accounts` service and runs each message as a future on its
//! context; storage and argon2 work happen off the actor's thread. Handlers talk to it
//! through the `Registry` handle, never by building messages.

use std::sync::Arc;

use actix::prelude::*;

use crate::auth::jwt::{random_id, Claims, JwtKeys, TokenKind};
use crate::auth::password::{HashError, Hasher};
use crate::auth::Principal;
use crate::domain::{Bio, Email, FullName, Password, Role, Username};
use crate::store::{
    new_id, now_millis, NewUser, OnConflict, ProfilePatch, SessionRecord, Store, StoreError,
    UserRecord,
};

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("wrong username or password")]
    InvalidCredentials,
    #[error("token rejected")]
    Unauthorized,
    #[error("account banned")]
    Banned,
    #[error("user not found")]
    NotFound,
    #[error("{0} taken")]
    Taken(&'static str),
    #[error("admin cannot ban or demote themself")]
    SelfChange,
    #[error("wrong current password")]
    WrongCurrentPassword,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

/// A token pair as handed to the client.
#[derive(Debug, Clone)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub expires_in: i64,
}

/// Creates an account; the store decides whether it is the first (admin).
#[derive(Message)]
#[rtype(result = "Result<UserRecord, UserError>")]
pub struct Signup {
    pub username: Username,
    pub email: Email,
    pub password: Password,
    pub full_name: Option<FullName>,
}

/// Checks a password for a username or email and opens a session.
#[derive(Message)]
#[rtype(result = "Result<TokenPair, UserError>")]
pub struct Login {
    pub login: String,
    pub password: String,
}

/// Rotates a refresh token; a rotated token presented again revokes its session.
#[derive(Message)]
#[rtype(result = "Result<TokenPair, UserError>")]
pub struct Refresh {
    pub refresh_token: String,
}

/// Blocklists the access token and revokes its session.
#[derive(Message)]
#[rtype(result = "Result<(), UserError>")]
pub struct Logout {
    pub principal: Principal,
}

/// Turns verified access-token claims into the caller as stored now.
#[derive(Message)]
#[rtype(result = "Result<Principal, UserError>")]
pub struct Authenticate {
    pub claims: Claims,
}

/// Changes the caller's own profile fields.
#[derive(Message)]
#[rtype(result = "Result<UserRecord, UserError>")]
pub struct UpdateProfile {
    pub user_id: String,
    pub full_name: Option<Option<FullName>>,
    pub bio: Option<Option<Bio>>,
    pub email: Option<Email>,
}

/// Changes the caller's password and signs out their other sessions.
#[derive(Message)]
#[rtype(result = "Result<(), UserError>")]
pub struct ChangePassword {
    pub principal: Principal,
    pub current: String,
    pub new: Password,
}

/// An account by username (case-insensitive).
#[derive(Message)]
#[rtype(result = "Result<UserRecord, UserError>")]
pub struct FindUser {
    pub username: String,
}

/// A page of accounts in sign-up order, with the total.
#[derive(Message)]
#[rtype(result = "Result<(Vec<UserRecord>, u64), UserError>")]
pub struct ListUsers {
    pub limit: u32,
    pub offset: u64,
}

/// An admin changes someone's role.
#[derive(Message)]
#[rtype(result = "Result<UserRecord, UserError>")]
pub struct SetRole {
    pub admin_id: String,
    pub username: String,
    pub role: Role,
}

/// An admin bans or unbans someone; a ban revokes their sessions at once.
#[derive(Message)]
#[rtype(result = "Result<UserRecord, UserError>")]
pub struct SetBanned {
    pub admin_id: String,
    pub username: String,
    pub banned: bool,
}

/// The rules, independent of the actor plumbing. Cheap to clone: one per process,
/// shared by every UserRegistry instance.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    hasher: Hasher,
    keys: Arc<JwtKeys>,
}

impl Accounts {
    pub fn new(store: Store, hasher: Hasher, keys: Arc<JwtKeys>) -> Self {
        Self {
            store,
            hasher,
            keys,
        }
    }

    /// Creates an account (also `photoshare create-admin`, without the actor).
    pub async fn signup(self, msg: Signup) -> Result<UserRecord, UserError> {
        let password_hash = self.hasher.hash(msg.password).await?;
        let new = NewUser {
            id: new_id(),
            username: msg.username.as_ref().to_owned(),
            email: msg.email.as_ref().to_owned(),
            full_name: msg.full_name.map(FullName::into_inner),
            password_hash,
            created_at: now_millis(),
        };
        self.store
            .users
            .create(new)
            .await
            .on_conflict(UserError::Taken)
    }

    async fn login(self, msg: Login) -> Result<TokenPair, UserError> {
        // Usernames cannot contain '@', so the two lookups never compete.
        let user = if msg.login.contains('@') {
            self.store.users.by_email(&msg.login.to_lowercase()).await?
        } else {
            self.store
                .users
                .by_username(&msg.login.to_ascii_lowercase())
                .await?
        };
        let hash = user.as_ref().map(|u| u.password_hash.clone());
        if !self.hasher.verify(msg.password, hash).await? {
            return Err(UserError::InvalidCredentials);
        }
        let user = user.ok_or(UserError::InvalidCredentials)?;
        if !user.is_active {
            return Err(UserError::Banned);
        }
        let sid = random_id();
        let refresh = self
            .keys
            .issue(TokenKind::Refresh, &user.id, user.role, &sid);
        self.store
            .sessions
            .create_session(SessionRecord {
                id: sid.clone(),
                user_id: user.id.clone(),
                refresh_jti: refresh.claims.jti.clone(),
                revoked: false,
                expires_at: refresh.claims.expires_at(),
            })
            .await?;
        Ok(self.pair(&user, &sid, refresh.token))
    }

    fn pair(&self, user: &UserRecord, sid: &str, refresh_token: String) -> TokenPair {
        let access = self.keys.issue(TokenKind::Access, &user.id, user.role, sid);
        TokenPair {
            access_token: access.token,
            refresh_token,
            expires_in: self.keys.access_ttl,
        }
    }

    async fn refresh(self, msg: Refresh) -> Result<TokenPair, UserError> {
        let claims = self
            .keys
            .verify(&msg.refresh_token, TokenKind::Refresh)
            .map_err(|_| UserError::Unauthorized)?;
        let session = self
            .store
            .sessions
            .session(&claims.sid)
            .await?
            .filter(|s| s.user_id == claims.sub && !s.revoked)
            .ok_or(UserError::Unauthorized)?;
        let user = self
            .store
            .users
            .by_id(&session.user_id)
            .await?
            .filter(|u| u.is_active)
            .ok_or(UserError::Unauthorized)?;
        let next = self
            .keys
            .issue(TokenKind::Refresh, &user.id, user.role, &session.id);
        let rotated = self
            .store
            .sessions
            .rotate_session(
                &session.id,
                &claims.jti,
                &next.claims.jti,
                next.claims.expires_at(),
            )
            .await?;
        if !rotated {
            // The token was already used: someone holds a copy. End the whole login.
            tracing::warn!(user_id = %user.id, "refresh token reuse detected; session revoked");
            self.store.sessions.revoke_session(&session.id).await?;
            return Err(UserError::Unauthorized);
        }
        Ok(self.pair(&user, &session.id, next.token))
    }

    async fn logout(self, msg: Logout) -> Result<(), UserError> {
        let p = msg.principal;
        self.store.blocklist.block(&p.jti, p.expires_at).await?;
        self.store.sessions.revoke_session(&p.sid).await?;
        Ok(())
    }

    async fn authenticate(self, msg: Authenticate) -> Result<Principal, UserError> {
        let c = msg.claims;
        let (user, session, blocked) = futures_util::future::try_join3(
            self.store.users.by_id(&c.sub),
            self.store.sessions.session(&c.sid),
            self.store.blocklist.is_blocked(&c.jti),
        )
        .await?;
        let session_live = session.is_some_and(|s| !s.revoked && s.user_id == c.sub);
        match user {
            Some(user) if user.is_active && session_live && !blocked => Ok(Principal {
                expires_at: c.expires_at(),
                user,
                sid: c.sid,
                jti: c.jti,
            }),
            _ => Err(UserError::Unauthorized),
        }
    }

    async fn update_profile(self, msg: UpdateProfile) -> Result<UserRecord, UserError> {
        let patch = ProfilePatch {
            full_name: msg.full_name.map(|v| v.map(FullName::into_inner)),
            bio: msg.bio.map(|v| v.map(Bio::into_inner)),
            email: msg.email.map(|e| e.as_ref().to_owned()),
        };
        self.store
            .users
            .update_profile(&msg.user_id, patch)
            .await
            .on_conflict(UserError::Taken)
    }

    async fn change_password(self, msg: ChangePassword) -> Result<(), UserError> {
        let p = msg.principal;
        let user = self
            .store
            .users
            .by_id(p.id())
            .await?
            .ok_or(UserError::Unauthorized)?;
        if !self
            .hasher
            .verify(msg.current, Some(user.password_hash))
            .await?
        {
            return Err(UserError::WrongCurrentPassword);
        }
        let hash = self.hasher.hash(msg.new).await?;
        self.store.users.set_password_hash(&user.id, &hash).await?;
        self.store
            .sessions
            .revoke_user_sessions(&user.id, Some(&p.sid))
            .await?;
        Ok(())
    }

    async fn find(&self, username: &str) -> Result<UserRecord, UserError> {
        self.store
            .users
            .by_username(&username.to_ascii_lowercase())
            .await?
            .ok_or(UserError::NotFound)
    }

    async fn find_user(self, msg: FindUser) -> Result<UserRecord, UserError> {
        self.find(&msg.username).await
    }

    async fn list_users(self, msg: ListUsers) -> Result<(Vec<UserRecord>, u64), UserError> {
        Ok(self.store.users.list(msg.limit, msg.offset).await?)
    }

    async fn set_role(self, msg: SetRole) -> Result<UserRecord, UserError> {
        let target = self.find(&msg.username).await?;
        if target.id == msg.admin_id && msg.role != Role::Admin {
            return Err(UserError::SelfChange);
        }
        Ok(self.store.users.set_role(&target.id, msg.role).await?)
    }

    async fn set_banned(self, msg: SetBanned) -> Result<UserRecord, UserError> {
        let target = self.find(&msg.username).await?;
        if target.id == msg.admin_id && msg.banned {
            return Err(UserError::SelfChange);
        }
        let user = self.store.users.set_active(&target.id, !msg.banned).await?;
        if msg.banned {
            // Their access tokens already fail (is_active is checked per request);
            // revoking the sessions keeps an unban from reviving old tokens.
            self.store
                .sessions
                .revoke_user_sessions(&target.id, None)
                .await?;
        }
        Ok(user)
    }
}

service_actor! {
    /// Accounts, sessions and tokens.
    UserRegistry(Accounts) {
    Signup => signup,
    Login => login,
    Refresh => refresh,
    Logout => logout,
    Authenticate => authenticate,
    UpdateProfile => update_profile,
    ChangePassword => change_password,
    FindUser => find_user,
    ListUsers => list_users,
    SetRole => set_role,
    SetBanned => set_banned,
}
}

/// The typed handle the HTTP layer uses.
pub type Registry = super::Handle<UserRegistry>;
