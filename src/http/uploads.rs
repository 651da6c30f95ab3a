//! Resumable uploads: the tus 1.0.0 protocol (core, creation, termination,
//! checksum with sha1, expiration) under `/api/uploads`, for stock tus clients.
//! The handlers check the protocol's headers and stream a PATCH body into the
//! upload the `UploadDesk` lends them; the desk owns everything else.

use actix_web::http::header::{self, HeaderMap, HeaderValue};
use actix_web::middleware::DefaultHeaders;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::Engine;
use futures_util::StreamExt;
use sha1::{Digest, Sha1};
use utoipa::ToSchema;

use super::error::{ApiError, Problem};
use super::extractors::AuthUser;
use super::AppState;
use crate::actors::uploads::{
    BeginPatch, CancelUpload, CreateUpload, FinishUpload, UploadError, UploadRecord, UploadStatus,
};
use crate::auth::Caller;
use crate::domain::{Description, Tags, Validator};

const TUS_VERSION: &str = "1.0.0";
const EXTENSIONS: &str = "creation,termination,checksum,expiration";
const OFFSET_CONTENT_TYPE: &str = "application/offset+octet-stream";

pub fn routes(cfg: &mut web::ServiceConfig) {
    let tus = DefaultHeaders::new()
        .add(("Tus-Resumable", TUS_VERSION))
        .add(("Tus-Version", TUS_VERSION));
    cfg.service(
        web::scope("/api/uploads")
            .wrap(tus)
            .route(
                "",
                web::method(actix_web::http::Method::OPTIONS).to(options),
            )
            .route("", web::post().to(create))
            .route("/{id}", web::head().to(status))
            .route("/{id}", web::patch().to(append))
            .route("/{id}", web::delete().to(cancel)),
    );
}

/// A tus body: the next bytes of the file.
#[derive(ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct Chunk(Vec<u8>);

/// What the server supports (tus discovery).
///
/// The tus version, the extensions (creation, termination, checksum, expiration),
/// the largest upload in bytes and the checksum algorithm (sha1). Needs no token.
#[utoipa::path(
    options,
    path = "/api/uploads",
    tag = "uploads",
    security(()),
    responses(
        (status = 204, description = "The tus version, extensions, largest upload and checksum algorithm", headers(
            ("Tus-Resumable" = String), ("Tus-Version" = String), ("Tus-Extension" = String),
            ("Tus-Max-Size" = u64), ("Tus-Checksum-Algorithm" = String))),
    )
)]
pub async fn options(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::NoContent()
        .insert_header(("Tus-Extension", EXTENSIONS))
        .insert_header(("Tus-Max-Size", state.max_upload_bytes.to_string()))
        .insert_header(("Tus-Checksum-Algorithm", "sha1"))
        .finish()
}

/// Start a resumable upload (tus creation). `Upload-Metadata` carries `filename`,
/// and optionally `description` and `tags` (comma-separated), each base64 as tus
/// has it. Each account may have `media.max_unfinished_uploads` unfinished uploads
/// holding `media.max_unfinished_upload_bytes` at most; they expire after
/// `media.upload_ttl_seconds`. With local or Cloudinary media the bytes live on the
/// node that took them (route an upload's requests to one node); with media on S3
/// they live in the bucket and any node takes the next request.
#[utoipa::path(
    post,
    path = "/api/uploads",
    tag = "uploads",
    security(("bearer" = [])),
    params(
        ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
        ("Upload-Length" = u64, Header, description = "The file's size in bytes, at least 1"),
        ("Upload-Metadata" = Option<String>, Header, description = "`filename <base64>,description <base64>,tags <base64>`"),
    ),
    responses(
        (status = 201, description = "Created: send the bytes to `Location` with PATCH", headers(
            ("Location" = String, description = "The upload's URL"),
            ("Upload-Expires" = String, description = "When an unfinished upload is removed (HTTP date)"))),
        (status = 400, description = "A tus header is missing or malformed, or the length is deferred", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Another tus version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Longer than uploads may be, or than the account's unfinished uploads may hold", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid description or tags", body = Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many unfinished uploads", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let headers = req.headers();
    tus_version(headers)?;
    if headers.contains_key("upload-defer-length") || headers.contains_key("upload-concat") {
        return Err(ApiError::BadRequest(
            "deferred lengths and concatenation are not supported; send Upload-Length".into(),
        ));
    }
    let length = number(headers, "upload-length")?;
    if length == 0 {
        return Err(ApiError::BadRequest("an empty file is not a photo".into()));
    }
    let metadata = metadata(headers)?;
    let field = |key: &str| {
        metadata
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let mut v = Validator::new();
    let description = v.check(
        "description",
        Description::parse(field("description").unwrap_or_default()),
    );
    let tags: Vec<String> = field("tags")
        .map(|t| t.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    let tags = v.check("tags", Tags::parse(&tags));
    v.finish().map_err(ApiError::Validation)?;
    let msg = CreateUpload {
        owner: Caller::from(&principal),
        length,
        filename: field("filename")
            .unwrap_or("upload")
            .chars()
            .take(255)
            .collect(),
        description: description.expect("checked"),
        tags: tags.expect("checked"),
    };
    let record = state.uploads.call(msg).await?;
    let location = format!("{}/api/uploads/{}", state.urls.base(), record.id);
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .insert_header(expires(&record))
        .finish())
}

/// Where an upload is (tus HEAD): `Upload-Offset` is what the server has. Once
/// the photo is stored, `Photoshare-Photo-Id` names it; an upload with all its
/// bytes whose photo could not be stored yet (a dependency was down) is stored now.
#[utoipa::path(
    head,
    path = "/api/uploads/{id}",
    tag = "uploads",
    security(("bearer" = [])),
    params(("id" = String, Path), ("Tus-Resumable" = String, Header, description = "`1.0.0`")),
    responses(
        (status = 200, description = "The upload's offset and length", headers(
            ("Upload-Offset" = u64), ("Upload-Length" = u64), ("Upload-Expires" = String),
            ("Photoshare-Photo-Id" = String, description = "Once the photo is stored"))),
        (status = 400, description = "No `Tus-Resumable` header"),
        (status = 401, description = "No valid token"),
        (status = 404, description = "No such upload of yours (or it expired or was cancelled)"),
        (status = 412, description = "Another tus version"),
        (status = 503, description = "All bytes are in; the photo cannot be stored yet"),
    )
)]
pub async fn status(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    tus_version(req.headers())?;
    let (id, owner_id) = (id.into_inner(), principal.user.id.clone());
    let msg = UploadStatus {
        id: id.clone(),
        owner_id: owner_id.clone(),
    };
    let (mut record, offset) = state.uploads.call(msg).await?;
    if offset == record.length && record.photo_id.is_none() {
        let photo = state.uploads.call(FinishUpload { id, owner_id }).await?;
        record.photo_id = Some(photo);
    }
    let mut answer = HttpResponse::Ok();
    answer
        .insert_header(("Upload-Offset", offset.to_string()))
        .insert_header(("Upload-Length", record.length.to_string()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(expires(&record));
    if let Some(photo) = &record.photo_id {
        answer.insert_header(("Photoshare-Photo-Id", photo.as_str()));
    }
    Ok(answer.finish())
}

/// Append bytes at `Upload-Offset` (tus PATCH). With `Upload-Checksum: sha1
/// <base64>` the chunk is kept only if it matches (else 460); without one, a
/// connection cut halfway keeps what arrived, and HEAD says where to resume. The
/// PATCH that brings the last byte makes the photo, with every check of `POST
/// /api/photos`, and answers its id in `Photoshare-Photo-Id`.
#[utoipa::path(
    patch,
    path = "/api/uploads/{id}",
    tag = "uploads",
    security(("bearer" = [])),
    params(
        ("id" = String, Path),
        ("Tus-Resumable" = String, Header, description = "`1.0.0`"),
        ("Upload-Offset" = u64, Header, description = "Where these bytes go: the server's offset"),
        ("Upload-Checksum" = Option<String>, Header, description = "`sha1 <base64 digest of this chunk>`"),
    ),
    request_body(content = Chunk, content_type = "application/offset+octet-stream"),
    responses(
        (status = 204, description = "Appended", headers(
            ("Upload-Offset" = u64, description = "The new offset"),
            ("Upload-Expires" = String),
            ("Photoshare-Photo-Id" = String, description = "On the last chunk: the photo made of it"))),
        (status = 400, description = "A tus header is missing or malformed, or the body was cut", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such upload of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`Upload-Offset` is not the server's (HEAD tells it), the upload is complete, or the photo is a duplicate (`photo_id`)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Another tus version", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "More bytes than the upload's length, or the image's pixels over the limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not `application/offset+octet-stream`, or the file is not a JPEG, PNG, WebP or GIF", body = Problem, content_type = "application/problem+json"),
        (status = 423, description = "Another request is still writing to this upload after 5 s", body = Problem, content_type = "application/problem+json"),
        (status = 460, description = "The chunk does not match `Upload-Checksum`; nothing was kept", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "All bytes are in; the photo cannot be stored yet (HEAD later stores it)", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn append(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
    mut body: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let headers = req.headers();
    tus_version(headers)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if content_type.map(|t| t.split(';').next().unwrap_or("").trim()) != Some(OFFSET_CONTENT_TYPE) {
        return Err(ApiError::UnsupportedMediaType(format!(
            "send the bytes as {OFFSET_CONTENT_TYPE}"
        )));
    }
    let offset = number(headers, "upload-offset")?;
    let checksum = checksum(headers)?;
    let (id, owner_id) = (id.into_inner(), principal.user.id.clone());
    let msg = BeginPatch {
        id: id.clone(),
        owner_id: owner_id.clone(),
        offset,
    };
    let mut patch = match state.uploads.call(msg).await {
        // A retry of the last chunk after its answer was lost.
        Err(UploadError::Complete) => {
            let msg = UploadStatus { id, owner_id };
            let (record, _) = state.uploads.call(msg).await?;
            if offset != record.length {
                return Err(UploadError::Complete.into());
            }
            return Ok(appended(&record, record.length, record.photo_id.as_deref()));
        }
        other => other?,
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_long = || ApiError::PayloadTooLarge("more bytes than the upload's length".into());
    if declared.is_some_and(|n| n > patch.room()) {
        patch.abandon().await;
        return Err(too_long());
    }
    let mut hasher = checksum.as_ref().map(|_| Sha1::new());
    if hasher.is_some() {
        patch.all_or_nothing().await;
    }
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(e) => {
                // The client went away or stalled: what arrived stays (unless a
                // checksum needs all of it); HEAD tells the client where to resume.
                tracing::info!(upload = %id, error = %e, kept = patch.written, "upload chunk cut short");
                patch.abandon().await;
                return Err(ApiError::BadRequest(
                    "the request body was cut short".into(),
                ));
            }
        };
        if chunk.len() as u64 > patch.room() {
            patch.all_or_nothing().await;
            patch.abandon().await;
            return Err(too_long());
        }
        if let Some(h) = hasher.as_mut() {
            h.update(&chunk);
        }
        patch.write(chunk).await?;
    }
    if let (Some(h), Some(want)) = (hasher, checksum) {
        if h.finalize().as_slice() != want.as_slice() {
            patch.abandon().await;
            return Err(ApiError::Protocol(
                460,
                "checksum-mismatch",
                "the chunk does not match Upload-Checksum; nothing of it was kept".into(),
            ));
        }
    }
    let record = patch.record.clone();
    let offset = patch.commit().await?;
    if offset < record.length {
        return Ok(appended(&record, offset, None));
    }
    let photo = state.uploads.call(FinishUpload { id, owner_id }).await?;
    Ok(appended(&record, offset, Some(&photo)))
}

fn appended(record: &UploadRecord, offset: u64, photo: Option<&str>) -> HttpResponse {
    let mut answer = HttpResponse::NoContent();
    answer
        .insert_header(("Upload-Offset", offset.to_string()))
        .insert_header(expires(record));
    if let Some(photo) = photo {
        answer.insert_header(("Photoshare-Photo-Id", photo));
    }
    answer.finish()
}

/// Cancel an upload (tus termination): its bytes are removed at once.
#[utoipa::path(
    delete,
    path = "/api/uploads/{id}",
    tag = "uploads",
    security(("bearer" = [])),
    params(("id" = String, Path), ("Tus-Resumable" = String, Header, description = "`1.0.0`")),
    responses(
        (status = 204, description = "Cancelled; the upload is gone"),
        (status = 400, description = "No `Tus-Resumable` header", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such upload of yours", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Another tus version", body = Problem, content_type = "application/problem+json"),
        (status = 423, description = "A PATCH is still writing to it after 5 s", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn cancel(
    AuthUser(principal): AuthUser,
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    tus_version(req.headers())?;
    let msg = CancelUpload {
        id: id.into_inner(),
        owner_id: principal.user.id.clone(),
    };
    state.uploads.call(msg).await?;
    Ok(HttpResponse::NoContent().finish())
}

fn expires(record: &UploadRecord) -> (&'static str, String) {
    let when = record.expires_at.format("%a, %d %b %Y %H:%M:%S GMT");
    ("Upload-Expires", when.to_string())
}

/// Every tus request but OPTIONS names the version; another one is 412.
fn tus_version(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get("tus-resumable").map(HeaderValue::as_bytes) {
        Some(b"1.0.0") => Ok(()),
        Some(_) => Err(ApiError::Protocol(
            412,
            "tus-version",
            "this server speaks tus 1.0.0 (Tus-Version)".into(),
        )),
        None => Err(ApiError::BadRequest(
            "Tus-Resumable: 1.0.0 is required".into(),
        )),
    }
}

fn number(headers: &HeaderMap, name: &'static str) -> Result<u64, ApiError> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .ok_or_else(|| ApiError::BadRequest(format!("{name} must be a whole number of bytes")))
}

/// `Upload-Metadata`: `key base64value` pairs separated by commas; a key may come
/// without a value.
fn metadata(headers: &HeaderMap) -> Result<Vec<(String, String)>, ApiError> {
    let Some(raw) = headers.get("upload-metadata") else {
        return Ok(Vec::new());
    };
    let bad = || ApiError::BadRequest("Upload-Metadata must be `key base64value` pairs".into());
    let raw = raw.to_str().map_err(|_| bad())?;
    let mut pairs = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let mut parts = pair.split(' ');
        let key = parts.next().ok_or_else(bad)?;
        let value = match parts.next() {
            Some(v) => base64::engine::general_purpose::STANDARD
                .decode(v)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(bad)?,
            None => String::new(),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

/// `Upload-Checksum: sha1 <base64>`: the digest to match, if one was sent.
fn checksum(headers: &HeaderMap) -> Result<Option<Vec<u8>>, ApiError> {
    let Some(raw) = headers.get("upload-checksum") else {
        return Ok(None);
    };
    let bad = || ApiError::BadRequest("Upload-Checksum must be `sha1 <base64 digest>`".into());
    let (algorithm, digest) = raw
        .to_str()
        .ok()
        .and_then(|r| r.trim().split_once(' '))
        .ok_or_else(bad)?;
    if !algorithm.eq_ignore_ascii_case("sha1") {
        return Err(ApiError::BadRequest(format!(
            "checksum algorithm {algorithm} is not supported; use sha1"
        )));
    }
    let digest = base64::engine::general_purpose::STANDARD
        .decode(digest.trim())
        .ok()
        .filter(|d| d.len() == 20)
        .ok_or_else(bad)?;
    Ok(Some(digest))
}

impl From<UploadError> for ApiError {
    fn from(e: UploadError) -> Self {
        match e {
            UploadError::NotFound => ApiError::NotFound("upload"),
            e @ UploadError::Locked => ApiError::Protocol(423, "upload-locked", e.to_string()),
            e @ UploadError::OffsetMismatch(_) => {
                ApiError::Conflict("upload-offset-mismatch", e.to_string())
            }
            e @ UploadError::Complete => ApiError::Conflict("upload-complete", e.to_string()),
            e @ UploadError::TooMany(_) => {
                ApiError::Protocol(429, "too-many-uploads", e.to_string())
            }
            UploadError::TooLarge(message) => ApiError::PayloadTooLarge(message),
            UploadError::Photo(e) => e.into(),
            UploadError::Io(e) => ApiError::Internal(Box::new(e)),
            UploadError::Media(e) => ApiError::Unavailable(Box::new(e)),
            UploadError::Mailbox(e) => ApiError::Unavailable(Box::new(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderName;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn metadata_is_base64_pairs_and_a_key_may_have_no_value() {
        let h = headers(&[(
            "upload-metadata",
            "filename cGhvdG8uanBn,is_confidential, tags c2VhLHNreQ==",
        )]);
        let m = metadata(&h).unwrap();
        assert_eq!(m[0], ("filename".into(), "photo.jpg".into()));
        assert_eq!(m[1], ("is_confidential".into(), String::new()));
        assert_eq!(m[2], ("tags".into(), "sea,sky".into()));
        assert!(metadata(&headers(&[("upload-metadata", "filename ***")])).is_err());
        assert!(metadata(&headers(&[("upload-metadata", "a b c")])).is_err());
    }

    #[test]
    fn checksums_are_sha1_in_base64() {
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(b"abc"));
        let h = headers(&[("upload-checksum", &format!("sha1 {digest}"))]);
        assert_eq!(
            checksum(&h).unwrap().unwrap(),
            Sha1::digest(b"abc").to_vec()
        );
        assert!(checksum(&headers(&[("upload-checksum", "md5 AAAA")])).is_err());
        assert!(checksum(&headers(&[("upload-checksum", "sha1 AAAA")])).is_err());
        assert!(checksum(&headers(&[])).unwrap().is_none());
        assert!(matches!(
            tus_version(&headers(&[("tus-resumable", "0.2.2")])),
            Err(ApiError::Protocol(412, ..))
        ));
    }
}
