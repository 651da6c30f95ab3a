//! The search index: postings per keyword, tag and owner, term counts and the rating
//! order, kept up to date inside each photo write; and the query planner over them.

use chrono::{DateTime, Utc};
use redb::{ReadTransaction, ReadableDatabase, ReadableTable, WriteTransaction};

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::ops::RangeInclusive;

use super::{
    bump, decode, EmbeddedStore, TxError, BY_RATING, BY_TAKEN, OLD_POSTINGS, OLD_POSTINGS_V2,
    OLD_RATING_OF, PHOTOS, POSTINGS, TAGS, TERM_COUNTS,
};
use crate::store::{PhotoQuery, PhotoRecord, PhotoSort};

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
    for term in search_terms(photo) {
        let key = (term.as_str(), time, id);
        let changed = if delta > 0 {
            postings.insert(key, (rating, taken))?.is_none()
        } else {
            postings.remove(key)?.is_some()
        };
        if changed {
            bump(&mut counts, &term, delta)?;
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
        let taken = taken_key(photo);
        if taken != 0 {
            txn.open_table(BY_TAKEN)?.insert((taken, time, id), new)?;
        }
        let mut postings = txn.open_table(POSTINGS)?;
        for term in search_terms(photo) {
            postings.insert((term.as_str(), time, id), (new, taken))?;
        }
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

/// Visits the keys of `[skip, skip + take)` of a range, forwards or backwards.
fn slice<K: redb::Key + 'static, V: redb::Value + 'static>(
    range: redb::Range<'_, K, V>,
    descending: bool,
    skip: usize,
    take: usize,
    mut visit: impl for<'k> FnMut(K::SelfType<'k>),
) -> Result<(), TxError> {
    let mut step = |entry: Result<
        (redb::AccessGuard<'_, K>, redb::AccessGuard<'_, V>),
        redb::StorageError,
    >| {
        visit(entry?.0.value());
        Ok::<(), TxError>(())
    };
    if descending {
        range.rev().skip(skip).take(take).try_for_each(&mut step)
    } else {
        range.skip(skip).take(take).try_for_each(&mut step)
    }
}

/// The first `offset + limit` matches in a sort order, picked from matches that
/// stream past in another order: a heap that keeps the best `k` and counts the
/// rest, so a common term costs a walk, not a sort of everything it matches.
struct TopK {
    k: usize,
    sort: PhotoSort,
    seen: u64,
    heap: BinaryHeap<Ranked>,
}

/// A match's place: `key` then `id` ascending, or both descending.
struct Ranked {
    key: (u64, u64, u64),
    id: String,
    descending: bool,
}

impl Ranked {
    fn order(&self, key: (u64, u64, u64), id: &str) -> Ordering {
        let o = (self.key, self.id.as_str()).cmp(&(key, id));
        if self.descending {
            o.reverse()
        } else {
            o
        }
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> Ordering {
        self.order(other.key, &other.id)
    }
}

impl TopK {
    fn new(q: &PhotoQuery) -> Self {
        let k = usize::try_from(q.offset)
            .unwrap_or(usize::MAX)
            .saturating_add(q.limit as usize);
        TopK {
            k,
            sort: q.sort,
            seen: 0,
            heap: BinaryHeap::new(),
        }
    }

    /// Offers a match by its rating, upload time and `taken_at` keys.
    fn offer(&mut self, rating: u64, time: u64, taken: u64, id: &str) {
        self.seen += 1;
        let key = match self.sort {
            PhotoSort::BestRated | PhotoSort::WorstRated => (rating, time, 0),
            PhotoSort::NewestFirst | PhotoSort::OldestFirst => (time, 0, 0),
            // Photos without `taken_at` (key 0) go last in both directions.
            PhotoSort::LatestTaken => (u64::from(taken != 0), taken, time),
            PhotoSort::EarliestTaken => (u64::from(taken == 0), taken, time),
        };
        if self.heap.len() == self.k {
            // Full: only a match that sorts before the last one kept gets in.
            match self.heap.peek() {
                Some(last) if last.order(key, id) == Ordering::Greater => {
                    self.heap.pop();
                }
                _ => return,
            }
        }
        let descending = self.sort.descending();
        let id = id.to_owned();
        self.heap.push(Ranked {
            key,
            id,
            descending,
        });
    }

    /// The page: `[offset, offset + limit)` of the matches in order, and their count.
    fn into_pager(self, q: &PhotoQuery) -> Pager {
        let mut pager = Pager::new(q);
        let skip = usize::try_from(q.offset).unwrap_or(usize::MAX);
        let sorted = self.heap.into_sorted_vec();
        pager.page = sorted.into_iter().skip(skip).map(|r| r.id).collect();
        pager.seen = self.seen;
        pager
    }
}

/// A query's range checks, as index keys.
struct Bounds {
    /// On the upload time; the full range when neither `from` nor `to` is given.
    time: RangeInclusive<u64>,
    dated_upload: bool,
    /// Set when either rating bound is given: unrated photos (key 0) fail it.
    rating: Option<RangeInclusive<u64>>,
    /// Set when either `taken_at` bound is given: undated photos (key 0) fail it.
    taken: Option<RangeInclusive<u64>>,
}

impl Bounds {
    fn of(q: &PhotoQuery) -> Self {
        let rated = q.min_rating.is_some() || q.max_rating.is_some();
        let dated = q.taken_from.is_some() || q.taken_to.is_some();
        Bounds {
            time: q.from.map_or(0, time_key)..=q.to.map_or(u64::MAX, time_key),
            dated_upload: q.from.is_some() || q.to.is_some(),
            rating: rated.then(|| {
                q.min_rating.map_or(1, |r| rating_key(Some(r)))
                    ..=q.max_rating.map_or(u64::MAX, |r| rating_key(Some(r)))
            }),
            taken: dated
                .then(|| q.taken_from.map_or(1, time_key)..=q.taken_to.map_or(u64::MAX, time_key)),
        }
    }

    /// No bound at all: every photo of a term matches.
    fn is_open(&self) -> bool {
        !self.dated_upload && self.rating.is_none() && self.taken.is_none()
    }

    /// The rating and `taken_at` bounds hold (the time is the walk's range).
    fn keeps(&self, rating: u64, taken: u64) -> bool {
        self.rating.as_ref().is_none_or(|r| r.contains(&rating))
            && self.taken.as_ref().is_none_or(|r| r.contains(&taken))
    }
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
    /// Plan: with a term, walk the postings of the rarest one inside the upload time
    /// bounds (already in upload order) and check each candidate against the other
    /// terms with point lookups, and against the rating and `taken_at` bounds with
    /// the keys its posting carries; another order then sorts the matches, which
    /// are few because the rarest term bounds them. Without a term, a `taken_at`
    /// bound or sort walks the `taken_at` index, a rating order the rating index,
    /// and the rest every photo's postings.
    pub(super) fn search_now(&self, q: &PhotoQuery) -> Result<(Vec<PhotoRecord>, u64), TxError> {
        let txn = self.db.begin_read()?;
        let postings = txn.open_table(POSTINGS)?;
        let counts = txn.open_table(TERM_COUNTS)?;
        let count =
            |term: &str| -> Result<u64, TxError> { Ok(counts.get(term)?.map_or(0, |c| c.value())) };
        let mut terms: Vec<(u64, String)> = Vec::new();
        let named = q.keywords.iter().map(|k| format!("k:{k}"));
        let named = named.chain(q.tags.iter().map(|t| format!("t:{t}")));
        let named = named.chain(q.camera.iter().map(|w| format!("c:{w}")));
        for term in named.chain(q.owner_id.iter().map(|o| format!("o:{o}"))) {
            let n = count(&term)?;
            if n == 0 {
                return Ok((Vec::new(), 0));
            }
            terms.push((n, term));
        }
        terms.sort();
        terms.dedup_by(|a, b| a.1 == b.1);
        let bounds = Bounds::of(q);
        let mut pager = Pager::new(q);

        if terms.is_empty() && (bounds.taken.is_some() || q.sort.by_taken()) {
            let (all, undated) = (count(ALL)?, count(UNDATED)?);
            let counts = (all.saturating_sub(undated), undated);
            return self.search_by_taken(&txn, q, &bounds, counts);
        }
        if terms.is_empty() && q.sort.by_rating() {
            let by_rating = txn.open_table(BY_RATING)?;
            let (lo, hi) = bounds
                .rating
                .clone()
                .map_or((0, u64::MAX), |r| r.into_inner());
            let range = by_rating.range((lo, 0, "")..=(hi, u64::MAX, ID_MAX))?;
            walk(range, q.sort.descending(), |(_, time, id), ()| {
                if bounds.time.contains(&time) {
                    pager.push(id);
                }
                Ok(())
            })?;
            return self.page_in(&txn, pager);
        }

        let driver = terms.first().map_or(ALL, |t| t.1.as_str());
        let others: Vec<&str> = terms.iter().skip(1).map(|t| t.1.as_str()).collect();
        let (lo, hi) = (*bounds.time.start(), *bounds.time.end());
        let range = postings.range((driver, lo, "")..=(driver, hi, ID_MAX))?;
        let upload_order = !q.sort.by_rating() && !q.sort.by_taken();
        if others.is_empty() && upload_order && bounds.is_open() {
            // One term, nothing to check: its count is the total, and the page is a
            // slice of its postings.
            pager.seen = terms.first().map_or(count(ALL)?, |t| t.0);
            let skip = usize::try_from(q.offset).unwrap_or(usize::MAX);
            let page = &mut pager.page;
            slice(
                range,
                q.sort.descending(),
                skip,
                q.limit as usize,
                |(_, _, id)| page.push(id.to_owned()),
            )?;
            return self.page_in(&txn, pager);
        }
        let mut top = TopK::new(q);
        walk(
            range,
            q.sort.descending(),
            |(_, time, id), (rating, taken)| {
                // The rating and date ride along in the posting: cheap checks first.
                if !bounds.keeps(rating, taken) {
                    return Ok(());
                }
                for term in &others {
                    if postings.get((*term, time, id))?.is_none() {
                        return Ok(());
                    }
                }
                if upload_order {
                    pager.push(id);
                } else {
                    top.offer(rating, time, taken, id);
                }
                Ok(())
            },
        )?;
        if !upload_order {
            pager = top.into_pager(q);
        }
        self.page_in(&txn, pager)
    }

    /// No term to start from, and a `taken_at` bound or sort: walk the dated photos
    /// in `taken_at` order. Sorted by it without a `taken_at` bound, the undated
    /// photos follow in upload order; with no bound at all the page is a slice of
    /// those two walks, and the total is known.
    fn search_by_taken(
        &self,
        txn: &ReadTransaction,
        q: &PhotoQuery,
        bounds: &Bounds,
        (dated_count, undated_count): (u64, u64),
    ) -> Result<(Vec<PhotoRecord>, u64), TxError> {
        let by_taken = txn.open_table(BY_TAKEN)?;
        let postings = txn.open_table(POSTINGS)?;
        let (lo, hi) = bounds
            .taken
            .clone()
            .map_or((1, u64::MAX), |r| r.into_inner());
        let dated = by_taken.range((lo, 0, "")..=(hi, u64::MAX, ID_MAX))?;
        let (from, to) = (*bounds.time.start(), *bounds.time.end());
        let undated = postings.range((UNDATED, from, "")..=(UNDATED, to, ID_MAX))?;
        let (in_order, descending) = (q.sort.by_taken(), q.sort.descending());
        let mut pager = Pager::new(q);
        if in_order && bounds.is_open() {
            let (offset, limit) = (q.offset, q.limit as usize);
            let page = &mut pager.page;
            if offset < dated_count {
                slice(dated, descending, offset as usize, limit, |(_, _, id)| {
                    page.push(id.to_owned())
                })?;
            }
            if page.len() < limit {
                let skip = usize::try_from(offset.saturating_sub(dated_count)).unwrap_or(0);
                slice(
                    undated,
                    descending,
                    skip,
                    limit - page.len(),
                    |(_, _, id)| page.push(id.to_owned()),
                )?;
            }
            pager.seen = dated_count + undated_count;
            return self.page_in(txn, pager);
        }
        let mut top = TopK::new(q);
        walk(dated, descending, |(taken, time, id), rating| {
            if bounds.time.contains(&time) && bounds.keeps(rating, taken) {
                if in_order {
                    pager.push(id);
                } else {
                    top.offer(rating, time, taken, id);
                }
            }
            Ok(())
        })?;
        if in_order && bounds.taken.is_none() {
            walk(undated, descending, |(_, _, id), (rating, taken)| {
                if bounds.keeps(rating, taken) {
                    pager.push(id);
                }
                Ok(())
            })?;
        }
        if !in_order {
            pager = top.into_pager(q);
        }
        self.page_in(txn, pager)
    }

    fn page_in(
        &self,
        txn: &ReadTransaction,
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
