//! Where unfinished uploads live: this node's folder, or — with media on S3 — the
//! bucket, so that any node can continue an upload another began and nothing of
//! it sits on one node's disk.
//!
//! In the folder, per upload: `{id}.json` (the record) and `{id}.part` (the bytes
//! so far: its length is the offset). In the bucket, under
//! `partial-uploads/{owner}/`: `{id}.json` and one object per chunk,
//! `{id}/{start}-{end}` (zero-padded), written whole once its PATCH ended. The
//! offset is how far the chunks reach from 0 without a gap; chunks may overlap
//! (a retried PATCH that another node also took), and they agree where they do,
//! since a tus upload's byte at an offset never changes. A finished upload's
//! record moves to `finished-uploads/{owner}/{id}.json`, so what an account has
//! unfinished is one short listing, however many it finished.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use tokio::io::AsyncWriteExt;

use super::{UploadError, UploadRecord};
use crate::media::MediaStore;

/// The bucket's folder of unfinished uploads.
const PREFIX: &str = "partial-uploads/";
/// The records of finished uploads (with their photo's id), until they expire.
const FINISHED: &str = "finished-uploads/";

#[derive(Clone)]
pub(super) enum Parts {
    Folder(PathBuf),
    Bucket {
        media: Arc<dyn MediaStore>,
        /// This node's spool for a PATCH's bytes before they become a chunk.
        spool: PathBuf,
    },
}

/// Where one PATCH writes: the upload's file, or a spool file that becomes a chunk.
pub(super) struct Sink {
    pub file: tokio::fs::File,
    spool: Option<tempfile::TempPath>,
}

/// An upload in a listing: its owner and id.
pub(super) type Key = (String, String);

/// What the bucket holds of uploads, grouped by upload, with when each object
/// was written (a record when its upload began or finished).
#[derive(Default)]
pub(super) struct Listing {
    pub unfinished: Vec<(Key, SystemTime)>,
    pub finished: Vec<(Key, SystemTime)>,
    /// Each upload with chunks, and when the newest was written.
    pub chunks: std::collections::BTreeMap<Key, SystemTime>,
}

impl Parts {
    /// Prepares the place and answers the uploads that survived in the folder,
    /// removing everything else in it (expired uploads, bytes without a record).
    /// The bucket's are read when asked for; the spool starts empty.
    pub fn open(&self) -> std::io::Result<Vec<UploadRecord>> {
        let dir = match self {
            Parts::Folder(dir) => dir,
            Parts::Bucket { spool, .. } => {
                let _ = std::fs::remove_dir_all(spool);
                std::fs::create_dir_all(spool)?;
                return Ok(Vec::new());
            }
        };
        std::fs::create_dir_all(dir)?;
        let now = chrono::Utc::now();
        let mut kept = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "json") {
                let record = std::fs::read(&path)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<UploadRecord>(&b).ok());
                match record {
                    Some(r) if r.expires_at > now => kept.push(r),
                    _ => remove(&path),
                }
            }
        }
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            if !kept.iter().any(|r| r.id == stem) {
                remove(&path);
            }
        }
        Ok(kept)
    }

    fn part(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.part"))
    }

    fn record_path(dir: &Path, id: &str) -> PathBuf {
        dir.join(format!("{id}.json"))
    }

    fn record_key(owner: &str, id: &str) -> String {
        format!("{PREFIX}{owner}/{id}.json")
    }

    fn finished_key(owner: &str, id: &str) -> String {
        format!("{FINISHED}{owner}/{id}.json")
    }

    fn chunk_folder(owner: &str, id: &str) -> String {
        format!("{PREFIX}{owner}/{id}/")
    }

    /// The chunk of bytes `start..end` (what `parse_chunk` reads back).
    fn chunk_key(record: &UploadRecord, start: u64, end: u64) -> String {
        let folder = Self::chunk_folder(&record.owner_id, &record.id);
        format!("{folder}{start:020}-{end:020}")
    }

    /// The upload as the bucket holds it now; `None` when it is not there (or the
    /// id could not be one: ids come from the URL).
    pub async fn fetch(
        media: &dyn MediaStore,
        owner: &str,
        id: &str,
    ) -> Result<Option<UploadRecord>, UploadError> {
        let is_id = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit());
        if !is_id(id) || !is_id(owner) || id.bytes().any(|b| b.is_ascii_uppercase()) {
            return Ok(None);
        }
        let mut bytes = media.get(&Self::record_key(owner, id)).await?;
        if bytes.is_none() {
            bytes = media.get(&Self::finished_key(owner, id)).await?;
        }
        Ok(bytes.and_then(|b| serde_json::from_slice(&b).ok()))
    }

    /// Writes the record whole (a reader sees the old one or the new one).
    pub async fn save(&self, record: &UploadRecord) -> Result<(), UploadError> {
        let bytes = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        match self {
            Parts::Folder(dir) => {
                let path = Self::record_path(dir, &record.id);
                let tmp = path.with_extension("json.tmp");
                let mut file = tokio::fs::File::create(&tmp).await?;
                file.write_all(&bytes).await?;
                file.sync_data().await?;
                tokio::fs::rename(&tmp, &path).await?;
            }
            Parts::Bucket { media, .. } => {
                let (owner, id) = (&record.owner_id, &record.id);
                if record.photo_id.is_none() {
                    let key = Self::record_key(owner, id);
                    media.put(&key, bytes.into(), "application/json").await?;
                } else {
                    // Where readers look first, then where it stays, then out of
                    // the unfinished (a failed removal leaves a true record there).
                    let (unfinished, bytes) =
                        (Self::record_key(owner, id), bytes::Bytes::from(bytes));
                    media
                        .put(&unfinished, bytes.clone(), "application/json")
                        .await?;
                    let key = Self::finished_key(owner, id);
                    media.put(&key, bytes, "application/json").await?;
                    if let Err(e) = media.delete(&unfinished).await {
                        tracing::warn!(upload = %id, error = %e, "a finished upload's record stays among the unfinished until it expires");
                    }
                }
            }
        }
        Ok(())
    }

    /// A new upload: its record, and (in the folder) its empty file.
    pub async fn create(&self, record: &UploadRecord) -> Result<(), UploadError> {
        if let Parts::Folder(dir) = self {
            tokio::fs::File::create(Self::part(dir, &record.id)).await?;
        }
        self.save(record).await
    }

    /// The chunks of an upload in the bucket, as (start, end), by start.
    async fn chunks(
        media: &dyn MediaStore,
        record: &UploadRecord,
    ) -> Result<Vec<(u64, u64)>, UploadError> {
        let folder = Self::chunk_folder(&record.owner_id, &record.id);
        let listed = media.list_folder(&folder).await?.unwrap_or_default();
        let mut chunks: Vec<(u64, u64)> = listed
            .iter()
            .filter_map(|(key, _)| parse_chunk(key.strip_prefix(folder.as_str())?))
            .collect();
        chunks.sort_unstable();
        Ok(chunks)
    }

    /// How many bytes are in: the tus offset.
    pub async fn offset(&self, record: &UploadRecord) -> Result<u64, UploadError> {
        match self {
            Parts::Folder(dir) => match tokio::fs::metadata(Self::part(dir, &record.id)).await {
                Ok(m) => Ok(m.len()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(0),
                Err(e) => Err(e.into()),
            },
            Parts::Bucket { media, .. } => Ok(reach(&Self::chunks(&**media, record).await?)),
        }
    }

    /// Where a PATCH at the upload's offset writes.
    pub async fn sink(&self, record: &UploadRecord) -> Result<Sink, UploadError> {
        match self {
            Parts::Folder(dir) => {
                let file = tokio::fs::OpenOptions::new()
                    .append(true)
                    .open(Self::part(dir, &record.id))
                    .await?;
                Ok(Sink { file, spool: None })
            }
            Parts::Bucket { spool, .. } => {
                let path = spool.join(format!("{}.{}", record.id, crate::ids::random_id()));
                let file = tokio::fs::File::create(&path).await?;
                let spool = Some(tempfile::TempPath::try_from_path(path)?);
                Ok(Sink { file, spool })
            }
        }
    }

    /// Makes `written` bytes from `start` durable: synced in the folder, a chunk
    /// in the bucket. On failure nothing of them is kept.
    pub async fn commit(
        &self,
        record: &UploadRecord,
        mut sink: Sink,
        start: u64,
        written: u64,
    ) -> Result<(), UploadError> {
        let done = self.keep(record, &mut sink, start, written).await;
        if done.is_err() {
            let _ = sink.file.set_len(start).await;
        }
        done
    }

    /// Ends a PATCH that was not committed: what arrived is kept (`keep_partial`)
    /// or dropped.
    pub async fn settle(
        &self,
        record: &UploadRecord,
        mut sink: Sink,
        start: u64,
        written: u64,
        keep_partial: bool,
    ) {
        let ended = if keep_partial {
            self.keep(record, &mut sink, start, written).await
        } else if sink.spool.is_some() {
            Ok(())
        } else {
            sink.file.set_len(start).await.map_err(UploadError::from)
        };
        if let Err(e) = ended {
            tracing::error!(upload = %record.id, error = %e, "cannot settle an interrupted chunk");
        }
    }

    async fn keep(
        &self,
        record: &UploadRecord,
        sink: &mut Sink,
        start: u64,
        written: u64,
    ) -> Result<(), UploadError> {
        sink.file.flush().await?;
        match (self, &sink.spool) {
            (Parts::Bucket { media, .. }, Some(spool)) => {
                if written == 0 {
                    return Ok(());
                }
                let bytes = tokio::fs::read(spool).await?;
                let key = Self::chunk_key(record, start, start + written);
                media
                    .put(&key, bytes.into(), "application/octet-stream")
                    .await?;
                Ok(())
            }
            _ => Ok(sink.file.sync_data().await?),
        }
    }

    /// A file of the whole upload to hand to `Photos::upload`: a hard link of the
    /// folder's file, or the bucket's chunks joined in the spool.
    pub async fn assemble(&self, record: &UploadRecord) -> Result<tempfile::TempPath, UploadError> {
        let hand = format!("{}.{}.hand", record.id, crate::ids::random_id());
        let (media, path) = match self {
            Parts::Folder(dir) => {
                let (part, path) = (Self::part(dir, &record.id), dir.join(hand));
                if tokio::fs::hard_link(&part, &path).await.is_err() {
                    tokio::fs::copy(&part, &path).await?;
                }
                return Ok(tempfile::TempPath::try_from_path(path)?);
            }
            Parts::Bucket { media, spool } => (media, spool.join(hand)),
        };
        let joined = tempfile::TempPath::try_from_path(path.clone())?;
        let mut file = tokio::fs::File::create(&path).await?;
        let mut at = 0;
        for (start, end) in Self::chunks(&**media, record).await? {
            if start > at {
                break;
            }
            if end <= at {
                continue;
            }
            let key = Self::chunk_key(record, start, end);
            let bytes = media.get(&key).await?.ok_or_else(|| {
                std::io::Error::other(format!("chunk {start}-{end} of an upload vanished"))
            })?;
            let from = usize::try_from(at - start).unwrap_or(usize::MAX);
            file.write_all(bytes.get(from..).unwrap_or_default())
                .await?;
            at = end;
        }
        file.flush().await?;
        if at != record.length {
            return Err(std::io::Error::other("an upload's chunks do not reach its length").into());
        }
        Ok(joined)
    }

    /// Removes the bytes (the photo is stored, or the upload is gone).
    pub async fn drop_bytes(&self, record: &UploadRecord) {
        match self {
            Parts::Folder(dir) => remove(&Self::part(dir, &record.id)),
            Parts::Bucket { media, .. } => {
                Self::drop_chunks(&**media, &record.owner_id, &record.id).await
            }
        }
    }

    /// Removes the upload, record first: chunks left without one are swept.
    pub async fn forget(&self, record: &UploadRecord) {
        match self {
            Parts::Folder(dir) => remove(&Self::record_path(dir, &record.id)),
            Parts::Bucket { media, .. } => {
                let (owner, id) = (&record.owner_id, &record.id);
                for key in [Self::record_key(owner, id), Self::finished_key(owner, id)] {
                    if let Err(e) = media.delete(&key).await {
                        tracing::warn!(upload = %id, error = %e, "cannot remove an upload's record");
                    }
                }
            }
        }
        self.drop_bytes(record).await;
    }

    /// The bucket's unfinished uploads of one account, or (`None`) every
    /// account's uploads, finished ones too.
    pub async fn list(media: &dyn MediaStore, owner: Option<&str>) -> Result<Listing, UploadError> {
        let mut listing = Listing::default();
        let folder = format!(
            "{PREFIX}{}",
            owner.map(|o| format!("{o}/")).unwrap_or_default()
        );
        for (key, modified) in media.list_folder(&folder).await?.unwrap_or_default() {
            let rest = key.strip_prefix(PREFIX).unwrap_or_default();
            match rest.split('/').collect::<Vec<_>>()[..] {
                [owner, file] => {
                    if let Some(id) = file.strip_suffix(".json") {
                        let upload = (owner.to_owned(), id.to_owned());
                        listing.unfinished.push((upload, modified));
                    }
                }
                [owner, id, _chunk] => {
                    let upload = (owner.to_owned(), id.to_owned());
                    let newest = listing.chunks.entry(upload).or_insert(modified);
                    *newest = (*newest).max(modified);
                }
                _ => {}
            }
        }
        if owner.is_none() {
            for (key, modified) in media.list_folder(FINISHED).await?.unwrap_or_default() {
                let rest = key.strip_prefix(FINISHED).unwrap_or_default();
                if let [owner, file] = rest.split('/').collect::<Vec<_>>()[..] {
                    if let Some(id) = file.strip_suffix(".json") {
                        let upload = (owner.to_owned(), id.to_owned());
                        listing.finished.push((upload, modified));
                    }
                }
            }
        }
        Ok(listing)
    }

    /// Removes a finished upload's record.
    pub async fn drop_finished(media: &dyn MediaStore, owner: &str, id: &str) {
        if let Err(e) = media.delete(&Self::finished_key(owner, id)).await {
            tracing::warn!(upload = %id, error = %e, "cannot remove a finished upload's record");
        }
    }

    /// Removes an upload's chunks (its photo is stored, it is gone, or its record
    /// is: a removal cut halfway).
    pub async fn drop_chunks(media: &dyn MediaStore, owner: &str, id: &str) {
        if let Err(e) = media.delete_prefix(&Self::chunk_folder(owner, id)).await {
            tracing::warn!(upload = %id, error = %e, "cannot remove an upload's chunks");
        }
    }
}

/// `{start}-{end}` of a chunk's name.
fn parse_chunk(name: &str) -> Option<(u64, u64)> {
    let (start, end) = name.split_once('-')?;
    let (start, end) = (start.parse().ok()?, end.parse().ok()?);
    (start < end).then_some((start, end))
}

/// How far chunks sorted by start reach from 0 without a gap.
fn reach(chunks: &[(u64, u64)]) -> u64 {
    let mut at = 0;
    for &(start, end) in chunks {
        if start > at {
            break;
        }
        at = at.max(end);
    }
    at
}

pub(super) fn remove(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "cannot remove a partial upload file");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_is_how_far_chunks_reach_without_a_gap() {
        assert_eq!(reach(&[]), 0);
        assert_eq!(reach(&[(0, 10), (10, 25)]), 25);
        // A retried PATCH another node also took: the chunks overlap.
        assert_eq!(reach(&[(0, 10), (0, 6), (6, 30), (10, 20)]), 30);
        assert_eq!(reach(&[(0, 10), (12, 20)]), 10, "a gap ends it");
        assert_eq!(reach(&[(5, 10)]), 0);
    }

    #[test]
    fn chunk_names_are_two_offsets() {
        let name = format!("{:020}-{:020}", 0, 4096);
        assert_eq!(parse_chunk(&name), Some((0, 4096)));
        assert_eq!(parse_chunk("00-00"), None);
        assert_eq!(parse_chunk("x-10"), None);
        assert_eq!(parse_chunk("10"), None);
    }
}
