//! Resumable uploads (tus 1.0.0). `UploadDesk` owns the unfinished uploads: their
//! bytes and records (in this node's partial-upload folder, or with media on S3 in
//! the bucket, shared by every node: see `parts`), each account's bounds (count
//! and bytes), one writer at a time per upload, expiry, and the hand-over to
//! `Photos::upload` when the last byte is in, which runs the same checks as a
//! multipart upload.
//!
//! A record says who, how long and what the photo will be called; the bytes are
//! kept as they are acknowledged, so a crash loses nothing a client was told is
//! in. Once the photo is stored the bytes go and the record stays, with the
//! photo's id, until it expires: a client whose last answer was lost asks again
//! and learns the id. An upload whose bytes are all in but whose photo could not
//! be stored (the database was down) is finished by the sweep, which also drops
//! expired uploads.

mod parts;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::MailboxError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use parts::{Parts, Sink};

use super::photo_store::{PhotoError, Photos, Upload};
use crate::auth::Caller;
use crate::domain::{Description, Role, Tags};
use crate::media::{MediaError, MediaStore};
use crate::store::Store;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("upload not found")]
    NotFound,
    #[error("another request is writing to this upload; retry when it ends")]
    Locked,
    /// The client's offset is not the server's (which is given).
    #[error("this upload is at offset {0}")]
    OffsetMismatch(u64),
    #[error("the upload already has all its bytes")]
    Complete,
    #[error("at most {0} unfinished uploads per account; finish or cancel one")]
    TooMany(usize),
    #[error("{0}")]
    TooLarge(String),
    #[error(transparent)]
    Photo(#[from] PhotoError),
    #[error("partial upload storage failed")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error(transparent)]
    Mailbox(#[from] MailboxError),
}

/// Bounds and places; see `[media]` in the configuration.
#[derive(Clone)]
pub struct UploadSettings {
    /// The partial-upload folder, or with `bucket` this node's spool.
    pub dir: PathBuf,
    /// Keeps the uploads in the media store (S3) instead, shared by every node.
    pub bucket: Option<Arc<dyn MediaStore>>,
    pub ttl: Duration,
    /// Largest upload (the multipart limit).
    pub max_bytes: u64,
    pub max_per_account: usize,
    pub max_bytes_per_account: u64,
}

/// An upload's record (`{id}.json`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UploadRecord {
    pub id: String,
    pub owner_id: String,
    pub owner_username: String,
    pub length: u64,
    pub filename: String,
    pub description: String,
    pub tags: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// Set once the photo is stored.
    #[serde(default)]
    pub photo_id: Option<String>,
}

struct Entry {
    record: UploadRecord,
    /// A PATCH or the hand-over holds it.
    busy: bool,
    /// While a PATCH writes: the offset the upload would have if it ended now.
    arrived: Option<Arc<AtomicU64>>,
}

impl Entry {
    /// Live and `owner_id`'s.
    fn is_of(&self, owner_id: &str) -> bool {
        self.record.owner_id == owner_id && self.record.expires_at > Utc::now()
    }
}

struct Shared {
    settings: UploadSettings,
    parts: Parts,
    table: Mutex<HashMap<String, Entry>>,
    /// One creation at a time (the per-account bounds).
    creating: tokio::sync::Mutex<()>,
    photos: Photos,
    /// Whose uploads may still become photos.
    store: Store,
}

#[derive(Clone)]
pub struct Uploads {
    shared: Arc<Shared>,
}

/// Creates an upload of `length` bytes (tus creation).
#[derive(actix::Message)]
#[rtype(result = "Result<UploadRecord, UploadError>")]
pub struct CreateUpload {
    pub owner: Caller,
    pub length: u64,
    pub filename: String,
    pub description: Description,
    pub tags: Tags,
}

/// An upload of `owner_id`'s and its offset (tus HEAD).
#[derive(actix::Message)]
#[rtype(result = "Result<(UploadRecord, u64), UploadError>")]
pub struct UploadStatus {
    pub id: String,
    pub owner_id: String,
}

/// The right to append at `offset` (tus PATCH), until the [`Patch`] is dropped.
#[derive(actix::Message)]
#[rtype(result = "Result<Patch, UploadError>")]
pub struct BeginPatch {
    pub id: String,
    pub owner_id: String,
    pub offset: u64,
}

/// Makes the photo of an upload whose bytes are all in; its id.
#[derive(actix::Message)]
#[rtype(result = "Result<String, UploadError>")]
pub struct FinishUpload {
    pub id: String,
    pub owner_id: String,
}

/// Cancels an upload (tus termination).
#[derive(actix::Message)]
#[rtype(result = "Result<(), UploadError>")]
pub struct CancelUpload {
    pub id: String,
    pub owner_id: String,
}

/// An append in progress. The bytes go to a writer task that owns the file, so a
/// handler dropped halfway (the client went away) leaves no write in flight: the
/// writer ends what it was given, then keeps it (the client resumes from what
/// arrived) or, if the chunk came with a checksum that unverified bytes cannot
/// match, cuts the file back; only then is the upload free for the next PATCH.
pub struct Patch {
    tx: tokio::sync::mpsc::Sender<Write>,
    pub start: u64,
    /// The upload's record as the PATCH began.
    pub record: UploadRecord,
    pub written: u64,
}

enum Write {
    Bytes(bytes::Bytes),
    /// A chunk that must not be kept halfway (it had a checksum).
    AllOrNothing,
    /// Make it durable and answer the new offset.
    Commit(tokio::sync::oneshot::Sender<Result<u64, UploadError>>),
    /// Give up this chunk (kept or cut back as above) and answer when done.
    Abandon(tokio::sync::oneshot::Sender<()>),
}

impl Patch {
    /// Bytes this append may still take.
    pub fn room(&self) -> u64 {
        self.record.length - self.start - self.written
    }

    /// Appends a chunk; the caller checks `room` first.
    pub async fn write(&mut self, chunk: bytes::Bytes) -> Result<(), UploadError> {
        let n = chunk.len() as u64;
        self.tx
            .send(Write::Bytes(chunk))
            .await
            .map_err(|_| std::io::Error::other("the upload's writer stopped"))?;
        self.written += n;
        Ok(())
    }

    pub async fn all_or_nothing(&mut self) {
        let _ = self.tx.send(Write::AllOrNothing).await;
    }

    /// Ends this append without committing it, once the file is settled: what
    /// arrived is kept, or cut back after `all_or_nothing`.
    pub async fn abandon(self) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Write::Abandon(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// Makes the bytes durable; the new offset.
    pub async fn commit(self) -> Result<u64, UploadError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let gone = || UploadError::Io(std::io::Error::other("the upload's writer stopped"));
        self.tx.send(Write::Commit(tx)).await.map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }
}

/// Owns an upload's sink during one PATCH (see [`Patch`]).
async fn write_patch(
    uploads: Uploads,
    record: UploadRecord,
    mut sink: Sink,
    start: u64,
    mut rx: tokio::sync::mpsc::Receiver<Write>,
    arrived: Arc<AtomicU64>,
) {
    let parts = &uploads.shared.parts;
    let (mut keep_partial, mut failed, mut written) = (true, None, 0u64);
    while let Some(write) = rx.recv().await {
        match write {
            Write::Bytes(chunk) if failed.is_none() => match sink.file.write_all(&chunk).await {
                Ok(()) => {
                    written += chunk.len() as u64;
                    if keep_partial {
                        arrived.store(start + written, Ordering::Relaxed);
                    }
                }
                Err(e) => failed = Some(e),
            },
            Write::Bytes(_) => {}
            Write::AllOrNothing => {
                keep_partial = false;
                arrived.store(start, Ordering::Relaxed);
            }
            Write::Commit(reply) => {
                let done = match failed.take() {
                    Some(e) => {
                        parts.settle(&record, sink, start, written, false).await;
                        Err(e.into())
                    }
                    None => parts.commit(&record, sink, start, written).await,
                };
                let _ = reply.send(done.map(|()| start + written));
                uploads.release(&record.id);
                return;
            }
            Write::Abandon(reply) => {
                parts
                    .settle(&record, sink, start, written, keep_partial)
                    .await;
                uploads.release(&record.id);
                let _ = reply.send(());
                return;
            }
        }
    }
    // The handler went away before committing.
    parts
        .settle(&record, sink, start, written, keep_partial)
        .await;
    uploads.release(&record.id);
}

/// An upload one request holds (busy): freed when this is dropped, unless it was
/// handed to a PATCH's writer, which frees it when it ends.
struct Held {
    uploads: Uploads,
    id: String,
    armed: bool,
}

impl Held {
    fn hand_over(mut self) {
        self.armed = false;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.armed {
            self.uploads.release(&self.id);
        }
    }
}

/// What taking an upload found.
enum Claim {
    /// Still receiving: now held by this request.
    Held(Box<UploadRecord>, Held),
    /// Its photo exists (this id).
    Done(String),
}

impl Uploads {
    /// Opens the folder, keeping the uploads that have not expired and removing
    /// everything else in it (expired uploads, bytes without a record); with a
    /// bucket, clears this node's spool.
    pub fn open(settings: UploadSettings, photos: Photos, store: Store) -> std::io::Result<Self> {
        let parts = match &settings.bucket {
            Some(media) => Parts::Bucket {
                media: media.clone(),
                spool: settings.dir.clone(),
            },
            None => Parts::Folder(settings.dir.clone()),
        };
        let kept = parts.open()?;
        if !kept.is_empty() {
            tracing::info!(uploads = kept.len(), "unfinished uploads kept");
        }
        let table = kept.into_iter().map(|record| {
            let entry = Entry {
                record,
                busy: false,
                arrived: None,
            };
            (entry.record.id.clone(), entry)
        });
        Ok(Uploads {
            shared: Arc::new(Shared {
                settings,
                parts,
                table: Mutex::new(table.collect()),
                creating: tokio::sync::Mutex::new(()),
                photos,
                store,
            }),
        })
    }

    fn parts(&self) -> &Parts {
        &self.shared.parts
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.shared.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn release(&self, id: &str) {
        if let Some(entry) = self.table().get_mut(id) {
            entry.busy = false;
            entry.arrived = None;
        }
    }

    /// With a bucket, reads the upload as it is now (another node may have taken
    /// it further, finished or cancelled it) into this node's table.
    async fn refresh(&self, id: &str, owner_id: &str) -> Result<(), UploadError> {
        let Parts::Bucket { media, .. } = self.parts() else {
            return Ok(());
        };
        let found = Parts::fetch(&**media, owner_id, id).await?;
        let mut table = self.table();
        match (found, table.get_mut(id)) {
            (Some(record), Some(entry)) => entry.record = record,
            (Some(record), None) => {
                let (busy, arrived) = (false, None);
                table.insert(
                    id.to_owned(),
                    Entry {
                        record,
                        busy,
                        arrived,
                    },
                );
            }
            (None, Some(entry)) if !entry.busy => {
                table.remove(id);
            }
            (None, _) => {}
        }
        Ok(())
    }

    /// Takes the owner's upload for one request: others' are "not found", like
    /// missing and expired ones; one another request holds is locked.
    async fn claim(&self, id: &str, owner_id: &str) -> Result<Claim, UploadError> {
        self.refresh(id, owner_id).await?;
        // The PATCH holding it may be one whose client just went away, still
        // keeping what arrived: a client that resumes at once waits for that
        // rather than being told "locked" and asking for the offset again.
        self.settled(id, Duration::from_secs(5)).await;
        let mut table = self.table();
        let entry = match table.get_mut(id) {
            Some(e) if e.is_of(owner_id) => e,
            _ => return Err(UploadError::NotFound),
        };
        if let Some(photo) = &entry.record.photo_id {
            return Ok(Claim::Done(photo.clone()));
        }
        if entry.busy {
            return Err(UploadError::Locked);
        }
        entry.busy = true;
        let held = Held {
            uploads: self.clone(),
            id: id.to_owned(),
            armed: true,
        };
        Ok(Claim::Held(Box::new(entry.record.clone()), held))
    }

    /// Returns once no request holds upload `id`, or after `within`.
    async fn settled(&self, id: &str, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        while self.table().get(id).is_some_and(|e| e.busy) && tokio::time::Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The owner's upload; others' are "not found", like missing and expired ones.
    async fn record(&self, id: &str, owner_id: &str) -> Result<UploadRecord, UploadError> {
        self.refresh(id, owner_id).await?;
        match self.table().get(id) {
            Some(e) if e.is_of(owner_id) => Ok(e.record.clone()),
            _ => Err(UploadError::NotFound),
        }
    }

    /// An account's unfinished uploads (count, bytes): this node's table, or with
    /// a bucket every node's (one creation at a time here, and each is in the
    /// bucket before the next begins).
    async fn usage(&self, owner_id: &str) -> Result<(usize, u64), UploadError> {
        let open = |r: &UploadRecord| {
            r.owner_id == owner_id && r.photo_id.is_none() && r.expires_at > Utc::now()
        };
        let Parts::Bucket { media, .. } = self.parts() else {
            let table = self.table();
            let mine = table.values().filter(|e| open(&e.record));
            return Ok(mine.fold((0, 0), |(n, b), e| (n + 1, b + e.record.length)));
        };
        let (mut count, mut bytes) = (0, 0);
        let listing = Parts::list(&**media, Some(owner_id)).await?;
        for ((owner, id), began) in listing.unfinished {
            if self.expired_since(began) {
                continue;
            }
            if let Some(r) = Parts::fetch(&**media, &owner, &id).await? {
                if open(&r) {
                    (count, bytes) = (count + 1, bytes + r.length);
                }
            }
        }
        Ok((count, bytes))
    }

    /// Whether an upload whose record was written at `written` has expired.
    fn expired_since(&self, written: std::time::SystemTime) -> bool {
        let age = written.elapsed().unwrap_or_default();
        age > self.shared.settings.ttl
    }

    async fn create(self, msg: CreateUpload) -> Result<UploadRecord, UploadError> {
        let s = &self.shared.settings;
        if msg.length > s.max_bytes {
            let max = s.max_bytes;
            return Err(UploadError::TooLarge(format!(
                "uploads are limited to {max} bytes"
            )));
        }
        self.drop_expired().await;
        let now = crate::store::now_millis();
        let record = UploadRecord {
            id: crate::ids::random_id(),
            owner_id: msg.owner.id,
            owner_username: msg.owner.username,
            length: msg.length,
            filename: msg.filename,
            description: msg.description.into_inner(),
            tags: msg.tags.names(),
            created_at: now,
            expires_at: now + chrono::Duration::from_std(s.ttl).unwrap_or_default(),
            photo_id: None,
        };
        // One creation at a time per node, so two at once cannot both pass the
        // bounds (across nodes, two at the same moment may: by one upload).
        let _turn = self.shared.creating.lock().await;
        let (count, bytes) = self.usage(&record.owner_id).await?;
        if count >= s.max_per_account {
            return Err(UploadError::TooMany(s.max_per_account));
        }
        if bytes + record.length > s.max_bytes_per_account {
            return Err(UploadError::TooLarge(format!(
                "unfinished uploads may hold {} bytes per account; {bytes} are taken",
                s.max_bytes_per_account
            )));
        }
        let entry = Entry {
            record: record.clone(),
            busy: true,
            arrived: None,
        };
        self.table().insert(record.id.clone(), entry);
        if let Err(e) = self.parts().create(&record).await {
            self.table().remove(&record.id);
            self.parts().forget(&record).await;
            return Err(e);
        }
        self.release(&record.id);
        Ok(record)
    }

    async fn status(self, msg: UploadStatus) -> Result<(UploadRecord, u64), UploadError> {
        if matches!(self.parts(), Parts::Bucket { .. }) {
            // In the bucket a PATCH's bytes count once it ends (they become a
            // chunk): a client resuming right after its connection was cut asks
            // while this node still keeps what arrived, so wait for that.
            self.settled(&msg.id, Duration::from_secs(10)).await;
        }
        let record = self.record(&msg.id, &msg.owner_id).await?;
        if record.photo_id.is_some() {
            let length = record.length;
            return Ok((record, length));
        }
        let stored = self.parts().offset(&record).await?;
        // A PATCH still writing (a slow link draining): what it has kept so far
        // is where a client goes on once it ends.
        let arriving = self.table().get(&msg.id).and_then(|e| e.arrived.clone());
        let arrived = arriving.map_or(0, |a| a.load(Ordering::Relaxed));
        Ok((record, stored.max(arrived)))
    }

    async fn begin_patch(self, msg: BeginPatch) -> Result<Patch, UploadError> {
        let (record, held) = match self.claim(&msg.id, &msg.owner_id).await? {
            Claim::Held(record, held) => (*record, held),
            Claim::Done(_) => return Err(UploadError::Complete),
        };
        let offset = self.parts().offset(&record).await?;
        if offset != msg.offset {
            return Err(UploadError::OffsetMismatch(offset));
        }
        let sink = self.parts().sink(&record).await?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let arrived = Arc::new(AtomicU64::new(offset));
        if let Some(entry) = self.table().get_mut(&record.id) {
            entry.arrived = Some(arrived.clone());
        }
        held.hand_over();
        let writer = write_patch(self.clone(), record.clone(), sink, offset, rx, arrived);
        tokio::spawn(writer);
        Ok(Patch {
            tx,
            start: offset,
            record,
            written: 0,
        })
    }

    async fn finish(self, msg: FinishUpload) -> Result<String, UploadError> {
        let (record, _held) = match self.claim(&msg.id, &msg.owner_id).await? {
            Claim::Held(record, held) => (*record, held),
            Claim::Done(photo) => return Ok(photo),
        };
        // An account deleted (or being deleted) since: its uploads go with it. A
        // banned one's wait.
        match self.shared.store.users.by_id(&record.owner_id).await {
            Ok(Some(u)) if u.is_active && !u.deleting => {}
            Ok(Some(u)) if !u.deleting => return Err(UploadError::NotFound),
            Ok(_) => {
                self.forget(&record).await;
                return Err(UploadError::NotFound);
            }
            Err(e) => return Err(UploadError::Photo(PhotoError::Store(e))),
        }
        match self.store_photo(&record).await {
            Ok(photo_id) => {
                let mut done = record.clone();
                done.photo_id = Some(photo_id.clone());
                let saved = self.parts().save(&done).await;
                if let Some(entry) = self.table().get_mut(&record.id) {
                    entry.record = done;
                }
                self.parts().drop_bytes(&record).await;
                saved.map(|()| photo_id)
            }
            // The database or media is down: the bytes stay, and the sweep or the
            // client's next request tries again.
            Err(e @ UploadError::Photo(PhotoError::Store(_) | PhotoError::Media(_)))
            | Err(e @ (UploadError::Io(_) | UploadError::Media(_) | UploadError::Mailbox(_))) => {
                Err(e)
            }
            // The file itself was refused (not an image, too many pixels, a
            // duplicate): it never will be accepted, so the upload goes.
            Err(e) => {
                if let UploadError::Photo(PhotoError::Duplicate(_)) = e {
                    // Another node finished it meanwhile: its photo is the duplicate.
                    if let Some(photo) = self.finished_elsewhere(&record).await {
                        return Ok(photo);
                    }
                }
                self.forget(&record).await;
                Err(e)
            }
        }
    }

    /// The photo another node made of this upload, with a bucket.
    async fn finished_elsewhere(&self, record: &UploadRecord) -> Option<String> {
        let Parts::Bucket { media, .. } = self.parts() else {
            return None;
        };
        let now = Parts::fetch(&**media, &record.owner_id, &record.id).await;
        now.ok().flatten().and_then(|r| r.photo_id)
    }

    /// Hands a file of the bytes to `Photos::upload`, keeping the upload's own
    /// until it succeeded.
    async fn store_photo(&self, record: &UploadRecord) -> Result<String, UploadError> {
        let file = self.parts().assemble(record).await?;
        let (description, tags) = (
            Description::parse(&record.description).unwrap_or_default(),
            Tags::parse(&record.tags).unwrap_or_default(),
        );
        let upload = Upload {
            owner: Caller {
                id: record.owner_id.clone(),
                username: record.owner_username.clone(),
                role: Role::User,
            },
            file,
            description,
            tags,
        };
        let photo = self.shared.photos.clone().upload(upload).await?;
        Ok(photo.id)
    }

    async fn forget(&self, record: &UploadRecord) {
        self.table().remove(&record.id);
        self.parts().forget(record).await;
    }

    async fn cancel(self, msg: CancelUpload) -> Result<(), UploadError> {
        let (record, _held) = match self.claim(&msg.id, &msg.owner_id).await? {
            Claim::Held(record, held) => (*record, Some(held)),
            Claim::Done(_) => (self.record(&msg.id, &msg.owner_id).await?, None),
        };
        self.forget(&record).await;
        Ok(())
    }

    /// Drops expired uploads, and finishes those whose bytes are all in but whose
    /// photo was not stored. Runs every `every` for the life of the process.
    pub fn spawn_sweeper(&self, every: Duration) {
        let uploads = self.clone();
        actix::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                uploads.sweep().await;
            }
        });
    }

    /// Removes the expired uploads no request is using.
    async fn drop_expired(&self) {
        let now = Utc::now();
        let expired: Vec<UploadRecord> = {
            let table = self.table();
            let idle = table
                .values()
                .filter(|e| !e.busy && e.record.expires_at <= now);
            idle.map(|e| e.record.clone()).collect()
        };
        for record in &expired {
            self.forget(record).await;
        }
        if !expired.is_empty() {
            tracing::info!(uploads = expired.len(), "expired uploads removed");
        }
    }

    pub async fn sweep(&self) {
        self.drop_expired().await;
        let now = Utc::now();
        let mut stalled: Vec<UploadRecord> = {
            let table = self.table();
            let waiting = table
                .values()
                .filter(|e| !e.busy && e.record.photo_id.is_none() && e.record.expires_at > now);
            waiting.map(|e| e.record.clone()).collect()
        };
        if let Parts::Bucket { media, .. } = self.parts() {
            match self.sweep_bucket(&**media).await {
                Ok(found) => stalled.extend(found),
                Err(e) => tracing::warn!(error = %e, "cannot sweep the uploads in the bucket"),
            }
        }
        stalled.sort_by(|a, b| a.id.cmp(&b.id));
        stalled.dedup_by(|a, b| a.id == b.id);
        for record in stalled {
            if self.parts().offset(&record).await.ok() != Some(record.length) {
                continue;
            }
            let msg = FinishUpload {
                id: record.id.clone(),
                owner_id: record.owner_id.clone(),
            };
            match self.clone().finish(msg).await {
                Ok(photo) => {
                    tracing::info!(upload = %record.id, photo, "finished a stalled upload")
                }
                Err(e) => {
                    tracing::warn!(upload = %record.id, error = %e, "cannot finish an upload yet")
                }
            }
        }
    }

    /// Every node's uploads in the bucket: removes the expired ones (records
    /// are written when an upload begins and when it finishes) and chunks whose
    /// record is gone, and answers the unfinished ones no chunk was added to for a
    /// while (a node may be finishing a fresher one right now).
    async fn sweep_bucket(&self, media: &dyn MediaStore) -> Result<Vec<UploadRecord>, UploadError> {
        const QUIET: Duration = Duration::from_secs(120);
        let listing = Parts::list(media, None).await?;
        for ((owner, id), finished) in &listing.finished {
            if self.expired_since(*finished) {
                Parts::drop_finished(media, owner, id).await;
            }
        }
        let mut quiet = Vec::new();
        for ((owner, id), began) in &listing.unfinished {
            let busy_here = self.table().get(id).is_some_and(|e| e.busy);
            let newest = listing.chunks.get(&(owner.clone(), id.clone()));
            let idle = newest.is_some_and(|t| t.elapsed().unwrap_or_default() > QUIET);
            let expired = self.expired_since(*began);
            if busy_here || !(expired || idle) {
                continue;
            }
            let Some(record) = Parts::fetch(media, owner, id).await? else {
                continue;
            };
            if expired {
                self.forget(&record).await;
            } else if record.photo_id.is_none() {
                quiet.push(record);
            }
        }
        for (upload, newest) in &listing.chunks {
            let orphan = !listing.unfinished.iter().any(|(u, _)| u == upload);
            if orphan && self.expired_since(*newest) {
                Parts::drop_chunks(media, &upload.0, &upload.1).await;
            }
        }
        Ok(quiet)
    }

    /// Unfinished uploads and the bytes they hold: the admin's gauge.
    pub fn in_progress(&self) -> (usize, u64) {
        let table = self.table();
        let open = table.values().filter(|e| e.record.photo_id.is_none());
        open.fold((0, 0), |(n, b), e| (n + 1, b + e.record.length))
    }
}

service_actor! {
    /// Resumable uploads: the partial files, each account's bounds, one writer per
    /// upload, expiry and the hand-over to PhotoStore.
    UploadDesk(Uploads) {
    CreateUpload => create,
    UploadStatus => status,
    BeginPatch => begin_patch,
    FinishUpload => finish,
    CancelUpload => cancel,
}
}

/// The typed handle the HTTP layer uses.
pub type UploadDeskHandle = super::Handle<UploadDesk>;
