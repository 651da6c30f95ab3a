//! OWASP API Security Top 10 checks that cut across resources (docs/security.md maps
//! each item to its tests): object-level authorization on every id route for every
//! role, mass assignment, body limits on every JSON route, CORS, request ids.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{assert_problem, spawn_app, spawn_app_with, Role, TestApp, TestUser};

/// Who sends a request in the matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    /// The owner of the photo, author of its comment.
    Owner,
    /// Another account with role `user`.
    Other,
    Moderator,
    Admin,
}

const EVERYONE: [Who; 5] = [
    Who::Anonymous,
    Who::Owner,
    Who::Other,
    Who::Moderator,
    Who::Admin,
];

struct Cast {
    owner: TestUser,
    other: TestUser,
    moderator: TestUser,
    admin: TestUser,
    /// Rates every photo (so `other` still may).
    rater: TestUser,
    /// The account the admin routes act on.
    target: TestUser,
}

impl Cast {
    fn token(&self, who: Who) -> Option<&str> {
        match who {
            Who::Anonymous => None,
            Who::Owner => Some(&self.owner.access),
            Who::Other => Some(&self.other.access),
            Who::Moderator => Some(&self.moderator.access),
            Who::Admin => Some(&self.admin.access),
        }
    }
}

/// One photo of the owner with a comment by the owner, a rating by the rater and a
/// transformation link.
struct World {
    photo: String,
    comment: String,
    rating: String,
    link: String,
}

async fn world(app: &TestApp, cast: &Cast) -> World {
    let photo = app
        .upload_ok(&cast.owner.access, fixtures::png(24, 16), &[("tags", "x")])
        .await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let id_of = |res: reqwest::Response, what: &'static str| async move {
        assert!(res.status().is_success(), "{what}: {}", res.status());
        res.json::<Value>().await.unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let comment = app
        .post_json(
            &format!("/api/photos/{photo}/comments"),
            &json!({"text": "first"}),
            Some(&cast.owner.access),
        )
        .await;
    let rating = app
        .post_json(
            &format!("/api/photos/{photo}/ratings"),
            &json!({"stars": 3}),
            Some(&cast.rater.access),
        )
        .await;
    let link = app
        .post_json(
            &format!("/api/photos/{photo}/transformations"),
            &json!({"transformation": "w_8"}),
            Some(&cast.owner.access),
        )
        .await;
    World {
        comment: id_of(comment, "comment").await,
        rating: id_of(rating, "rating").await,
        link: id_of(link, "link").await,
        photo,
    }
}

/// A route on an object, who may use it and what they get.
struct Case {
    method: Method,
    /// `{photo}`, `{comment}`, `{rating}`, `{link}`, `{target}` and `{owner}` are
    /// filled in.
    path: &'static str,
    body: Option<Value>,
    allowed: &'static [Who],
    success: StatusCode,
}

fn cases() -> Vec<Case> {
    use Who::*;
    let case = |method: Method, path, body, allowed, success| Case {
        method,
        path,
        body,
        allowed,
        success,
    };
    let text = || Some(json!({"text": "changed"}));
    vec![
        case(
            Method::GET,
            "/api/photos/{photo}",
            None,
            &EVERYONE,
            StatusCode::OK,
        ),
        case(
            Method::PUT,
            "/api/photos/{photo}",
            Some(json!({"description": "changed"})),
            &[Owner, Admin],
            StatusCode::OK,
        ),
        case(
            Method::DELETE,
            "/api/photos/{photo}",
            None,
            &[Owner, Admin],
            StatusCode::NO_CONTENT,
        ),
        case(
            Method::GET,
            "/api/photos/{photo}/comments",
            None,
            &EVERYONE,
            StatusCode::OK,
        ),
        case(
            Method::POST,
            "/api/photos/{photo}/comments",
            text(),
            &[Owner, Other, Moderator, Admin],
            StatusCode::CREATED,
        ),
        case(
            Method::PUT,
            "/api/comments/{comment}",
            text(),
            &[Owner],
            StatusCode::OK,
        ),
        case(
            Method::DELETE,
            "/api/comments/{comment}",
            None,
            &[Moderator, Admin],
            StatusCode::NO_CONTENT,
        ),
        case(
            Method::POST,
            "/api/photos/{photo}/ratings",
            Some(json!({"stars": 5})),
            // Not the owner: nobody rates their own photo.
            &[Other, Moderator, Admin],
            StatusCode::CREATED,
        ),
        case(
            Method::GET,
            "/api/photos/{photo}/ratings",
            None,
            &[Moderator, Admin],
            StatusCode::OK,
        ),
        case(
            Method::DELETE,
            "/api/ratings/{rating}",
            None,
            &[Moderator, Admin],
            StatusCode::NO_CONTENT,
        ),
        case(
            Method::POST,
            "/api/photos/{photo}/transformations",
            Some(json!({"transformation": "w_9"})),
            &[Owner, Admin],
            StatusCode::ACCEPTED,
        ),
        case(
            Method::GET,
            "/api/photos/{photo}/transformations",
            None,
            &EVERYONE,
            StatusCode::OK,
        ),
        case(
            Method::GET,
            "/api/transformations/{link}",
            None,
            &EVERYONE,
            StatusCode::OK,
        ),
        case(
            Method::DELETE,
            "/api/transformations/{link}",
            None,
            &[Owner, Admin],
            StatusCode::NO_CONTENT,
        ),
        case(
            Method::PUT,
            "/api/admin/users/{target}/role",
            Some(json!({"role": "moderator"})),
            &[Admin],
            StatusCode::OK,
        ),
        case(
            Method::POST,
            "/api/admin/users/{target}/ban",
            None,
            &[Admin],
            StatusCode::OK,
        ),
        case(
            Method::POST,
            "/api/admin/users/{target}/unban",
            None,
            &[Admin],
            StatusCode::OK,
        ),
        case(
            Method::GET,
            "/api/users/{owner}/photos",
            None,
            &EVERYONE,
            StatusCode::OK,
        ),
        case(
            Method::GET,
            "/api/admin/users",
            None,
            &[Admin],
            StatusCode::OK,
        ),
    ]
}

fn fill(path: &str, w: &World, cast: &Cast) -> String {
    path.replace("{photo}", &w.photo)
        .replace("{comment}", &w.comment)
        .replace("{rating}", &w.rating)
        .replace("{link}", &w.link)
        .replace("{target}", &cast.target.username)
        .replace("{owner}", &cast.owner.username)
}

/// What the objects look like to the admin, to show a refused request changed nothing.
async fn snapshot(app: &TestApp, w: &World, cast: &Cast) -> Value {
    let admin = Some(cast.admin.access.as_str());
    let mut parts = Vec::new();
    for path in [
        format!("/api/photos/{}", w.photo),
        format!("/api/photos/{}/comments", w.photo),
        format!("/api/photos/{}/ratings", w.photo),
        format!("/api/photos/{}/transformations", w.photo),
    ] {
        let res = app.get(&path, admin).await;
        let mut body: Value = res.json().await.unwrap();
        // A link's status moves on by itself (the worker); the rest must not.
        if let Some(items) = body["items"].as_array_mut() {
            for item in items {
                for volatile in ["status", "completed_at", "error"] {
                    item.as_object_mut().unwrap().remove(volatile);
                }
            }
        }
        parts.push(body);
    }
    Value::Array(parts)
}

#[actix_web::test]
async fn every_role_gets_exactly_its_rights_on_every_object_route() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let cast = Cast {
        owner: app.signup_and_login(Role::User).await,
        other: app.signup_and_login(Role::User).await,
        moderator: app.signup_and_login(Role::Moderator).await,
        admin,
        rater: app.signup_and_login(Role::User).await,
        target: app.signup_and_login(Role::User).await,
    };
    let shared = world(&app, &cast).await;
    let before = snapshot(&app, &shared, &cast).await;
    let mut checked = 0;
    for case in cases() {
        for who in EVERYONE {
            let allowed = case.allowed.contains(&who);
            // Refusals all hit the shared objects; every success gets fresh ones.
            let fresh;
            let w = if allowed {
                fresh = world(&app, &cast).await;
                &fresh
            } else {
                &shared
            };
            let path = fill(case.path, w, &cast);
            let token = cast.token(who);
            let mut req = app.client.request(case.method.clone(), app.url(&path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(body) = &case.body {
                req = req.json(body);
            }
            let res = req.send().await.unwrap();
            let what = format!("{} {} as {who:?}", case.method, case.path);
            if allowed {
                assert_eq!(res.status(), case.success, "{what}");
            } else {
                let want = if who == Who::Anonymous {
                    StatusCode::UNAUTHORIZED
                } else {
                    StatusCode::FORBIDDEN
                };
                assert_eq!(res.status(), want, "{what}");
                assert_problem(res, want).await;
            }
            checked += 1;
        }
    }
    assert_eq!(checked, cases().len() * EVERYONE.len());
    assert_eq!(
        snapshot(&app, &shared, &cast).await,
        before,
        "no refused request changed anything"
    );
}

#[actix_web::test]
async fn ids_of_objects_that_do_not_exist_are_404_for_every_role() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let user = app.signup_and_login(Role::User).await;
    let missing = "0123456789abcdef01234567";
    for (method, path, body) in [
        (
            Method::PUT,
            format!("/api/photos/{missing}"),
            Some(json!({"description": "d"})),
        ),
        (Method::DELETE, format!("/api/photos/{missing}"), None),
        (
            Method::PUT,
            format!("/api/comments/{missing}"),
            Some(json!({"text": "t"})),
        ),
        (Method::DELETE, format!("/api/comments/{missing}"), None),
        (Method::DELETE, format!("/api/ratings/{missing}"), None),
        (
            Method::DELETE,
            format!("/api/transformations/{missing}"),
            None,
        ),
    ] {
        for token in [&user.access, &admin.access] {
            let mut req = app
                .client
                .request(method.clone(), app.url(&path))
                .bearer_auth(token);
            if let Some(b) = &body {
                req = req.json(b);
            }
            let res = req.send().await.unwrap();
            // A user may get 403 (the role check comes first) but never 2xx or 5xx.
            assert!(
                matches!(res.status(), StatusCode::NOT_FOUND | StatusCode::FORBIDDEN),
                "{method} {path}: {}",
                res.status()
            );
        }
    }
}

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
