//! Storage behind narrow traits, one per aggregate, with two backends: an embedded redb
//! file (the zero-set-up default) and MongoDB. Both pass one conformance suite
//! (`conformance.rs`), so they cannot drift.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use crate::domain::records::*;
use crate::domain::Role;
pub use albums::AlbumRepo;
pub use social::{NotificationRepo, ReportRepo, Resolved, SocialRepo};

pub mod albums;
pub mod embedded;
mod metered;
pub mod mongo;
pub mod social;

#[cfg(test)]
pub(crate) mod conformance;
#[cfg(test)]
mod conformance_account;
#[cfg(test)]
mod conformance_search;
#[cfg(test)]
mod conformance_social;
#[cfg(test)]
mod races;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key is taken; names the field (`username`, `email`).
    #[error("duplicate {0}")]
    Conflict(&'static str),
    #[error("record not found")]
    NotFound,
    /// The database cannot be reached or failed; the source is logged, never shown.
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    pub fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Unavailable(Box::new(e))
    }
}

/// Maps a storage conflict to the caller's own error, as `.on_conflict(..)`.
pub trait OnConflict<T> {
    fn on_conflict<E>(self, f: impl FnOnce(&'static str) -> E) -> Result<T, E>
    where
        E: From<StoreError>;
}

impl<T> OnConflict<T> for Result<T, StoreError> {
    fn on_conflict<E>(self, f: impl FnOnce(&'static str) -> E) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        self.map_err(|e| match e {
            StoreError::Conflict(field) => f(field),
            other => other.into(),
        })
    }
}

/// What signup hands to storage; the store decides the role (first account = admin).
#[derive(Debug, Clone)]
pub struct NewUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// Fields a user may change on their own profile; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfilePatch {
    pub full_name: Option<Option<String>>,
    pub bio: Option<Option<String>>,
    pub email: Option<String>,
}

#[async_trait]
pub trait UserRepo: Send + Sync {
    /// Inserts the account; the first account ever stored becomes `admin`, decided
    /// atomically by the store. Duplicate username/email -> `Conflict`.
    async fn create(&self, user: NewUser) -> Result<UserRecord, StoreError>;
    async fn by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// By case-folded username.
    async fn by_username(&self, username_key: &str) -> Result<Option<UserRecord>, StoreError>;
    /// By case-folded email.
    async fn by_email(&self, email_key: &str) -> Result<Option<UserRecord>, StoreError>;
    async fn update_profile(&self, id: &str, patch: ProfilePatch)
        -> Result<UserRecord, StoreError>;
    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<(), StoreError>;
    async fn set_role(&self, id: &str, role: Role) -> Result<UserRecord, StoreError>;
    async fn set_active(&self, id: &str, active: bool) -> Result<UserRecord, StoreError>;
    /// A page in sign-up order and the total count.
    async fn list(&self, limit: u32, offset: u64) -> Result<(Vec<UserRecord>, u64), StoreError>;
    /// Accounts whose username starts with `prefix` (a username key: lower case),
    /// in username order, with the total: the admin console's user search.
    async fn with_prefix(
        &self,
        prefix: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<UserRecord>, u64), StoreError>;
    /// Marks the account as being deleted (and inactive, so no token of it works):
    /// the durable first step of an account's deletion, which a restart resumes.
    /// `None` when there is no such account.
    async fn begin_deletion(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;
    /// Accounts marked by `begin_deletion` and not yet deleted.
    async fn deletions_pending(&self) -> Result<Vec<UserRecord>, StoreError>;
    /// The last step of an account's deletion: the record, its username and email
    /// (free again) and its sessions. `false` when it was gone already.
    async fn delete_user(&self, id: &str) -> Result<bool, StoreError>;
}

#[async_trait]
pub trait SessionRepo: Send + Sync {
    async fn create_session(&self, session: SessionRecord) -> Result<(), StoreError>;
    async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError>;
    /// Compare-and-swap of the refresh token: succeeds only if the session is live and
    /// still on `expected_jti`. Two concurrent refreshes with one token: one wins.
    async fn rotate_session(
        &self,
        id: &str,
        expected_jti: &str,
        new_jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    async fn revoke_session(&self, id: &str) -> Result<(), StoreError>;
    /// Revokes every session of the user but `except` (the caller's own, if any).
    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<(), StoreError>;
}

/// Revoked access-token ids, kept until the token would have expired anyway.
#[async_trait]
pub trait TokenBlocklist: Send + Sync {
    async fn block(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError>;
    async fn is_blocked(&self, jti: &str) -> Result<bool, StoreError>;
    /// Drops entries past their expiry; returns how many went.
    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait PhotoRepo: Send + Sync {
    /// The photos `owner_id` has of these originals (`source_sha256`), as
    /// (sha256, photo id): duplicates, before and after an upload.
    async fn originals(
        &self,
        owner_id: &str,
        source_sha256: &[String],
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Stores the photo and links its tags (creating new ones), in one step. An
    /// original (`source_sha256`) its owner already has -> `Conflict("original")`,
    /// decided by the store, so two uploads of one file at once make one photo.
    async fn insert_photo(&self, photo: PhotoRecord) -> Result<(), StoreError>;
    async fn photo(&self, id: &str) -> Result<Option<PhotoRecord>, StoreError>;
    async fn photo_by_slug(&self, slug: &str) -> Result<Option<PhotoRecord>, StoreError>;
    /// Replaces the description and, when given, the tags.
    async fn update_photo(
        &self,
        id: &str,
        description: String,
        tags: Option<Vec<String>>,
        updated_at: DateTime<Utc>,
    ) -> Result<PhotoRecord, StoreError>;
    /// The first half of a deletion, in one atomic step: the photo leaves every read
    /// (by id, by slug, search, counts), its tags are unlinked, and a tombstone
    /// (`PhotoDeletion`) records what the purge still has to remove. Returns the
    /// photo; `None` when there is none (or it is being deleted already).
    async fn delete_photo(
        &self,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<PhotoRecord>, StoreError>;
    /// Tombstones written at or before `before`, oldest first: the purges to run.
    async fn deletions(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PhotoDeletion>, StoreError>;
    async fn deletion(&self, photo_id: &str) -> Result<Option<PhotoDeletion>, StoreError>;
    /// Removes the tombstone, the last step of a purge.
    async fn finish_deletion(&self, photo_id: &str) -> Result<(), StoreError>;
    async fn photo_count(&self, owner_id: &str) -> Result<u64, StoreError>;
    /// A page of the photos matching every filter, in the asked order, and how many
    /// match in all. Served from indexes: the cost follows the candidates, not the
    /// collection.
    async fn search(&self, query: &PhotoQuery) -> Result<(Vec<PhotoRecord>, u64), StoreError>;
    /// Tags by name with a prefix (may be empty), and the total that match.
    async fn tags(
        &self,
        prefix: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<TagCount>, u64), StoreError>;
}

#[async_trait]
pub trait CommentRepo: Send + Sync {
    /// Stores the comment and counts it on the photo; unknown photo -> `NotFound`.
    async fn add_comment(&self, comment: CommentRecord) -> Result<(), StoreError>;
    async fn comment(&self, id: &str) -> Result<Option<CommentRecord>, StoreError>;
    /// Oldest first, with the photo's total.
    async fn comments(
        &self,
        photo_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<CommentRecord>, u64), StoreError>;
    async fn edit_comment(
        &self,
        id: &str,
        text: String,
        updated_at: DateTime<Utc>,
    ) -> Result<CommentRecord, StoreError>;
    async fn delete_comment(&self, id: &str) -> Result<Option<CommentRecord>, StoreError>;
    /// Comments a user has written.
    async fn comment_count_by(&self, author_id: &str) -> Result<u64, StoreError>;
    /// Every comment of a photo (the photo cascade).
    async fn delete_photo_comments(&self, photo_id: &str) -> Result<(), StoreError>;
    /// Comments `author_id` wrote, in id order, after the id `after`: an account's
    /// deletion and export walk them.
    async fn comments_by(
        &self,
        author_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<CommentRecord>, StoreError>;
}

#[async_trait]
pub trait RatingRepo: Send + Sync {
    /// Stores the rating and adds it to the photo's running sums in one step. A second
    /// rating of the photo by the user -> `Conflict("rating")`; unknown photo ->
    /// `NotFound`.
    async fn add_rating(&self, rating: RatingRecord) -> Result<(), StoreError>;
    async fn ratings(
        &self,
        photo_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RatingRecord>, u64), StoreError>;
    /// Removes the rating and takes it out of the photo's sums in one step.
    async fn delete_rating(&self, id: &str) -> Result<Option<RatingRecord>, StoreError>;
    async fn delete_photo_ratings(&self, photo_id: &str) -> Result<(), StoreError>;
    /// The stars `user_id` gave each of `photo_ids` that they rated (a photo's
    /// `my_rating`); photos they did not rate are absent.
    async fn stars_by(
        &self,
        user_id: &str,
        photo_ids: &[String],
    ) -> Result<HashMap<String, u8>, StoreError>;
    /// Ratings `user_id` gave, in id order, after the id `after`.
    async fn ratings_by(
        &self,
        user_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<RatingRecord>, StoreError>;
}

/// How a job ended.
#[derive(Debug, Clone)]
pub enum LinkOutcome {
    Done(LinkOutput),
    Failed(String),
}

#[async_trait]
pub trait LinkRepo: Send + Sync {
    /// Stores a new link, or returns the one the photo already has for this
    /// transformation (`false`: nothing was created).
    async fn create_link(&self, link: LinkRecord) -> Result<(LinkRecord, bool), StoreError>;
    async fn link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError>;
    async fn link_by_slug(&self, slug: &str) -> Result<Option<LinkRecord>, StoreError>;
    /// A photo's links, oldest first, with the total.
    async fn links(
        &self,
        photo_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<LinkRecord>, u64), StoreError>;
    /// Counts one more attempt; returns the new count (`NotFound` if gone).
    async fn count_attempt(&self, id: &str) -> Result<u32, StoreError>;
    /// Ends a pending link; `false` when it was not pending (already finished or
    /// gone), which makes a redelivered job change nothing.
    async fn finish_link(
        &self,
        id: &str,
        outcome: LinkOutcome,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Removes the link and returns it as it was at that moment (with the output of a
    /// job that finished just before, whose files the caller then removes).
    async fn delete_link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError>;
    /// Pending links created at or before `before`, oldest first: the sweeper's work.
    async fn pending_links(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError>;
    async fn link_counts(&self) -> Result<LinkCounts, StoreError>;
    /// Links of this owner still pending (the per-user cap on queued jobs).
    async fn pending_count(&self, owner_id: &str) -> Result<u64, StoreError>;
    /// A failed link back to pending, with its attempts, error and completion
    /// cleared; `None` when it is not failed (`NotFound` when there is no link).
    async fn retry_link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError>;
    /// Links of one status (or all), newest first, with the total: the job list.
    async fn jobs(
        &self,
        status: Option<LinkStatus>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<LinkRecord>, u64), StoreError>;
    /// When each link done at or after `since` was finished, oldest first.
    async fn done_since(&self, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, StoreError>;
}

/// Records that hang off a photo (comments, ratings) register one of these; the
/// purge of a deleted photo calls each, so a new feature plugs into the cascade.
/// Links are the purge's own business: their files go before their records.
#[async_trait]
pub trait PhotoDependent: Send + Sync {
    fn name(&self) -> &'static str;
    /// Removes everything of this kind that belongs to the photo; returns media keys
    /// that should be removed with it.
    async fn remove_for_photo(&self, photo_id: &str) -> Result<Vec<String>, StoreError>;
}

struct CommentCascade(Arc<dyn CommentRepo>);
struct RatingCascade(Arc<dyn RatingRepo>);
struct AlbumCascade(Arc<dyn AlbumRepo>);

/// The deletion takes the photo out of its albums at once; the purge does it again
/// in case the process died in between.
#[async_trait]
impl PhotoDependent for AlbumCascade {
    fn name(&self) -> &'static str {
        "albums"
    }

    async fn remove_for_photo(&self, photo_id: &str) -> Result<Vec<String>, StoreError> {
        self.0
            .remove_photo_everywhere(photo_id)
            .await
            .map(|()| Vec::new())
    }
}

#[async_trait]
impl PhotoDependent for CommentCascade {
    fn name(&self) -> &'static str {
        "comments"
    }

    async fn remove_for_photo(&self, photo_id: &str) -> Result<Vec<String>, StoreError> {
        self.0
            .delete_photo_comments(photo_id)
            .await
            .map(|()| Vec::new())
    }
}

#[async_trait]
impl PhotoDependent for RatingCascade {
    fn name(&self) -> &'static str {
        "ratings"
    }

    async fn remove_for_photo(&self, photo_id: &str) -> Result<Vec<String>, StoreError> {
        self.0
            .delete_photo_ratings(photo_id)
            .await
            .map(|()| Vec::new())
    }
}

/// Every record `photoshare fsck` compares, and the counters and indexes the backend
/// keeps from them, as stored.
#[derive(Debug, Default)]
pub struct Census {
    pub photos: Vec<PhotoRecord>,
    pub deletions: Vec<PhotoDeletion>,
    pub comments: Vec<CommentRecord>,
    pub ratings: Vec<RatingRecord>,
    pub links: Vec<LinkRecord>,
    /// Tag -> number of photos, as the tag list reports it.
    pub tags: BTreeMap<String, u64>,
    /// Every follow, as (follower id, followee id).
    pub follows: Vec<(String, String)>,
    /// Counters a backend stores where the other counts on demand (embedded:
    /// photos per owner, comments per author, links per status, the pending-link
    /// outbox, the search index's photo count): name -> key -> value.
    pub counters: BTreeMap<&'static str, BTreeMap<String, u64>>,
}

/// What the counters should be, worked out from the records by fsck.
#[derive(Debug, Default)]
pub struct Recount {
    /// Photo id -> its comment count, rating sum and rating count.
    pub photos: BTreeMap<String, (u64, u64, u64)>,
    pub tags: BTreeMap<String, u64>,
    /// As `Census::counters`, for the names the backend reported.
    pub counters: BTreeMap<&'static str, BTreeMap<String, u64>>,
}

/// The full scans of `photoshare fsck`: never on a request's path.
#[async_trait]
pub trait Integrity: Send + Sync {
    async fn census(&self) -> Result<Census, StoreError>;
    /// Writes the counters (and rebuilds the indexes derived from the photos) to
    /// what `recount` says. Meant for a quiet database: a write racing it can be
    /// miscounted (run fsck again).
    async fn recount(&self, recount: Recount) -> Result<(), StoreError>;
}

#[async_trait]
pub trait Health: Send + Sync {
    /// A cheap round trip to the database.
    async fn ping(&self) -> Result<(), StoreError>;
}

/// Every repository of one backend.
#[derive(Clone)]
pub struct Store {
    pub backend: &'static str,
    pub users: Arc<dyn UserRepo>,
    pub sessions: Arc<dyn SessionRepo>,
    pub blocklist: Arc<dyn TokenBlocklist>,
    pub photos: Arc<dyn PhotoRepo>,
    pub comments: Arc<dyn CommentRepo>,
    pub ratings: Arc<dyn RatingRepo>,
    pub links: Arc<dyn LinkRepo>,
    pub social: Arc<dyn SocialRepo>,
    pub notifications: Arc<dyn NotificationRepo>,
    pub reports: Arc<dyn ReportRepo>,
    pub albums: Arc<dyn AlbumRepo>,
    pub health: Arc<dyn Health>,
    pub integrity: Arc<dyn Integrity>,
    /// Operations asked of this store, counted (`/metrics`).
    pub ops: Arc<crate::telemetry::DbOps>,
    /// Run, in order, by the purge of a deleted photo.
    pub photo_dependents: Vec<Arc<dyn PhotoDependent>>,
}

impl Store {
    /// Every repository of `b`, each counted by `Metered`.
    fn from_backend<B>(backend: &'static str, b: Arc<B>) -> Self
    where
        B: UserRepo
            + SessionRepo
            + TokenBlocklist
            + PhotoRepo
            + CommentRepo
            + RatingRepo
            + LinkRepo
            + SocialRepo
            + NotificationRepo
            + ReportRepo
            + AlbumRepo
            + Health
            + Integrity
            + 'static,
    {
        use metered::Metered;
        let ops = Arc::new(crate::telemetry::DbOps::default());
        let comments: Arc<dyn CommentRepo> =
            Arc::new(Metered::<dyn CommentRepo>(b.clone(), ops.clone()));
        let ratings: Arc<dyn RatingRepo> =
            Arc::new(Metered::<dyn RatingRepo>(b.clone(), ops.clone()));
        let links: Arc<dyn LinkRepo> = Arc::new(Metered::<dyn LinkRepo>(b.clone(), ops.clone()));
        let albums: Arc<dyn AlbumRepo> = Arc::new(Metered::<dyn AlbumRepo>(b.clone(), ops.clone()));
        Store {
            backend,
            users: Arc::new(Metered::<dyn UserRepo>(b.clone(), ops.clone())),
            sessions: Arc::new(Metered::<dyn SessionRepo>(b.clone(), ops.clone())),
            blocklist: Arc::new(Metered::<dyn TokenBlocklist>(b.clone(), ops.clone())),
            photos: Arc::new(Metered::<dyn PhotoRepo>(b.clone(), ops.clone())),
            photo_dependents: vec![
                Arc::new(CommentCascade(comments.clone())),
                Arc::new(RatingCascade(ratings.clone())),
                Arc::new(AlbumCascade(albums.clone())),
            ],
            links,
            comments,
            ratings,
            social: Arc::new(Metered::<dyn SocialRepo>(b.clone(), ops.clone())),
            notifications: Arc::new(Metered::<dyn NotificationRepo>(b.clone(), ops.clone())),
            reports: Arc::new(Metered::<dyn ReportRepo>(b.clone(), ops.clone())),
            albums: albums.clone(),
            health: Arc::new(Metered::<dyn Health>(b.clone(), ops.clone())),
            integrity: b,
            ops,
        }
    }

    pub fn embedded(db: embedded::EmbeddedStore) -> Self {
        Self::from_backend("embedded", Arc::new(db))
    }

    pub fn mongo(db: mongo::MongoStore) -> Self {
        Self::from_backend("mongodb", Arc::new(db))
    }
}

pub use crate::ids::{new_id, now_millis};
