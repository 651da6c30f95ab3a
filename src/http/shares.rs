//! Share links: /api/albums/{id}/shares and /api/shares/{id} for the album's owner,
//! and /s/{token} for whoever holds a link: the album as JSON, or as a page with
//! Open Graph tags so a link pasted into a chat shows a preview (see `share_page`).

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::albums::{album, Album};
use super::dto::{ser_time, Page, PageQuery};
use super::error::{ApiError, Problem};
use super::extractors::AuthUser;
use super::json::Json;
use super::share_page;
use super::AppState;
use crate::actors::albums::{CreateShare, ListShares, OpenShare, RevokeShare, ShareError};
use crate::auth::Caller;
use crate::domain::{Password, ShareRecord, Validator};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create_share)
        .service(list_shares)
        .service(revoke_share)
        .service(open_share)
        .service(open_share_form);
}

/// The header a JSON client sends a share link's password in.
pub const SHARE_PASSWORD: &str = "x-share-password";

/// A share link as its owner sees it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "6b0ea31bda39323937709392",
    "url": "https://photos.example.com/s/4f1c0a9e2b7d4c3a8e6f5d2c1b0a99887766554433221100",
    "expires_at": "2026-12-31T23:59:59.000Z", "has_password": true,
    "created_at": "2026-12-01T10:00:00.000Z"
}))]
pub struct Share {
    pub id: String,
    /// `{public_url}/s/{token}`. Only the creation answer has it: the server keeps
    /// the token's hash, not the token (like an API key, copy it then); null in
    /// lists.
    pub url: Option<String>,
    #[serde(serialize_with = "ser_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<DateTime<Utc>>,
    pub has_password: bool,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

fn ser_opt_time<S: serde::Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

impl Share {
    fn new(s: ShareRecord, url: Option<String>) -> Self {
        Share {
            id: s.id,
            url,
            expires_at: s.expires_at,
            has_password: s.password_hash.is_some(),
            created_at: s.created_at,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"expires_at": "2026-12-31T23:59:59Z", "password": "river and bridges"}))]
pub struct CreateShareRequest {
    /// RFC 3339, in the future; absent = never expires.
    pub expires_at: Option<String>,
    /// 8 to 128 characters; absent = no password.
    pub password: Option<String>,
}

/// Create a share link to one of your albums (private ones too).
#[utoipa::path(
    tag = "albums",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = CreateShareRequest,
    responses(
        (status = 201, description = "Created: `url` holds the token, shown this once", body = Share, headers(("Location" = String, description = "The share link"))),
        (status = 403, description = "Not your album", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such album", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid expiry or password", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/albums/{id}/shares")]
async fn create_share(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<CreateShareRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut v = Validator::new();
    let expires_at = body.expires_at.map(|t| {
        let parsed = DateTime::parse_from_rfc3339(&t)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| "must be an RFC 3339 date-time".to_owned());
        v.check("expires_at", parsed)
    });
    let password = body
        .password
        .map(|p| v.check("password", Password::parse(&p)));
    v.finish().map_err(ApiError::Validation)?;
    let msg = CreateShare {
        album_id: id.into_inner(),
        caller: Caller::from(&principal),
        expires_at: expires_at.flatten(),
        password: password.flatten(),
    };
    let (share, token) = state.albums.call(msg).await?;
    let url = state.urls.share(&token);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, url.clone()))
        .json(Share::new(share, Some(url))))
}

/// Your album's share links that are not revoked, newest first.
#[utoipa::path(
    tag = "albums",
    security(("bearer" = [])),
    params(("id" = String, Path), PageQuery),
    responses(
        (status = 200, body = Page<Share>),
        (status = 403, description = "Not your album", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such album", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/albums/{id}/shares")]
async fn list_shares(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Share>>, ApiError> {
    let (limit, offset) = query.bounds()?;
    let msg = ListShares {
        album_id: id.into_inner(),
        caller: Caller::from(&principal),
        limit,
        offset,
    };
    let (shares, total) = state.albums.call(msg).await?;
    Ok(web::Json(Page {
        items: shares.into_iter().map(|s| Share::new(s, None)).collect(),
        total,
        limit,
        offset,
    }))
}

/// Revoke a share link: its URL answers 410 from now on.
#[utoipa::path(
    tag = "albums",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Revoked"),
        (status = 404, description = "No such live link of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/shares/{id}")]
async fn revoke_share(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let msg = RevokeShare {
        id: id.into_inner(),
        caller: Caller::from(&principal),
    };
    state.albums.call(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Whether the client asked for JSON (else it gets the page).
fn wants_json(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json") || v.contains("+json"))
}

/// Opens the link: wrong passwords are limited per link (`peek` before, charged
/// after a failure), so guessing costs the guesser, not the link's viewers.
async fn open(
    state: &AppState,
    token: String,
    password: Option<String>,
    limit: u32,
    offset: u64,
) -> Result<(ShareRecord, Album), ApiError> {
    let key = ShareRecord::hash_token(&token);
    let limiter = &state.share_passwords;
    if password.is_some() {
        limiter.peek(&key)?;
    }
    let msg = OpenShare {
        token,
        password,
        limit,
        offset,
    };
    match state.albums.call(msg).await {
        Ok((share, view)) => Ok((share, album(state, None, view).await?)),
        Err(e @ ShareError::WrongPassword) => {
            limiter.check(&key)?;
            Err(e.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// A shared album: JSON (`Accept: application/json`, the password in
/// `X-Share-Password`) or a page of its photos with Open Graph tags (any other
/// `Accept`; a link with a password shows a form that posts to this URL).
#[utoipa::path(
    tag = "albums",
    security(()),
    params(
        ("token" = String, Path),
        ("X-Share-Password" = Option<String>, Header, description = "The link's password, when it has one (JSON clients)"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "The album with a page of its photos, or its page",
            content((Album = "application/json"), (String = "text/html")),
            headers(("Cache-Control" = String))),
        (status = 400, description = "Malformed query string", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The link has a password and it was not sent or is wrong (the page: the password form)",
            content((Problem = "application/problem+json"), (String = "text/html"))),
        (status = 404, description = "No such link",
            content((Problem = "application/problem+json"), (String = "text/html"))),
        (status = 410, description = "Expired or revoked",
            content((Problem = "application/problem+json"), (String = "text/html"))),
        (status = 422, description = "Page bounds out of range", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this link",
            content((Problem = "application/problem+json"), (String = "text/html"))),
    )
)]
#[get("/s/{token}")]
async fn open_share(
    req: HttpRequest,
    state: web::Data<AppState>,
    token: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    if wants_json(&req) {
        let (limit, offset) = query.bounds()?;
        let password = req
            .headers()
            .get(SHARE_PASSWORD)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let (_, album) = open(&state, token, password, limit, offset).await?;
        return Ok(HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "private, no-store"))
            .insert_header((header::REFERRER_POLICY, "no-referrer"))
            .json(album));
    }
    Ok(page(&state, token, None).await)
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PasswordForm {
    password: String,
}

/// The share page's password form posts here; the answer is the page.
#[utoipa::path(
    tag = "albums",
    security(()),
    params(("token" = String, Path)),
    request_body(content = PasswordForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "The album's page", body = String, content_type = "text/html"),
        (status = 400, description = "Not a password form", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Wrong password: the form again", body = String, content_type = "text/html"),
        (status = 404, description = "No such link", body = String, content_type = "text/html"),
        (status = 410, description = "Expired or revoked", body = String, content_type = "text/html"),
        (status = 413, description = "A form over 16 KiB", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not an application/x-www-form-urlencoded body", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many wrong passwords for this link", body = String, content_type = "text/html"),
    )
)]
#[post("/s/{token}")]
async fn open_share_form(
    state: web::Data<AppState>,
    token: web::Path<String>,
    form: web::Form<PasswordForm>,
) -> HttpResponse {
    page(&state, token.into_inner(), Some(form.into_inner().password)).await
}

/// The page for a link: the album, the password form, or why there is nothing.
async fn page(state: &AppState, token: String, password: Option<String>) -> HttpResponse {
    let url = state.urls.share(&token);
    let tried = password.is_some();
    let limit = share_page::PHOTOS;
    match open(state, token, password, limit, 0).await {
        Ok((_, album)) => share_page::album(&url, &album),
        Err(e @ ApiError::SharePassword(..)) => share_page::password(&url, tried, &e),
        Err(e) => share_page::problem(&e),
    }
}
