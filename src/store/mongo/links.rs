//! Transformation links: `LinkRepo` on MongoDB, one link per photo and canonical
//! transformation, with the pending ones as the outbox.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, oid::ObjectId};
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};

use super::{
    find_one_as, find_page, from_bson_dt, is_duplicate, parse_oid, to_bson_dt, MongoStore,
};
use crate::store::{
    LinkCounts, LinkOutcome, LinkOutput, LinkRecord, LinkRepo, LinkStatus, StoreError,
};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct LinkDoc {
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

#[derive(Debug, Clone, Serialize, Deserialize)]
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
        // With a write to the photo (its count of links made), so that the link and
        // the photo's deletion are ordered: no link is left behind by a purge.
        let created = self
            .transaction(move |s, store| {
                let doc = doc.clone();
                Box::pin(async move {
                    let photo = doc.photo_id.clone();
                    let made = doc! { "links_made": 1_i64 };
                    if !store.bump_photo(s, &photo, made).await? {
                        return Ok(false);
                    }
                    store.links.insert_one(doc).session(&mut *s).await?;
                    Ok(true)
                })
            })
            .await;
        match created {
            Ok(true) => Ok((l, true)),
            Ok(false) => Err(StoreError::NotFound),
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

    async fn pending_count(&self, owner_id: &str) -> Result<u64, StoreError> {
        self.links
            .count_documents(doc! { "owner_id": owner_id, "status": "pending" })
            .await
            .map_err(StoreError::unavailable)
    }

    async fn retry_link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError> {
        let oid = parse_oid(id).ok_or(StoreError::NotFound)?;
        // Only a failed link changes, in one update: two admins retrying at once
        // publish one job between them.
        let updated = self
            .links
            .find_one_and_update(
                doc! { "_id": oid, "status": "failed" },
                doc! {
                    "$set": { "status": "pending", "attempts": 0_i64, "error": null, "completed_at": null }
                },
            )
            .return_document(ReturnDocument::After)
            .await
            .map_err(StoreError::unavailable)?;
        if let Some(link) = updated {
            return Ok(Some(link.into()));
        }
        match self.link(id).await? {
            Some(_) => Ok(None),
            None => Err(StoreError::NotFound),
        }
    }

    async fn jobs(
        &self,
        status: Option<LinkStatus>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<LinkRecord>, u64), StoreError> {
        // On the `{status, _id}` index (the outbox's), walked backwards; all
        // statuses on `_id`. Ids are time-ordered: newest first.
        let filter = match status {
            Some(s) => doc! { "status": s.as_str() },
            None => doc! {},
        };
        find_page(&self.links, filter, doc! { "_id": -1 }, limit, offset).await
    }

    async fn done_since(&self, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, StoreError> {
        #[derive(Deserialize)]
        struct Done {
            completed_at: bson::DateTime,
        }
        let done: Vec<Done> = self
            .links
            .clone_with_type::<Done>()
            .find(doc! { "status": "done", "completed_at": { "$gte": to_bson_dt(since) } })
            .projection(doc! { "_id": 0, "completed_at": 1 })
            .sort(doc! { "status": 1, "completed_at": 1 })
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(done
            .into_iter()
            .map(|d| from_bson_dt(d.completed_at))
            .collect())
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
