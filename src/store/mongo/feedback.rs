//! Comments and ratings: `CommentRepo` and `RatingRepo` on MongoDB, and the atomic
//! counter updates they make on the photo.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use mongodb::bson::{self, doc, oid::ObjectId, Document};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::{
    find_one_as, find_page, from_bson_dt, is_duplicate, parse_oid, to_bson_dt, MongoStore,
};
use crate::store::{CommentRecord, CommentRepo, PhotoRepo, RatingRecord, RatingRepo, StoreError};

#[derive(Debug, Serialize, Deserialize)]
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

#[derive(Debug, Serialize, Deserialize)]
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
    /// `$inc` on one photo; true when the photo exists.
    async fn bump_photo(&self, photo_id: &str, inc: Document) -> Result<bool, StoreError> {
        let Some(oid) = parse_oid(photo_id) else {
            return Ok(false);
        };
        let result = self
            .photos
            .update_one(doc! { "_id": oid }, doc! { "$inc": inc })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(result.matched_count == 1)
    }

    /// Changes a photo's rating sums and recomputes its average in one atomic
    /// single-document update (an update pipeline sees the new sums).
    async fn rate_photo(&self, photo_id: &str, stars: i64, count: i64) -> Result<(), StoreError> {
        let Some(oid) = parse_oid(photo_id) else {
            return Ok(());
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
        self.photos
            .update_one(doc! { "_id": oid }, pipeline)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}

// Without multi-document transactions (not on every MongoDB-protocol server, nor on
// a standalone mongod), a comment or rating and its photo's counters are two
// single-document writes: the record first, then an atomic `$inc`. Concurrent writers
// stay exact ($inc never loses an update); a crash between the two leaves one count
// short until the next write to that photo's counters.
#[async_trait]
impl CommentRepo for MongoStore {
    async fn add_comment(&self, c: CommentRecord) -> Result<(), StoreError> {
        if self.photo(&c.photo_id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let doc = CommentDoc {
            id: parse_oid(&c.id).unwrap_or_default(),
            photo_id: c.photo_id.clone(),
            author_id: c.author_id,
            author_username: c.author_username,
            text: c.text,
            created_at: to_bson_dt(c.created_at),
            updated_at: to_bson_dt(c.updated_at),
        };
        self.comments
            .insert_one(doc)
            .await
            .map_err(StoreError::unavailable)?;
        self.bump_photo(&c.photo_id, doc! { "comment_count": 1_i64 })
            .await?;
        Ok(())
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
            .comments
            .find_one_and_delete(doc! { "_id": oid })
            .await
            .map_err(StoreError::unavailable)?
            .map(CommentRecord::from);
        if let Some(c) = &removed {
            self.bump_photo(&c.photo_id, doc! { "comment_count": -1_i64 })
                .await?;
        }
        Ok(removed)
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
}

#[async_trait]
impl RatingRepo for MongoStore {
    async fn add_rating(&self, r: RatingRecord) -> Result<(), StoreError> {
        if self.photo(&r.photo_id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let doc = RatingDoc {
            id: parse_oid(&r.id).unwrap_or_default(),
            photo_id: r.photo_id.clone(),
            user_id: r.user_id,
            username: r.username,
            stars: i32::from(r.stars),
            created_at: to_bson_dt(r.created_at),
        };
        match self.ratings.insert_one(doc).await {
            Ok(_) => {}
            Err(e) if is_duplicate(&e) => return Err(StoreError::Conflict("rating")),
            Err(e) => return Err(StoreError::unavailable(e)),
        }
        self.rate_photo(&r.photo_id, i64::from(r.stars), 1).await?;
        Ok(())
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
            .ratings
            .find_one_and_delete(doc! { "_id": oid })
            .await
            .map_err(StoreError::unavailable)?
            .map(RatingRecord::from);
        if let Some(r) = &removed {
            self.rate_photo(&r.photo_id, -i64::from(r.stars), -1)
                .await?;
        }
        Ok(removed)
    }

    async fn delete_photo_ratings(&self, photo_id: &str) -> Result<(), StoreError> {
        self.ratings
            .delete_many(doc! { "photo_id": photo_id })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}
