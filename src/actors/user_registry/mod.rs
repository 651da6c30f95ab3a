//! UserRegistry: accounts, sessions and the rules around them (first account is admin,
//! refresh rotation with reuse detection, logout, bans that bite at once, no self-ban),
//! and the principals cache (`principals`): an authenticated request whose token it
//! has seen recently is answered from memory.
//!
//! Every change that makes a cached principal wrong (ban, role, profile, password,
//! logout, a photo uploaded or deleted) is published on the event bus; every
//! UserRegistry instance, in this process and on every other node, drops what it
//! cached for that account or session. Storage and argon2 work run as futures on
//! the actor's context, off its thread. Handlers use the `Registry` handle.

use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;

use crate::auth::jwt::{Claims, JwtKeys, TokenKind};
use crate::auth::password::{HashError, Hasher};
use crate::auth::Principal;
use crate::domain::{Bio, Email, FullName, Password, Role, Username};
use crate::ids::{new_id, now_millis, random_id};
use crate::queue::bus::{Event, EventBus};
use crate::store::{
    NewUser, OnConflict, ProfilePatch, SessionRecord, Store, StoreError, UserRecord,
};

mod principals;
use principals::Principals;

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
    #[error("the user registry is not running")]
    Mailbox(#[from] MailboxError),
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
    /// Only usernames starting with this (case-insensitive), in username order.
    pub prefix: Option<String>,
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

/// Forgets what is cached for an account or a session (from the event bus).
#[derive(Message)]
#[rtype(result = "()")]
struct Invalidate(Option<Event>);

/// Principals cache hits and misses of this instance, for `/metrics`.
#[derive(Message)]
#[rtype(result = "(u64, u64)")]
pub struct CacheStats;

/// The rules, independent of the actor plumbing. Cheap to clone: one per process,
/// shared by every UserRegistry instance.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    hasher: Hasher,
    keys: Arc<JwtKeys>,
    bus: EventBus,
}

impl Accounts {
    pub fn new(store: Store, hasher: Hasher, keys: Arc<JwtKeys>, bus: EventBus) -> Self {
        Self {
            store,
            hasher,
            keys,
            bus,
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
            self.store
                .users
                .by_email(&crate::domain::email_key(&msg.login))
                .await?
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
            self.bus.publish(Event::SessionRevoked(session.id.clone()));
            return Err(UserError::Unauthorized);
        }
        Ok(self.pair(&user, &session.id, next.token))
    }

    async fn logout(self, msg: Logout) -> Result<(), UserError> {
        let p = msg.principal;
        self.store.blocklist.block(&p.jti, p.expires_at).await?;
        self.store.sessions.revoke_session(&p.sid).await?;
        self.bus.publish(Event::SessionRevoked(p.sid));
        Ok(())
    }

    /// The principal of verified claims, read from the database (four reads at
    /// once: account, session, blocklist, photo count).
    async fn authenticate(self, msg: Authenticate) -> Result<Principal, UserError> {
        let c = msg.claims;
        let (user, session, blocked, photo_count) = futures_util::future::try_join4(
            self.store.users.by_id(&c.sub),
            self.store.sessions.session(&c.sid),
            self.store.blocklist.is_blocked(&c.jti),
            self.store.photos.photo_count(&c.sub),
        )
        .await?;
        let session_live = session.is_some_and(|s| !s.revoked && s.user_id == c.sub);
        match user {
            Some(user) if user.is_active && session_live && !blocked => Ok(Principal {
                expires_at: c.expires_at(),
                user,
                sid: c.sid,
                jti: c.jti,
                photo_count,
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
        let user = self
            .store
            .users
            .update_profile(&msg.user_id, patch)
            .await
            .on_conflict(UserError::Taken)?;
        self.bus.publish(Event::UserChanged(user.id.clone()));
        Ok(user)
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
        self.bus.publish(Event::UserChanged(user.id));
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
        let users = &self.store.users;
        Ok(match msg.prefix {
            Some(prefix) => {
                let key = prefix.to_ascii_lowercase();
                users.with_prefix(&key, msg.limit, msg.offset).await?
            }
            None => users.list(msg.limit, msg.offset).await?,
        })
    }

    async fn set_role(self, msg: SetRole) -> Result<UserRecord, UserError> {
        let target = self.find(&msg.username).await?;
        if target.id == msg.admin_id && msg.role != Role::Admin {
            return Err(UserError::SelfChange);
        }
        let user = self.store.users.set_role(&target.id, msg.role).await?;
        self.bus.publish(Event::UserChanged(user.id.clone()));
        Ok(user)
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
        self.bus.publish(Event::UserChanged(user.id.clone()));
        Ok(user)
    }
}

/// Accounts, sessions and tokens, and the principals cache. One instance per HTTP
/// worker (so a request's message stays on its thread), each with its own cache,
/// all listening to the event bus.
pub struct UserRegistry {
    accounts: Accounts,
    principals: Principals,
}

/// How long a principal may be served from memory without news from the bus, and
/// how many are kept.
#[derive(Debug, Clone, Copy)]
pub struct CacheSettings {
    pub ttl: Duration,
    pub max_entries: usize,
}

impl UserRegistry {
    pub fn new(accounts: Accounts, cache: CacheSettings) -> Self {
        UserRegistry {
            accounts,
            principals: Principals::new(cache.ttl, cache.max_entries),
        }
    }
}

impl Actor for UserRegistry {
    type Context = Context<Self>;

    /// Listens to the bus for as long as this instance runs.
    fn started(&mut self, ctx: &mut Context<Self>) {
        use tokio::sync::broadcast::error::RecvError;
        let mut events = self.accounts.bus.subscribe();
        let me = ctx.address();
        ctx.spawn(
            async move {
                loop {
                    match events.recv().await {
                        Ok(event) => me.do_send(Invalidate(Some(event))),
                        // Missed some: forget everything rather than guess.
                        Err(RecvError::Lagged(_)) => me.do_send(Invalidate(None)),
                        Err(RecvError::Closed) => break,
                    }
                }
            }
            .into_actor(self),
        );
    }
}

impl Supervised for UserRegistry {
    fn restarting(&mut self, _: &mut Context<Self>) {
        tracing::warn!(actor = "UserRegistry", "restarting");
        self.principals.clear();
    }
}

impl Handler<Invalidate> for UserRegistry {
    type Result = ();

    fn handle(&mut self, msg: Invalidate, _: &mut Context<Self>) {
        match msg.0 {
            Some(Event::UserChanged(id)) => self.principals.forget_user(&id),
            Some(Event::SessionRevoked(sid)) => self.principals.forget_session(&sid),
            None => self.principals.clear(),
        }
    }
}

impl Handler<CacheStats> for UserRegistry {
    type Result = MessageResult<CacheStats>;

    fn handle(&mut self, _: CacheStats, _: &mut Context<Self>) -> Self::Result {
        MessageResult((self.principals.hits, self.principals.misses))
    }
}

impl Handler<Authenticate> for UserRegistry {
    type Result = ResponseActFuture<Self, Result<Principal, UserError>>;

    fn handle(&mut self, msg: Authenticate, _: &mut Context<Self>) -> Self::Result {
        if let Some(p) = self.principals.get(&msg.claims.jti) {
            return Box::pin(actix::fut::ready(Ok(p)));
        }
        let generation = self.principals.generation();
        let fetch = self.accounts.clone().authenticate(msg);
        Box::pin(fetch.into_actor(self).map(move |result, act, _| {
            if let Ok(p) = &result {
                act.principals.insert(generation, p.clone());
            }
            result
        }))
    }
}

/// Handles each message by running the `Accounts` method of the same row.
macro_rules! delegate {
    ($($msg:ty => $method:ident),* $(,)?) => {
        $(
            impl Handler<$msg> for UserRegistry {
                type Result = ResponseFuture<<$msg as Message>::Result>;

                fn handle(&mut self, msg: $msg, _: &mut Context<Self>) -> Self::Result {
                    use tracing::Instrument;
                    let span = tracing::info_span!(
                        "actor",
                        actor = "UserRegistry",
                        message = stringify!($msg)
                    );
                    Box::pin(self.accounts.clone().$method(msg).instrument(span))
                }
            }
        )*
    };
}

delegate! {
    Signup => signup,
    Login => login,
    Refresh => refresh,
    Logout => logout,
    UpdateProfile => update_profile,
    ChangePassword => change_password,
    FindUser => find_user,
    ListUsers => list_users,
    SetRole => set_role,
    SetBanned => set_banned,
}

/// The typed handle the HTTP layer uses.
pub type Registry = super::Handle<UserRegistry>;
