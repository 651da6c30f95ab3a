//! Albums' storage: whole records written by compare-and-swap on their version, an
//! owner index, and a photo index so a deleted photo leaves every album.

use async_trait::async_trait;

pub use crate::domain::{AlbumRecord, Visibility};

use super::StoreError;

#[async_trait]
pub trait AlbumRepo: Send + Sync {
    async fn create_album(&self, album: AlbumRecord) -> Result<(), StoreError>;
    async fn album(&self, id: &str) -> Result<Option<AlbumRecord>, StoreError>;
    /// Stores `album` (its `version` already bumped) if the stored one is still at
    /// `expected`; `false` when someone changed it first (or it is gone).
    async fn replace_album(&self, album: AlbumRecord, expected: u64) -> Result<bool, StoreError>;
    /// `false` when there was no such album.
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
}
