//! Comments and ratings: `CommentRepo` and `RatingRepo` on the embedded store, which
//! keep the photo's counters and rating order in step in the same transaction.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use super::photos::{photo_in, save_photo_in};
use super::search::reindex_rating;
use super::{
    bump, children, decode, encode, EmbeddedStore, TxError, AUTHOR_COMMENT_COUNT, COMMENTS,
    PHOTO_COMMENTS, PHOTO_RATINGS, RATINGS, RATING_KEYS,
};
use crate::store::{CommentRecord, CommentRepo, PhotoRepo, RatingRecord, RatingRepo, StoreError};

/// A record of `table` whose photo is live: the comments and ratings of a deleted
/// photo wait for its purge, and meanwhile nobody can edit or remove them.
fn live_in<T: serde::de::DeserializeOwned>(
    txn: &WriteTransaction,
    table: redb::TableDefinition<&str, &[u8]>,
    id: &str,
    photo_of: impl Fn(&T) -> &str,
) -> Result<Option<T>, TxError> {
    let record: Option<T> = {
        let table = txn.open_table(table)?;
        let found = table.get(id)?;
        found.map(|b| decode(b.value())).transpose()?
    };
    match record {
        Some(r) if photo_in(txn, photo_of(&r))?.is_some() => Ok(Some(r)),
        _ => Ok(None),
    }
}

/// Up to `limit` records of `table` (keyed by id) after `after` for which `mine`
/// holds, in id order: a scan, as only counts are indexed by author (an account's
/// deletion and export are rare, and walk each table once).
fn records_by<T: serde::de::DeserializeOwned>(
    store: &EmbeddedStore,
    table: redb::TableDefinition<&str, &[u8]>,
    after: &str,
    limit: u32,
    mine: impl Fn(&T) -> bool,
) -> Result<Vec<T>, StoreError> {
    let read = || -> Result<Vec<T>, TxError> {
        let txn = store.db.begin_read()?;
        let table = txn.open_table(table)?;
        let mut out = Vec::new();
        let range = (std::ops::Bound::Excluded(after), std::ops::Bound::Unbounded);
        for entry in table.range::<&str>(range)? {
            let record: T = decode(entry?.1.value())?;
            if mine(&record) {
                out.push(record);
                if out.len() >= limit as usize {
                    break;
                }
            }
        }
        Ok(out)
    };
    Ok(read()?)
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
            let Some(mut comment) = live_in(txn, COMMENTS, &id, |c: &CommentRecord| &c.photo_id)?
            else {
                return Err(TxError::Store(StoreError::NotFound));
            };
            comment.text = text;
            comment.updated_at = updated_at;
            txn.open_table(COMMENTS)?
                .insert(id.as_str(), encode(&comment)?.as_slice())?;
            Ok(comment)
        })
        .await
    }

    async fn delete_comment(&self, id: &str) -> Result<Option<CommentRecord>, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            if live_in(txn, COMMENTS, &id, |c: &CommentRecord| &c.photo_id)?.is_none() {
                return Ok(None);
            }
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

    async fn comments_by(
        &self,
        author_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<CommentRecord>, StoreError> {
        records_by(self, COMMENTS, after, limit, |c: &CommentRecord| {
            c.author_id == author_id
        })
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
            if live_in(txn, RATINGS, &id, |r: &RatingRecord| &r.photo_id)?.is_none() {
                return Ok(None);
            }
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

    async fn ratings_by(
        &self,
        user_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<RatingRecord>, StoreError> {
        records_by(self, RATINGS, after, limit, |r: &RatingRecord| {
            r.user_id == user_id
        })
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

    async fn stars_by(
        &self,
        user_id: &str,
        photo_ids: &[String],
    ) -> Result<HashMap<String, u8>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let keys = txn
            .open_table(RATING_KEYS)
            .map_err(StoreError::unavailable)?;
        let ratings = txn.open_table(RATINGS).map_err(StoreError::unavailable)?;
        let mut stars = HashMap::new();
        for photo_id in photo_ids {
            let key = (photo_id.as_str(), user_id);
            let Some(id) = keys.get(key).map_err(StoreError::unavailable)? else {
                continue;
            };
            if let Some(bytes) = ratings.get(id.value()).map_err(StoreError::unavailable)? {
                let rating: RatingRecord = decode(bytes.value())?;
                stars.insert(photo_id.clone(), rating.stars);
            }
        }
        Ok(stars)
    }
}
