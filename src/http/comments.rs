//! Comments: anyone signed in writes, the public reads (oldest first), the author
//! edits, moderators and admins delete.

use actix_web::http::header;
use actix_web::{delete, get, post, put, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::{ser_time, Page, PageQuery};
use super::error::{ApiError, Problem};
use super::extractors::{AuthUser, MaybeUser, ModeratorUser};
use super::json::Json;
use super::json::Validated;
use super::photos::Owner;
use super::AppState;
use crate::actors::comment_board::{AddComment, DeleteComment, EditComment, ListComments};
use crate::auth::Caller;
use crate::domain::CommentRecord;
use crate::domain::CommentText;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(add_comment)
        .service(list_comments)
        .service(edit_comment)
        .service(delete_comment);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentRequest {
    /// Trimmed, 1 to 2000 characters.
    #[schema(example = "Lovely light")]
    pub text: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "6b0ea31eda39323937709398", "photo_id": "6b0ea31bda39323937709392",
    "author": {"username": "bob"}, "text": "Lovely light",
    "created_at": "2026-11-26T14:25:02.310Z", "updated_at": "2026-11-26T14:25:02.310Z"
}))]
pub struct Comment {
    pub id: String,
    pub photo_id: String,
    pub author: Owner,
    pub text: String,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
    /// Equals `created_at` until the first edit.
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: DateTime<Utc>,
}

impl From<CommentRecord> for Comment {
    fn from(c: CommentRecord) -> Self {
        Comment {
            id: c.id,
            photo_id: c.photo_id,
            author: Owner {
                username: c.author_username,
            },
            text: c.text,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

fn text(body: CommentRequest) -> Result<CommentText, ApiError> {
    CommentText::parse(&body.text).map_err(|m| ApiError::validation("text", m))
}

/// Comment on a photo.
#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "photo id")),
    request_body = CommentRequest,
    responses(
        (status = 201, description = "Comment added", body = Comment, headers(("Location" = String, description = "`/api/comments/{id}`"))),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid text", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/photos/{id}/comments")]
async fn add_comment(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    photo_id: web::Path<String>,
    body: Json<CommentRequest>,
) -> Result<HttpResponse, ApiError> {
    let msg = AddComment {
        photo_id: photo_id.into_inner(),
        author: Caller::from(&principal),
        text: text(body.into_inner())?,
    };
    let comment = state.comments.call(msg).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/comments/{}", comment.id)))
        .json(Comment::from(comment)))
}

/// A photo's comments, oldest first.
#[utoipa::path(
    tag = "comments",
    params(("id" = String, Path, description = "photo id"), PageQuery),
    responses(
        (status = 200, body = Page<Comment>, headers(("ETag" = String))),
        (status = 304, description = "Unchanged: the `ETag` sent in `If-None-Match` still holds"),
        (status = 401, description = "A token was sent and is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "limit/offset out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/photos/{id}/comments")]
async fn list_comments(
    _: MaybeUser,
    state: web::Data<AppState>,
    photo_id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<Validated<Page<Comment>>, ApiError> {
    let (limit, offset) = query.bounds()?;
    let msg = ListComments {
        photo_id: photo_id.into_inner(),
        limit,
        offset,
    };
    let (comments, total) = state.comments.call(msg).await?;
    Ok(Validated(Page {
        items: comments.into_iter().map(Comment::from).collect(),
        total,
        limit,
        offset,
    }))
}

/// Edit a comment. Only its author may, whatever their role.
#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "comment id")),
    request_body = CommentRequest,
    responses(
        (status = 200, body = Comment),
        (status = 403, description = "Not the author", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid text", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/api/comments/{id}")]
async fn edit_comment(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
    body: Json<CommentRequest>,
) -> Result<web::Json<Comment>, ApiError> {
    let msg = EditComment {
        id: id.into_inner(),
        caller: Caller::from(&principal),
        text: text(body.into_inner())?,
    };
    let comment = state.comments.call(msg).await?;
    Ok(web::Json(comment.into()))
}

/// Delete a comment. Moderators and admins only (authors cannot).
#[utoipa::path(
    tag = "comments",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "comment id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not a moderator or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such comment", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/comments/{id}")]
async fn delete_comment(
    _: ModeratorUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .comments
        .call(DeleteComment {
            id: id.into_inner(),
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
