//! Ratings: 1 to 5 stars, one per user per photo, never one's own; moderators and
//! admins list and delete.

use actix_web::http::header;
use actix_web::{delete, get, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::{ser_time, Page, PageQuery};
use super::error::{ApiError, Problem};
use super::extractors::{AuthUser, ModeratorUser};
use super::json::Json;
use super::photos::Owner;
use super::AppState;
use crate::actors::rating_ledger::{DeleteRating, ListRatings, Rate};
use crate::auth::Caller;
use crate::domain::RatingRecord;
use crate::domain::Stars;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(rate)
        .service(list_ratings)
        .service(delete_rating);
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// An integer 1..=5.
    #[schema(value_type = u8, minimum = 1, maximum = 5, example = 5)]
    pub stars: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "id": "6b0ea31eda39323937709399", "photo_id": "6b0ea31bda39323937709392",
    "user": {"username": "bob"}, "stars": 5, "created_at": "2026-11-26T14:25:09.001Z"
}))]
pub struct Rating {
    pub id: String,
    pub photo_id: String,
    pub user: Owner,
    pub stars: u8,
    #[serde(serialize_with = "ser_time")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: DateTime<Utc>,
}

impl From<RatingRecord> for Rating {
    fn from(r: RatingRecord) -> Self {
        Rating {
            id: r.id,
            photo_id: r.photo_id,
            user: Owner {
                username: r.username,
            },
            stars: r.stars,
            created_at: r.created_at,
        }
    }
}

/// Rate a photo. Not one's own; once per photo.
#[utoipa::path(
    tag = "ratings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "photo id")),
    request_body = RatingRequest,
    responses(
        (status = 201, description = "Rating recorded", body = Rating, headers(("Location" = String, description = "`/api/ratings/{id}`"))),
        (status = 403, description = "Own photo", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already rated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "stars not an integer 1..=5", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/photos/{id}/ratings")]
async fn rate(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    photo_id: web::Path<String>,
    body: Json<RatingRequest>,
) -> Result<HttpResponse, ApiError> {
    let stars = Stars::parse(&body.stars).map_err(|m| ApiError::validation("stars", m))?;
    let msg = Rate {
        photo_id: photo_id.into_inner(),
        caller: Caller::from(&principal),
        stars,
    };
    let rating = state.ratings.call(msg).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/ratings/{}", rating.id)))
        .json(Rating::from(rating)))
}

/// A photo's ratings, oldest first. Moderators and admins.
#[utoipa::path(
    tag = "ratings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "photo id"), PageQuery),
    responses(
        (status = 200, body = Page<Rating>),
        (status = 403, description = "Not a moderator or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such photo", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "limit/offset out of range", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/photos/{id}/ratings")]
async fn list_ratings(
    _: ModeratorUser,
    state: web::Data<AppState>,
    photo_id: web::Path<String>,
    query: web::Query<PageQuery>,
) -> Result<web::Json<Page<Rating>>, ApiError> {
    let (limit, offset) = query.bounds()?;
    let msg = ListRatings {
        photo_id: photo_id.into_inner(),
        limit,
        offset,
    };
    let (ratings, total) = state.ratings.call(msg).await?;
    Ok(web::Json(Page {
        items: ratings.into_iter().map(Rating::from).collect(),
        total,
        limit,
        offset,
    }))
}

/// Delete a rating; the photo's average follows at once. Moderators and admins.
#[utoipa::path(
    tag = "ratings",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "rating id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not a moderator or admin", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such rating", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/api/ratings/{id}")]
async fn delete_rating(
    _: ModeratorUser,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    state
        .ratings
        .call(DeleteRating {
            id: id.into_inner(),
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
