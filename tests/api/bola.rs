//! Object- and function-level authorization (OWASP API1, API5): every route on an
//! object, for every role, gets exactly its rights, and a refusal changes nothing.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{assert_problem, spawn_app, unique_name, Role, TestApp, TestUser};

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

const SIGNED_IN: [Who; 4] = [Who::Owner, Who::Other, Who::Moderator, Who::Admin];

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

/// One photo of the owner with a comment by the owner, a rating by the rater, a
/// transformation link and the rater's report on the photo.
struct World {
    photo: String,
    comment: String,
    rating: String,
    link: String,
    report: String,
    /// Public, holding the photo.
    album: String,
    /// A share link of the album: its id and token.
    share: String,
    token: String,
}

async fn world(app: &TestApp, cast: &Cast) -> World {
    // A different file each time: the same one again would be a duplicate.
    static WORLDS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = WORLDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let photo = app
        .upload_ok(
            &cast.owner.access,
            fixtures::png(24 + n, 16),
            &[("tags", "x")],
        )
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
    let report = app
        .post_json(
            &format!("/api/photos/{photo}/reports"),
            &json!({"reason": "spam"}),
            Some(&cast.rater.access),
        )
        .await;
    let album = id_of(
        app.post_json(
            "/api/albums",
            &json!({"title": "a"}),
            Some(&cast.owner.access),
        )
        .await,
        "album",
    )
    .await;
    let path = format!("/api/albums/{album}");
    let public = json!({"visibility": "public"});
    let res = app
        .send_json(Method::PATCH, &path, &public, Some(&cast.owner.access))
        .await;
    assert!(
        res.status().is_success(),
        "album published: {}",
        res.status()
    );
    let res = app
        .post_json(
            &format!("{path}/photos"),
            &json!({"photo_ids": [photo]}),
            Some(&cast.owner.access),
        )
        .await;
    assert!(res.status().is_success(), "album filled: {}", res.status());
    let res = app
        .post_json(
            &format!("{path}/shares"),
            &json!({}),
            Some(&cast.owner.access),
        )
        .await;
    assert!(res.status().is_success(), "album shared: {}", res.status());
    let share: Value = res.json().await.unwrap();
    World {
        token: share["url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned(),
        share: share["id"].as_str().unwrap().to_owned(),
        album,
        report: id_of(report, "report").await,
        comment: id_of(comment, "comment").await,
        rating: id_of(rating, "rating").await,
        link: id_of(link, "link").await,
        photo,
    }
}

/// A route on an object, who may use it and what they get.
struct Case {
    method: Method,
    /// `{photo}`, `{comment}`, `{rating}`, `{link}`, `{report}`, `{target}` and
    /// `{owner}` are filled in.
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
            "/api/albums/{album}",
            None,
            &EVERYONE,
            StatusCode::OK,
        ),
        case(
            Method::PATCH,
            "/api/albums/{album}",
            Some(json!({"title": "b"})),
            &[Owner, Admin],
            StatusCode::OK,
        ),
        case(
            Method::DELETE,
            "/api/albums/{album}",
            None,
            &[Owner, Admin],
            StatusCode::NO_CONTENT,
        ),
        case(
            Method::POST,
            "/api/albums/{album}/photos",
            Some(json!({"photo_ids": ["{photo}"]})),
            &[Owner],
            StatusCode::OK,
        ),
        case(
            Method::DELETE,
            "/api/albums/{album}/photos/{photo}",
            None,
            &[Owner],
            StatusCode::NO_CONTENT,
        ),
        case(
            Method::PUT,
            "/api/albums/{album}/order",
            Some(json!({"photo_ids": ["{photo}"]})),
            &[Owner],
            StatusCode::OK,
        ),
        case(
            Method::GET,
            "/api/users/{owner}/albums",
            None,
            &EVERYONE,
            StatusCode::OK,
        ),
        case(
            Method::POST,
            "/api/albums",
            Some(json!({"title": "mine"})),
            &SIGNED_IN,
            StatusCode::CREATED,
        ),
        case(
            Method::POST,
            "/api/albums/{album}/shares",
            Some(json!({"password": "a long password"})),
            &[Owner],
            StatusCode::CREATED,
        ),
        case(
            Method::GET,
            "/api/albums/{album}/shares",
            None,
            &[Owner],
            StatusCode::OK,
        ),
        case(
            Method::DELETE,
            "/api/shares/{share}",
            None,
            &[Owner],
            StatusCode::NO_CONTENT,
        ),
        case(Method::GET, "/s/{token}", None, &EVERYONE, StatusCode::OK),
        case(
            Method::POST,
            "/api/photos/check",
            Some(json!({"sha256": ["{sha}"]})),
            &SIGNED_IN,
            StatusCode::OK,
        ),
        case(
            Method::GET,
            "/api/users/me/export",
            None,
            &SIGNED_IN,
            StatusCode::OK,
        ),
        case(
            Method::DELETE,
            "/api/admin/users/{victim}",
            None,
            &[Admin],
            StatusCode::NO_CONTENT,
        ),
        case(
            Method::POST,
            "/api/users/{target}/follow",
            None,
            &SIGNED_IN,
            StatusCode::NO_CONTENT,
        ),
        case(
            Method::DELETE,
            "/api/users/{target}/follow",
            None,
            &SIGNED_IN,
            StatusCode::NO_CONTENT,
        ),
        case(
            Method::GET,
            "/api/users/{owner}/followers",
            None,
            &EVERYONE,
            StatusCode::OK,
        ),
        case(
            Method::GET,
            "/api/users/{owner}/following",
            None,
            &EVERYONE,
            StatusCode::OK,
        ),
        case(Method::GET, "/api/feed", None, &SIGNED_IN, StatusCode::OK),
        case(
            Method::GET,
            "/api/notifications",
            None,
            &SIGNED_IN,
            StatusCode::OK,
        ),
        case(
            Method::POST,
            "/api/notifications/read",
            Some(json!({"all": true})),
            &SIGNED_IN,
            StatusCode::NO_CONTENT,
        ),
        case(
            Method::POST,
            "/api/photos/{photo}/reports",
            Some(json!({"reason": "abuse"})),
            &SIGNED_IN,
            StatusCode::CREATED,
        ),
        case(
            Method::POST,
            "/api/comments/{comment}/reports",
            Some(json!({"reason": "other", "note": "?"})),
            &SIGNED_IN,
            StatusCode::CREATED,
        ),
        case(
            Method::GET,
            "/api/moderation/reports",
            None,
            &[Moderator, Admin],
            StatusCode::OK,
        ),
        case(
            Method::POST,
            "/api/moderation/reports/{report}/resolve",
            Some(json!({"action": "dismiss"})),
            &[Moderator, Admin],
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
        .replace("{report}", &w.report)
        .replace("{album}", &w.album)
        .replace("{share}", &w.share)
        .replace("{token}", &w.token)
        .replace("{sha}", &"ab".repeat(32))
}

/// What the objects look like to the admin (a share list: to its owner), to show a refused request changed nothing.
async fn snapshot(app: &TestApp, w: &World, cast: &Cast) -> Value {
    let admin = Some(cast.admin.access.as_str());
    let mut parts = Vec::new();
    for path in [
        format!("/api/photos/{}", w.photo),
        format!("/api/photos/{}/comments", w.photo),
        format!("/api/photos/{}/ratings", w.photo),
        format!("/api/photos/{}/transformations", w.photo),
        format!("/api/albums/{}", w.album),
        format!("/api/albums/{}/shares", w.album),
    ] {
        // Share links are their owner's alone to list.
        let token = if path.ends_with("/shares") {
            Some(cast.owner.access.as_str())
        } else {
            admin
        };
        let res = app.get(&path, token).await;
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
            // An account deleted by a success is a fresh one; refusals aim at the
            // target, which must still be there afterwards (the snapshot).
            let victim = if allowed && case.path.contains("{victim}") {
                app.register(&unique_name("victim")).await.username
            } else {
                cast.target.username.clone()
            };
            let path = fill(case.path, w, &cast).replace("{victim}", &victim);
            let token = cast.token(who);
            let mut req = app.client.request(case.method.clone(), app.url(&path));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if let Some(body) = &case.body {
                let filled = fill(&body.to_string(), w, &cast);
                req = req.json(&serde_json::from_str::<Value>(&filled).unwrap());
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
    // Refused deletions aimed at the target: it is still there.
    let target = format!("/api/users/{}", cast.target.username);
    assert_eq!(app.get(&target, None).await.status(), StatusCode::OK);
    // Nor resolved the shared report (the oldest one: every success made its own).
    let admin = Some(cast.admin.access.as_str());
    let all: Value = app
        .get("/api/moderation/reports?limit=1", admin)
        .await
        .json()
        .await
        .unwrap();
    let oldest = format!(
        "/api/moderation/reports?limit=1&offset={}",
        all["total"].as_u64().unwrap() - 1
    );
    let oldest: Value = app.get(&oldest, admin).await.json().await.unwrap();
    assert_eq!(oldest["items"][0]["id"], shared.report.as_str());
    assert_eq!(oldest["items"][0]["status"], "open");
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
        (
            Method::POST,
            format!("/api/photos/{missing}/reports"),
            Some(json!({"reason": "spam"})),
        ),
        (
            Method::POST,
            format!("/api/comments/{missing}/reports"),
            Some(json!({"reason": "spam"})),
        ),
        (
            Method::POST,
            format!("/api/moderation/reports/{missing}/resolve"),
            Some(json!({"action": "remove"})),
        ),
        (Method::POST, "/api/users/nobody_at_all/follow".into(), None),
        (Method::DELETE, format!("/api/shares/{missing}"), None),
        (
            Method::POST,
            format!("/api/albums/{missing}/shares"),
            Some(json!({})),
        ),
        (Method::GET, format!("/api/albums/{missing}/shares"), None),
        (
            Method::DELETE,
            "/api/admin/users/nobody_at_all".into(),
            None,
        ),
        (
            Method::DELETE,
            "/api/users/nobody_at_all/follow".into(),
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
