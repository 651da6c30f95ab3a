//! Albums' storage: whole records written by compare-and-swap on their version, an
//! owner index, and a photo index so a deleted photo leaves every album; and their
//! share links, found by the hash of their token.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use crate::domain::{AlbumRecord, ShareRecord, Visibility};

use super::StoreError;

#[async_trait]
pub trait AlbumRepo: Send + Sync {
    async fn create_album(&self, album: AlbumRecord) -> Result<(), StoreError>;
    async fn album(&self, id: &str) -> Result<Option<AlbumRecord>, StoreError>;
    /// Stores `album` (its `version` already bumped) if the stored one is still at
    /// `expected`; `false` when someone changed it first (or it is gone).
    async fn replace_album(&self, album: AlbumRecord, expected: u64) -> Result<bool, StoreError>;
    /// Deletes the album and its share links; `false` when there was no such album.
    async fn delete_album(&self, id: &str) -> Result<bool, StoreError>;
    /// An owner's albums, newest first, with the total; private ones only when
    /// `with_private`.
    async fn albums_of(
        &self,
        owner_id: &str,
        with_private: bool,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<AlbumRecord>, u64), StoreError>;
    /// Takes the photo out of every album that holds it.
    async fn remove_photo_everywhere(&self, photo_id: &str) -> Result<(), StoreError>;
    /// Deletes every album of an owner and every share link they made (an account's
    /// deletion); the number of albums deleted.
    async fn delete_albums_of(&self, owner_id: &str) -> Result<u64, StoreError>;

    async fn create_share(&self, share: ShareRecord) -> Result<(), StoreError>;
    async fn share(&self, id: &str) -> Result<Option<ShareRecord>, StoreError>;
    async fn share_by_token(&self, token_hash: &str) -> Result<Option<ShareRecord>, StoreError>;
    /// An album's share links that are not revoked, newest first, with the total.
    async fn shares_of(
        &self,
        album_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<ShareRecord>, u64), StoreError>;
    /// Marks the link revoked (kept, so its token answers 410); `false` when there
    /// is no such link or it was revoked already.
    async fn revoke_share(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;
}
