//! The search index on disk: postings per keyword, tag, camera word and owner, term
//! counts and the rating and `taken_at` orders, kept up to date inside each photo
//! write, which also appends its change to the search log; and the index in memory
//! (`search_index.rs`) that queries read, built from the postings and brought to
//! each query's read snapshot by replaying that log.

use std::sync::{PoisonError, RwLock};
use std::time::Instant;

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};
use roaring::RoaringBitmap;

use super::search_index::{Bounds, Change, Index};
use super::{
    bump, decode, encode, EmbeddedStore, TxError, BY_RATING, BY_TAKEN, META, OLD_POSTINGS,
    OLD_POSTINGS_V2, OLD_RATING_OF, PHOTOS, POSTINGS, SEARCH_LOG, TAGS, TERM_COUNTS,
};
use crate::store::{PhotoQuery, PhotoRecord};

/// The number of the last change in the search log, in `META`.
const LOG_HEAD: &str = "search_log";
/// Changes the log keeps; an index further behind is built again.
const LOG_KEEP: u64 = 50_000;

/// Appends a change to the search log, dropping the oldest beyond `LOG_KEEP`.
fn log_change(txn: &WriteTransaction, change: &Change) -> Result<(), TxError> {
    let mut meta = txn.open_table(META)?;
    let seq = meta.get(LOG_HEAD)?.map_or(0, |v| v.value()) + 1;
    meta.insert(LOG_HEAD, seq)?;
    let mut log = txn.open_table(SEARCH_LOG)?;
    log.insert(seq, encode(change)?.as_slice())?;
    if seq > LOG_KEEP {
        log.remove(seq - LOG_KEEP)?;
    }
    Ok(())
}

/// The in-memory index, shared by the clones of a store.
pub(super) type SharedIndex = RwLock<Option<Index>>;

/// Order-preserving key of a time: signed milliseconds with the sign bit flipped.
pub(super) fn time_key(t: DateTime<Utc>) -> u64 {
    (t.timestamp_millis() as u64) ^ (1 << 63)
}

/// Order-preserving key of an average rating (positive floats order like their
/// bits); 0 for an unrated photo, below every rating.
fn rating_key(average: Option<f64>) -> u64 {
    average.map_or(0, f64::to_bits)
}

/// Order-preserving key of when a photo was taken; 0 without one (no real time
/// has key 0: that would be `i64::MIN` milliseconds).
fn taken_key(photo: &PhotoRecord) -> u64 {
    photo.meta.taken_utc().map_or(0, time_key)
}

/// The search terms a photo is posted under.
fn search_terms(photo: &PhotoRecord) -> Vec<String> {
    let mut terms: Vec<String> = photo.keywords().iter().map(|k| format!("k:{k}")).collect();
    terms.extend(photo.tags.iter().map(|t| format!("t:{t}")));
    terms.extend(photo.meta.camera_words().iter().map(|w| format!("c:{w}")));
    terms.push(format!("o:{}", photo.owner_id));
    if photo.meta.taken_at.is_none() {
        terms.push(UNDATED.to_owned());
    }
    terms.push(ALL.to_owned());
    terms
}

/// The term every photo is posted under.
const ALL: &str = "*";
/// The term of the photos without `taken_at`.
const UNDATED: &str = "-taken";

/// Adds (`delta` 1) or removes (-1) a photo's tag counts and every search entry.
pub(super) fn index_photo(
    txn: &WriteTransaction,
    photo: &PhotoRecord,
    delta: i64,
) -> Result<(), TxError> {
    let mut tag_counts = txn.open_table(TAGS)?;
    for tag in &photo.tags {
        bump(&mut tag_counts, tag, delta)?;
    }
    let mut postings = txn.open_table(POSTINGS)?;
    let mut counts = txn.open_table(TERM_COUNTS)?;
    let (time, id) = (time_key(photo.created_at), photo.id.as_str());
    let (rating, taken) = (rating_key(photo.rating_average()), taken_key(photo));
    let terms = search_terms(photo);
    for term in &terms {
        let key = (term.as_str(), time, id);
        let changed = if delta > 0 {
            postings.insert(key, (rating, taken))?.is_none()
        } else {
            postings.remove(key)?.is_some()
        };
        if changed {
            bump(&mut counts, term, delta)?;
        }
    }
    let mut by_rating = txn.open_table(BY_RATING)?;
    let mut by_taken = txn.open_table(BY_TAKEN)?;
    if delta > 0 {
        by_rating.insert((rating, time, id), ())?;
        if taken != 0 {
            by_taken.insert((taken, time, id), rating)?;
        }
    } else {
        by_rating.remove((rating, time, id))?;
        by_taken.remove((taken, time, id))?;
    }
    let id = id.to_owned();
    let change = if delta > 0 {
        Change::Add {
            id,
            time,
            rating,
            taken,
            terms,
        }
    } else {
        Change::Remove { id, terms }
    };
    log_change(txn, &change)
}

/// Moves a photo within the rating order, and rewrites the rating its postings
/// carry, after its sums changed.
pub(super) fn reindex_rating(
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
        let taken = taken_key(photo);
        if taken != 0 {
            txn.open_table(BY_TAKEN)?.insert((taken, time, id), new)?;
        }
        let mut postings = txn.open_table(POSTINGS)?;
        for term in search_terms(photo) {
            postings.insert((term.as_str(), time, id), (new, taken))?;
        }
        let id = id.to_owned();
        log_change(txn, &Change::Rate { id, rating: new })?;
    }
    Ok(())
}

/// Recomputes tag counts and the search index from the photo records.
pub(super) fn rebuild_search_index(txn: &WriteTransaction) -> Result<(), TxError> {
    txn.delete_table(OLD_POSTINGS)?;
    txn.delete_table(OLD_POSTINGS_V2)?;
    txn.delete_table(OLD_RATING_OF)?;
    for table in [TAGS, TERM_COUNTS] {
        txn.delete_table(table)?;
        txn.open_table(table)?;
    }
    txn.delete_table(POSTINGS)?;
    txn.open_table(POSTINGS)?;
    txn.delete_table(BY_RATING)?;
    txn.open_table(BY_RATING)?;
    txn.delete_table(BY_TAKEN)?;
    txn.open_table(BY_TAKEN)?;
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
    txn.delete_table(SEARCH_LOG)?;
    txn.open_table(SEARCH_LOG)?;
    log_change(txn, &Change::Reset)?;
    if !photos.is_empty() {
        tracing::info!(photos = photos.len(), "search index rebuilt");
    }
    Ok(())
}

/// Above every photo id (ids are hex), to close a range over a key prefix.
pub(super) const ID_MAX: &str = "\u{10FFFF}";

/// The query's terms, as posted.
fn query_terms(q: &PhotoQuery) -> Vec<String> {
    let named = q.keywords.iter().map(|k| format!("k:{k}"));
    let named = named.chain(q.tags.iter().map(|t| format!("t:{t}")));
    let named = named.chain(q.camera.iter().map(|w| format!("c:{w}")));
    let mut terms: Vec<String> = named
        .chain(q.owner_id.iter().map(|o| format!("o:{o}")))
        .collect();
    terms.sort();
    terms.dedup();
    terms
}

/// The query's bounds as index keys; either rating bound excludes unrated photos
/// (key 0), either `taken_at` bound undated ones (key 0).
fn bounds(q: &PhotoQuery) -> Bounds {
    let rated = q.min_rating.is_some() || q.max_rating.is_some();
    let dated = q.taken_from.is_some() || q.taken_to.is_some();
    let uploaded = q.from.is_some() || q.to.is_some();
    Bounds {
        time: uploaded.then(|| (q.from.map_or(0, time_key), q.to.map_or(u64::MAX, time_key))),
        rating: rated.then(|| {
            let min = q.min_rating.map_or(1, |r| rating_key(Some(r)));
            (min, q.max_rating.map_or(u64::MAX, |r| rating_key(Some(r))))
        }),
        taken: dated.then(|| {
            (
                q.taken_from.map_or(1, time_key),
                q.taken_to.map_or(u64::MAX, time_key),
            )
        }),
    }
}

/// The last change the snapshot's log holds.
fn log_head(txn: &ReadTransaction) -> Result<u64, TxError> {
    Ok(txn
        .open_table(META)?
        .get(LOG_HEAD)?
        .map_or(0, |v| v.value()))
}

/// Builds the index from the snapshot's postings: every photo from the `ALL`
/// postings (upload order), then each term's photos.
fn build(txn: &ReadTransaction, head: u64) -> Result<Index, TxError> {
    let started = Instant::now();
    let postings = txn.open_table(POSTINGS)?;
    let mut index = Index::builder(head);
    for entry in postings.range((ALL, 0, "")..=(ALL, u64::MAX, ID_MAX))? {
        let (key, value) = entry?;
        let ((_, time, id), (rating, taken)) = (key.value(), value.value());
        index.add(id, time, rating, taken);
    }
    // Slots follow upload order, as each term's postings do: pushes append.
    let (mut term, mut slots) = (String::new(), RoaringBitmap::new());
    for entry in postings.iter()? {
        let (key, _) = entry?;
        let (t, _, id) = key.value();
        if t != term {
            index.post(&term, std::mem::take(&mut slots));
            term = t.to_owned();
        }
        if let Some(slot) = index.slot(id) {
            if slots.try_push(slot).is_err() {
                slots.insert(slot);
            }
        }
    }
    index.post(&term, slots);
    let index = index.finish();
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "search index loaded"
    );
    Ok(index)
}

/// Applies the snapshot's changes after the index's; false when they are not
/// all there (trimmed, or a rebuild), and the index must be built again.
fn catch_up(index: &mut Index, txn: &ReadTransaction, head: u64) -> Result<bool, TxError> {
    let log = txn.open_table(SEARCH_LOG)?;
    for entry in log.range(index.applied + 1..=head)? {
        let (seq, change) = entry?;
        let change: Change = decode(change.value())?;
        if seq.value() != index.applied + 1 || matches!(change, Change::Reset) {
            return Ok(false);
        }
        index.apply(change);
        index.applied += 1;
    }
    Ok(index.applied == head)
}

impl EmbeddedStore {
    /// Loads the search index now rather than on the first search.
    pub fn prepare_search(&self) -> Result<(), crate::store::StoreError> {
        let q = PhotoQuery {
            limit: 1,
            ..PhotoQuery::default()
        };
        self.search_now(&q).map(drop).map_err(Into::into)
    }

    /// Answers from the in-memory index at this read snapshot (catching it up
    /// first), then reads the page's records in the same snapshot.
    pub(super) fn search_now(&self, q: &PhotoQuery) -> Result<(Vec<PhotoRecord>, u64), TxError> {
        let (terms, bounds) = (query_terms(q), bounds(q));
        loop {
            let txn = self.db.begin_read()?;
            let head = log_head(&txn)?;
            let current = self.search.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(index) = current.as_ref().filter(|i| i.applied == head) {
                let (ids, total) = index.search(q, &terms, &bounds, (ALL, UNDATED));
                drop(current);
                return Ok((page_in(&txn, &ids)?, total));
            }
            drop(current);
            let mut slot = self.search.write().unwrap_or_else(|poisoned| {
                let mut slot = poisoned.into_inner();
                *slot = None;
                slot
            });
            self.search.clear_poison();
            match slot.as_mut() {
                // Another search brought it past this snapshot: take a newer one.
                Some(index) if index.applied > head => continue,
                Some(index) => {
                    let caught_up = catch_up(index, &txn, head);
                    if !matches!(caught_up, Ok(true)) {
                        *slot = None;
                        caught_up?;
                    }
                }
                None => {}
            }
            if slot.is_none() {
                *slot = Some(build(&txn, head)?);
            }
            let index = slot.as_ref().expect("just built");
            let (ids, total) = index.search(q, &terms, &bounds, (ALL, UNDATED));
            drop(slot);
            return Ok((page_in(&txn, &ids)?, total));
        }
    }
}

/// The page's records, in order.
fn page_in(
    txn: &ReadTransaction,
    ids: &[std::sync::Arc<str>],
) -> Result<Vec<PhotoRecord>, TxError> {
    let photos = txn.open_table(PHOTOS)?;
    let mut page = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(bytes) = photos.get(&**id)? {
            page.push(decode(bytes.value())?);
        }
    }
    Ok(page)
}
