//! Transformation links: `LinkRepo` on the embedded store, with the pending outbox
//! and the per-status counts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redb::{ReadableDatabase, ReadableTable, WriteTransaction};

use super::photos::photo_in;
use super::{
    bump, children, decode, encode, EmbeddedStore, TxError, LINKS, LINK_BY_SLUG, LINK_KEYS,
    LINK_STATUS_COUNTS, PENDING_LINKS, PHOTO_LINKS,
};
use crate::store::{LinkCounts, LinkOutcome, LinkRecord, LinkRepo, LinkStatus, StoreError};

fn save_link_in(txn: &WriteTransaction, link: &LinkRecord) -> Result<(), TxError> {
    txn.open_table(LINKS)?
        .insert(link.id.as_str(), encode(link)?.as_slice())?;
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
