//! /api/users: the caller's own account, and public profiles.

use actix_web::{get, patch, put, web, HttpRequest, HttpResponse};

use super::client_ip::client_ip;
use super::dto::Page;
use super::dto::{ChangePasswordRequest, PrivateUser, PublicProfile, UpdateMeRequest};
use super::error::{ApiError, Problem};
use super::extractors::{AuthUser, MaybeUser};
use super::json::Json;
use super::json::Validated;
use super::photos::Photo;
use super::search::{photo_page, Search};
use super::AppState;
use crate::actors::comment_board::CommentCount;
use crate::actors::photo_store::PhotoCount;
use crate::actors::social::CountFollows;
use crate::actors::user_registry::{ChangePassword, FindUser, UpdateProfile};
use crate::domain::{Bio, Email, FullName, Password, Validator};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(me)
        .service(update_me)
        .service(change_password)
        .service(profile)
        .service(user_photos);
}

/// The caller's own account.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PrivateUser),
    )
)]
#[get("/api/users/me")]
async fn me(AuthUser(p): AuthUser) -> Result<web::Json<PrivateUser>, ApiError> {
    // The principal came with the photo count: no database round trip when cached.
    let photo_count = p.photo_count;
    Ok(web::Json(PrivateUser::new(p.user, photo_count)))
}

pub(super) async fn photo_count(state: &AppState, user_id: &str) -> Result<u64, ApiError> {
    let owner_id = user_id.to_owned();
    Ok(state.photos.call(PhotoCount { owner_id }).await?)
}

impl UpdateMeRequest {
    fn into_message(self, user_id: String) -> Result<UpdateProfile, ApiError> {
        let mut v = Validator::new();
        let full_name = self
            .full_name
            .map(|value| value.and_then(|n| v.check("full_name", FullName::parse(&n))));
        let bio = self
            .bio
            .map(|value| value.and_then(|b| v.check("bio", Bio::parse(&b))));
        let email = self.email.and_then(|e| v.check("email", Email::parse(&e)));
        v.finish().map_err(ApiError::Validation)?;
        Ok(UpdateProfile {
            user_id,
            full_name,
            bio,
            email,
        })
    }
}

/// Change `full_name`, `bio` or `email`. Any other field (`role`, `is_active`,
/// `username`, ...) is refused with 422.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = UpdateMeRequest,
    responses(
        (status = 200, body = PrivateUser),
        (status = 409, description = "Email taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid or unknown fields", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many email changes from this account or address (see `Retry-After`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/api/users/me")]
async fn update_me(
    AuthUser(p): AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: Json<UpdateMeRequest>,
) -> Result<web::Json<PrivateUser>, ApiError> {
    let msg = body.into_inner().into_message(p.user.id.clone())?;
    if let Some(email) = &msg.email {
        // "That email is taken" answered as fast as it is asked would let anyone
        // test which addresses have accounts: a few changes an hour are plenty.
        if email.folded() != p.user.email_key() {
            let limits = &state.email_changes;
            limits.per_account.check(&p.user.id)?;
            if let Some(ip) = client_ip(&req, state.forwarded_hops) {
                limits.per_ip.check(&ip)?;
            }
        }
    }
    let user = state.registry.call(msg).await?;
    let photo_count = photo_count(&state, &user.id).await?;
    Ok(web::Json(PrivateUser::new(user, photo_count)))
}

/// Change the password. Other sessions of this account are signed out.
#[utoipa::path(
    tag = "users",
    security(("bearer" = [])),
    request_body = ChangePasswordRequest,
    responses(
        (status = 204, description = "Password changed"),
        (status = 422, description = "Wrong current password or invalid new one", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/users/me/password")]
async fn change_password(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    body: Json<ChangePasswordRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new =
        Password::parse(&body.new_password).map_err(|m| ApiError::validation("new_password", m))?;
    let msg = ChangePassword {
        principal,
        current: body.current_password,
        new,
    };
    state.registry.call(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A public profile by username (case-insensitive). No email.
#[utoipa::path(
    tag = "users",
    params(("username" = String, Path)),
    responses(
        (status = 200, body = PublicProfile, headers(("ETag" = String))),
        (status = 304, description = "Unchanged: the `ETag` sent in `If-None-Match` still holds"),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/users/{username}")]
async fn profile(
    _: MaybeUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
) -> Result<Validated<PublicProfile>, ApiError> {
    let username = username.into_inner();
    let user = state.registry.call(FindUser { username }).await?;
    let photo_count = photo_count(&state, &user.id).await?;
    let author_id = user.id.clone();
    let comment_count = state.comments.call(CommentCount { author_id }).await?;
    let user_id = user.id.clone();
    let follows = state.social.call(CountFollows { user_id }).await?;
    Ok(Validated(PublicProfile::new(
        user,
        photo_count,
        comment_count,
        follows,
    )))
}

/// `?sort&limit&offset` of a user's photo grid.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct GridParams {
    /// `-created_at` (default), `created_at`, `-rating`, `rating`, as in search.
    sort: Option<crate::domain::PhotoSort>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<i64>,
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// A user's photos (a profile grid, "my uploads"), newest first unless sorted
/// otherwise. Public; any other parameter is refused.
#[utoipa::path(
    tag = "users",
    params(("username" = String, Path), GridParams),
    responses(
        (status = 200, body = Page<Photo>),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad `sort`, `limit` or `offset`, or another parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/users/{username}/photos")]
async fn user_photos(
    caller: MaybeUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
    req: actix_web::HttpRequest,
) -> Result<web::Json<Page<Photo>>, ApiError> {
    let qs = req.query_string();
    let others: Vec<_> = form_urlencoded::parse(qs.as_bytes())
        .filter(|(k, _)| !matches!(k.as_ref(), "sort" | "limit" | "offset"))
        .map(|(k, _)| crate::domain::FieldError::new(&k, "is not a parameter of this route"))
        .collect();
    if !others.is_empty() {
        return Err(ApiError::Validation(others));
    }
    let Search { mut query, .. } = Search::parse(qs)?;
    let username = username.into_inner();
    let user = state.registry.call(FindUser { username }).await?;
    query.owner_id = Some(user.id);
    let search = Search { query, owner: None };
    Ok(web::Json(
        photo_page(&state, caller.0.as_ref(), search).await?,
    ))
}
