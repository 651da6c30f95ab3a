//! The second half of a photo's deletion, run as a queued job (`Work::PurgePhoto`)
//! after `delete_photo` has tombstoned it: each link's files and then its record,
//! the other records hanging off the photo, the original file, and last the
//! tombstone. Every step is idempotent, so a purge that a crash or an outage
//! interrupted runs again from the top (the sweeper publishes every tombstone left)
//! and finishes.

use std::sync::Arc;

use crate::media::{MediaError, MediaStore};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] MediaError),
}

/// What a purge needs: the records and the files.
#[derive(Clone)]
pub struct Purger {
    pub store: Store,
    pub media: Arc<dyn MediaStore>,
}

impl Purger {
    /// Finishes the deletion of `photo_id`; `Ok(false)` when there is none to finish
    /// (done already: a redelivered job).
    pub async fn purge(&self, photo_id: &str) -> Result<bool, PurgeError> {
        let Some(deletion) = self.store.photos.deletion(photo_id).await? else {
            return Ok(false);
        };
        self.remove_records(photo_id).await?;
        self.remove(std::slice::from_ref(&deletion.photo.media_key))
            .await?;
        let original = &deletion.photo.media_key;
        if self.media.transformed_url(original, "").is_none() {
            // Display sizes made and kept here (a delivery backend keeps none).
            self.remove(&super::variant_keys(photo_id)).await?;
            // And the renders of its signed delivery URLs.
            self.media
                .delete_prefix(&super::delivery_prefix(photo_id))
                .await?;
        }
        self.store.photos.finish_deletion(photo_id).await?;
        tracing::info!(photo_id, "photo purged");
        Ok(true)
    }

    /// Removes every record hanging off `photo_id`, with their files: a deleted
    /// photo's, or an orphan's that `photoshare fsck --fix` found.
    pub async fn remove_records(&self, photo_id: &str) -> Result<(), PurgeError> {
        // A link's files go before its record, so a crash in between leaves a
        // record (found again next time), never a file nobody knows. A job that
        // finished in between has its output in the record `delete_link` returns.
        loop {
            let (page, _) = self.store.links.links(photo_id, 100, 0).await?;
            if page.is_empty() {
                break;
            }
            for link in page {
                let before = link.media_keys();
                self.remove(&before).await?;
                if let Some(gone) = self.store.links.delete_link(&link.id).await? {
                    let late: Vec<String> = gone
                        .media_keys()
                        .into_iter()
                        .filter(|k| !before.contains(k))
                        .collect();
                    self.remove(&late).await?;
                }
            }
        }
        for dependent in &self.store.photo_dependents {
            let keys = dependent.remove_for_photo(photo_id).await?;
            self.remove(&keys).await?;
        }
        Ok(())
    }

    async fn remove(&self, keys: &[String]) -> Result<(), MediaError> {
        for key in keys {
            self.media.delete(key).await?;
        }
        Ok(())
    }
}
