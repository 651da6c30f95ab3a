//! Eraser: deletes an account and everything it owns, as a resumable job. The first
//! step is durable and immediate: the account is marked as being deleted and made
//! inactive, its sessions revoked and the change announced on the bus, so its tokens
//! fail on every node. Then, each step idempotent: its comments and ratings on other
//! photos (their counts and averages moved exactly, by the same store calls a single
//! deletion uses), its albums and share links, its photos (tombstoned at once, their
//! files, renders and queued jobs purged by the purge job), its follows,
//! notifications and reports, and last the account itself, which frees its username
//! and email. A process that stops halfway finds the mark when it starts again
//! (`resume`) and runs the steps from the top.

use actix::prelude::*;

use super::photo_store::Photos;
use crate::auth::password::{HashError, Hasher};
use crate::auth::Caller;
use crate::domain::{PhotoQuery, Role};
use crate::queue::bus::{Event, EventBus};
use crate::store::{Store, StoreError, UserRecord};

#[derive(Debug, thiserror::Error)]
pub enum EraseError {
    #[error("user not found")]
    NotFound,
    #[error("the password is not this account's")]
    WrongPassword,
    #[error("an admin deletes their own account with DELETE /api/users/me")]
    SelfDelete,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("a photo could not be deleted: {0}")]
    Photo(String),
    #[error("the eraser is not running")]
    Mailbox(#[from] actix::MailboxError),
}

/// Whose account goes: the caller's own (with their password), or one an admin
/// names.
#[derive(Debug)]
pub enum Erase {
    Own { caller: Caller, password: String },
    ByAdmin { admin: Caller, username: String },
}

/// Deletes the account; answered when everything is gone but the files, which
/// the photos' purge jobs remove (and which nothing serves any more).
#[derive(Message)]
#[rtype(result = "Result<(), EraseError>")]
pub struct EraseAccount(pub Erase);

/// Records walked per store call.
const PAGE: u32 = 100;

#[derive(Clone)]
pub struct Eraser {
    store: Store,
    photos: Photos,
    hasher: Hasher,
    bus: EventBus,
}

impl Eraser {
    pub fn new(store: Store, photos: Photos, hasher: Hasher, bus: EventBus) -> Self {
        Self {
            store,
            photos,
            hasher,
            bus,
        }
    }

    async fn erase(self, msg: EraseAccount) -> Result<(), EraseError> {
        let users = &self.store.users;
        let user = match msg.0 {
            Erase::Own { caller, password } => {
                let user = users.by_id(&caller.id).await?.ok_or(EraseError::NotFound)?;
                let hash = Some(user.password_hash.clone());
                if !self.hasher.verify(password, hash).await? {
                    return Err(EraseError::WrongPassword);
                }
                user
            }
            Erase::ByAdmin { admin, username } => {
                debug_assert_eq!(admin.role, Role::Admin);
                let key = username.to_ascii_lowercase();
                let user = users.by_username(&key).await?.ok_or(EraseError::NotFound)?;
                if user.id == admin.id {
                    return Err(EraseError::SelfDelete);
                }
                user
            }
        };
        let user = users
            .begin_deletion(&user.id)
            .await?
            .ok_or(EraseError::NotFound)?;
        self.store
            .sessions
            .revoke_user_sessions(&user.id, None)
            .await?;
        self.bus.publish(Event::UserChanged(user.id.clone()));
        tracing::info!(user_id = %user.id, "account deletion started");
        self.finish(&user).await
    }

    /// Finishes the deletions a stopped process left (at start-up).
    pub async fn resume(&self) -> Result<usize, EraseError> {
        let pending = self.store.users.deletions_pending().await?;
        for user in &pending {
            tracing::info!(user_id = %user.id, "resuming an account deletion");
            self.finish(user).await?;
        }
        Ok(pending.len())
    }

    /// Every step after the mark; each one finds what is left and removes it.
    async fn finish(&self, user: &UserRecord) -> Result<(), EraseError> {
        let store = &self.store;
        let mut after = String::new();
        loop {
            let page = store.comments.comments_by(&user.id, &after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            for c in &page {
                // None: the photo is being deleted, and its purge takes the comment.
                store.comments.delete_comment(&c.id).await?;
            }
        }
        after.clear();
        loop {
            let page = store.ratings.ratings_by(&user.id, &after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            for r in &page {
                store.ratings.delete_rating(&r.id).await?;
            }
        }
        store.albums.delete_albums_of(&user.id).await?;
        loop {
            let query = PhotoQuery {
                owner_id: Some(user.id.clone()),
                limit: PAGE,
                ..PhotoQuery::default()
            };
            let (page, _) = store.photos.search(&query).await?;
            if page.is_empty() {
                break;
            }
            for p in &page {
                self.photos
                    .remove(&p.id)
                    .await
                    .map_err(|e| EraseError::Photo(e.to_string()))?;
            }
        }
        store.social.forget_user(&user.id, &user.username).await?;
        store.users.delete_user(&user.id).await?;
        self.bus.publish(Event::UserChanged(user.id.clone()));
        tracing::info!(user_id = %user.id, "account deleted");
        Ok(())
    }
}

service_actor! {
    /// Account deletions: the durable mark, the steps, the resumption.
    Erasure(Eraser) {
    EraseAccount => erase,
}
}

/// The typed handle the HTTP layer uses.
pub type ErasureHandle = super::Handle<Erasure>;
