//! /api/photos and /api/tags: upload, read, edit, delete, tag list.

use std::collections::HashMap;

use actix_web::http::header::{self, CONTENT_LENGTH};
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::dto::{ser_time, Page, PageQuery};
use super::error::{ApiError, Problem};
use super::extractors::{AuthUser, MaybeUser};
use super::json::Json;
use super::json::Validated;
pub use super::multipart::{read_form, UploadBody, UploadParts};
use super::AppState;
use crate::actors::photo_store::{DeletePhoto, GetPhoto, ListTags, UpdatePhoto, Upload};
use crate::actors::rating_ledger::StarsBy;
use crate::auth::{Caller, Principal};
use crate::domain::{Camera, Exposure, Location, PhotoRecord, Placeholder, Role};
use crate::domain::{Description, PublicUrls, TagName, Tags, Validator};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(upload)
        .service(super::duplicates::check)
        .service(super::search::search_photos)
        .service(get_photo)
        .service(update_photo)
        .service(delete_photo)
        .service(list_tags);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Owner {
    pub username: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RatingSummary {
    /// Mean of all stars; null when there are none.
    pub average: Option<f64>,
    pub count: u64,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "6b0ea31bda39323937709392",
    "url": "https://photos.example.com/i/9c1d5e0b7a4f4b3e8d2a6c0f1e7b5a93",
    "owner": {"username": "ada_l"},
    "description": "Harbour at dusk",
    "tags": ["sea", "dusk"],
    "width": 4032, "height": 3024, "format": "jpeg", "size_bytes": 2481337,
    "created_at": "2026-11-26T14:21:17.042Z", "updated_at": "2026-11-26T14:21:17.042Z",
    "rating": {"average": 4.5, "count": 2},
    "my_rating": 5,
    "comment_count": 3,
    "taken_at": "2026-11-20T18:30:00-04:00",
    "camera": {"make": "Canon", "model": "Canon EOS 5D Mark IV"},
    "lens": "EF24-70mm f/2.8L II USM",
    "exposure": {"iso": 400, "f_number": 2.8, "exposure_time": "1/250", "focal_length_mm": 50.0},
    "location": {"lat": -33.856784, "lon": 151.215297},
    "placeholder": {"thumbhash": "1QcSHQRnh493V4dIh4eXh1h4kJUI", "color": "#6f7f8a"},
    "variants": {
        "thumb": "https://photos.example.com/v/9c1d5e0b7a4f4b3e8d2a6c0f1e7b5a93/thumb",
        "small": "https://photos.example.com/v/9c1d5e0b7a4f4b3e8d2a6c0f1e7b5a93/small",
        "medium": "https://photos.example.com/v/9c1d5e0b7a4f4b3e8d2a6c0f1e7b5a93/medium",
        "large": "https://photos.example.com/v/9c1d5e0b7a4f4b3e8d2a6c0f1e7b5a93/large"
    }
}))]
pub struct Photo {
    pub id: String,
    /// The photo's unique public link: `{public_url}/i/{slug}`.
    pub url: String,
    pub owner: Owner,
    pub description: String,
    pub tags: Vec<String>,
    pub width: u32,
    pub height: u32,
    /// Detected from the bytes at upload.
    #[schema(value_type = crate::media::ingest::Format)]
    pub format: String,
    pub size_bytes: u64,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
    pub rating: RatingSummary,
    /// The caller's own stars on this photo; null when they have not rated it or
    /// sent no token.
    #[schema(minimum = 1, maximum = 5, example = json!(null))]
    pub my_rating: Option<u8>,
    pub comment_count: u64,
    /// When the photo was taken, from the file's EXIF DateTimeOriginal with its
    /// offset (OffsetTimeOriginal); without an offset in the file, the camera's
    /// clock time is given as UTC. Null when the file did not say.
    #[serde(serialize_with = "ser_offset_time")]
    #[schema(value_type = Option<String>, format = DateTime, example = "2019-07-04T18:30:00-04:00")]
    pub taken_at: Option<DateTime<FixedOffset>>,
    pub camera: Option<Camera>,
    /// The lens model as the camera wrote it.
    #[schema(example = "EF24-70mm f/2.8L II USM")]
    pub lens: Option<String>,
    pub exposure: Option<Exposure>,
    /// Where it was taken, from the file's GPS position. Present only in answers
    /// to the owner, moderators and admins (null when the file had none); never
    /// in other answers, and never in any served file.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Location>, required = false)]
    pub location: Option<Option<Location>>,
    /// What to paint before the image arrives; null for photos uploaded before
    /// placeholders existed.
    pub placeholder: Option<Placeholder>,
    pub variants: Variants,
}

/// The display sizes, made on their first request (see `GET /v/{slug}/{name}`).
#[derive(Debug, Serialize, ToSchema)]
pub struct Variants {
    /// 256 x 256, cropped around what matters.
    pub thumb: String,
    /// At most 640 x 640.
    pub small: String,
    /// At most 1280 x 1280.
    pub medium: String,
    /// At most 2048 x 2048.
    pub large: String,
}

impl Variants {
    pub fn of(slug: &str, urls: &PublicUrls) -> Self {
        Variants {
            thumb: urls.variant(slug, "thumb"),
            small: urls.variant(slug, "small"),
            medium: urls.variant(slug, "medium"),
            large: urls.variant(slug, "large"),
        }
    }
}

fn ser_offset_time<S: serde::Serializer>(
    t: &Option<DateTime<FixedOffset>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
        None => s.serialize_none(),
    }
}

/// The owner, moderators and admins see where a photo was taken.
pub fn sees_location(caller: Option<&Principal>, photo: &PhotoRecord) -> bool {
    caller.is_some_and(|p| p.user.id == photo.owner_id || p.user.role != Role::User)
}

impl Photo {
    /// `location` is shown only when `with_location` (see [`sees_location`]).
    pub fn new(
        p: PhotoRecord,
        urls: &PublicUrls,
        my_rating: Option<u8>,
        with_location: bool,
    ) -> Self {
        let average = p.rating_average();
        let meta = p.meta;
        Photo {
            taken_at: meta.taken_at,
            camera: meta.camera,
            lens: meta.lens,
            exposure: meta.exposure,
            location: with_location.then_some(meta.location),
            placeholder: p.placeholder,
            variants: Variants::of(&p.slug, urls),
            url: urls.photo(&p.slug),
            id: p.id,
            owner: Owner {
                username: p.owner_username,
            },
            description: p.description,
            tags: p.tags,
            width: p.width,
            height: p.height,
            format: p.format,
            size_bytes: p.size_bytes,
            created_at: p.created_at,
            updated_at: p.updated_at,
            rating: RatingSummary {
                average,
                count: p.rating_count,
            },
            my_rating,
            comment_count: p.comment_count,
        }
    }
}

/// Photos as `caller` sees them: each with the caller's own stars (`my_rating`),
/// read in one query for the whole page (none when every photo is the caller's).
pub async fn photos_for(
    state: &AppState,
    caller: Option<&Principal>,
    records: Vec<PhotoRecord>,
) -> Result<Vec<Photo>, ApiError> {
    // Nobody rates their own photos: those need no lookup.
    let rateable = |p: &Principal| -> Vec<String> {
        records
            .iter()
            .filter(|r| r.owner_id != p.user.id)
            .map(|r| r.id.clone())
            .collect()
    };
    let mut stars = match caller.map(|p| (p, rateable(p))) {
        Some((p, photo_ids)) if !photo_ids.is_empty() => {
            let msg = StarsBy {
                user_id: p.user.id.clone(),
                photo_ids,
            };
            state.ratings.call(msg).await?
        }
        _ => HashMap::new(),
    };
    Ok(records
        .into_iter()
        .map(|r| {
            let mine = stars.remove(&r.id);
            let with_location = sees_location(caller, &r);
            Photo::new(r, &state.urls, mine, with_location)
        })
        .collect())
}

/// One photo as `caller` sees it.
async fn photo_for(
    state: &AppState,
    caller: Option<&Principal>,
    record: PhotoRecord,
) -> Result<Photo, ApiError> {
    let mut one = photos_for(state, caller, vec![record]).await?;
    Ok(one.pop().expect("one photo in, one out"))
}

/// A photo upload (`multipart/form-data`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// JPEG, PNG, WebP or GIF, detected from the bytes.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// At most 2000 characters.
    description: Option<String>,
    /// Repeated fields or one comma-separated field; at most 5.
    tags: Option<String>,
}

/// Upload a photo. The body is streamed to a temporary file and reading stops as soon
/// as it passes the size limit.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, description = "Photo stored", body = Photo, headers(("Location" = String, description = "`/api/photos/{id}`"))),
        (status = 400, description = "Malformed multipart body", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "File or pixel count over the limit", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "You already uploaded this file: `photo_id` in the problem names your photo", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JPEG, PNG, WebP or GIF", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid description or tags, or no file", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/photos")]
async fn upload(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let max = state.max_upload_bytes;
    let too_large = || ApiError::PayloadTooLarge(format!("uploads are limited to {max} bytes"));
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // The multipart framing adds a little; anything far beyond the limit is refused
    // before a byte of it is read.
    if declared.is_some_and(|n| n > max + 64 * 1024) {
        return Err(too_large());
    }

    let mut body = UploadBody::new(req.headers(), payload);
    let form = read_form(&mut body, &state.spool_dir, max).await?;
    let (file, description, tags) = (form.file, form.description, form.tags);
    let mut v = Validator::new();
    let description = v.check(
        "description",
        Description::parse(description.as_deref().unwrap_or_default()),
    );
    let tags = v.check("tags", Tags::parse(&tags));
    let file = v.check("file", file.ok_or_else(|| "is required".to_owned()));
    v.finish().map_err(ApiError::Validation)?;
    let msg = Upload {
        owner: Caller::from(&principal),
        file: file.expect("checked"),
        description: description.expect("checked"),
        tags: tags.expect("checked"),
    };
    let photo = state.photos.call(msg).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/photos/{}", photo.id)))
        .json(Photo::new(photo, &state.urls, None, true)))
}

/// One photo.
#[utoipa::path(
    tag = "photos",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Photo, headers(("ETag" = String))),
        (status = 304, description = "Unchanged: the `ETag` sent in `If-None-Match` still holds"),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/photos/{id}")]
async fn get_photo(
    caller: MaybeUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<Validated<Photo>, ApiError> {
    let photo = state
        .photos
        .call(GetPhoto {
            id: id.into_inner(),
        })
        .await?;
    Ok(Validated(
        photo_for(&state, caller.0.as_ref(), photo).await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"description": "Harbour at dusk, Porto", "tags": ["sea", "porto"]}))]
pub struct UpdatePhotoRequest {
    /// At most 2000 characters.
    pub description: String,
    /// Replaces the tags when present (at most 5).
    pub tags: Option<Vec<String>>,
}

/// Change the description and tags. Owner or admin.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = UpdatePhotoRequest,
    responses(
        (status = 200, body = Photo),
        (status = 403, description = "Not the owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/photos/{id}")]
async fn update_photo(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<UpdatePhotoRequest>,
) -> Result<web::Json<Photo>, ApiError> {
    let body = body.into_inner();
    let mut v = Validator::new();
    let description = v.check("description", Description::parse(&body.description));
    let tags = body.tags.map(|t| v.check("tags", Tags::parse(&t)));
    v.finish().map_err(ApiError::Validation)?;
    let msg = UpdatePhoto {
        id: id.into_inner(),
        caller: Caller::from(&principal),
        description: description.expect("checked"),
        tags: tags.flatten(),
    };
    let photo = state.photos.call(msg).await?;
    Ok(web::Json(photo_for(&state, Some(&principal), photo).await?))
}

/// Delete the photo, its comments, ratings, transformations and files. Owner or admin.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not the owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/photos/{id}")]
async fn delete_photo(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let msg = DeletePhoto {
        id: id.into_inner(),
        caller: Caller::from(&principal),
    };
    state.photos.call(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TagQuery {
    /// Only tags starting with this (case-insensitive).
    pub prefix: Option<String>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    pub limit: Option<i64>,
    #[param(minimum = 0, default = 0)]
    pub offset: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Tag {
    pub name: String,
    pub photo_count: u64,
}

/// Tags in use, by name, with how many photos carry each.
#[utoipa::path(
    tag = "photos",
    params(TagQuery),
    responses(
        (status = 200, body = Page<Tag>),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad prefix, limit or offset", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/tags")]
async fn list_tags(
    _: MaybeUser,
    state: web::Data<AppState>,
    query: web::Query<TagQuery>,
) -> Result<web::Json<Page<Tag>>, ApiError> {
    let query = query.into_inner();
    let (limit, offset) = PageQuery {
        limit: query.limit,
        offset: query.offset,
    }
    .bounds()?;
    let prefix = match query.prefix.as_deref().map(str::trim) {
        None | Some("") => String::new(),
        Some(p) => TagName::parse(p)
            .map_err(|_| {
                ApiError::validation(
                    "prefix",
                    "must be tag characters (letters, digits, '_', '-'), at most 32",
                )
            })?
            .as_ref()
            .to_owned(),
    };
    let (tags, total) = state
        .photos
        .call(ListTags {
            prefix,
            limit,
            offset,
        })
        .await?;
    Ok(web::Json(Page {
        items: tags
            .into_iter()
            .map(|t| Tag {
                name: t.name,
                photo_count: t.photo_count,
            })
            .collect(),
        total,
        limit,
        offset,
    }))
}
