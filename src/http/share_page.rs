//! The page a share link opens in a browser: the album's photos (the originals
//! until display sizes exist) and Open Graph tags, so a chat shows the title, the
//! description and the cover as a preview. A link with a password shows a form
//! instead (and a preview that names nothing). No script; inline style only;
//! `no-referrer`, so image hosts never see the token.

use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;

use super::albums::Album;
use super::error::ApiError;

/// Photos on the page.
pub const PHOTOS: u32 = 100;

const CSP: &str = "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; \
                   form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:0 auto;max-width:72rem;\
    padding:1rem;color:#222}h1{margin:.2rem 0}p.by{color:#666}\
    ul{list-style:none;padding:0;display:grid;gap:.5rem;\
    grid-template-columns:repeat(auto-fill,minmax(14rem,1fr))}\
    img{width:100%;height:14rem;object-fit:cover;border-radius:.3rem;background:#eee}\
    figcaption{font-size:.85rem;color:#444}form{margin:2rem 0}\
    input{font-size:1rem;padding:.4rem}.error{color:#a00}";

/// `s` safe inside HTML text and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn meta(property: &str, content: &str) -> String {
    format!(
        "<meta property=\"{property}\" content=\"{}\">\n",
        escape(content)
    )
}

fn html(status: StatusCode, title: &str, head: &str, body: &str) -> HttpResponse {
    let page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{} · PhotoShare</title>\n\
         {head}<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        escape(title)
    );
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .insert_header(("x-robots-tag", "noindex"))
        .body(page)
}

/// The album's page.
pub fn album(url: &str, album: &Album) -> HttpResponse {
    let count = album.photo_count;
    let by = format!(
        "{count} photo{} by @{}",
        if count == 1 { "" } else { "s" },
        album.owner.username
    );
    let description = album.description.clone().unwrap_or_else(|| by.clone());
    let mut head = String::new();
    head += &meta("og:type", "website");
    head += &meta("og:site_name", "PhotoShare");
    head += &meta("og:title", &album.title);
    head += &meta("og:description", &description);
    head += &meta("og:url", url);
    if let Some(cover) = &album.cover {
        head += &meta("og:image", &cover.url);
        head += &meta("og:image:width", &cover.width.to_string());
        head += &meta("og:image:height", &cover.height.to_string());
        head += &meta("og:image:alt", &cover.description);
        head += "<meta name=\"twitter:card\" content=\"summary_large_image\">\n";
    }
    let mut body = format!(
        "<h1>{}</h1>\n<p class=\"by\">{}</p>\n",
        escape(&album.title),
        escape(&by)
    );
    if let Some(d) = &album.description {
        body += &format!("<p>{}</p>\n", escape(d));
    }
    body += "<ul>\n";
    for photo in album.photos.iter().flat_map(|p| &p.items) {
        body += &format!(
            "<li><figure><a href=\"{url}\"><img src=\"{url}\" alt=\"{alt}\" \
             width=\"{w}\" height=\"{h}\" loading=\"lazy\"></a>\
             <figcaption>{alt}</figcaption></figure></li>\n",
            url = escape(&photo.url),
            alt = escape(&photo.description),
            w = photo.width,
            h = photo.height,
        );
    }
    body += "</ul>\n";
    if count > u64::from(PHOTOS) {
        body += &format!(
            "<p>The first {PHOTOS} of {count} photos; the JSON form of this link pages \
             through all of them.</p>\n"
        );
    }
    html(StatusCode::OK, &album.title, &head, &body)
}

/// The password form; `tried` when a wrong password came with the request.
pub fn password(url: &str, tried: bool, e: &ApiError) -> HttpResponse {
    let mut head = String::new();
    head += &meta("og:type", "website");
    head += &meta("og:site_name", "PhotoShare");
    head += &meta("og:title", "A shared album (password protected)");
    head += &meta("og:url", url);
    let error = if tried {
        format!(
            "<p class=\"error\" role=\"alert\">{}</p>\n",
            escape(&e.to_string())
        )
    } else {
        String::new()
    };
    let body = format!(
        "<h1>A shared album</h1>\n<p>This album is protected by a password.</p>\n{error}\
         <form method=\"post\">\n<label>Password <input type=\"password\" name=\"password\" \
         autocomplete=\"current-password\" required autofocus></label>\n\
         <button type=\"submit\">Open</button>\n</form>\n"
    );
    html(StatusCode::UNAUTHORIZED, "A shared album", &head, &body)
}

/// Why there is no album to show: unknown, expired or revoked, too many wrong
/// passwords, or a fault of ours.
pub fn problem(e: &ApiError) -> HttpResponse {
    use actix_web::ResponseError;
    let status = e.status_code();
    if status.is_server_error() {
        // Logged (with its cause) by the error's own rendering.
        let _ = e.error_response();
    }
    let (title, sentence) = match status {
        StatusCode::NOT_FOUND => ("Link not found", "There is no album at this link.".into()),
        StatusCode::GONE => ("Link expired", e.to_string()),
        _ => ("Not available", e.to_string()),
    };
    let body = format!("<h1>{}</h1>\n<p>{}</p>\n", escape(title), escape(&sentence));
    let mut res = html(status, title, "", &body);
    if let ApiError::RateLimited(secs) = e {
        if let Ok(v) = header::HeaderValue::from_str(&secs.to_string()) {
            res.headers_mut().insert(header::RETRY_AFTER, v);
        }
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
