//! Albums on the embedded store: the record, an (owner, album) index that knows
//! which are public, and a (photo, album) index for deletions; share links with a
//! token-hash index and an (album, share) index.

use std::collections::BTreeSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
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
const SHARES: TableDefinition<&str, &[u8]> = TableDefinition::new("shares");
/// Token hash -> share id.
const SHARE_TOKENS: TableDefinition<&str, &str> = TableDefinition::new("share_tokens");
/// (album id, share id) -> revoked.
const ALBUM_SHARES: TableDefinition<(&str, &str), bool> = TableDefinition::new("album_shares");

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), TxError> {
    txn.open_table(ALBUMS)?;
    txn.open_table(OWNER_ALBUMS)?;
    txn.open_table(PHOTO_ALBUMS)?;
    txn.open_table(SHARES)?;
    txn.open_table(SHARE_TOKENS)?;
    txn.open_table(ALBUM_SHARES)?;
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

/// Deletes an album, its indexes and its share links (whose tokens then answer 404).
fn delete_album_in(txn: &WriteTransaction, id: &str) -> Result<bool, TxError> {
    let Some(old) = album_in(txn, id)? else {
        return Ok(false);
    };
    txn.open_table(ALBUMS)?.remove(id)?;
    txn.open_table(OWNER_ALBUMS)?
        .remove((old.owner_id.as_str(), id))?;
    let mut index = txn.open_table(PHOTO_ALBUMS)?;
    for photo in &old.photo_ids {
        index.remove((photo.as_str(), id))?;
    }
    let mut by_album = txn.open_table(ALBUM_SHARES)?;
    let ids: Vec<String> = by_album
        .range((id, "")..=(id, ID_MAX))?
        .map(|e| e.map(|(k, _)| k.value().1.to_owned()))
        .collect::<Result<_, _>>()?;
    let mut records = txn.open_table(SHARES)?;
    let mut tokens = txn.open_table(SHARE_TOKENS)?;
    for share_id in ids {
        by_album.remove((id, share_id.as_str()))?;
        let found = records
            .remove(share_id.as_str())?
            .map(|b| b.value().to_vec());
        if let Some(share) = found.map(|b| decode::<ShareRecord>(&b)).transpose()? {
            tokens.remove(share.token_hash.as_str())?;
        }
    }
    Ok(true)
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
        self.write(move |txn| delete_album_in(txn, &id)).await
    }

    async fn delete_albums_of(&self, owner_id: &str) -> Result<u64, StoreError> {
        let owner_id = owner_id.to_owned();
        self.write(move |txn| {
            let ids: Vec<String> = {
                let index = txn.open_table(OWNER_ALBUMS)?;
                let range = index.range((owner_id.as_str(), "")..=(owner_id.as_str(), ID_MAX))?;
                range
                    .map(|e| e.map(|(k, _)| k.value().1.to_owned()))
                    .collect::<Result<_, _>>()?
            };
            for id in &ids {
                delete_album_in(txn, id)?;
            }
            Ok(ids.len() as u64)
        })
        .await
    }

    async fn create_share(&self, share: ShareRecord) -> Result<(), StoreError> {
        self.write(move |txn| {
            let id = share.id.as_str();
            txn.open_table(SHARES)?
                .insert(id, encode(&share)?.as_slice())?;
            txn.open_table(SHARE_TOKENS)?
                .insert(share.token_hash.as_str(), id)?;
            txn.open_table(ALBUM_SHARES)?
                .insert((share.album_id.as_str(), id), false)?;
            Ok(())
        })
        .await
    }

    async fn share(&self, id: &str) -> Result<Option<ShareRecord>, StoreError> {
        self.read_json(SHARES, id)
    }

    async fn share_by_token(&self, token_hash: &str) -> Result<Option<ShareRecord>, StoreError> {
        let id = {
            let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
            let table = txn
                .open_table(SHARE_TOKENS)
                .map_err(StoreError::unavailable)?;
            let found = table.get(token_hash).map_err(StoreError::unavailable)?;
            match found {
                Some(id) => id.value().to_owned(),
                None => return Ok(None),
            }
        };
        self.read_json(SHARES, &id)
    }

    async fn shares_of(
        &self,
        album_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<ShareRecord>, u64), StoreError> {
        let read = || -> Result<(Vec<ShareRecord>, u64), TxError> {
            let txn = self.db.begin_read()?;
            let index = txn.open_table(ALBUM_SHARES)?;
            let records = txn.open_table(SHARES)?;
            let (mut page, mut total) = (Vec::new(), 0u64);
            for entry in index.range((album_id, "")..=(album_id, ID_MAX))?.rev() {
                let (key, revoked) = entry?;
                if revoked.value() {
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

    async fn revoke_share(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let found = txn
                .open_table(SHARES)?
                .get(id.as_str())?
                .map(|b| b.value().to_vec());
            let Some(mut share) = found.map(|b| decode::<ShareRecord>(&b)).transpose()? else {
                return Ok(false);
            };
            if share.revoked_at.is_some() {
                return Ok(false);
            }
            share.revoked_at = Some(at);
            txn.open_table(SHARES)?
                .insert(id.as_str(), encode(&share)?.as_slice())?;
            txn.open_table(ALBUM_SHARES)?
                .insert((share.album_id.as_str(), id.as_str()), true)?;
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
