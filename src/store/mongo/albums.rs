//! Albums on MongoDB: one document each, replaced only when its `version` is the
//! one the change was made from (`replace_one` filtered on it), so two edits at once
//! cannot lose one. `{owner_id, _id}` pages an owner's albums; the multikey
//! `photo_ids` index finds the albums a deleted photo is in. Share links are
//! documents of their own, found by the unique hash of their token.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, oid::ObjectId};
use mongodb::options::IndexOptions;
use mongodb::IndexModel;
use serde::{Deserialize, Serialize};

use super::{find_page, from_bson_dt, parse_oid, to_bson_dt, MongoStore};
use crate::store::albums::*;
use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct AlbumDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    owner_id: String,
    owner_username: String,
    title: String,
    description: Option<String>,
    visibility: Visibility,
    cover_photo_id: Option<String>,
    photo_ids: Vec<String>,
    created_at: bson::DateTime,
    updated_at: bson::DateTime,
    version: i64,
}

impl From<AlbumDoc> for AlbumRecord {
    fn from(d: AlbumDoc) -> Self {
        AlbumRecord {
            id: d.id.to_hex(),
            owner_id: d.owner_id,
            owner_username: d.owner_username,
            title: d.title,
            description: d.description,
            visibility: d.visibility,
            cover_photo_id: d.cover_photo_id,
            photo_ids: d.photo_ids,
            created_at: from_bson_dt(d.created_at),
            updated_at: from_bson_dt(d.updated_at),
            version: u64::try_from(d.version).unwrap_or(0),
        }
    }
}

fn to_doc(a: AlbumRecord) -> AlbumDoc {
    AlbumDoc {
        id: parse_oid(&a.id).unwrap_or_default(),
        owner_id: a.owner_id,
        owner_username: a.owner_username,
        title: a.title,
        description: a.description,
        visibility: a.visibility,
        cover_photo_id: a.cover_photo_id,
        photo_ids: a.photo_ids,
        created_at: to_bson_dt(a.created_at),
        updated_at: to_bson_dt(a.updated_at),
        version: i64::try_from(a.version).unwrap_or(i64::MAX),
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ShareDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    album_id: String,
    owner_id: String,
    token_hash: String,
    password_hash: Option<String>,
    expires_at: Option<bson::DateTime>,
    revoked_at: Option<bson::DateTime>,
    created_at: bson::DateTime,
}

impl From<ShareDoc> for ShareRecord {
    fn from(d: ShareDoc) -> Self {
        ShareRecord {
            id: d.id.to_hex(),
            album_id: d.album_id,
            owner_id: d.owner_id,
            token_hash: d.token_hash,
            password_hash: d.password_hash,
            expires_at: d.expires_at.map(from_bson_dt),
            revoked_at: d.revoked_at.map(from_bson_dt),
            created_at: from_bson_dt(d.created_at),
        }
    }
}

impl MongoStore {
    pub(super) async fn create_album_indexes(&self) -> Result<(), StoreError> {
        let index = |keys| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().build())
                .build()
        };
        self.albums
            .create_indexes([
                index(doc! { "owner_id": 1, "_id": -1 }),
                index(doc! { "owner_id": 1, "visibility": 1, "_id": -1 }),
                index(doc! { "photo_ids": 1 }),
            ])
            .await
            .map_err(StoreError::unavailable)?;
        let unique = IndexModel::builder()
            .keys(doc! { "token_hash": 1 })
            .options(IndexOptions::builder().unique(true).build())
            .build();
        self.shares
            .create_indexes([
                unique,
                index(doc! { "album_id": 1, "_id": -1 }),
                index(doc! { "owner_id": 1 }),
            ])
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl AlbumRepo for MongoStore {
    async fn create_album(&self, album: AlbumRecord) -> Result<(), StoreError> {
        self.albums
            .insert_one(to_doc(album))
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn album(&self, id: &str) -> Result<Option<AlbumRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        let found = self
            .albums
            .find_one(doc! { "_id": oid })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(found.map(AlbumRecord::from))
    }

    async fn replace_album(&self, album: AlbumRecord, expected: u64) -> Result<bool, StoreError> {
        let doc = to_doc(album);
        let expected = i64::try_from(expected).unwrap_or(i64::MAX);
        let done = self
            .albums
            .replace_one(doc! { "_id": doc.id, "version": expected }, &doc)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(done.matched_count == 1)
    }

    async fn delete_album(&self, id: &str) -> Result<bool, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(false);
        };
        // Its links first: a crash in between leaves an album to delete again,
        // never a link to an album that is gone.
        self.shares
            .delete_many(doc! { "album_id": id })
            .await
            .map_err(StoreError::unavailable)?;
        let done = self
            .albums
            .delete_one(doc! { "_id": oid })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(done.deleted_count == 1)
    }

    async fn albums_of(
        &self,
        owner_id: &str,
        with_private: bool,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<AlbumRecord>, u64), StoreError> {
        let mut filter = doc! { "owner_id": owner_id };
        if !with_private {
            filter.insert("visibility", "public");
        }
        find_page(&self.albums, filter, doc! { "_id": -1 }, limit, offset).await
    }

    async fn remove_photo_everywhere(&self, photo_id: &str) -> Result<(), StoreError> {
        let holding: Vec<AlbumDoc> = self
            .albums
            .find(doc! { "photo_ids": photo_id })
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        for album in holding {
            // One document each: $pull and the version bump are one atomic update.
            self.albums
                .update_one(
                    doc! { "_id": album.id },
                    doc! { "$pull": { "photo_ids": photo_id }, "$inc": { "version": 1_i64 } },
                )
                .await
                .map_err(StoreError::unavailable)?;
        }
        Ok(())
    }

    async fn delete_albums_of(&self, owner_id: &str) -> Result<u64, StoreError> {
        self.shares
            .delete_many(doc! { "owner_id": owner_id })
            .await
            .map_err(StoreError::unavailable)?;
        let done = self
            .albums
            .delete_many(doc! { "owner_id": owner_id })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(done.deleted_count)
    }

    async fn create_share(&self, s: ShareRecord) -> Result<(), StoreError> {
        let doc = ShareDoc {
            id: parse_oid(&s.id).unwrap_or_default(),
            album_id: s.album_id,
            owner_id: s.owner_id,
            token_hash: s.token_hash,
            password_hash: s.password_hash,
            expires_at: s.expires_at.map(to_bson_dt),
            revoked_at: s.revoked_at.map(to_bson_dt),
            created_at: to_bson_dt(s.created_at),
        };
        self.shares
            .insert_one(doc)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn share(&self, id: &str) -> Result<Option<ShareRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        let found = self
            .shares
            .find_one(doc! { "_id": oid })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(found.map(ShareRecord::from))
    }

    async fn share_by_token(&self, token_hash: &str) -> Result<Option<ShareRecord>, StoreError> {
        let found = self
            .shares
            .find_one(doc! { "token_hash": token_hash })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(found.map(ShareRecord::from))
    }

    async fn shares_of(
        &self,
        album_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<ShareRecord>, u64), StoreError> {
        let filter = doc! { "album_id": album_id, "revoked_at": null };
        find_page(&self.shares, filter, doc! { "_id": -1 }, limit, offset).await
    }

    async fn revoke_share(&self, id: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(false);
        };
        let done = self
            .shares
            .update_one(
                doc! { "_id": oid, "revoked_at": null },
                doc! { "$set": { "revoked_at": to_bson_dt(at) } },
            )
            .await
            .map_err(StoreError::unavailable)?;
        Ok(done.modified_count == 1)
    }
}
