//! Display sizes: `/v/{slug}/{name}` serves `thumb`, `small`, `medium` or `large`,
//! made on the first request and kept, with the caching of `/i/`.

use actix_web::http::header;
use actix_web::{route, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, Problem};
use super::public::image_response;
use super::AppState;
use crate::actors::photo_store::OpenVariant;
use crate::domain::Variant;
use crate::media::ingest::Format;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(variant);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VariantQuery {
    /// `jpeg`, `png` or `webp`; without it, WebP when `Accept` takes
    /// `image/webp`, else JPEG, or PNG (alpha kept) for photos with
    /// transparent parts.
    pub(super) format: Option<String>,
}

/// A display size of a photo.
///
/// `thumb` is `c_fill,w_256,h_256,g_auto`, `small` `c_limit,w_640,h_640`,
/// `medium` `c_limit,w_1280,h_1280`, `large` `c_limit,w_2048,h_2048` (never
/// upscaled). Made on the first request and kept; concurrent first requests make
/// it once. Lossy WebP for clients whose `Accept` takes it. Strong `ETag` (one
/// per format), immutable caching, `Vary: Accept`, 304, HEAD. AVIF is not
/// offered (encoding it takes 0.6-3 s a size here): see docs/performance.md.
#[utoipa::path(
    get,
    tag = "public",
    params(("slug" = String, Path), ("name" = Variant, Path), VariantQuery),
    responses(
        (status = 200, description = "The image at that size",
            content(("image/jpeg"), ("image/png"), ("image/webp")),
            headers(("ETag" = String), ("Vary" = String), ("Cache-Control" = String))),
        (status = 302, description = "Redirect to the CDN (Cloudinary media backend)"),
        (status = 304, description = "If-None-Match matched"),
        (status = 404, description = "Unknown or deleted photo, or no such size", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A format that is not offered", body = Problem, content_type = "application/problem+json"),
    )
)]
#[route("/v/{slug}/{name}", method = "GET", method = "HEAD")]
async fn variant(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<(String, String)>,
    query: web::Query<VariantQuery>,
) -> Result<HttpResponse, ApiError> {
    let (slug, name) = path.into_inner();
    let variant = Variant::parse(&name).ok_or(ApiError::NotFound("display size"))?;
    let (forced, webp) = negotiate(&req, &query)?;
    let msg = OpenVariant {
        slug,
        variant,
        format: forced.or(webp.then_some(Format::Webp)),
    };
    let image = state.photos.call(msg).await?;
    let mut res = image_response(&req, image);
    res.headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Accept"));
    Ok(res)
}

/// The format `?format=` forces, if any, and whether `Accept` takes WebP.
pub(super) fn negotiate(
    req: &HttpRequest,
    query: &VariantQuery,
) -> Result<(Option<Format>, bool), ApiError> {
    let forced = match query.format.as_deref() {
        Some("jpeg" | "jpg") => Some(Format::Jpeg),
        Some("png") => Some(Format::Png),
        Some("webp") => Some(Format::Webp),
        Some(_) => return Err(ApiError::validation("format", "must be jpeg, png or webp")),
        None => None,
    };
    Ok((forced, accepts_webp(req)))
}

/// `Accept` names `image/webp` without `q=0` (`*/*` alone does not: old clients
/// send it and may not read WebP).
fn accepts_webp(req: &HttpRequest) -> bool {
    req.headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|item| {
            let mut parts = item.split(';').map(str::trim);
            let kind = parts.next().unwrap_or("");
            let refused = parts.any(|p| {
                p.strip_prefix("q=")
                    .and_then(|q| q.parse::<f32>().ok())
                    .is_some_and(|q| q == 0.0)
            });
            kind.eq_ignore_ascii_case("image/webp") && !refused
        })
}
