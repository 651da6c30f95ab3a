//! Group commit: the one writer thread that runs every waiting write closure in one
//! transaction and pays one fsync for them, and the calls that hand it work.

use std::sync::Arc;

use redb::{Database, WriteTransaction};

use super::{EmbeddedStore, TxError};
use crate::store::StoreError;

type SharedError = Arc<dyn std::error::Error + Send + Sync>;
/// Told whether the batch committed (`None`) or why it did not.
type Completion = Box<dyn FnOnce(Option<SharedError>) + Send>;
/// Runs inside the batch transaction; says whether it hit a storage error.
pub(super) type Job = Box<dyn FnOnce(&WriteTransaction) -> (Completion, bool) + Send>;

/// Most closures one transaction takes; more wait for the next fsync.
const MAX_BATCH: usize = 512;

#[derive(Debug, thiserror::Error)]
#[error("write batch aborted by a storage error in another write")]
struct BatchAborted;

pub(super) fn writer_loop(db: Arc<Database>, jobs: crossbeam_channel::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        batch.extend(jobs.try_iter().take(MAX_BATCH - 1));
        // If the transaction cannot even start, dropping the jobs answers their
        // callers with an error.
        let Ok(txn) = db.begin_write() else { continue };
        let mut poisoned = false;
        let done: Vec<Completion> = batch
            .into_iter()
            .map(|job| {
                let (completion, failed) = job(&txn);
                poisoned |= failed;
                completion
            })
            .collect();
        let failure: Option<SharedError> = if poisoned {
            let _ = txn.abort();
            Some(Arc::new(BatchAborted))
        } else {
            txn.commit().err().map(|e| Arc::new(e) as SharedError)
        };
        for completion in done {
            completion(failure.clone());
        }
    }
}

impl EmbeddedStore {
    /// Runs `f` in one write transaction on this thread and commits it.
    pub(super) fn write_now<T>(
        &self,
        f: impl FnOnce(&WriteTransaction) -> Result<T, TxError>,
    ) -> Result<T, StoreError> {
        let txn = self.db.begin_write().map_err(StoreError::unavailable)?;
        let out = f(&txn)?;
        txn.commit().map_err(StoreError::unavailable)?;
        Ok(out)
    }

    /// Runs `f` on the writer thread in the next batch; answers after the fsync.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T, TxError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |txn| {
            let out = f(txn);
            let failed = matches!(out, Err(TxError::Redb(_)));
            let completion: Completion = Box::new(move |failure| {
                let result = match (out, failure) {
                    (Err(e), _) => Err(e.into()),
                    (Ok(_), Some(e)) => Err(StoreError::Unavailable(Box::new(e))),
                    (Ok(value), None) => Ok(value),
                };
                let _ = tx.send(result);
            });
            (completion, failed)
        });
        self.writer
            .send(job)
            .map_err(|_| StoreError::unavailable(BatchAborted))?;
        rx.await.map_err(StoreError::unavailable)?
    }
}
