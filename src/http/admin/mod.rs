//! /api/admin: the account list, roles and bans (here), jobs and the queue stream
//! (`jobs`), and the console page with its assets (`console`). Admins only, but
//! for the page itself, which signs in inside.

pub mod console;
pub mod jobs;

use actix_web::{get, post, put, web};

use super::dto::{Page, PageQuery, PrivateUser, RoleRequest};
use super::error::{ApiError, Problem};
use super::extractors::AdminUser;
use super::json::Json;
use super::users::photo_count;
use super::AppState;
use crate::actors::user_registry::{ListUsers, SetBanned, SetRole};
use crate::domain::Role;

pub fn routes(cfg: &mut web::ServiceConfig) {
    jobs::routes(cfg);
    console::routes(cfg);
    cfg.service(list_users)
        .service(set_role)
        .service(ban)
        .service(unban)
        .service(queues);
}

pub use crate::actors::queue_monitor::QueueReport;

/// Queue depth, unacknowledged jobs, consumers, and jobs by status.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, body = QueueReport),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Queue or database unreachable", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/queues")]
async fn queues(
    _: AdminUser,
    state: web::Data<AppState>,
) -> Result<web::Json<QueueReport>, ApiError> {
    Ok(web::Json(state.monitor.report().await?))
}

/// `?q=`: the console's user search.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserSearch {
    /// Only accounts whose username starts with this (case-insensitive), then
    /// in username order.
    #[param(max_length = 64)]
    pub q: Option<String>,
}

/// Every account, in sign-up order (or, with `q`, those whose username starts
/// with it, in username order).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(PageQuery, UserSearch),
    responses(
        (status = 200, body = Page<PrivateUser>),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "limit/offset out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/admin/users")]
async fn list_users(
    _: AdminUser,
    state: web::Data<AppState>,
    query: web::Query<PageQuery>,
    search: web::Query<UserSearch>,
) -> Result<web::Json<Page<PrivateUser>>, ApiError> {
    let (limit, offset) = query.bounds()?;
    let prefix = search.into_inner().q.filter(|q| !q.is_empty());
    if prefix.as_ref().is_some_and(|q| q.chars().count() > 64) {
        return Err(ApiError::validation("q", "at most 64 characters"));
    }
    if prefix
        .as_ref()
        .is_some_and(|q| q.chars().any(char::is_control))
    {
        return Err(ApiError::validation("q", "no control characters"));
    }
    let msg = ListUsers {
        prefix,
        limit,
        offset,
    };
    let (users, total) = state.registry.call(msg).await?;
    let counts =
        futures_util::future::try_join_all(users.iter().map(|u| photo_count(&state, &u.id)))
            .await?;
    Ok(web::Json(Page {
        items: users
            .into_iter()
            .zip(counts)
            .map(|(u, n)| PrivateUser::new(u, n))
            .collect(),
        total,
        limit,
        offset,
    }))
}

/// Change a user's role. An admin cannot demote themself (409).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("username" = String, Path)),
    request_body = RoleRequest,
    responses(
        (status = 200, body = PrivateUser),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Self-demotion", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown role", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/admin/users/{username}/role")]
async fn set_role(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
    body: Json<RoleRequest>,
) -> Result<web::Json<PrivateUser>, ApiError> {
    let role = Role::parse(&body.role).map_err(|m| ApiError::validation("role", m))?;
    let msg = SetRole {
        admin_id: admin.user.id,
        username: username.into_inner(),
        role,
    };
    let user = state.registry.call(msg).await?;
    let photo_count = photo_count(&state, &user.id).await?;
    Ok(web::Json(PrivateUser::new(user, photo_count)))
}

async fn set_banned(
    admin: AdminUser,
    state: web::Data<AppState>,
    username: String,
    banned: bool,
) -> Result<web::Json<PrivateUser>, ApiError> {
    let msg = SetBanned {
        admin_id: admin.0.user.id,
        username,
        banned,
    };
    let user = state.registry.call(msg).await?;
    let photo_count = photo_count(&state, &user.id).await?;
    Ok(web::Json(PrivateUser::new(user, photo_count)))
}

/// Ban a user: they cannot log in, and their live tokens stop working at once.
/// An admin cannot ban themself (409).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("username" = String, Path)),
    responses(
        (status = 200, description = "Banned (`is_active: false`)", body = PrivateUser),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Self-ban", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/users/{username}/ban")]
async fn ban(
    admin: AdminUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> Result<web::Json<PrivateUser>, ApiError> {
    set_banned(admin, state, username.into_inner(), true).await
}

/// Lift a ban. The user logs in again; tokens from before the ban stay revoked.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("username" = String, Path)),
    responses(
        (status = 200, body = PrivateUser),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/admin/users/{username}/unban")]
async fn unban(
    admin: AdminUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> Result<web::Json<PrivateUser>, ApiError> {
    set_banned(admin, state, username.into_inner(), false).await
}
