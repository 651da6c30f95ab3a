//! The records every layer passes around: what the store keeps and the actors
//! return (accounts, sessions, photos, comments, ratings, transformation links),
//! and the validated search query. The store's own inputs (a new account, a
//! profile patch, a job outcome) stay in `crate::store`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{PhotoMetadata, Placeholder, Role};

/// A stored account. `username_key`/`email_key` are the case-folded unique keys.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UserRecord {
    pub id: String,
    pub username: String,
    pub email: String,
    pub full_name: Option<String>,
    pub bio: Option<String>,
    pub role: Role,
    pub is_active: bool,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
    /// Being deleted (see `UserRepo::begin_deletion`).
    #[serde(default)]
    pub deleting: bool,
}

impl UserRecord {
    pub fn username_key(&self) -> String {
        self.username.to_ascii_lowercase()
    }

    pub fn email_key(&self) -> String {
        crate::domain::email_key(&self.email)
    }
}

/// One login: the refresh token currently valid for it, and whether it was revoked.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    pub refresh_jti: String,
    pub revoked: bool,
    pub expires_at: DateTime<Utc>,
}

/// A stored photo. `owner_username` is denormalised: usernames never change.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PhotoRecord {
    pub id: String,
    /// The unguessable part of the public link `/i/{slug}`.
    pub slug: String,
    pub owner_id: String,
    pub owner_username: String,
    pub description: String,
    pub tags: Vec<String>,
    pub width: u32,
    pub height: u32,
    pub format: String,
    pub size_bytes: u64,
    pub media_key: String,
    /// Hex SHA-256 of the stored bytes.
    pub sha256: String,
    /// Hex SHA-256 of the file exactly as it was uploaded (before orientation and
    /// the metadata cut): one owner has each original once. Empty for photos
    /// stored before duplicates were detected.
    #[serde(default)]
    pub source_sha256: String,
    /// What the file's EXIF block said (date, camera, lens, exposure, position).
    #[serde(default, skip_serializing_if = "PhotoMetadata::is_empty")]
    pub meta: PhotoMetadata,
    /// ThumbHash and average colour; none for photos stored before they existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<Placeholder>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Running sums kept in the same atomic step as each rating insert/delete.
    pub rating_sum: u64,
    pub rating_count: u64,
    pub comment_count: u64,
}

impl PhotoRecord {
    /// Mean of all stars; `None` when nobody has rated the photo.
    pub fn rating_average(&self) -> Option<f64> {
        (self.rating_count > 0).then(|| self.rating_sum as f64 / self.rating_count as f64)
    }

    /// The search keywords of this photo (see [`crate::domain::keywords`]).
    pub fn keywords(&self) -> Vec<String> {
        crate::domain::keywords(&self.description, &self.tags)
    }
}

/// A photo being deleted: gone for every read since `requested_at`, while the
/// purge removes what hung off it and its files; the tombstone goes last, so a
/// purge a crash interrupted is found and finished.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PhotoDeletion {
    pub photo: PhotoRecord,
    pub requested_at: DateTime<Utc>,
}

/// Search result order. Ties go by upload order: newer first when descending.
/// Photos nobody has rated sort below every rated one.
/// On the wire (`?sort=`): `-created_at`, `created_at`, `-rating`, `rating`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub enum PhotoSort {
    #[default]
    #[serde(rename = "-created_at")]
    NewestFirst,
    #[serde(rename = "created_at")]
    OldestFirst,
    #[serde(rename = "-rating")]
    BestRated,
    #[serde(rename = "rating")]
    WorstRated,
    /// By `taken_at`; photos without one come last in both directions.
    #[serde(rename = "-taken_at")]
    LatestTaken,
    #[serde(rename = "taken_at")]
    EarliestTaken,
}

impl PhotoSort {
    pub const ALL: [PhotoSort; 6] = [
        PhotoSort::NewestFirst,
        PhotoSort::OldestFirst,
        PhotoSort::BestRated,
        PhotoSort::WorstRated,
        PhotoSort::LatestTaken,
        PhotoSort::EarliestTaken,
    ];

    /// A name for generated clients, whose identifiers cannot start with `-`.
    pub fn ident(self) -> &'static str {
        match self {
            PhotoSort::NewestFirst => "newest_first",
            PhotoSort::OldestFirst => "oldest_first",
            PhotoSort::BestRated => "best_rated",
            PhotoSort::WorstRated => "worst_rated",
            PhotoSort::LatestTaken => "latest_taken",
            PhotoSort::EarliestTaken => "earliest_taken",
        }
    }

    pub fn by_rating(self) -> bool {
        matches!(self, PhotoSort::BestRated | PhotoSort::WorstRated)
    }

    pub fn by_taken(self) -> bool {
        matches!(self, PhotoSort::LatestTaken | PhotoSort::EarliestTaken)
    }

    pub fn descending(self) -> bool {
        matches!(
            self,
            PhotoSort::NewestFirst | PhotoSort::BestRated | PhotoSort::LatestTaken
        )
    }
}

/// A validated search: every filter given must hold (AND).
#[derive(Debug, Clone, Default)]
pub struct PhotoQuery {
    /// Normalised words (see [`crate::domain::words`]); each must be a keyword.
    pub keywords: Vec<String>,
    /// Exact tag names; each must be on the photo.
    pub tags: Vec<String>,
    pub owner_id: Option<String>,
    /// Bounds on the average rating; either one excludes unrated photos.
    pub min_rating: Option<f64>,
    pub max_rating: Option<f64>,
    /// Inclusive bounds on `created_at`.
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Normalised words; each must be a word of the camera's make or model.
    pub camera: Vec<String>,
    /// Inclusive bounds on `taken_at`; either one excludes photos without it.
    pub taken_from: Option<DateTime<Utc>>,
    pub taken_to: Option<DateTime<Utc>>,
    pub sort: PhotoSort,
    pub limit: u32,
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagCount {
    pub name: String,
    pub photo_count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CommentRecord {
    pub id: String,
    pub photo_id: String,
    pub author_id: String,
    pub author_username: String,
    pub text: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RatingRecord {
    pub id: String,
    pub photo_id: String,
    pub user_id: String,
    pub username: String,
    pub stars: u8,
    pub created_at: DateTime<Utc>,
}

/// Where a transformation link stands: the job that makes its image is pending,
/// done, or failed for good (after its retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LinkStatus {
    Pending,
    Done,
    Failed,
}

impl LinkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkStatus::Pending => "pending",
            LinkStatus::Done => "done",
            LinkStatus::Failed => "failed",
        }
    }
}

/// What a finished job produced.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinkOutput {
    pub media_key: String,
    /// `jpeg`, `png`, `webp` or `gif`.
    pub format: String,
    pub width: u32,
    pub height: u32,
    pub size_bytes: u64,
    /// Hex SHA-256 of the image: its ETag.
    pub sha256: String,
    /// The stored QR code (PNG) of the link.
    pub qr_key: String,
    /// Where the image is served when the media backend made it itself
    /// (Cloudinary); then `media_key` is empty.
    #[serde(default)]
    pub url: Option<String>,
}

/// A transformation of a photo with its public link. The record is also the job's
/// outbox entry: written before the job is published, `pending` until a worker
/// finishes it, so a sweeper can publish again whatever was lost.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LinkRecord {
    pub id: String,
    pub photo_id: String,
    /// The photo's owner, who (with admins) may delete the link.
    pub owner_id: String,
    /// Canonical form: one photo has each canonical transformation once.
    pub transformation: String,
    /// The unguessable part of `/t/{slug}`.
    pub slug: String,
    pub status: LinkStatus,
    pub error: Option<String>,
    /// Jobs started for this link so far.
    pub attempts: u32,
    pub output: Option<LinkOutput>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The request that created the link: its job's log lines carry it.
    #[serde(default)]
    pub request_id: Option<String>,
}

/// Links by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct LinkCounts {
    pub pending: u64,
    pub done: u64,
    pub failed: u64,
}

impl LinkRecord {
    /// Media keys of the files this link owns.
    pub fn media_keys(&self) -> Vec<String> {
        self.output
            .iter()
            .flat_map(|o| [o.media_key.clone(), o.qr_key.clone()])
            .filter(|k| !k.is_empty())
            .collect()
    }
}
