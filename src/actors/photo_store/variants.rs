//! Display sizes (`/v/{slug}/{name}`): made from the original on the first request
//! for them, kept in the media store under `v/{photo id}/{name}.{ext}`, and served
//! like originals afterwards. Concurrent first requests for one variant wait on one
//! gate: one renders, the others find its result. Signed delivery URLs
//! (`delivery`) keep their renders the same way. A backend that transforms on
//! delivery (Cloudinary) is sent there instead, and nothing is kept here.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use actix::prelude::*;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{processing, Image, PhotoError, Photos};
use crate::actors::transform_worker::Render;
use crate::domain::{PhotoRecord, Transformation, Variant};
use crate::media::ingest::Format;
use crate::media::{engine, libjpeg};

/// A display size of the photo behind `slug`, in `format` or its default one.
#[derive(Message)]
#[rtype(result = "Result<Image, PhotoError>")]
pub struct OpenVariant {
    pub slug: String,
    pub variant: Variant,
    pub format: Option<Format>,
}

/// One gate per variant being made, and how many were made.
#[derive(Default)]
pub(super) struct VariantRenders {
    gates: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    made: Arc<Made>,
}

/// What this process made and kept (for `/metrics`).
#[derive(Default)]
pub struct Made {
    /// Display sizes and delivery renders.
    pub renders: AtomicU64,
    /// Baseline copies of progressive originals.
    pub baseline_copies: AtomicU64,
}

/// The format a variant is kept in when the client names none: JPEG, unless
/// the photo has transparent parts (PNG then, alpha kept). Transparency is read
/// from the placeholder's ThumbHash; a photo stored before placeholders existed
/// keeps its original's family (JPEG for JPEG, PNG for the others).
pub fn default_format(photo: &PhotoRecord) -> Format {
    let alpha = photo.placeholder.as_ref().and_then(|p| p.has_alpha());
    match (Format::parse(&photo.format), alpha) {
        (Some(Format::Jpeg) | None, _) | (_, Some(false)) => Format::Jpeg,
        _ => Format::Png,
    }
}

/// Where a variant is kept.
pub fn variant_key(photo_id: &str, variant: Variant, format: Format) -> String {
    format!("v/{photo_id}/{}.{}", variant.name(), format.extension())
}

/// Where the baseline copy of a progressive JPEG original is kept: among the
/// photo's delivery renders, which its purge removes as one folder.
pub fn baseline_key(photo_id: &str) -> String {
    format!("{}baseline.jpg", super::delivery_prefix(photo_id))
}

/// Every key a photo's variants may be kept under (for its purge).
pub fn variant_keys(photo_id: &str) -> Vec<String> {
    let formats = [Format::Jpeg, Format::Png, Format::Webp];
    Variant::ALL
        .iter()
        .flat_map(|v| formats.map(|f| variant_key(photo_id, *v, f)))
        .collect()
}

impl Photos {
    /// The counts of display sizes, delivery renders and baseline copies made by
    /// this process (for `/metrics`).
    pub fn variants_made(&self) -> Arc<Made> {
        self.variants.made.clone()
    }

    pub(super) async fn open_variant(self, msg: OpenVariant) -> Result<Image, PhotoError> {
        let photo = self.photo_by_slug(&msg.slug).await?;
        let transformation = msg.variant.transformation();
        if let Some(url) = self
            .media
            .transformed_url(&photo.media_key, &transformation.to_string())
        {
            return Ok(Image::Redirect(url));
        }
        let format = msg.format.unwrap_or_else(|| default_format(&photo));
        let kept = Kept {
            key: variant_key(&photo.id, msg.variant, format),
            tag: format!("{}/{}/{}", photo.sha256, msg.variant.name(), format.name()),
            transformation,
            format,
        };
        self.kept_render(&photo, kept).await
    }

    /// A render of `photo` kept under `kept.key`: read back, or made once (one
    /// gate per key) and stored.
    pub(super) async fn kept_render(
        &self,
        photo: &PhotoRecord,
        kept: Kept,
    ) -> Result<Image, PhotoError> {
        if let Some(url) = self.media.redirect_url(&kept.key).await? {
            // Clients fetch it from the media store: make it first if need be.
            if !self.media.exists(&kept.key).await? {
                self.make_kept(photo, &kept).await?;
            }
            return Ok(Image::Redirect(url));
        }
        let bytes = match self.stored(&kept.key).await? {
            Some(bytes) => bytes,
            None => self.make_kept(photo, &kept).await?,
        };
        // The bytes follow from the original, the transformation and the format:
        // so does the tag, without hashing them on every request.
        let etag = hex::encode(&Sha256::digest(kept.tag.as_bytes())[..16]);
        Ok(Image::Bytes {
            bytes,
            content_type: kept.format.mime(),
            etag,
        })
    }

    async fn make_kept(&self, photo: &PhotoRecord, kept: &Kept) -> Result<Bytes, PhotoError> {
        let key = kept.key.as_str();
        self.one_at_a_time(key, async {
            // Made while this request waited its turn?
            if let Some(bytes) = self.stored(key).await? {
                return Ok(bytes);
            }
            let render = Render {
                original: self.render_source(photo, &kept.transformation).await?,
                transformation: kept.transformation.clone(),
                format: Some(kept.format),
                qr_url: None,
            };
            let out = self.workers.render(render).await.map_err(processing)?;
            let bytes = Bytes::from(out.image.bytes);
            self.keep(photo, key, bytes.clone(), kept.format.mime())
                .await?;
            self.variants.made.renders.fetch_add(1, Ordering::Relaxed);
            Ok(bytes)
        })
        .await
    }

    /// What a render of `photo` by `t` reads: its original or, for a progressive
    /// JPEG, a lossless baseline copy of it (`libjpeg::baseline`: the same pixels
    /// at every scale), made by the first render that needs it and kept with the
    /// photo's delivery renders, so it goes with them. Decodes at 1/8 keep the
    /// original: they read only its DC scans (`engine::cut_scans`), less than the
    /// copy's one scan holds.
    async fn render_source(
        &self,
        photo: &PhotoRecord,
        t: &Transformation,
    ) -> Result<Bytes, PhotoError> {
        let original = self
            .stored(&photo.media_key)
            .await?
            .ok_or(PhotoError::NotFound)?;
        let header = original
            .starts_with(&[0xFF, 0xD8])
            .then(|| libjpeg::info(&original));
        let wants_copy = match header {
            Some(Ok(i)) => i.progressive && engine::jpeg_scale(i.width, i.height, t) > 1,
            _ => false,
        };
        if !wants_copy {
            return Ok(original);
        }
        let key = baseline_key(&photo.id);
        if let Some(copy) = self.stored(&key).await? {
            return Ok(copy);
        }
        self.one_at_a_time(&key, async {
            if let Some(copy) = self.stored(&key).await? {
                return Ok(copy);
            }
            match self.workers.baseline_copy(original.clone()).await {
                Ok(copy) => {
                    let copy = Bytes::from(copy);
                    self.keep(photo, &key, copy.clone(), "image/jpeg").await?;
                    let copies = &self.variants.made.baseline_copies;
                    copies.fetch_add(1, Ordering::Relaxed);
                    Ok(copy)
                }
                Err(error) => {
                    tracing::warn!(%error, photo = %photo.id, "no baseline copy: rendering from the original");
                    Ok(original.clone())
                }
            }
        })
        .await
    }

    /// Stores `bytes`, made from `photo`, under `key`, unless the photo was deleted
    /// while they were made: its purge may have run already and will not come back
    /// for a file that lands after it, so such a file is removed here, and the
    /// answer is that the photo is gone. (A purge that starts after the check
    /// finds the file itself.)
    async fn keep(
        &self,
        photo: &PhotoRecord,
        key: &str,
        bytes: Bytes,
        mime: &str,
    ) -> Result<(), PhotoError> {
        self.media.put(key, bytes.clone(), mime).await?;
        if self.store.photos.photo(&photo.id).await?.is_none() {
            self.media.delete(key).await?;
            return Err(PhotoError::NotFound);
        }
        self.cache.put(key, bytes);
        Ok(())
    }

    /// Runs `make` for `key` while concurrent callers for the same key wait their
    /// turn (each then finds what the one before it stored).
    async fn one_at_a_time<T>(
        &self,
        key: &str,
        make: impl std::future::Future<Output = Result<T, PhotoError>>,
    ) -> Result<T, PhotoError> {
        let gate = {
            let mut gates = self
                .variants
                .gates
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            gates.entry(key.to_owned()).or_default().clone()
        };
        let made = async {
            let _turn = gate.lock().await;
            make.await
        }
        .await;
        let mut gates = self
            .variants
            .gates
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // The last one out removes the gate; later requests find the result kept.
        if Arc::strong_count(&gate) <= 2 {
            gates.remove(key);
        }
        made
    }
}

/// A render made on request and kept: what, in which format, where, and what
/// its `ETag` is made from.
pub(super) struct Kept {
    pub key: String,
    pub tag: String,
    pub transformation: Transformation,
    pub format: Format,
}
