//! Supervised actors that own the data. Each wraps a cloneable service (the rules,
//! over shared storage); handlers reach them through a typed `Handle`.

use actix::prelude::*;

use crate::http::error::ApiError;

/// Declares an actor around one service field, supervised, handling each listed
/// message by running the service method of the same row as a future on the actor's
/// context (storage and CPU work happen off the actor's thread).
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
                    Box::pin(self.service.clone().$method(msg))
                }
            }
        )*
    };
}

pub mod comment_board;
pub mod photo_store;
pub mod rating_ledger;
pub mod transform_worker;
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

    /// Sends a message and flattens mailbox and domain errors into an `ApiError`.
    pub async fn call<M, T, E>(&self, msg: M) -> Result<T, ApiError>
    where
        M: Message<Result = Result<T, E>> + Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
        ApiError: From<E>,
        A: Handler<M>,
    {
        Ok(self.addr.send(msg).await??)
    }
}
