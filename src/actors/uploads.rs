//! Resumable uploads (tus 1.0.0). `UploadDesk` owns this node's unfinished uploads:
//! their bytes and records in the partial-upload folder, each account's bounds
//! (count and bytes), one writer at a time per upload, expiry, and the hand-over to
//! `Photos::upload` when the last byte is in, which runs the same checks as a
//! multipart upload.
//!
//! On disk, per upload: `{id}.json` (who, how long, what it will be called) and
//! `{id}.part` (the bytes so far: its length is the offset, so a crash loses
//! nothing that was acknowledged, and nothing needs rewriting per chunk). Once the
//! photo is stored the bytes go and the record stays, with the photo's id, until
//! it expires: a client whose last answer was lost asks again and learns the id.
//! An upload whose bytes are all in but whose photo could not be stored (the
//! database was down) is finished by the sweep, which also drops expired uploads.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix::MailboxError;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;

use super::photo_store::{PhotoError, Photos, Upload};
use crate::auth::Caller;
use crate::domain::{Description, Role, Tags};
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
    Mailbox(#[from] MailboxError),
}

/// Bounds and places; see `[media]` in the configuration.
#[derive(Debug, Clone)]
pub struct UploadSettings {
    pub dir: PathBuf,
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
}

impl Entry {
    /// Live and `owner_id`'s.
    fn is_of(&self, owner_id: &str) -> bool {
        self.record.owner_id == owner_id && self.record.expires_at > Utc::now()
    }
}

struct Shared {
    settings: UploadSettings,
    table: Mutex<HashMap<String, Entry>>,
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

/// Owns an upload's file during one PATCH (see [`Patch`]).
async fn write_patch(
    uploads: Uploads,
    id: String,
    mut file: tokio::fs::File,
    start: u64,
    mut rx: tokio::sync::mpsc::Receiver<Write>,
) {
    let (mut keep_partial, mut failed, mut written) = (true, None, 0u64);
    while let Some(write) = rx.recv().await {
        match write {
            Write::Bytes(chunk) if failed.is_none() => match file.write_all(&chunk).await {
                Ok(()) => written += chunk.len() as u64,
                Err(e) => failed = Some(e),
            },
            Write::Bytes(_) => {}
            Write::AllOrNothing => keep_partial = false,
            Write::Commit(reply) => {
                let done = match failed.take() {
                    Some(e) => Err(e),
                    None => {
                        async {
                            file.flush().await?;
                            file.sync_data().await
                        }
                        .await
                    }
                };
                let answer = done.map(|()| start + written).map_err(UploadError::Io);
                if answer.is_err() {
                    let _ = file.set_len(start).await;
                }
                let _ = reply.send(answer);
                uploads.release(&id);
                return;
            }
            Write::Abandon(reply) => {
                settle(&id, &mut file, start, keep_partial).await;
                uploads.release(&id);
                let _ = reply.send(());
                return;
            }
        }
    }
    // The handler went away before committing.
    settle(&id, &mut file, start, keep_partial).await;
    uploads.release(&id);
}

/// Keeps what arrived of an uncommitted chunk, or cuts the file back to `start`.
async fn settle(id: &str, file: &mut tokio::fs::File, start: u64, keep_partial: bool) {
    let _ = file.flush().await;
    let ended = if keep_partial {
        file.sync_data().await
    } else {
        file.set_len(start).await
    };
    if let Err(e) = ended {
        tracing::error!(upload = %id, error = %e, "cannot settle an interrupted chunk");
    }
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
    /// everything else in it (expired uploads, bytes without a record).
    pub fn open(settings: UploadSettings, photos: Photos, store: Store) -> std::io::Result<Self> {
        std::fs::create_dir_all(&settings.dir)?;
        let now = Utc::now();
        let mut table = HashMap::new();
        for entry in std::fs::read_dir(&settings.dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let record = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<UploadRecord>(&b).ok());
                match record {
                    Some(r) if r.expires_at > now => {
                        let busy = false;
                        table.insert(r.id.clone(), Entry { record: r, busy });
                    }
                    _ => remove(&path),
                }
            }
        }
        for entry in std::fs::read_dir(&settings.dir)? {
            let path = entry?.path();
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if !table.contains_key(stem) {
                remove(&path);
            }
        }
        if !table.is_empty() {
            tracing::info!(uploads = table.len(), "unfinished uploads kept");
        }
        Ok(Uploads {
            shared: Arc::new(Shared {
                settings,
                table: Mutex::new(table),
                photos,
                store,
            }),
        })
    }

    fn part(&self, id: &str) -> PathBuf {
        self.shared.settings.dir.join(format!("{id}.part"))
    }

    fn record_path(&self, id: &str) -> PathBuf {
        self.shared.settings.dir.join(format!("{id}.json"))
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.shared.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn release(&self, id: &str) {
        if let Some(entry) = self.table().get_mut(id) {
            entry.busy = false;
        }
    }

    /// Takes the owner's upload for one request: others' are "not found", like
    /// missing and expired ones; one another request holds is locked.
    fn claim(&self, id: &str, owner_id: &str) -> Result<Claim, UploadError> {
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

    /// The owner's upload; others' are "not found", like missing and expired ones.
    fn record(&self, id: &str, owner_id: &str) -> Result<UploadRecord, UploadError> {
        match self.table().get(id) {
            Some(e) if e.is_of(owner_id) => Ok(e.record.clone()),
            _ => Err(UploadError::NotFound),
        }
    }

    async fn write_record(&self, record: &UploadRecord) -> Result<(), UploadError> {
        let path = self.record_path(&record.id);
        let tmp = path.with_extension("json.tmp");
        let bytes = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        let mut file = tokio::fs::File::create(&tmp).await?;
        file.write_all(&bytes).await?;
        file.sync_data().await?;
        tokio::fs::rename(&tmp, &path).await?;
        Ok(())
    }

    async fn offset(&self, id: &str) -> Result<u64, UploadError> {
        match tokio::fs::metadata(self.part(id)).await {
            Ok(m) => Ok(m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
            Err(e) => Err(e.into()),
        }
    }

    async fn create(self, msg: CreateUpload) -> Result<UploadRecord, UploadError> {
        let s = &self.shared.settings;
        if msg.length > s.max_bytes {
            let max = s.max_bytes;
            return Err(UploadError::TooLarge(format!(
                "uploads are limited to {max} bytes"
            )));
        }
        self.drop_expired();
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
        {
            // Reserve the place first, so two creations at once cannot both pass.
            let mut table = self.table();
            let open = table
                .values()
                .filter(|e| e.record.owner_id == record.owner_id && e.record.photo_id.is_none());
            let (count, bytes) = open.fold((0, 0), |(n, b), e| (n + 1, b + e.record.length));
            if count >= s.max_per_account {
                return Err(UploadError::TooMany(s.max_per_account));
            }
            if bytes + record.length > s.max_bytes_per_account {
                return Err(UploadError::TooLarge(format!(
                    "unfinished uploads may hold {} bytes per account; {bytes} are taken",
                    s.max_bytes_per_account
                )));
            }
            let busy = true;
            let entry = Entry {
                record: record.clone(),
                busy,
            };
            table.insert(record.id.clone(), entry);
        }
        let written = async {
            tokio::fs::File::create(self.part(&record.id)).await?;
            self.write_record(&record).await
        }
        .await;
        if let Err(e) = written {
            self.table().remove(&record.id);
            remove(&self.part(&record.id));
            return Err(e);
        }
        self.release(&record.id);
        Ok(record)
    }

    async fn status(self, msg: UploadStatus) -> Result<(UploadRecord, u64), UploadError> {
        let record = self.record(&msg.id, &msg.owner_id)?;
        let offset = if record.photo_id.is_some() {
            record.length
        } else {
            self.offset(&msg.id).await?
        };
        Ok((record, offset))
    }

    async fn begin_patch(self, msg: BeginPatch) -> Result<Patch, UploadError> {
        let (record, held) = match self.claim(&msg.id, &msg.owner_id)? {
            Claim::Held(record, held) => (*record, held),
            Claim::Done(_) => return Err(UploadError::Complete),
        };
        let offset = self.offset(&msg.id).await?;
        if offset != msg.offset {
            return Err(UploadError::OffsetMismatch(offset));
        }
        let file = tokio::fs::OpenOptions::new()
            .append(true)
            .open(self.part(&msg.id))
            .await?;
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        held.hand_over();
        tokio::spawn(write_patch(self.clone(), msg.id, file, offset, rx));
        Ok(Patch {
            tx,
            start: offset,
            record,
            written: 0,
        })
    }

    async fn finish(self, msg: FinishUpload) -> Result<String, UploadError> {
        let (record, _held) = match self.claim(&msg.id, &msg.owner_id)? {
            Claim::Held(record, held) => (*record, held),
            Claim::Done(photo) => return Ok(photo),
        };
        // An account deleted (or being deleted) since: its uploads go with it. A
        // banned one's wait.
        match self.shared.store.users.by_id(&record.owner_id).await {
            Ok(Some(u)) if u.is_active && !u.deleting => {}
            Ok(Some(u)) if !u.deleting => return Err(UploadError::NotFound),
            Ok(_) => {
                self.forget(&record.id);
                return Err(UploadError::NotFound);
            }
            Err(e) => return Err(UploadError::Photo(PhotoError::Store(e))),
        }
        match self.store_photo(&record).await {
            Ok(photo_id) => {
                let mut done = record.clone();
                done.photo_id = Some(photo_id.clone());
                let saved = self.write_record(&done).await;
                if let Some(entry) = self.table().get_mut(&record.id) {
                    entry.record = done;
                }
                remove(&self.part(&record.id));
                saved.map(|()| photo_id)
            }
            // The database or media is down: the bytes stay, and the sweep or the
            // client's next request tries again.
            Err(e @ UploadError::Photo(PhotoError::Store(_) | PhotoError::Media(_)))
            | Err(e @ (UploadError::Io(_) | UploadError::Mailbox(_))) => Err(e),
            // The file itself was refused (not an image, too many pixels, a
            // duplicate): it never will be accepted, so the upload goes.
            Err(e) => {
                self.forget(&record.id);
                Err(e)
            }
        }
    }

    /// Hands a copy of the bytes to `Photos::upload` (a hard link: no copy when
    /// the spool is on the same disk), keeping the original until it succeeded.
    async fn store_photo(&self, record: &UploadRecord) -> Result<String, UploadError> {
        let part = self.part(&record.id);
        let handed = self.shared.settings.dir.join(format!(
            "{}.{}.hand",
            record.id,
            crate::ids::random_id()
        ));
        if tokio::fs::hard_link(&part, &handed).await.is_err() {
            tokio::fs::copy(&part, &handed).await?;
        }
        let file = tempfile::TempPath::try_from_path(handed)?;
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

    fn forget(&self, id: &str) {
        self.table().remove(id);
        remove(&self.part(id));
        remove(&self.record_path(id));
    }

    async fn cancel(self, msg: CancelUpload) -> Result<(), UploadError> {
        let _held = self.claim(&msg.id, &msg.owner_id)?;
        self.forget(&msg.id);
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
    fn drop_expired(&self) {
        let now = Utc::now();
        let expired: Vec<String> = {
            let table = self.table();
            let idle = table
                .values()
                .filter(|e| !e.busy && e.record.expires_at <= now);
            idle.map(|e| e.record.id.clone()).collect()
        };
        for id in &expired {
            self.forget(id);
        }
        if !expired.is_empty() {
            tracing::info!(uploads = expired.len(), "expired uploads removed");
        }
    }

    pub async fn sweep(&self) {
        self.drop_expired();
        let now = Utc::now();
        let stalled: Vec<UploadRecord> = {
            let table = self.table();
            let waiting = table
                .values()
                .filter(|e| !e.busy && e.record.photo_id.is_none() && e.record.expires_at > now);
            waiting.map(|e| e.record.clone()).collect()
        };
        for record in stalled {
            if self.offset(&record.id).await.ok() != Some(record.length) {
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

    /// Unfinished uploads and the bytes they hold: the admin's gauge.
    pub fn in_progress(&self) -> (usize, u64) {
        let table = self.table();
        let open = table.values().filter(|e| e.record.photo_id.is_none());
        open.fold((0, 0), |(n, b), e| (n + 1, b + e.record.length))
    }
}

fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a partial upload file");
        }
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
