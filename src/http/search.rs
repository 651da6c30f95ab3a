//! GET /api/photos: search and filter. The query string is parsed by hand because
//! `tag` repeats; every bad value is a 422 naming its parameter, all at once.

use std::collections::HashSet;

use actix_web::{get, web, HttpRequest};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use utoipa::IntoParams;

use super::dto::Page;
use super::error::{ApiError, Problem};
use super::extractors::MaybeUser;
use super::photos::{photos_for, Photo};
use super::AppState;
use crate::actors::photo_store::SearchPhotos;
use crate::auth::Principal;
use crate::domain::{from_wire, words, FieldError, Role, TagName, MAX_TAGS};
use crate::domain::{PhotoQuery, PhotoSort};

/// Longest `q` accepted, and most distinct words in it.
const MAX_Q_CHARS: usize = 200;
const MAX_Q_WORDS: usize = 10;

/// Every filter given must hold. An empty value (`?q=`) is the same as leaving the
/// parameter out; any parameter other than these is refused (a typo would
/// otherwise silently widen the search).
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SearchParams {
    /// Words (at most 10, 200 characters); each must be a word of the description
    /// or of a tag name, case-insensitive.
    q: Option<String>,
    /// Exact tag name; repeat for several (all must match), at most 5.
    #[param(style = Form, explode)]
    tag: Option<Vec<String>>,
    /// 1..=5; bound on the average rating. Unrated photos are excluded.
    #[param(minimum = 1, maximum = 5)]
    min_rating: Option<f64>,
    /// 1..=5; bound on the average rating. Unrated photos are excluded.
    #[param(minimum = 1, maximum = 5)]
    max_rating: Option<f64>,
    /// Inclusive lower bound on `created_at`: RFC 3339, or `YYYY-MM-DD` (start of that
    /// day, UTC).
    from: Option<String>,
    /// Inclusive upper bound on `created_at`: RFC 3339, or `YYYY-MM-DD` (the whole
    /// day, UTC).
    to: Option<String>,
    /// Inclusive lower bound on `taken_at` (when the photo was taken, from its
    /// EXIF): RFC 3339, or `YYYY-MM-DD` (start of that day, UTC). Photos without
    /// `taken_at` are excluded.
    taken_from: Option<String>,
    /// Inclusive upper bound on `taken_at`: RFC 3339, or `YYYY-MM-DD` (the whole
    /// day, UTC). Photos without `taken_at` are excluded.
    taken_to: Option<String>,
    /// Words (at most 10); each must be a word of the camera's make or model,
    /// case-insensitive: `canon`, `eos 5d` and `Canon EOS 5D Mark IV` all find a
    /// Canon EOS 5D Mark IV.
    camera: Option<String>,
    /// Username of the uploader; moderators and admins only.
    owner: Option<String>,
    /// `-created_at` (default), `created_at`, `-rating`, `rating`, `-taken_at`,
    /// `taken_at`. Ties go by upload order, newer first when descending; unrated
    /// photos sort below rated ones; photos without `taken_at` come last in both
    /// `taken_at` sorts.
    sort: Option<PhotoSort>,
    #[param(minimum = 1, maximum = 100, default = 20)]
    limit: Option<i64>,
    #[param(minimum = 0, default = 0)]
    offset: Option<i64>,
}

/// A validated search and the owner username, if one was asked for.
#[derive(Debug)]
pub struct Search {
    pub query: PhotoQuery,
    pub owner: Option<String>,
}

impl Search {
    pub fn parse(query_string: &str) -> Result<Self, ApiError> {
        let mut query = PhotoQuery {
            limit: 20,
            ..PhotoQuery::default()
        };
        let mut owner = None;
        let mut errors: Vec<FieldError> = Vec::new();
        let mut seen = HashSet::new();
        for (key, value) in form_urlencoded::parse(query_string.as_bytes()) {
            let value = value.trim();
            if key != "tag" && !seen.insert(key.to_string()) {
                errors.push(FieldError::new(&key, "may be given only once"));
                continue;
            }
            if value.is_empty() {
                continue;
            }
            let outcome = match key.as_ref() {
                "q" => keywords(value).map(|k| query.keywords = k),
                "tag" => TagName::parse(value).map(|tag| {
                    let tag = tag.as_ref().to_owned();
                    if !query.tags.contains(&tag) {
                        query.tags.push(tag);
                    }
                }),
                "min_rating" => rating(value).map(|r| query.min_rating = Some(r)),
                "max_rating" => rating(value).map(|r| query.max_rating = Some(r)),
                "from" => time(value, false).map(|t| query.from = Some(t)),
                "to" => time(value, true).map(|t| query.to = Some(t)),
                "taken_from" => time(value, false).map(|t| query.taken_from = Some(t)),
                "taken_to" => time(value, true).map(|t| query.taken_to = Some(t)),
                "camera" => keywords(value).map(|k| query.camera = k),
                "owner" => {
                    owner = Some(value.to_owned());
                    Ok(())
                }
                "sort" => sort(value).map(|s| query.sort = s),
                "limit" => match value.parse::<u32>() {
                    Ok(n) if (1..=100).contains(&n) => {
                        query.limit = n;
                        Ok(())
                    }
                    _ => Err("must be an integer in 1..=100".into()),
                },
                "offset" => value
                    .parse::<u64>()
                    .map(|n| query.offset = n)
                    .map_err(|_| "must be an integer >= 0".into()),
                _ => Err("is not a search parameter".into()),
            };
            if let Err(message) = outcome {
                errors.push(FieldError::new(&key, message));
            }
        }
        if query.tags.len() > MAX_TAGS {
            errors.push(FieldError::new(
                "tag",
                format!("at most {MAX_TAGS}: no photo has more tags"),
            ));
        }
        if let (Some(min), Some(max)) = (query.min_rating, query.max_rating) {
            if min > max {
                errors.push(FieldError::new("min_rating", "must not exceed max_rating"));
            }
        }
        if let (Some(from), Some(to)) = (query.from, query.to) {
            if from > to {
                errors.push(FieldError::new("from", "must not be after to"));
            }
        }
        if let (Some(from), Some(to)) = (query.taken_from, query.taken_to) {
            if from > to {
                errors.push(FieldError::new("taken_from", "must not be after taken_to"));
            }
        }
        if errors.is_empty() {
            Ok(Search { query, owner })
        } else {
            Err(ApiError::Validation(errors))
        }
    }
}

fn keywords(q: &str) -> Result<Vec<String>, String> {
    if q.chars().count() > MAX_Q_CHARS {
        return Err(format!("must be at most {MAX_Q_CHARS} characters"));
    }
    let mut found: Vec<String> = Vec::new();
    for word in words(q) {
        if !found.contains(&word) {
            found.push(word);
        }
    }
    if found.len() > MAX_Q_WORDS {
        return Err(format!("must have at most {MAX_Q_WORDS} words"));
    }
    Ok(found)
}

fn rating(value: &str) -> Result<f64, String> {
    match value.parse::<f64>() {
        Ok(r) if (1.0..=5.0).contains(&r) => Ok(r),
        _ => Err("must be a number in 1..=5".into()),
    }
}

/// RFC 3339, or a calendar date: its first millisecond, or its last for an upper
/// bound.
fn time(value: &str, end_of_day: bool) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Ok(t.with_timezone(&Utc));
    }
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map_err(|_| "must be an RFC 3339 time or a YYYY-MM-DD date".to_owned())?;
    let time = if end_of_day {
        NaiveTime::from_hms_milli_opt(23, 59, 59, 999)
    } else {
        Some(NaiveTime::MIN)
    };
    Ok(date.and_time(time.unwrap_or_default()).and_utc())
}

fn sort(value: &str) -> Result<PhotoSort, String> {
    from_wire(value).ok_or_else(|| {
        "must be -created_at, created_at, -rating, rating, -taken_at or taken_at".into()
    })
}

/// Search photos by keyword, tags, rating, upload date, date taken, camera and
/// (moderators) owner.
#[utoipa::path(
    tag = "photos",
    params(SearchParams),
    responses(
        (status = 200, body = Page<Photo>),
        (status = 401, description = "`owner` without a token, or an invalid token", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`owner` asked for by a user", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A bad parameter value, or an unknown parameter; each is named", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/api/photos")]
pub async fn search_photos(
    caller: MaybeUser,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<web::Json<Page<Photo>>, ApiError> {
    let Search { query, owner } = Search::parse(req.query_string())?;
    if owner.is_some() {
        match &caller.0 {
            None => return Err(ApiError::Unauthorized),
            Some(p) if p.user.role == Role::User => {
                return Err(ApiError::Forbidden(
                    "role-required",
                    "only moderators and admins may filter by owner",
                ))
            }
            Some(_) => {}
        }
    }
    Ok(web::Json(
        photo_page(&state, caller.0.as_ref(), Search { query, owner }).await?,
    ))
}

/// Runs a search and answers its page (search, a user's photo grid).
pub async fn photo_page(
    state: &web::Data<AppState>,
    caller: Option<&Principal>,
    search: Search,
) -> Result<Page<Photo>, ApiError> {
    let Search { query, owner } = search;
    let (limit, offset) = (query.limit, query.offset);
    let (photos, total) = state.photos.call(SearchPhotos { query, owner }).await?;
    Ok(Page {
        items: photos_for(state, caller, photos).await?,
        total,
        limit,
        offset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(qs: &str) -> Vec<String> {
        match Search::parse(qs) {
            Err(ApiError::Validation(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{qs}: expected 422, got {other:?}"),
        }
    }

    #[test]
    fn every_parameter_is_parsed() {
        let s = Search::parse(
            "q=Sunset+S%C3%A3o&tag=Sea&tag=sky&tag=sea&min_rating=3.5&max_rating=5\
             &from=2026-01-01&to=2026-01-31&owner=ada&sort=-rating&limit=5&offset=10",
        )
        .unwrap();
        let q = s.query;
        assert_eq!(q.keywords, ["sunset", "são"]);
        assert_eq!(q.tags, ["sea", "sky"]);
        assert_eq!((q.min_rating, q.max_rating), (Some(3.5), Some(5.0)));
        assert_eq!(q.from.unwrap().to_rfc3339(), "2026-01-01T00:00:00+00:00");
        assert_eq!(
            q.to.unwrap().timestamp_millis() + 1,
            NaiveDate::from_ymd_opt(2026, 2, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap()
                .and_utc()
                .timestamp_millis()
        );
        assert_eq!(s.owner.as_deref(), Some("ada"));
        assert_eq!((q.sort, q.limit, q.offset), (PhotoSort::BestRated, 5, 10));
        let q =
            Search::parse("taken_from=2019-07-01&taken_to=2019-07-31&camera=EOS+5D&sort=taken_at")
                .unwrap()
                .query;
        assert_eq!(
            q.taken_from.unwrap().to_rfc3339(),
            "2019-07-01T00:00:00+00:00"
        );
        assert_eq!(
            q.taken_to.unwrap().to_rfc3339(),
            "2019-07-31T23:59:59.999+00:00"
        );
        assert_eq!(q.camera, ["eos", "5d"]);
        assert_eq!(q.sort, PhotoSort::EarliestTaken);
    }

    #[test]
    fn defaults_and_empty_values() {
        let q = Search::parse("q=&tag=&sort=").unwrap().query;
        assert!(q.keywords.is_empty() && q.tags.is_empty());
        assert_eq!((q.sort, q.limit, q.offset), (PhotoSort::NewestFirst, 20, 0));
        let q = Search::parse("from=2026-03-01T10:00:00%2B02:00")
            .unwrap()
            .query;
        assert_eq!(q.from.unwrap().to_rfc3339(), "2026-03-01T08:00:00+00:00");
    }

    #[test]
    fn each_bad_value_is_named() {
        assert_eq!(fields("min_rating=0.5"), ["min_rating"]);
        assert_eq!(fields("max_rating=six"), ["max_rating"]);
        assert_eq!(fields("min_rating=NaN"), ["min_rating"]);
        assert_eq!(fields("min_rating=4&max_rating=2"), ["min_rating"]);
        assert_eq!(fields("from=yesterday&to=2026-13-01"), ["from", "to"]);
        assert_eq!(fields("from=2026-02-01&to=2026-01-01"), ["from"]);
        assert_eq!(
            fields("taken_from=2026-02-01&taken_to=2026-01-01"),
            ["taken_from"]
        );
        assert_eq!(
            fields("taken_to=someday&camera=a&camera=b"),
            ["taken_to", "camera"]
        );
        assert_eq!(fields("sort=newest"), ["sort"]);
        assert_eq!(fields("limit=0&offset=-1"), ["limit", "offset"]);
        assert_eq!(fields("limit=101"), ["limit"]);
        assert_eq!(fields("tag=two+words"), ["tag"]);
        assert_eq!(fields("tag=a&tag=b&tag=c&tag=d&tag=e&tag=f"), ["tag"]);
        assert_eq!(fields("q=a&q=b"), ["q"]);
        assert_eq!(fields("tags=sea"), ["tags"]);
        assert_eq!(fields(&format!("q={}", "x".repeat(201))), ["q"]);
        assert_eq!(fields("q=a+b+c+d+e+f+g+h+i+j+k"), ["q"]);
    }
}
