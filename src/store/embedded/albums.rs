//! Albums on the embedded store: the record, an (owner, album) index that knows
//! which are public, and a (photo, album) index for deletions.

use std::collections::BTreeSet;

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::search::ID_MAX;
use super::{decode, encode, EmbeddedStore, TxError};
use crate::store::albums::*;
use crate::store::StoreError;

const ALBUMS: TableDefinition<&str, &[u8]> = TableDefinition::new("albums");
/// (owner id, album id) -> public: album ids are ObjectIds, so this is oldest first.
const OWNER_ALBUMS: TableDefinition<(&str, &str), bool> = TableDefinition::new("owner_albums");
/// (photo id, album id): the albums a photo is in.
const PHOTO_ALBUMS: TableDefinition<(&str, &str), ()> = TableDefinition::new("photo_albums");

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), TxError> {
    txn.open_table(ALBUMS)?;
    txn.open_table(OWNER_ALBUMS)?;
    txn.open_table(PHOTO_ALBUMS)?;
    Ok(())
}

fn album_in(txn: &WriteTransaction, id: &str) -> Result<Option<AlbumRecord>, TxError> {
    let table = txn.open_table(ALBUMS)?;
    let found = table.get(id)?.map(|b| b.value().to_vec());
    found.map(|b| decode(&b)).transpose()
}

/// Writes `new` over `old` (absent for a new album), keeping both indexes in step.
fn save_in(
    txn: &WriteTransaction,
    old: Option<&AlbumRecord>,
    new: &AlbumRecord,
) -> Result<(), TxError> {
    let (id, owner) = (new.id.as_str(), new.owner_id.as_str());
    txn.open_table(ALBUMS)?
        .insert(id, encode(new)?.as_slice())?;
    let public = new.visibility == Visibility::Public;
    txn.open_table(OWNER_ALBUMS)?.insert((owner, id), public)?;
    let before: BTreeSet<&str> = old
        .map(|a| a.photo_ids.iter().map(String::as_str).collect())
        .unwrap_or_default();
    let after: BTreeSet<&str> = new.photo_ids.iter().map(String::as_str).collect();
    let mut index = txn.open_table(PHOTO_ALBUMS)?;
    for gone in before.difference(&after) {
        index.remove((*gone, id))?;
    }
    for added in after.difference(&before) {
        index.insert((*added, id), ())?;
    }
    Ok(())
}

#[async_trait]
impl AlbumRepo for EmbeddedStore {
    async fn create_album(&self, album: AlbumRecord) -> Result<(), StoreError> {
        self.write(move |txn| save_in(txn, None, &album)).await
    }

    async fn album(&self, id: &str) -> Result<Option<AlbumRecord>, StoreError> {
        self.read_json(ALBUMS, id)
    }

    async fn replace_album(&self, album: AlbumRecord, expected: u64) -> Result<bool, StoreError> {
        self.write(move |txn| {
            let Some(old) = album_in(txn, &album.id)? else {
                return Ok(false);
            };
            if old.version != expected {
                return Ok(false);
            }
            save_in(txn, Some(&old), &album)?;
            Ok(true)
        })
        .await
    }

    async fn delete_album(&self, id: &str) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let Some(old) = album_in(txn, &id)? else {
                return Ok(false);
            };
            txn.open_table(ALBUMS)?.remove(id.as_str())?;
            txn.open_table(OWNER_ALBUMS)?
                .remove((old.owner_id.as_str(), id.as_str()))?;
            let mut index = txn.open_table(PHOTO_ALBUMS)?;
            for photo in &old.photo_ids {
                index.remove((photo.as_str(), id.as_str()))?;
            }
            Ok(true)
        })
        .await
    }

    async fn albums_of(
        &self,
        owner_id: &str,
        with_private: bool,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<AlbumRecord>, u64), StoreError> {
        let read = || -> Result<(Vec<AlbumRecord>, u64), TxError> {
            let txn = self.db.begin_read()?;
            let index = txn.open_table(OWNER_ALBUMS)?;
            let records = txn.open_table(ALBUMS)?;
            let (mut page, mut total) = (Vec::new(), 0u64);
            for entry in index.range((owner_id, "")..=(owner_id, ID_MAX))?.rev() {
                let (key, public) = entry?;
                if !with_private && !public.value() {
                    continue;
                }
                if total >= offset && page.len() < limit as usize {
                    if let Some(bytes) = records.get(key.value().1)? {
                        page.push(decode(bytes.value())?);
                    }
                }
                total += 1;
            }
            Ok((page, total))
        };
        Ok(read()?)
    }

    async fn remove_photo_everywhere(&self, photo_id: &str) -> Result<(), StoreError> {
        let photo_id = photo_id.to_owned();
        self.write(move |txn| {
            let mut albums = Vec::new();
            {
                let index = txn.open_table(PHOTO_ALBUMS)?;
                for entry in index.range((photo_id.as_str(), "")..=(photo_id.as_str(), ID_MAX))? {
                    albums.push(entry?.0.value().1.to_owned());
                }
            }
            for id in albums {
                let Some(old) = album_in(txn, &id)? else {
                    continue;
                };
                let mut new = old.clone();
                new.photo_ids.retain(|p| *p != photo_id);
                new.version += 1;
                save_in(txn, Some(&old), &new)?;
            }
            Ok(())
        })
        .await
    }
}
