//! POST /api/photos/check: which files the caller already uploaded, by the SHA-256
//! of each file exactly as a client would send it, so an uploader can skip them
//! before sending a byte. Uploading one anyway is a 409 naming the photo.

use actix_web::{post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::extractors::AuthUser;
use super::json::Json;
use super::AppState;
use crate::actors::photo_store::CheckOriginals;

/// Most hashes one check takes.
const MAX_HASHES: usize = 1000;

/// A body of 1000 digests is about 67 KB: this route takes twice the usual 64 KiB.
const CHECK_LIMIT: usize = 128 * 1024;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"sha256": ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]}))]
pub struct CheckRequest {
    /// Hex SHA-256 of each file as it would be uploaded (1 to 1000; either case).
    pub sha256: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Existing {
    pub sha256: String,
    pub photo_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({"existing": [{"sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "photo_id": "6b0ea31bda39323937709392"}]}))]
pub struct CheckAnswer {
    /// The files you already uploaded, with your photo of each; the others are new.
    pub existing: Vec<Existing>,
}

/// Which of these files (by SHA-256) you already uploaded.
#[utoipa::path(
    tag = "photos",
    security(("bearer" = [])),
    request_body = CheckRequest,
    responses(
        (status = 200, body = CheckAnswer),
        (status = 422, description = "Not 1 to 1000 hex SHA-256 digests", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/api/photos/check")]
pub async fn check(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    body: Json<CheckRequest, CHECK_LIMIT>,
) -> Result<web::Json<CheckAnswer>, ApiError> {
    let hashes = body.into_inner().sha256;
    if hashes.is_empty() || hashes.len() > MAX_HASHES {
        return Err(ApiError::validation(
            "sha256",
            "must hold 1 to 1000 digests",
        ));
    }
    let mut sha256: Vec<String> = Vec::with_capacity(hashes.len());
    for h in hashes {
        if h.len() != 64 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ApiError::validation(
                "sha256",
                "each must be 64 hexadecimal digits",
            ));
        }
        sha256.push(h.to_ascii_lowercase());
    }
    sha256.sort();
    sha256.dedup();
    let msg = CheckOriginals {
        owner_id: principal.user.id.clone(),
        sha256,
    };
    let found = state.photos.call(msg).await?;
    Ok(web::Json(CheckAnswer {
        existing: found
            .into_iter()
            .map(|(sha256, photo_id)| Existing { sha256, photo_id })
            .collect(),
    }))
}
