//! Albums: an owner's ordered selection of their photos, public or private.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Most photos one album holds.
pub const MAX_ALBUM_PHOTOS: usize = 2_000;

/// Who may see an album: everyone, or its owner and admins (to anyone else a private
/// album does not exist).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Visibility {
    Public,
    #[default]
    Private,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlbumRecord {
    pub id: String,
    pub owner_id: String,
    pub owner_username: String,
    pub title: String,
    pub description: Option<String>,
    pub visibility: Visibility,
    /// The chosen cover; when it is unset or no longer in the album, the first photo
    /// is the cover.
    pub cover_photo_id: Option<String>,
    /// In album order.
    pub photo_ids: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Bumped by every change: writes are compare-and-swap on it, so two edits at
    /// once cannot lose one.
    pub version: u64,
}

impl AlbumRecord {
    /// The cover's photo id, if the album has any photo.
    pub fn cover(&self) -> Option<&str> {
        self.cover_photo_id
            .as_deref()
            .filter(|c| self.photo_ids.iter().any(|p| p == c))
            .or(self.photo_ids.first().map(String::as_str))
    }
}

/// A share link: whoever holds its token sees the album (with the password, when it
/// has one) until it expires or its owner revokes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareRecord {
    pub id: String,
    pub album_id: String,
    pub owner_id: String,
    /// Hex SHA-256 of the token; the token itself is shown once, at creation.
    pub token_hash: String,
    /// argon2id, like account passwords.
    pub password_hash: Option<String>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl ShareRecord {
    /// The stored form of a token.
    pub fn hash_token(token: &str) -> String {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(token.as_bytes()))
    }

    /// Revoked, or past its expiry at `now`.
    pub fn is_gone(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_some() || self.expires_at.is_some_and(|e| e <= now)
    }
}

/// 1 to 120 characters after trimming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlbumTitle(String);

impl AlbumTitle {
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        match t.chars().count() {
            1..=120 if !t.chars().any(char::is_control) => Ok(Self(t.to_owned())),
            _ => Err("must be 1 to 120 characters, without control characters".into()),
        }
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cover_falls_back_to_the_first_photo() {
        let now = Utc::now();
        let mut a = AlbumRecord {
            id: "a".into(),
            owner_id: "o".into(),
            owner_username: "o".into(),
            title: "t".into(),
            description: None,
            visibility: Visibility::Private,
            cover_photo_id: Some("p2".into()),
            photo_ids: vec!["p1".into(), "p2".into()],
            created_at: now,
            updated_at: now,
            version: 0,
        };
        assert_eq!(a.cover(), Some("p2"));
        a.photo_ids.retain(|p| p != "p2");
        assert_eq!(a.cover(), Some("p1"));
        a.photo_ids.clear();
        assert_eq!(a.cover(), None);
    }

    #[test]
    fn titles_are_trimmed_and_bounded() {
        assert_eq!(AlbumTitle::parse("  Porto ").unwrap().into_inner(), "Porto");
        for bad in ["", "   ", &"x".repeat(121), "a\u{7}b"] {
            assert!(AlbumTitle::parse(bad).is_err(), "{bad:?}");
        }
    }
}
