//! Photos: `PhotoRepo` on MongoDB, including search over the derived `keywords` and
//! `rating_average` fields, and the tag documents that count photos per tag.

use async_trait::async_trait;
use chrono::{DateTime, FixedOffset, Utc};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, oid::ObjectId, Document};
use serde::{Deserialize, Serialize};

use mongodb::error::Error as MongoError;
use mongodb::ClientSession;

use super::{
    find_one_as, find_page, from_bson_dt, is_duplicate, parse_oid, to_bson_dt, MongoStore,
};
use crate::domain::{Camera, Exposure, Location, PhotoMetadata, Placeholder};
use crate::store::{PhotoDeletion, PhotoQuery, PhotoRecord, PhotoRepo, StoreError, TagCount};

/// A deleted photo's tombstone (`photo_deletions`), keyed by the photo's id.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct DeletionDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    photo: PhotoDoc,
    requested_at: bson::DateTime,
}

impl From<DeletionDoc> for PhotoDeletion {
    fn from(d: DeletionDoc) -> Self {
        PhotoDeletion {
            photo: d.photo.into(),
            requested_at: from_bson_dt(d.requested_at),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct PhotoDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    slug: String,
    owner_id: String,
    owner_username: String,
    description: String,
    tags: Vec<String>,
    width: u32,
    height: u32,
    format: String,
    size_bytes: i64,
    media_key: String,
    sha256: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    source_sha256: String,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    rating_sum: i64,
    rating_count: i64,
    comment_count: i64,
    /// Search fields, derived from the rest: description words and tags, and the
    /// mean rating (null when unrated, which sorts below every number).
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    rating_average: Option<f64>,
    #[serde(flatten)]
    meta: MetaDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    placeholder: Option<Placeholder>,
}

/// A photo's EXIF metadata as document fields: `taken_at` is the instant (searched
/// and sorted), its offset kept beside it; `camera_words` is what `camera=` matches.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct MetaDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    taken_at: Option<bson::DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    taken_offset_minutes: Option<i32>,
    /// Set when `taken_at` is missing: the ascending sort leads with it, so those
    /// photos come last in both directions (null sorts first in MongoDB).
    #[serde(default = "yes")]
    taken_missing: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    camera_words: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    camera: Option<Camera>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lens: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exposure: Option<Exposure>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    location: Option<Location>,
}

fn yes() -> bool {
    true
}

impl From<&PhotoMetadata> for MetaDoc {
    fn from(m: &PhotoMetadata) -> Self {
        MetaDoc {
            taken_at: m.taken_utc().map(to_bson_dt),
            taken_offset_minutes: m.taken_at.map(|t| t.offset().local_minus_utc() / 60),
            taken_missing: m.taken_at.is_none(),
            camera_words: m.camera_words(),
            camera: m.camera.clone(),
            lens: m.lens.clone(),
            exposure: m.exposure.clone(),
            location: m.location,
        }
    }
}

impl From<MetaDoc> for PhotoMetadata {
    fn from(d: MetaDoc) -> Self {
        let offset = FixedOffset::east_opt(d.taken_offset_minutes.unwrap_or(0) * 60);
        PhotoMetadata {
            taken_at: d
                .taken_at
                .zip(offset)
                .map(|(t, offset)| from_bson_dt(t).with_timezone(&offset)),
            camera: d.camera,
            lens: d.lens,
            exposure: d.exposure,
            location: d.location,
        }
    }
}

impl From<Document> for TagCount {
    fn from(d: Document) -> Self {
        let count = d
            .get_i64("photo_count")
            .or_else(|_| d.get_i32("photo_count").map(i64::from))
            .unwrap_or(0);
        TagCount {
            name: d.get_str("_id").unwrap_or_default().to_owned(),
            photo_count: u64::try_from(count).unwrap_or(0),
        }
    }
}

/// The `originals` document of one owner's original: `{owner id}:{sha256}`.
fn original_key(owner_id: &str, source_sha256: &str) -> String {
    format!("{owner_id}:{source_sha256}")
}

impl From<PhotoDoc> for PhotoRecord {
    fn from(d: PhotoDoc) -> Self {
        PhotoRecord {
            id: d.id.to_hex(),
            slug: d.slug,
            owner_id: d.owner_id,
            owner_username: d.owner_username,
            description: d.description,
            tags: d.tags,
            width: d.width,
            height: d.height,
            format: d.format,
            size_bytes: d.size_bytes.max(0) as u64,
            media_key: d.media_key,
            sha256: d.sha256,
            source_sha256: d.source_sha256,
            meta: d.meta.into(),
            placeholder: d.placeholder,
            created_at: from_bson_dt(d.created_at),
            updated_at: from_bson_dt(d.updated_at),
            rating_sum: d.rating_sum.max(0) as u64,
            rating_count: d.rating_count.max(0) as u64,
            comment_count: d.comment_count.max(0) as u64,
        }
    }
}

impl MongoStore {
    /// Photos stored before search existed get their derived search fields.
    pub(super) async fn backfill_search_fields(&self) -> Result<(), StoreError> {
        let mut missing = self
            .photos
            .find(doc! { "keywords": { "$exists": false } })
            .await
            .map_err(StoreError::unavailable)?;
        let mut done = 0u64;
        while let Some(d) = missing.try_next().await.map_err(StoreError::unavailable)? {
            let oid = d.id;
            let p = PhotoRecord::from(d);
            let set = doc! { "keywords": p.keywords(), "rating_average": p.rating_average() };
            self.photos
                .update_one(doc! { "_id": oid }, doc! { "$set": set })
                .await
                .map_err(StoreError::unavailable)?;
            done += 1;
        }
        if done > 0 {
            tracing::info!(photos = done, "search fields backfilled");
        }
        // Photos stored before metadata was read have none.
        self.photos
            .update_many(
                doc! { "taken_missing": { "$exists": false } },
                doc! { "$set": { "taken_missing": true } },
            )
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    /// Tag documents carry the number of photos linking them; `upsert` creates a tag
    /// on first use, and a tag whose count reaches zero is removed. Inside the
    /// caller's transaction, so the photo's tags and the counts change together.
    async fn link_tags(
        &self,
        s: &mut ClientSession,
        tags: &[String],
        delta: i64,
    ) -> Result<(), MongoError> {
        if tags.is_empty() {
            return Ok(());
        }
        if delta > 0 {
            for tag in tags {
                self.tags
                    .update_one(
                        doc! { "_id": tag },
                        doc! { "$inc": { "photo_count": delta } },
                    )
                    .upsert(true)
                    .session(&mut *s)
                    .await?;
            }
        } else {
            let filter = doc! { "_id": { "$in": tags } };
            self.tags
                .update_many(filter, doc! { "$inc": { "photo_count": delta } })
                .session(&mut *s)
                .await?;
            self.tags
                .delete_many(doc! { "_id": { "$in": tags }, "photo_count": { "$lte": 0 } })
                .session(&mut *s)
                .await?;
        }
        Ok(())
    }
}

#[async_trait]
impl PhotoRepo for MongoStore {
    async fn insert_photo(&self, p: PhotoRecord) -> Result<(), StoreError> {
        let doc = PhotoDoc {
            keywords: p.keywords(),
            rating_average: p.rating_average(),
            meta: MetaDoc::from(&p.meta),
            placeholder: p.placeholder.clone(),
            id: parse_oid(&p.id).unwrap_or_default(),
            slug: p.slug,
            owner_id: p.owner_id,
            owner_username: p.owner_username,
            description: p.description,
            tags: p.tags.clone(),
            width: p.width,
            height: p.height,
            format: p.format,
            size_bytes: p.size_bytes as i64,
            media_key: p.media_key,
            sha256: p.sha256,
            source_sha256: p.source_sha256,
            created_at: to_bson_dt(p.created_at),
            updated_at: to_bson_dt(p.updated_at),
            rating_sum: p.rating_sum as i64,
            rating_count: p.rating_count as i64,
            comment_count: p.comment_count as i64,
        };
        let inserted = self
            .transaction(move |s, store| {
                let doc = doc.clone();
                Box::pin(async move {
                    if !doc.source_sha256.is_empty() {
                        // Its `_id` makes a second copy of the original a duplicate
                        // key, which aborts the whole insert.
                        let key = original_key(&doc.owner_id, &doc.source_sha256);
                        let original = doc! { "_id": key, "photo_id": doc.id.to_hex() };
                        store
                            .originals
                            .insert_one(original)
                            .session(&mut *s)
                            .await?;
                    }
                    let tags = doc.tags.clone();
                    store.photos.insert_one(doc).session(&mut *s).await?;
                    store.link_tags(s, &tags, 1).await
                })
            })
            .await;
        match inserted {
            Ok(()) => Ok(()),
            Err(e) if is_duplicate(&e) => Err(StoreError::Conflict("original")),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn originals(
        &self,
        owner_id: &str,
        source_sha256: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        if source_sha256.is_empty() {
            return Ok(Vec::new());
        }
        let keys: Vec<String> = source_sha256
            .iter()
            .map(|sha| original_key(owner_id, sha))
            .collect();
        let docs: Vec<Document> = self
            .originals
            .find(doc! { "_id": { "$in": keys } })
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        let prefix = format!("{owner_id}:");
        Ok(docs
            .into_iter()
            .filter_map(|d| {
                let key = d.get_str("_id").ok()?;
                let sha = key.strip_prefix(&prefix)?.to_owned();
                Some((sha, d.get_str("photo_id").ok()?.to_owned()))
            })
            .collect())
    }

    async fn photo(&self, id: &str) -> Result<Option<PhotoRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        find_one_as(&self.photos, doc! { "_id": oid }).await
    }

    async fn photo_by_slug(&self, slug: &str) -> Result<Option<PhotoRecord>, StoreError> {
        find_one_as(&self.photos, doc! { "slug": slug }).await
    }

    async fn update_photo(
        &self,
        id: &str,
        description: String,
        tags: Option<Vec<String>>,
        updated_at: DateTime<Utc>,
    ) -> Result<PhotoRecord, StoreError> {
        let oid = parse_oid(id).ok_or(StoreError::NotFound)?;
        // One transaction: a concurrent edit of the same photo conflicts with it and
        // runs again on the result, so each tag's count moves exactly once per change.
        let updated = self
            .transaction(move |s, store| {
                let (description, tags) = (description.clone(), tags.clone());
                Box::pin(async move {
                    let found = store
                        .photos
                        .find_one(doc! { "_id": oid })
                        .session(&mut *s)
                        .await?;
                    let Some(before) = found else {
                        return Ok(None);
                    };
                    let new_tags = tags.unwrap_or_else(|| before.tags.clone());
                    let set = doc! {
                        "description": &description,
                        "tags": &new_tags,
                        "keywords": crate::domain::keywords(&description, &new_tags),
                        "updated_at": to_bson_dt(updated_at),
                    };
                    let after = store
                        .photos
                        .find_one_and_update(doc! { "_id": oid }, doc! { "$set": set })
                        .return_document(mongodb::options::ReturnDocument::After)
                        .session(&mut *s)
                        .await?;
                    let removed: Vec<String> = before
                        .tags
                        .iter()
                        .filter(|t| !new_tags.contains(t))
                        .cloned()
                        .collect();
                    let added: Vec<String> = new_tags
                        .iter()
                        .filter(|t| !before.tags.contains(t))
                        .cloned()
                        .collect();
                    store.link_tags(s, &removed, -1).await?;
                    store.link_tags(s, &added, 1).await?;
                    Ok(after)
                })
            })
            .await
            .map_err(StoreError::unavailable)?;
        updated.map(PhotoRecord::from).ok_or(StoreError::NotFound)
    }

    async fn delete_photo(
        &self,
        id: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<PhotoRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        // The photo document moves to the tombstones, and its tags are unlinked, in
        // one transaction: a comment, rating or link written concurrently updates the
        // photo document in its own, so it either lands before (and the purge
        // removes it) or finds no photo.
        let removed = self
            .transaction(move |s, store| {
                Box::pin(async move {
                    let found = store
                        .photos
                        .find_one_and_delete(doc! { "_id": oid })
                        .session(&mut *s)
                        .await?;
                    let Some(photo) = found else {
                        return Ok(None);
                    };
                    if !photo.source_sha256.is_empty() {
                        // The original may be uploaded again.
                        let key = original_key(&photo.owner_id, &photo.source_sha256);
                        store
                            .originals
                            .delete_one(doc! { "_id": key })
                            .session(&mut *s)
                            .await?;
                    }
                    let tombstone = DeletionDoc {
                        id: oid,
                        photo: photo.clone(),
                        requested_at: to_bson_dt(at),
                    };
                    store
                        .deletions
                        .insert_one(tombstone)
                        .session(&mut *s)
                        .await?;
                    store.link_tags(s, &photo.tags, -1).await?;
                    Ok(Some(photo))
                })
            })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(removed.map(PhotoRecord::from))
    }

    async fn deletions(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<PhotoDeletion>, StoreError> {
        let filter = doc! { "requested_at": { "$lte": to_bson_dt(before) } };
        let found: Vec<DeletionDoc> = self
            .deletions
            .find(filter)
            .sort(doc! { "requested_at": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(found.into_iter().map(PhotoDeletion::from).collect())
    }

    async fn deletion(&self, photo_id: &str) -> Result<Option<PhotoDeletion>, StoreError> {
        let Some(oid) = parse_oid(photo_id) else {
            return Ok(None);
        };
        find_one_as(&self.deletions, doc! { "_id": oid }).await
    }

    async fn finish_deletion(&self, photo_id: &str) -> Result<(), StoreError> {
        let Some(oid) = parse_oid(photo_id) else {
            return Ok(());
        };
        self.deletions
            .delete_one(doc! { "_id": oid })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn search(&self, q: &PhotoQuery) -> Result<(Vec<PhotoRecord>, u64), StoreError> {
        let (filter, sort) = super::search::query(q);
        find_page(&self.photos, filter, sort, q.limit, q.offset).await
    }

    async fn photo_count(&self, owner_id: &str) -> Result<u64, StoreError> {
        self.photos
            .count_documents(doc! { "owner_id": owner_id })
            .await
            .map_err(StoreError::unavailable)
    }

    async fn tags(
        &self,
        prefix: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<TagCount>, u64), StoreError> {
        // The prefix was validated as tag characters ([\p{L}\p{N}_-]), none of which
        // is special in a regex, so an anchored pattern is safe and uses the _id index.
        let filter = if prefix.is_empty() {
            doc! { "photo_count": { "$gt": 0 } }
        } else {
            doc! { "_id": { "$regex": format!("^{prefix}") }, "photo_count": { "$gt": 0 } }
        };
        find_page(&self.tags, filter, doc! { "_id": 1 }, limit, offset).await
    }
}
