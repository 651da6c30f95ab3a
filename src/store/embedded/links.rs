//! Transformation links: `LinkRepo` on the embedded store, with the pending outbox
//! and the per-status counts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use super::photos::photo_in;
use super::{
    bump, children, decode, encode, EmbeddedStore, TxError, LINKS, LINKS_BY_STATUS, LINKS_DONE_AT,
    LINK_BY_SLUG, LINK_KEYS, LINK_STATUS_COUNTS, PENDING_LINKS, PHOTO_LINKS,
};
use crate::store::{LinkCounts, LinkOutcome, LinkRecord, LinkRepo, LinkStatus, StoreError};

fn save_link_in(txn: &WriteTransaction, link: &LinkRecord) -> Result<(), TxError> {
    txn.open_table(LINKS)?
        .insert(link.id.as_str(), encode(link)?.as_slice())?;
    Ok(())
}

/// Adds (`true`) or removes the link's entries in the job indexes, as its status is.
fn index_job_in(txn: &WriteTransaction, link: &LinkRecord, add: bool) -> Result<(), TxError> {
    let key = (link.status.as_str(), link.id.as_str());
    let done_at = match (link.status, link.completed_at) {
        (LinkStatus::Done, Some(at)) => Some((at.timestamp_millis(), link.id.as_str())),
        _ => None,
    };
    let mut by_status = txn.open_table(LINKS_BY_STATUS)?;
    let mut done = txn.open_table(LINKS_DONE_AT)?;
    if add {
        by_status.insert(key, ())?;
        if let Some(k) = done_at {
            done.insert(k, ())?;
        }
    } else {
        by_status.remove(key)?;
        if let Some(k) = done_at {
            done.remove(k)?;
        }
    }
    Ok(())
}

/// Rebuilds the job indexes from the links (opening a file from before them, fsck).
pub(super) fn rebuild_job_index(txn: &WriteTransaction) -> Result<(), TxError> {
    txn.delete_table(LINKS_BY_STATUS)?;
    txn.delete_table(LINKS_DONE_AT)?;
    txn.open_table(LINKS_BY_STATUS)?;
    txn.open_table(LINKS_DONE_AT)?;
    let links = txn.open_table(LINKS)?;
    for entry in links.iter()? {
        let (_, bytes) = entry?;
        let link: LinkRecord = decode(bytes.value())?;
        index_job_in(txn, &link, true)?;
    }
    Ok(())
}

fn remove_link_in(txn: &WriteTransaction, id: &str) -> Result<Option<LinkRecord>, TxError> {
    let removed = txn
        .open_table(LINKS)?
        .remove(id)?
        .map(|b| b.value().to_vec());
    let Some(bytes) = removed else {
        return Ok(None);
    };
    let link: LinkRecord = decode(&bytes)?;
    txn.open_table(LINK_BY_SLUG)?.remove(link.slug.as_str())?;
    txn.open_table(LINK_KEYS)?
        .remove((link.photo_id.as_str(), link.transformation.as_str()))?;
    txn.open_table(PHOTO_LINKS)?
        .remove((link.photo_id.as_str(), id))?;
    txn.open_table(PENDING_LINKS)?.remove(id)?;
    index_job_in(txn, &link, false)?;
    bump(
        &mut txn.open_table(LINK_STATUS_COUNTS)?,
        link.status.as_str(),
        -1,
    )?;
    Ok(Some(link))
}

fn link_in(txn: &WriteTransaction, id: &str) -> Result<Option<LinkRecord>, TxError> {
    let links = txn.open_table(LINKS)?;
    let found = links.get(id)?;
    found.map(|bytes| decode(bytes.value())).transpose()
}

#[async_trait]
impl LinkRepo for EmbeddedStore {
    async fn create_link(&self, link: LinkRecord) -> Result<(LinkRecord, bool), StoreError> {
        self.write(move |txn| {
            let key = (link.photo_id.as_str(), link.transformation.as_str());
            let existing = txn
                .open_table(LINK_KEYS)?
                .get(key)?
                .map(|id| id.value().to_owned());
            if let Some(id) = existing {
                if let Some(found) = link_in(txn, &id)? {
                    return Ok((found, false));
                }
            }
            if photo_in(txn, &link.photo_id)?.is_none() {
                return Err(TxError::Store(StoreError::NotFound));
            }
            txn.open_table(LINK_KEYS)?.insert(key, link.id.as_str())?;
            txn.open_table(LINK_BY_SLUG)?
                .insert(link.slug.as_str(), link.id.as_str())?;
            txn.open_table(PHOTO_LINKS)?
                .insert((link.photo_id.as_str(), link.id.as_str()), ())?;
            if link.status == LinkStatus::Pending {
                txn.open_table(PENDING_LINKS)?
                    .insert(link.id.as_str(), ())?;
            }
            bump(
                &mut txn.open_table(LINK_STATUS_COUNTS)?,
                link.status.as_str(),
                1,
            )?;
            index_job_in(txn, &link, true)?;
            save_link_in(txn, &link)?;
            Ok((link, true))
        })
        .await
    }

    async fn link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError> {
        self.read_json(LINKS, id)
    }

    async fn link_by_slug(&self, slug: &str) -> Result<Option<LinkRecord>, StoreError> {
        let id = {
            let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
            let table = txn
                .open_table(LINK_BY_SLUG)
                .map_err(StoreError::unavailable)?;
            let found = table.get(slug).map_err(StoreError::unavailable)?;
            match found {
                Some(id) => id.value().to_owned(),
                None => return Ok(None),
            }
        };
        self.read_json(LINKS, &id)
    }

    async fn links(
        &self,
        photo_id: &str,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<LinkRecord>, u64), StoreError> {
        let total = {
            let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
            let table = txn
                .open_table(PHOTO_LINKS)
                .map_err(StoreError::unavailable)?;
            children(&table, photo_id)
                .map_err(StoreError::unavailable)?
                .len() as u64
        };
        let page = self.page_of(PHOTO_LINKS, LINKS, photo_id, limit, offset)?;
        Ok((page, total))
    }

    async fn count_attempt(&self, id: &str) -> Result<u32, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut link = link_in(txn, &id)?.ok_or(TxError::Store(StoreError::NotFound))?;
            link.attempts += 1;
            save_link_in(txn, &link)?;
            Ok(link.attempts)
        })
        .await
    }

    async fn finish_link(
        &self,
        id: &str,
        outcome: LinkOutcome,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let Some(mut link) = link_in(txn, &id)? else {
                return Ok(false);
            };
            if link.status != LinkStatus::Pending {
                return Ok(false);
            }
            index_job_in(txn, &link, false)?;
            match outcome {
                LinkOutcome::Done(output) => {
                    link.status = LinkStatus::Done;
                    link.output = Some(output);
                }
                LinkOutcome::Failed(reason) => {
                    link.status = LinkStatus::Failed;
                    link.error = Some(reason);
                }
            }
            link.completed_at = Some(at);
            txn.open_table(PENDING_LINKS)?.remove(id.as_str())?;
            let mut counts = txn.open_table(LINK_STATUS_COUNTS)?;
            bump(&mut counts, LinkStatus::Pending.as_str(), -1)?;
            bump(&mut counts, link.status.as_str(), 1)?;
            drop(counts);
            index_job_in(txn, &link, true)?;
            save_link_in(txn, &link)?;
            Ok(true)
        })
        .await
    }

    async fn delete_link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| remove_link_in(txn, &id)).await
    }

    /// Walks the pending links (few: each owner has at most the cap).
    async fn pending_count(&self, owner_id: &str) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let pending = txn
            .open_table(PENDING_LINKS)
            .map_err(StoreError::unavailable)?;
        let links = txn.open_table(LINKS).map_err(StoreError::unavailable)?;
        let mut count = 0;
        for entry in pending.iter().map_err(StoreError::unavailable)? {
            let (id, _) = entry.map_err(StoreError::unavailable)?;
            if let Some(bytes) = links.get(id.value()).map_err(StoreError::unavailable)? {
                let link: LinkRecord = decode(bytes.value())?;
                count += u64::from(link.owner_id == owner_id);
            }
        }
        Ok(count)
    }

    async fn pending_links(
        &self,
        before: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<LinkRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let pending = txn
            .open_table(PENDING_LINKS)
            .map_err(StoreError::unavailable)?;
        let links = txn.open_table(LINKS).map_err(StoreError::unavailable)?;
        let mut out = Vec::new();
        for entry in pending.iter().map_err(StoreError::unavailable)? {
            let (id, _) = entry.map_err(StoreError::unavailable)?;
            let Some(bytes) = links.get(id.value()).map_err(StoreError::unavailable)? else {
                continue;
            };
            let link: LinkRecord = decode(bytes.value())?;
            // Ids are time-ordered: the first one too new ends the scan.
            if link.created_at > before || out.len() >= limit as usize {
                break;
            }
            out.push(link);
        }
        Ok(out)
    }

    async fn retry_link(&self, id: &str) -> Result<Option<LinkRecord>, StoreError> {
        let id = id.to_owned();
        self.write(move |txn| {
            let mut link = link_in(txn, &id)?.ok_or(TxError::Store(StoreError::NotFound))?;
            if link.status != LinkStatus::Failed {
                return Ok(None);
            }
            index_job_in(txn, &link, false)?;
            link.status = LinkStatus::Pending;
            link.attempts = 0;
            link.error = None;
            link.completed_at = None;
            let mut counts = txn.open_table(LINK_STATUS_COUNTS)?;
            bump(&mut counts, LinkStatus::Failed.as_str(), -1)?;
            bump(&mut counts, LinkStatus::Pending.as_str(), 1)?;
            drop(counts);
            txn.open_table(PENDING_LINKS)?.insert(id.as_str(), ())?;
            index_job_in(txn, &link, true)?;
            save_link_in(txn, &link)?;
            Ok(Some(link))
        })
        .await
    }

    async fn jobs(
        &self,
        status: Option<LinkStatus>,
        limit: u32,
        offset: u64,
    ) -> Result<(Vec<LinkRecord>, u64), StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        // The total from the same snapshot as the page.
        let counts = txn
            .open_table(LINK_STATUS_COUNTS)
            .map_err(StoreError::unavailable)?;
        let count = |s: LinkStatus| -> Result<u64, StoreError> {
            Ok(counts
                .get(s.as_str())
                .map_err(StoreError::unavailable)?
                .map_or(0, |v| v.value()))
        };
        let total = match status {
            Some(s) => count(s)?,
            None => {
                count(LinkStatus::Pending)? + count(LinkStatus::Done)? + count(LinkStatus::Failed)?
            }
        };
        let links = txn.open_table(LINKS).map_err(StoreError::unavailable)?;
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let ids: Vec<String> = match status {
            Some(status) => {
                let index = txn
                    .open_table(LINKS_BY_STATUS)
                    .map_err(StoreError::unavailable)?;
                // Ids are ASCII: "\u{7f}" sorts after every id of this status.
                let range = index
                    .range((status.as_str(), "")..(status.as_str(), "\u{7f}"))
                    .map_err(StoreError::unavailable)?;
                range
                    .rev()
                    .skip(skip)
                    .take(limit as usize)
                    .map(|e| e.map(|(k, _)| k.value().1.to_owned()))
                    .collect::<Result<_, _>>()
                    .map_err(StoreError::unavailable)?
            }
            None => links
                .iter()
                .map_err(StoreError::unavailable)?
                .rev()
                .skip(skip)
                .take(limit as usize)
                .map(|e| e.map(|(k, _)| k.value().to_owned()))
                .collect::<Result<_, _>>()
                .map_err(StoreError::unavailable)?,
        };
        let mut page = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(bytes) = links.get(id.as_str()).map_err(StoreError::unavailable)? {
                page.push(decode(bytes.value())?);
            }
        }
        Ok((page, total))
    }

    async fn done_since(&self, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let index = txn
            .open_table(LINKS_DONE_AT)
            .map_err(StoreError::unavailable)?;
        let mut out = Vec::new();
        for entry in index
            .range((since.timestamp_millis(), "")..)
            .map_err(StoreError::unavailable)?
        {
            let (key, _) = entry.map_err(StoreError::unavailable)?;
            if let Some(at) = DateTime::from_timestamp_millis(key.value().0) {
                out.push(at);
            }
        }
        Ok(out)
    }

    async fn link_counts(&self) -> Result<LinkCounts, StoreError> {
        let txn = self.db.begin_read().map_err(StoreError::unavailable)?;
        let table = txn
            .open_table(LINK_STATUS_COUNTS)
            .map_err(StoreError::unavailable)?;
        let get = |s: LinkStatus| -> Result<u64, StoreError> {
            Ok(table
                .get(s.as_str())
                .map_err(StoreError::unavailable)?
                .map_or(0, |v| v.value()))
        };
        Ok(LinkCounts {
            pending: get(LinkStatus::Pending)?,
            done: get(LinkStatus::Done)?,
            failed: get(LinkStatus::Failed)?,
        })
    }
}
