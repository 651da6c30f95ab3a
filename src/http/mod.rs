//! The HTTP layer: thin handlers (extract -> authorize -> send -> map), one file per
//! resource, problem+json for every error including actix's own extractor errors.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::{PathError, QueryPayloadError};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest};

pub mod account;
pub mod admin;
pub mod albums;
pub mod auth;
pub mod client_ip;
pub mod comments;
pub mod deadline;
pub mod delivery;
pub mod dto;
pub mod duplicates;
pub mod error;
pub mod extractors;
pub mod json;
pub mod metrics;
pub mod moderation;
pub mod multipart;
pub mod openapi;
pub mod ops;
pub mod photos;
pub mod public;
pub mod rate_limit;
pub mod ratings;
pub mod search;
pub mod share_page;
pub mod shares;
pub mod social;
pub mod transformations;
pub mod uploads;
pub mod users;
pub mod variants;

use crate::actors::comment_board::CommentBoardHandle;
use crate::actors::photo_store::PhotoStoreHandle;
use crate::actors::queue_monitor::Monitor;
use crate::actors::rating_ledger::RatingLedgerHandle;
use crate::actors::transform_worker::TransformWorker;
use crate::actors::user_registry::Registry;
use crate::auth::jwt::JwtKeys;
use crate::domain::PublicUrls;
use error::ApiError;

/// Largest JSON body any route accepts.
pub const JSON_LIMIT: usize = 64 * 1024;

/// One per worker: its own actor handles, plus the shared things extractors need.
/// Storage and the job queue are not here: handlers reach them through actors.
pub struct AppState {
    pub registry: Registry,
    pub photos: PhotoStoreHandle,
    pub uploads: crate::actors::uploads::UploadDeskHandle,
    /// Display sizes, delivery renders and baseline copies this process made.
    pub variants_made: Arc<crate::actors::photo_store::Made>,
    pub comments: CommentBoardHandle,
    pub ratings: RatingLedgerHandle,
    pub social: crate::actors::social::SocialGraphHandle,
    pub albums: crate::actors::albums::AlbumBookHandle,
    pub erasure: crate::actors::erasure::ErasureHandle,
    pub monitor: Monitor,
    pub workers: TransformWorker,
    pub keys: Arc<JwtKeys>,
    /// The absolute links handed out.
    pub urls: PublicUrls,
    /// Sign and check on-the-fly delivery URLs.
    pub delivery: crate::domain::DeliveryKeys,
    pub max_upload_bytes: u64,
    /// Where upload bodies are spooled while they arrive.
    pub spool_dir: std::path::PathBuf,
    pub limiter: Arc<rate_limit::RateLimiter>,
    /// Email changes per account and per client address (an enumeration oracle
    /// otherwise: "already taken" answers as fast as it is asked).
    pub email_changes: Arc<EmailChangeLimits>,
    /// Wrong passwords per share link, keyed by the token's hash.
    pub share_passwords: Arc<rate_limit::RateLimiter<String>>,
    pub metrics: Arc<metrics::Metrics>,
    /// The store's operation counters (telemetry, not storage).
    pub db_ops: Arc<crate::telemetry::DbOps>,
    /// A request body must arrive within this (`deadline`).
    pub body_timeout: std::time::Duration,
    /// Proxies in front whose `X-Forwarded-For` entries are believed (0 = none).
    pub forwarded_hops: u8,
}

/// The limits on `PATCH /api/users/me` with an `email`.
pub struct EmailChangeLimits {
    pub per_account: rate_limit::RateLimiter<String>,
    pub per_ip: rate_limit::RateLimiter,
}

/// Registers every route and the extractor error handlers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(JSON_LIMIT))
        .app_data(web::QueryConfig::default().error_handler(|e, _| query_error(e).into()))
        .app_data(web::PathConfig::default().error_handler(|e, _| path_error(e).into()))
        // The media routes first: the router tries each pattern in turn (a regex
        // for each with a parameter), and these carry most requests. No pattern
        // here overlaps another, so the order changes nothing else.
        .configure(public::routes)
        .configure(variants::routes)
        .configure(delivery::routes)
        .configure(auth::routes)
        .configure(users::routes)
        .configure(admin::routes)
        .configure(photos::routes)
        .configure(comments::routes)
        .configure(ratings::routes)
        .configure(social::routes)
        .configure(albums::routes)
        .configure(shares::routes)
        .configure(account::routes)
        .configure(moderation::routes)
        .configure(transformations::routes)
        .configure(uploads::routes)
        .configure(ops::routes);
}

/// Answers for paths no route matches.
pub async fn not_found(_: HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    Err(ApiError::NotFound("route"))
}

fn query_error(e: QueryPayloadError) -> ApiError {
    let QueryPayloadError::Deserialize(e) = e else {
        return ApiError::BadRequest("malformed query string".into());
    };
    ApiError::BadRequest(format!("malformed query string: {e}"))
}

fn path_error(_: PathError) -> ApiError {
    ApiError::NotFound("resource")
}

/// Header carrying the request id: taken from the client (or the proxy in front)
/// when it is a plausible id, else made here; echoed on the response and attached to
/// every log line of the request.
pub const REQUEST_ID: &str = "x-request-id";

/// Records method, route pattern, status and latency of every request, gives it a
/// request id and an access log line, and adds the security headers every response
/// carries.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use tracing::Instrument;
    let started = Instant::now();
    let state = req.app_data::<web::Data<AppState>>();
    let metrics = state.map(|s| s.metrics.clone());
    let https = state.is_some_and(|s| s.urls.is_https());
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| plausible_request_id(v))
        .map_or_else(crate::ids::request_id, str::to_owned);
    // A closed set: an invented method must not become a new metrics label.
    let method: &'static str = match req.method().as_str() {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "PATCH" => "PATCH",
        "DELETE" => "DELETE",
        "OPTIONS" => "OPTIONS",
        _ => "OTHER",
    };
    let path = req.path().to_owned();
    let span = tracing::info_span!("request", request_id = %request_id);
    {
        use actix_web::HttpMessage;
        req.extensions_mut()
            .insert(extractors::RequestId(request_id.clone()));
    }
    let res = next.call(req).instrument(span.clone()).await?;
    // Errors actix-web renders itself (text/plain) get our problem+json shape.
    let mut res = match res.response().error() {
        Some(cause) if !is_problem(res.headers()) => {
            let problem = error::framework_problem(res.status(), cause);
            let (req, _) = res.into_parts();
            ServiceResponse::new(req, problem).map_into_right_body()
        }
        _ => res.map_into_left_body(),
    };
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.observe(method, &route, status, elapsed);
    }
    span.in_scope(|| {
        tracing::info!(
            target: "photoshare::access",
            method = %method,
            path = %path,
            status,
            micros = elapsed.as_micros() as u64,
            "request"
        )
    });
    let headers = res.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(header::HeaderName::from_static(REQUEST_ID), value);
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Unless the handler chose a policy (a validated JSON answer: `no-cache`).
    if route.starts_with("/api/") && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    // Nothing the API serves is a page to run scripts in or to frame; the Swagger UI
    // under /docs/ and the admin console are the exceptions.
    // The admin console sets its own (scripts from 'self' only).
    if !path.starts_with("/docs") && !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    Ok(res)
}

fn is_problem(headers: &header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"))
}

/// 1 to 64 characters of `[A-Za-z0-9._-]`: anything else could forge log fields.
fn plausible_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// What a tus client sends (resumable uploads) and must be allowed to read back.
const TUS_REQUEST_HEADERS: [&str; 7] = [
    "tus-resumable",
    "upload-checksum",
    "upload-length",
    "upload-offset",
    "upload-metadata",
    "upload-defer-length",
    "upload-concat",
];
const TUS_ANSWER_HEADERS: [&str; 10] = [
    "tus-resumable",
    "tus-checksum-algorithm",
    "tus-version",
    "tus-extension",
    "tus-max-size",
    "upload-length",
    "upload-offset",
    "upload-metadata",
    "upload-expires",
    "photoshare-photo-id",
];

/// CORS for `origins` (checked by `Settings::cors_origins`), `*` meaning any. Bearer tokens, not cookies, so no credentials. Off when the list is empty.
pub fn cors(origins: &[String]) -> actix_web::middleware::Condition<actix_cors::Cors> {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header::IF_NONE_MATCH,
        ])
        .allowed_header(header::HeaderName::from_static(REQUEST_ID))
        .allowed_headers(TUS_REQUEST_HEADERS.map(header::HeaderName::from_static))
        .expose_headers([
            header::LOCATION,
            header::ETAG,
            header::RETRY_AFTER,
            header::HeaderName::from_static(REQUEST_ID),
        ])
        .expose_headers(TUS_ANSWER_HEADERS.map(header::HeaderName::from_static))
        .block_on_origin_mismatch(false)
        .max_age(3600);
    for origin in origins {
        cors = if origin == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(origin)
        };
    }
    actix_web::middleware::Condition::new(!origins.is_empty(), cors)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_from_outside_are_taken_only_when_plausible() {
        assert!(plausible_request_id("abc-123_X.y"));
        assert!(plausible_request_id(&"a".repeat(64)));
        assert!(!plausible_request_id(""));
        assert!(!plausible_request_id(&"a".repeat(65)));
        assert!(!plausible_request_id("a b"));
        assert!(!plausible_request_id("a\"\nlevel=ERROR"));
        let id = crate::ids::request_id();
        assert_eq!(id.len(), 24);
        assert!(plausible_request_id(&id));
        assert_ne!(id, crate::ids::request_id());
    }
}
