//! GET /admin: the admin console, one page and its script and style, compiled into
//! the binary (no CDN, nothing fetched at build time). The page is public; it signs
//! in with an admin's username and password and keeps the tokens in memory only.
//! Its Content-Security-Policy allows scripts and styles from this origin only
//! (no `unsafe-inline`), and connections to this origin only.

use actix_web::http::header;
use actix_web::{get, web, HttpRequest, HttpResponse};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(page).service(script).service(style);
}

const PAGE: &str = include_str!("console/index.html");
const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");

const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
                   img-src 'self' data:; connect-src 'self'; form-action 'self'; \
                   base-uri 'none'; frame-ancestors 'none'";

/// A strong validator for an asset compiled in: its content hash.
fn etag_of(body: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(body.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..12]))
}

fn asset(req: &HttpRequest, body: &'static str, content_type: &'static str) -> HttpResponse {
    let etag = etag_of(body);
    let matches = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut res = if matches {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::ETAG, etag))
        // Revalidated on every load: a new binary's console is picked up at once.
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP));
    if matches {
        return res.finish();
    }
    res.content_type(content_type).body(body)
}

/// The admin console (HTML). Sign-in happens inside the page.
#[utoipa::path(
    tag = "admin",
    security(()),
    responses(
        (status = 200, description = "The admin console page", body = String, content_type = "text/html"),
        (status = 304, description = "Unchanged since the `ETag` the client has"),
    )
)]
#[get("/admin")]
async fn page(req: HttpRequest) -> HttpResponse {
    asset(&req, PAGE, "text/html; charset=utf-8")
}

#[get("/admin/console.js")]
async fn script(req: HttpRequest) -> HttpResponse {
    asset(&req, SCRIPT, "text/javascript; charset=utf-8")
}

#[get("/admin/console.css")]
async fn style(req: HttpRequest) -> HttpResponse {
    asset(&req, STYLE, "text/css; charset=utf-8")
}
