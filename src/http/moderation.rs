//! Reports on photos and comments, and the moderators' queue.

use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::dto::{ser_time, Page, PageQuery};
use super::error::{ApiError, Problem};
use super::extractors::{AuthUser, ModeratorUser};
use super::json::Json;
use super::photos::Owner;
use super::AppState;
use crate::actors::social::{FileReport, ListReports, ResolveReport};
use crate::auth::Caller;
use crate::domain::{
    CommentText, ReportAction, ReportKind, ReportReason, ReportRecord, ReportStatus,
};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(report_photo)
        .service(report_comment)
        .service(list_reports)
        .service(resolve);
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "6b0ea31eda39323937709410", "kind": "photo",
    "object_id": "6b0ea31bda39323937709392", "reporter": {"username": "carol"},
    "reason": "spam", "note": "Same ad on every photo", "status": "open",
    "created_at": "2026-11-26T15:00:00.000Z", "resolved_by": null, "action": null
}))]
pub struct Report {
    pub id: String,
    pub kind: ReportKind,
    /// The photo's or the comment's id.
    pub object_id: String,
    pub reporter: Owner,
    pub reason: ReportReason,
    pub note: Option<String>,
    pub status: ReportStatus,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// The moderator who resolved it; null while open.
    pub resolved_by: Option<Owner>,
    /// What they decided; null while open.
    pub action: Option<ReportAction>,
}

impl From<ReportRecord> for Report {
    fn from(r: ReportRecord) -> Self {
        Report {
            id: r.id,
            kind: r.kind,
            object_id: r.object_id,
            reporter: Owner {
                username: r.reporter_username,
            },
            reason: r.reason,
            note: r.note,
            status: r.status,
            created_at: r.created_at,
            resolved_by: r.resolved_by.map(|username| Owner { username }),
            action: r.action,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"reason": "spam", "note": "Same ad on every photo"}))]
pub struct ReportRequest {
    pub reason: ReportReason,
    /// 1 to 2000 characters.
    pub note: Option<String>,
}

async fn file(
    state: &AppState,
    caller: Caller,
    kind: ReportKind,
    object_id: String,
    body: ReportRequest,
) -> Result<HttpResponse, ApiError> {
    let note = body
        .note
        .map(|n| CommentText::parse(&n).map_err(|m| ApiError::validation("note", m)))
        .transpose()?;
    let msg = FileReport {
        caller,
        kind,
        object_id,
        reason: body.reason,
        note,
    };
    let report = state.social.call(msg).await?;
    Ok(HttpResponse::Created()
        .insert_header((
            header::LOCATION,
            format!("/api/moderation/reports/{}", report.id),
        ))
        .json(Report::from(report)))
}

/// Report a photo to the moderators. One open report per reporter and photo.
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "photo id")),
    request_body = ReportRequest,
    responses(
        (status = 201, description = "Reported", body = Report, headers(("Location" = String, description = "`/api/moderation/reports/{id}`"))),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "You already have an open report on it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown reason or a bad note", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/photos/{id}/reports")]
async fn report_photo(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<ReportRequest>,
) -> Result<HttpResponse, ApiError> {
    let caller = Caller::from(&principal);
    file(
        &state,
        caller,
        ReportKind::Photo,
        id.into_inner(),
        body.into_inner(),
    )
    .await
}

/// Report a comment to the moderators. One open report per reporter and comment.
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "comment id")),
    request_body = ReportRequest,
    responses(
        (status = 201, description = "Reported", body = Report, headers(("Location" = String, description = "`/api/moderation/reports/{id}`"))),
        (status = 404, description = "No such comment", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "You already have an open report on it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown reason or a bad note", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/comments/{id}/reports")]
async fn report_comment(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<ReportRequest>,
) -> Result<HttpResponse, ApiError> {
    let caller = Caller::from(&principal);
    file(
        &state,
        caller,
        ReportKind::Comment,
        id.into_inner(),
        body.into_inner(),
    )
    .await
}

/// `?status=open|resolved` (all when absent) and the page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    pub status: Option<ReportStatus>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

/// The moderation queue, newest first. Moderators and admins.
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(ReportQuery),
    responses(
        (status = 200, body = Page<Report>),
        (status = 403, description = "Not a moderator or an admin", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/moderation/reports")]
async fn list_reports(
    _: ModeratorUser,
    state: web::Data<AppState>,
    query: web::Query<ReportQuery>,
) -> Result<web::Json<Page<Report>>, ApiError> {
    let page = PageQuery {
        limit: query.limit,
        offset: query.offset,
    };
    let (limit, offset) = page.bounds()?;
    let msg = ListReports {
        status: query.status,
        limit,
        offset,
    };
    let (reports, total) = state.social.call(msg).await?;
    Ok(web::Json(Page {
        items: reports.into_iter().map(Report::from).collect(),
        total,
        limit,
        offset,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"action": "remove"}))]
pub struct ResolveRequest {
    pub action: ReportAction,
}

/// Resolve a report. `remove` deletes the photo or comment and resolves every open
/// report on it; `dismiss` resolves this one. Moderators and admins.
#[utoipa::path(
    tag = "moderation",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "report id")),
    request_body = ResolveRequest,
    responses(
        (status = 200, description = "Resolved", body = Report),
        (status = 403, description = "Not a moderator or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such report", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already resolved", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown action", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/moderation/reports/{id}/resolve")]
async fn resolve(
    ModeratorUser(principal): ModeratorUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<ResolveRequest>,
) -> Result<web::Json<Report>, ApiError> {
    let msg = ResolveReport {
        id: id.into_inner(),
        moderator: Caller::from(&principal),
        action: body.into_inner().action,
    };
    Ok(web::Json(Report::from(state.social.call(msg).await?)))
}
