//! Comments and ratings: `CommentRepo` and `RatingRepo` on MongoDB, and the atomic
//! counter updates they make on the photo.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, oid::ObjectId, Document};
use mongodb::error::Error as MongoError;
use mongodb::options::ReturnDocument;
use mongodb::ClientSession;
use serde::{Deserialize, Serialize};

use super::{
    find_one_as, find_page, from_bson_dt, is_duplicate, parse_oid, to_bson_dt, MongoStore,
};
use crate::store::{CommentRecord, CommentRepo, PhotoRepo, RatingRecord, RatingRepo, StoreError};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CommentDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    photo_id: String,
    author_id: String,
    author_username: String,
    text: String,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
}

impl From<CommentDoc> for CommentRecord {
    fn from(d: CommentDoc) -> Self {
        CommentRecord {
            id: d.id.to_hex(),
            photo_id: d.photo_id,
            author_id: d.author_id,
            author_username: d.author_username,
            text: d.text,
            created_at: from_bson_dt(d.created_at),
            updated_at: from_bson_dt(d.updated_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct RatingDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    photo_id: String,
    user_id: String,
    username: String,
    stars: i32,
    created_at: bson::DateTime,
}

impl From<RatingDoc> for RatingRecord {
    fn from(d: RatingDoc) -> Self {
        RatingRecord {
            id: d.id.to_hex(),
            photo_id: d.photo_id,
            user_id: d.user_id,
            username: d.username,
            stars: u8::try_from(d.stars).unwrap_or(0),
            created_at: from_bson_dt(d.created_at),
        }
    }
}

impl MongoStore {
    /// `$inc` on one photo, inside the caller's transaction; true when the photo
    /// exists. Being a write to the photo, it also orders the transaction against
    /// the photo's deletion (see `delete_photo`).
    pub(super) async fn bump_photo(
        &self,
        s: &mut ClientSession,
        photo_id: &str,
        inc: Document,
    ) -> Result<bool, MongoError> {
        let Some(oid) = parse_oid(photo_id) else {
            return Ok(false);
        };
        let result = self
            .photos
            .update_one(doc! { "_id": oid }, doc! { "$inc": inc })
            .session(s)
            .await?;
        Ok(result.matched_count == 1)
    }

    /// Changes a photo's rating sums and recomputes its average in one update (an
    /// update pipeline sees the new sums), inside the caller's transaction; true
    /// when the photo exists.
    async fn rate_photo(
        &self,
        s: &mut ClientSession,
        photo_id: &str,
        stars: i64,
        count: i64,
    ) -> Result<bool, MongoError> {
        let Some(oid) = parse_oid(photo_id) else {
            return Ok(false);
        };
        let pipeline = vec![
            doc! { "$set": {
                "rating_sum": { "$add": ["$rating_sum", stars] },
                "rating_count": { "$add": ["$rating_count", count] },
            } },
            doc! { "$set": { "rating_average": { "$cond": [
                { "$gt": ["$rating_count", 0] },
                { "$divide": ["$rating_sum", "$rating_count"] },
                null,
            ] } } },
        ];
        let result = self
            .photos
            .update_one(doc! { "_id": oid }, pipeline)
            .session(s)
            .await?;
        Ok(result.matched_count == 1)
    }
}

// A comment or rating and its photo's counters change in one transaction that
// first writes the photo: no count can drift from what it counts, even across a
// crash, and a photo deleted concurrently either sees the record (its purge removes
// it) or is already gone (the write answers NotFound).
#[async_trait]
impl CommentRepo for MongoStore {
    async fn add_comment(&self, c: CommentRecord) -> Result<(), StoreError> {
        let doc = CommentDoc {
            id: parse_oid(&c.id).unwrap_or_default(),
            photo_id: c.photo_id.clone(),
            author_id: c.author_id,
            author_username: c.author_username,
            text: c.text,
            created_at: to_bson_dt(c.created_at),
            updated_at: to_bson_dt(c.updated_at),
        };
        let added = self
            .transaction(move |s, store| {
                let doc = doc.clone();
                Box::pin(async move {
                    let photo = doc.photo_id.clone();
                    let count = doc! { "comment_count": 1_i64 };
                    if !store.bump_photo(s, &photo, count).await? {
                        return Ok(false);
                    }
                    store.comments.insert_one(doc).session(&mut *s).await?;
                    Ok(true)
                })
            })
            .await
            .map_err(StoreError::unavailable)?;
        if added {
            Ok(())
        } else {
            Err(StoreError::NotFound)
        }
    }

    async fn comment(&self, id: &str) -> Result<Option<CommentRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        find_one_as(&self.comments, doc! { "_id": oid }).await
    }

    async fn comments(
        &self,
        photo_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<CommentRecord>, u64), StoreError> {
        let (filter, oldest_first) = (doc! { "photo_id": photo_id }, doc! { "_id": 1 });
        find_page(&self.comments, filter, oldest_first, limit, offset).await
    }

    async fn edit_comment(
        &self,
        id: &str,
        text: String,
        updated_at: DateTime<Utc>,
    ) -> Result<CommentRecord, StoreError> {
        let oid = parse_oid(id).ok_or(StoreError::NotFound)?;
        // A comment of a deleted photo waits for the purge and cannot be edited. An
        // edit that slips in between this check and a deletion is purged with it.
        let comment = self.comments.find_one(doc! { "_id": oid }).await;
        let photo_id = comment
            .map_err(StoreError::unavailable)?
            .map(|c| c.photo_id);
        let Some(photo_id) = photo_id else {
            return Err(StoreError::NotFound);
        };
        if self.photo(&photo_id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        self.comments
            .find_one_and_update(
                doc! { "_id": oid },
                doc! { "$set": { "text": text, "updated_at": to_bson_dt(updated_at) } },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(StoreError::unavailable)?
            .map(CommentRecord::from)
            .ok_or(StoreError::NotFound)
    }

    async fn delete_comment(&self, id: &str) -> Result<Option<CommentRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        let removed = self
            .transaction(move |s, store| {
                Box::pin(async move {
                    // The count first: a photo that is gone (deleted, its purge
                    // pending) matches nothing, and then nothing is written.
                    let filter = doc! { "_id": oid };
                    let found = store
                        .comments
                        .find_one(filter.clone())
                        .session(&mut *s)
                        .await?;
                    let Some(c) = found else { return Ok(None) };
                    let count = doc! { "comment_count": -1_i64 };
                    if !store.bump_photo(s, &c.photo_id, count).await? {
                        return Ok(None);
                    }
                    store.comments.delete_one(filter).session(&mut *s).await?;
                    Ok(Some(c))
                })
            })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(removed.map(CommentRecord::from))
    }

    async fn comment_count_by(&self, author_id: &str) -> Result<u64, StoreError> {
        self.comments
            .count_documents(doc! { "author_id": author_id })
            .await
            .map_err(StoreError::unavailable)
    }

    async fn delete_photo_comments(&self, photo_id: &str) -> Result<(), StoreError> {
        self.comments
            .delete_many(doc! { "photo_id": photo_id })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn comments_by(
        &self,
        author_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<CommentRecord>, StoreError> {
        let filter = doc! { "author_id": author_id, "_id": { "$gt": after_oid(after) } };
        let docs: Vec<CommentDoc> = self
            .comments
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(docs.into_iter().map(CommentRecord::from).collect())
    }
}

/// The id after which a walk in id order starts ("" = from the first).
fn after_oid(after: &str) -> ObjectId {
    parse_oid(after).unwrap_or_else(|| ObjectId::from_bytes([0; 12]))
}

#[async_trait]
impl RatingRepo for MongoStore {
    async fn add_rating(&self, r: RatingRecord) -> Result<(), StoreError> {
        let doc = RatingDoc {
            id: parse_oid(&r.id).unwrap_or_default(),
            photo_id: r.photo_id.clone(),
            user_id: r.user_id,
            username: r.username,
            stars: i32::from(r.stars),
            created_at: to_bson_dt(r.created_at),
        };
        let added = self
            .transaction(move |s, store| {
                let doc = doc.clone();
                Box::pin(async move {
                    let (photo, stars) = (doc.photo_id.clone(), i64::from(doc.stars));
                    if !store.rate_photo(s, &photo, stars, 1).await? {
                        return Ok(false);
                    }
                    // A second rating by the user fails on the unique index, which
                    // aborts the transaction and with it the change of the sums.
                    store.ratings.insert_one(doc).session(&mut *s).await?;
                    Ok(true)
                })
            })
            .await;
        match added {
            Ok(true) => Ok(()),
            Ok(false) => Err(StoreError::NotFound),
            Err(e) if is_duplicate(&e) => Err(StoreError::Conflict("rating")),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn ratings(
        &self,
        photo_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<RatingRecord>, u64), StoreError> {
        let (filter, oldest_first) = (doc! { "photo_id": photo_id }, doc! { "_id": 1 });
        find_page(&self.ratings, filter, oldest_first, limit, offset).await
    }

    async fn delete_rating(&self, id: &str) -> Result<Option<RatingRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        let removed = self
            .transaction(move |s, store| {
                Box::pin(async move {
                    // As for comments: the photo's sums first, nothing if it is gone.
                    let filter = doc! { "_id": oid };
                    let found = store
                        .ratings
                        .find_one(filter.clone())
                        .session(&mut *s)
                        .await?;
                    let Some(r) = found else { return Ok(None) };
                    if !store
                        .rate_photo(s, &r.photo_id, -i64::from(r.stars), -1)
                        .await?
                    {
                        return Ok(None);
                    }
                    store.ratings.delete_one(filter).session(&mut *s).await?;
                    Ok(Some(r))
                })
            })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(removed.map(RatingRecord::from))
    }

    async fn delete_photo_ratings(&self, photo_id: &str) -> Result<(), StoreError> {
        self.ratings
            .delete_many(doc! { "photo_id": photo_id })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn stars_by(
        &self,
        user_id: &str,
        photo_ids: &[String],
    ) -> Result<HashMap<String, u8>, StoreError> {
        if photo_ids.is_empty() {
            return Ok(HashMap::new());
        }
        // The unique {photo_id, user_id} index answers this.
        let filter = doc! { "photo_id": { "$in": photo_ids }, "user_id": user_id };
        #[derive(Deserialize)]
        struct Stars {
            photo_id: String,
            stars: i32,
        }
        let mut cursor = self
            .ratings
            .clone_with_type::<Stars>()
            .find(filter)
            .projection(doc! { "photo_id": 1, "stars": 1 })
            .await
            .map_err(StoreError::unavailable)?;
        let mut stars = HashMap::new();
        while cursor.advance().await.map_err(StoreError::unavailable)? {
            let d = cursor
                .deserialize_current()
                .map_err(StoreError::unavailable)?;
            stars.insert(d.photo_id, u8::try_from(d.stars).unwrap_or(0));
        }
        Ok(stars)
    }

    async fn ratings_by(
        &self,
        user_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<RatingRecord>, StoreError> {
        let filter = doc! { "user_id": user_id, "_id": { "$gt": after_oid(after) } };
        let docs: Vec<RatingDoc> = self
            .ratings
            .find(filter)
            .sort(doc! { "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(docs.into_iter().map(RatingRecord::from).collect())
    }
}
