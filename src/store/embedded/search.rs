//! The search index: postings per keyword, tag and owner, term counts and the rating
//! order, kept up to date inside each photo write; and the query planner over them.

use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use super::{
    bump, decode, EmbeddedStore, TxError, BY_RATING, OLD_POSTINGS, OLD_RATING_OF, PHOTOS, POSTINGS,
    TAGS, TERM_COUNTS,
};
use crate::store::{PhotoQuery, PhotoRecord};

/// Order-preserving key of a time: signed milliseconds with the sign bit flipped.
pub(super) fn time_key(t: DateTime<Utc>) -> u64 {
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
        let mut postings = txn.open_table(POSTINGS)?;
        for term in search_terms(photo) {
            postings.insert((term.as_str(), time, id), new)?;
        }
    }
    Ok(())
}

/// Recomputes tag counts and the search index from the photo records.
pub(super) fn rebuild_search_index(txn: &WriteTransaction) -> Result<(), TxError> {
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

/// Above every photo id (ids are hex), to close a range over a key prefix.
pub(super) const ID_MAX: &str = "\u{10FFFF}";

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
    pub(super) fn search_now(&self, q: &PhotoQuery) -> Result<(Vec<PhotoRecord>, u64), TxError> {
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
