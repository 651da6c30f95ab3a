//! PhotoStore: uploads, photo records, tags, deletions (`purge`), and the
//! transformation links that hang off photos (`links`). It owns the upload
//! pipeline's memory budget and the cache of served images, shared by its instance
//! in every HTTP worker.
//!
//! An upload becomes a stored original off the async threads, under a memory budget:
//! each ingest reserves (file size + decode size) MiB before it reads the file, so
//! many large uploads at once queue instead of growing memory. The record and the
//! stored file either both exist or neither: a failed insert removes the file, and a
//! crash in between leaves only an unreferenced file that nothing serves.

use std::path::PathBuf;
use std::sync::Arc;

use actix::prelude::*;
use bytes::Bytes;
use tokio::sync::Semaphore;

use crate::actors::transform_worker::TransformWorker;
use crate::auth::Caller;
use crate::domain::{Description, PublicUrls, Role, Tags};
use crate::ids::{new_id, now_millis, random_id};
use crate::media::engine::Limits;
use crate::media::ingest::{self, Format, IngestError};
use crate::media::{MediaError, MediaStore};
use crate::queue::bus::{Event, EventBus};
use crate::queue::{Job, JobQueue};
use crate::store::{PhotoQuery, PhotoRecord, Store, StoreError, TagCount};

mod delivery;
mod export;
mod links;
mod purge;
mod variants;
pub use delivery::{delivery_prefix, OpenDelivered, PlanDelivery};
pub use export::{Export, ExportAccount, ExportStream, MAX_EXPORTS};
pub use links::*;
pub use purge::{PurgeError, Purger};
pub use variants::{default_format, variant_keys, Made, OpenVariant};

#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("photo not found")]
    NotFound,
    #[error("only the owner or an admin may change this photo")]
    Forbidden,
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error("too many exports are running; try again in a minute")]
    Busy,
    #[error("you already uploaded this photo")]
    Duplicate(String),
    #[error("upload processing failed")]
    Processing(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("the photo store is not running")]
    Mailbox(#[from] actix::MailboxError),
}

/// Stores an uploaded file (spooled to disk by the HTTP layer) as a new photo.
#[derive(Message)]
#[rtype(result = "Result<PhotoRecord, PhotoError>")]
pub struct Upload {
    pub owner: Caller,
    pub file: tempfile::TempPath,
    pub description: Description,
    pub tags: Tags,
}

/// Which of these originals (hex SHA-256 of the file as sent) the owner already
/// has, as (sha256, photo id).
#[derive(Message)]
#[rtype(result = "Result<Vec<(String, String)>, PhotoError>")]
pub struct CheckOriginals {
    pub owner_id: String,
    pub sha256: Vec<String>,
}

/// One photo by id.
#[derive(Message)]
#[rtype(result = "Result<PhotoRecord, PhotoError>")]
pub struct GetPhoto {
    pub id: String,
}

/// Replaces description and (optionally) tags; owner or admin.
#[derive(Message)]
#[rtype(result = "Result<PhotoRecord, PhotoError>")]
pub struct UpdatePhoto {
    pub id: String,
    pub caller: Caller,
    pub description: Description,
    pub tags: Option<Tags>,
}

/// Deletes the photo and everything hanging off it; owner or admin.
#[derive(Message)]
#[rtype(result = "Result<(), PhotoError>")]
pub struct DeletePhoto {
    pub id: String,
    pub caller: Caller,
}

/// Tags with a name prefix, and their photo counts.
#[derive(Message)]
#[rtype(result = "Result<(Vec<TagCount>, u64), PhotoError>")]
pub struct ListTags {
    pub prefix: String,
    pub limit: u32,
    pub offset: u64,
}

/// A page of search results; `owner` is a username, resolved to its account here
/// (an unknown one matches nothing).
#[derive(Message)]
#[rtype(result = "Result<(Vec<PhotoRecord>, u64), PhotoError>")]
pub struct SearchPhotos {
    pub query: PhotoQuery,
    pub owner: Option<String>,
}

/// How many photos a user has.
#[derive(Message)]
#[rtype(result = "Result<u64, PhotoError>")]
pub struct PhotoCount {
    pub owner_id: String,
}

/// The stored image behind a public link.
#[derive(Message)]
#[rtype(result = "Result<Image, PhotoError>")]
pub struct OpenImage {
    pub slug: String,
}

pub enum Image {
    Bytes {
        bytes: Bytes,
        content_type: &'static str,
        etag: String,
    },
    /// Too big for the image cache: streamed from the media store as it arrives.
    Stream {
        body: crate::media::MediaBody,
        content_type: &'static str,
        etag: String,
    },
    Redirect(String),
}

/// Small in-memory cache of stored images (they never change under a key), bounded
/// in bytes, evicting the oldest entry first.
struct ImageCache {
    inner: std::sync::Mutex<CacheInner>,
    capacity: usize,
}

#[derive(Default)]
struct CacheInner {
    map: std::collections::HashMap<String, Bytes>,
    order: std::collections::VecDeque<String>,
    size: usize,
}

impl ImageCache {
    fn get(&self, key: &str) -> Option<Bytes> {
        self.inner.lock().ok()?.map.get(key).cloned()
    }

    /// Whether an object of `len` bytes would be kept.
    fn keeps(&self, len: u64) -> bool {
        len <= (self.capacity / 4) as u64
    }

    fn put(&self, key: &str, bytes: Bytes) {
        if !self.keeps(bytes.len() as u64) {
            return;
        }
        let Ok(mut c) = self.inner.lock() else { return };
        if c.map.contains_key(key) {
            return;
        }
        while c.size + bytes.len() > self.capacity {
            let Some(old) = c.order.pop_front() else {
                break;
            };
            if let Some(b) = c.map.remove(&old) {
                c.size -= b.len();
            }
        }
        c.size += bytes.len();
        c.order.push_back(key.to_owned());
        c.map.insert(key.to_owned(), bytes);
    }

    fn remove(&self, key: &str) {
        if let Ok(mut c) = self.inner.lock() {
            if let Some(b) = c.map.remove(key) {
                c.size -= b.len();
                c.order.retain(|k| k != key);
            }
        }
    }
}

/// The rules and the resources PhotoStore owns (memory budget, image cache), with
/// what it reaches through them (storage, media, the job queue, the renderers).
/// One per process, shared by every PhotoStore instance.
#[derive(Clone)]
pub struct Photos {
    store: Store,
    media: Arc<dyn MediaStore>,
    queue: Arc<dyn JobQueue>,
    workers: TransformWorker,
    bus: EventBus,
    urls: PublicUrls,
    limits: Limits,
    /// Links one owner may have waiting for their jobs.
    max_pending: u64,
    /// Memory budget for ingest, in MiB.
    budget: Arc<Semaphore>,
    budget_mib: u32,
    max_pixels: u64,
    cache: Arc<ImageCache>,
    /// Permits for the account exports running at once.
    exports: Arc<Semaphore>,
    /// Display sizes being made, and a count of those made.
    variants: Arc<variants::VariantRenders>,
}

fn mib(bytes: u64) -> u32 {
    u32::try_from(bytes.div_ceil(1 << 20)).unwrap_or(u32::MAX)
}

impl Photos {
    pub fn new(
        store: Store,
        media: Arc<dyn MediaStore>,
        queue: Arc<dyn JobQueue>,
        workers: TransformWorker,
        settings: PhotoSettings,
    ) -> Self {
        let budget_mib = settings.budget_mib.max(1);
        Photos {
            store,
            media,
            queue,
            workers,
            bus: settings.bus,
            urls: settings.urls,
            max_pending: settings.max_pending,
            limits: settings.limits,
            budget: Arc::new(Semaphore::new(budget_mib as usize)),
            budget_mib,
            max_pixels: settings.max_pixels,
            cache: Arc::new(ImageCache {
                inner: Default::default(),
                capacity: settings.cache_bytes,
            }),
            exports: Arc::new(Semaphore::new(MAX_EXPORTS)),
            variants: Arc::default(),
        }
    }

    pub(crate) async fn upload(self, msg: Upload) -> Result<PhotoRecord, PhotoError> {
        let path: PathBuf = msg.file.to_path_buf();
        let max_pixels = self.max_pixels;
        let (size, format, dims, bpp) =
            tokio::task::spawn_blocking(move || -> Result<_, PhotoError> {
                use image::ImageDecoder;
                let size = std::fs::metadata(&path).map_err(processing)?.len();
                let file = std::fs::File::open(&path).map_err(processing)?;
                let mut head = [0u8; 16];
                let n = std::io::Read::read(&mut &file, &mut head).map_err(processing)?;
                let format = Format::sniff(&head[..n]).ok_or(IngestError::Unsupported)?;
                let reader = image::ImageReader::new(std::io::BufReader::new(
                    std::fs::File::open(&path).map_err(processing)?,
                ))
                .with_guessed_format()
                .map_err(processing)?;
                // Headers only: nothing is decoded before the memory is reserved.
                let decoder = reader.into_decoder().map_err(|_| IngestError::Corrupt)?;
                let dims = decoder.dimensions();
                let bpp = decoder.color_type().bytes_per_pixel();
                Ok((size, format, dims, bpp))
            })
            .await
            .map_err(processing)??;
        let (width, height) = dims;
        if u64::from(width) * u64::from(height) > max_pixels {
            return Err(IngestError::TooManyPixels {
                width,
                height,
                max: max_pixels,
            }
            .into());
        }
        let need = mib(size).saturating_add(mib(ingest::memory_needed(format, width, height, bpp)));
        if need > self.budget_mib {
            return Err(IngestError::TooMuchMemory {
                need_mib: need,
                max_mib: self.budget_mib,
            }
            .into());
        }
        let _permit = self.budget.acquire_many(need).await.map_err(processing)?;
        let file = msg.file;
        let (source_sha256, ingested) = tokio::task::spawn_blocking(move || {
            use sha2::Digest;
            let data = std::fs::read(&file).map_err(processing)?;
            drop(file);
            let source = hex::encode(sha2::Sha256::digest(&data));
            Ok::<_, PhotoError>((source, ingest::ingest(data, max_pixels)?))
        })
        .await
        .map_err(processing)??;
        let owner_id = msg.owner.id.clone();
        self.refuse_duplicate(&owner_id, &source_sha256).await?;

        let id = new_id();
        let random = random_id();
        let key = format!(
            "p/{}/{}.{}",
            &random[..2],
            random,
            ingested.format.extension()
        );
        let size_bytes = ingested.bytes.len() as u64;
        self.media
            .put(&key, Bytes::from(ingested.bytes), ingested.format.mime())
            .await?;
        let now = now_millis();
        let record = PhotoRecord {
            id,
            slug: random_id(),
            owner_id: msg.owner.id,
            owner_username: msg.owner.username,
            description: msg.description.into_inner(),
            tags: msg.tags.names(),
            width: ingested.width,
            height: ingested.height,
            format: ingested.format.name().to_owned(),
            size_bytes,
            media_key: key.clone(),
            sha256: ingested.sha256,
            source_sha256: source_sha256.clone(),
            meta: ingested.metadata,
            placeholder: ingested.placeholder,
            created_at: now,
            updated_at: now,
            rating_sum: 0,
            rating_count: 0,
            comment_count: 0,
        };
        if let Err(e) = self.store.photos.insert_photo(record.clone()).await {
            if let Err(cleanup) = self.media.delete(&key).await {
                tracing::error!(key, error = %crate::errors::error_chain(&cleanup),
                    "could not remove the stored file of a failed upload");
            }
            if matches!(e, StoreError::Conflict("original")) {
                // The same file uploaded at the same time: the other one won.
                self.refuse_duplicate(&owner_id, &source_sha256).await?;
            }
            return Err(e.into());
        }
        self.bus
            .publish(Event::UserChanged(record.owner_id.clone()));
        Ok(record)
    }

    async fn get(self, msg: GetPhoto) -> Result<PhotoRecord, PhotoError> {
        self.store
            .photos
            .photo(&msg.id)
            .await?
            .ok_or(PhotoError::NotFound)
    }

    async fn owned(&self, id: &str, caller: &Caller) -> Result<PhotoRecord, PhotoError> {
        let photo = self
            .store
            .photos
            .photo(id)
            .await?
            .ok_or(PhotoError::NotFound)?;
        if photo.owner_id != caller.id && caller.role != Role::Admin {
            return Err(PhotoError::Forbidden);
        }
        Ok(photo)
    }

    async fn update(self, msg: UpdatePhoto) -> Result<PhotoRecord, PhotoError> {
        self.owned(&msg.id, &msg.caller).await?;
        let updated = self
            .store
            .photos
            .update_photo(
                &msg.id,
                msg.description.into_inner(),
                msg.tags.map(|t| t.names()),
                now_millis(),
            )
            .await
            .map_err(|e| match e {
                StoreError::NotFound => PhotoError::NotFound,
                other => other.into(),
            })?;
        Ok(updated)
    }

    /// The tombstone first, in one atomic step (the photo is gone for everyone at
    /// once, its tags unlinked); the rest is the purge's, a queued job (see
    /// `purge`). A queue that is down delays the purge until the sweeper
    /// publishes it; the deletion is answered either way.
    async fn delete(self, msg: DeletePhoto) -> Result<(), PhotoError> {
        self.owned(&msg.id, &msg.caller).await?;
        self.delete_now(&msg.id).await?.ok_or(PhotoError::NotFound)
    }

    /// `Duplicate` when the owner already has this original.
    async fn refuse_duplicate(
        &self,
        owner_id: &str,
        source_sha256: &str,
    ) -> Result<(), PhotoError> {
        let shas = [source_sha256.to_owned()];
        match self.store.photos.originals(owner_id, &shas).await?.pop() {
            Some((_, photo_id)) => Err(PhotoError::Duplicate(photo_id)),
            None => Ok(()),
        }
    }

    async fn check(self, msg: CheckOriginals) -> Result<Vec<(String, String)>, PhotoError> {
        Ok(self
            .store
            .photos
            .originals(&msg.owner_id, &msg.sha256)
            .await?)
    }

    /// Moderation: deletes a reported photo whoever owns it (the moderation queue
    /// decided); one that is gone already is as good as removed.
    pub async fn remove(&self, id: &str) -> Result<(), PhotoError> {
        self.delete_now(id).await.map(drop)
    }

    /// Takes the photo out of every read and queues its purge; `None` when there
    /// is no such photo.
    async fn delete_now(&self, id: &str) -> Result<Option<()>, PhotoError> {
        let Some(photo) = self.store.photos.delete_photo(id, now_millis()).await? else {
            return Ok(None);
        };
        // Out of every album at once (the purge does it again after a crash).
        if let Err(e) = self.store.albums.remove_photo_everywhere(id).await {
            tracing::warn!(photo_id = %id, error = %crate::errors::error_chain(&e),
                "a deleted photo is still in albums until its purge");
        }
        self.bus.publish(Event::UserChanged(photo.owner_id.clone()));
        self.cache.remove(&photo.media_key);
        if let Err(e) = self
            .queue
            .publish(&Job::purge(&photo.id, &photo.owner_id))
            .await
        {
            tracing::warn!(photo_id = %photo.id, error = %crate::errors::error_chain(&e),
                "could not queue the purge of a deleted photo; the sweeper will");
        }
        Ok(Some(()))
    }

    async fn tags(self, msg: ListTags) -> Result<(Vec<TagCount>, u64), PhotoError> {
        Ok(self
            .store
            .photos
            .tags(&msg.prefix, msg.limit, msg.offset)
            .await?)
    }

    async fn search(self, msg: SearchPhotos) -> Result<(Vec<PhotoRecord>, u64), PhotoError> {
        let mut query = msg.query;
        if let Some(owner) = msg.owner {
            let key = owner.to_ascii_lowercase();
            match self.store.users.by_username(&key).await? {
                Some(user) => query.owner_id = Some(user.id),
                None => return Ok((Vec::new(), 0)),
            }
        }
        Ok(self.store.photos.search(&query).await?)
    }

    async fn count(self, msg: PhotoCount) -> Result<u64, PhotoError> {
        Ok(self.store.photos.photo_count(&msg.owner_id).await?)
    }

    /// The live photo behind a public slug.
    async fn photo_by_slug(&self, slug: &str) -> Result<PhotoRecord, PhotoError> {
        let photo = self.store.photos.photo_by_slug(slug).await?;
        photo.ok_or(PhotoError::NotFound)
    }

    /// A stored file, from the cache or the media store (then cached).
    async fn stored(&self, key: &str) -> Result<Option<Bytes>, PhotoError> {
        if let Some(bytes) = self.cache.get(key) {
            return Ok(Some(bytes));
        }
        let bytes = self.media.get(key).await?;
        if let Some(bytes) = &bytes {
            self.cache.put(key, bytes.clone());
        }
        Ok(bytes)
    }

    async fn open(self, msg: OpenImage) -> Result<Image, PhotoError> {
        let photo = self.photo_by_slug(&msg.slug).await?;
        if let Some(url) = self.media.redirect_url(&photo.media_key).await? {
            return Ok(Image::Redirect(url));
        }
        let content_type =
            Format::parse(&photo.format).map_or("application/octet-stream", Format::mime);
        let etag = photo.sha256;
        if let Some(bytes) = self.cache.get(&photo.media_key) {
            return Ok(Image::Bytes {
                bytes,
                content_type,
                etag,
            });
        }
        // An original the cache would not keep (most are, at 20 MiB) is passed on
        // as it arrives, never held whole.
        let body = self.media.open(&photo.media_key).await?;
        let body = body.ok_or(PhotoError::NotFound)?;
        if !self.cache.keeps(body.len) {
            return Ok(Image::Stream {
                body,
                content_type,
                etag,
            });
        }
        let bytes = body.collect().await?;
        self.cache.put(&photo.media_key, bytes.clone());
        Ok(Image::Bytes {
            bytes,
            content_type,
            etag,
        })
    }
}

fn processing(e: impl std::error::Error + Send + Sync + 'static) -> PhotoError {
    PhotoError::Processing(Box::new(e))
}

service_actor! {
    /// Uploads, photo records, tags, the delete cascade, and transformation links.
    PhotoStore(Photos) {
    Upload => upload,
    GetPhoto => get,
    UpdatePhoto => update,
    DeletePhoto => delete,
    ListTags => tags,
    SearchPhotos => search,
    PhotoCount => count,
    OpenImage => open,
    OpenVariant => open_variant,
    OpenDelivered => open_delivered,
    PlanDelivery => plan_delivery,
    CreateLink => create_link,
    GetLink => get_link,
    ListLinks => list_links,
    DeleteLink => delete_link,
    OpenLink => open_link,
    LinkQr => link_qr,
    ListJobs => list_jobs,
    RetryJob => retry_job,
    ExportAccount => export,
    CheckOriginals => check,
}
}

pub struct PhotoSettings {
    pub max_pixels: u64,
    pub budget_mib: u32,
    pub cache_bytes: usize,
    pub limits: Limits,
    /// Links one owner may have waiting for their jobs (`queue.max_pending_per_user`).
    pub max_pending: u64,
    pub urls: PublicUrls,
    /// Where "this account's photo count changed" is announced.
    pub bus: EventBus,
}

/// The typed handle the HTTP layer uses.
pub type PhotoStoreHandle = super::Handle<PhotoStore>;
