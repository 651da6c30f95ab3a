//! A deadline for request bodies. actix-web times out a slow request *head* but not
//! a slow body: a client trickling one byte a second would hold a connection (and
//! whatever the handler reserved) forever. Every request's body must arrive within
//! `server.body_timeout_seconds`; past that the body stream ends with an error, the
//! answer is 408 problem+json, and the connection is closed.

use std::cell::Cell;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::{self, Bytes};
use actix_web::HttpMessage;
use futures_util::Stream;

use super::error::ApiError;
use super::AppState;

struct Timed {
    inner: Payload,
    sleep: Pin<Box<tokio::time::Sleep>>,
    expired: Rc<Cell<bool>>,
    done: bool,
}

impl Stream for Timed {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if let Poll::Ready(item) = Pin::new(&mut self.inner).poll_next(cx) {
            if item.is_none() {
                self.done = true;
            }
            return Poll::Ready(item);
        }
        if self.sleep.as_mut().poll(cx).is_ready() {
            self.done = true;
            self.expired.set(true);
            let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "request body too slow");
            return Poll::Ready(Some(Err(PayloadError::Io(late))));
        }
        Poll::Pending
    }
}

use std::future::Future;

/// Middleware: puts the deadline on the body, and answers 408 (closing the
/// connection) when it passed.
pub async fn body_deadline(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let timeout = req
        .app_data::<web::Data<AppState>>()
        .map_or(Duration::from_secs(120), |s| s.body_timeout);
    let expired = Rc::new(Cell::new(false));
    let timed = Timed {
        inner: req.take_payload(),
        sleep: Box::pin(tokio::time::sleep(timeout)),
        expired: expired.clone(),
        done: false,
    };
    req.set_payload(Payload::from(
        Box::pin(timed) as Pin<Box<dyn Stream<Item = Result<Bytes, PayloadError>>>>
    ));
    let res = next.call(req).await?;
    if !expired.get() {
        return Ok(res.map_into_left_body());
    }
    tracing::warn!(
        seconds = timeout.as_secs(),
        "request body did not arrive in time"
    );
    let (req, _) = res.into_parts();
    let mut late =
        actix_web::ResponseError::error_response(&ApiError::RequestTimeout(timeout.as_secs()));
    late.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    Ok(ServiceResponse::new(req, late).map_into_right_body())
}
