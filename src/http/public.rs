//! Public links: `/i/{slug}` serves a stored original with a strong ETag and
//! immutable caching (or redirects to the CDN when media lives on Cloudinary).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{route, web, HttpRequest, HttpResponse};

use super::error::{ApiError, Problem};
use super::AppState;
use crate::actors::photo_store::{Image, OpenImage};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(image);
}

pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// True when `If-None-Match` lists this entity tag (or `*`).
pub fn etag_matches(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate == etag)
}

/// Serves immutable bytes: 304 when the client has them, else 200 with caching headers.
pub fn immutable_bytes(
    req: &HttpRequest,
    bytes: bytes::Bytes,
    content_type: &str,
    etag_value: &str,
) -> HttpResponse {
    immutable(req, content_type, etag_value, |res| res.body(bytes))
}

/// Like `immutable_bytes`, for bytes that `send` puts in the answer.
fn immutable(
    req: &HttpRequest,
    content_type: &str,
    etag_value: &str,
    send: impl FnOnce(&mut actix_web::HttpResponseBuilder) -> HttpResponse,
) -> HttpResponse {
    let etag = format!("\"{etag_value}\"");
    let fresh = etag_matches(req, &etag);
    let mut res = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag.as_str()))
        .insert_header((header::CACHE_CONTROL, IMMUTABLE));
    if fresh {
        return res.finish();
    }
    let content_type = HeaderValue::from_str(content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    send(res.insert_header((header::CONTENT_TYPE, content_type)))
}

/// The photo behind its unique link.
#[utoipa::path(
    get,
    tag = "public",
    params(("slug" = String, Path)),
    responses(
        (status = 200, description = "The image, with its real Content-Type, a strong ETag and immutable caching",
            content(("image/jpeg"), ("image/png"), ("image/webp"), ("image/gif"))),
        (status = 302, description = "Redirect to the CDN (Cloudinary media backend)"),
        (status = 304, description = "If-None-Match matched"),
        (status = 404, description = "Unknown or deleted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[route("/i/{slug}", method = "GET", method = "HEAD")]
async fn image(
    state: web::Data<AppState>,
    req: HttpRequest,
    slug: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let answer = state
        .photos
        .call(OpenImage {
            slug: slug.into_inner(),
        })
        .await?;
    Ok(image_response(&req, answer))
}

/// An image as stored here (bytes with their tag) or a redirect to the CDN.
pub fn image_response(req: &HttpRequest, answer: Image) -> HttpResponse {
    match answer {
        Image::Redirect(url) => HttpResponse::Found()
            .insert_header((header::LOCATION, url))
            .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
            .finish(),
        Image::Bytes {
            bytes,
            content_type,
            etag,
        } => immutable_bytes(req, bytes, content_type, &etag),
        Image::Stream {
            body,
            content_type,
            etag,
        } => immutable(req, content_type, &etag, |res| {
            res.no_chunking(body.len).streaming(body.chunks)
        }),
    }
}
