//! /api/admin/jobs and /api/admin/queues/stream: transformation jobs as an admin
//! sees them (every link, newest first), a failed one sent again, and the queue
//! snapshot pushed to the console as Server-Sent Events.

use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use crate::actors::photo_store::{ListJobs, RetryJob};
use crate::actors::queue_monitor::StreamItem;
use crate::http::dto::{ser_time, Page, PageQuery};
use crate::http::error::{ApiError, Problem};
use crate::http::extractors::{bearer_token, still_admin, AdminUser};
use crate::http::AppState;
use crate::store::{LinkRecord, LinkStatus};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(list_jobs).service(retry).service(stream);
}

/// A transformation link as a job.
#[derive(Debug, Serialize, ToSchema)]
pub struct Job {
    pub link_id: String,
    pub photo_id: String,
    /// Canonical transformation.
    #[schema(example = "c_fill,h_200,w_200")]
    pub transformation: String,
    #[schema(example = "failed")]
    pub status: LinkStatus,
    /// Jobs started for this link so far (reset by a retry).
    pub attempts: u32,
    /// Why it failed (status `failed`), else null.
    pub error: Option<String>,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "crate::http::transformations::ser_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<LinkRecord> for Job {
    fn from(l: LinkRecord) -> Self {
        Job {
            link_id: l.id,
            photo_id: l.photo_id,
            transformation: l.transformation,
            status: l.status,
            attempts: l.attempts,
            error: l.error,
            created_at: l.created_at,
            completed_at: l.completed_at,
        }
    }
}

/// `?status=`: one status only.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    /// `pending`, `failed` or `done`; all when absent.
    #[param(value_type = Option<LinkStatus>)]
    pub status: Option<String>,
}

fn parse_status(s: &str) -> Result<LinkStatus, ApiError> {
    crate::domain::from_wire(s)
        .ok_or_else(|| ApiError::validation("status", "must be pending, failed or done"))
}

/// Transformation jobs, newest first: all, or of one status.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(PageQuery, JobFilter),
    responses(
        (status = 200, body = Page<Job>),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown status, or limit/offset out of range", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/jobs")]
async fn list_jobs(
    _: AdminUser,
    state: web::Data<AppState>,
    page: web::Query<PageQuery>,
    filter: web::Query<JobFilter>,
) -> Result<web::Json<Page<Job>>, ApiError> {
    let (limit, offset) = page.bounds()?;
    let status = filter.status.as_deref().map(parse_status).transpose()?;
    let msg = ListJobs {
        status,
        limit,
        offset,
    };
    let (links, total) = state.photos.call(msg).await?;
    Ok(web::Json(Page {
        items: links.into_iter().map(Job::from).collect(),
        total,
        limit,
        offset,
    }))
}

/// Send a failed job again: its link goes back to `pending` with its attempts
/// reset, any dead-lettered message for it is dropped (RabbitMQ), and a new job
/// is published.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("link_id" = String, Path)),
    responses(
        (status = 202, description = "Queued again; the job as it is now (`pending`)", body = Job),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such job", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The job has not failed", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Database unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/jobs/{link_id}/retry")]
async fn retry(
    admin: AdminUser,
    state: web::Data<AppState>,
    link_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let link_id = link_id.into_inner();
    let link = state.photos.call(RetryJob { link_id }).await?;
    tracing::info!(link_id = %link.id, admin = %admin.0.user.username, "admin retried a job");
    Ok(HttpResponse::Accepted().json(Job::from(link)))
}

/// The queue snapshot (the body of GET /api/admin/queues) as Server-Sent Events:
/// an event `queues` at once, then every second (`unavailable`, with a `detail`,
/// for a second in which the queue or the database did not answer), until the
/// client goes away, the server shuts down, or the caller is no longer an admin
/// (banned, logged out, demoted, token expired: checked every five events). However many admins watch, the process queries the
/// broker once a second (`photoshare_queue_queries_total`).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "`event: queues` / `data: {QueueReport as JSON}` every second", body = String, content_type = "text/event-stream"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The queue monitor is not running", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/queues/stream")]
async fn stream(
    _: AdminUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let token = bearer_token(&req).ok_or(ApiError::Unauthorized)?;
    let reports = state.monitor.subscribe().await?;
    // A reconnecting EventSource waits 2 s, not its default 3-5.
    let hello = futures_util::stream::once(async { Ok(Bytes::from_static(b"retry: 2000\n\n")) });
    let watch = Watch {
        reports,
        state,
        token,
        sent: 0,
    };
    let events = futures_util::stream::unfold(watch, |mut w| async move {
        // The watcher is asked again every few events (from the principals
        // cache): a ban, a logout, a demotion or an expired token ends the stream.
        if w.sent > 0 && w.sent % RECHECK_EVERY == 0 && !still_admin(&w.state, &w.token).await {
            return None;
        }
        let event = match w.reports.recv().await? {
            Ok(report) => {
                let json = serde_json::to_string(&report).unwrap_or_else(|_| "{}".into());
                format!("event: queues\ndata: {json}\n\n")
            }
            Err(e) => format!(
                "event: unavailable\ndata: {}\n\n",
                json!({ "detail": e.to_string() })
            ),
        };
        w.sent += 1;
        Some((Ok::<_, actix_web::Error>(Bytes::from(event)), w))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header((header::CACHE_CONTROL, "no-cache, no-store"))
        // Proxies that buffer (nginx) pass each event on at once.
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(futures_util::StreamExt::chain(hello, events)))
}

/// Events between two checks that the watcher is still an admin.
const RECHECK_EVERY: u64 = 5;

struct Watch {
    reports: tokio::sync::mpsc::Receiver<StreamItem>,
    state: web::Data<AppState>,
    token: String,
    sent: u64,
}
