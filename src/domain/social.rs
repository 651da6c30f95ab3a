//! Follows, the feed, notifications and reports: the records and the closed sets
//! their routes take (each also an OpenAPI enum).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::PhotoRecord;

/// How many accounts follow a user, and how many it follows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowCounts {
    pub followers: u64,
    pub following: u64,
}

/// A place in a feed: the last photo a page showed. The next page holds the photos
/// strictly older in `(created_at, id)` order, so photos uploaded meanwhile (newer
/// than any cursor) never shift a page: nothing repeats, nothing is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedCursor {
    pub created_at: DateTime<Utc>,
    pub photo_id: String,
}

impl FeedCursor {
    pub fn after(photo: &PhotoRecord) -> Self {
        FeedCursor {
            created_at: photo.created_at,
            photo_id: photo.id.clone(),
        }
    }

    /// On the wire: `{milliseconds}_{photo id}`, opaque to clients.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.created_at.timestamp_millis(), self.photo_id)
    }

    pub fn parse(s: &str) -> Option<Self> {
        let (millis, id) = s.split_once('_')?;
        let created_at = DateTime::from_timestamp_millis(millis.parse().ok()?)?;
        crate::ids::is_record_id(id).then(|| FeedCursor {
            created_at,
            photo_id: id.to_ascii_lowercase(),
        })
    }
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NotificationKind {
    /// Someone commented on your photo.
    Comment,
    /// Someone rated your photo.
    Rating,
    /// Someone followed you.
    Follow,
}

/// One notification to `user_id`, about what `actor_username` did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationRecord {
    /// An ObjectId: newest is greatest, which pages use as their cursor.
    pub id: String,
    pub user_id: String,
    pub kind: NotificationKind,
    pub actor_username: String,
    pub photo_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

/// What a report is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportKind {
    Photo,
    Comment,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Photo => "photo",
            ReportKind::Comment => "comment",
        }
    }
}

/// Why something is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportReason {
    Spam,
    Abuse,
    Nudity,
    Copyright,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportStatus {
    Open,
    Resolved,
}

impl ReportStatus {
    /// The serde name, which both stores also index by.
    pub fn as_str(self) -> &'static str {
        match self {
            ReportStatus::Open => "open",
            ReportStatus::Resolved => "resolved",
        }
    }
}

/// How a moderator resolved a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportAction {
    /// Nothing wrong: the object stays.
    Dismiss,
    /// The photo or comment is deleted; every open report on it is resolved with it.
    Remove,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportRecord {
    pub id: String,
    pub kind: ReportKind,
    pub object_id: String,
    pub reporter_id: String,
    pub reporter_username: String,
    pub reason: ReportReason,
    pub note: Option<String>,
    pub status: ReportStatus,
    pub created_at: DateTime<Utc>,
    pub resolved_by: Option<String>,
    pub action: Option<ReportAction>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_junk_is_refused() {
        let c = FeedCursor {
            created_at: DateTime::from_timestamp_millis(1_764_000_000_123).unwrap(),
            photo_id: "6b0ea31bda39323937709392".into(),
        };
        assert_eq!(FeedCursor::parse(&c.encode()), Some(c));
        for junk in [
            "",
            "_",
            "12",
            "x_6b0ea31bda39323937709392",
            "1_abc",
            "1_zz0ea31bda39323937709392",
        ] {
            assert_eq!(FeedCursor::parse(junk), None, "{junk}");
        }
    }
}
