//! Follows, the feed, notifications and reports on the embedded store.
//!
//! The feed is read, not written: a page merges the follow list's owners' `o:`
//! search postings (each already newest first) from the cursor down, so an upload
//! writes nothing per follower.

use std::collections::BinaryHeap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};

use super::search::{time_key, ID_MAX};
use super::{bump, decode, encode, EmbeddedStore, TxError, PHOTOS, POSTINGS};
use crate::domain::{PhotoRecord, UserRecord};
use crate::store::social::*;
use crate::store::StoreError;

/// (follower id, followee id) -> (follower's username key, followee's username key).
pub(super) const FOLLOW_EDGES: TableDefinition<(&str, &str), (&str, &str)> =
    TableDefinition::new("follow_edges");
/// (follower id, followee's username key) -> (followee id, followee's username).
const FOLLOWING: TableDefinition<(&str, &str), (&str, &str)> = TableDefinition::new("following");
/// (followee id, follower's username key) -> (follower id, follower's username).
const FOLLOWERS: TableDefinition<(&str, &str), (&str, &str)> = TableDefinition::new("followers");
pub(super) const FOLLOWER_COUNT: TableDefinition<&str, u64> =
    TableDefinition::new("follower_count");
pub(super) const FOLLOWING_COUNT: TableDefinition<&str, u64> =
    TableDefinition::new("following_count");
const NOTIFICATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("notifications");
/// (user id, notification id): ids are ObjectIds, so this is oldest first.
const USER_NOTIFICATIONS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("user_notifications");
const USER_UNREAD: TableDefinition<(&str, &str), ()> = TableDefinition::new("user_unread");
const REPORTS: TableDefinition<&str, &[u8]> = TableDefinition::new("reports");
/// (status, report id), for the moderation queue newest first.
const REPORTS_BY_STATUS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("reports_by_status");
/// ("kind:object id", reporter id) -> report id, while the report is open.
const OPEN_REPORTS: TableDefinition<(&str, &str), &str> = TableDefinition::new("open_reports");

pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), TxError> {
    txn.open_table(FOLLOW_EDGES)?;
    txn.open_table(FOLLOWING)?;
    txn.open_table(FOLLOWERS)?;
    txn.open_table(FOLLOWER_COUNT)?;
    txn.open_table(FOLLOWING_COUNT)?;
    txn.open_table(NOTIFICATIONS)?;
    txn.open_table(USER_NOTIFICATIONS)?;
    txn.open_table(USER_UNREAD)?;
    txn.open_table(REPORTS)?;
    txn.open_table(REPORTS_BY_STATUS)?;
    txn.open_table(OPEN_REPORTS)?;
    Ok(())
}

fn key(username: &str) -> String {
    username.to_lowercase()
}

/// A page of the usernames stored under `(owner, *)` in `table`, with the count.
fn usernames(
    db: &redb::Database,
    table: TableDefinition<(&str, &str), (&str, &str)>,
    count: TableDefinition<&str, u64>,
    owner: &str,
    limit: u32,
    offset: u64,
) -> Result<(Vec<String>, u64), TxError> {
    let txn = db.begin_read()?;
    let total = txn.open_table(count)?.get(owner)?.map_or(0, |v| v.value());
    let table = txn.open_table(table)?;
    let mut page = Vec::new();
    for entry in table
        .range((owner, "")..=(owner, ID_MAX))?
        .skip(offset as usize)
    {
        if page.len() >= limit as usize {
            break;
        }
        let (_, value) = entry?;
        page.push(value.value().1.to_owned());
    }
    Ok((page, total))
}

#[async_trait]
impl SocialRepo for EmbeddedStore {
    async fn follow(
        &self,
        follower: &UserRecord,
        followee: &UserRecord,
        _at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (a, b) = (follower.clone(), followee.clone());
        self.write(move |txn| {
            let mut edges = txn.open_table(FOLLOW_EDGES)?;
            if edges.get((a.id.as_str(), b.id.as_str()))?.is_some() {
                return Ok(false);
            }
            let (ka, kb) = (key(&a.username), key(&b.username));
            edges.insert((a.id.as_str(), b.id.as_str()), (ka.as_str(), kb.as_str()))?;
            txn.open_table(FOLLOWING)?.insert(
                (a.id.as_str(), kb.as_str()),
                (b.id.as_str(), b.username.as_str()),
            )?;
            txn.open_table(FOLLOWERS)?.insert(
                (b.id.as_str(), ka.as_str()),
                (a.id.as_str(), a.username.as_str()),
            )?;
            bump(&mut txn.open_table(FOLLOWING_COUNT)?, &a.id, 1)?;
            bump(&mut txn.open_table(FOLLOWER_COUNT)?, &b.id, 1)?;
            Ok(true)
        })
        .await
    }

    async fn unfollow(&self, follower_id: &str, followee_id: &str) -> Result<bool, StoreError> {
        let (a, b) = (follower_id.to_owned(), followee_id.to_owned());
        self.write(move |txn| {
            let mut edges = txn.open_table(FOLLOW_EDGES)?;
            let Some(keys) = edges.remove((a.as_str(), b.as_str()))? else {
                return Ok(false);
            };
            let (ka, kb) = keys.value();
            let (ka, kb) = (ka.to_owned(), kb.to_owned());
            drop(keys);
            txn.open_table(FOLLOWING)?
                .remove((a.as_str(), kb.as_str()))?;
            txn.open_table(FOLLOWERS)?
                .remove((b.as_str(), ka.as_str()))?;
            bump(&mut txn.open_table(FOLLOWING_COUNT)?, &a, -1)?;
            bump(&mut txn.open_table(FOLLOWER_COUNT)?, &b, -1)?;
            Ok(true)
        })
        .await
    }

    async fn forget_user(&self, user_id: &str, username: &str) -> Result<(), StoreError> {
        let (me, name) = (user_id.to_owned(), username.to_owned());
        self.write(move |txn| {
            let me = me.as_str();
            forget_follows(txn, me)?;
            forget_notifications(txn, me, &name)?;
            forget_reports(txn, me)
        })
        .await
    }

    async fn follow_counts(&self, user_id: &str) -> Result<FollowCounts, StoreError> {
        let read = || -> Result<FollowCounts, TxError> {
            let txn = self.db.begin_read()?;
            let count = |t| -> Result<u64, TxError> {
                Ok(txn.open_table(t)?.get(user_id)?.map_or(0, |v| v.value()))
            };
            Ok(FollowCounts {
                followers: count(FOLLOWER_COUNT)?,
                following: count(FOLLOWING_COUNT)?,
            })
        };
        Ok(read()?)
    }

    async fn followers(
        &self,
        user_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<String>, u64), StoreError> {
        Ok(usernames(
            &self.db,
            FOLLOWERS,
            FOLLOWER_COUNT,
            user_id,
            limit,
            offset,
        )?)
    }

    async fn following(
        &self,
        user_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<String>, u64), StoreError> {
        Ok(usernames(
            &self.db,
            FOLLOWING,
            FOLLOWING_COUNT,
            user_id,
            limit,
            offset,
        )?)
    }

    async fn feed(
        &self,
        user_id: &str,
        after: Option<&FeedCursor>,
        limit: u32,
    ) -> Result<Vec<PhotoRecord>, StoreError> {
        Ok(self.feed_now(user_id, after, limit)?)
    }
}

impl EmbeddedStore {
    fn feed_now(
        &self,
        user_id: &str,
        after: Option<&FeedCursor>,
        limit: u32,
    ) -> Result<Vec<PhotoRecord>, TxError> {
        let txn = self.db.begin_read()?;
        let mut terms = Vec::new();
        for entry in txn
            .open_table(FOLLOWING)?
            .range((user_id, "")..=(user_id, ID_MAX))?
        {
            let (_, value) = entry?;
            terms.push(format!("o:{}", value.value().0));
        }
        let postings = txn.open_table(POSTINGS)?;
        let (hi_time, hi_id) = after.map_or((u64::MAX, ID_MAX), |c| {
            (time_key(c.created_at), c.photo_id.as_str())
        });
        // One cursor per followed account, newest first; the heap holds each one's
        // next photo, so a page reads `limit` postings past the heads.
        let mut walks = Vec::with_capacity(terms.len());
        let mut heads = BinaryHeap::new();
        for term in &terms {
            let mut walk = postings
                .range((term.as_str(), 0, "")..(term.as_str(), hi_time, hi_id))?
                .rev();
            if let Some(entry) = walk.next() {
                let (k, _) = entry?;
                let (_, time, id) = k.value();
                heads.push((time, id.to_owned(), walks.len()));
            }
            walks.push(walk);
        }
        let mut ids = Vec::with_capacity(limit as usize);
        while ids.len() < limit as usize {
            let Some((_, id, i)) = heads.pop() else { break };
            if let Some(entry) = walks[i].next() {
                let (k, _) = entry?;
                let (_, time, next) = k.value();
                heads.push((time, next.to_owned(), i));
            }
            ids.push(id);
        }
        let photos = txn.open_table(PHOTOS)?;
        let mut page = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(bytes) = photos.get(id.as_str())? {
                page.push(decode(bytes.value())?);
            }
        }
        Ok(page)
    }
}

#[async_trait]
impl NotificationRepo for EmbeddedStore {
    async fn notify(&self, n: NotificationRecord) -> Result<(), StoreError> {
        self.write(move |txn| {
            let (user, id) = (n.user_id.as_str(), n.id.as_str());
            txn.open_table(NOTIFICATIONS)?
                .insert(id, encode(&n)?.as_slice())?;
            txn.open_table(USER_NOTIFICATIONS)?.insert((user, id), ())?;
            if !n.read {
                txn.open_table(USER_UNREAD)?.insert((user, id), ())?;
            }
            Ok(())
        })
        .await
    }

    async fn notifications(
        &self,
        user_id: &str,
        unread_only: bool,
        before: Option<&str>,
        limit: u32,
    ) -> Result<Vec<NotificationRecord>, StoreError> {
        let read = || -> Result<Vec<NotificationRecord>, TxError> {
            let txn = self.db.begin_read()?;
            let index = txn.open_table(if unread_only {
                USER_UNREAD
            } else {
                USER_NOTIFICATIONS
            })?;
            let records = txn.open_table(NOTIFICATIONS)?;
            let mut page = Vec::new();
            let hi = before.unwrap_or(ID_MAX);
            for entry in index.range((user_id, "")..(user_id, hi))?.rev() {
                if page.len() >= limit as usize {
                    break;
                }
                let (k, _) = entry?;
                if let Some(bytes) = records.get(k.value().1)? {
                    page.push(decode(bytes.value())?);
                }
            }
            Ok(page)
        };
        Ok(read()?)
    }

    async fn mark_read(&self, user_id: &str, ids: Option<&[String]>) -> Result<u64, StoreError> {
        let user = user_id.to_owned();
        let ids = ids.map(<[String]>::to_vec);
        self.write(move |txn| {
            let mut unread = txn.open_table(USER_UNREAD)?;
            let ids = match ids {
                Some(ids) => ids,
                None => {
                    let mut all = Vec::new();
                    for entry in unread.range((user.as_str(), "")..=(user.as_str(), ID_MAX))? {
                        all.push(entry?.0.value().1.to_owned());
                    }
                    all
                }
            };
            let mut records = txn.open_table(NOTIFICATIONS)?;
            let mut changed = 0;
            for id in &ids {
                if unread.remove((user.as_str(), id.as_str()))?.is_none() {
                    continue;
                }
                let found = records.get(id.as_str())?.map(|b| b.value().to_vec());
                if let Some(bytes) = found {
                    let mut n: NotificationRecord = decode(&bytes)?;
                    n.read = true;
                    records.insert(id.as_str(), encode(&n)?.as_slice())?;
                }
                changed += 1;
            }
            Ok(changed)
        })
        .await
    }
}

/// Takes `me` out of every follow, both ways, with the other side's counts.
fn forget_follows(txn: &WriteTransaction, me: &str) -> Result<(), TxError> {
    let mut edges = txn.open_table(FOLLOW_EDGES)?;
    let mut following = txn.open_table(FOLLOWING)?;
    let mut followers = txn.open_table(FOLLOWERS)?;
    let mut follower_count = txn.open_table(FOLLOWER_COUNT)?;
    let mut following_count = txn.open_table(FOLLOWING_COUNT)?;
    // Whom I follow: (me, their key) -> (their id, name).
    let mine: Vec<(String, String)> = following
        .range((me, "")..=(me, ID_MAX))?
        .map(|e| e.map(|(k, v)| (k.value().1.to_owned(), v.value().0.to_owned())))
        .collect::<Result<_, _>>()?;
    for (their_key, them) in mine {
        let Some(keys) = edges.remove((me, them.as_str()))? else {
            continue;
        };
        let my_key = keys.value().0.to_owned();
        drop(keys);
        following.remove((me, their_key.as_str()))?;
        followers.remove((them.as_str(), my_key.as_str()))?;
        bump(&mut follower_count, &them, -1)?;
    }
    // Who follows me: (me, their key) -> (their id, name).
    let theirs: Vec<(String, String)> = followers
        .range((me, "")..=(me, ID_MAX))?
        .map(|e| e.map(|(k, v)| (k.value().1.to_owned(), v.value().0.to_owned())))
        .collect::<Result<_, _>>()?;
    for (their_key, them) in theirs {
        let Some(keys) = edges.remove((them.as_str(), me))? else {
            continue;
        };
        let my_key = keys.value().1.to_owned();
        drop(keys);
        followers.remove((me, their_key.as_str()))?;
        following.remove((them.as_str(), my_key.as_str()))?;
        bump(&mut following_count, &them, -1)?;
    }
    follower_count.remove(me)?;
    following_count.remove(me)?;
    Ok(())
}

/// The notifications `me` got and the ones `name` caused (a scan: notifications
/// are indexed by recipient only).
fn forget_notifications(txn: &WriteTransaction, me: &str, name: &str) -> Result<(), TxError> {
    let mut records = txn.open_table(NOTIFICATIONS)?;
    let mut gone: Vec<(String, String)> = Vec::new();
    for entry in records.iter()? {
        let (id, bytes) = entry?;
        let n: NotificationRecord = decode(bytes.value())?;
        if n.user_id == me || n.actor_username.eq_ignore_ascii_case(name) {
            gone.push((n.user_id, id.value().to_owned()));
        }
    }
    let mut all = txn.open_table(USER_NOTIFICATIONS)?;
    let mut unread = txn.open_table(USER_UNREAD)?;
    for (user, id) in gone {
        records.remove(id.as_str())?;
        all.remove((user.as_str(), id.as_str()))?;
        unread.remove((user.as_str(), id.as_str()))?;
    }
    Ok(())
}

/// The reports `me` filed (a scan, like the notifications).
fn forget_reports(txn: &WriteTransaction, me: &str) -> Result<(), TxError> {
    let mut records = txn.open_table(REPORTS)?;
    let mut gone = Vec::new();
    for entry in records.iter()? {
        let r: ReportRecord = decode(entry?.1.value())?;
        if r.reporter_id == me {
            gone.push(r);
        }
    }
    let mut open = txn.open_table(OPEN_REPORTS)?;
    let mut by_status = txn.open_table(REPORTS_BY_STATUS)?;
    for r in gone {
        open.remove((object_key(&r).as_str(), me))?;
        by_status.remove((r.status.as_str(), r.id.as_str()))?;
        records.remove(r.id.as_str())?;
    }
    Ok(())
}

fn object_key(r: &ReportRecord) -> String {
    format!("{}:{}", r.kind.as_str(), r.object_id)
}

fn report_in(txn: &WriteTransaction, id: &str) -> Result<Option<ReportRecord>, TxError> {
    let table = txn.open_table(REPORTS)?;
    let found = table.get(id)?.map(|b| b.value().to_vec());
    found.map(|b| decode(&b)).transpose()
}

fn close_in(
    txn: &WriteTransaction,
    mut r: ReportRecord,
    by: &str,
    action: ReportAction,
) -> Result<ReportRecord, TxError> {
    txn.open_table(OPEN_REPORTS)?
        .remove((object_key(&r).as_str(), r.reporter_id.as_str()))?;
    let mut by_status = txn.open_table(REPORTS_BY_STATUS)?;
    by_status.remove((ReportStatus::Open.as_str(), r.id.as_str()))?;
    by_status.insert((ReportStatus::Resolved.as_str(), r.id.as_str()), ())?;
    r.status = ReportStatus::Resolved;
    r.resolved_by = Some(by.to_owned());
    r.action = Some(action);
    txn.open_table(REPORTS)?
        .insert(r.id.as_str(), encode(&r)?.as_slice())?;
    Ok(r)
}

#[async_trait]
impl ReportRepo for EmbeddedStore {
    async fn file_report(&self, r: ReportRecord) -> Result<(), StoreError> {
        self.write(move |txn| {
            let mut open = txn.open_table(OPEN_REPORTS)?;
            let key = (object_key(&r), r.reporter_id.clone());
            if open.get((key.0.as_str(), key.1.as_str()))?.is_some() {
                return Err(TxError::Store(StoreError::Conflict("report")));
            }
            open.insert((key.0.as_str(), key.1.as_str()), r.id.as_str())?;
            txn.open_table(REPORTS_BY_STATUS)?
                .insert((r.status.as_str(), r.id.as_str()), ())?;
            txn.open_table(REPORTS)?
                .insert(r.id.as_str(), encode(&r)?.as_slice())?;
            Ok(())
        })
        .await
    }

    async fn report(&self, id: &str) -> Result<Option<ReportRecord>, StoreError> {
        self.read_json(REPORTS, id)
    }

    async fn reports(
        &self,
        status: Option<ReportStatus>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<ReportRecord>, u64), StoreError> {
        let read = || -> Result<(Vec<ReportRecord>, u64), TxError> {
            let txn = self.db.begin_read()?;
            let records = txn.open_table(REPORTS)?;
            let mut ids = Vec::new();
            let mut total = 0;
            match status {
                Some(s) => {
                    let index = txn.open_table(REPORTS_BY_STATUS)?;
                    let s = s.as_str();
                    for entry in index.range((s, "")..=(s, ID_MAX))?.rev() {
                        if total >= offset && ids.len() < limit as usize {
                            ids.push(entry?.0.value().1.to_owned());
                        }
                        total += 1;
                    }
                }
                None => {
                    for entry in records.iter()?.rev() {
                        if total >= offset && ids.len() < limit as usize {
                            ids.push(entry?.0.value().to_owned());
                        }
                        total += 1;
                    }
                }
            }
            let mut page = Vec::with_capacity(ids.len());
            for id in &ids {
                if let Some(bytes) = records.get(id.as_str())? {
                    page.push(decode(bytes.value())?);
                }
            }
            Ok((page, total))
        };
        Ok(read()?)
    }

    async fn resolve_reports(
        &self,
        id: &str,
        by: &str,
        action: ReportAction,
    ) -> Result<Resolved, StoreError> {
        let (id, by) = (id.to_owned(), by.to_owned());
        self.write(move |txn| {
            let Some(report) = report_in(txn, &id)? else {
                return Ok(Resolved::NotFound);
            };
            if report.status == ReportStatus::Resolved {
                return Ok(Resolved::Already(report));
            }
            let object = object_key(&report);
            let closed = close_in(txn, report, &by, action)?;
            if action == ReportAction::Remove {
                let mut others = Vec::new();
                let open = txn.open_table(OPEN_REPORTS)?;
                for entry in open.range((object.as_str(), "")..=(object.as_str(), ID_MAX))? {
                    others.push(entry?.1.value().to_owned());
                }
                drop(open);
                for other in others {
                    if let Some(r) = report_in(txn, &other)? {
                        close_in(txn, r, &by, action)?;
                    }
                }
            }
            Ok(Resolved::Now(closed))
        })
        .await
    }
}
