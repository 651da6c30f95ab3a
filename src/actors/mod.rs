//! Supervised actors, each owning something: UserRegistry its principals cache,
//! PhotoStore the upload memory budget and the image cache, TransformWorker the CPU
//! (a pool of renderer threads), QueueMonitor the queue snapshot. CommentBoard and
//! RatingLedger own the rules of their aggregates. Handlers reach them through a
//! typed `Handle`; every actor answers with its own error type, and only the HTTP
//! layer turns those into responses.

use actix::prelude::*;

/// Declares an actor around the resources it owns (one cloneable field), supervised,
/// handling each listed message by running the method of the same row as a future
/// on the actor's context, inside a span named after the message (storage and CPU
/// work happen off the actor's thread).
macro_rules! service_actor {
    ($(#[$meta:meta])* $actor:ident($service:ty) { $($msg:ty => $method:ident),* $(,)? }) => {
        $(#[$meta])*
        pub struct $actor {
            service: $service,
        }

        impl actix::Actor for $actor {
            type Context = actix::Context<Self>;
        }

        impl actix::Supervised for $actor {
            fn restarting(&mut self, _: &mut Self::Context) {
                tracing::warn!(actor = stringify!($actor), "restarting");
            }
        }

        impl From<$service> for $actor {
            fn from(service: $service) -> Self {
                Self { service }
            }
        }

        $(
            impl actix::Handler<$msg> for $actor {
                type Result = actix::ResponseFuture<<$msg as actix::Message>::Result>;

                fn handle(&mut self, msg: $msg, _: &mut Self::Context) -> Self::Result {
                    use tracing::Instrument;
                    let span = tracing::info_span!(
                        "actor",
                        actor = stringify!($actor),
                        message = stringify!($msg)
                    );
                    Box::pin(self.service.clone().$method(msg).instrument(span))
                }
            }
        )*
    };
}

pub mod albums;
pub mod comment_board;
pub mod erasure;
pub mod jobs;
pub mod photo_store;
pub mod queue_monitor;
pub mod rating_ledger;
pub mod social;
pub mod transform_worker;
pub mod uploads;
pub mod user_registry;

/// The typed handle the HTTP layer uses to reach an actor.
pub struct Handle<A: Actor> {
    addr: Addr<A>,
}

impl<A: Actor> Clone for Handle<A> {
    fn clone(&self) -> Self {
        Self {
            addr: self.addr.clone(),
        }
    }
}

impl<A> Handle<A>
where
    A: Actor<Context = Context<A>> + Supervised,
{
    /// Starts an instance under a supervisor on the current arbiter.
    pub fn start<S: 'static>(service: S) -> Self
    where
        A: From<S>,
    {
        Self {
            addr: Supervisor::start(move |_| A::from(service)),
        }
    }

    /// Starts this very instance under a supervisor on the current arbiter.
    pub fn start_actor(actor: A) -> Self {
        Self {
            addr: Supervisor::start(move |_| actor),
        }
    }

    /// Sends a message whose answer is not a `Result`.
    pub async fn ask<M>(&self, msg: M) -> Result<M::Result, MailboxError>
    where
        M: Message + Send + 'static,
        M::Result: Send,
        A: Handler<M>,
    {
        self.addr.send(msg).await
    }

    /// Sends a message; a mailbox failure (the actor is gone) becomes the actor's
    /// own error, so callers see one error type per actor.
    pub async fn call<M, T, E>(&self, msg: M) -> Result<T, E>
    where
        M: Message<Result = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: From<MailboxError> + Send + 'static,
        A: Handler<M>,
    {
        self.addr.send(msg).await?
    }
}
