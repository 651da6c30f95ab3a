//! OWASP API Security Top 10 checks that cut across resources (docs/security.md maps
//! each item to its tests): object-level authorization on every id route for every
//! role, mass assignment, body limits on every JSON route, CORS, request ids.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{assert_problem, spawn_app, spawn_app_with, Role, TestApp};

#[actix_web::test]
async fn privileged_fields_in_bodies_are_refused_not_applied() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let other = app.signup_and_login(Role::User).await;
    let photo = app.upload_ok(&user.access, fixtures::png(8, 8), &[]).await;
    let id = photo["id"].as_str().unwrap();
    for (method, path, body) in [
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            json!({"role": "admin"}),
        ),
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            json!({"is_active": false}),
        ),
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            json!({"id": other.id}),
        ),
        (
            Method::PUT,
            format!("/api/photos/{id}"),
            json!({"description": "d", "owner": {"username": other.username}}),
        ),
        (
            Method::PUT,
            format!("/api/photos/{id}"),
            json!({"description": "d", "rating": {"average": 5, "count": 99}}),
        ),
        (
            Method::POST,
            format!("/api/photos/{id}/comments"),
            json!({"text": "t", "author": {"username": other.username}}),
        ),
        (
            Method::POST,
            format!("/api/photos/{id}/transformations"),
            json!({"transformation": "w_5", "status": "done"}),
        ),
        (
            Method::POST,
            "/api/auth/signup".to_owned(),
            json!({"username": "sneaky", "email": "s@example.com",
                   "password": "correct-horse-battery", "role": "admin"}),
        ),
    ] {
        let res = app
            .send_json(method.clone(), &path, &body, Some(&user.access))
            .await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    assert_eq!(app.me(&user.access).await["role"], "user");
    let after: Value = app
        .get(&format!("/api/photos/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(after["description"], photo["description"]);
    assert_eq!(after["owner"]["username"], user.username.as_str());
    assert_eq!(after["comment_count"], 0);
    let links: Value = app
        .get(&format!("/api/photos/{id}/transformations"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(links["total"], 0);
    assert_eq!(
        app.login("sneaky", "correct-horse-battery").await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[actix_web::test]
async fn every_json_route_refuses_a_body_over_64_kib_with_413() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let admin = app.admin().await.clone();
    let id = app.upload_ok(&user.access, fixtures::png(8, 8), &[]).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let big = json!({"text": "x".repeat(70 * 1024)});
    for (method, path, token) in [
        (Method::POST, "/api/auth/signup".to_owned(), None),
        (Method::POST, "/api/auth/login".to_owned(), None),
        (Method::POST, "/api/auth/refresh".to_owned(), None),
        (
            Method::PATCH,
            "/api/users/me".to_owned(),
            Some(&user.access),
        ),
        (
            Method::PUT,
            "/api/users/me/password".to_owned(),
            Some(&user.access),
        ),
        (Method::PUT, format!("/api/photos/{id}"), Some(&user.access)),
        (
            Method::POST,
            format!("/api/photos/{id}/comments"),
            Some(&user.access),
        ),
        (
            Method::POST,
            format!("/api/photos/{id}/ratings"),
            Some(&admin.access),
        ),
        (
            Method::POST,
            format!("/api/photos/{id}/transformations"),
            Some(&user.access),
        ),
        (
            Method::PUT,
            format!("/api/admin/users/{}/role", user.username),
            Some(&admin.access),
        ),
    ] {
        let res = app
            .send_json(method.clone(), &path, &big, token.map(String::as_str))
            .await;
        let content_type = res.headers().get("content-type").cloned();
        assert_eq!(
            content_type.as_ref().and_then(|v| v.to_str().ok()),
            Some("application/problem+json"),
            "{method} {path}"
        );
        assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    }
    let photo: Value = app
        .get(&format!("/api/photos/{id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(photo["comment_count"], 0);
    assert_eq!(app.me(&user.access).await["role"], "user");
}

#[actix_web::test]
async fn cors_answers_only_the_configured_origins() {
    let closed = spawn_app().await;
    let preflight = |app: &TestApp, origin: &str| {
        app.client
            .request(Method::OPTIONS, app.url("/api/photos"))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization, content-type",
            )
            .send()
    };
    let res = closed.get("/api/photos", None).await;
    assert!(res.headers().get("access-control-allow-origin").is_none());
    let res = preflight(&closed, "https://app.example.com").await.unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());

    let open = spawn_app_with(|s| s.server.cors_origins = "https://app.example.com".into()).await;
    let res = preflight(&open, "https://app.example.com").await.unwrap();
    assert!(res.status().is_success(), "{}", res.status());
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let allowed = res.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    let res = open
        .client
        .get(open.url("/api/photos"))
        .header("origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(
        res.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let exposed = res.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    // Another origin gets its answer, but no grant the browser would honour.
    let res = open
        .client
        .get(open.url("/api/photos"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(res.headers().get("access-control-allow-origin").is_none());
}

#[actix_web::test]
async fn every_response_has_a_request_id_and_a_plausible_one_is_kept() {
    let app = spawn_app().await;
    let a = app.get("/healthz", None).await;
    let b = app.get("/api/nope", None).await;
    let id = |r: &reqwest::Response| r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id(&a).len(), 24);
    assert_ne!(id(&a), id(&b));
    let kept = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "edge-7f3a.1")
        .send()
        .await
        .unwrap();
    assert_eq!(id(&kept), "edge-7f3a.1");
    let replaced = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "bad id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(id(&replaced), "bad id with spaces");
    assert_eq!(id(&replaced).len(), 24);
}

/// The real binary with JSON logs: every request has an access line with its id;
/// no password, token or secret appears in any line, whatever the request did.
#[actix_web::test]
async fn logs_carry_request_ids_and_never_a_secret() {
    use crate::faults::{exit_within, sigterm};
    let dir = tempfile::tempdir().unwrap();
    let secret = crate::helpers::random_hex(32);
    let (mut child, address, log) =
        crate::startup::start_serve_logged(dir.path(), &secret, &["serve", "--no-worker"]);
    let client = reqwest::Client::new();
    let password = "log-me-not-7f2c9";
    let signup = client
        .post(format!("{address}/api/auth/signup"))
        .json(&json!({"username": "quiet", "email": "q@example.com", "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::CREATED);
    let tokens: Value = client
        .post(format!("{address}/api/auth/login"))
        .form(&[("username", "quiet"), ("password", password)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let me = client
        .get(format!("{address}/api/users/me"))
        .bearer_auth(&access)
        .header("x-request-id", "trace-me-1")
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let wrong = client
        .post(format!("{address}/api/auth/login"))
        .json(&json!({"username": "quiet", "password": "wrong-guess-4411"}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let forged = client
        .get(format!("{address}/api/users/me"))
        .bearer_auth(format!("{access}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::UNAUTHORIZED);
    let refreshed = client
        .post(format!("{address}/api/auth/refresh"))
        .json(&json!({"refresh_token": refresh}))
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), StatusCode::OK);
    sigterm(&child);
    assert!(exit_within(&mut child, std::time::Duration::from_secs(15)).success());

    let lines: Vec<String> = log.iter().collect();
    let traced: Vec<Value> = lines
        .iter()
        .filter(|l| l.contains("trace-me-1"))
        .map(|l| serde_json::from_str(l).expect("JSON log line"))
        .collect();
    assert!(
        traced
            .iter()
            .any(|l| l["path"] == "/api/users/me" && l["status"] == 200),
        "{traced:?}"
    );
    let access_lines = lines
        .iter()
        .filter(|l| l.contains("photoshare::access"))
        .count();
    assert!(
        access_lines >= 6,
        "one access line per request: {access_lines}"
    );
    for line in &lines {
        for secret_text in [
            password,
            "wrong-guess-4411",
            access.as_str(),
            refresh.as_str(),
            secret.as_str(),
        ] {
            assert!(!line.contains(secret_text), "a secret in the log: {line}");
        }
    }
}

/// With one worker, transformations run one at a time however many are asked for:
/// the rest wait in the queue and all complete.
#[actix_web::test]
async fn concurrent_transformations_are_bounded_by_the_workers_setting() {
    let app = spawn_app_with(|s| s.queue.workers = 1).await;
    let admin = app.admin().await.access.clone();
    let user = app.signup_and_login(Role::User).await;
    let id = crate::transformations::photo(&app, &user, 600, 400).await;
    let mut links = Vec::new();
    for angle in 1..=6 {
        let link =
            crate::transformations::created(&app, &user.access, &id, &format!("a_{angle}")).await;
        links.push(link["id"].as_str().unwrap().to_owned());
    }
    let mut most_in_hand = 0;
    loop {
        let report: Value = app
            .get("/api/admin/queues", Some(&admin))
            .await
            .json()
            .await
            .unwrap();
        let queue = &report["queues"][0];
        assert_eq!(queue["consumers"], 1, "{report}");
        most_in_hand = most_in_hand.max(queue["unacked"].as_u64().unwrap());
        if report["jobs"]["pending"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert!(most_in_hand <= 1, "{most_in_hand} jobs at once");
    for link in &links {
        assert_eq!(
            crate::transformations::finished(&app, link).await["status"],
            "done"
        );
    }
}

/// Transformation parameters that would make a server fetch a URL (Cloudinary's
/// overlays and underlays by URL, `fetch` sources) are not part of the grammar.
#[actix_web::test]
async fn transformations_cannot_name_remote_resources() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let id = crate::transformations::photo(&app, &user, 20, 20).await;
    for t in [
        "l_fetch:aHR0cDovLzEyNy4wLjAuMTo4MDgwL2FkbWlu",
        "u_fetch:aHR0cDovLzE2OS4yNTQuMTY5LjI1NC8",
        "w_10/l_http://169.254.169.254/",
        "c_fill,w_10,fl_attachment",
        "w_10,$x_1",
    ] {
        let res = crate::transformations::create(&app, &user.access, &id, t).await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let page: Value = app
        .get(&format!("/api/photos/{id}/transformations"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0);
}
