//! The MongoDB backend (official driver). Uniqueness lives in unique indexes on
//! case-folded keys (collations are not on every MongoDB-protocol server we test with),
//! created at startup together with a TTL index that empties the token blocklist.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, oid::ObjectId, Document};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions, ReturnDocument};
use mongodb::{Client, Collection, Database, IndexModel};
use serde::{Deserialize, Serialize};

use super::{
    CommentRecord, CommentRepo, Health, LinkCounts, LinkOutcome, LinkOutput, LinkRecord, LinkRepo,
    LinkStatus, NewUser, PhotoQuery, PhotoRecord, PhotoRepo, ProfilePatch, RatingRecord,
    RatingRepo, SessionRecord, SessionRepo, StoreError, TagCount, TokenBlocklist, UserRecord,
    UserRepo,
};
use crate::domain::Role;

const DUPLICATE_KEY: i32 = 11000;

#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    users: Collection<UserDoc>,
    sessions: Collection<SessionDoc>,
    blocklist: Collection<Document>,
    claims: Collection<Document>,
    photos: Collection<PhotoDoc>,
    tags: Collection<Document>,
    comments: Collection<CommentDoc>,
    ratings: Collection<RatingDoc>,
    links: Collection<LinkDoc>,
}

impl MongoStore {
    /// Connects, checks the server answers and creates the indexes. `name` overrides the
    /// URI's default database.
    pub async fn connect(uri: &str, name: Option<&str>) -> Result<Self, StoreError> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(StoreError::unavailable)?;
        options.app_name = Some("photoshare".into());
        // Fail fast when the server is down: a request gets 503 in seconds, not 30 s.
        options.server_selection_timeout = Some(Duration::from_secs(3));
        options.connect_timeout = Some(Duration::from_secs(3));
        let default_db = options.default_database.clone();
        let client = Client::with_options(options).map_err(StoreError::unavailable)?;
        let db_name = name
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .or(default_db)
            .unwrap_or_else(|| "photoshare".into());
        let db = client.database(&db_name);
        let store = Self {
            users: db.collection("users"),
            sessions: db.collection("sessions"),
            blocklist: db.collection("token_blocklist"),
            claims: db.collection("claims"),
            photos: db.collection("photos"),
            links: db.collection("links"),
            tags: db.collection("tags"),
            comments: db.collection("comments"),
            ratings: db.collection("ratings"),
            db,
        };
        store.ping().await?;
        store.create_indexes().await?;
        store.finish_admin_claim().await?;
        store.backfill_search_fields().await?;
        Ok(store)
    }

    /// Photos stored before search existed get their derived search fields.
    async fn backfill_search_fields(&self) -> Result<(), StoreError> {
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
        Ok(())
    }

    async fn create_indexes(&self) -> Result<(), StoreError> {
        let unique = |field: &str| {
            IndexModel::builder()
                .keys(doc! { field: 1 })
                .options(IndexOptions::builder().unique(true).build())
                .build()
        };
        self.users
            .create_indexes([unique("username_key"), unique("email_key")])
            .await
            .map_err(StoreError::unavailable)?;
        self.sessions
            .create_index(IndexModel::builder().keys(doc! { "user_id": 1 }).build())
            .await
            .map_err(StoreError::unavailable)?;
        let ttl = IndexModel::builder()
            .keys(doc! { "expires_at": 1 })
            .options(
                IndexOptions::builder()
                    .expire_after(Duration::from_secs(0))
                    .build(),
            )
            .build();
        self.blocklist
            .create_index(ttl)
            .await
            .map_err(StoreError::unavailable)?;
        let plain = |field: &str| IndexModel::builder().keys(doc! { field: 1 }).build();
        // Search: each filter field leads an index that continues in the default
        // order (newest first, ties by _id), so a filtered first page is an index
        // walk; `keywords` is multikey (no $text: not every server has it).
        let newest = |field: &str| {
            let keys = if field.is_empty() {
                doc! { "created_at": -1, "_id": -1 }
            } else {
                doc! { field: 1, "created_at": -1, "_id": -1 }
            };
            IndexModel::builder().keys(keys).build()
        };
        let by_rating = IndexModel::builder()
            .keys(doc! { "rating_average": -1, "created_at": -1, "_id": -1 })
            .build();
        self.photos
            .create_indexes([
                unique("slug"),
                newest("owner_id"),
                newest("tags"),
                newest("keywords"),
                newest(""),
                by_rating,
            ])
            .await
            .map_err(StoreError::unavailable)?;
        let by_photo = IndexModel::builder()
            .keys(doc! { "photo_id": 1, "_id": 1 })
            .build();
        self.comments
            .create_indexes([by_photo.clone(), plain("author_id")])
            .await
            .map_err(StoreError::unavailable)?;
        let one_per_user = IndexModel::builder()
            .keys(doc! { "photo_id": 1, "user_id": 1 })
            .options(IndexOptions::builder().unique(true).build())
            .build();
        self.ratings
            .create_indexes([one_per_user, by_photo.clone()])
            .await
            .map_err(StoreError::unavailable)?;
        let one_per_transformation = IndexModel::builder()
            .keys(doc! { "photo_id": 1, "transformation": 1 })
            .options(IndexOptions::builder().unique(true).build())
            .build();
        let outbox = IndexModel::builder()
            .keys(doc! { "status": 1, "_id": 1 })
            .build();
        self.links
            .create_indexes([one_per_transformation, unique("slug"), by_photo, outbox])
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    /// A process that died between winning the first-admin claim and promoting the
    /// account leaves the claim behind; finish it.
    async fn finish_admin_claim(&self) -> Result<(), StoreError> {
        let claim = self
            .claims
            .find_one(doc! { "_id": "first_admin" })
            .await
            .map_err(StoreError::unavailable)?;
        if let Some(user_id) = claim.and_then(|c| c.get_object_id("user_id").ok()) {
            self.users
                .update_one(
                    doc! { "_id": user_id },
                    doc! { "$set": { "role": "admin" } },
                )
                .await
                .map_err(StoreError::unavailable)?;
        }
        Ok(())
    }

    async fn set_user_field(&self, id: &str, update: Document) -> Result<UserRecord, StoreError> {
        let oid = parse_oid(id).ok_or(StoreError::NotFound)?;
        self.users
            .find_one_and_update(doc! { "_id": oid }, doc! { "$set": update })
            .return_document(ReturnDocument::After)
            .await
            .map_err(map_write_error)?
            .map(UserRecord::from)
            .ok_or(StoreError::NotFound)
    }

    async fn user_where(&self, filter: Document) -> Result<Option<UserRecord>, StoreError> {
        find_one_as(&self.users, filter).await
    }
}

/// The one document matching `filter`, as a record.
async fn find_one_as<D, R>(coll: &Collection<D>, filter: Document) -> Result<Option<R>, StoreError>
where
    D: serde::de::DeserializeOwned + Send + Sync,
    R: From<D>,
{
    let found = coll
        .find_one(filter)
        .await
        .map_err(StoreError::unavailable)?;
    Ok(found.map(R::from))
}

/// A page of the documents matching `filter` in `sort` order, as records, with the
/// number that match.
async fn find_page<D, R>(
    coll: &Collection<D>,
    filter: Document,
    sort: Document,
    limit: u32,
    offset: u64,
) -> Result<(Vec<R>, u64), StoreError>
where
    D: serde::de::DeserializeOwned + Send + Sync,
    R: From<D>,
{
    let total = coll
        .count_documents(filter.clone())
        .await
        .map_err(StoreError::unavailable)?;
    let docs: Vec<D> = coll
        .find(filter)
        .sort(sort)
        .skip(offset)
        .limit(i64::from(limit))
        .await
        .map_err(StoreError::unavailable)?
        .try_collect()
        .await
        .map_err(StoreError::unavailable)?;
    Ok((docs.into_iter().map(R::from).collect(), total))
}

fn parse_oid(id: &str) -> Option<ObjectId> {
    ObjectId::parse_str(id).ok()
}

fn is_duplicate(e: &MongoError) -> bool {
    match e.kind.as_ref() {
        ErrorKind::Write(WriteFailure::WriteError(we)) => we.code == DUPLICATE_KEY,
        ErrorKind::Command(ce) => ce.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(im) => im
            .write_errors
            .as_ref()
            .is_some_and(|errs| errs.iter().any(|we| we.code == DUPLICATE_KEY)),
        _ => false,
    }
}

/// Only for writes that touch the email index: anything else unique is ours to name.
fn map_write_error(e: MongoError) -> StoreError {
    if is_duplicate(&e) {
        StoreError::Conflict("email")
    } else {
        StoreError::unavailable(e)
    }
}

fn to_bson_dt(t: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_millis(t.timestamp_millis())
}

fn from_bson_dt(t: bson::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or_default()
}

#[derive(Debug, Serialize, Deserialize)]
struct UserDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    username: String,
    username_key: String,
    email: String,
    email_key: String,
    full_name: Option<String>,
    bio: Option<String>,
    role: Role,
    is_active: bool,
    password_hash: String,
    created_at: bson::DateTime,
}

impl From<UserDoc> for UserRecord {
    fn from(d: UserDoc) -> Self {
        UserRecord {
            id: d.id.to_hex(),
            username: d.username,
            email: d.email,
            full_name: d.full_name,
            bio: d.bio,
            role: d.role,
            is_active: d.is_active,
            password_hash: d.password_hash,
            created_at: from_bson_dt(d.created_at),
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct SessionDoc {
    #[serde(rename = "_id")]
    id: String,
    user_id: String,
    refresh_jti: String,
    revoked: bool,
    expires_at: bson::DateTime,
}

#[async_trait]
impl UserRepo for MongoStore {
    async fn create(&self, new: NewUser) -> Result<UserRecord, StoreError> {
        let oid = parse_oid(&new.id).unwrap_or_default();
        let doc = UserDoc {
            id: oid,
            username_key: new.username.to_ascii_lowercase(),
            email_key: new.email.to_lowercase(),
            username: new.username,
            email: new.email,
            full_name: new.full_name,
            bio: None,
            role: Role::User,
            is_active: true,
            password_hash: new.password_hash,
            created_at: to_bson_dt(new.created_at),
        };
        let username_key = doc.username_key.clone();
        if let Err(e) = self.users.insert_one(&doc).await {
            if !is_duplicate(&e) {
                return Err(StoreError::unavailable(e));
            }
            // Name the key that clashed without parsing the server's message.
            let taken = self
                .users
                .find_one(doc! { "username_key": &username_key })
                .await
                .map_err(StoreError::unavailable)?;
            return Err(StoreError::Conflict(if taken.is_some() {
                "username"
            } else {
                "email"
            }));
        }
        // Several API processes may sign up at once: a unique `_id` decides who was
        // first, atomically, on the server. The account exists before it is promoted,
        // and `finish_admin_claim` repairs a crash in between.
        let claim = self
            .claims
            .insert_one(doc! { "_id": "first_admin", "user_id": oid })
            .await;
        let mut user = UserRecord::from(doc);
        match claim {
            Ok(_) => {
                self.users
                    .update_one(doc! { "_id": oid }, doc! { "$set": { "role": "admin" } })
                    .await
                    .map_err(StoreError::unavailable)?;
                user.role = Role::Admin;
            }
            Err(e) if is_duplicate(&e) => {}
            Err(e) => return Err(StoreError::unavailable(e)),
        }
        Ok(user)
    }

    async fn by_id(&self, id: &str) -> Result<Option<UserRecord>, StoreError> {
        match parse_oid(id) {
            Some(oid) => self.user_where(doc! { "_id": oid }).await,
            None => Ok(None),
        }
    }

    async fn by_username(&self, username_key: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_where(doc! { "username_key": username_key }).await
    }

    async fn by_email(&self, email_key: &str) -> Result<Option<UserRecord>, StoreError> {
        self.user_where(doc! { "email_key": email_key }).await
    }

    async fn update_profile(
        &self,
        id: &str,
        patch: ProfilePatch,
    ) -> Result<UserRecord, StoreError> {
        let mut set = Document::new();
        if let Some(email) = patch.email {
            set.insert("email_key", email.to_lowercase());
            set.insert("email", email);
        }
        if let Some(full_name) = patch.full_name {
            set.insert("full_name", full_name);
        }
        if let Some(bio) = patch.bio {
            set.insert("bio", bio);
        }
        if set.is_empty() {
            return self.by_id(id).await?.ok_or(StoreError::NotFound);
        }
        self.set_user_field(id, set).await
    }

    async fn set_password_hash(&self, id: &str, hash: &str) -> Result<(), StoreError> {
        self.set_user_field(id, doc! { "password_hash": hash })
            .await
            .map(drop)
    }

    async fn set_role(&self, id: &str, role: Role) -> Result<UserRecord, StoreError> {
        self.set_user_field(id, doc! { "role": role.as_str() })
            .await
    }

    async fn set_active(&self, id: &str, active: bool) -> Result<UserRecord, StoreError> {
        self.set_user_field(id, doc! { "is_active": active }).await
    }

    async fn list(&self, limit: u32, offset: u64) -> Result<(Vec<UserRecord>, u64), StoreError> {
        find_page(&self.users, doc! {}, doc! { "_id": 1 }, limit, offset).await
    }
}

#[async_trait]
impl SessionRepo for MongoStore {
    async fn create_session(&self, s: SessionRecord) -> Result<(), StoreError> {
        let doc = SessionDoc {
            id: s.id,
            user_id: s.user_id,
            refresh_jti: s.refresh_jti,
            revoked: s.revoked,
            expires_at: to_bson_dt(s.expires_at),
        };
        self.sessions
            .insert_one(doc)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn session(&self, id: &str) -> Result<Option<SessionRecord>, StoreError> {
        let found = self
            .sessions
            .find_one(doc! { "_id": id })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(found.map(|d| SessionRecord {
            id: d.id,
            user_id: d.user_id,
            refresh_jti: d.refresh_jti,
            revoked: d.revoked,
            expires_at: from_bson_dt(d.expires_at),
        }))
    }

    async fn rotate_session(
        &self,
        id: &str,
        expected_jti: &str,
        new_jti: &str,
        expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .sessions
            .update_one(
                doc! { "_id": id, "refresh_jti": expected_jti, "revoked": false },
                doc! { "$set": { "refresh_jti": new_jti, "expires_at": to_bson_dt(expires_at) } },
            )
            .await
            .map_err(StoreError::unavailable)?;
        Ok(result.modified_count == 1)
    }

    async fn revoke_session(&self, id: &str) -> Result<(), StoreError> {
        self.sessions
            .update_one(doc! { "_id": id }, doc! { "$set": { "revoked": true } })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn revoke_user_sessions(
        &self,
        user_id: &str,
        except: Option<&str>,
    ) -> Result<(), StoreError> {
        let mut filter = doc! { "user_id": user_id, "revoked": false };
        if let Some(keep) = except {
            filter.insert("_id", doc! { "$ne": keep });
        }
        self.sessions
            .update_many(filter, doc! { "$set": { "revoked": true } })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}

#[async_trait]
impl TokenBlocklist for MongoStore {
    async fn block(&self, jti: &str, expires_at: DateTime<Utc>) -> Result<(), StoreError> {
        let result = self
            .blocklist
            .insert_one(doc! { "_id": jti, "expires_at": to_bson_dt(expires_at) })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_duplicate(&e) => Ok(()),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn is_blocked(&self, jti: &str) -> Result<bool, StoreError> {
        let found = self
            .blocklist
            .find_one(doc! { "_id": jti })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(found.is_some())
    }

    async fn purge_expired(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        // The TTL index does this on real MongoDB; this keeps servers without TTL
        // monitors tidy too.
        let result = self
            .blocklist
            .delete_many(doc! { "expires_at": { "$lt": to_bson_dt(now) } })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(result.deleted_count)
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct PhotoDoc {
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
            created_at: from_bson_dt(d.created_at),
            updated_at: from_bson_dt(d.updated_at),
            rating_sum: d.rating_sum.max(0) as u64,
            rating_count: d.rating_count.max(0) as u64,
            comment_count: d.comment_count.max(0) as u64,
        }
    }
}

impl MongoStore {
    /// Tag documents carry the number of photos linking them; `upsert` creates a tag
    /// on first use, and a tag whose count reaches zero is removed.
    async fn link_tags(&self, tags: &[String], delta: i64) -> Result<(), StoreError> {
        if delta > 0 {
            // An upsert with $inc creates the tag at 1 on first use; the server retries
            // an upsert that loses a duplicate-key race on `_id`.
            for tag in tags {
                self.tags
                    .update_one(
                        doc! { "_id": tag },
                        doc! { "$inc": { "photo_count": delta } },
                    )
                    .upsert(true)
                    .await
                    .map_err(StoreError::unavailable)?;
            }
        } else if !tags.is_empty() {
            let filter = doc! { "_id": { "$in": tags } };
            self.tags
                .update_many(filter, doc! { "$inc": { "photo_count": delta } })
                .await
                .map_err(StoreError::unavailable)?;
            self.tags
                .delete_many(doc! { "_id": { "$in": tags }, "photo_count": { "$lte": 0 } })
                .await
                .map_err(StoreError::unavailable)?;
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
            created_at: to_bson_dt(p.created_at),
            updated_at: to_bson_dt(p.updated_at),
            rating_sum: p.rating_sum as i64,
            rating_count: p.rating_count as i64,
            comment_count: p.comment_count as i64,
        };
        self.photos
            .insert_one(doc)
            .await
            .map_err(StoreError::unavailable)?;
        self.link_tags(&p.tags, 1).await
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
        // Keywords derive from description and tags together: the update applies only
        // if the tags are still the ones they were computed with, else it reloads.
        let before = loop {
            let current = self.photo(id).await?.ok_or(StoreError::NotFound)?;
            let new_tags = tags.clone().unwrap_or_else(|| current.tags.clone());
            let set = doc! {
                "description": &description,
                "tags": &new_tags,
                "keywords": crate::domain::keywords(&description, &new_tags),
                "updated_at": to_bson_dt(updated_at),
            };
            let result = self
                .photos
                .update_one(
                    doc! { "_id": oid, "tags": &current.tags },
                    doc! { "$set": set },
                )
                .await
                .map_err(StoreError::unavailable)?;
            if result.matched_count == 1 {
                break current;
            }
        };
        if let Some(tags) = &tags {
            let removed: Vec<String> = before
                .tags
                .iter()
                .filter(|t| !tags.contains(t))
                .cloned()
                .collect();
            let added: Vec<String> = tags
                .iter()
                .filter(|t| !before.tags.contains(t))
                .cloned()
                .collect();
            self.link_tags(&removed, -1).await?;
            self.link_tags(&added, 1).await?;
        }
        self.photo(id).await?.ok_or(StoreError::NotFound)
    }

    async fn delete_photo(&self, id: &str) -> Result<Option<PhotoRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        let removed = self
            .photos
            .find_one_and_delete(doc! { "_id": oid })
            .await
            .map_err(StoreError::unavailable)?;
        let Some(photo) = removed.map(PhotoRecord::from) else {
            return Ok(None);
        };
        self.link_tags(&photo.tags, -1).await?;
        Ok(Some(photo))
    }

    async fn search(&self, q: &PhotoQuery) -> Result<(Vec<PhotoRecord>, u64), StoreError> {
        let mut filter = Document::new();
        if !q.keywords.is_empty() {
            filter.insert("keywords", doc! { "$all": &q.keywords });
        }
        if !q.tags.is_empty() {
            filter.insert("tags", doc! { "$all": &q.tags });
        }
        if let Some(owner) = &q.owner_id {
            filter.insert("owner_id", owner);
        }
        let mut rating = Document::new();
        if let Some(min) = q.min_rating {
            rating.insert("$gte", min);
        }
        if let Some(max) = q.max_rating {
            rating.insert("$lte", max);
        }
        if !rating.is_empty() {
            filter.insert("rating_average", rating);
        }
        let mut created = Document::new();
        if let Some(from) = q.from {
            created.insert("$gte", to_bson_dt(from));
        }
        if let Some(to) = q.to {
            created.insert("$lte", to_bson_dt(to));
        }
        if !created.is_empty() {
            filter.insert("created_at", created);
        }
        let dir = if q.sort.descending() { -1 } else { 1 };
        let sort = if q.sort.by_rating() {
            doc! { "rating_average": dir, "created_at": dir, "_id": dir }
        } else {
            doc! { "created_at": dir, "_id": dir }
        };
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

#[derive(Debug, Serialize, Deserialize)]
struct CommentDoc {
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
struct RatingDoc {
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

#[derive(Debug, Serialize, Deserialize)]
struct LinkDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    photo_id: String,
    owner_id: String,
    transformation: String,
    slug: String,
    status: LinkStatus,
    error: Option<String>,
    attempts: i64,
    output: Option<LinkOutputDoc>,
    created_at: bson::DateTime,
    completed_at: Option<bson::DateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request_id: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct LinkOutputDoc {
    media_key: String,
    format: String,
    width: i64,
    height: i64,
    size_bytes: i64,
    sha256: String,
    qr_key: String,
    #[serde(default)]
    url: Option<String>,
}

impl From<LinkOutput> for LinkOutputDoc {
    fn from(o: LinkOutput) -> Self {
        LinkOutputDoc {
            media_key: o.media_key,
            format: o.format,
            width: i64::from(o.width),
            height: i64::from(o.height),
            size_bytes: o.size_bytes as i64,
            sha256: o.sha256,
            qr_key: o.qr_key,
            url: o.url,
        }
    }
}

impl From<LinkDoc> for LinkRecord {
    fn from(d: LinkDoc) -> Self {
        LinkRecord {
            id: d.id.to_hex(),
            photo_id: d.photo_id,
            owner_id: d.owner_id,
            transformation: d.transformation,
            slug: d.slug,
            status: d.status,
            error: d.error,
            attempts: u32::try_from(d.attempts).unwrap_or(0),
            output: d.output.map(|o| LinkOutput {
                media_key: o.media_key,
                format: o.format,
                width: u32::try_from(o.width).unwrap_or(0),
                height: u32::try_from(o.height).unwrap_or(0),
                size_bytes: u64::try_from(o.size_bytes).unwrap_or(0),
                sha256: o.sha256,
                qr_key: o.qr_key,
                url: o.url,
            }),
            created_at: from_bson_dt(d.created_at),
            completed_at: d.completed_at.map(from_bson_dt),
            request_id: d.request_id,
        }
    }
}

#[async_trait]
impl LinkRepo for MongoStore {
    async fn create_link(&self, l: LinkRecord) -> Result<(LinkRecord, bool), StoreError> {
        let existing = doc! { "photo_id": &l.photo_id, "transformation": &l.transformation };
        if let Some(found) = find_one_as(&self.links, existing.clone()).await? {
            return Ok((found, false));
        }
        if self.photo(&l.photo_id).await?.is_none() {
            return Err(StoreError::NotFound);
        }
        let doc = LinkDoc {
            id: parse_oid(&l.id).unwrap_or_default(),
            photo_id: l.photo_id.clone(),
            owner_id: l.owner_id.clone(),
            transformation: l.transformation.clone(),
            slug: l.slug.clone(),
            status: l.status,
            error: l.error.clone(),
            attempts: i64::from(l.attempts),
            output: l.output.clone().map(LinkOutputDoc::from),
            created_at: to_bson_dt(l.created_at),
            completed_at: l.completed_at.map(to_bson_dt),
            request_id: l.request_id.clone(),
        };
        match self.links.insert_one(doc).await {
            Ok(_) => Ok((l, true)),
            // Lost a race for the same transformation: the winner's link is the one.
            Err(e) if is_duplicate(&e) => find_one_as(&self.links, existing)
                .await?
                .map(|found| (found, false))
                .ok_or(StoreError::Conflict("transformation")),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        find_one_as(&self.links, doc! { "_id": oid }).await
    }

    async fn link_by_slug(&self, slug: &str) -> Result<Option<LinkRecord>, StoreError> {
        find_one_as(&self.links, doc! { "slug": slug }).await
    }

    async fn links(
        &self,
        photo_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<LinkRecord>, u64), StoreError> {
        let (filter, oldest_first) = (doc! { "photo_id": photo_id }, doc! { "_id": 1 });
        find_page(&self.links, filter, oldest_first, limit, offset).await
    }

    async fn count_attempt(&self, id: &str) -> Result<u32, StoreError> {
        let oid = parse_oid(id).ok_or(StoreError::NotFound)?;
        let updated = self
            .links
            .find_one_and_update(doc! { "_id": oid }, doc! { "$inc": { "attempts": 1_i64 } })
            .return_document(ReturnDocument::After)
            .await
            .map_err(StoreError::unavailable)?
            .ok_or(StoreError::NotFound)?;
        Ok(u32::try_from(updated.attempts).unwrap_or(u32::MAX))
    }

    async fn finish_link(
        &self,
        id: &str,
        outcome: LinkOutcome,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(false);
        };
        let set = match outcome {
            LinkOutcome::Done(output) => {
                let output =
                    bson::to_bson(&LinkOutputDoc::from(output)).map_err(StoreError::unavailable)?;
                doc! { "status": "done", "output": output, "completed_at": to_bson_dt(at) }
            }
            LinkOutcome::Failed(reason) => {
                doc! { "status": "failed", "error": reason, "completed_at": to_bson_dt(at) }
            }
        };
        // Only a pending link changes: a redelivered job finds it done and stops.
        let result = self
            .links
            .update_one(
                doc! { "_id": oid, "status": "pending" },
                doc! { "$set": set },
            )
            .await
            .map_err(StoreError::unavailable)?;
        Ok(result.modified_count == 1)
    }

    async fn delete_link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        let removed = self
            .links
            .find_one_and_delete(doc! { "_id": oid })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(removed.map(LinkRecord::from))
    }

    async fn delete_photo_links(&self, photo_id: &str) -> Result<Vec<LinkRecord>, StoreError> {
        let links: Vec<LinkDoc> = self
            .links
            .find(doc! { "photo_id": photo_id })
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        self.links
            .delete_many(doc! { "photo_id": photo_id })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(links.into_iter().map(LinkRecord::from).collect())
    }

    async fn pending_links(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError> {
        let filter = doc! { "status": "pending", "created_at": { "$lte": to_bson_dt(before) } };
        let docs: Vec<LinkDoc> = self
            .links
            .find(filter)
            .sort(doc! { "status": 1, "_id": 1 })
            .limit(i64::from(limit))
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(docs.into_iter().map(LinkRecord::from).collect())
    }

    async fn link_counts(&self) -> Result<LinkCounts, StoreError> {
        let mut counts = [0u64; 3];
        let statuses = [LinkStatus::Pending, LinkStatus::Done, LinkStatus::Failed];
        for (count, status) in counts.iter_mut().zip(statuses) {
            *count = self
                .links
                .count_documents(doc! { "status": status.as_str() })
                .await
                .map_err(StoreError::unavailable)?;
        }
        let [pending, done, failed] = counts;
        Ok(LinkCounts {
            pending,
            done,
            failed,
        })
    }
}

#[async_trait]
impl Health for MongoStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }
}
