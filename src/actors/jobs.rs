//! What each kind of queued work runs: a link's image and QR code (`Transformer`),
//! or the rest of a photo's deletion (`Purger`). One handler per process, shared
//! by every consumer of the in-process queue or of RabbitMQ.

use async_trait::async_trait;

use crate::actors::photo_store::Purger;
use crate::actors::transform_worker::jobs::Transformer;
use crate::errors::error_chain;
use crate::queue::worker::{Disposition, JobHandler};
use crate::queue::Work;

pub struct Jobs {
    transformer: Transformer,
    purger: Purger,
}

impl Jobs {
    /// Purges work on the transformer's records and files.
    pub fn new(transformer: Transformer) -> Self {
        let purger = Purger {
            store: transformer.store.clone(),
            media: transformer.media.clone(),
        };
        Jobs {
            transformer,
            purger,
        }
    }
}

#[async_trait]
impl JobHandler for Jobs {
    async fn handle(&self, work: &Work) -> Disposition {
        match work {
            Work::Transform(link_id) => self.transformer.run(link_id).await,
            Work::PurgePhoto(photo_id) => match self.purger.purge(photo_id).await {
                Ok(_) => Disposition::Ack,
                // Storage or media unavailable: the tombstone stays, and the sweeper
                // publishes it again on its next pass. No retry of this copy: on
                // RabbitMQ every sweep adds one, so a purge that keeps failing
                // (a file that cannot be removed) is tried once per sweep, not by
                // a growing number of copies.
                Err(e) => {
                    tracing::warn!(photo_id, error = %error_chain(&e),
                        "purge failed; the sweeper will publish it again");
                    Disposition::Ack
                }
            },
        }
    }
}
