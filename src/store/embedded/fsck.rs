//! `Integrity` on the embedded store: one read snapshot for the census, one write
//! transaction for the recount.

use std::collections::BTreeMap;

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;

use super::search::rebuild_search_index;
use super::social::{FOLLOWER_COUNT, FOLLOWING_COUNT, FOLLOW_EDGES};
use super::{
    decode, encode, EmbeddedStore, AUTHOR_COMMENT_COUNT, BY_RATING, COMMENTS, LINKS,
    LINK_STATUS_COUNTS, OWNER_PHOTO_COUNT, PENDING_LINKS, PHOTOS, PHOTO_DELETIONS, RATINGS, TAGS,
    TERM_COUNTS,
};
use crate::store::{Census, Integrity, PhotoRecord, Recount, StoreError};

/// The counter tables fsck checks, by the name it knows them under.
const COUNTERS: [(&str, TableDefinition<&str, u64>); 5] = [
    ("owner_photo_count", OWNER_PHOTO_COUNT),
    ("author_comment_count", AUTHOR_COMMENT_COUNT),
    ("link_status_count", LINK_STATUS_COUNTS),
    ("followers", FOLLOWER_COUNT),
    ("following", FOLLOWING_COUNT),
];

fn all<T: DeserializeOwned>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<&str, &[u8]>,
) -> Result<Vec<T>, StoreError> {
    let table = txn.open_table(table).map_err(StoreError::unavailable)?;
    let mut out = Vec::new();
    for entry in table.iter().map_err(StoreError::unavailable)? {
        let (_, bytes) = entry.map_err(StoreError::unavailable)?;
        out.push(decode(bytes.value())?);
    }
    Ok(out)
}

fn counts(
    txn: &redb::ReadTransaction,
    table: TableDefinition<&str, u64>,
) -> Result<BTreeMap<String, u64>, StoreError> {
    let table = txn.open_table(table).map_err(StoreError::unavailable)?;
    let mut out = BTreeMap::new();
    for entry in table.iter().map_err(StoreError::unavailable)? {
        let (k, v) = entry.map_err(StoreError::unavailable)?;
        out.insert(k.value().to_owned(), v.value());
    }
    Ok(out)
}

#[async_trait]
impl Integrity for EmbeddedStore {
    async fn census(&self) -> Result<Census, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let mut counters = BTreeMap::new();
        for (name, table) in COUNTERS {
            counters.insert(name, counts(&txn, table)?);
        }
        let pending = txn
            .open_table(PENDING_LINKS)
            .map_err(StoreError::unavailable)?;
        let mut outbox = BTreeMap::new();
        for entry in pending.iter().map_err(StoreError::unavailable)? {
            let (id, _) = entry.map_err(StoreError::unavailable)?;
            outbox.insert(id.value().to_owned(), 1);
        }
        counters.insert("pending_links", outbox);
        let terms = counts(&txn, TERM_COUNTS)?;
        let by_rating = txn.open_table(BY_RATING).map_err(StoreError::unavailable)?;
        let index = BTreeMap::from([
            ("photos".to_owned(), terms.get("*").copied().unwrap_or(0)),
            (
                "by_rating".to_owned(),
                by_rating.len().map_err(StoreError::unavailable)?,
            ),
        ]);
        counters.insert("search_index", index);
        let mut follows = Vec::new();
        let edges = txn
            .open_table(FOLLOW_EDGES)
            .map_err(StoreError::unavailable)?;
        for entry in edges.iter().map_err(StoreError::unavailable)? {
            let (key, _) = entry.map_err(StoreError::unavailable)?;
            let (follower, followee) = key.value();
            follows.push((follower.to_owned(), followee.to_owned()));
        }
        Ok(Census {
            follows,
            photos: all(&txn, PHOTOS)?,
            deletions: all(&txn, PHOTO_DELETIONS)?,
            comments: all(&txn, COMMENTS)?,
            ratings: all(&txn, RATINGS)?,
            links: all(&txn, LINKS)?,
            tags: counts(&txn, TAGS)?,
            counters,
        })
    }

    async fn recount(&self, recount: Recount) -> Result<(), StoreError> {
        self.write(move |txn| {
            {
                // Every photo decoded before the first write: a record that does
                // not decode stops the recount before it has changed anything.
                let mut photos = txn.open_table(PHOTOS)?;
                let mut updated = Vec::with_capacity(recount.photos.len());
                for (id, (comments, sum, count)) in &recount.photos {
                    let found = photos.get(id.as_str())?.map(|b| b.value().to_vec());
                    let Some(bytes) = found else { continue };
                    let mut photo: PhotoRecord = decode(&bytes)?;
                    photo.comment_count = *comments;
                    photo.rating_sum = *sum;
                    photo.rating_count = *count;
                    updated.push((id, encode(&photo)?));
                }
                for (id, bytes) in updated {
                    photos.insert(id.as_str(), bytes.as_slice())?;
                }
            }
            // Tags, search postings and rating order come from the photos.
            rebuild_search_index(txn)?;
            for (name, table) in COUNTERS {
                let Some(want) = recount.counters.get(name) else {
                    continue;
                };
                txn.delete_table(table)?;
                let mut table = txn.open_table(table)?;
                for (key, value) in want.iter().filter(|(_, v)| **v > 0) {
                    table.insert(key.as_str(), *value)?;
                }
            }
            if let Some(want) = recount.counters.get("pending_links") {
                txn.delete_table(PENDING_LINKS)?;
                let mut table = txn.open_table(PENDING_LINKS)?;
                for key in want.keys() {
                    table.insert(key.as_str(), ())?;
                }
            }
            super::links::rebuild_job_index(txn)?;
            Ok(())
        })
        .await
    }
}
