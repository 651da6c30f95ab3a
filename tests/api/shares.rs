//! Share links (API.md, "Albums, share links and the account's own data"): tokens,
//! expiry, revocation, passwords and their limit, the JSON and the page.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, error_fields, eventually, spawn_app_with, Role, TestApp, TestUser,
};
use crate::transformations::photo;

/// An album of `n` photos of `user`'s, with `title`; its id and the photo ids.
pub async fn album_with(
    app: &TestApp,
    user: &TestUser,
    title: &str,
    n: usize,
) -> (String, Vec<String>) {
    let res = app
        .post_json(
            "/api/albums",
            &json!({ "title": title }),
            Some(&user.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let id = res.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut photos = Vec::new();
    for i in 0..n {
        photos.push(photo(app, user, 8 + i as u32, 6).await);
    }
    if n > 0 {
        let res = app
            .post_json(
                &format!("/api/albums/{id}/photos"),
                &json!({ "photo_ids": photos }),
                Some(&user.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    (id, photos)
}

/// Creates a share link; its JSON.
pub async fn share(app: &TestApp, token: &str, album: &str, body: Value) -> Value {
    let res = app
        .post_json(&format!("/api/albums/{album}/shares"), &body, Some(token))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let share: Value = res.json().await.unwrap();
    assert_eq!(share["url"], location.as_str());
    share
}

async fn open_json(app: &TestApp, url: &str, password: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(url).header("accept", "application/json");
    if let Some(p) = password {
        req = req.header("x-share-password", p);
    }
    req.send().await.unwrap()
}

fn token_of(url: &str) -> &str {
    url.rsplit('/').next().unwrap()
}

#[actix_web::test]
async fn a_share_link_opens_a_private_album_until_it_is_revoked_or_expires() {
    let app = spawn_app_with(|_| {}).await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let (album, photos) = album_with(&app, &ada, "Porto", 2).await;

    let link = share(&app, &ada.access, &album, json!({})).await;
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&app.url("/s/")), "{url}");
    let token = token_of(&url);
    assert_eq!(token.len(), 48, "192 bits as hex");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        (&link["has_password"], &link["expires_at"]),
        (&json!(false), &Value::Null)
    );

    // Anyone holding the link sees the private album, in album order.
    let res = open_json(&app, &url, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let shown: Value = res.json().await.unwrap();
    assert_eq!(shown["title"], "Porto");
    assert_eq!(shown["photo_count"], 2);
    let ids: Vec<&str> = shown["photos"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, photos);
    // The album itself stays private.
    let path = format!("/api/albums/{album}");
    assert_problem(app.get(&path, None).await, StatusCode::NOT_FOUND).await;

    // The owner lists live links (without their token); others cannot.
    let shares = format!("/api/albums/{album}/shares");
    let page: Value = app
        .get(&shares, Some(&ada.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
    assert_eq!(page["items"][0]["id"], link["id"]);
    assert_eq!(page["items"][0]["url"], Value::Null);
    assert!(
        !page.to_string().contains(token),
        "the token is never shown again"
    );
    assert_problem(
        app.get(&shares, Some(&bob.access)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = app.post_json(&shares, &json!({}), Some(&bob.access)).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;

    // Revocation: only the owner's, once; then 410.
    let revoke = format!("/api/shares/{}", link["id"].as_str().unwrap());
    assert_problem(
        app.delete(&revoke, Some(&bob.access)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        app.delete(&revoke, Some(&ada.access)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        app.delete(&revoke, Some(&ada.access)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let gone = assert_problem(open_json(&app, &url, None).await, StatusCode::GONE).await;
    assert_eq!(gone["type"], "urn:photoshare:problem:gone");
    let page: Value = app
        .get(&shares, Some(&ada.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0);

    // Expiry: in the past is refused; a near one works, then 410.
    let past = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let res = app
        .post_json(&shares, &json!({ "expires_at": past }), Some(&ada.access))
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["expires_at"]);
    for bad in [
        json!({"expires_at": "tomorrow"}),
        json!({"password": "short"}),
        json!({"x": 1}),
    ] {
        let res = app.post_json(&shares, &bad, Some(&ada.access)).await;
        assert!(res.status().is_client_error(), "{bad}");
    }
    let soon = chrono::Utc::now() + chrono::Duration::seconds(3);
    let link = share(
        &app,
        &ada.access,
        &album,
        json!({ "expires_at": soon.to_rfc3339() }),
    )
    .await;
    let url = link["url"].as_str().unwrap().to_owned();
    assert_eq!(open_json(&app, &url, None).await.status(), StatusCode::OK);
    eventually("the link expires", || async {
        open_json(&app, &url, None).await.status() == StatusCode::GONE
    })
    .await;

    // Unknown tokens are 404; deleting the album takes its links with it.
    let unknown = app.url(&format!("/s/{}", "0".repeat(48)));
    assert_problem(open_json(&app, &unknown, None).await, StatusCode::NOT_FOUND).await;
    let link = share(&app, &ada.access, &album, json!({})).await;
    let url = link["url"].as_str().unwrap().to_owned();
    assert_eq!(
        app.delete(&path, Some(&ada.access)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(open_json(&app, &url, None).await, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn a_share_password_is_asked_for_checked_and_its_guesses_limited_per_link() {
    let app = spawn_app_with(|s| s.rate_limit.share_password_failures_per_minute = 3).await;
    let ada = app.signup_and_login(Role::User).await;
    let (album, _) = album_with(&app, &ada, "Secret", 1).await;
    let password = "river and bridges";
    let link = share(&app, &ada.access, &album, json!({ "password": password })).await;
    assert_eq!(link["has_password"], true);
    let url = link["url"].as_str().unwrap().to_owned();
    let open = share(&app, &ada.access, &album, json!({ "password": password })).await;
    let other = open["url"].as_str().unwrap().to_owned();

    let p = assert_problem(open_json(&app, &url, None).await, StatusCode::UNAUTHORIZED).await;
    assert_eq!(p["type"], "urn:photoshare:problem:share-password-required");
    let res = open_json(&app, &url, Some(password)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["title"], "Secret");

    for _ in 0..3 {
        let res = open_json(&app, &url, Some("not the password")).await;
        let p = assert_problem(res, StatusCode::UNAUTHORIZED).await;
        assert_eq!(p["type"], "urn:photoshare:problem:wrong-share-password");
    }
    // Out of guesses: even the right password waits, on this link only.
    let res = open_json(&app, &url, Some(password)).await;
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, StatusCode::TOO_MANY_REQUESTS).await;
    assert_eq!(
        open_json(&app, &other, Some(password)).await.status(),
        StatusCode::OK
    );
    // Right passwords cost nothing.
    for _ in 0..5 {
        assert_eq!(
            open_json(&app, &other, Some(password)).await.status(),
            StatusCode::OK
        );
    }

    // The page: a form first, the album once the form posts the password.
    let res = app.client.get(&other).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let html = res.text().await.unwrap();
    assert!(html.contains("<form method=\"post\">"), "{html}");
    assert!(
        !html.contains("Secret"),
        "the title is not shown before the password"
    );
    let res = app
        .client
        .post(&other)
        .form(&[("password", "wrong one!")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(res.text().await.unwrap().contains("wrong password"));
    let res = app
        .client
        .post(&other)
        .form(&[("password", password)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let html = res.text().await.unwrap();
    assert!(
        html.contains("<h1>Secret</h1>") && html.contains("<img src="),
        "{html}"
    );
}

#[actix_web::test]
async fn the_share_page_shows_the_photos_with_open_graph_tags_and_escapes_text() {
    let app = spawn_app_with(|_| {}).await;
    let ada = app.signup_and_login(Role::User).await;
    let title = "Tom & \"Jerry\" <script>";
    let (album, photos) = album_with(&app, &ada, title, 3).await;
    let res = app
        .send_json(
            Method::PATCH,
            &format!("/api/albums/{album}"),
            &json!({ "cover_photo_id": photos[1], "description": "Three days" }),
            Some(&ada.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let link = share(&app, &ada.access, &album, json!({})).await;
    let url = link["url"].as_str().unwrap();

    let res = app
        .client
        .get(url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let h = res.headers();
    assert!(h["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(h["referrer-policy"], "no-referrer");
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("default-src 'none'"));
    let html = res.text().await.unwrap();
    assert!(!html.contains("<script>"), "the title is escaped");
    let escaped = "Tom &amp; &quot;Jerry&quot; &lt;script&gt;";
    assert!(
        html.contains(&format!(
            "<meta property=\"og:title\" content=\"{escaped}\">"
        )),
        "{html}"
    );
    assert!(html.contains("<meta property=\"og:description\" content=\"Three days\">"));
    assert!(html.contains(&format!("<meta property=\"og:url\" content=\"{url}\">")));
    let shown: Value = open_json(&app, url, None).await.json().await.unwrap();
    let cover = shown["cover"]["url"].as_str().unwrap();
    assert_eq!(shown["cover"]["id"], photos[1].as_str());
    assert!(html.contains(&format!("<meta property=\"og:image\" content=\"{cover}\">")));
    assert_eq!(html.matches("<img src=").count(), 3);
    // The preview image and every photo on the page load.
    for item in shown["photos"]["items"].as_array().unwrap() {
        let src = item["url"].as_str().unwrap();
        assert!(html.contains(&format!("<img src=\"{src}\"")));
        let res = app.fetch(src).await;
        assert_eq!(res.status(), StatusCode::OK);
        assert!(res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("image/"));
    }
}
