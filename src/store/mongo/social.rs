//! Follows, the feed, notifications and reports on MongoDB.
//!
//! A follow is one `follows` document plus both accounts' counts in
//! `follow_counts`, in one transaction. The feed is a query, not a copy per
//! follower: the photos whose owner is in the follow list, below the cursor, in the
//! `{owner_id, created_at, _id}` index's order (the server merges one index range
//! per owner). An open report also holds a key in `open_reports`, whose `_id` makes
//! a second open report by the same reporter on the same object a duplicate.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures_util::TryStreamExt;
use mongodb::bson::{self, doc, oid::ObjectId, Document};
use mongodb::options::IndexOptions;
use mongodb::IndexModel;
use serde::{Deserialize, Serialize};

use super::photos::PhotoDoc;
use super::{from_bson_dt, is_duplicate, parse_oid, to_bson_dt, MongoStore};
use crate::domain::{PhotoRecord, UserRecord};
use crate::store::social::*;
use crate::store::StoreError;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct FollowDoc {
    follower_id: String,
    follower_key: String,
    follower_username: String,
    followee_id: String,
    followee_key: String,
    followee_username: String,
    created_at: bson::DateTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct NotificationDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    user_id: String,
    kind: NotificationKind,
    actor_username: String,
    photo_id: Option<String>,
    created_at: bson::DateTime,
    read: bool,
}

impl From<NotificationDoc> for NotificationRecord {
    fn from(d: NotificationDoc) -> Self {
        NotificationRecord {
            id: d.id.to_hex(),
            user_id: d.user_id,
            kind: d.kind,
            actor_username: d.actor_username,
            photo_id: d.photo_id,
            created_at: from_bson_dt(d.created_at),
            read: d.read,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct ReportDoc {
    #[serde(rename = "_id")]
    id: ObjectId,
    kind: ReportKind,
    object_id: String,
    reporter_id: String,
    reporter_username: String,
    reason: ReportReason,
    note: Option<String>,
    status: ReportStatus,
    created_at: bson::DateTime,
    resolved_by: Option<String>,
    action: Option<ReportAction>,
}

impl From<ReportDoc> for ReportRecord {
    fn from(d: ReportDoc) -> Self {
        ReportRecord {
            id: d.id.to_hex(),
            kind: d.kind,
            object_id: d.object_id,
            reporter_id: d.reporter_id,
            reporter_username: d.reporter_username,
            reason: d.reason,
            note: d.note,
            status: d.status,
            created_at: from_bson_dt(d.created_at),
            resolved_by: d.resolved_by,
            action: d.action,
        }
    }
}

fn open_key(kind: ReportKind, object_id: &str, reporter_id: &str) -> String {
    format!("{}:{object_id}:{reporter_id}", kind.as_str())
}

fn count(d: &Document, field: &str) -> u64 {
    let n = d
        .get_i64(field)
        .or_else(|_| d.get_i32(field).map(i64::from))
        .unwrap_or(0);
    u64::try_from(n).unwrap_or(0)
}

impl MongoStore {
    pub(super) async fn create_social_indexes(&self) -> Result<(), StoreError> {
        let index = |keys: Document, unique: bool| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().unique(unique).build())
                .build()
        };
        self.follows
            .create_indexes([
                index(doc! { "follower_id": 1, "followee_id": 1 }, true),
                index(doc! { "follower_id": 1, "followee_key": 1 }, false),
                index(doc! { "followee_id": 1, "follower_key": 1 }, false),
            ])
            .await
            .map_err(StoreError::unavailable)?;
        self.notifications
            .create_indexes([
                index(doc! { "user_id": 1, "_id": -1 }, false),
                index(doc! { "user_id": 1, "read": 1, "_id": -1 }, false),
                // An account's deletion takes the notifications it caused.
                index(doc! { "actor_username": 1 }, false),
            ])
            .await
            .map_err(StoreError::unavailable)?;
        self.reports
            .create_indexes([
                index(doc! { "status": 1, "_id": -1 }, false),
                index(doc! { "kind": 1, "object_id": 1, "status": 1 }, false),
                index(doc! { "reporter_id": 1 }, false),
            ])
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    /// A page of the usernames on one side of a user's follows, in username order:
    /// who follows them (`of_followers`), or whom they follow.
    async fn usernames(
        &self,
        user_id: &str,
        of_followers: bool,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<String>, u64), StoreError> {
        let counts = self.follow_counts(user_id).await?;
        let (filter, sort, total) = if of_followers {
            let filter = doc! { "followee_id": user_id };
            (filter, doc! { "follower_key": 1 }, counts.followers)
        } else {
            let filter = doc! { "follower_id": user_id };
            (filter, doc! { "followee_key": 1 }, counts.following)
        };
        let docs: Vec<FollowDoc> = self
            .follows
            .find(filter)
            .sort(sort)
            .skip(offset)
            .limit(i64::from(limit))
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        let names = docs.into_iter().map(|d| {
            if of_followers {
                d.follower_username
            } else {
                d.followee_username
            }
        });
        Ok((names.collect(), total))
    }
}

#[async_trait]
impl SocialRepo for MongoStore {
    async fn follow(
        &self,
        follower: &UserRecord,
        followee: &UserRecord,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let edge = FollowDoc {
            follower_id: follower.id.clone(),
            follower_key: follower.username.to_lowercase(),
            follower_username: follower.username.clone(),
            followee_id: followee.id.clone(),
            followee_key: followee.username.to_lowercase(),
            followee_username: followee.username.clone(),
            created_at: to_bson_dt(at),
        };
        let added = self
            .transaction(move |s, store| {
                let edge = edge.clone();
                Box::pin(async move {
                    // A second follow fails on the unique index and aborts the
                    // transaction, counts included.
                    store.follows.insert_one(&edge).session(&mut *s).await?;
                    let bump = |id: &str, field: &str| {
                        (doc! { "_id": id }, doc! { "$inc": { field: 1_i64 } })
                    };
                    for (filter, update) in [
                        bump(&edge.follower_id, "following"),
                        bump(&edge.followee_id, "followers"),
                    ] {
                        store
                            .follow_counts
                            .update_one(filter, update)
                            .upsert(true)
                            .session(&mut *s)
                            .await?;
                    }
                    Ok(())
                })
            })
            .await;
        match added {
            Ok(()) => Ok(true),
            Err(e) if is_duplicate(&e) => Ok(false),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn unfollow(&self, follower_id: &str, followee_id: &str) -> Result<bool, StoreError> {
        let (a, b) = (follower_id.to_owned(), followee_id.to_owned());
        self.transaction(move |s, store| {
            let (a, b) = (a.clone(), b.clone());
            Box::pin(async move {
                let removed = store
                    .follows
                    .delete_one(doc! { "follower_id": &a, "followee_id": &b })
                    .session(&mut *s)
                    .await?;
                if removed.deleted_count == 0 {
                    return Ok(false);
                }
                for (id, field) in [(&a, "following"), (&b, "followers")] {
                    store
                        .follow_counts
                        .update_one(doc! { "_id": id }, doc! { "$inc": { field: -1_i64 } })
                        .session(&mut *s)
                        .await?;
                }
                Ok(true)
            })
        })
        .await
        .map_err(StoreError::unavailable)
    }

    async fn forget_user(&self, user_id: &str, username: &str) -> Result<(), StoreError> {
        // Each follow through `unfollow`, so both sides' counts move with it.
        for mine in [true, false] {
            let side = if mine { "follower_id" } else { "followee_id" };
            loop {
                let page: Vec<FollowDoc> = self
                    .follows
                    .find(doc! { side: user_id })
                    .limit(100)
                    .await
                    .map_err(StoreError::unavailable)?
                    .try_collect()
                    .await
                    .map_err(StoreError::unavailable)?;
                if page.is_empty() {
                    break;
                }
                for f in page {
                    self.unfollow(&f.follower_id, &f.followee_id).await?;
                }
            }
        }
        self.follow_counts
            .delete_one(doc! { "_id": user_id })
            .await
            .map_err(StoreError::unavailable)?;
        let gone = doc! { "$or": [{ "user_id": user_id }, { "actor_username": username }] };
        self.notifications
            .delete_many(gone)
            .await
            .map_err(StoreError::unavailable)?;
        // A report's open key before the report: a crash in between leaves a report
        // found again next time.
        let filed: Vec<ReportDoc> = self
            .reports
            .find(doc! { "reporter_id": user_id })
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        for r in &filed {
            let key = open_key(r.kind, &r.object_id, &r.reporter_id);
            self.open_reports
                .delete_one(doc! { "_id": key })
                .await
                .map_err(StoreError::unavailable)?;
        }
        self.reports
            .delete_many(doc! { "reporter_id": user_id })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn follow_counts(&self, user_id: &str) -> Result<FollowCounts, StoreError> {
        let found = self
            .follow_counts
            .find_one(doc! { "_id": user_id })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(found.map_or_else(FollowCounts::default, |d| FollowCounts {
            followers: count(&d, "followers"),
            following: count(&d, "following"),
        }))
    }

    async fn followers(
        &self,
        user_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<String>, u64), StoreError> {
        self.usernames(user_id, true, limit, offset).await
    }

    async fn following(
        &self,
        user_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<String>, u64), StoreError> {
        self.usernames(user_id, false, limit, offset).await
    }

    async fn feed(
        &self,
        user_id: &str,
        after: Option<&FeedCursor>,
        limit: u32,
    ) -> Result<Vec<PhotoRecord>, StoreError> {
        let owners: Vec<String> = self
            .follows
            .clone_with_type::<FollowIds>()
            .find(doc! { "follower_id": user_id })
            .projection(doc! { "followee_id": 1, "_id": 0 })
            .await
            .map_err(StoreError::unavailable)?
            .try_collect::<Vec<FollowIds>>()
            .await
            .map_err(StoreError::unavailable)?
            .into_iter()
            .map(|f| f.followee_id)
            .collect();
        if owners.is_empty() {
            return Ok(Vec::new());
        }
        let mut filter = doc! { "owner_id": { "$in": owners } };
        if let Some(c) = after {
            let (at, id) = (to_bson_dt(c.created_at), parse_oid(&c.photo_id));
            filter.insert(
                "$or",
                vec![
                    doc! { "created_at": { "$lt": at } },
                    doc! { "created_at": at, "_id": { "$lt": id } },
                ],
            );
        }
        let docs: Vec<PhotoDoc> = self
            .photos
            .find(filter)
            .sort(doc! { "created_at": -1, "_id": -1 })
            .limit(i64::from(limit))
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(docs.into_iter().map(PhotoRecord::from).collect())
    }
}

#[derive(Deserialize)]
struct FollowIds {
    followee_id: String,
}

#[derive(Deserialize)]
struct Edge {
    follower_id: String,
    followee_id: String,
}

/// fsck's names for the two counts `follow_counts` holds.
const COUNTS: [&str; 2] = ["followers", "following"];

type Counters = std::collections::BTreeMap<&'static str, std::collections::BTreeMap<String, u64>>;

impl MongoStore {
    /// Every follow, and the stored counts (fsck).
    pub(super) async fn follow_census(
        &self,
    ) -> Result<(Vec<(String, String)>, Counters), StoreError> {
        let edges: Vec<Edge> = self
            .follows
            .clone_with_type::<Edge>()
            .find(doc! {})
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        let docs: Vec<Document> = self
            .follow_counts
            .find(doc! {})
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        let mut counters = Counters::new();
        for name in COUNTS {
            let stored = docs
                .iter()
                .filter_map(|d| Some((d.get_str("_id").ok()?.to_owned(), count(d, name))))
                .collect();
            counters.insert(name, stored);
        }
        let follows = edges
            .into_iter()
            .map(|e| (e.follower_id, e.followee_id))
            .collect();
        Ok((follows, counters))
    }

    /// Rewrites `follow_counts` from fsck's recount.
    pub(super) async fn recount_follows(
        &self,
        recount: &crate::store::Recount,
    ) -> Result<(), StoreError> {
        let (Some(followers), Some(following)) = (
            recount.counters.get("followers"),
            recount.counters.get("following"),
        ) else {
            return Ok(());
        };
        self.follow_counts
            .delete_many(doc! {})
            .await
            .map_err(StoreError::unavailable)?;
        let ids: std::collections::BTreeSet<&String> =
            followers.keys().chain(following.keys()).collect();
        let docs: Vec<Document> = ids
            .into_iter()
            .map(|id| {
                let n = |m: &std::collections::BTreeMap<String, u64>| {
                    m.get(id).copied().unwrap_or(0) as i64
                };
                doc! { "_id": id, "followers": n(followers), "following": n(following) }
            })
            .collect();
        if !docs.is_empty() {
            self.follow_counts
                .insert_many(docs)
                .await
                .map_err(StoreError::unavailable)?;
        }
        Ok(())
    }
}

#[async_trait]
impl NotificationRepo for MongoStore {
    async fn notify(&self, n: NotificationRecord) -> Result<(), StoreError> {
        let doc = NotificationDoc {
            id: parse_oid(&n.id).unwrap_or_default(),
            user_id: n.user_id,
            kind: n.kind,
            actor_username: n.actor_username,
            photo_id: n.photo_id,
            created_at: to_bson_dt(n.created_at),
            read: n.read,
        };
        self.notifications
            .insert_one(doc)
            .await
            .map_err(StoreError::unavailable)?;
        Ok(())
    }

    async fn notifications(
        &self,
        user_id: &str,
        unread_only: bool,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let mut filter = doc! { "user_id": user_id };
        if unread_only {
            filter.insert("read", false);
        }
        if let Some(before) = before.and_then(parse_oid) {
            filter.insert("_id", doc! { "$lt": before });
        }
        let docs: Vec<NotificationDoc> = self
            .notifications
            .find(filter)
            .sort(doc! { "_id": -1 })
            .limit(i64::from(limit))
            .await
            .map_err(StoreError::unavailable)?
            .try_collect()
            .await
            .map_err(StoreError::unavailable)?;
        Ok(docs.into_iter().map(NotificationRecord::from).collect())
    }

    async fn mark_read(&self, user_id: &str, ids: Option<&[String]>) -> Result<u64, StoreError> {
        let mut filter = doc! { "user_id": user_id, "read": false };
        if let Some(ids) = ids {
            let oids: Vec<ObjectId> = ids.iter().filter_map(|i| parse_oid(i)).collect();
            filter.insert("_id", doc! { "$in": oids });
        }
        let done = self
            .notifications
            .update_many(filter, doc! { "$set": { "read": true } })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(done.modified_count)
    }
}

#[async_trait]
impl ReportRepo for MongoStore {
    async fn file_report(&self, r: ReportRecord) -> Result<(), StoreError> {
        let key = open_key(r.kind, &r.object_id, &r.reporter_id);
        let doc = ReportDoc {
            id: parse_oid(&r.id).unwrap_or_default(),
            kind: r.kind,
            object_id: r.object_id,
            reporter_id: r.reporter_id,
            reporter_username: r.reporter_username,
            reason: r.reason,
            note: r.note,
            status: r.status,
            created_at: to_bson_dt(r.created_at),
            resolved_by: r.resolved_by,
            action: r.action,
        };
        let filed = self
            .transaction(move |s, store| {
                let (key, doc) = (key.clone(), doc.clone());
                Box::pin(async move {
                    let open = doc! { "_id": &key, "report_id": doc.id };
                    store.open_reports.insert_one(open).session(&mut *s).await?;
                    store.reports.insert_one(doc).session(&mut *s).await?;
                    Ok(())
                })
            })
            .await;
        match filed {
            Ok(()) => Ok(()),
            Err(e) if is_duplicate(&e) => Err(StoreError::Conflict("report")),
            Err(e) => Err(StoreError::unavailable(e)),
        }
    }

    async fn report(&self, id: &str) -> Result<Option<ReportRecord>, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(None);
        };
        let found = self
            .reports
            .find_one(doc! { "_id": oid })
            .await
            .map_err(StoreError::unavailable)?;
        Ok(found.map(ReportRecord::from))
    }

    async fn reports(
        &self,
        status: Option<ReportStatus>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<ReportRecord>, u64), StoreError> {
        let filter = match status {
            Some(s) => doc! { "status": s.as_str() },
            None => doc! {},
        };
        super::find_page(&self.reports, filter, doc! { "_id": -1 }, limit, offset).await
    }

    async fn resolve_reports(
        &self,
        id: &str,
        by: &str,
        action: ReportAction,
    ) -> Result<Resolved, StoreError> {
        let Some(oid) = parse_oid(id) else {
            return Ok(Resolved::NotFound);
        };
        let by = by.to_owned();
        let action_bson = bson::to_bson(&action).map_err(StoreError::unavailable)?;
        self.transaction(move |s, store| {
            let (by, action_bson) = (by.clone(), action_bson.clone());
            Box::pin(async move {
                let Some(report) = store
                    .reports
                    .find_one(doc! { "_id": oid })
                    .session(&mut *s)
                    .await?
                else {
                    return Ok(Resolved::NotFound);
                };
                if report.status == ReportStatus::Resolved {
                    return Ok(Resolved::Already(report.into()));
                }
                let mut targets = vec![oid];
                if action == ReportAction::Remove {
                    let same: Vec<ReportDoc> = store
                        .reports
                        .find(doc! {
                            "kind": bson::to_bson(&report.kind)?,
                            "object_id": &report.object_id,
                            "status": ReportStatus::Open.as_str(),
                        })
                        .session(&mut *s)
                        .await?
                        .stream(&mut *s)
                        .try_collect()
                        .await?;
                    targets.extend(same.into_iter().map(|r| r.id).filter(|i| *i != oid));
                }
                for target in &targets {
                    let Some(r) = store
                        .reports
                        .find_one_and_update(
                            doc! { "_id": target, "status": ReportStatus::Open.as_str() },
                            doc! { "$set": {
                                "status": ReportStatus::Resolved.as_str(),
                                "resolved_by": &by,
                                "action": action_bson.clone(),
                            } },
                        )
                        .session(&mut *s)
                        .await?
                    else {
                        continue;
                    };
                    let key = open_key(r.kind, &r.object_id, &r.reporter_id);
                    store
                        .open_reports
                        .delete_one(doc! { "_id": key })
                        .session(&mut *s)
                        .await?;
                }
                let mut now: ReportRecord = report.into();
                now.status = ReportStatus::Resolved;
                now.resolved_by = Some(by);
                now.action = Some(action);
                Ok(Resolved::Now(now))
            })
        })
        .await
        .map_err(StoreError::unavailable)
    }
}
