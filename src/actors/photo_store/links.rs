//! Transformation links, kept by PhotoStore (a link hangs off its photo): creating
//! one stores it (pending, the outbox) and publishes its job; the image is made by
//! a job consumer through TransformWorker (`crate::queue::worker`). Serves the
//! finished image and the QR code of a link.

use actix::prelude::*;
use bytes::Bytes;

use super::Photos;
use crate::actors::transform_worker::RenderError;
use crate::auth::Caller;
use crate::domain::{ParseError, Role, Transformation};
use crate::ids::{new_id, now_millis, random_id};
use crate::media::engine;
use crate::queue::Job;
use crate::store::{LinkRecord, LinkStatus, PhotoRecord, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("only the photo's owner or an admin may do this")]
    Forbidden,
    #[error(transparent)]
    Invalid(#[from] ParseError),
    #[error("the transformed image is still being made")]
    Pending,
    #[error("the transformation failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] crate::media::MediaError),
    #[error("QR code could not be made")]
    Render(#[from] RenderError),
    #[error("the photo store is not running")]
    Mailbox(#[from] actix::MailboxError),
    /// An admin asked to retry a job that has not failed.
    #[error("only a failed job can be retried; this one is {0}")]
    NotFailed(&'static str),
    /// The owner already has this many links waiting for their jobs.
    #[error("{0} transformations are already waiting; try again when some are done")]
    TooManyPending(u64),
}

/// Creates (or finds) the link for a canonical transformation of a photo.
#[derive(Message)]
#[rtype(result = "Result<(LinkRecord, bool), LinkError>")]
pub struct CreateLink {
    pub photo_id: String,
    pub caller: Caller,
    pub transformation: Transformation,
    /// The request that asked for it: its job's log lines carry it too.
    pub request_id: Option<String>,
}

#[derive(Message)]
#[rtype(result = "Result<LinkRecord, LinkError>")]
pub struct GetLink {
    pub id: String,
}

/// A photo's links, oldest first.
#[derive(Message)]
#[rtype(result = "Result<(Vec<LinkRecord>, u64), LinkError>")]
pub struct ListLinks {
    pub photo_id: String,
    pub limit: u32,
    pub offset: u64,
}

#[derive(Message)]
#[rtype(result = "Result<(), LinkError>")]
pub struct DeleteLink {
    pub id: String,
    pub caller: Caller,
}

/// Every link as a job, newest first, of one status or all: the admin's job list.
#[derive(Message)]
#[rtype(result = "Result<(Vec<LinkRecord>, u64), LinkError>")]
pub struct ListJobs {
    pub status: Option<LinkStatus>,
    pub limit: u32,
    pub offset: u64,
}

/// Sends a failed link's job again, from its first attempt (admins).
#[derive(Message)]
#[rtype(result = "Result<LinkRecord, LinkError>")]
pub struct RetryJob {
    pub link_id: String,
}

/// The finished image behind `/t/{slug}`.
#[derive(Message)]
#[rtype(result = "Result<LinkImage, LinkError>")]
pub struct OpenLink {
    pub slug: String,
}

pub enum LinkImage {
    Bytes {
        bytes: Bytes,
        content_type: &'static str,
        etag: String,
    },
    Redirect(String),
}

/// The QR code of `/t/{slug}`: PNG (stored by the job, or made now) or SVG.
#[derive(Message)]
#[rtype(result = "Result<(Bytes, &'static str), LinkError>")]
pub struct LinkQr {
    pub slug: String,
    pub svg: bool,
}

impl Photos {
    /// The photo behind `photo_id`, if `caller` may have renders of it made (its
    /// owner or an admin) and `t` fits its size and cost limits, checked from
    /// the dimensions alone.
    pub(super) async fn renderable(
        &self,
        photo_id: &str,
        caller: &Caller,
        t: &Transformation,
    ) -> Result<PhotoRecord, LinkError> {
        let photo = self
            .store
            .photos
            .photo(photo_id)
            .await?
            .ok_or(LinkError::NotFound("photo"))?;
        if photo.owner_id != caller.id && caller.role != Role::Admin {
            return Err(LinkError::Forbidden);
        }
        engine::plan(t, photo.width, photo.height, &self.limits)?;
        Ok(photo)
    }

    pub(super) async fn create_link(
        self,
        msg: CreateLink,
    ) -> Result<(LinkRecord, bool), LinkError> {
        let t = msg.transformation;
        // Checked before anything is queued.
        let photo = self.renderable(&msg.photo_id, &msg.caller, &t).await?;
        let pending = self.store.links.pending_count(&photo.owner_id).await?;
        if pending >= self.max_pending {
            return Err(LinkError::TooManyPending(pending));
        }
        let link = LinkRecord {
            id: new_id(),
            photo_id: photo.id.clone(),
            owner_id: photo.owner_id.clone(),
            transformation: t.to_string(),
            slug: random_id(),
            status: LinkStatus::Pending,
            error: None,
            attempts: 0,
            output: None,
            created_at: now_millis(),
            completed_at: None,
            request_id: msg.request_id,
        };
        let (link, created) = self
            .store
            .links
            .create_link(link)
            .await
            .map_err(|e| match e {
                StoreError::NotFound => LinkError::NotFound("photo"),
                other => other.into(),
            })?;
        if created {
            // The link is stored: if the queue is down now, the sweeper publishes
            // the job later, so the client still gets its link.
            let job = Job::new(&link.id, &link.owner_id, pending);
            if let Err(e) = self.queue.publish(&job).await {
                tracing::warn!(link_id = %link.id, error = %crate::errors::error_chain(&e),
                    "job not published; the sweeper will retry");
            }
        }
        Ok((link, created))
    }

    pub(super) async fn get_link(self, msg: GetLink) -> Result<LinkRecord, LinkError> {
        let link = self.store.links.link(&msg.id).await?;
        self.live(link, "transformation").await
    }

    /// The link, unless its photo is deleted: between the deletion and the purge
    /// (queued) the records still exist, but nobody sees them any more.
    async fn live(
        &self,
        link: Option<LinkRecord>,
        what: &'static str,
    ) -> Result<LinkRecord, LinkError> {
        match link {
            Some(link) if self.store.photos.deletion(&link.photo_id).await?.is_none() => Ok(link),
            _ => Err(LinkError::NotFound(what)),
        }
    }

    pub(super) async fn list_links(
        self,
        msg: ListLinks,
    ) -> Result<(Vec<LinkRecord>, u64), LinkError> {
        if self.store.photos.photo(&msg.photo_id).await?.is_none() {
            return Err(LinkError::NotFound("photo"));
        }
        Ok(self
            .store
            .links
            .links(&msg.photo_id, msg.limit, msg.offset)
            .await?)
    }

    pub(super) async fn delete_link(self, msg: DeleteLink) -> Result<(), LinkError> {
        let link = self.store.links.link(&msg.id).await?;
        let link = self.live(link, "transformation").await?;
        if link.owner_id != msg.caller.id && msg.caller.role != Role::Admin {
            return Err(LinkError::Forbidden);
        }
        let removed = self
            .store
            .links
            .delete_link(&msg.id)
            .await?
            .ok_or(LinkError::NotFound("transformation"))?;
        for key in removed.media_keys() {
            if let Err(e) = self.media.delete(&key).await {
                tracing::error!(key, error = %crate::errors::error_chain(&e),
                    "could not remove a deleted link's file");
            }
        }
        Ok(())
    }

    pub(super) async fn list_jobs(
        self,
        msg: ListJobs,
    ) -> Result<(Vec<LinkRecord>, u64), LinkError> {
        Ok(self
            .store
            .links
            .jobs(msg.status, msg.limit, msg.offset)
            .await?)
    }

    /// The link goes back to pending first (the outbox: if the publish fails, the
    /// sweeper sends it), then its dead letter is dropped and its job published.
    pub(super) async fn retry_job(self, msg: RetryJob) -> Result<LinkRecord, LinkError> {
        let link = self.store.links.link(&msg.link_id).await?;
        let link = self.live(link, "job").await?;
        if link.status != LinkStatus::Failed {
            return Err(LinkError::NotFailed(link.status.as_str()));
        }
        let link = match self.store.links.retry_link(&link.id).await {
            Ok(Some(link)) => link,
            // Retried (or deleted) by someone else in between.
            Ok(None) => return Err(LinkError::NotFailed("no longer failed")),
            Err(StoreError::NotFound) => return Err(LinkError::NotFound("job")),
            Err(e) => return Err(e.into()),
        };
        let work = crate::queue::Work::Transform(link.id.clone());
        match self.queue.forget_dead(&work).await {
            Ok(n) => tracing::info!(link_id = %link.id, dead_letters_dropped = n, "job retried"),
            Err(e) => tracing::warn!(link_id = %link.id, error = %crate::errors::error_chain(&e),
                "dead letter not dropped (the link is pending again: it runs once)"),
        }
        let pending = self.store.links.pending_count(&link.owner_id).await?;
        let job = Job::new(&link.id, &link.owner_id, pending.saturating_sub(1));
        if let Err(e) = self.queue.publish(&job).await {
            tracing::warn!(link_id = %link.id, error = %crate::errors::error_chain(&e),
                "job not published; the sweeper will retry");
        }
        Ok(link)
    }

    async fn by_slug(&self, slug: &str) -> Result<LinkRecord, LinkError> {
        let link = self.store.links.link_by_slug(slug).await?;
        self.live(link, "link").await
    }

    pub(super) async fn open_link(self, msg: OpenLink) -> Result<LinkImage, LinkError> {
        let link = self.by_slug(&msg.slug).await?;
        let output = match (link.status, link.output) {
            (LinkStatus::Done, Some(output)) => output,
            (LinkStatus::Failed, _) => {
                return Err(LinkError::Failed(link.error.unwrap_or_default()))
            }
            _ => return Err(LinkError::Pending),
        };
        if let Some(url) = output.url.clone() {
            return Ok(LinkImage::Redirect(url));
        }
        if let Some(url) = self.media.redirect_url(&output.media_key).await? {
            return Ok(LinkImage::Redirect(url));
        }
        let bytes = self
            .media
            .get(&output.media_key)
            .await?
            .ok_or(LinkError::NotFound("link"))?;
        let format = crate::media::ingest::Format::parse(&output.format)
            .unwrap_or(crate::media::ingest::Format::Jpeg);
        Ok(LinkImage::Bytes {
            bytes,
            content_type: format.mime(),
            etag: output.sha256,
        })
    }

    pub(super) async fn link_qr(self, msg: LinkQr) -> Result<(Bytes, &'static str), LinkError> {
        let link = self.by_slug(&msg.slug).await?;
        let url = self.urls.link(&link.slug);
        if msg.svg {
            let svg = self.workers.qr(url, true).await?;
            return Ok((Bytes::from(svg), "image/svg+xml"));
        }
        if let Some(output) = &link.output {
            // The stored one saves rendering; if storage cannot give it, render.
            if let Ok(Some(png)) = self.media.get(&output.qr_key).await {
                return Ok((png, "image/png"));
            }
        }
        let png = self.workers.qr(url, false).await?;
        Ok((Bytes::from(png), "image/png"))
    }
}
