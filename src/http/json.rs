//! The JSON body extractor every route uses: a size limit, `application/json` (or
//! `+json`) required, and errors that name the field at fault — including mistyped
//! values, which serde's own message does not name (`{"text": 5}` -> field `text`).

use actix_web::dev::Payload;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use super::JSON_LIMIT;

/// A JSON body of at most `LIMIT` bytes (64 KiB unless a route needs more).
pub struct Json<T, const LIMIT: usize = JSON_LIMIT>(pub T);

impl<T, const LIMIT: usize> Json<T, LIMIT> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T, const LIMIT: usize> std::ops::Deref for Json<T, LIMIT> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<T: DeserializeOwned + 'static, const LIMIT: usize> FromRequest for Json<T, LIMIT> {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        let declared = req
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        let mut payload = payload.take();
        Box::pin(async move {
            if !json {
                return Err(ApiError::UnsupportedMediaType(
                    "send the body as application/json".into(),
                ));
            }
            let too_large =
                || ApiError::PayloadTooLarge(format!("JSON bodies are limited to {LIMIT} bytes"));
            if declared.is_some_and(|n| n > LIMIT) {
                return Err(too_large());
            }
            // Counted as it arrives, whatever the transfer encoding says.
            let mut body = actix_web::web::BytesMut::new();
            while let Some(chunk) = futures_util::StreamExt::next(&mut payload).await {
                let chunk = chunk
                    .map_err(|_| ApiError::BadRequest("request body could not be read".into()))?;
                if body.len() + chunk.len() > LIMIT {
                    return Err(too_large());
                }
                body.extend_from_slice(&chunk);
            }
            parse(&body).map(Json)
        })
    }
}

/// Parses JSON: malformed -> 400; well-formed with the wrong shape (unknown, missing
/// or mistyped fields) -> 422 naming the field.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.classify() != serde_json::error::Category::Data {
            return ApiError::BadRequest("request body is not valid JSON".into());
        }
        let message = inner.to_string();
        let message = plain(message.split(" at line ").next().unwrap_or("invalid value"));
        let message = message.as_str();
        // Unknown and missing fields are named in the message, inside the struct at
        // `path`; any other error is about the value at `path` itself.
        let named = (message.starts_with("unknown field") || message.starts_with("missing field"))
            .then(|| message.split('`').nth(1))
            .flatten();
        // The path ends at an unknown field already; a missing one is named only in
        // the message, below the struct the path points at.
        let field = match (named, path.as_str()) {
            (Some(name), ".") => name.to_owned(),
            (Some(name), at) if at == name || at.ends_with(&format!(".{name}")) => at.to_owned(),
            (Some(name), parent) => format!("{parent}.{name}"),
            (None, ".") => "body".to_owned(),
            (None, at) => at.to_owned(),
        };
        ApiError::validation(&field, message)
    })?;
    de.end()
        .map_err(|_| ApiError::BadRequest("request body is not valid JSON".into()))?;
    Ok(value)
}

/// serde's wording, without the names of our Rust types: "expected struct
/// LoginRequest" becomes "expected a JSON object".
fn plain(message: &str) -> String {
    for (marker, plain) in [
        ("expected struct ", "expected a JSON object"),
        ("expected enum ", "expected one of the allowed values"),
        ("expected tuple struct ", "expected a value"),
        ("expected unit struct ", "expected a value"),
    ] {
        if let Some(at) = message.find(marker) {
            return format!("{}{plain}", &message[..at]);
        }
    }
    message.to_owned()
}

/// A JSON answer with a validator: a strong `ETag` (a hash of the body), `304 Not
/// Modified` when the client's `If-None-Match` has it, and `Cache-Control: private,
/// no-cache` (kept, but checked each time; never shared, as an answer may depend on
/// the caller). For single resources: a photo, a comment page, a profile, a link.
pub struct Validated<T>(pub T);

impl<T: serde::Serialize> actix_web::Responder for Validated<T> {
    type Body = actix_web::body::BoxBody;

    fn respond_to(self, req: &HttpRequest) -> actix_web::HttpResponse {
        use actix_web::http::header;
        use sha2::Digest;
        let body = match serde_json::to_vec(&self.0) {
            Ok(body) => body,
            Err(e) => {
                tracing::error!(error = %e, "answer not serialisable");
                return actix_web::HttpResponse::InternalServerError().finish();
            }
        };
        let etag = format!("\"{}\"", hex::encode(&sha2::Sha256::digest(&body)[..16]));
        let fresh = req
            .headers()
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(',')
                    .map(|t| t.trim().trim_start_matches("W/"))
                    .any(|t| t == etag || t == "*")
            });
        let mut res = if fresh {
            actix_web::HttpResponse::NotModified()
        } else {
            actix_web::HttpResponse::Ok()
        };
        res.insert_header((header::ETAG, etag))
            .insert_header((header::CACHE_CONTROL, "private, no-cache"));
        if fresh {
            return res.finish();
        }
        res.content_type("application/json").body(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FieldError;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        text: String,
        tags: Option<Vec<String>>,
    }

    fn field_of(json: &str) -> String {
        match parse::<Body>(json.as_bytes()) {
            Err(ApiError::Validation(errors)) => {
                let [FieldError { field, .. }] = &errors[..] else {
                    panic!("{errors:?}")
                };
                field.clone()
            }
            other => panic!("{json}: {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_field_at_fault() {
        assert_eq!(field_of(r#"{"text": 5}"#), "text");
        assert_eq!(field_of(r#"{"text": "a", "tags": ["x", 3]}"#), "tags[1]");
        assert_eq!(field_of(r#"{"text": "a", "role": "admin"}"#), "role");
        assert_eq!(field_of(r#"{"tags": []}"#), "text");
        assert_eq!(field_of(r#""just a string""#), "body");
    }

    #[test]
    fn messages_do_not_name_our_types() {
        let Err(ApiError::Validation(errors)) = parse::<Body>(br#""just a string""#) else {
            panic!()
        };
        assert_eq!(
            errors[0].message,
            r#"invalid type: string "just a string", expected a JSON object"#
        );
        assert!(!errors[0].message.contains("Body"));
    }

    #[test]
    fn malformed_json_and_trailing_garbage_are_400() {
        for bad in [r#"{"text": "#, r#"{"text": "a"} x"#, ""] {
            assert!(
                matches!(parse::<Body>(bad.as_bytes()), Err(ApiError::BadRequest(_))),
                "{bad}"
            );
        }
    }
}
