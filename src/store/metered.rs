//! Every repository call, counted: `Store` hands out its backend's repositories
//! wrapped in `Metered`, which counts the operation (`telemetry::DbOp`, one per
//! method, e.g. `users.by_id`) and passes the call on. On MongoDB each operation
//! is one round trip to the server (a few are a short transaction), so the counters
//! show what a request costs the database.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::albums::*;
use super::social::*;
use super::*;
use crate::telemetry::{DbOp, DbOps};

pub struct Metered<T: ?Sized>(pub Arc<T>, pub Arc<DbOps>);

macro_rules! metered {
    ($trait:ident, $prefix:literal {
        $( fn $method:ident(&self $(, $arg:ident : $ty:ty)*) -> $ret:ty; )*
    }) => {
        #[async_trait]
        impl $trait for Metered<dyn $trait> {
            $(
                async fn $method(&self $(, $arg: $ty)*) -> $ret {
                    static OP: DbOp = DbOp::new(concat!($prefix, ".", stringify!($method)));
                    self.1.count(&OP);
                    self.0.$method($($arg),*).await
                }
            )*
        }
    };
}

metered!(UserRepo, "users" {
    fn create(&self, user: NewUser) -> Result<UserRecord, StoreError>;
    fn by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;
    fn by_username(&self, username_key: &str) -> Result<Option<UserRecord>, StoreError>;
    fn by_email(&self, email_key: &str) -> Result<Option<UserRecord>, StoreError>;
    fn update_profile(&self, id: &str, patch: ProfilePatch) -> Result<UserRecord, StoreError>;
    fn set_password_hash(&self, id: &str, hash: &str) -> Result<(), StoreError>;
    fn set_role(&self, id: &str, role: Role) -> Result<UserRecord, StoreError>;
    fn set_active(&self, id: &str, active: bool) -> Result<UserRecord, StoreError>;
    fn list(&self, limit: u32, offset: u64) -> Result<(Vec<UserRecord>, u64), StoreError>;
    fn with_prefix(&self, prefix: &str, limit: u32, offset: u64) -> Result<(Vec<UserRecord>, u64), StoreError>;
    fn begin_deletion(&self, id: &str) -> Result<Option<UserRecord>, StoreError>;
    fn deletions_pending(&self) -> Result<Vec<UserRecord>, StoreError>;
    fn delete_user(&self, id: &str) -> Result<bool, StoreError>;
});

metered!(SessionRepo, "sessions" {
    fn create_session(&self, session: SessionRecord) -> Result<(), StoreError>;
    fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError>;
    fn rotate_session(&self, id: &str, expected_jti: &str, new_jti: &str, expires_at: DateTime<Utc>) -> Result<bool, StoreError>;
    fn revoke_session(&self, id: &str) -> Result<(), StoreError>;
    fn revoke_user_sessions(&self, user_id: &str, except: Option<&str>) -> Result<(), StoreError>;
});

metered!(TokenBlocklist, "blocklist" {
    fn block(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError>;
    fn is_blocked(&self, jti: &str) -> Result<bool, StoreError>;
    fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
});

metered!(PhotoRepo, "photos" {
    fn originals(&self, owner_id: &str, source_sha256: &[String]) -> Result<Vec<(String, String)>, StoreError>;
    fn insert_photo(&self, photo: PhotoRecord) -> Result<(), StoreError>;
    fn photo(&self, id: &str) -> Result<Option<PhotoRecord>, StoreError>;
    fn photo_by_slug(&self, slug: &str) -> Result<Option<PhotoRecord>, StoreError>;
    fn update_photo(&self, id: &str, description: String, tags: Option<Vec<String>>, updated_at: DateTime<Utc>) -> Result<PhotoRecord, StoreError>;
    fn delete_photo(&self, id: &str, at: DateTime<Utc>) -> Result<Option<PhotoRecord>, StoreError>;
    fn deletions(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<PhotoDeletion>, StoreError>;
    fn deletion(&self, photo_id: &str) -> Result<Option<PhotoDeletion>, StoreError>;
    fn finish_deletion(&self, photo_id: &str) -> Result<(), StoreError>;
    fn photo_count(&self, owner_id: &str) -> Result<u64, StoreError>;
    fn search(&self, query: &PhotoQuery) -> Result<(Vec<PhotoRecord>, u64), StoreError>;
    fn tags(&self, prefix: &str, limit: u32, offset: u64) -> Result<(Vec<TagCount>, u64), StoreError>;
});

metered!(CommentRepo, "comments" {
    fn add_comment(&self, comment: CommentRecord) -> Result<(), StoreError>;
    fn comment(&self, id: &str) -> Result<Option<CommentRecord>, StoreError>;
    fn comments(&self, photo_id: &str, limit: u32, offset: u64) -> Result<(Vec<CommentRecord>, u64), StoreError>;
    fn edit_comment(&self, id: &str, text: String, updated_at: DateTime<Utc>) -> Result<CommentRecord, StoreError>;
    fn delete_comment(&self, id: &str) -> Result<Option<CommentRecord>, StoreError>;
    fn comment_count_by(&self, author_id: &str) -> Result<u64, StoreError>;
    fn delete_photo_comments(&self, photo_id: &str) -> Result<(), StoreError>;
    fn comments_by(&self, author_id: &str, after: &str, limit: u32) -> Result<Vec<CommentRecord>, StoreError>;
});

metered!(RatingRepo, "ratings" {
    fn add_rating(&self, rating: RatingRecord) -> Result<(), StoreError>;
    fn ratings(&self, photo_id: &str, limit: u32, offset: u64) -> Result<(Vec<RatingRecord>, u64), StoreError>;
    fn delete_rating(&self, id: &str) -> Result<Option<RatingRecord>, StoreError>;
    fn delete_photo_ratings(&self, photo_id: &str) -> Result<(), StoreError>;
    fn stars_by(&self, user_id: &str, photo_ids: &[String]) -> Result<HashMap<String, u8>, StoreError>;
    fn ratings_by(&self, user_id: &str, after: &str, limit: u32) -> Result<Vec<RatingRecord>, StoreError>;
});

metered!(SocialRepo, "social" {
    fn follow(&self, follower: &UserRecord, followee: &UserRecord, at: DateTime<Utc>) -> Result<bool, StoreError>;
    fn unfollow(&self, follower_id: &str, followee_id: &str) -> Result<bool, StoreError>;
    fn follow_counts(&self, user_id: &str) -> Result<FollowCounts, StoreError>;
    fn followers(&self, user_id: &str, limit: u32, offset: u64) -> Result<(Vec<String>, u64), StoreError>;
    fn following(&self, user_id: &str, limit: u32, offset: u64) -> Result<(Vec<String>, u64), StoreError>;
    fn feed(&self, user_id: &str, after: Option<&FeedCursor>, limit: u32) -> Result<Vec<PhotoRecord>, StoreError>;
    fn forget_user(&self, user_id: &str, username: &str) -> Result<(), StoreError>;
});

metered!(NotificationRepo, "notifications" {
    fn notify(&self, n: NotificationRecord) -> Result<(), StoreError>;
    fn notifications(&self, user_id: &str, unread_only: bool, before: Option<&str>, limit: u32) -> Result<Vec<NotificationRecord>, StoreError>;
    fn mark_read(&self, user_id: &str, ids: Option<&[String]>) -> Result<u64, StoreError>;
});

metered!(ReportRepo, "reports" {
    fn file_report(&self, r: ReportRecord) -> Result<(), StoreError>;
    fn report(&self, id: &str) -> Result<Option<ReportRecord>, StoreError>;
    fn reports(&self, status: Option<ReportStatus>, limit: u32, offset: u64) -> Result<(Vec<ReportRecord>, u64), StoreError>;
    fn resolve_reports(&self, id: &str, by: &str, action: ReportAction) -> Result<Resolved, StoreError>;
});

metered!(AlbumRepo, "albums" {
    fn create_album(&self, album: AlbumRecord) -> Result<(), StoreError>;
    fn album(&self, id: &str) -> Result<Option<AlbumRecord>, StoreError>;
    fn replace_album(&self, album: AlbumRecord, expected: u64) -> Result<bool, StoreError>;
    fn delete_album(&self, id: &str) -> Result<bool, StoreError>;
    fn albums_of(&self, owner_id: &str, with_private: bool, limit: u32, offset: u64) -> Result<(Vec<AlbumRecord>, u64), StoreError>;
    fn remove_photo_everywhere(&self, photo_id: &str) -> Result<(), StoreError>;
    fn delete_albums_of(&self, owner_id: &str) -> Result<u64, StoreError>;
    fn create_share(&self, share: ShareRecord) -> Result<(), StoreError>;
    fn share(&self, id: &str) -> Result<Option<ShareRecord>, StoreError>;
    fn share_by_token(&self, token_hash: &str) -> Result<Option<ShareRecord>, StoreError>;
    fn shares_of(&self, album_id: &str, limit: u32, offset: u64) -> Result<(Vec<ShareRecord>, u64), StoreError>;
    fn revoke_share(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
});

metered!(LinkRepo, "links" {
    fn create_link(&self, link: LinkRecord) -> Result<(LinkRecord, bool), StoreError>;
    fn link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError>;
    fn link_by_slug(&self, slug: &str) -> Result<Option<LinkRecord>, StoreError>;
    fn links(&self, photo_id: &str, limit: u32, offset: u64) -> Result<(Vec<LinkRecord>, u64), StoreError>;
    fn count_attempt(&self, id: &str) -> Result<u32, StoreError>;
    fn finish_link(&self, id: &str, outcome: LinkOutcome, at: DateTime<Utc>) -> Result<bool, StoreError>;
    fn delete_link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError>;
    fn pending_links(&self, before: DateTime<Utc>, limit: u32) -> Result<Vec<LinkRecord>, StoreError>;
    fn link_counts(&self) -> Result<LinkCounts, StoreError>;
    fn pending_count(&self, owner_id: &str) -> Result<u64, StoreError>;
    fn retry_link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError>;
    fn jobs(&self, status: Option<LinkStatus>, limit: u32, offset: u64) -> Result<(Vec<LinkRecord>, u64), StoreError>;
    fn done_since(&self, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, StoreError>;
});

metered!(Health, "health" {
    fn ping(&self) -> Result<(), StoreError>;
});
