//! SocialGraph: follows and the feed they make, the caller's notifications, and the
//! moderation queue. It owns the rules: nobody follows themself, a follow notifies
//! once, one open report per reporter and object, and removing a reported object
//! resolves every open report on it. Notifications are written where the event is
//! decided (here for follows, by CommentBoard and RatingLedger for theirs), never
//! by the HTTP layer, and nobody is notified of their own action.

use actix::prelude::*;

use super::comment_board::Comments;
use super::photo_store::Photos;
use crate::auth::Caller;
use crate::domain::{CommentText, PhotoRecord, UserRecord};
use crate::errors::error_chain;
use crate::store::social::*;
use crate::store::{new_id, now_millis, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SocialError {
    #[error("user not found")]
    UserNotFound,
    #[error("you cannot follow yourself")]
    SelfFollow,
    #[error("photo not found")]
    PhotoNotFound,
    #[error("comment not found")]
    CommentNotFound,
    #[error("report not found")]
    ReportNotFound,
    #[error("you already have an open report on this")]
    AlreadyReported,
    #[error("the report is already resolved")]
    AlreadyResolved,
    #[error("could not remove the reported object: {0}")]
    Removal(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the social graph is not running")]
    Mailbox(#[from] actix::MailboxError),
}

/// Tells `recipient` that `actor` did `kind`, unless they are the same account. A
/// failure is logged, not returned: the event itself has happened.
pub async fn notify(
    store: &Store,
    recipient: &str,
    kind: NotificationKind,
    actor: &Caller,
    photo_id: Option<String>,
) {
    if recipient == actor.id {
        return;
    }
    let n = NotificationRecord {
        id: new_id(),
        user_id: recipient.to_owned(),
        kind,
        actor_username: actor.username.clone(),
        photo_id,
        created_at: now_millis(),
        read: false,
    };
    if let Err(e) = store.notifications.notify(n).await {
        tracing::warn!(error = %error_chain(&e), "a notification was not stored");
    }
}

/// `caller` follows `username` (204 whether or not they already did).
#[derive(Message)]
#[rtype(result = "Result<(), SocialError>")]
pub struct Follow {
    pub caller: Caller,
    pub username: String,
}

#[derive(Message)]
#[rtype(result = "Result<(), SocialError>")]
pub struct Unfollow {
    pub caller: Caller,
    pub username: String,
}

#[derive(Message)]
#[rtype(result = "Result<FollowCounts, SocialError>")]
pub struct CountFollows {
    pub user_id: String,
}

/// A page of a user's followers (`followers: true`) or of whom they follow.
#[derive(Message)]
#[rtype(result = "Result<(Vec<String>, u64), SocialError>")]
pub struct ListFollows {
    pub username: String,
    pub followers: bool,
    pub limit: u32,
    pub offset: u64,
}

/// The caller's feed after `cursor`, and the cursor of the page after it.
#[derive(Message)]
#[rtype(result = "Result<(Vec<PhotoRecord>, Option<FeedCursor>), SocialError>")]
pub struct Feed {
    pub user_id: String,
    pub cursor: Option<FeedCursor>,
    pub limit: u32,
}

/// The caller's notifications after `cursor` (a notification id), and the next one.
#[derive(Message)]
#[rtype(result = "Result<(Vec<NotificationRecord>, Option<String>), SocialError>")]
pub struct Notifications {
    pub user_id: String,
    pub unread_only: bool,
    pub cursor: Option<String>,
    pub limit: u32,
}

/// Marks the caller's notifications read: these ids, or all (`None`).
#[derive(Message)]
#[rtype(result = "Result<u64, SocialError>")]
pub struct MarkRead {
    pub user_id: String,
    pub ids: Option<Vec<String>>,
}

#[derive(Message)]
#[rtype(result = "Result<ReportRecord, SocialError>")]
pub struct FileReport {
    pub caller: Caller,
    pub kind: ReportKind,
    pub object_id: String,
    pub reason: ReportReason,
    pub note: Option<CommentText>,
}

#[derive(Message)]
#[rtype(result = "Result<(Vec<ReportRecord>, u64), SocialError>")]
pub struct ListReports {
    pub status: Option<ReportStatus>,
    pub limit: u32,
    pub offset: u64,
}

/// A moderator's decision; `Remove` deletes the photo or comment first.
#[derive(Message)]
#[rtype(result = "Result<ReportRecord, SocialError>")]
pub struct ResolveReport {
    pub id: String,
    pub moderator: Caller,
    pub action: ReportAction,
}

#[derive(Clone)]
pub struct Social {
    store: Store,
    photos: Photos,
    comments: Comments,
}

impl Social {
    pub fn new(store: Store, photos: Photos, comments: Comments) -> Self {
        Self {
            store,
            photos,
            comments,
        }
    }

    async fn user(&self, username: &str) -> Result<UserRecord, SocialError> {
        self.store
            .users
            .by_username(&username.to_lowercase())
            .await?
            .ok_or(SocialError::UserNotFound)
    }

    async fn follow(self, msg: Follow) -> Result<(), SocialError> {
        let followee = self.user(&msg.username).await?;
        if followee.id == msg.caller.id {
            return Err(SocialError::SelfFollow);
        }
        let follower = self
            .store
            .users
            .by_id(&msg.caller.id)
            .await?
            .ok_or(SocialError::UserNotFound)?;
        if self
            .store
            .social
            .follow(&follower, &followee, now_millis())
            .await?
        {
            let kind = NotificationKind::Follow;
            notify(&self.store, &followee.id, kind, &msg.caller, None).await;
        }
        Ok(())
    }

    async fn unfollow(self, msg: Unfollow) -> Result<(), SocialError> {
        let followee = self.user(&msg.username).await?;
        self.store
            .social
            .unfollow(&msg.caller.id, &followee.id)
            .await?;
        Ok(())
    }

    async fn counts(self, msg: CountFollows) -> Result<FollowCounts, SocialError> {
        Ok(self.store.social.follow_counts(&msg.user_id).await?)
    }

    async fn list(self, msg: ListFollows) -> Result<(Vec<String>, u64), SocialError> {
        let user = self.user(&msg.username).await?;
        let social = &self.store.social;
        Ok(if msg.followers {
            social.followers(&user.id, msg.limit, msg.offset).await?
        } else {
            social.following(&user.id, msg.limit, msg.offset).await?
        })
    }

    async fn feed(self, msg: Feed) -> Result<(Vec<PhotoRecord>, Option<FeedCursor>), SocialError> {
        let page = self
            .store
            .social
            .feed(&msg.user_id, msg.cursor.as_ref(), msg.limit)
            .await?;
        let next = (page.len() == msg.limit as usize)
            .then(|| page.last().map(FeedCursor::after))
            .flatten();
        Ok((page, next))
    }

    async fn notifications(
        self,
        msg: Notifications,
    ) -> Result<(Vec<NotificationRecord>, Option<String>), SocialError> {
        let page = self
            .store
            .notifications
            .notifications(
                &msg.user_id,
                msg.unread_only,
                msg.cursor.as_deref(),
                msg.limit,
            )
            .await?;
        let next = (page.len() == msg.limit as usize)
            .then(|| page.last().map(|n| n.id.clone()))
            .flatten();
        Ok((page, next))
    }

    async fn mark_read(self, msg: MarkRead) -> Result<u64, SocialError> {
        Ok(self
            .store
            .notifications
            .mark_read(&msg.user_id, msg.ids.as_deref())
            .await?)
    }

    async fn file(self, msg: FileReport) -> Result<ReportRecord, SocialError> {
        let exists = match msg.kind {
            ReportKind::Photo => self.store.photos.photo(&msg.object_id).await?.is_some(),
            ReportKind::Comment => self.store.comments.comment(&msg.object_id).await?.is_some(),
        };
        if !exists {
            return Err(match msg.kind {
                ReportKind::Photo => SocialError::PhotoNotFound,
                ReportKind::Comment => SocialError::CommentNotFound,
            });
        }
        let report = ReportRecord {
            id: new_id(),
            kind: msg.kind,
            object_id: msg.object_id,
            reporter_id: msg.caller.id,
            reporter_username: msg.caller.username,
            reason: msg.reason,
            note: msg.note.map(CommentText::into_inner),
            status: ReportStatus::Open,
            created_at: now_millis(),
            resolved_by: None,
            action: None,
        };
        match self.store.reports.file_report(report.clone()).await {
            Ok(()) => Ok(report),
            Err(StoreError::Conflict(_)) => Err(SocialError::AlreadyReported),
            Err(e) => Err(e.into()),
        }
    }

    async fn reports(self, msg: ListReports) -> Result<(Vec<ReportRecord>, u64), SocialError> {
        Ok(self
            .store
            .reports
            .reports(msg.status, msg.limit, msg.offset)
            .await?)
    }

    async fn resolve(self, msg: ResolveReport) -> Result<ReportRecord, SocialError> {
        let report = self
            .store
            .reports
            .report(&msg.id)
            .await?
            .ok_or(SocialError::ReportNotFound)?;
        if report.status == ReportStatus::Resolved {
            return Err(SocialError::AlreadyResolved);
        }
        if msg.action == ReportAction::Remove {
            // Gone already (its owner deleted it, or an earlier removal was
            // interrupted before the reports were resolved) is as good as removed.
            let removal = match report.kind {
                ReportKind::Photo => self
                    .photos
                    .remove(&report.object_id)
                    .await
                    .map_err(|e| e.to_string()),
                ReportKind::Comment => self
                    .comments
                    .remove(&report.object_id)
                    .await
                    .map_err(|e| e.to_string()),
            };
            removal.map_err(SocialError::Removal)?;
        }
        let by = &msg.moderator.username;
        match self
            .store
            .reports
            .resolve_reports(&msg.id, by, msg.action)
            .await?
        {
            Resolved::Now(r) => Ok(r),
            Resolved::Already(_) => Err(SocialError::AlreadyResolved),
            Resolved::NotFound => Err(SocialError::ReportNotFound),
        }
    }
}

service_actor! {
    /// Follows, the feed, notifications and reports.
    SocialGraph(Social) {
    Follow => follow,
    Unfollow => unfollow,
    CountFollows => counts,
    ListFollows => list,
    Feed => feed,
    Notifications => notifications,
    MarkRead => mark_read,
    FileReport => file,
    ListReports => reports,
    ResolveReport => resolve,
}
}

/// The typed handle the HTTP layer uses.
pub type SocialGraphHandle = super::Handle<SocialGraph>;
