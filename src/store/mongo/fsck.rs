//! `Integrity` on MongoDB: the census reads every collection; the recount sets each
//! photo's counters and rewrites the tag documents.

use async_trait::async_trait;
use futures_util::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::Collection;

use super::{parse_oid, MongoStore};
use crate::store::{Census, Integrity, Recount, StoreError, TagCount};

async fn all<D, R>(coll: &Collection<D>) -> Result<Vec<R>, StoreError>
where
    D: serde::de::DeserializeOwned + Send + Sync,
    R: From<D>,
{
    let cursor = coll.find(doc! {}).await.map_err(StoreError::unavailable)?;
    let docs: Vec<D> = cursor
        .try_collect()
        .await
        .map_err(StoreError::unavailable)?;
    Ok(docs.into_iter().map(R::from).collect())
}

#[async_trait]
impl Integrity for MongoStore {
    async fn census(&self) -> Result<Census, StoreError> {
        // No snapshot across collections: the records hanging off photos are
        // read before the photos and tombstones, so a photo stored in between is
        // found, and its records are never taken for orphans.
        let comments = all(&self.comments).await?;
        let ratings = all(&self.ratings).await?;
        let links = all(&self.links).await?;
        let tags: Vec<TagCount> = all::<Document, _>(&self.tags).await?;
        let (follows, counters) = self.follow_census().await?;
        Ok(Census {
            follows,
            photos: all(&self.photos).await?,
            deletions: all(&self.deletions).await?,
            comments,
            ratings,
            links,
            tags: tags.into_iter().map(|t| (t.name, t.photo_count)).collect(),
            // Photos per owner, comments per author and links per status are
            // counted by queries on demand: nothing stored to drift. Follow counts
            // are stored (`follow_counts`).
            counters,
        })
    }

    async fn recount(&self, recount: Recount) -> Result<(), StoreError> {
        for (id, (comments, sum, count)) in &recount.photos {
            let Some(oid) = parse_oid(id) else { continue };
            let (comments, sum, count) = (*comments as i64, *sum as i64, *count as i64);
            let average = (count > 0).then(|| sum as f64 / count as f64);
            let set = doc! {
                "comment_count": comments,
                "rating_sum": sum,
                "rating_count": count,
                "rating_average": average,
            };
            self.photos
                .update_one(doc! { "_id": oid }, doc! { "$set": set })
                .await
                .map_err(StoreError::unavailable)?;
        }
        self.tags
            .delete_many(doc! {})
            .await
            .map_err(StoreError::unavailable)?;
        let docs: Vec<Document> = recount
            .tags
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(name, n)| doc! { "_id": name, "photo_count": *n as i64 })
            .collect();
        if !docs.is_empty() {
            self.tags
                .insert_many(docs)
                .await
                .map_err(StoreError::unavailable)?;
        }
        self.recount_follows(&recount).await
    }
}
