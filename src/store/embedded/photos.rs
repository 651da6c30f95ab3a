//! Photos: `PhotoRepo` on the embedded store, and the photo loads and saves the
//! comment, rating and link writes make inside their transactions.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::search::index_photo;
use super::{
    bump, decode, encode, EmbeddedStore, TxError, OWNER_PHOTO_COUNT, PHOTOS, PHOTO_BY_SLUG,
    PHOTO_DELETIONS, TAGS,
};
use crate::store::{PhotoDeletion, PhotoQuery, PhotoRecord, PhotoRepo, StoreError, TagCount};

/// (owner id, hex SHA-256 of the original as uploaded) -> photo id: each owner has
/// each original once.
const ORIGINALS: TableDefinition<(&str, &str), &str> = TableDefinition::new("originals");

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), TxError> {
    txn.open_table(ORIGINALS)?;
    Ok(())
}

#[async_trait]
impl PhotoRepo for EmbeddedStore {
    async fn originals(
        &self,
        owner_id: &str,
        source_sha256: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        let read = || -> Result<Vec<(String, String)>, TxError> {
            let txn = self.db.begin_read()?;
            let table = txn.open_table(ORIGINALS)?;
            let mut found = Vec::new();
            for sha in source_sha256 {
                if let Some(id) = table.get((owner_id, sha.as_str()))? {
                    found.push((sha.clone(), id.value().to_owned()));
                }
            }
            Ok(found)
        };
        Ok(read()?)
    }

    async fn insert_photo(&self, photo: PhotoRecord) -> Result<(), StoreError> {
        self.write(move |txn| {
            if !photo.source_sha256.is_empty() {
                let mut originals = txn.open_table(ORIGINALS)?;
                let key = (photo.owner_id.as_str(), photo.source_sha256.as_str());
                if originals.get(key)?.is_some() {
                    return Err(TxError::Store(StoreError::Conflict("original")));
                }
                originals.insert(key, photo.id.as_str())?;
            }
            txn.open_table(PHOTOS)?
                .insert(photo.id.as_str(), encode(&photo)?.as_slice())?;
            txn.open_table(PHOTO_BY_SLUG)?
                .insert(photo.slug.as_str(), photo.id.as_str())?;
            bump(&mut txn.open_table(OWNER_PHOTO_COUNT)?, &photo.owner_id, 1)?;
            index_photo(txn, &photo, 1)
        })
        .await
    }

    async fn photo(&self, id: &str) -> Result<Option<PhotoRecord>, StoreError> {
        self.read_json(PHOTOS, id)
    }

    async fn photo_by_slug(&self, slug: &str) -> Result<Option<PhotoRecord>, StoreError> {
        let id = {
            let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
            let table = txn
                .open_table(PHOTO_BY_SLUG)
                .map_err(StoreError::unavailable)?;
            let found = table.get(slug).map_err(StoreError::unavailable)?;
            match found {
                Some(id) => id.value().to_owned(),
                None => return Ok(None),
            }
        };
        self.read_json(PHOTOS, &id)
    }

    async fn update_photo(
        &self,
        id: &str,
        description: String,
        tags: Option<Vec<String>>,
        updated_at: DateTime<Utc>,
    ) -> Result<PhotoRecord, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut photos = txn.open_table(PHOTOS)?;
            let mut photo: PhotoRecord = match photos.get(id.as_str())? {
                Some(bytes) => decode(bytes.value())?,
                None => return Err(TxError::Store(StoreError::NotFound)),
            };
            index_photo(txn, &photo, -1)?;
            if let Some(tags) = tags {
                photo.tags = tags;
            }
            photo.description = description;
            photo.updated_at = updated_at;
            index_photo(txn, &photo, 1)?;
            photos.insert(id.as_str(), encode(&photo)?.as_slice())?;
            Ok(photo)
        })
        .await
    }

    async fn delete_photo(
        &self,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<PhotoRecord>, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut photos = txn.open_table(PHOTOS)?;
            let photo: PhotoRecord = match photos.remove(id.as_str())? {
                Some(bytes) => decode(bytes.value())?,
                None => return Ok(None),
            };
            drop(photos);
            txn.open_table(PHOTO_BY_SLUG)?.remove(photo.slug.as_str())?;
            if !photo.source_sha256.is_empty() {
                // The original may be uploaded again.
                txn.open_table(ORIGINALS)?
                    .remove((photo.owner_id.as_str(), photo.source_sha256.as_str()))?;
            }
            bump(&mut txn.open_table(OWNER_PHOTO_COUNT)?, &photo.owner_id, -1)?;
            index_photo(txn, &photo, -1)?;
            let tombstone = PhotoDeletion {
                photo,
                requested_at: at,
            };
            txn.open_table(PHOTO_DELETIONS)?
                .insert(id.as_str(), encode(&tombstone)?.as_slice())?;
            Ok(Some(tombstone.photo))
        })
        .await
    }

    /// Walks the tombstones (few: each lasts as long as its purge).
    async fn deletions(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PhotoDeletion>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let table = txn
            .open_table(PHOTO_DELETIONS)
            .map_err(StoreError::unavailable)?;
        let mut out: Vec<PhotoDeletion> = Vec::new();
        for entry in table.iter().map_err(StoreError::unavailable)? {
            let (_, bytes) = entry.map_err(StoreError::unavailable)?;
            let d: PhotoDeletion = decode(bytes.value())?;
            if d.requested_at <= before {
                out.push(d);
            }
        }
        out.sort_by_key(|d| d.requested_at);
        out.truncate(limit as usize);
        Ok(out)
    }

    async fn deletion(&self, photo_id: &str) -> Result<Option<PhotoDeletion>, StoreError> {
        self.read_json(PHOTO_DELETIONS, photo_id)
    }

    async fn finish_deletion(&self, photo_id: &str) -> Result<(), StoreError> {
        let id = photo_id.to_owned();
        self.write(move |txn| {
            txn.open_table(PHOTO_DELETIONS)?.remove(id.as_str())?;
            Ok(())
        })
        .await
    }

    async fn search(&self, query: &PhotoQuery) -> Result<(Vec<PhotoRecord>, u64), StoreError> {
        self.search_now(query).map_err(Into::into)
    }

    async fn photo_count(&self, owner_id: &str) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let table = txn
            .open_table(OWNER_PHOTO_COUNT)
            .map_err(StoreError::unavailable)?;
        let count = table.get(owner_id).map_err(StoreError::unavailable)?;
        Ok(count.map_or(0, |v| v.value()))
    }

    async fn tags(
        &self,
        prefix: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<TagCount>, u64), StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let table = txn.open_table(TAGS).map_err(StoreError::unavailable)?;
        let mut total = 0u64;
        let mut page = Vec::new();
        for entry in table.range(prefix..).map_err(StoreError::unavailable)? {
            let (name, count) = entry.map_err(StoreError::unavailable)?;
            if !name.value().starts_with(prefix) {
                break;
            }
            if total >= offset && page.len() < limit as usize {
                page.push(TagCount {
                    name: name.value().to_owned(),
                    photo_count: count.value(),
                });
            }
            total += 1;
        }
        Ok((page, total))
    }
}

/// Loads a photo inside a write transaction (`None` when it is gone).
pub(super) fn photo_in(txn: &WriteTransaction, id: &str) -> Result<Option<PhotoRecord>, TxError> {
    let photos = txn.open_table(PHOTOS)?;
    let found = photos.get(id)?;
    found.map(|bytes| decode(bytes.value())).transpose()
}

pub(super) fn save_photo_in(txn: &WriteTransaction, photo: &PhotoRecord) -> Result<(), TxError> {
    txn.open_table(PHOTOS)?
        .insert(photo.id.as_str(), encode(photo)?.as_slice())?;
    Ok(())
}
