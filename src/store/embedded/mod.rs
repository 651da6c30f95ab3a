//! The embedded backend: one redb file under `DATA_DIR`. Writes are ACID transactions
//! committed with `Durability::Immediate` (fsync before anyone is answered), so a
//! killed process loses no acknowledged write. Reads are MVCC snapshots cheap enough
//! to run inline.
//!
//! Group commit: every write is a closure sent to one writer thread, which runs all
//! the closures waiting at that moment in one transaction and pays one fsync for
//! them. A closure makes its decisions (not found, conflict) before it writes, so an
//! `Err` of ours leaves nothing behind; a storage error aborts the whole batch and
//! every caller in it gets 503.

mod albums;
mod feedback;
mod fsck;
mod links;
mod photos;
mod search;
mod search_index;
mod social;
mod users;
mod writer;

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{de::DeserializeOwned, Serialize};

use super::{Health, StoreError};
use search::rebuild_search_index;
use writer::{writer_loop, Job};

const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
const USER_BY_NAME: TableDefinition<&str, &str> = TableDefinition::new("users_by_username");
const USER_BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("users_by_email");
const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
const USER_SESSIONS: TableDefinition<(&str, &str), ()> = TableDefinition::new("user_sessions");
const BLOCKLIST: TableDefinition<&str, i64> = TableDefinition::new("token_blocklist");
const PHOTOS: TableDefinition<&str, &[u8]> = TableDefinition::new("photos");
const PHOTO_BY_SLUG: TableDefinition<&str, &str> = TableDefinition::new("photos_by_slug");
const OWNER_PHOTO_COUNT: TableDefinition<&str, u64> = TableDefinition::new("owner_photo_count");
/// Photo id -> `PhotoDeletion`: deleted photos whose purge has not finished.
const PHOTO_DELETIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("photo_deletions");
/// Tags are application-wide objects: name -> number of photos carrying it.
const TAGS: TableDefinition<&str, u64> = TableDefinition::new("tags");
/// Replaced by the `t:` postings of the search index; dropped on open.
const TAG_PHOTOS: TableDefinition<(&str, &str), ()> = TableDefinition::new("tag_photos");
const COMMENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("comments");
/// (photo id, comment id): comment ids are ObjectIds, so this is oldest first.
const PHOTO_COMMENTS: TableDefinition<(&str, &str), ()> = TableDefinition::new("photo_comments");
const AUTHOR_COMMENT_COUNT: TableDefinition<&str, u64> =
    TableDefinition::new("author_comment_count");
const RATINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("ratings");
/// (photo id, user id) -> rating id: at most one rating per user per photo.
const RATING_KEYS: TableDefinition<(&str, &str), &str> = TableDefinition::new("rating_keys");
const PHOTO_RATINGS: TableDefinition<(&str, &str), ()> = TableDefinition::new("photo_ratings");
/// Search postings `(term, time key, photo id)`, time-ordered within a term. Terms:
/// `k:<keyword>`, `t:<tag>`, `c:<camera word>`, `o:<owner id>`, `-taken` (photos
/// without `taken_at`) and `*` (every photo). The value is the photo's rating key
/// and `taken_at` key (0 without one), so bounds and sorts on them need no lookup.
const POSTINGS: TableDefinition<(&str, u64, &str), (u64, u64)> =
    TableDefinition::new("search_postings_v3");
/// Index tables of earlier versions, dropped when the index is rebuilt.
const OLD_POSTINGS: TableDefinition<(&str, u64, &str), ()> =
    TableDefinition::new("search_postings");
const OLD_POSTINGS_V2: TableDefinition<(&str, u64, &str), u64> =
    TableDefinition::new("search_postings_v2");
const OLD_RATING_OF: TableDefinition<&str, u64> = TableDefinition::new("search_rating_of");
/// Term -> number of postings, to start a query from its rarest term.
/// Each change to the search index, numbered (see `search.rs`).
const SEARCH_LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("search_log");
const TERM_COUNTS: TableDefinition<&str, u64> = TableDefinition::new("search_term_counts");
/// `(rating key, time key, photo id)`: every photo in rating order (unrated = 0).
const BY_RATING: TableDefinition<(u64, u64, &str), ()> = TableDefinition::new("search_by_rating");
/// `(taken key, time key, photo id)` -> rating key: the photos with a `taken_at`,
/// in that order.
const BY_TAKEN: TableDefinition<(u64, u64, &str), u64> = TableDefinition::new("search_by_taken");
const LINKS: TableDefinition<&str, &[u8]> = TableDefinition::new("links");
const LINK_BY_SLUG: TableDefinition<&str, &str> = TableDefinition::new("links_by_slug");
/// (photo id, canonical transformation) -> link id: one link per transformation.
const LINK_KEYS: TableDefinition<(&str, &str), &str> = TableDefinition::new("link_keys");
/// (photo id, link id): link ids are ObjectIds, so this is oldest first.
const PHOTO_LINKS: TableDefinition<(&str, &str), ()> = TableDefinition::new("photo_links");
/// Link ids still pending (the outbox), oldest first.
const PENDING_LINKS: TableDefinition<&str, ()> = TableDefinition::new("pending_links");
/// Status -> number of links in it.
const LINK_STATUS_COUNTS: TableDefinition<&str, u64> = TableDefinition::new("link_status_counts");
/// (status, link id): each status's links in id order, which is creation order, so
/// the admin's job list pages newest first by walking one backwards.
const LINKS_BY_STATUS: TableDefinition<(&str, &str), ()> = TableDefinition::new("links_by_status");
/// (completed at in ms since the epoch, link id) of done links: jobs done per minute.
const LINKS_DONE_AT: TableDefinition<(i64, &str), ()> = TableDefinition::new("links_done_at");
/// Small settings of the file itself, such as the search index version.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Bumped whenever what the index holds changes; a file with another version is
/// re-indexed when it is opened.
const SEARCH_INDEX_VERSION: u64 = 3;
/// Bumped whenever `domain::email_key` changes (2: Unicode case folding, was
/// lower-casing); a file with another version has its email index rebuilt.
const EMAIL_KEYS_VERSION: u64 = 2;
/// Bumped whenever what the job indexes (`LINKS_BY_STATUS`, `LINKS_DONE_AT`) hold
/// changes; a file with another version (or from before them) has them rebuilt.
const JOB_INDEX_VERSION: u64 = 1;

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: crossbeam_channel::Sender<Job>,
    /// The search index in memory, loaded by the first search.
    search: Arc<search::SharedIndex>,
}

impl EmbeddedStore {
    /// Opens (or creates) `dir/photoshare.redb` with a 64 MiB page cache.
    pub fn open(dir: &Path) -> Result<Self, StoreError> {
        Self::open_with_cache(dir, 64 * 1024 * 1024)
    }

    /// Opens (or creates) `dir/photoshare.redb` and makes sure every table exists;
    /// the page cache holds at most `cache_bytes`.
    pub fn open_with_cache(dir: &Path, cache_bytes: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(dir).map_err(StoreError::unavailable)?;
        let db = Database::builder()
            .set_cache_size(cache_bytes)
            .create(dir.join("photoshare.redb"))
            .map_err(StoreError::unavailable)?;
        let db = Arc::new(db);
        let (writer, jobs) = crossbeam_channel::unbounded();
        let writer_db = db.clone();
        std::thread::Builder::new()
            .name("redb-writer".into())
            .spawn(move || writer_loop(writer_db, jobs))
            .map_err(StoreError::unavailable)?;
        let store = Self {
            db,
            writer,
            search: Arc::default(),
        };
        store.write_now(|txn| {
            txn.open_table(USERS)?;
            txn.open_table(USER_BY_NAME)?;
            txn.open_table(USER_BY_EMAIL)?;
            txn.open_table(SESSIONS)?;
            txn.open_table(USER_SESSIONS)?;
            txn.open_table(BLOCKLIST)?;
            txn.open_table(PHOTOS)?;
            txn.open_table(PHOTO_BY_SLUG)?;
            txn.open_table(OWNER_PHOTO_COUNT)?;
            txn.open_table(PHOTO_DELETIONS)?;
            txn.open_table(TAGS)?;
            txn.open_table(SEARCH_LOG)?;
            txn.delete_table(TAG_PHOTOS)?;
            txn.open_table(COMMENTS)?;
            txn.open_table(PHOTO_COMMENTS)?;
            txn.open_table(AUTHOR_COMMENT_COUNT)?;
            txn.open_table(RATINGS)?;
            txn.open_table(RATING_KEYS)?;
            txn.open_table(PHOTO_RATINGS)?;
            txn.open_table(LINKS)?;
            txn.open_table(LINK_BY_SLUG)?;
            txn.open_table(LINK_KEYS)?;
            txn.open_table(PHOTO_LINKS)?;
            txn.open_table(PENDING_LINKS)?;
            txn.open_table(LINK_STATUS_COUNTS)?;
            social::create_tables(txn)?;
            albums::create_tables(txn)?;
            users::create_tables(txn)?;
            photos::create_tables(txn)?;
            let version = txn
                .open_table(META)?
                .get("search_index")?
                .map(|v| v.value());
            if version != Some(SEARCH_INDEX_VERSION) {
                rebuild_search_index(txn)?;
                txn.open_table(META)?
                    .insert("search_index", SEARCH_INDEX_VERSION)?;
            }
            let version = txn.open_table(META)?.get("email_keys")?.map(|v| v.value());
            if version != Some(EMAIL_KEYS_VERSION) {
                users::rekey_emails(txn)?;
                txn.open_table(META)?
                    .insert("email_keys", EMAIL_KEYS_VERSION)?;
            }
            let version = txn.open_table(META)?.get("job_index")?.map(|v| v.value());
            if version != Some(JOB_INDEX_VERSION) {
                links::rebuild_job_index(txn)?;
                txn.open_table(META)?
                    .insert("job_index", JOB_INDEX_VERSION)?;
            }
            Ok(())
        })?;
        Ok(store)
    }

    fn read_json<T: DeserializeOwned>(
        &self,
        table: TableDefinition<&str, &[u8]>,
        key: &str,
    ) -> Result<Option<T>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let table = txn.open_table(table).map_err(StoreError::unavailable)?;
        let Some(bytes) = table.get(key).map_err(StoreError::unavailable)? else {
            return Ok(None);
        };
        decode(bytes.value()).map(Some).map_err(Into::into)
    }
}

/// Errors inside a transaction closure: redb's own, or a decision of ours (conflict,
/// not found) that aborts the transaction.
#[derive(Debug)]
enum TxError {
    Redb(redb::Error),
    Store(StoreError),
}

impl<E: Into<redb::Error>> From<E> for TxError {
    fn from(e: E) -> Self {
        TxError::Redb(e.into())
    }
}

impl From<TxError> for StoreError {
    fn from(e: TxError) -> Self {
        match e {
            TxError::Redb(e) => StoreError::unavailable(e),
            TxError::Store(e) => e,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("stored record does not decode: {0}")]
struct Corrupt(serde_json::Error);

fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, TxError> {
    serde_json::to_vec(value).map_err(|e| TxError::Store(StoreError::unavailable(Corrupt(e))))
}

fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, TxError> {
    serde_json::from_slice(bytes).map_err(|e| TxError::Store(StoreError::unavailable(Corrupt(e))))
}

/// Adds `delta` (+1/-1) to a counter, removing it when it reaches zero.
fn bump(table: &mut redb::Table<&str, u64>, key: &str, delta: i64) -> Result<(), TxError> {
    let current = table.get(key)?.map_or(0, |v| v.value());
    let next = current.saturating_add_signed(delta);
    if next == 0 {
        table.remove(key)?;
    } else {
        table.insert(key, next)?;
    }
    Ok(())
}

/// The second halves of `(owner, child)` keys whose first half is `owner`.
fn children(
    table: &impl ReadableTable<(&'static str, &'static str), ()>,
    owner: &str,
) -> Result<Vec<String>, redb::Error> {
    let mut out = Vec::new();
    for entry in table.range((owner, "")..)? {
        let (key, _) = entry?;
        let (parent, child) = key.value();
        if parent != owner {
            break;
        }
        out.push(child.to_owned());
    }
    Ok(out)
}

impl EmbeddedStore {
    /// A page of `(parent, child)` links, each child decoded from `records`.
    fn page_of<T: DeserializeOwned>(
        &self,
        links: TableDefinition<(&str, &str), ()>,
        records: TableDefinition<&str, &[u8]>,
        parent: &str,
        limit: u32,
        offset: u64,
    ) -> Result<Vec<T>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let links = txn.open_table(links).map_err(StoreError::unavailable)?;
        let records = txn.open_table(records).map_err(StoreError::unavailable)?;
        let mut page = Vec::with_capacity(limit as usize);
        let range = links
            .range((parent, "")..)
            .map_err(StoreError::unavailable)?;
        for entry in range.skip(offset as usize) {
            let (key, _) = entry.map_err(StoreError::unavailable)?;
            let (owner, child) = key.value();
            if owner != parent || page.len() >= limit as usize {
                break;
            }
            if let Some(bytes) = records.get(child).map_err(StoreError::unavailable)? {
                page.push(decode(bytes.value())?);
            }
        }
        Ok(page)
    }
}

#[async_trait]
impl Health for EmbeddedStore {
    async fn ping(&self) -> Result<(), StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        txn.open_table(USERS).map_err(StoreError::unavailable)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{new_id, now_millis, PhotoQuery, PhotoRecord, PhotoRepo, PhotoSort};

    fn reopen(dir: &Path) -> EmbeddedStore {
        // The writer thread of the previous handle lets go of the file shortly after.
        for _ in 0..100 {
            if let Ok(store) = EmbeddedStore::open(dir) {
                return store;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        panic!("store did not reopen");
    }

    #[tokio::test]
    async fn a_file_from_an_older_index_version_is_reindexed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(dir.path()).unwrap();
        let now = now_millis();
        let photo = PhotoRecord {
            id: new_id(),
            slug: "s".into(),
            owner_id: "o".into(),
            owner_username: "o".into(),
            description: "Old harbour".into(),
            tags: vec!["sea".into()],
            width: 1,
            height: 1,
            format: "png".into(),
            size_bytes: 1,
            media_key: "k".into(),
            sha256: String::new(),
            source_sha256: String::new(),
            meta: Default::default(),
            placeholder: None,
            created_at: now,
            updated_at: now,
            rating_sum: 9,
            rating_count: 2,
            comment_count: 0,
        };
        store.insert_photo(photo.clone()).await.unwrap();
        // Simulate a file written before the index existed: no index, no version.
        store
            .write(|txn| {
                for table in [TERM_COUNTS, TAGS, META] {
                    txn.delete_table(table)?;
                }
                txn.delete_table(POSTINGS)?;
                txn.delete_table(BY_RATING)?;
                Ok(())
            })
            .await
            .unwrap();
        let query = PhotoQuery {
            keywords: vec!["harbour".into()],
            min_rating: Some(4.5),
            sort: PhotoSort::BestRated,
            limit: 10,
            ..PhotoQuery::default()
        };
        assert!(store.search_now(&query).is_err(), "the index is gone");
        drop(store);

        let store = reopen(dir.path());
        let (page, total) = store.search_now(&query).unwrap();
        assert_eq!((page, total), (vec![photo], 1));
        let (tags, _) = store.tags("", 10, 0).await.unwrap();
        assert_eq!(tags.len(), 1, "tag counts are rebuilt too");
    }
}
