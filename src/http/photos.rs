//! /api/photos and /api/tags: upload, read, edit, delete, tag list.

use actix_multipart::{Field, Multipart, MultipartError};
use actix_web::http::header::CONTENT_LENGTH;
use actix_web::{delete, get, post, put, web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use utoipa::{IntoParams, ToSchema};

use super::dto::{ser_time, Page, PageQuery};
use super::error::{ApiError, Problem};
use super::extractors::{AuthUser, MaybeUser};
use super::json::Json;
use super::AppState;
use crate::actors::photo_store::{Caller, DeletePhoto, GetPhoto, ListTags, UpdatePhoto, Upload};
use crate::auth::Principal;
use crate::domain::{Description, TagName, Tags, Validator};
use crate::store::PhotoRecord;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(upload)
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
pub struct Photo {
    pub id: String,
    /// The photo's unique public link: `{public_url}/i/{slug}`.
    pub url: String,
    pub owner: Owner,
    pub description: String,
    pub tags: Vec<String>,
    pub width: u32,
    pub height: u32,
    /// `jpeg`, `png`, `webp` or `gif`.
    pub format: String,
    pub size_bytes: u64,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
    pub rating: RatingSummary,
    pub comment_count: u64,
}

impl Photo {
    pub fn new(p: PhotoRecord, public_url: &str) -> Self {
        let average = p.rating_average();
        Photo {
            url: format!("{public_url}/i/{}", p.slug),
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
            comment_count: p.comment_count,
        }
    }
}

impl From<&Principal> for Caller {
    fn from(p: &Principal) -> Self {
        Caller {
            id: p.user.id.clone(),
            username: p.user.username.clone(),
            role: p.user.role,
        }
    }
}

/// Multipart upload form, for the OpenAPI document.
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

/// Text fields are small; a longer one is refused without being read to its end.
const TEXT_FIELD_LIMIT: usize = 16 * 1024;

async fn read_text(field: &mut Field, name: &str) -> Result<String, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(multipart_error)?;
        if buf.len() + chunk.len() > TEXT_FIELD_LIMIT {
            return Err(ApiError::validation(name, "is too long"));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::validation(name, "must be UTF-8 text"))
}

fn multipart_error(e: MultipartError) -> ApiError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible
        | MultipartError::BoundaryMissing => {
            ApiError::UnsupportedMediaType("send the upload as multipart/form-data".into())
        }
        other => ApiError::BadRequest(format!("malformed multipart body: {other}")),
    }
}

/// The parts of an upload form as they arrived, not yet validated.
pub struct UploadParts {
    /// The spooled file (deleted when dropped).
    pub file: Option<tempfile::TempPath>,
    pub description: Option<String>,
    pub tags: Vec<String>,
}

/// Reads a multipart upload form: the `file` part is streamed into `spool_dir` and
/// refused as soon as it passes `max` bytes; text parts are small; any other or a
/// repeated part is a 422.
pub async fn read_form(
    payload: &mut Multipart,
    spool_dir: &std::path::Path,
    max: u64,
) -> Result<UploadParts, ApiError> {
    let too_large = || ApiError::PayloadTooLarge(format!("uploads are limited to {max} bytes"));
    let mut form = UploadParts {
        file: None,
        description: None,
        tags: Vec::new(),
    };
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "file" if form.file.is_none() => {
                let spool = tempfile::NamedTempFile::new_in(spool_dir)
                    .map_err(|e| ApiError::Internal(Box::new(e)))?;
                let (std_file, path) = spool.into_parts();
                let mut out = tokio::fs::File::from_std(std_file);
                let mut written = 0u64;
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(multipart_error)?;
                    written += chunk.len() as u64;
                    if written > max {
                        return Err(too_large());
                    }
                    out.write_all(&chunk)
                        .await
                        .map_err(|e| ApiError::Internal(Box::new(e)))?;
                }
                out.flush()
                    .await
                    .map_err(|e| ApiError::Internal(Box::new(e)))?;
                form.file = Some(path);
            }
            "description" if form.description.is_none() => {
                form.description = Some(read_text(&mut field, "description").await?);
            }
            "tags" => form.tags.push(read_text(&mut field, "tags").await?),
            other => {
                return Err(ApiError::validation(
                    other,
                    "unknown or repeated field; expected file, description, tags",
                ))
            }
        }
    }
    Ok(form)
}

/// Upload a photo. The body is streamed to a temporary file and reading stops as soon
/// as it passes the size limit.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = Photo),
        (status = 400, description = "Malformed multipart body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "File or pixel count over the limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JPEG, PNG, WebP or GIF", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid description or tags, or no file", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/photos")]
async fn upload(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    mut payload: Multipart,
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

    let form = read_form(&mut payload, &state.spool_dir, max).await?;
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
    Ok(HttpResponse::Created().json(Photo::new(photo, &state.public_url)))
}

/// One photo.
#[utoipa::path(
    tag = "photos",
    params(("id" = String, Path)),
    responses(
        (status = 200, body = Photo),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/photos/{id}")]
async fn get_photo(
    _: MaybeUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Photo>, ApiError> {
    let photo = state
        .photos
        .call(GetPhoto {
            id: id.into_inner(),
        })
        .await?;
    Ok(web::Json(Photo::new(photo, &state.public_url)))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
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
        (status = 400, description = "Malformed JSON", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
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
    Ok(web::Json(Photo::new(photo, &state.public_url)))
}

/// Delete the photo, its comments, ratings, transformations and files. Owner or admin.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"),
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
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
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
