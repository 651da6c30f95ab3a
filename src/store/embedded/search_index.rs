//! The search index in memory: a compressed bitmap (Roaring) of photo slots per
//! search term, and each sort order as buckets of slots over consecutive key
//! ranges. A query intersects bitmaps and reads one or two buckets per page, so
//! its cost follows the terms and the page, not the number of matches, and its
//! `total` is a bitmap's length. `search.rs` builds it from the postings and keeps
//! it at the read snapshot by replaying the change log every write appends.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use roaring::{MultiOps, RoaringBitmap};
use serde::{Deserialize, Serialize};

use crate::store::{PhotoQuery, PhotoSort};

/// A write to the index, logged by the transaction that makes it.
#[derive(Debug, Serialize, Deserialize)]
pub(super) enum Change {
    Add {
        id: String,
        time: u64,
        rating: u64,
        taken: u64,
        terms: Vec<String>,
    },
    Remove {
        id: String,
        terms: Vec<String>,
    },
    Rate {
        id: String,
        rating: u64,
    },
    /// The postings were rebuilt: the index is built again from them.
    Reset,
}

/// Slots per bucket of a sort order (a bucket splits at twice this).
#[cfg(not(test))]
const BUCKET: u64 = 4096;
#[cfg(test)]
const BUCKET: u64 = 4;
/// At most this many matches have their page selected directly (a partial sort
/// of their keys) rather than found by walking the order's buckets: a bucket
/// costs an intersection whether or not it holds matches, so sparse matches are
/// cheaper picked out than looked for.
#[cfg(not(test))]
const FEW: u64 = 16_384;
#[cfg(test)]
const FEW: u64 = 3;
/// At most this many candidates have a range checked key by key rather than
/// intersected with the order's bitmap of that range.
const SCAN: u64 = FEW;

/// The three sort orders; `Taken` holds only the photos with a `taken_at`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Axis {
    Time = 0,
    Rating = 1,
    Taken = 2,
}

/// An order's key: (upload time, 0), (rating, upload time) or (taken, upload time).
type Key = (u64, u64);
const MAX_KEY: Key = (u64::MAX, u64::MAX);

/// Per slot: the photo id and the keys the orders and bounds read.
#[derive(Default)]
struct Columns {
    ids: Vec<Option<Arc<str>>>,
    slots: HashMap<Arc<str>, u32>,
    time: Vec<u64>,
    rating: Vec<u64>,
    taken: Vec<u64>,
    free: Vec<u32>,
}

impl Columns {
    fn alloc(&mut self, id: &str, time: u64, rating: u64, taken: u64) -> u32 {
        let id: Arc<str> = Arc::from(id);
        let slot = match self.free.pop() {
            Some(slot) => {
                let i = slot as usize;
                (self.ids[i], self.time[i], self.rating[i]) = (Some(id.clone()), time, rating);
                self.taken[i] = taken;
                slot
            }
            None => {
                self.ids.push(Some(id.clone()));
                self.time.push(time);
                self.rating.push(rating);
                self.taken.push(taken);
                u32::try_from(self.ids.len() - 1).expect("fewer than 2^32 photos")
            }
        };
        self.slots.insert(id, slot);
        slot
    }

    fn release(&mut self, slot: u32) {
        if let Some(id) = self.ids[slot as usize].take() {
            self.slots.remove(&id);
            self.free.push(slot);
        }
    }

    fn key(&self, axis: Axis, slot: u32) -> Key {
        let i = slot as usize;
        match axis {
            Axis::Time => (self.time[i], 0),
            Axis::Rating => (self.rating[i], self.time[i]),
            Axis::Taken => (self.taken[i], self.time[i]),
        }
    }

    fn id(&self, slot: u32) -> &str {
        self.ids[slot as usize].as_deref().unwrap_or_default()
    }

    /// Orders two slots by key, then photo id; the reverse when `descending`.
    fn order(&self, axis: Axis, descending: bool, a: u32, b: u32) -> std::cmp::Ordering {
        let o = (self.key(axis, a), self.id(a)).cmp(&(self.key(axis, b), self.id(b)));
        if descending {
            o.reverse()
        } else {
            o
        }
    }

    /// Sorts slots by key, then photo id; the reverse when `descending`.
    fn sort(&self, slots: &mut [u32], axis: Axis, descending: bool) {
        slots.sort_unstable_by(|&a, &b| self.order(axis, descending, a, b));
    }

    /// `[skip, skip + take)` of `slots` in order: the first `skip + take` are
    /// selected, and only they sorted.
    fn select(
        &self,
        mut slots: Vec<u32>,
        axis: Axis,
        descending: bool,
        skip: u64,
        take: usize,
    ) -> Vec<u32> {
        let end = usize::try_from(skip)
            .unwrap_or(usize::MAX)
            .saturating_add(take);
        if end < slots.len() {
            slots.select_nth_unstable_by(end, |&a, &b| self.order(axis, descending, a, b));
            slots.truncate(end);
        }
        self.sort(&mut slots, axis, descending);
        slots.into_iter().skip(skip as usize).take(take).collect()
    }
}

/// One sort order: slots in buckets over consecutive key ranges, each bucket
/// stored under the least key it may hold (the first under the least key of
/// all); equal keys never straddle two buckets.
struct Order {
    axis: Axis,
    buckets: BTreeMap<Key, RoaringBitmap>,
}

/// A range's slots, or those of the order outside it when that is less to union.
enum Span {
    Inside(RoaringBitmap),
    Outside(RoaringBitmap),
}

impl Order {
    /// From slots sorted by key.
    fn build(axis: Axis, sorted: impl IntoIterator<Item = (Key, u32)>) -> Self {
        let mut buckets = BTreeMap::new();
        let (mut lower, mut current, mut last) = ((0, 0), RoaringBitmap::new(), None);
        for (key, slot) in sorted {
            if current.len() >= BUCKET && last != Some(key) {
                buckets.insert(lower, std::mem::take(&mut current));
                lower = key;
            }
            current.insert(slot);
            last = Some(key);
        }
        buckets.insert(lower, current);
        Order { axis, buckets }
    }

    fn bucket(&mut self, key: Key) -> (Key, &mut RoaringBitmap) {
        let (lower, bucket) = self
            .buckets
            .range_mut(..=key)
            .next_back()
            .expect("the first bucket starts at the least key");
        (*lower, bucket)
    }

    fn insert(&mut self, slot: u32, cols: &Columns) {
        let axis = self.axis;
        let (lower, bucket) = self.bucket(cols.key(axis, slot));
        bucket.insert(slot);
        if bucket.len() <= 2 * BUCKET {
            return;
        }
        // Split at the middle key, or above the least one when that fills half.
        let mut keys: Vec<Key> = bucket.iter().map(|s| cols.key(axis, s)).collect();
        keys.sort_unstable();
        let middle = keys[keys.len() / 2];
        let Some(&at) = keys.iter().find(|&&k| k >= middle && k > keys[0]) else {
            return;
        };
        let upper: RoaringBitmap = bucket.iter().filter(|&s| cols.key(axis, s) >= at).collect();
        *bucket -= &upper;
        debug_assert!(lower < at);
        self.buckets.insert(at, upper);
    }

    fn remove(&mut self, slot: u32, cols: &Columns) {
        let (lower, bucket) = self.bucket(cols.key(self.axis, slot));
        bucket.remove(slot);
        if bucket.is_empty() && lower != (0, 0) {
            self.buckets.remove(&lower);
        }
    }

    /// The slots with keys in `lo..=hi`: the union of the buckets wholly inside
    /// and the matching slots of the (at most two) partly inside; or, when fewer
    /// buckets lie wholly outside, the same for the rest of the order.
    fn span(&self, lo: Key, hi: Key, cols: &Columns) -> Span {
        let (mut inside, mut outside, mut partial) = (Vec::new(), Vec::new(), Vec::new());
        let mut buckets = self.buckets.iter().peekable();
        while let Some((&lower, bucket)) = buckets.next() {
            let next = buckets.peek().map(|(k, _)| **k);
            if lower > hi || next.is_some_and(|n| n <= lo) {
                outside.push(bucket);
            } else if lower >= lo && next.map_or(hi == MAX_KEY, |n| n <= hi) {
                inside.push(bucket);
            } else {
                partial.push(bucket);
            }
        }
        let within = |s: &u32| (lo..=hi).contains(&cols.key(self.axis, *s));
        let partial = partial.into_iter().flat_map(|b| b.iter());
        if inside.len() <= outside.len() {
            let mut slots = inside.into_iter().union();
            slots.extend(partial.filter(within));
            Span::Inside(slots)
        } else {
            let mut slots = outside.into_iter().union();
            slots.extend(partial.filter(|s| !within(s)));
            Span::Outside(slots)
        }
    }

    /// `[skip, skip + take)` of `matches` in this order: few matches are
    /// selected directly; otherwise buckets wholly before the page are only
    /// counted, and those outside `within` (the query's bound on this order's
    /// key, which every match meets) are skipped.
    fn page(
        &self,
        matches: &RoaringBitmap,
        descending: bool,
        (mut skip, take): (u64, usize),
        within: Option<(Key, Key)>,
        cols: &Columns,
    ) -> Vec<u32> {
        if matches.len() <= FEW {
            let slots: Vec<u32> = matches.iter().collect();
            return cols.select(slots, self.axis, descending, skip, take);
        }
        let mut page = Vec::with_capacity(take);
        let (lo, hi) = within.unwrap_or(((0, 0), MAX_KEY));
        let lower = self
            .buckets
            .range(..=lo)
            .next_back()
            .map_or((0, 0), |(k, _)| *k);
        let buckets = self.buckets.range(lower..=hi).map(|(_, b)| b);
        let buckets: Box<dyn Iterator<Item = &RoaringBitmap>> = if descending {
            Box::new(buckets.rev())
        } else {
            Box::new(buckets)
        };
        for bucket in buckets {
            if page.len() >= take {
                break;
            }
            let n = bucket.intersection_len(matches);
            if skip >= n {
                skip -= n;
                continue;
            }
            let slots: Vec<u32> = (bucket & matches).iter().collect();
            let rest = take - page.len();
            page.extend(cols.select(slots, self.axis, descending, skip, rest));
            skip = 0;
        }
        page
    }
}

/// A query's bounds as order keys: upload time, rating and `taken_at`.
pub(super) struct Bounds {
    pub time: Option<(u64, u64)>,
    pub rating: Option<(u64, u64)>,
    pub taken: Option<(u64, u64)>,
}

/// The index at one point of the change log.
pub(super) struct Index {
    /// The last change applied.
    pub applied: u64,
    cols: Columns,
    terms: HashMap<String, RoaringBitmap>,
    orders: [Order; 3],
}

impl Index {
    /// Starts a build: `add` every photo, then `post` each term's photos, then
    /// `finish`.
    pub(super) fn builder(applied: u64) -> Self {
        Index {
            applied,
            cols: Columns::default(),
            terms: HashMap::new(),
            orders: [Axis::Time, Axis::Rating, Axis::Taken].map(|a| Order::build(a, [])),
        }
    }

    pub(super) fn add(&mut self, id: &str, time: u64, rating: u64, taken: u64) {
        self.cols.alloc(id, time, rating, taken);
    }

    /// The slot of a photo added.
    pub(super) fn slot(&self, id: &str) -> Option<u32> {
        self.cols.slots.get(id).copied()
    }

    /// A term's photos.
    pub(super) fn post(&mut self, term: &str, slots: RoaringBitmap) {
        if !slots.is_empty() {
            self.terms.insert(term.to_owned(), slots);
        }
    }

    pub(super) fn finish(mut self) -> Self {
        let cols = &self.cols;
        let live = (0..cols.ids.len() as u32).filter(|&s| cols.ids[s as usize].is_some());
        let mut sorted: Vec<(Key, u32)> = Vec::new();
        for axis in [Axis::Time, Axis::Rating, Axis::Taken] {
            sorted.clear();
            let keyed = live.clone().map(|s| (cols.key(axis, s), s));
            sorted.extend(keyed.filter(|(k, _)| axis != Axis::Taken || k.0 != 0));
            sorted.sort_unstable();
            self.orders[axis as usize] = Order::build(axis, sorted.iter().copied());
        }
        self
    }

    pub(super) fn apply(&mut self, change: Change) {
        match change {
            Change::Add {
                id,
                time,
                rating,
                taken,
                terms,
            } => {
                if self.cols.slots.contains_key(id.as_str()) {
                    return;
                }
                let slot = self.cols.alloc(&id, time, rating, taken);
                for term in terms {
                    self.terms.entry(term).or_default().insert(slot);
                }
                for order in &mut self.orders {
                    if order.axis != Axis::Taken || taken != 0 {
                        order.insert(slot, &self.cols);
                    }
                }
            }
            Change::Remove { id, terms } => {
                let Some(&slot) = self.cols.slots.get(id.as_str()) else {
                    return;
                };
                for term in terms {
                    if let Some(bitmap) = self.terms.get_mut(&term) {
                        bitmap.remove(slot);
                        if bitmap.is_empty() {
                            self.terms.remove(&term);
                        }
                    }
                }
                let dated = self.cols.taken[slot as usize] != 0;
                for order in &mut self.orders {
                    if order.axis != Axis::Taken || dated {
                        order.remove(slot, &self.cols);
                    }
                }
                self.cols.release(slot);
            }
            Change::Rate { id, rating } => {
                let Some(&slot) = self.cols.slots.get(id.as_str()) else {
                    return;
                };
                let order = &mut self.orders[Axis::Rating as usize];
                order.remove(slot, &self.cols);
                self.cols.rating[slot as usize] = rating;
                order.insert(slot, &self.cols);
            }
            Change::Reset => {}
        }
    }

    /// The ids of the page and the number of matches: `terms` must all hold
    /// (`all` is every photo's term, `undated` that of photos without `taken_at`).
    pub(super) fn search(
        &self,
        q: &PhotoQuery,
        terms: &[String],
        bounds: &Bounds,
        (all, undated): (&str, &str),
    ) -> (Vec<Arc<str>>, u64) {
        // Every photo is posted under `all`: it is the term only when none is named.
        let mut named = Vec::with_capacity(terms.len().max(1));
        for term in terms
            .iter()
            .map(String::as_str)
            .chain(terms.is_empty().then_some(all))
        {
            match self.terms.get(term) {
                Some(bitmap) => named.push(bitmap),
                None => return (Vec::new(), 0),
            }
        }
        named.sort_by_key(|b| b.len());
        let mut matches = named[0].clone();
        for bitmap in &named[1..] {
            matches &= *bitmap;
        }
        let empty = RoaringBitmap::new();
        let undated = self.terms.get(undated).unwrap_or(&empty);
        let ranges = [
            (Axis::Time, bounds.time),
            (Axis::Rating, bounds.rating),
            (Axis::Taken, bounds.taken),
        ];
        for (axis, range) in ranges {
            let Some((lo, hi)) = range else { continue };
            let (lo, hi) = ((lo, 0), (hi, u64::MAX));
            if matches.len() <= SCAN {
                let cols = &self.cols;
                let kept = matches.iter().filter(|&s| {
                    let key = cols.key(axis, s);
                    (lo..=hi).contains(&key) && (axis != Axis::Taken || key.0 != 0)
                });
                matches = kept.collect();
                continue;
            }
            match self.orders[axis as usize].span(lo, hi, &self.cols) {
                Span::Inside(slots) => matches &= slots,
                Span::Outside(slots) => {
                    matches -= slots;
                    if axis == Axis::Taken {
                        matches -= undated;
                    }
                }
            }
        }
        let total = matches.len();
        let (skip, take, descending) = (q.offset, q.limit as usize, q.sort.descending());
        let cols = &self.cols;
        let page = |axis: Axis, matches: &RoaringBitmap, skip: u64, take: usize| {
            let within = ranges[axis as usize]
                .1
                .map(|(lo, hi)| ((lo, 0), (hi, u64::MAX)));
            self.orders[axis as usize].page(matches, descending, (skip, take), within, cols)
        };
        let page = match q.sort {
            PhotoSort::NewestFirst | PhotoSort::OldestFirst => {
                page(Axis::Time, &matches, skip, take)
            }
            PhotoSort::BestRated | PhotoSort::WorstRated => {
                page(Axis::Rating, &matches, skip, take)
            }
            // The dated photos by `taken_at`, then the undated by upload time.
            PhotoSort::LatestTaken | PhotoSort::EarliestTaken => {
                let dated = &matches - undated;
                let mut found = Vec::new();
                if skip < dated.len() {
                    found = page(Axis::Taken, &dated, skip, take);
                }
                if found.len() < take {
                    let rest = &matches & undated;
                    let skip = skip.saturating_sub(dated.len());
                    found.extend(page(Axis::Time, &rest, skip, take - found.len()));
                }
                found
            }
        };
        let ids = page
            .into_iter()
            .filter_map(|s| self.cols.ids[s as usize].clone());
        (ids.collect(), total)
    }
}
