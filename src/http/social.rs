//! Follows, the feed and notifications (the moderation queue is in `moderation`).

use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::dto::{ser_time, Page, PageQuery};
use super::error::{ApiError, Problem};
use super::extractors::{AuthUser, MaybeUser};
use super::json::Json;
use super::photos::{photos_for, Owner, Photo};
use super::AppState;
use crate::actors::social::{Feed, Follow, ListFollows, MarkRead, Notifications, Unfollow};
use crate::auth::Caller;
use crate::domain::{FeedCursor, FieldError, NotificationKind, NotificationRecord};
use crate::ids::is_record_id;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(follow)
        .service(unfollow)
        .service(followers)
        .service(following)
        .service(feed)
        .service(notifications)
        .service(mark_read);
}

/// Follow an account. Idempotent; the followed account is notified the first time.
#[utoipa::path(
    tag = "social",
    security(("bearer" = [])),
    params(("username" = String, Path)),
    responses(
        (status = 204, description = "Following"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "That is you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/users/{username}/follow")]
async fn follow(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let msg = Follow {
        caller: Caller::from(&principal),
        username: username.into_inner(),
    };
    state.social.call(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Stop following an account. Idempotent.
#[utoipa::path(
    tag = "social",
    security(("bearer" = [])),
    params(("username" = String, Path)),
    responses(
        (status = 204, description = "Not following"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/users/{username}/follow")]
async fn unfollow(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let msg = Unfollow {
        caller: Caller::from(&principal),
        username: username.into_inner(),
    };
    state.social.call(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

async fn follow_page(
    state: &AppState,
    username: String,
    of_followers: bool,
    query: &PageQuery,
) -> Result<web::Json<Page<Owner>>, ApiError> {
    let (limit, offset) = query.bounds()?;
    let msg = ListFollows {
        username,
        followers: of_followers,
        limit,
        offset,
    };
    let (names, total) = state.social.call(msg).await?;
    Ok(web::Json(Page {
        items: names
            .into_iter()
            .map(|username| Owner { username })
            .collect(),
        total,
        limit,
        offset,
    }))
}

/// The accounts following a user, in username order.
#[utoipa::path(
    tag = "social",
    params(("username" = String, Path), PageQuery),
    responses(
        (status = 200, body = Page<Owner>),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/users/{username}/followers")]
async fn followers(
    _: MaybeUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Owner>>, ApiError> {
    follow_page(&state, username.into_inner(), true, &query).await
}

/// The accounts a user follows, in username order.
#[utoipa::path(
    tag = "social",
    params(("username" = String, Path), PageQuery),
    responses(
        (status = 200, body = Page<Owner>),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/users/{username}/following")]
async fn following(
    _: MaybeUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Owner>>, ApiError> {
    follow_page(&state, username.into_inner(), false, &query).await
}

/// `?cursor&limit` of a cursor page.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CursorQuery {
    /// `next_cursor` of the page before; absent for the first page.
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
}

/// `?limit=` as every page checks it (`PageQuery`); cursor pages have no offset.
fn limit(limit: Option<i64>) -> Result<u32, ApiError> {
    let page = PageQuery {
        limit,
        offset: None,
    };
    page.bounds().map(|(limit, _)| limit)
}

/// A page of the feed.
#[derive(Debug, Serialize, ToSchema)]
pub struct FeedPage {
    pub items: Vec<Photo>,
    /// Pass as `cursor` for the next page; null at the end.
    pub next_cursor: Option<String>,
}

/// Photos of the accounts you follow, newest first. Cursor pages never repeat or
/// skip a photo while new ones are uploaded (those go to the top, above the first
/// page).
#[utoipa::path(
    tag = "social",
    security(("bearer" = [])),
    params(CursorQuery),
    responses(
        (status = 200, body = FeedPage),
        (status = 422, description = "A bad `cursor` or `limit`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/feed")]
async fn feed(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    query: web::Query<CursorQuery>,
) -> Result<web::Json<FeedPage>, ApiError> {
    let limit = limit(query.limit)?;
    let cursor = match query.cursor.as_deref() {
        None | Some("") => None,
        Some(c) => Some(FeedCursor::parse(c).ok_or_else(|| {
            ApiError::validation("cursor", "is not a cursor this API handed out")
        })?),
    };
    let msg = Feed {
        user_id: principal.user.id.clone(),
        cursor,
        limit,
    };
    let (photos, next) = state.social.call(msg).await?;
    Ok(web::Json(FeedPage {
        items: photos_for(&state, Some(&principal), photos).await?,
        next_cursor: next.map(|c| c.encode()),
    }))
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "6b0ea31eda39323937709400", "kind": "comment", "actor": {"username": "bob"},
    "photo_id": "6b0ea31bda39323937709392", "created_at": "2026-11-26T14:25:02.310Z",
    "read": false
}))]
pub struct Notification {
    pub id: String,
    pub kind: NotificationKind,
    /// Who commented, rated or followed.
    pub actor: Owner,
    /// The photo commented on or rated; null for a follow.
    pub photo_id: Option<String>,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    pub read: bool,
}

impl From<NotificationRecord> for Notification {
    fn from(n: NotificationRecord) -> Self {
        Notification {
            id: n.id,
            kind: n.kind,
            actor: Owner {
                username: n.actor_username,
            },
            photo_id: n.photo_id,
            created_at: n.created_at,
            read: n.read,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    pub items: Vec<Notification>,
    /// Pass as `cursor` for the next page; null at the end.
    pub next_cursor: Option<String>,
}

/// `?unread=true&cursor&limit`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only the unread ones.
    pub unread: Option<bool>,
    /// `next_cursor` of the page before.
    pub cursor: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
}

/// Your notifications, newest first: comments and ratings on your photos, new
/// followers.
#[utoipa::path(
    tag = "social",
    security(("bearer" = [])),
    params(NotificationQuery),
    responses(
        (status = 200, body = NotificationPage),
        (status = 422, description = "A bad `cursor` or `limit`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/notifications")]
async fn notifications(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    query: web::Query<NotificationQuery>,
) -> Result<web::Json<NotificationPage>, ApiError> {
    let query = query.into_inner();
    let limit = limit(query.limit)?;
    let cursor = query.cursor.filter(|c| !c.is_empty());
    if cursor.as_deref().is_some_and(|c| !is_record_id(c)) {
        return Err(ApiError::validation(
            "cursor",
            "is not a cursor this API handed out",
        ));
    }
    let msg = Notifications {
        user_id: principal.user.id.clone(),
        unread_only: query.unread.unwrap_or(false),
        cursor: cursor.map(|c| c.to_ascii_lowercase()),
        limit,
    };
    let (items, next) = state.social.call(msg).await?;
    Ok(web::Json(NotificationPage {
        items: items.into_iter().map(Notification::from).collect(),
        next_cursor: next,
    }))
}

/// Which notifications to mark read: `ids`, or `all: true`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"ids": ["6b0ea31eda39323937709400"]}))]
pub struct MarkReadRequest {
    /// At most 100 notification ids of yours; others are ignored.
    pub ids: Option<Vec<String>>,
    /// Every notification of yours.
    pub all: Option<bool>,
}

/// Mark notifications read.
#[utoipa::path(
    tag = "social",
    security(("bearer" = [])),
    request_body = MarkReadRequest,
    responses(
        (status = 204, description = "Marked"),
        (status = 422, description = "Neither `ids` nor `all: true`, both, or a bad id", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/notifications/read")]
async fn mark_read(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    body: Json<MarkReadRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let ids = match (body.ids, body.all) {
        (Some(ids), None | Some(false)) => {
            let bad = ids.len() > 100 || ids.iter().any(|i| !is_record_id(i));
            if bad {
                return Err(ApiError::Validation(vec![FieldError::new(
                    "ids",
                    "must be at most 100 notification ids",
                )]));
            }
            Some(ids.iter().map(|i| i.to_ascii_lowercase()).collect())
        }
        (None, Some(true)) => None,
        _ => {
            return Err(ApiError::validation(
                "ids",
                "send either `ids` or `all: true`",
            ))
        }
    };
    let msg = MarkRead {
        user_id: principal.user.id.clone(),
        ids,
    };
    state.social.call(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}
