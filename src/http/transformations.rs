//! Transformation links: create (202, the job runs in the background), list, read,
//! delete; `/t/{slug}` serves the image and `/t/{slug}/qr` its QR code.

use actix_web::http::header;
use actix_web::{delete, get, post, route, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::dto::{ser_time, Page, PageQuery};
use super::error::{ApiError, Problem};
use super::extractors::{AuthUser, RequestId};
use super::json::Json;
use super::json::Validated;
use super::public::immutable_bytes;
use super::AppState;
use crate::actors::photo_store::{
    CreateLink, DeleteLink, GetLink, LinkImage, LinkQr, ListLinks, OpenLink,
};
use crate::auth::Caller;
use crate::domain::{from_wire, LinkRecord, LinkStatus, ParseError, PublicUrls, Transformation};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create_link)
        .service(list_links)
        .service(get_link)
        .service(delete_link)
        .service(link_qr)
        .service(link_image);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateLinkRequest {
    /// Cloudinary syntax, e.g. `c_fill,w_800,h_600/e_grayscale/q_80`.
    #[schema(example = "c_thumb,w_200,h_200/r_max/f_png")]
    pub transformation: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "6b0ea31eda3932393770939a", "slug": "846142734a01a5537d60adcda8c1584d",
    "photo_id": "6b0ea31bda39323937709392", "transformation": "c_fill,h_600,w_800/e_grayscale",
    "status": "done",
    "url": "https://photos.example.com/t/846142734a01a5537d60adcda8c1584d",
    "qr_url": "https://photos.example.com/t/846142734a01a5537d60adcda8c1584d/qr",
    "error": null,
    "created_at": "2026-11-26T14:30:00.000Z", "completed_at": "2026-11-26T14:30:00.420Z"
}))]
pub struct Link {
    pub id: String,
    /// The unguessable part of `url` (`/t/{slug}`).
    pub slug: String,
    pub photo_id: String,
    /// Canonical form: parameters sorted within each step.
    pub transformation: String,
    pub status: LinkStatus,
    /// `{public_url}/t/{slug}`: the transformed image.
    pub url: String,
    /// `{url}/qr`: a QR code encoding `url`.
    pub qr_url: String,
    /// Why the transformation failed (status `failed`), else null.
    pub error: Option<String>,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_opt_time")]
    #[schema(value_type = Option<String>, format = DateTime)]
    pub completed_at: Option<DateTime<Utc>>,
}

pub(crate) fn ser_opt_time<S: serde::Serializer>(
    t: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => ser_time(t, s),
        None => s.serialize_none(),
    }
}

impl Link {
    pub fn new(l: LinkRecord, urls: &PublicUrls) -> Self {
        Link {
            url: urls.link(&l.slug),
            qr_url: urls.link_qr(&l.slug),
            id: l.id,
            slug: l.slug,
            photo_id: l.photo_id,
            transformation: l.transformation,
            status: l.status,
            error: l.error,
            created_at: l.created_at,
            completed_at: l.completed_at,
        }
    }
}

/// Create a transformed variant of a photo, with a public link and QR code. Answers
/// at once: the image is made by a worker (poll the link, or fetch `url`, which is
/// 503 with Retry-After until it is ready).
#[utoipa::path(
    tag = "transformations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "photo id")),
    request_body = CreateLinkRequest,
    responses(
        (status = 202, description = "Link created; the job is queued", body = Link, headers(("Location" = String, description = "`/api/transformations/{id}`: poll it"), ("Retry-After" = String, description = "Seconds until a poll is worth it"))),
        (status = 200, description = "The photo already has this (canonical) transformation", body = Link),
        (status = 403, description = "Not the photo's owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unsupported parameter, value out of range or output too large; the message names the parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/photos/{id}/transformations")]
async fn create_link(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    request_id: RequestId,
    body: Json<CreateLinkRequest>,
) -> Result<HttpResponse, ApiError> {
    let transformation: Transformation = body
        .into_inner()
        .transformation
        .parse()
        .map_err(|e: ParseError| ApiError::validation("transformation", e.to_string()))?;
    let msg = CreateLink {
        photo_id: id.into_inner(),
        caller: Caller::from(&principal),
        transformation,
        request_id: Some(request_id.0),
    };
    let (link, created) = state.photos.call(msg).await?;
    let mut res = if created {
        // Where to poll, and when: small jobs are done within a second or two.
        let mut res = HttpResponse::Accepted();
        res.insert_header((
            header::LOCATION,
            format!("/api/transformations/{}", link.id),
        ))
        .insert_header((header::RETRY_AFTER, "1"));
        res
    } else {
        HttpResponse::Ok()
    };
    Ok(res.json(Link::new(link, &state.urls)))
}

/// A photo's transformation links, oldest first.
#[utoipa::path(
    tag = "transformations",
    params(("id" = String, Path, description = "photo id"), PageQuery),
    responses(
        (status = 200, body = Page<Link>),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad limit or offset", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/photos/{id}/transformations")]
async fn list_links(
    state: web::Data<AppState>,
    id: web::Path<String>,
    page: web::Query<PageQuery>,
) -> Result<web::Json<Page<Link>>, ApiError> {
    let (limit, offset) = page.bounds()?;
    let (links, total) = state
        .photos
        .call(ListLinks {
            photo_id: id.into_inner(),
            limit,
            offset,
        })
        .await?;
    Ok(web::Json(Page {
        items: links
            .into_iter()
            .map(|l| Link::new(l, &state.urls))
            .collect(),
        total,
        limit,
        offset,
    }))
}

/// One transformation link: poll it for `status`.
#[utoipa::path(
    tag = "transformations",
    params(("id" = String, Path, description = "transformation id")),
    responses(
        (status = 200, body = Link, headers(("ETag" = String))),
        (status = 304, description = "Unchanged: the `ETag` sent in `If-None-Match` still holds"),
        (status = 404, description = "No such transformation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/transformations/{id}")]
async fn get_link(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Validated<Link>, ApiError> {
    let link = state
        .photos
        .call(GetLink {
            id: id.into_inner(),
        })
        .await?;
    Ok(Validated(Link::new(link, &state.urls)))
}

/// Delete a transformation link and its stored image and QR code.
#[utoipa::path(
    tag = "transformations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "transformation id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not the photo's owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transformation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/transformations/{id}")]
async fn delete_link(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .photos
        .call(DeleteLink {
            id: id.into_inner(),
            caller: Caller::from(&principal),
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The transformed image behind a link.
#[utoipa::path(
    get,
    tag = "public",
    params(("slug" = String, Path)),
    responses(
        (status = 200, description = "The image, with a strong ETag and immutable caching",
            content(("image/jpeg"), ("image/png"), ("image/webp"), ("image/gif"))),
        (status = 302, description = "Redirect to the CDN (Cloudinary media backend)"),
        (status = 304, description = "If-None-Match matched"),
        (status = 404, description = "Unknown or deleted link", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "The transformation failed for good; `detail` says why", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Still being made; retry after `Retry-After` seconds", body = Problem, content_type = "application/problem+json"),
    )
)]
#[route("/t/{slug}", method = "GET", method = "HEAD")]
async fn link_image(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let image = state
        .photos
        .call(OpenLink {
            slug: slug.into_inner(),
        })
        .await?;
    Ok(match image {
        LinkImage::Redirect(url) => HttpResponse::Found()
            .insert_header((header::LOCATION, url))
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .finish(),
        LinkImage::Bytes {
            bytes,
            content_type,
            etag,
        } => immutable_bytes(&req, bytes, content_type, &etag),
    })
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrQuery {
    /// `png` (default) or `svg`.
    #[param(value_type = Option<QrFormat>)]
    pub format: Option<String>,
}

/// What a QR code is drawn as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum QrFormat {
    Png,
    Svg,
}

/// A QR code encoding exactly the link's `url`; available as soon as the link exists.
#[utoipa::path(
    get,
    tag = "public",
    params(("slug" = String, Path), QrQuery),
    responses(
        (status = 200, description = "The QR code", content(("image/png"), ("image/svg+xml"))),
        (status = 404, description = "Unknown link", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unknown format", body = Problem, content_type = "application/problem+json"),
    )
)]
#[route("/t/{slug}/qr", method = "GET", method = "HEAD")]
async fn link_qr(
    state: web::Data<AppState>,
    slug: web::Path<String>,
    query: web::Query<QrQuery>,
) -> Result<HttpResponse, ApiError> {
    let svg = match query.format.as_deref().map(from_wire) {
        None | Some(Some(QrFormat::Png)) => false,
        Some(Some(QrFormat::Svg)) => true,
        Some(None) => return Err(ApiError::validation("format", "must be png or svg")),
    };
    let (bytes, content_type) = state
        .photos
        .call(LinkQr {
            slug: slug.into_inner(),
            svg,
        })
        .await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(bytes))
}
