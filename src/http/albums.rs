//! /api/albums: an owner's ordered selections of their photos.

use actix_web::http::header;
use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::{double_option, ser_time, Page, PageQuery};
use super::error::{ApiError, Problem};
use super::extractors::{AuthUser, MaybeUser};
use super::json::{Json, Validated};
use super::photos::{photos_for, Owner, Photo};
use super::AppState;
use crate::actors::albums::{
    AlbumPatch, AlbumView, ChangePhotos, CreateAlbum, DeleteAlbum, EditAlbum, GetAlbum, ListAlbums,
    PhotoChange,
};
use crate::auth::{Caller, Principal};
use crate::domain::{AlbumTitle, Description, Validator, Visibility};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(create_album)
        .service(get_album)
        .service(edit_album)
        .service(delete_album)
        .service(add_photos)
        .service(remove_photo)
        .service(order_photos)
        .service(user_albums);
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Album {
    pub id: String,
    pub owner: Owner,
    pub title: String,
    pub description: Option<String>,
    pub visibility: Visibility,
    /// The chosen cover, else the first photo; null for an empty album.
    pub cover: Option<Photo>,
    pub photo_count: u64,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
    /// A page of the album's photos in album order (`?limit&offset` on GET; the
    /// first 20 after a change); absent in lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photos: Option<Page<Photo>>,
}

/// Albums as `caller` sees them, with one `my_rating` lookup for every photo they
/// show (covers and pages together).
async fn albums(
    state: &AppState,
    caller: Option<&Principal>,
    views: Vec<AlbumView>,
) -> Result<Vec<Album>, ApiError> {
    let mut records = Vec::new();
    let mut parts = Vec::with_capacity(views.len());
    for AlbumView { album, cover, page } in views {
        let has_cover = cover.is_some();
        records.extend(cover);
        let page = page.map(|(photos, limit, offset)| {
            let shown = photos.len();
            records.extend(photos);
            (shown, limit, offset)
        });
        parts.push((album, has_cover, page));
    }
    let mut shown = photos_for(state, caller, records).await?.into_iter();
    let mut out = Vec::with_capacity(parts.len());
    for (album, has_cover, page) in parts {
        let cover = if has_cover { shown.next() } else { None };
        let photos = page.map(|(n, limit, offset)| Page {
            items: shown.by_ref().take(n).collect(),
            total: album.photo_ids.len() as u64,
            limit,
            offset,
        });
        out.push(Album {
            photo_count: album.photo_ids.len() as u64,
            id: album.id,
            owner: Owner {
                username: album.owner_username,
            },
            title: album.title,
            description: album.description,
            visibility: album.visibility,
            cover,
            created_at: album.created_at,
            updated_at: album.updated_at,
            photos,
        });
    }
    Ok(out)
}

pub(super) async fn album(
    state: &AppState,
    caller: Option<&Principal>,
    view: AlbumView,
) -> Result<Album, ApiError> {
    let mut one = albums(state, caller, vec![view]).await?;
    Ok(one.pop().expect("one album in, one out"))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"title": "Porto, May", "description": "Three days by the river"}))]
pub struct CreateAlbumRequest {
    /// 1 to 120 characters.
    pub title: String,
    /// At most 2000 characters.
    pub description: Option<String>,
}

/// Create an album (private until you make it public).
#[utoipa::path(
    tag = "albums",
    security(("bearer" = [])),
    request_body = CreateAlbumRequest,
    responses(
        (status = 201, description = "Created", body = Album, headers(("Location" = String, description = "`/api/albums/{id}`"))),
        (status = 422, description = "Invalid title or description", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/albums")]
async fn create_album(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    body: Json<CreateAlbumRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let mut v = Validator::new();
    let title = v.check("title", AlbumTitle::parse(&body.title));
    let description = body
        .description
        .map(|d| v.check("description", Description::parse(&d)));
    v.finish().map_err(ApiError::Validation)?;
    let msg = CreateAlbum {
        caller: Caller::from(&principal),
        title: title.expect("checked"),
        description: description.flatten(),
    };
    let view = state.albums.call(msg).await?;
    let body = album(&state, Some(&principal), view).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/albums/{}", body.id)))
        .json(body))
}

/// An album with a page of its photos. Private albums are 404 to everyone but the
/// owner and admins.
#[utoipa::path(
    tag = "albums",
    params(("id" = String, Path), PageQuery),
    responses(
        (status = 200, body = Album, headers(("ETag" = String))),
        (status = 304, description = "Unchanged: the `ETag` sent in `If-None-Match` still holds"),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such album, or a private one", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/albums/{id}")]
async fn get_album(
    caller: MaybeUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<Validated<Album>, ApiError> {
    let (limit, offset) = query.bounds()?;
    let msg = GetAlbum {
        id: id.into_inner(),
        caller: caller.0.as_ref().map(Caller::from),
        limit,
        offset,
    };
    let view = state.albums.call(msg).await?;
    Ok(Validated(album(&state, caller.0.as_ref(), view).await?))
}

/// `null` clears `description` or `cover_photo_id`; absent fields stay.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"visibility": "public", "cover_photo_id": "6b0ea31bda39323937709392"}))]
pub struct EditAlbumRequest {
    pub title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    pub visibility: Option<Visibility>,
    /// A photo of this album.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub cover_photo_id: Option<Option<String>>,
}

/// Edit an album. Owner or admin.
#[utoipa::path(
    tag = "albums",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = EditAlbumRequest,
    responses(
        (status = 200, body = Album),
        (status = 403, description = "Not the owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such album, or a private one", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or a cover that is not in the album", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/api/albums/{id}")]
async fn edit_album(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<EditAlbumRequest>,
) -> Result<web::Json<Album>, ApiError> {
    let body = body.into_inner();
    let mut v = Validator::new();
    let title = body.title.map(|t| v.check("title", AlbumTitle::parse(&t)));
    let description = body
        .description
        .map(|d| d.and_then(|d| v.check("description", Description::parse(&d))));
    v.finish().map_err(ApiError::Validation)?;
    let patch = AlbumPatch {
        title: title.flatten(),
        description,
        visibility: body.visibility,
        cover_photo_id: body.cover_photo_id,
    };
    let msg = EditAlbum {
        id: id.into_inner(),
        caller: Caller::from(&principal),
        patch,
    };
    let view = state.albums.call(msg).await?;
    Ok(web::Json(album(&state, Some(&principal), view).await?))
}

/// Delete an album; its photos stay. Owner or admin.
#[utoipa::path(
    tag = "albums",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not the owner or an admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such album, or a private one", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/albums/{id}")]
async fn delete_album(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let msg = DeleteAlbum {
        id: id.into_inner(),
        caller: Caller::from(&principal),
    };
    state.albums.call(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"photo_ids": ["6b0ea31bda39323937709392"]}))]
pub struct PhotoIdsRequest {
    pub photo_ids: Vec<String>,
}

async fn change(
    state: &AppState,
    principal: &Principal,
    id: String,
    change: PhotoChange,
) -> Result<web::Json<Album>, ApiError> {
    let msg = ChangePhotos {
        id,
        caller: Caller::from(principal),
        change,
    };
    let view = state.albums.call(msg).await?;
    Ok(web::Json(album(state, Some(principal), view).await?))
}

/// Add photos (yours only; at most 100 at a time; one already in the album stays
/// where it is). Owner only.
#[utoipa::path(
    tag = "albums",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = PhotoIdsRequest,
    responses(
        (status = 200, body = Album),
        (status = 403, description = "Not the owner, or a photo that is not yours", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such album, or a private one", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "No ids, more than 100, or an album that would pass its limit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/albums/{id}/photos")]
async fn add_photos(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<PhotoIdsRequest>,
) -> Result<web::Json<Album>, ApiError> {
    let ids = body.into_inner().photo_ids;
    if ids.is_empty() || ids.len() > 100 {
        return Err(ApiError::validation(
            "photo_ids",
            "must hold 1 to 100 photo ids",
        ));
    }
    change(&state, &principal, id.into_inner(), PhotoChange::Add(ids)).await
}

/// Take a photo out of the album (the photo stays). Owner only.
#[utoipa::path(
    tag = "albums",
    security(("bearer" = [])),
    params(("id" = String, Path), ("photo_id" = String, Path)),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such album, or the photo is not in it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/albums/{id}/photos/{photo_id}")]
async fn remove_photo(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, photo_id) = path.into_inner();
    change(&state, &principal, id, PhotoChange::Remove(photo_id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Put the album's photos in this order (every photo of the album, once). Owner only.
#[utoipa::path(
    tag = "albums",
    security(("bearer" = [])),
    params(("id" = String, Path)),
    request_body = PhotoIdsRequest,
    responses(
        (status = 200, body = Album),
        (status = 403, description = "Not the owner", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such album, or a private one", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not a permutation of the album's photos", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/albums/{id}/order")]
async fn order_photos(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<PhotoIdsRequest>,
) -> Result<web::Json<Album>, ApiError> {
    let ids = body.into_inner().photo_ids;
    change(&state, &principal, id.into_inner(), PhotoChange::Order(ids)).await
}

/// A user's albums, newest first: public ones, and private ones too for the owner
/// and admins.
#[utoipa::path(
    tag = "albums",
    params(("username" = String, Path), PageQuery),
    responses(
        (status = 200, body = Page<Album>),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such user", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/users/{username}/albums")]
async fn user_albums(
    caller: MaybeUser,
    state: web::Data<AppState>,
    username: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Album>>, ApiError> {
    let (limit, offset) = query.bounds()?;
    let msg = ListAlbums {
        username: username.into_inner(),
        caller: caller.0.as_ref().map(Caller::from),
        limit,
        offset,
    };
    let (views, total) = state.albums.call(msg).await?;
    Ok(web::Json(Page {
        items: albums(&state, caller.0.as_ref(), views).await?,
        total,
        limit,
        offset,
    }))
}
