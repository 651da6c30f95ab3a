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

pub mod admin;
pub mod auth;
pub mod comments;
pub mod dto;
pub mod error;
pub mod extractors;
pub mod json;
pub mod metrics;
pub mod openapi;
pub mod ops;
pub mod photos;
pub mod public;
pub mod rate_limit;
pub mod ratings;
pub mod search;
pub mod transformations;
pub mod users;

use crate::actors::comment_board::CommentBoardHandle;
use crate::actors::photo_store::PhotoStoreHandle;
use crate::actors::rating_ledger::RatingLedgerHandle;
use crate::actors::transform_worker::TransformWorkerHandle;
use crate::actors::user_registry::Registry;
use crate::auth::jwt::JwtKeys;
use crate::store::Store;
use error::ApiError;

/// Largest JSON body any route accepts.
pub const JSON_LIMIT: usize = 64 * 1024;

/// One per worker: its own actor handles, plus the shared things extractors need.
pub struct AppState {
    pub registry: Registry,
    pub photos: PhotoStoreHandle,
    pub comments: CommentBoardHandle,
    pub ratings: RatingLedgerHandle,
    pub links: TransformWorkerHandle,
    pub queue: Arc<dyn crate::queue::JobQueue>,
    pub job_metrics: Arc<crate::queue::worker::JobMetrics>,
    pub keys: Arc<JwtKeys>,
    /// Absolute base of the links handed out.
    pub public_url: String,
    pub max_upload_bytes: u64,
    /// Where upload bodies are spooled while they arrive.
    pub spool_dir: std::path::PathBuf,
    pub store: Store,
    pub limiter: Arc<rate_limit::RateLimiter>,
    pub metrics: Arc<metrics::Metrics>,
    pub trust_forwarded_for: bool,
}

/// Registers every route and the extractor error handlers.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(web::PayloadConfig::new(JSON_LIMIT))
        .app_data(web::QueryConfig::default().error_handler(|e, _| query_error(e).into()))
        .app_data(web::PathConfig::default().error_handler(|e, _| path_error(e).into()))
        .configure(auth::routes)
        .configure(users::routes)
        .configure(admin::routes)
        .configure(photos::routes)
        .configure(comments::routes)
        .configure(ratings::routes)
        .configure(transformations::routes)
        .configure(public::routes)
        .configure(ops::routes)
        .configure(openapi::routes);
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

/// Records method, route pattern, status and latency of every request, and adds the
/// security headers every response carries.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.metrics.clone());
    let method = req.method().as_str().to_owned();
    let mut res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    if let Some(metrics) = metrics {
        metrics.observe(&method, &route, res.status().as_u16(), started.elapsed());
    }
    let headers = res.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if route.starts_with("/api/") {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(res)
}
