//! The MongoDB backend (official driver). Uniqueness lives in unique indexes on
//! case-folded keys (collations are not on every MongoDB-protocol server we test with),
//! created at startup together with a TTL index that empties the token blocklist.
//!
//! Writes that change several documents together (a comment and its photo's count,
//! a tag edit and the tag counts, a deletion's tombstone) are multi-document
//! transactions (`transaction`), so MongoDB must run as a replica set; a single-node
//! one is enough, and a standalone server is refused at start-up with that advice.

mod albums;
mod feedback;
mod fsck;
mod links;
mod photos;
pub mod search;
mod social;
mod users;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::future::BoxFuture;
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, oid::ObjectId, Document};
use mongodb::error::{Error as MongoError, ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, Hint, IndexOptions};
use mongodb::{Client, ClientSession, Collection, Database, IndexModel};

use super::{Health, StoreError};
use feedback::{CommentDoc, RatingDoc};
use links::LinkDoc;
use photos::{DeletionDoc, PhotoDoc};
use users::{SessionDoc, UserDoc};

const DUPLICATE_KEY: i32 = 11000;

#[derive(Debug, thiserror::Error)]
#[error(
    "MongoDB refused a transaction ({0}): run it as a replica set (a single node is \
     enough: start mongod with --replSet rs0, then rs.initiate() once)"
)]
struct NoTransactions(String);

#[derive(Clone)]
pub struct MongoStore {
    db: Database,
    users: Collection<UserDoc>,
    sessions: Collection<SessionDoc>,
    blocklist: Collection<Document>,
    claims: Collection<Document>,
    photos: Collection<PhotoDoc>,
    deletions: Collection<DeletionDoc>,
    meta: Collection<Document>,
    tags: Collection<Document>,
    comments: Collection<CommentDoc>,
    ratings: Collection<RatingDoc>,
    links: Collection<LinkDoc>,
    follows: Collection<social::FollowDoc>,
    follow_counts: Collection<Document>,
    notifications: Collection<social::NotificationDoc>,
    reports: Collection<social::ReportDoc>,
    open_reports: Collection<Document>,
    albums: Collection<albums::AlbumDoc>,
    shares: Collection<albums::ShareDoc>,
    /// `{owner id}:{sha256 of the original}` -> photo id (duplicates).
    originals: Collection<Document>,
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
            deletions: db.collection("photo_deletions"),
            meta: db.collection("meta"),
            links: db.collection("links"),
            tags: db.collection("tags"),
            comments: db.collection("comments"),
            ratings: db.collection("ratings"),
            follows: db.collection("follows"),
            follow_counts: db.collection("follow_counts"),
            notifications: db.collection("notifications"),
            reports: db.collection("reports"),
            open_reports: db.collection("open_reports"),
            albums: db.collection("albums"),
            shares: db.collection("shares"),
            originals: db.collection("originals"),
            db,
        };
        store.ping().await?;
        store.create_indexes().await?;
        store.check_transactions().await?;
        store.finish_admin_claim().await?;
        store.backfill_search_fields().await?;
        store.rekey_emails().await?;
        Ok(store)
    }

    /// Runs `body` as one multi-document transaction: all of its writes or none. The
    /// driver runs it again from the start when it conflicts with a concurrent one
    /// (TransientTransactionError) and retries a commit whose result is unknown, so
    /// `body` decides everything from what it reads inside, and reports an outcome
    /// (not found, ...) as its value, deciding before its first write.
    async fn transaction<R, F>(&self, mut body: F) -> Result<R, MongoError>
    where
        F: for<'s> FnMut(
                &'s mut ClientSession,
                &'s MongoStore,
            ) -> BoxFuture<'s, Result<R, MongoError>>
            + Send,
    {
        let mut session = self.db.client().start_session().await?;
        session
            .start_transaction()
            .and_run(self, |s, store| body(s, store))
            .await
    }

    /// A trial transaction, so that a server without them (a standalone mongod)
    /// stops the start with advice instead of failing every write later.
    async fn check_transactions(&self) -> Result<(), StoreError> {
        let trial = self
            .transaction(|s, store| {
                Box::pin(async move {
                    store
                        .meta
                        .find_one(doc! { "_id": "trial" })
                        .session(s)
                        .await?;
                    Ok(())
                })
            })
            .await;
        trial.map_err(|e| StoreError::unavailable(NoTransactions(e.to_string())))
    }

    async fn create_indexes(&self) -> Result<(), StoreError> {
        let unique = |field: &str| {
            IndexModel::builder()
                .keys(doc! { field: 1 })
                .options(IndexOptions::builder().unique(true).build())
                .build()
        };
        self.users
            .create_indexes([
                unique("username_key"),
                unique("email_key"),
                // Only accounts being deleted carry the field.
                IndexModel::builder()
                    .keys(doc! { "deleting": 1 })
                    .options(IndexOptions::builder().sparse(true).build())
                    .build(),
            ])
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
        // The two `taken_at` sorts (see `PhotoRepo::search`), and its bounds.
        let latest_taken = IndexModel::builder()
            .keys(doc! { "taken_at": -1, "created_at": -1, "_id": -1 })
            .build();
        let earliest_taken = IndexModel::builder()
            .keys(doc! { "taken_missing": 1, "taken_at": 1, "created_at": 1, "_id": 1 })
            .build();
        self.deletions
            .create_index(plain("requested_at"))
            .await
            .map_err(StoreError::unavailable)?;
        self.photos
            .create_indexes([
                unique("slug"),
                newest("owner_id"),
                newest("tags"),
                newest("keywords"),
                newest("camera_words"),
                newest(""),
                by_rating,
                latest_taken,
                earliest_taken,
            ])
            .await
            .map_err(StoreError::unavailable)?;
        let by_photo = IndexModel::builder()
            .keys(doc! { "photo_id": 1, "_id": 1 })
            .build();
        self.comments
            .create_indexes([
                by_photo.clone(),
                plain("author_id"),
                IndexModel::builder()
                    .keys(doc! { "author_id": 1, "_id": 1 })
                    .build(),
            ])
            .await
            .map_err(StoreError::unavailable)?;
        let one_per_user = IndexModel::builder()
            .keys(doc! { "photo_id": 1, "user_id": 1 })
            .options(IndexOptions::builder().unique(true).build())
            .build();
        self.ratings
            .create_indexes([
                one_per_user,
                by_photo.clone(),
                IndexModel::builder()
                    .keys(doc! { "user_id": 1, "_id": 1 })
                    .build(),
            ])
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
            .create_indexes([
                one_per_transformation,
                unique("slug"),
                by_photo,
                outbox,
                // A user's pending links: the cap on queued jobs per user.
                IndexModel::builder()
                    .keys(doc! { "owner_id": 1, "status": 1 })
                    .build(),
                // Jobs done per minute over the last hour (the admin console).
                IndexModel::builder()
                    .keys(doc! { "status": 1, "completed_at": 1 })
                    .build(),
            ])
            .await
            .map_err(StoreError::unavailable)?;
        self.create_social_indexes().await?;
        self.create_album_indexes().await
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
    let mut count = coll.count_documents(filter.clone());
    if filter.is_empty() {
        // Counting everything would scan the collection: count the `_id` index.
        count = count.hint(Hint::Keys(doc! { "_id": 1 }));
    }
    let total = count.await.map_err(StoreError::unavailable)?;
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

fn to_bson_dt(t: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_millis(t.timestamp_millis())
}

fn from_bson_dt(t: bson::DateTime) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(t.timestamp_millis()).unwrap_or_default()
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
