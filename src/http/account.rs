//! The account's own data: delete it all (`DELETE /api/users/me`, or an admin's
//! `DELETE /api/admin/users/{username}`), or take it all away as a zip
//! (`GET /api/users/me/export`).

use actix_web::http::header;
use actix_web::{delete, get, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::extractors::{AdminUser, AuthUser};
use super::json::Json;
use super::AppState;
use crate::actors::erasure::{Erase, EraseAccount};
use crate::actors::photo_store::ExportAccount;
use crate::auth::Caller;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(delete_me)
        .service(delete_user)
        .service(export_me);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"password": "correct horse battery staple"}))]
pub struct DeleteAccountRequest {
    /// The account's current password.
    pub password: String,
}

/// Delete your account and everything it owns: photos (their files, renders and
/// links), albums and share links, comments, ratings (other photos' averages are
/// updated), follows, notifications and reports. Your tokens stop working on every
/// node and the username is free again. A deletion a restart interrupts is
/// finished when the server starts again.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Deleted"),
        (status = 422, description = "Wrong password", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/users/me")]
async fn delete_me(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    body: Json<DeleteAccountRequest>,
) -> Result<HttpResponse, ApiError> {
    let erase = Erase::Own {
        caller: Caller::from(&principal),
        password: body.into_inner().password,
    };
    state.erasure.call(EraseAccount(erase)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Delete an account and everything it owns, as `DELETE /api/users/me` does. An
/// admin deletes their own account there (409 here).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("username" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Your own account", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/admin/users/{username}")]
async fn delete_user(
    AdminUser(admin): AdminUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let erase = Erase::ByAdmin {
        admin: Caller::from(&admin),
        username: username.into_inner(),
    };
    state.erasure.call(EraseAccount(erase)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Everything your account holds, as a zip streamed while it is made:
/// `account.json`, `photos.json`, `comments.json`, `ratings.json`, `albums.json`
/// and every original under `originals/` (named `{photo id}.{extension}`, as
/// `photos.json` says in `file`).
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The zip", content(("application/zip")),
            headers(("Content-Disposition" = String))),
        (status = 429, description = "Too many exports are running on this node", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/users/me/export")]
async fn export_me(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let msg = ExportAccount {
        caller: Caller::from(&principal),
    };
    let export = state.photos.call(msg).await?;
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let name = format!("photoshare-{}-{date}.zip", export.username);
    Ok(HttpResponse::Ok()
        .content_type("application/zip")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .streaming(export.stream))
}
