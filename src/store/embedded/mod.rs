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

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{
    Database, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use serde::{de::DeserializeOwned, Serialize};

use super::{
    CommentRecord, CommentRepo, Health, LinkCounts, LinkOutcome, LinkRecord, LinkRepo, LinkStatus,
    NewUser, PhotoQuery, PhotoRecord, PhotoRepo, ProfilePatch, RatingRecord, RatingRepo,
    SessionRecord, SessionRepo, StoreError, TagCount, TokenBlocklist, UserRecord, UserRepo,
};
use crate::domain::Role;

const USERS: TableDefinition<&str, &[u8]> = TableDefinition::new("users");
const USER_BY_NAME: TableDefinition<&str, &str> = TableDefinition::new("users_by_username");
const USER_BY_EMAIL: TableDefinition<&str, &str> = TableDefinition::new("users_by_email");
const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
const USER_SESSIONS: TableDefinition<(&str, &str), ()> = TableDefinition::new("user_sessions");
const BLOCKLIST: TableDefinition<&str, i64> = TableDefinition::new("token_blocklist");
const PHOTOS: TableDefinition<&str, &[u8]> = TableDefinition::new("photos");
const PHOTO_BY_SLUG: TableDefinition<&str, &str> = TableDefinition::new("photos_by_slug");
const OWNER_PHOTO_COUNT: TableDefinition<&str, u64> = TableDefinition::new("owner_photo_count");
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
/// `k:<keyword>`, `t:<tag>`, `o:<owner id>` and `*` (every photo).
/// The value is the photo's rating key, so rating bounds need no lookup.
const POSTINGS: TableDefinition<(&str, u64, &str), u64> =
    TableDefinition::new("search_postings_v2");
/// Index tables of version 1, dropped when the index is rebuilt.
const OLD_POSTINGS: TableDefinition<(&str, u64, &str), ()> =
    TableDefinition::new("search_postings");
const OLD_RATING_OF: TableDefinition<&str, u64> = TableDefinition::new("search_rating_of");
/// Term -> number of postings, to start a query from its rarest term.
const TERM_COUNTS: TableDefinition<&str, u64> = TableDefinition::new("search_term_counts");
/// `(rating key, time key, photo id)`: every photo in rating order (unrated = 0).
const BY_RATING: TableDefinition<(u64, u64, &str), ()> = TableDefinition::new("search_by_rating");
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
/// Small settings of the file itself, such as the search index version.
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Bumped whenever what the index holds changes; a file with another version is
/// re-indexed when it is opened.
const SEARCH_INDEX_VERSION: u64 = 2;

#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    writer: crossbeam_channel::Sender<Job>,
}

type SharedError = Arc<dyn std::error::Error + Send + Sync>;
/// Told whether the batch committed (`None`) or why it did not.
type Completion = Box<dyn FnOnce(Option<SharedError>) + Send>;
/// Runs inside the batch transaction; says whether it hit a storage error.
type Job = Box<dyn FnOnce(&WriteTransaction) -> (Completion, bool) + Send>;

/// Most closures one transaction takes; more wait for the next fsync.
const MAX_BATCH: usize = 512;

#[derive(Debug, thiserror::Error)]
#[error("write batch aborted by a storage error in another write")]
struct BatchAborted;

fn writer_loop(db: Arc<Database>, jobs: crossbeam_channel::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        batch.extend(jobs.try_iter().take(MAX_BATCH - 1));
        // If the transaction cannot even start, dropping the jobs answers their
        // callers with an error.
        let Ok(txn) = db.begin_write() else { continue };
        let mut poisoned = false;
        let done: Vec<Completion> = batch
            .into_iter()
            .map(|job| {
                let (completion, failed) = job(&txn);
                poisoned |= failed;
                completion
            })
            .collect();
        let failure: Option<SharedError> = if poisoned {
            let _ = txn.abort();
            Some(Arc::new(BatchAborted))
        } else {
            txn.commit().err().map(|e| Arc::new(e) as SharedError)
        };
        for completion in done {
            completion(failure.clone());
        }
    }
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
        let store = Self { db, writer };
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
            txn.open_table(TAGS)?;
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
            let version = txn
                .open_table(META)?
                .get("search_index")?
                .map(|v| v.value());
            if version != Some(SEARCH_INDEX_VERSION) {
                rebuild_search_index(txn)?;
                txn.open_table(META)?
                    .insert("search_index", SEARCH_INDEX_VERSION)?;
            }
            Ok(())
        })?;
        Ok(store)
    }

    /// Runs `f` in one write transaction on this thread and commits it.
    fn write_now<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        let txn = self.db.begin_write().map_err(StoreError::unavailable)?;
        let out = f(&txn)?;
        txn.commit().map_err(StoreError::unavailable)?;
        Ok(out)
    }

    /// Runs `f` on the writer thread in the next batch; answers after the fsync.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, TxError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |txn| {
            let out = f(txn);
            let failed = matches!(out, Err(TxError::Redb(_)));
            let completion: Completion = Box::new(move |failure| {
                let result = match (out, failure) {
                    (Err(e), _) => Err(e.into()),
                    (Ok(_), Some(e)) => Err(StoreError::Unavailable(Box::new(e))),
                    (Ok(value), None) => Ok(value),
                };
                let _ = tx.send(result);
            });
            (completion, failed)
        });
        self.writer
            .send(job)
            .map_err(|_| StoreError::unavailable(BatchAborted))?;
        rx.await.map_err(StoreError::unavailable)?
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

    fn user_by_index(
        &self,
        index: TableDefinition<&str, &str>,
        key: &str,
    ) -> Result<Option<UserRecord>, StoreError> {
        let id = {
            let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
            let table = txn.open_table(index).map_err(StoreError::unavailable)?;
            let found = table.get(key).map_err(StoreError::unavailable)?;
            match found {
                Some(id) => id.value().to_owned(),
                None => return Ok(None),
            }
        };
        self.read_json(USERS, &id)
    }

    /// Loads, changes and stores one user inside a write transaction.
    async fn modify_user<F>(&self, id: &str, change: F) -> Result<UserRecord, StoreError>
    where
        F: FnOnce(&WriteTransaction, &mut UserRecord) -> Result<(), TxError> + Send + 'static,
    {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut users = txn.open_table(USERS)?;
            let mut user: UserRecord = match users.get(id.as_str())? {
                Some(bytes) => decode(bytes.value())?,
                None => return Err(TxError::Store(StoreError::NotFound)),
            };
            change(txn, &mut user)?;
            users.insert(id.as_str(), encode(&user)?.as_slice())?;
            Ok(user)
        })
        .await
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

#[async_trait]
impl UserRepo for EmbeddedStore {
    async fn create(&self, new: NewUser) -> Result<UserRecord, StoreError> {
        self.write(move |txn| {
            let mut users = txn.open_table(USERS)?;
            let mut by_name = txn.open_table(USER_BY_NAME)?;
            let mut by_email = txn.open_table(USER_BY_EMAIL)?;
            // redb has one writer at a time, so "is this the first account" and the
            // insert are one atomic step.
            let role = if users.is_empty()? {
                Role::Admin
            } else {
                Role::User
            };
            let user = UserRecord {
                id: new.id,
                username: new.username,
                email: new.email,
                full_name: new.full_name,
                bio: None,
                role,
                is_active: true,
                password_hash: new.password_hash,
                created_at: new.created_at,
            };
            let (name_key, email_key) = (user.username_key(), user.email_key());
            if by_name.get(name_key.as_str())?.is_some() {
                return Err(TxError::Store(StoreError::Conflict("username")));
            }
            if by_email.get(email_key.as_str())?.is_some() {
                return Err(TxError::Store(StoreError::Conflict("email")));
            }
            by_name.insert(name_key.as_str(), user.id.as_str())?;
            by_email.insert(email_key.as_str(), user.id.as_str())?;
            users.insert(user.id.as_str(), encode(&user)?.as_slice())?;
            Ok(user)
        })
        .await
    }

    async fn by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        self.read_json(USERS, id)
    }

    async fn by_username(&self, username_key: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_by_index(USER_BY_NAME, username_key)
    }

    async fn by_email(&self, email_key: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_by_index(USER_BY_EMAIL, email_key)
    }

    async fn update_profile(
        &self,
        id: &str,
        patch: ProfilePatch,
    ) -> Result<UserRecord, StoreError> {
        self.modify_user(id, move |txn, user| {
            if let Some(email) = patch.email {
                let new_key = email.to_lowercase();
                let old_key = user.email_key();
                if new_key != old_key {
                    let mut by_email = txn.open_table(USER_BY_EMAIL)?;
                    if by_email.get(new_key.as_str())?.is_some() {
                        return Err(TxError::Store(StoreError::Conflict("email")));
                    }
                    by_email.remove(old_key.as_str())?;
                    by_email.insert(new_key.as_str(), user.id.as_str())?;
                }
                user.email = email;
            }
            if let Some(full_name) = patch.full_name {
                user.full_name = full_name;
            }
            if let Some(bio) = patch.bio {
                user.bio = bio;
            }
            Ok(())
        })
        .await
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<(), StoreError> {
        let hash = hash.to_owned();
        self.modify_user(id, move |_, user| {
            user.password_hash = hash;
            Ok(())
        })
        .await
        .map(drop)
    }

    async fn set_role(&self, id: &str, role: Role) -> Result<UserRecord, StoreError> {
        self.modify_user(id, move |_, user| {
            user.role = role;
            Ok(())
        })
        .await
    }

    async fn set_active(&self, id: &str, active: bool) -> Result<UserRecord, StoreError> {
        self.modify_user(id, move |_, user| {
            user.is_active = active;
            Ok(())
        })
        .await
    }

    async fn list(&self, limit: u32, offset: u64) -> Result<(Vec<UserRecord>, u64), StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let users = txn.open_table(USERS).map_err(StoreError::unavailable)?;
        let total = users.len().map_err(StoreError::unavailable)?;
        let mut page = Vec::with_capacity(limit as usize);
        // Ids are ObjectIds: their hex order is creation order.
        for entry in users
            .iter()
            .map_err(StoreError::unavailable)?
            .skip(offset as usize)
            .take(limit as usize)
        {
            let (_, bytes) = entry.map_err(StoreError::unavailable)?;
            page.push(decode(bytes.value())?);
        }
        Ok((page, total))
    }
}

#[async_trait]
impl SessionRepo for EmbeddedStore {
    async fn create_session(&self, session: SessionRecord) -> Result<(), StoreError> {
        self.write(move |txn| {
            txn.open_table(SESSIONS)?
                .insert(session.id.as_str(), encode(&session)?.as_slice())?;
            txn.open_table(USER_SESSIONS)?
                .insert((session.user_id.as_str(), session.id.as_str()), ())?;
            Ok(())
        })
        .await
    }

    async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        self.read_json(SESSIONS, id)
    }

    async fn rotate_session(
        &self,
        id: &str,
        expected_jti: &str,
        new_jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (id, expected, new_jti) = (id.to_owned(), expected_jti.to_owned(), new_jti.to_owned());
        self.write(move |txn| {
            let mut sessions = txn.open_table(SESSIONS)?;
            let mut session: SessionRecord = match sessions.get(id.as_str())? {
                Some(bytes) => decode(bytes.value())?,
                None => return Ok(false),
            };
            if session.revoked || session.refresh_jti != expected {
                return Ok(false);
            }
            session.refresh_jti = new_jti;
            session.expires_at = expires_at;
            sessions.insert(id.as_str(), encode(&session)?.as_slice())?;
            Ok(true)
        })
        .await
    }

    async fn revoke_session(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |txn| revoke_in(txn, &id)).await
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<(), StoreError> {
        let (user_id, except) = (user_id.to_owned(), except.map(str::to_owned));
        self.write(move |txn| {
            let ids: Vec<String> = {
                let index = txn.open_table(USER_SESSIONS)?;
                let range = index.range((user_id.as_str(), "")..)?;
                let mut ids = Vec::new();
                for entry in range {
                    let (key, _) = entry?;
                    let (owner, sid) = key.value();
                    if owner != user_id {
                        break;
                    }
                    ids.push(sid.to_owned());
                }
                ids
            };
            for sid in ids.iter().filter(|s| Some(s.as_str()) != except.as_deref()) {
                revoke_in(txn, sid)?;
            }
            Ok(())
        })
        .await
    }
}

fn revoke_in(txn: &WriteTransaction, id: &str) -> Result<(), TxError> {
    let mut sessions = txn.open_table(SESSIONS)?;
    let session: Option<SessionRecord> = match sessions.get(id)? {
        Some(bytes) => Some(decode(bytes.value())?),
        None => None,
    };
    if let Some(mut session) = session.filter(|s| !s.revoked) {
        session.revoked = true;
        sessions.insert(id, encode(&session)?.as_slice())?;
    }
    Ok(())
}

#[async_trait]
impl TokenBlocklist for EmbeddedStore {
    async fn block(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let jti = jti.to_owned();
        self.write(move |txn| {
            txn.open_table(BLOCKLIST)?
                .insert(jti.as_str(), expires_at.timestamp_millis())?;
            Ok(())
        })
        .await
    }

    async fn is_blocked(&self, jti: &str) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let table = txn.open_table(BLOCKLIST).map_err(StoreError::unavailable)?;
        Ok(table.get(jti).map_err(StoreError::unavailable)?.is_some())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let cutoff = now.timestamp_millis();
        self.write(move |txn| {
            let mut removed = 0u64;
            txn.open_table(BLOCKLIST)?.retain(|_, exp| {
                let keep = exp >= cutoff;
                removed += u64::from(!keep);
                keep
            })?;
            Ok(removed)
        })
        .await
    }
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

/// Order-preserving key of a time: signed milliseconds with the sign bit flipped.
fn time_key(t: DateTime<Utc>) -> u64 {
    (t.timestamp_millis() as u64) ^ (1 << 63)
}

/// Order-preserving key of an average rating (positive floats order like their
/// bits); 0 for an unrated photo, below every rating.
fn rating_key(average: Option<f64>) -> u64 {
    average.map_or(0, f64::to_bits)
}

/// The search terms a photo is posted under.
fn search_terms(photo: &PhotoRecord) -> Vec<String> {
    let mut terms: Vec<String> = photo.keywords().iter().map(|k| format!("k:{k}")).collect();
    terms.extend(photo.tags.iter().map(|t| format!("t:{t}")));
    terms.push(format!("o:{}", photo.owner_id));
    terms.push(ALL.to_owned());
    terms
}

/// The term every photo is posted under.
const ALL: &str = "*";

/// Adds (`delta` 1) or removes (-1) a photo's tag counts and every search entry.
fn index_photo(txn: &WriteTransaction, photo: &PhotoRecord, delta: i64) -> Result<(), TxError> {
    let mut tag_counts = txn.open_table(TAGS)?;
    for tag in &photo.tags {
        bump(&mut tag_counts, tag, delta)?;
    }
    let mut postings = txn.open_table(POSTINGS)?;
    let mut counts = txn.open_table(TERM_COUNTS)?;
    let (time, id) = (time_key(photo.created_at), photo.id.as_str());
    let rating = rating_key(photo.rating_average());
    for term in search_terms(photo) {
        let key = (term.as_str(), time, id);
        let changed = if delta > 0 {
            postings.insert(key, rating)?.is_none()
        } else {
            postings.remove(key)?.is_some()
        };
        if changed {
            bump(&mut counts, &term, delta)?;
        }
    }
    if delta > 0 {
        txn.open_table(BY_RATING)?.insert((rating, time, id), ())?;
    } else {
        txn.open_table(BY_RATING)?.remove((rating, time, id))?;
    }
    Ok(())
}

/// Moves a photo within the rating order, and rewrites the rating its postings
/// carry, after its sums changed.
fn reindex_rating(
    txn: &WriteTransaction,
    before: Option<f64>,
    photo: &PhotoRecord,
) -> Result<(), TxError> {
    let (time, id) = (time_key(photo.created_at), photo.id.as_str());
    let (old, new) = (rating_key(before), rating_key(photo.rating_average()));
    if old != new {
        let mut by_rating = txn.open_table(BY_RATING)?;
        by_rating.remove((old, time, id))?;
        by_rating.insert((new, time, id), ())?;
        let mut postings = txn.open_table(POSTINGS)?;
        for term in search_terms(photo) {
            postings.insert((term.as_str(), time, id), new)?;
        }
    }
    Ok(())
}

/// Recomputes tag counts and the search index from the photo records.
fn rebuild_search_index(txn: &WriteTransaction) -> Result<(), TxError> {
    txn.delete_table(OLD_POSTINGS)?;
    txn.delete_table(OLD_RATING_OF)?;
    for table in [TAGS, TERM_COUNTS] {
        txn.delete_table(table)?;
        txn.open_table(table)?;
    }
    txn.delete_table(POSTINGS)?;
    txn.open_table(POSTINGS)?;
    txn.delete_table(BY_RATING)?;
    txn.open_table(BY_RATING)?;
    let photos: Vec<PhotoRecord> = {
        let table = txn.open_table(PHOTOS)?;
        let mut all = Vec::new();
        for entry in table.iter()? {
            all.push(decode(entry?.1.value())?);
        }
        all
    };
    for photo in &photos {
        index_photo(txn, photo, 1)?;
    }
    if !photos.is_empty() {
        tracing::info!(photos = photos.len(), "search index rebuilt");
    }
    Ok(())
}

#[async_trait]
impl PhotoRepo for EmbeddedStore {
    async fn insert_photo(&self, photo: PhotoRecord) -> Result<(), StoreError> {
        self.write(move |txn| {
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

    async fn delete_photo(&self, id: &str) -> Result<Option<PhotoRecord>, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut photos = txn.open_table(PHOTOS)?;
            let photo: PhotoRecord = match photos.remove(id.as_str())? {
                Some(bytes) => decode(bytes.value())?,
                None => return Ok(None),
            };
            drop(photos);
            txn.open_table(PHOTO_BY_SLUG)?.remove(photo.slug.as_str())?;
            bump(&mut txn.open_table(OWNER_PHOTO_COUNT)?, &photo.owner_id, -1)?;
            index_photo(txn, &photo, -1)?;
            Ok(Some(photo))
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

/// Above every photo id (ids are hex), to close a range over a key prefix.
const ID_MAX: &str = "\u{10FFFF}";

/// Visits each entry of a range, forwards or backwards.
fn walk<K: redb::Key + 'static, V: redb::Value + 'static>(
    range: redb::Range<'_, K, V>,
    descending: bool,
    mut visit: impl for<'k> FnMut(K::SelfType<'k>, V::SelfType<'k>) -> Result<(), TxError>,
) -> Result<(), TxError> {
    let mut step = |entry: Result<
        (redb::AccessGuard<'_, K>, redb::AccessGuard<'_, V>),
        redb::StorageError,
    >| {
        let (key, value) = entry?;
        visit(key.value(), value.value())
    };
    if descending {
        range.rev().try_for_each(&mut step)
    } else {
        range.into_iter().try_for_each(&mut step)
    }
}

/// One match of a search: where it sorts, and which photo it is.
struct Hit {
    rating: u64,
    time: u64,
    id: String,
}

/// Takes the `[offset, offset + limit)` slice of matches as they stream past, in
/// order, while counting all of them.
struct Pager {
    offset: u64,
    limit: usize,
    seen: u64,
    page: Vec<String>,
}

impl Pager {
    fn new(query: &PhotoQuery) -> Self {
        Pager {
            offset: query.offset,
            limit: query.limit as usize,
            seen: 0,
            page: Vec::with_capacity(query.limit as usize),
        }
    }

    fn push(&mut self, id: &str) {
        if self.seen >= self.offset && self.page.len() < self.limit {
            self.page.push(id.to_owned());
        }
        self.seen += 1;
    }
}

impl EmbeddedStore {
    /// Plan: with only "every photo" as a term and a rating order, walk the rating
    /// index. Otherwise walk the postings of the rarest term inside the time bounds
    /// (already in time order) and check each candidate against the other terms
    /// and the rating bounds with point lookups; a rating order then sorts the
    /// matches, which are few because the rarest term bounds them.
    fn search_now(&self, q: &PhotoQuery) -> Result<(Vec<PhotoRecord>, u64), TxError> {
        let txn = self.db.begin_read()?;
        let postings = txn.open_table(POSTINGS)?;
        let counts = txn.open_table(TERM_COUNTS)?;
        let mut terms: Vec<(u64, String)> = Vec::new();
        let named = q.keywords.iter().map(|k| format!("k:{k}"));
        let named = named.chain(q.tags.iter().map(|t| format!("t:{t}")));
        for term in named.chain(q.owner_id.iter().map(|o| format!("o:{o}"))) {
            let count = counts.get(term.as_str())?.map_or(0, |c| c.value());
            if count == 0 {
                return Ok((Vec::new(), 0));
            }
            terms.push((count, term));
        }
        terms.sort();
        terms.dedup_by(|a, b| a.1 == b.1);
        let lo = q.from.map_or(0, time_key);
        let hi = q.to.map_or(u64::MAX, time_key);
        let rated = q.min_rating.is_some() || q.max_rating.is_some();
        let rating_lo = q.min_rating.map_or(1, |r| rating_key(Some(r)));
        let rating_hi = q.max_rating.map_or(u64::MAX, |r| rating_key(Some(r)));
        let mut pager = Pager::new(q);

        if terms.is_empty() && q.sort.by_rating() {
            let by_rating = txn.open_table(BY_RATING)?;
            let start = if rated { rating_lo } else { 0 };
            let range = by_rating.range((start, 0, "")..=(rating_hi, u64::MAX, ID_MAX))?;
            walk(range, q.sort.descending(), |(_, time, id), ()| {
                if (lo..=hi).contains(&time) {
                    pager.push(id);
                }
                Ok(())
            })?;
            return self.page_in(&txn, pager);
        }

        let driver = terms.first().map_or(ALL, |t| t.1.as_str());
        let others: Vec<&str> = terms.iter().skip(1).map(|t| t.1.as_str()).collect();
        let range = postings.range((driver, lo, "")..=(driver, hi, ID_MAX))?;
        if others.is_empty() && !rated && !q.sort.by_rating() && q.from.is_none() && q.to.is_none()
        {
            // One term, nothing to check: its count is the total, and the page is a
            // slice of its postings.
            let total = terms
                .first()
                .map_or(counts.get(ALL)?.map_or(0, |c| c.value()), |t| t.0);
            let mut pager = Pager::new(q);
            pager.seen = q.offset;
            let skip = usize::try_from(q.offset).unwrap_or(usize::MAX);
            let page = |e: Result<_, redb::StorageError>| -> Result<(), TxError> {
                let (key, _): (redb::AccessGuard<'_, (&str, u64, &str)>, _) = e?;
                pager.push(key.value().2);
                Ok(())
            };
            if q.sort.descending() {
                range
                    .rev()
                    .skip(skip)
                    .take(q.limit as usize)
                    .try_for_each(page)?;
            } else {
                range.skip(skip).take(q.limit as usize).try_for_each(page)?;
            }
            let (page, _) = self.page_in(&txn, pager)?;
            return Ok((page, total));
        }
        let mut hits: Vec<Hit> = Vec::new();
        walk(range, q.sort.descending(), |(_, time, id), rating| {
            // The rating rides along in the posting: cheap checks first.
            if rated && !(rating_lo..=rating_hi).contains(&rating) {
                return Ok(());
            }
            for term in &others {
                if postings.get((*term, time, id))?.is_none() {
                    return Ok(());
                }
            }
            if q.sort.by_rating() {
                let id = id.to_owned();
                hits.push(Hit { rating, time, id });
            } else {
                pager.push(id);
            }
            Ok(())
        })?;
        if q.sort.by_rating() {
            hits.sort_unstable_by(|a, b| (a.rating, a.time, &a.id).cmp(&(b.rating, b.time, &b.id)));
            if q.sort.descending() {
                hits.reverse();
            }
            for hit in &hits {
                pager.push(&hit.id);
            }
        }
        self.page_in(&txn, pager)
    }

    fn page_in(
        &self,
        txn: &redb::ReadTransaction,
        pager: Pager,
    ) -> Result<(Vec<PhotoRecord>, u64), TxError> {
        let photos = txn.open_table(PHOTOS)?;
        let mut page = Vec::with_capacity(pager.page.len());
        for id in &pager.page {
            if let Some(bytes) = photos.get(id.as_str())? {
                page.push(decode(bytes.value())?);
            }
        }
        Ok((page, pager.seen))
    }
}

/// Loads a photo inside a write transaction (`None` when it is gone).
fn photo_in(txn: &WriteTransaction, id: &str) -> Result<Option<PhotoRecord>, TxError> {
    let photos = txn.open_table(PHOTOS)?;
    let found = photos.get(id)?;
    found.map(|bytes| decode(bytes.value())).transpose()
}

fn save_photo_in(txn: &WriteTransaction, photo: &PhotoRecord) -> Result<(), TxError> {
    txn.open_table(PHOTOS)?
        .insert(photo.id.as_str(), encode(photo)?.as_slice())?;
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

fn remove_comment_in(txn: &WriteTransaction, id: &str) -> Result<Option<CommentRecord>, TxError> {
    let removed = txn
        .open_table(COMMENTS)?
        .remove(id)?
        .map(|b| b.value().to_vec());
    let Some(bytes) = removed else {
        return Ok(None);
    };
    let comment: CommentRecord = decode(&bytes)?;
    txn.open_table(PHOTO_COMMENTS)?
        .remove((comment.photo_id.as_str(), id))?;
    bump(
        &mut txn.open_table(AUTHOR_COMMENT_COUNT)?,
        &comment.author_id,
        -1,
    )?;
    Ok(Some(comment))
}

fn remove_rating_in(txn: &WriteTransaction, id: &str) -> Result<Option<RatingRecord>, TxError> {
    let removed = txn
        .open_table(RATINGS)?
        .remove(id)?
        .map(|b| b.value().to_vec());
    let Some(bytes) = removed else {
        return Ok(None);
    };
    let rating: RatingRecord = decode(&bytes)?;
    txn.open_table(RATING_KEYS)?
        .remove((rating.photo_id.as_str(), rating.user_id.as_str()))?;
    txn.open_table(PHOTO_RATINGS)?
        .remove((rating.photo_id.as_str(), id))?;
    Ok(Some(rating))
}

#[async_trait]
impl CommentRepo for EmbeddedStore {
    async fn add_comment(&self, c: CommentRecord) -> Result<(), StoreError> {
        self.write(move |txn| {
            let mut photo =
                photo_in(txn, &c.photo_id)?.ok_or(TxError::Store(StoreError::NotFound))?;
            photo.comment_count += 1;
            save_photo_in(txn, &photo)?;
            txn.open_table(COMMENTS)?
                .insert(c.id.as_str(), encode(&c)?.as_slice())?;
            txn.open_table(PHOTO_COMMENTS)?
                .insert((c.photo_id.as_str(), c.id.as_str()), ())?;
            bump(&mut txn.open_table(AUTHOR_COMMENT_COUNT)?, &c.author_id, 1)
        })
        .await
    }

    async fn comment(&self, id: &str) -> Result<Option<CommentRecord>, StoreError> {
        self.read_json(COMMENTS, id)
    }

    async fn comments(
        &self,
        photo_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<CommentRecord>, u64), StoreError> {
        let total = self.photo(photo_id).await?.map_or(0, |p| p.comment_count);
        let page = self.page_of(PHOTO_COMMENTS, COMMENTS, photo_id, limit, offset)?;
        Ok((page, total))
    }

    async fn edit_comment(
        &self,
        id: &str,
        text: String,
        updated_at: DateTime<Utc>,
    ) -> Result<CommentRecord, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut comments = txn.open_table(COMMENTS)?;
            let mut comment: CommentRecord = match comments.get(id.as_str())? {
                Some(bytes) => decode(bytes.value())?,
                None => return Err(TxError::Store(StoreError::NotFound)),
            };
            comment.text = text;
            comment.updated_at = updated_at;
            comments.insert(id.as_str(), encode(&comment)?.as_slice())?;
            Ok(comment)
        })
        .await
    }

    async fn delete_comment(&self, id: &str) -> Result<Option<CommentRecord>, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let Some(comment) = remove_comment_in(txn, &id)? else {
                return Ok(None);
            };
            if let Some(mut photo) = photo_in(txn, &comment.photo_id)? {
                photo.comment_count = photo.comment_count.saturating_sub(1);
                save_photo_in(txn, &photo)?;
            }
            Ok(Some(comment))
        })
        .await
    }

    async fn comment_count_by(&self, author_id: &str) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let table = txn
            .open_table(AUTHOR_COMMENT_COUNT)
            .map_err(StoreError::unavailable)?;
        let count = table.get(author_id).map_err(StoreError::unavailable)?;
        Ok(count.map_or(0, |v| v.value()))
    }

    async fn delete_photo_comments(&self, photo_id: &str) -> Result<(), StoreError> {
        let photo_id = photo_id.to_owned();
        self.write(move |txn| {
            let ids = children(&txn.open_table(PHOTO_COMMENTS)?, &photo_id)?;
            for id in ids {
                remove_comment_in(txn, &id)?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl RatingRepo for EmbeddedStore {
    async fn add_rating(&self, r: RatingRecord) -> Result<(), StoreError> {
        self.write(move |txn| {
            let mut photo =
                photo_in(txn, &r.photo_id)?.ok_or(TxError::Store(StoreError::NotFound))?;
            let mut keys = txn.open_table(RATING_KEYS)?;
            let key = (r.photo_id.as_str(), r.user_id.as_str());
            if keys.get(key)?.is_some() {
                return Err(TxError::Store(StoreError::Conflict("rating")));
            }
            keys.insert(key, r.id.as_str())?;
            let before = photo.rating_average();
            photo.rating_sum += u64::from(r.stars);
            photo.rating_count += 1;
            reindex_rating(txn, before, &photo)?;
            save_photo_in(txn, &photo)?;
            txn.open_table(RATINGS)?
                .insert(r.id.as_str(), encode(&r)?.as_slice())?;
            txn.open_table(PHOTO_RATINGS)?
                .insert((r.photo_id.as_str(), r.id.as_str()), ())?;
            Ok(())
        })
        .await
    }

    async fn ratings(
        &self,
        photo_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RatingRecord>, u64), StoreError> {
        let total = self.photo(photo_id).await?.map_or(0, |p| p.rating_count);
        let page = self.page_of(PHOTO_RATINGS, RATINGS, photo_id, limit, offset)?;
        Ok((page, total))
    }

    async fn delete_rating(&self, id: &str) -> Result<Option<RatingRecord>, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let Some(rating) = remove_rating_in(txn, &id)? else {
                return Ok(None);
            };
            if let Some(mut photo) = photo_in(txn, &rating.photo_id)? {
                let before = photo.rating_average();
                photo.rating_sum = photo.rating_sum.saturating_sub(u64::from(rating.stars));
                photo.rating_count = photo.rating_count.saturating_sub(1);
                reindex_rating(txn, before, &photo)?;
                save_photo_in(txn, &photo)?;
            }
            Ok(Some(rating))
        })
        .await
    }

    async fn delete_photo_ratings(&self, photo_id: &str) -> Result<(), StoreError> {
        let photo_id = photo_id.to_owned();
        self.write(move |txn| {
            let ids = children(&txn.open_table(PHOTO_RATINGS)?, &photo_id)?;
            for id in ids {
                remove_rating_in(txn, &id)?;
            }
            Ok(())
        })
        .await
    }
}

fn save_link_in(txn: &WriteTransaction, link: &LinkRecord) -> Result<(), TxError> {
    txn.open_table(LINKS)?
        .insert(link.id.as_str(), encode(link)?.as_slice())?;
    Ok(())
}

fn remove_link_in(txn: &WriteTransaction, id: &str) -> Result<Option<LinkRecord>, TxError> {
    let removed = txn
        .open_table(LINKS)?
        .remove(id)?
        .map(|b| b.value().to_vec());
    let Some(bytes) = removed else {
        return Ok(None);
    };
    let link: LinkRecord = decode(&bytes)?;
    txn.open_table(LINK_BY_SLUG)?.remove(link.slug.as_str())?;
    txn.open_table(LINK_KEYS)?
        .remove((link.photo_id.as_str(), link.transformation.as_str()))?;
    txn.open_table(PHOTO_LINKS)?
        .remove((link.photo_id.as_str(), id))?;
    txn.open_table(PENDING_LINKS)?.remove(id)?;
    bump(
        &mut txn.open_table(LINK_STATUS_COUNTS)?,
        link.status.as_str(),
        -1,
    )?;
    Ok(Some(link))
}

fn link_in(txn: &WriteTransaction, id: &str) -> Result<Option<LinkRecord>, TxError> {
    let links = txn.open_table(LINKS)?;
    let found = links.get(id)?;
    found.map(|bytes| decode(bytes.value())).transpose()
}

#[async_trait]
impl LinkRepo for EmbeddedStore {
    async fn create_link(&self, link: LinkRecord) -> Result<(LinkRecord, bool), StoreError> {
        self.write(move |txn| {
            let key = (link.photo_id.as_str(), link.transformation.as_str());
            let existing = txn
                .open_table(LINK_KEYS)?
                .get(key)?
                .map(|id| id.value().to_owned());
            if let Some(id) = existing {
                if let Some(found) = link_in(txn, &id)? {
                    return Ok((found, false));
                }
            }
            if photo_in(txn, &link.photo_id)?.is_none() {
                return Err(TxError::Store(StoreError::NotFound));
            }
            txn.open_table(LINK_KEYS)?.insert(key, link.id.as_str())?;
            txn.open_table(LINK_BY_SLUG)?
                .insert(link.slug.as_str(), link.id.as_str())?;
            txn.open_table(PHOTO_LINKS)?
                .insert((link.photo_id.as_str(), link.id.as_str()), ())?;
            if link.status == LinkStatus::Pending {
                txn.open_table(PENDING_LINKS)?
                    .insert(link.id.as_str(), ())?;
            }
            bump(
                &mut txn.open_table(LINK_STATUS_COUNTS)?,
                link.status.as_str(),
                1,
            )?;
            save_link_in(txn, &link)?;
            Ok((link, true))
        })
        .await
    }

    async fn link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError> {
        self.read_json(LINKS, id)
    }

    async fn link_by_slug(&self, slug: &str) -> Result<Option<LinkRecord>, StoreError> {
        let id = {
            let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
            let table = txn
                .open_table(LINK_BY_SLUG)
                .map_err(StoreError::unavailable)?;
            let found = table.get(slug).map_err(StoreError::unavailable)?;
            match found {
                Some(id) => id.value().to_owned(),
                None => return Ok(None),
            }
        };
        self.read_json(LINKS, &id)
    }

    async fn links(
        &self,
        photo_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<LinkRecord>, u64), StoreError> {
        let total = {
            let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
            let table = txn
                .open_table(PHOTO_LINKS)
                .map_err(StoreError::unavailable)?;
            children(&table, photo_id)
                .map_err(StoreError::unavailable)?
                .len() as u64
        };
        let page = self.page_of(PHOTO_LINKS, LINKS, photo_id, limit, offset)?;
        Ok((page, total))
    }

    async fn count_attempt(&self, id: &str) -> Result<u32, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut link = link_in(txn, &id)?.ok_or(TxError::Store(StoreError::NotFound))?;
            link.attempts += 1;
            save_link_in(txn, &link)?;
            Ok(link.attempts)
        })
        .await
    }

    async fn finish_link(
        &self,
        id: &str,
        outcome: LinkOutcome,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let Some(mut link) = link_in(txn, &id)? else {
                return Ok(false);
            };
            if link.status != LinkStatus::Pending {
                return Ok(false);
            }
            match outcome {
                LinkOutcome::Done(output) => {
                    link.status = LinkStatus::Done;
                    link.output = Some(output);
                }
                LinkOutcome::Failed(reason) => {
                    link.status = LinkStatus::Failed;
                    link.error = Some(reason);
                }
            }
            link.completed_at = Some(at);
            txn.open_table(PENDING_LINKS)?.remove(id.as_str())?;
            let mut counts = txn.open_table(LINK_STATUS_COUNTS)?;
            bump(&mut counts, LinkStatus::Pending.as_str(), -1)?;
            bump(&mut counts, link.status.as_str(), 1)?;
            drop(counts);
            save_link_in(txn, &link)?;
            Ok(true)
        })
        .await
    }

    async fn delete_link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| remove_link_in(txn, &id)).await
    }

    async fn delete_photo_links(&self, photo_id: &str) -> Result<Vec<LinkRecord>, StoreError> {
        let photo_id = photo_id.to_owned();
        self.write(move |txn| {
            let ids = children(&txn.open_table(PHOTO_LINKS)?, &photo_id)?;
            let mut removed = Vec::new();
            for id in ids {
                removed.extend(remove_link_in(txn, &id)?);
            }
            Ok(removed)
        })
        .await
    }

    async fn pending_links(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let pending = txn
            .open_table(PENDING_LINKS)
            .map_err(StoreError::unavailable)?;
        let links = txn.open_table(LINKS).map_err(StoreError::unavailable)?;
        let mut out = Vec::new();
        for entry in pending.iter().map_err(StoreError::unavailable)? {
            let (id, _) = entry.map_err(StoreError::unavailable)?;
            let Some(bytes) = links.get(id.value()).map_err(StoreError::unavailable)? else {
                continue;
            };
            let link: LinkRecord = decode(bytes.value())?;
            // Ids are time-ordered: the first one too new ends the scan.
            if link.created_at > before || out.len() >= limit as usize {
                break;
            }
            out.push(link);
        }
        Ok(out)
    }

    async fn link_counts(&self) -> Result<LinkCounts, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let table = txn
            .open_table(LINK_STATUS_COUNTS)
            .map_err(StoreError::unavailable)?;
        let get = |s: LinkStatus| -> Result<u64, StoreError> {
            Ok(table
                .get(s.as_str())
                .map_err(StoreError::unavailable)?
                .map_or(0, |v| v.value()))
        };
        Ok(LinkCounts {
            pending: get(LinkStatus::Pending)?,
            done: get(LinkStatus::Done)?,
            failed: get(LinkStatus::Failed)?,
        })
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
    use crate::store::{new_id, now_millis, PhotoSort};

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
