//! Signed on-the-fly delivery: `/x/s--SIG--/{transformation}/{slug}` serves any
//! transformation the photo's owner handed a URL out for
//! (`POST /api/photos/{id}/delivery-urls`), made on the first request and kept,
//! with the caching and `Accept` rules of the display sizes.

use actix_web::http::header;
use actix_web::{post, route, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::extractors::AuthUser;
use super::json::Json;
use super::public::image_response;
use super::variants::{negotiate, VariantQuery};
use super::AppState;
use crate::actors::photo_store::{OpenDelivered, PlanDelivery};
use crate::auth::Caller;
use crate::domain::{ParseError, Transformation};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create_delivery_url).service(delivered);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryUrlRequest {
    /// Any transformation in Cloudinary syntax, e.g. `c_fill,w_400,h_300/e_grayscale`.
    #[schema(example = "c_fill,w_400,h_300/e_grayscale")]
    pub transformation: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "url": "https://photos.example.com/x/s--Xq3vR0b5c2Lk9mZa--/c_fill,h_300,w_400/e_grayscale/846142734a01a5537d60adcda8c1584d"
}))]
pub struct DeliveryUrl {
    /// `{public_url}/x/s--SIG--/{canonical transformation}/{slug}`: public, made
    /// when first fetched, then kept.
    pub url: String,
}

/// A signed URL that serves the photo with any transformation.
///
/// Nothing is made now: the image is made when the URL is first fetched, then
/// kept. The transformation's size and cost are checked here, so a URL handed
/// out can be made. The URL carries the transformation in canonical form.
#[utoipa::path(
    tag = "transformations",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "photo id")),
    request_body = DeliveryUrlRequest,
    responses(
        (status = 200, body = DeliveryUrl),
        (status = 403, description = "Not the photo's owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Unsupported parameter, value out of range or output too large; the message names the parameter", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/photos/{id}/delivery-urls")]
async fn create_delivery_url(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<DeliveryUrlRequest>,
) -> Result<web::Json<DeliveryUrl>, ApiError> {
    let transformation: Transformation = body
        .into_inner()
        .transformation
        .parse()
        .map_err(|e: ParseError| ApiError::validation("transformation", e.to_string()))?;
    let canonical = transformation.to_string();
    let msg = PlanDelivery {
        photo_id: id.into_inner(),
        caller: Caller::from(&principal),
        transformation,
    };
    let slug = state.photos.call(msg).await?;
    let signature = state.delivery.sign(&canonical, &slug);
    Ok(web::Json(DeliveryUrl {
        url: state.urls.delivery(&signature, &canonical, &slug),
    }))
}

/// The photo with a transformation, from a signed URL.
///
/// `transformation` is any v1 transformation and may span several path
/// segments (its steps are separated by `/`). Made on the first request and kept;
/// concurrent first requests make it once. The format is `?format=` if given,
/// else the transformation's `f_` (other than `f_auto`), else WebP when `Accept`
/// takes `image/webp`, else JPEG, or PNG for photos with transparent parts.
/// Strong `ETag` (one per format), immutable caching, `Vary: Accept`, 304,
/// HEAD. A valid signature on a non-canonical spelling is redirected (301) to
/// the canonical URL.
#[utoipa::path(
    get,
    tag = "public",
    path = "/x/{signature}/{transformation}/{slug}",
    params(
        ("signature" = String, Path, description = "`s--` + 16 characters + `--`"),
        ("transformation" = String, Path, description = "Cloudinary syntax; steps separated by `/`"),
        ("slug" = String, Path),
        VariantQuery,
    ),
    responses(
        (status = 200, description = "The transformed image",
            content(("image/jpeg"), ("image/png"), ("image/webp"), ("image/gif")),
            headers(("ETag" = String), ("Vary" = String), ("Cache-Control" = String))),
        (status = 301, description = "The canonical URL of this transformation", headers(("Location" = String))),
        (status = 302, description = "Redirect to the CDN (Cloudinary media backend)"),
        (status = 304, description = "If-None-Match matched"),
        (status = 403, description = "Missing or wrong signature", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown or deleted photo", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A format that is not offered, or a transformation this photo cannot take", body = Problem, content_type = "application/problem+json"),
    )
)]
#[route("/x/{tail:.*}", method = "GET", method = "HEAD")]
async fn delivered(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<VariantQuery>,
) -> Result<HttpResponse, ApiError> {
    // Read from the match, not a `Path` extractor: the document names the three
    // parts of the path, not the route's catch-all.
    let tail = req.match_info().get("tail").unwrap_or_default().to_owned();
    let refused = ApiError::Forbidden("bad-signature", "this URL's signature is missing or wrong");
    let Some((signature, rest)) = tail.split_once('/') else {
        return Err(refused);
    };
    let Some((raw, slug)) = rest.rsplit_once('/') else {
        return Err(refused);
    };
    let Ok(transformation) = raw.parse::<Transformation>() else {
        return Err(refused);
    };
    let canonical = transformation.to_string();
    if !state.delivery.verify(signature, &canonical, slug) {
        return Err(refused);
    }
    if raw != canonical {
        let mut location = state.urls.delivery(signature, &canonical, slug);
        if !req.query_string().is_empty() {
            location = format!("{location}?{}", req.query_string());
        }
        return Ok(HttpResponse::MovedPermanently()
            .insert_header((header::LOCATION, location))
            .finish());
    }
    let (forced, webp) = negotiate(&req, &query)?;
    let msg = OpenDelivered {
        slug: slug.to_owned(),
        transformation,
        forced,
        webp,
    };
    let image = state.photos.call(msg).await?;
    let mut res = image_response(&req, image);
    res.headers_mut()
        .insert(header::VARY, header::HeaderValue::from_static("Accept"));
    Ok(res)
}
