//! One `ApiError`, rendered as RFC 9457 problem+json. Every layer's error converts into
//! it; the client gets a sentence and a stable type, the log gets the cause chain.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::actors::albums::{AlbumError, ShareError};
use crate::actors::comment_board::CommentError;
use crate::actors::erasure::EraseError;
use crate::actors::photo_store::{LinkError, PhotoError};
use crate::actors::queue_monitor::MonitorError;
use crate::actors::rating_ledger::RatingError;
use crate::actors::social::SocialError;
use crate::actors::transform_worker::RenderError;
use crate::actors::user_registry::UserError;
use crate::domain::FieldError;
use crate::media::ingest::IngestError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing, invalid, expired or revoked access token")]
    Unauthorized,
    #[error("wrong username or password")]
    InvalidCredentials,
    /// A share link's password is missing or wrong (401, code and sentence).
    #[error("{1}")]
    SharePassword(&'static str, &'static str),
    /// Stable code (`not-owner`, `banned` ...) and a sentence.
    #[error("{1}")]
    Forbidden(&'static str, &'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    /// Stable code (`username-taken`, `already-rated` ...) and a sentence.
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("one or more fields are invalid")]
    Validation(Vec<FieldError>),
    #[error("too many requests; retry in {0} s")]
    RateLimited(u64),
    /// 429 with our own sentence and `Retry-After`.
    #[error("{0}")]
    Throttled(String, u64),
    #[error("the request body did not arrive within {0} s")]
    RequestTimeout(u64),
    #[error("a service this request needs is unavailable; try again shortly")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    #[error("{0} is unreachable")]
    DependencyDown(&'static str),
    /// The resource exists but is not ready yet (503 with Retry-After).
    #[error("{0}")]
    NotReady(&'static str),
    /// The resource will never be available (410).
    #[error("{0}")]
    Gone(String),
    /// A status of its own (tus's 412, 423 and 460, a 429 without a rate), with a
    /// stable code and a sentence.
    #[error("{2}")]
    Protocol(u16, &'static str, String),
    /// The caller already uploaded this original: 409 naming their photo.
    #[error("you already uploaded this photo")]
    Duplicate(String),
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// problem+json body (RFC 9457).
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:photoshare:problem:validation-error", "title": "Unprocessable Entity",
    "status": 422, "detail": "one or more fields are invalid",
    "errors": [{"field": "stars", "message": "must be an integer 1..=5"}]
}))]
pub struct Problem {
    /// Stable URI naming the kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    /// A sentence for humans.
    pub detail: String,
    /// Present on validation errors: one entry per rejected field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
    /// Present on `duplicate-photo`: the caller's photo of this original.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo_id: Option<String>,
}

impl ApiError {
    pub fn validation(field: &str, message: impl Into<String>) -> Self {
        ApiError::Validation(vec![FieldError::new(field, message)])
    }

    /// Stable machine code, the last segment of the problem type.
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "bad-request",
            ApiError::Unauthorized => "unauthorized",
            ApiError::InvalidCredentials => "invalid-credentials",
            ApiError::SharePassword(code, _) => code,
            ApiError::Forbidden(code, _) => code,
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(code, _) => code,
            ApiError::PayloadTooLarge(_) => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Validation(_) => "validation-error",
            ApiError::RateLimited(_) => "rate-limited",
            ApiError::Throttled(..) => "too-many-pending",
            ApiError::RequestTimeout(_) => "request-timeout",
            ApiError::Unavailable(_) | ApiError::DependencyDown(_) => "service-unavailable",
            ApiError::NotReady(_) => "not-ready",
            ApiError::Gone(_) => "gone",
            ApiError::Duplicate(_) => "duplicate-photo",
            ApiError::Protocol(_, code, _) => code,
            ApiError::Internal(_) => "internal-error",
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        Problem {
            kind: format!("urn:photoshare:problem:{}", self.code()),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: self.to_string(),
            errors: match self {
                ApiError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
            photo_id: match self {
                ApiError::Duplicate(id) => Some(id.clone()),
                _ => None,
            },
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized | ApiError::InvalidCredentials | ApiError::SharePassword(..) => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::Forbidden(..) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::RateLimited(_) | ApiError::Throttled(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::Unavailable(_) | ApiError::DependencyDown(_) | ApiError::NotReady(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::Duplicate(_) => StatusCode::CONFLICT,
            ApiError::Protocol(status, ..) => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Unavailable(cause) | ApiError::Internal(cause) = self {
            tracing::error!(error = %error_chain(cause.as_ref()), code = self.code(), "request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        match self {
            ApiError::Unauthorized | ApiError::InvalidCredentials => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            ApiError::RateLimited(secs) | ApiError::Throttled(_, secs) => {
                response.insert_header((header::RETRY_AFTER, secs.to_string()));
            }
            ApiError::Protocol(429, ..) => {
                response.insert_header((header::RETRY_AFTER, "60"));
            }
            ApiError::Unavailable(_) | ApiError::DependencyDown(_) | ApiError::NotReady(_) => {
                response.insert_header((header::RETRY_AFTER, "2"));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

/// problem+json for an error actix-web rendered itself (an extractor or the payload
/// reader): same shape as ours; 5xx details are not passed on.
pub fn framework_problem(status: StatusCode, cause: &actix_web::Error) -> HttpResponse {
    // The framework's own wording can name Rust types or internals ("payload
    // reached EOF before completing: None"): the client gets our sentence, the log
    // gets theirs.
    let detail = match status.as_u16() {
        400 => "the request could not be read".to_owned(),
        404 => "not found".to_owned(),
        405 => "this method is not allowed on this resource".to_owned(),
        408 => "the request did not arrive in time".to_owned(),
        411 => "a Content-Length header is required".to_owned(),
        413 => format!(
            "the request body is larger than {} bytes",
            super::JSON_LIMIT
        ),
        414 => "the request URI is too long".to_owned(),
        415 => "this content type is not accepted here".to_owned(),
        431 => "the request headers are too large".to_owned(),
        _ => status.canonical_reason().unwrap_or("error").to_lowercase(),
    };
    if status.is_server_error() {
        tracing::error!(error = %cause, status = status.as_u16(), "request failed");
    } else {
        tracing::debug!(error = %cause, status = status.as_u16(), "request refused by the framework");
    }
    let problem = Problem {
        kind: format!("urn:photoshare:problem:http-{}", status.as_u16()),
        title: status.canonical_reason().unwrap_or("Error").to_owned(),
        status: status.as_u16(),
        detail,
        errors: None,
        photo_id: None,
    };
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "application/problem+json"))
        .body(serde_json::to_string(&problem).unwrap_or_default())
}

pub use crate::errors::error_chain;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(field) => taken(field),
            StoreError::NotFound => ApiError::NotFound("record"),
            StoreError::Unavailable(cause) => ApiError::Unavailable(cause),
        }
    }
}

/// 409 for a unique field someone else holds, with a code per field.
fn taken(field: &'static str) -> ApiError {
    let code = match field {
        "username" => "username-taken",
        "email" => "email-taken",
        _ => "conflict",
    };
    ApiError::Conflict(code, format!("{field} is already taken"))
}

/// An actor that did not answer: the service is not there right now.
fn actor_down(e: actix::MailboxError) -> ApiError {
    ApiError::Unavailable(Box::new(e))
}

impl From<UserError> for ApiError {
    fn from(e: UserError) -> Self {
        match e {
            UserError::InvalidCredentials => ApiError::InvalidCredentials,
            UserError::Unauthorized => ApiError::Unauthorized,
            UserError::Banned => ApiError::Forbidden("banned", "this account is banned"),
            UserError::NotFound => ApiError::NotFound("user"),
            UserError::Taken(field) => taken(field),
            UserError::SelfChange => ApiError::Conflict(
                "self-change",
                "an admin cannot ban or demote themself; ask another admin".into(),
            ),
            UserError::WrongCurrentPassword => {
                ApiError::validation("current_password", "is not the current password")
            }
            UserError::Store(e) => e.into(),
            UserError::Hash(e) => ApiError::Internal(Box::new(e)),
            UserError::Mailbox(e) => actor_down(e),
        }
    }
}

impl From<PhotoError> for ApiError {
    fn from(e: PhotoError) -> Self {
        match e {
            PhotoError::NotFound => ApiError::NotFound("photo"),
            PhotoError::Forbidden => ApiError::Forbidden(
                "not-owner",
                "only the owner or an admin may change this photo",
            ),
            PhotoError::Ingest(
                e @ (IngestError::TooManyPixels { .. } | IngestError::TooMuchMemory { .. }),
            ) => ApiError::PayloadTooLarge(e.to_string()),
            PhotoError::Ingest(e) => ApiError::UnsupportedMediaType(e.to_string()),
            PhotoError::Store(e) => e.into(),
            PhotoError::Media(crate::media::MediaError::Unavailable(cause)) => {
                ApiError::Unavailable(cause)
            }
            PhotoError::Processing(cause) => ApiError::Internal(cause),
            e @ PhotoError::Busy => ApiError::Throttled(e.to_string(), 60),
            PhotoError::Duplicate(id) => ApiError::Duplicate(id),
            PhotoError::Mailbox(e) => actor_down(e),
        }
    }
}

impl From<LinkError> for ApiError {
    fn from(e: LinkError) -> Self {
        match e {
            LinkError::NotFound(what) => ApiError::NotFound(what),
            LinkError::Forbidden => ApiError::Forbidden(
                "not-owner",
                "only the photo's owner or an admin may do this",
            ),
            LinkError::Invalid(e) => ApiError::validation("transformation", e.to_string()),
            LinkError::Pending => ApiError::NotReady("the transformed image is still being made"),
            LinkError::Failed(reason) => {
                ApiError::Gone(format!("the transformation failed: {reason}"))
            }
            LinkError::Store(e) => e.into(),
            LinkError::Media(crate::media::MediaError::Unavailable(cause)) => {
                ApiError::Unavailable(cause)
            }
            LinkError::Render(e) => e.into(),
            LinkError::Mailbox(e) => actor_down(e),
            e @ LinkError::TooManyPending(_) => ApiError::Throttled(e.to_string(), 5),
            e @ LinkError::NotFailed(_) => ApiError::Conflict("job-not-failed", e.to_string()),
        }
    }
}

impl From<RenderError> for ApiError {
    fn from(e: RenderError) -> Self {
        match e {
            RenderError::Mailbox(e) => actor_down(e),
            other => ApiError::Internal(Box::new(other)),
        }
    }
}

impl From<CommentError> for ApiError {
    fn from(e: CommentError) -> Self {
        match e {
            CommentError::PhotoNotFound => ApiError::NotFound("photo"),
            CommentError::NotFound => ApiError::NotFound("comment"),
            CommentError::NotAuthor => {
                ApiError::Forbidden("not-author", "only the author may edit a comment")
            }
            CommentError::Store(e) => e.into(),
            CommentError::Mailbox(e) => actor_down(e),
        }
    }
}

impl From<RatingError> for ApiError {
    fn from(e: RatingError) -> Self {
        match e {
            RatingError::PhotoNotFound => ApiError::NotFound("photo"),
            RatingError::NotFound => ApiError::NotFound("rating"),
            RatingError::OwnPhoto => {
                ApiError::Forbidden("own-photo", "you cannot rate your own photo")
            }
            RatingError::AlreadyRated => {
                ApiError::Conflict("already-rated", "you have already rated this photo".into())
            }
            RatingError::Store(e) => e.into(),
            RatingError::Mailbox(e) => actor_down(e),
        }
    }
}

impl From<AlbumError> for ApiError {
    fn from(e: AlbumError) -> Self {
        match e {
            AlbumError::NotFound => ApiError::NotFound("album"),
            AlbumError::UserNotFound => ApiError::NotFound("user"),
            AlbumError::NotOwner => ApiError::Forbidden(
                "not-owner",
                "only the album's owner (or an admin, for edits) may do this",
            ),
            AlbumError::NotYourPhoto => {
                ApiError::Forbidden("not-your-photo", "only your own photos go into your albums")
            }
            AlbumError::Invalid(field, why) => ApiError::validation(field, why),
            e @ AlbumError::Contended => ApiError::Conflict("album-busy", e.to_string()),
            AlbumError::Store(e) => e.into(),
            AlbumError::Hash(e) => ApiError::Internal(Box::new(e)),
            AlbumError::Mailbox(e) => actor_down(e),
        }
    }
}

impl From<ShareError> for ApiError {
    fn from(e: ShareError) -> Self {
        match e {
            ShareError::NotFound => ApiError::NotFound("share link"),
            e @ ShareError::Gone => ApiError::Gone(e.to_string()),
            ShareError::PasswordRequired => ApiError::SharePassword(
                "share-password-required",
                "this share link needs its password (X-Share-Password)",
            ),
            ShareError::WrongPassword => ApiError::SharePassword(
                "wrong-share-password",
                "wrong password for this share link",
            ),
            ShareError::Album(e) => e.into(),
        }
    }
}

impl From<EraseError> for ApiError {
    fn from(e: EraseError) -> Self {
        match e {
            EraseError::NotFound => ApiError::NotFound("user"),
            EraseError::WrongPassword => {
                ApiError::validation("password", "is not this account's password")
            }
            e @ EraseError::SelfDelete => ApiError::Conflict("self-change", e.to_string()),
            EraseError::Store(e) => e.into(),
            EraseError::Hash(e) => ApiError::Internal(Box::new(e)),
            e @ EraseError::Photo(_) => ApiError::Unavailable(Box::new(e)),
            EraseError::Mailbox(e) => actor_down(e),
        }
    }
}

impl From<SocialError> for ApiError {
    fn from(e: SocialError) -> Self {
        match e {
            SocialError::UserNotFound => ApiError::NotFound("user"),
            SocialError::SelfFollow => {
                ApiError::validation("username", "you cannot follow yourself")
            }
            SocialError::PhotoNotFound => ApiError::NotFound("photo"),
            SocialError::CommentNotFound => ApiError::NotFound("comment"),
            SocialError::ReportNotFound => ApiError::NotFound("report"),
            e @ SocialError::AlreadyReported => {
                ApiError::Conflict("already-reported", e.to_string())
            }
            e @ SocialError::AlreadyResolved => {
                ApiError::Conflict("report-resolved", e.to_string())
            }
            SocialError::Removal(cause) => ApiError::Unavailable(cause.into()),
            SocialError::Store(e) => e.into(),
            SocialError::Mailbox(e) => actor_down(e),
        }
    }
}

impl From<MonitorError> for ApiError {
    fn from(e: MonitorError) -> Self {
        match e {
            MonitorError::Down(what) => ApiError::DependencyDown(what),
            MonitorError::Mailbox(e) => actor_down(e),
            other => ApiError::Unavailable(Box::new(other)),
        }
    }
}
