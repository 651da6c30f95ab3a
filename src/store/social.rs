//! The social graph's storage: follows and the feed they make, notifications, and
//! reports for moderators.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use crate::domain::{
    FeedCursor, FollowCounts, NotificationKind, NotificationRecord, ReportAction, ReportKind,
    ReportReason, ReportRecord, ReportStatus,
};
use crate::domain::{PhotoRecord, UserRecord};

use super::StoreError;

#[async_trait]
pub trait SocialRepo: Send + Sync {
    /// `follower` starts following `followee`; both counts move in the same step.
    /// `false` when it already did (nothing changes).
    async fn follow(
        &self,
        follower: &UserRecord,
        followee: &UserRecord,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// `false` when it did not follow.
    /// Everything social an account leaves behind, for its deletion: its follows
    /// both ways (the other side's counts with them), the notifications it got and
    /// the ones it caused, and the reports it filed.
    async fn forget_user(&self, user_id: &str, username: &str) -> Result<(), StoreError>;
    async fn unfollow(&self, follower_id: &str, followee_id: &str) -> Result<bool, StoreError>;
    async fn follow_counts(&self, user_id: &str) -> Result<FollowCounts, StoreError>;
    /// Usernames of the accounts following `user_id`, in username order, with the
    /// total.
    async fn followers(
        &self,
        user_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<String>, u64), StoreError>;
    /// Usernames of the accounts `user_id` follows, in username order, with the total.
    async fn following(
        &self,
        user_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<String>, u64), StoreError>;
    /// Photos of the accounts `user_id` follows, newest first (ties by id), strictly
    /// after `after` in that order. Read when asked (no copies written per follower
    /// at upload), so an upload costs the same whoever follows its owner.
    async fn feed(
        &self,
        user_id: &str,
        after: Option<&FeedCursor>,
        limit: u32,
    ) -> Result<Vec<PhotoRecord>, StoreError>;
}

#[async_trait]
pub trait NotificationRepo: Send + Sync {
    async fn notify(&self, n: NotificationRecord) -> Result<(), StoreError>;
    /// A user's notifications, newest first, with ids below `before`; only the
    /// unread ones when `unread_only`.
    async fn notifications(
        &self,
        user_id: &str,
        unread_only: bool,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError>;
    /// Marks these of the user's notifications read (`None`: all of them); ids
    /// that are not the user's are ignored. Returns how many changed.
    async fn mark_read(&self, user_id: &str, ids: Option<&[String]>) -> Result<u64, StoreError>;
}

#[async_trait]
pub trait ReportRepo: Send + Sync {
    /// Files an open report; a second open one by the reporter on the object ->
    /// `Conflict("report")`.
    async fn file_report(&self, r: ReportRecord) -> Result<(), StoreError>;
    async fn report(&self, id: &str) -> Result<Option<ReportRecord>, StoreError>;
    /// Reports of a status (or all), newest first, with the total.
    async fn reports(
        &self,
        status: Option<ReportStatus>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<ReportRecord>, u64), StoreError>;
    /// Resolves the report `id` if it is still open and, for `Remove`, every other
    /// open report on the same object, recording `by` (a username) and `action`.
    async fn resolve_reports(
        &self,
        id: &str,
        by: &str,
        action: ReportAction,
    ) -> Result<Resolved, StoreError>;
}

/// What resolving a report found.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    NotFound,
    /// Someone resolved it first; the record as they left it.
    Already(ReportRecord),
    /// Resolved now; the record as it stands.
    Now(ReportRecord),
}
