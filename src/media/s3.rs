//! Media on S3-compatible object storage (Garage, MinIO, AWS S3...) through
//! `object_store`: a PUT is atomic (a reader sees the old object or the whole new
//! one), objects above `MULTIPART_FROM` go up in parts sliced from the one buffer
//! (never copied), and requests are retried with exponential backoff on 5xx,
//! timeouts and dropped connections. Errors carry the method, URL and status,
//! never the secret key (requests are signed in headers).

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder, S3ConditionalPut};
use object_store::path::Path;
use object_store::signer::Signer;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
    WriteMultipart,
};
use reqwest::Method;
use secrecy::ExposeSecret;

use super::{MediaBody, MediaError, MediaStore};
use crate::config::S3Settings;

/// Objects larger than this are uploaded in parts of this size (S3's least part
/// is 5 MiB).
const MULTIPART_FROM: usize = 8 * 1024 * 1024;

pub struct S3Media {
    store: AmazonS3,
    prefix: String,
    /// Media routes redirect to URLs presigned for this long.
    redirect: Option<Duration>,
    /// `endpoint/bucket`, for log lines.
    location: String,
}

fn unavailable(e: object_store::Error) -> MediaError {
    MediaError::unavailable(e)
}

impl S3Media {
    pub fn new(s: &S3Settings) -> Result<Self, MediaError> {
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(2),
                base: 2.0,
            },
            max_retries: 4,
            retry_timeout: Duration::from_secs(20),
        };
        let client = ClientOptions::new()
            .with_allow_http(true)
            .with_connect_timeout(Duration::from_secs(3))
            .with_timeout(Duration::from_secs(60));
        let store = AmazonS3Builder::new()
            .with_endpoint(s.endpoint.trim_end_matches('/'))
            .with_bucket_name(&s.bucket)
            .with_region(&s.region)
            .with_access_key_id(&s.access_key_id)
            .with_secret_access_key(s.secret_access_key.expose_secret())
            .with_virtual_hosted_style_request(!s.path_style)
            // Not every S3 server honours If-None-Match; nothing here needs it.
            .with_conditional_put(S3ConditionalPut::Disabled)
            .with_retry(retry)
            .with_client_options(client)
            .build()
            .map_err(unavailable)?;
        let mut prefix = s.prefix.trim_matches('/').to_owned();
        if !prefix.is_empty() {
            prefix.push('/');
        }
        Ok(S3Media {
            store,
            prefix,
            redirect: s
                .redirect
                .then(|| Duration::from_secs(s.presign_seconds.max(1))),
            location: format!("{}/{}", s.endpoint.trim_end_matches('/'), s.bucket),
        })
    }

    /// Where the media lives, for log lines (no credentials).
    pub fn location(&self) -> &str {
        &self.location
    }

    fn path(&self, key: &str) -> Result<Path, MediaError> {
        super::local::check_key(key)?;
        Ok(Path::from(format!("{}{key}", self.prefix)))
    }

    /// Every key under `folder` (the whole prefix when `None`), relative to the
    /// prefix, sorted.
    async fn list_under(
        &self,
        folder: Option<Path>,
    ) -> Result<Vec<(String, SystemTime)>, MediaError> {
        let mut found = self.store.list(folder.as_ref());
        let mut out = Vec::new();
        while let Some(meta) = found.try_next().await.map_err(unavailable)? {
            let key = meta.location.as_ref();
            let key = key.strip_prefix(self.prefix.as_str()).unwrap_or(key);
            out.push((key.to_owned(), SystemTime::from(meta.last_modified)));
        }
        out.sort();
        Ok(out)
    }

    /// Checks the endpoint, bucket and keys: a HEAD of a key that need not exist.
    pub async fn ping(&self) -> Result<(), MediaError> {
        match self.store.head(&self.path("ping/check")?).await {
            Ok(_) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl MediaStore for S3Media {
    fn backend(&self) -> &'static str {
        "s3"
    }

    async fn put(&self, key: &str, bytes: Bytes, _content_type: &str) -> Result<(), MediaError> {
        let path = self.path(key)?;
        if bytes.len() <= MULTIPART_FROM {
            self.store
                .put(&path, PutPayload::from(bytes))
                .await
                .map_err(unavailable)?;
            return Ok(());
        }
        let upload = self.store.put_multipart(&path).await.map_err(unavailable)?;
        let mut parts = WriteMultipart::new_with_chunk_size(upload, MULTIPART_FROM);
        let mut at = 0;
        while at < bytes.len() {
            let end = (at + MULTIPART_FROM).min(bytes.len());
            if let Err(e) = parts.wait_for_capacity(2).await {
                parts.abort().await.ok();
                return Err(unavailable(e));
            }
            parts.put(bytes.slice(at..end));
            at = end;
        }
        parts.finish().await.map_err(unavailable)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, MediaError> {
        match self.store.get(&self.path(key)?).await {
            Ok(found) => Ok(Some(found.bytes().await.map_err(unavailable)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn open(&self, key: &str) -> Result<Option<MediaBody>, MediaError> {
        match self.store.get(&self.path(key)?).await {
            Ok(found) => {
                let len = found.meta.size;
                let chunks = found.into_stream().map_err(unavailable).boxed();
                Ok(Some(MediaBody { len, chunks }))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool, MediaError> {
        match self.store.head(&self.path(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        match self.store.delete(&self.path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<(), MediaError> {
        let folder = super::local::check_folder(prefix)?;
        let folder = self.path(folder)?;
        let found = self
            .store
            .list(Some(&folder))
            .map_ok(|m| m.location)
            .boxed();
        self.store
            .delete_stream(found)
            .try_collect::<Vec<Path>>()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    fn public_url(&self, _key: &str) -> Option<String> {
        None
    }

    async fn redirect_url(&self, key: &str) -> Result<Option<String>, MediaError> {
        let Some(valid) = self.redirect else {
            return Ok(None);
        };
        let url = self
            .store
            .signed_url(Method::GET, &self.path(key)?, valid)
            .await
            .map_err(unavailable)?;
        Ok(Some(url.to_string()))
    }

    async fn list(&self) -> Result<Option<Vec<(String, SystemTime)>>, MediaError> {
        let prefix = (!self.prefix.is_empty()).then(|| Path::from(self.prefix.as_str()));
        self.list_under(prefix).await.map(Some)
    }

    async fn list_folder(
        &self,
        prefix: &str,
    ) -> Result<Option<Vec<(String, SystemTime)>>, MediaError> {
        let folder = prefix.strip_suffix('/').unwrap_or(prefix);
        let folder = self.path(folder)?;
        self.list_under(Some(folder)).await.map(Some)
    }

    async fn health(&self) -> Result<(), MediaError> {
        self.ping().await
    }
}
