//! An account's own data as one zip, streamed as it is made: `account.json`,
//! `photos.json`, `comments.json`, `ratings.json`, `albums.json`, and every original
//! under `originals/`. Memory stays flat whatever the account's size: the JSON
//! files are written a page of records at a time, the originals one at a time
//! (each at most the upload limit), and the zip goes out through a 256 KiB pipe,
//! so a slow client slows the writer instead of filling memory. Entries are stored,
//! not deflated: photos do not compress. A few exports run at once per node
//! (`MAX_EXPORTS`); more wait their turn as a 429.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix::prelude::*;
use async_zip::tokio::write::ZipFileWriter;
use async_zip::{Compression, ZipEntryBuilder};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures_util::{AsyncWriteExt, Stream};
use serde::Serialize;
use tokio::io::{AsyncReadExt, DuplexStream};

use super::{PhotoError, Photos};
use crate::auth::Caller;
use crate::domain::{PhotoMetadata, PhotoSort, Visibility};
use crate::media::ingest::Format;
use crate::store::{PhotoQuery, PhotoRecord, StoreError, UserRecord};

/// Exports running at once on one node.
pub const MAX_EXPORTS: usize = 4;

/// The zip's bytes as they are made.
pub type ExportStream = Pin<Box<dyn Stream<Item = Result<Bytes, io::Error>> + Send>>;

/// The caller's own data as a zip.
#[derive(Message)]
#[rtype(result = "Result<Export, PhotoError>")]
pub struct ExportAccount {
    pub caller: Caller,
}

pub struct Export {
    pub username: String,
    pub stream: ExportStream,
}

#[derive(Debug, thiserror::Error)]
enum ExportError {
    #[error(transparent)]
    Zip(#[from] async_zip::error::ZipError),
    #[error(transparent)]
    Io(#[from] io::Error),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
}

/// Records per store call.
const PAGE: u32 = 100;

#[derive(Serialize)]
struct AccountJson<'a> {
    id: &'a str,
    username: &'a str,
    email: &'a str,
    full_name: &'a Option<String>,
    bio: &'a Option<String>,
    role: crate::domain::Role,
    created_at: DateTime<Utc>,
    followers: u64,
    following: u64,
    exported_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct PhotoJson<'a> {
    id: &'a str,
    /// Where the original is in this zip.
    file: String,
    url: String,
    description: &'a str,
    tags: &'a [String],
    width: u32,
    height: u32,
    format: &'a str,
    size_bytes: u64,
    sha256: &'a str,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    rating_count: u64,
    rating_average: Option<f64>,
    comment_count: u64,
    /// The EXIF metadata, position included: this is the owner's own copy.
    #[serde(flatten)]
    meta: &'a PhotoMetadata,
}

#[derive(Serialize)]
struct ShareJson {
    id: String,
    expires_at: Option<DateTime<Utc>>,
    has_password: bool,
    revoked: bool,
    created_at: DateTime<Utc>,
}

#[derive(Serialize)]
struct AlbumJson<'a> {
    id: &'a str,
    title: &'a str,
    description: &'a Option<String>,
    visibility: Visibility,
    cover_photo_id: Option<&'a str>,
    photo_ids: &'a [String],
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    shares: Vec<ShareJson>,
}

fn original_name(p: &PhotoRecord) -> String {
    let ext = Format::parse(&p.format).map_or("bin", Format::extension);
    format!("originals/{}.{ext}", p.id)
}

fn entry(name: &str) -> ZipEntryBuilder {
    ZipEntryBuilder::new(name.to_owned().into(), Compression::Stored)
}

/// A JSON array written one element at a time into a zip entry.
struct JsonArray<W: futures_util::AsyncWrite + Unpin> {
    out: W,
    first: bool,
}

impl<W: futures_util::AsyncWrite + Unpin> JsonArray<W> {
    async fn open(mut out: W) -> io::Result<Self> {
        out.write_all(b"[").await?;
        Ok(Self { out, first: true })
    }

    async fn push(&mut self, item: &impl Serialize) -> Result<(), ExportError> {
        let sep: &[u8] = if self.first { b"\n" } else { b",\n" };
        self.first = false;
        self.out.write_all(sep).await?;
        self.out.write_all(&serde_json::to_vec(item)?).await?;
        Ok(())
    }

    async fn close(mut self) -> io::Result<W> {
        self.out.write_all(b"\n]\n").await?;
        Ok(self.out)
    }
}

impl Photos {
    pub(super) async fn export(self, msg: ExportAccount) -> Result<Export, PhotoError> {
        let permit = self
            .exports
            .clone()
            .try_acquire_owned()
            .map_err(|_| PhotoError::Busy)?;
        let user = self
            .store
            .users
            .by_id(&msg.caller.id)
            .await?
            .ok_or(PhotoError::NotFound)?;
        let username = user.username.clone();
        let (mut pipe, reader) = tokio::io::duplex(256 * 1024);
        let failed = Arc::new(AtomicBool::new(false));
        let flag = failed.clone();
        actix::spawn(async move {
            let _permit = permit;
            let user_id = user.id.clone();
            if let Err(e) = self.write_zip(&user, &mut pipe).await {
                tracing::warn!(%user_id, error = %crate::errors::error_chain(&e),
                    "an export stopped halfway (the client left, or a read failed); the download is broken");
                flag.store(true, Ordering::SeqCst);
            }
            drop(pipe);
        });
        Ok(Export {
            username,
            stream: Box::pin(read_pipe(reader, failed)),
        })
    }

    async fn write_zip(
        &self,
        user: &UserRecord,
        pipe: &mut DuplexStream,
    ) -> Result<(), ExportError> {
        let mut zip = ZipFileWriter::with_tokio(pipe);
        let store = &self.store;
        let follows = store.social.follow_counts(&user.id).await?;
        let account = AccountJson {
            id: &user.id,
            username: &user.username,
            email: &user.email,
            full_name: &user.full_name,
            bio: &user.bio,
            role: user.role,
            created_at: user.created_at,
            followers: follows.followers,
            following: follows.following,
            exported_at: crate::store::now_millis(),
        };
        let bytes = serde_json::to_vec_pretty(&account)?;
        zip.write_entry_whole(entry("account.json"), &bytes).await?;

        // Oldest first: a photo uploaded meanwhile lands after the pages read.
        let query = |offset: u64| PhotoQuery {
            owner_id: Some(user.id.clone()),
            sort: PhotoSort::OldestFirst,
            limit: PAGE,
            offset,
            ..PhotoQuery::default()
        };
        let mut array =
            JsonArray::open(zip.write_entry_stream(entry("photos.json")).await?).await?;
        let mut offset = 0;
        loop {
            let (page, _) = store.photos.search(&query(offset)).await?;
            for p in &page {
                array
                    .push(&PhotoJson {
                        id: &p.id,
                        file: original_name(p),
                        url: self.urls.photo(&p.slug),
                        description: &p.description,
                        tags: &p.tags,
                        width: p.width,
                        height: p.height,
                        format: &p.format,
                        size_bytes: p.size_bytes,
                        sha256: &p.sha256,
                        created_at: p.created_at,
                        updated_at: p.updated_at,
                        rating_count: p.rating_count,
                        rating_average: p.rating_average(),
                        comment_count: p.comment_count,
                        meta: &p.meta,
                    })
                    .await?;
            }
            if page.len() < PAGE as usize {
                break;
            }
            offset += u64::from(PAGE);
        }
        array.close().await?.close().await?;

        let mut array =
            JsonArray::open(zip.write_entry_stream(entry("comments.json")).await?).await?;
        let mut after = String::new();
        loop {
            let page = store.comments.comments_by(&user.id, &after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            for c in &page {
                array.push(c).await?;
            }
        }
        array.close().await?.close().await?;

        let mut array =
            JsonArray::open(zip.write_entry_stream(entry("ratings.json")).await?).await?;
        after.clear();
        loop {
            let page = store.ratings.ratings_by(&user.id, &after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            for r in &page {
                array.push(r).await?;
            }
        }
        array.close().await?.close().await?;

        let mut array =
            JsonArray::open(zip.write_entry_stream(entry("albums.json")).await?).await?;
        let mut offset = 0;
        loop {
            let (page, _) = store.albums.albums_of(&user.id, true, PAGE, offset).await?;
            for a in &page {
                let (shares, _) = store.albums.shares_of(&a.id, 100, 0).await?;
                let shares = shares
                    .into_iter()
                    .map(|s| ShareJson {
                        id: s.id,
                        expires_at: s.expires_at,
                        has_password: s.password_hash.is_some(),
                        revoked: s.revoked_at.is_some(),
                        created_at: s.created_at,
                    })
                    .collect();
                array
                    .push(&AlbumJson {
                        id: &a.id,
                        title: &a.title,
                        description: &a.description,
                        visibility: a.visibility,
                        cover_photo_id: a.cover(),
                        photo_ids: &a.photo_ids,
                        created_at: a.created_at,
                        updated_at: a.updated_at,
                        shares,
                    })
                    .await?;
            }
            if page.len() < PAGE as usize {
                break;
            }
            offset += u64::from(PAGE);
        }
        array.close().await?.close().await?;

        let mut offset = 0;
        loop {
            let (page, _) = store.photos.search(&query(offset)).await?;
            for p in &page {
                // Deleted since the page was read: nothing to add.
                let Some(bytes) = self.media.get(&p.media_key).await? else {
                    continue;
                };
                zip.write_entry_whole(entry(&original_name(p)), &bytes)
                    .await?;
            }
            if page.len() < PAGE as usize {
                break;
            }
            offset += u64::from(PAGE);
        }
        zip.close().await?;
        Ok(())
    }
}

/// The pipe's bytes as a stream, ending in an error when the writer failed (so
/// the client's download breaks instead of looking complete).
fn read_pipe(
    reader: DuplexStream,
    failed: Arc<AtomicBool>,
) -> impl Stream<Item = Result<Bytes, io::Error>> + Send {
    futures_util::stream::unfold(Some(reader), move |state| {
        let failed = failed.clone();
        async move {
            let mut reader = state?;
            let mut buf = BytesMut::with_capacity(64 * 1024);
            match reader.read_buf(&mut buf).await {
                Ok(0) if failed.load(Ordering::SeqCst) => {
                    Some((Err(io::Error::other("the export failed")), None))
                }
                Ok(0) => None,
                Ok(_) => Some((Ok(buf.freeze()), Some(reader))),
                Err(e) => Some((Err(e), None)),
            }
        }
    })
}
