//! Follows, the feed, notifications and reports (API.md, "Follows, feed,
//! notifications and reports").

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{assert_problem, error_fields, spawn_app_without_worker, Role, TestApp};
use crate::transformations::photo;

async fn follow(app: &TestApp, token: &str, username: &str) -> StatusCode {
    app.post(&format!("/api/users/{username}/follow"), Some(token))
        .await
        .status()
}

async fn json(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

fn names(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["username"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn follows_are_idempotent_counted_public_and_never_of_oneself() {
    let app = spawn_app_without_worker().await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let cat = app.signup_and_login(Role::User).await;
    for _ in 0..2 {
        assert_eq!(
            follow(&app, &bob.access, &ada.username).await,
            StatusCode::NO_CONTENT
        );
    }
    let upper = ada.username.to_uppercase();
    assert_eq!(
        follow(&app, &cat.access, &upper).await,
        StatusCode::NO_CONTENT
    );
    let res = app
        .post(
            &format!("/api/users/{}/follow", ada.username),
            Some(&ada.access),
        )
        .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["username"]);
    let res = app
        .post("/api/users/nobody_here/follow", Some(&bob.access))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = app
        .post(&format!("/api/users/{}/follow", ada.username), None)
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;

    let profile = json(&app, &format!("/api/users/{}", ada.username), None).await;
    assert_eq!(
        (profile["followers"].clone(), profile["following"].clone()),
        (json!(2), json!(0))
    );
    let page = json(
        &app,
        &format!("/api/users/{}/followers?limit=1", ada.username),
        None,
    )
    .await;
    let mut both = [bob.username.clone(), cat.username.clone()];
    both.sort_by_key(|n| n.to_lowercase());
    assert_eq!(
        (names(&page), page["total"].clone()),
        (vec![both[0].clone()], json!(2))
    );
    let page = json(
        &app,
        &format!("/api/users/{}/following", bob.username),
        None,
    )
    .await;
    assert_eq!(names(&page), std::slice::from_ref(&ada.username));

    let res = app
        .delete(
            &format!("/api/users/{}/follow", ada.username),
            Some(&bob.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .delete(
            &format!("/api/users/{}/follow", ada.username),
            Some(&bob.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "idempotent");
    let profile = json(&app, &format!("/api/users/{}", ada.username), None).await;
    assert_eq!(profile["followers"], 1);
    let res = app.get("/api/users/nobody_here/followers", None).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn the_feed_pages_by_cursor_without_repeats_or_gaps_while_photos_arrive() {
    let app = spawn_app_without_worker().await;
    let reader = app.signup_and_login(Role::User).await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let stranger = app.signup_and_login(Role::User).await;
    follow(&app, &reader.access, &ada.username).await;
    follow(&app, &reader.access, &bob.username).await;
    let mut posted = Vec::new();
    for i in 0..7 {
        let who = if i % 3 == 0 { &bob } else { &ada };
        posted.push(photo(&app, who, 8, 8).await);
        photo(&app, &stranger, 8, 8).await;
    }
    let mut seen: Vec<String> = Vec::new();
    let mut path = "/api/feed?limit=3".to_owned();
    loop {
        let page = json(&app, &path, Some(&reader.access)).await;
        for item in page["items"].as_array().unwrap() {
            assert_eq!(item["my_rating"], Value::Null);
            seen.push(item["id"].as_str().unwrap().to_owned());
        }
        // Uploads between pages land above the first page: never in a later one.
        photo(&app, &ada, 8, 8).await;
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/api/feed?limit=3&cursor={c}"),
            None => break,
        }
    }
    let newest_first: Vec<String> = posted.iter().rev().cloned().collect();
    assert_eq!(seen, newest_first);

    let res = app.get("/api/feed?cursor=junk", Some(&reader.access)).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["cursor"]);
    let res = app.get("/api/feed?limit=0", Some(&reader.access)).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_problem(app.get("/api/feed", None).await, StatusCode::UNAUTHORIZED).await;
    let empty = json(&app, "/api/feed", Some(&stranger.access)).await;
    assert_eq!(
        (empty["items"].clone(), empty["next_cursor"].clone()),
        (json!([]), Value::Null)
    );

    // A deleted photo leaves the feed at once.
    let gone = &posted[5]; // ada's (every third is bob's)
    let res = app
        .delete(&format!("/api/photos/{gone}"), Some(&ada.access))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let page = json(&app, "/api/feed?limit=100", Some(&reader.access)).await;
    assert!(page["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["id"] != gone.as_str()));
}

#[actix_web::test]
async fn comments_ratings_and_follows_notify_the_owner_but_never_the_actor() {
    let app = spawn_app_without_worker().await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let id = photo(&app, &ada, 8, 8).await;
    let comments = format!("/api/photos/{id}/comments");
    app.post_json(&comments, &json!({"text": "mine"}), Some(&ada.access))
        .await;
    app.post_json(&comments, &json!({"text": "nice"}), Some(&bob.access))
        .await;
    app.post_json(
        &format!("/api/photos/{id}/ratings"),
        &json!({"stars": 4}),
        Some(&bob.access),
    )
    .await;
    follow(&app, &bob.access, &ada.username).await;
    follow(&app, &bob.access, &ada.username).await;

    let page = json(&app, "/api/notifications", Some(&ada.access)).await;
    let kinds: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["follow", "rating", "comment"],
        "newest first, one follow"
    );
    let first = &page["items"][2];
    assert_eq!(
        (
            first["actor"]["username"].as_str(),
            first["photo_id"].as_str(),
            &first["read"]
        ),
        (
            Some(bob.username.as_str()),
            Some(id.as_str()),
            &json!(false)
        )
    );
    assert_eq!(page["items"][0]["photo_id"], Value::Null);
    let none = json(&app, "/api/notifications", Some(&bob.access)).await;
    assert_eq!(none["items"], json!([]), "bob did it all: nothing for him");

    let paged = json(&app, "/api/notifications?limit=2", Some(&ada.access)).await;
    let cursor = paged["next_cursor"].as_str().unwrap();
    let rest = json(
        &app,
        &format!("/api/notifications?limit=2&cursor={cursor}"),
        Some(&ada.access),
    )
    .await;
    assert_eq!(rest["items"][0]["kind"], "comment");
    assert_eq!(rest["next_cursor"], Value::Null);

    let one = page["items"][1]["id"].clone();
    let res = app
        .post_json(
            "/api/notifications/read",
            &json!({"ids": [one]}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT, "not his: ignored");
    let unread = json(&app, "/api/notifications?unread=true", Some(&ada.access)).await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 3);
    app.post_json(
        "/api/notifications/read",
        &json!({"ids": [one]}),
        Some(&ada.access),
    )
    .await;
    let unread = json(&app, "/api/notifications?unread=true", Some(&ada.access)).await;
    assert_eq!(unread["items"].as_array().unwrap().len(), 2);
    for bad in [
        json!({}),
        json!({"all": false}),
        json!({"ids": ["x"]}),
        json!({"ids": [], "all": true}),
    ] {
        let res = app
            .post_json("/api/notifications/read", &bad, Some(&ada.access))
            .await;
        assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    app.post_json(
        "/api/notifications/read",
        &json!({"all": true}),
        Some(&ada.access),
    )
    .await;
    let unread = json(&app, "/api/notifications?unread=true", Some(&ada.access)).await;
    assert_eq!(unread["items"], json!([]));
}

#[actix_web::test]
async fn reports_queue_for_moderators_and_remove_resolves_every_open_one() {
    let app = spawn_app_without_worker().await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let cat = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    let id = photo(&app, &ada, 8, 8).await;
    let reports = format!("/api/photos/{id}/reports");
    let res = app
        .post_json(
            &reports,
            &json!({"reason": "spam", "note": "ads"}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let first: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/moderation/reports/{}", first["id"].as_str().unwrap())
    );
    assert_eq!(
        (
            &first["kind"],
            &first["status"],
            &first["reporter"]["username"]
        ),
        (&json!("photo"), &json!("open"), &json!(bob.username))
    );
    let res = app
        .post_json(&reports, &json!({"reason": "abuse"}), Some(&bob.access))
        .await;
    assert_problem(res, StatusCode::CONFLICT).await;
    let res = app
        .post_json(&reports, &json!({"reason": "boring"}), Some(&cat.access))
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = app
        .post_json(&reports, &json!({"reason": "nudity"}), Some(&cat.access))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post_json(
            "/api/photos/0123456789abcdef01234567/reports",
            &json!({"reason": "spam"}),
            Some(&cat.access),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;

    // A comment, reported and dismissed: it stays.
    let comment: Value = app
        .post_json(
            &format!("/api/photos/{id}/comments"),
            &json!({"text": "buy now"}),
            Some(&cat.access),
        )
        .await
        .json()
        .await
        .unwrap();
    let cid = comment["id"].as_str().unwrap();
    let on_comment: Value = app
        .post_json(
            &format!("/api/comments/{cid}/reports"),
            &json!({"reason": "spam"}),
            Some(&ada.access),
        )
        .await
        .json()
        .await
        .unwrap();

    let res = app.get("/api/moderation/reports", Some(&ada.access)).await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
    let queue = json(
        &app,
        "/api/moderation/reports?status=open",
        Some(&moderator.access),
    )
    .await;
    assert_eq!(queue["total"], 3);
    assert_eq!(queue["items"][0]["id"], on_comment["id"], "newest first");

    let resolve =
        |rid: &Value| format!("/api/moderation/reports/{}/resolve", rid.as_str().unwrap());
    let res = app
        .post_json(
            &resolve(&on_comment["id"]),
            &json!({"action": "dismiss"}),
            Some(&bob.access),
        )
        .await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
    let res = app
        .post_json(
            &resolve(&on_comment["id"]),
            &json!({"action": "dismiss"}),
            Some(&moderator.access),
        )
        .await;
    let done: Value = res.json().await.unwrap();
    assert_eq!(
        (
            &done["status"],
            &done["action"],
            &done["resolved_by"]["username"]
        ),
        (
            &json!("resolved"),
            &json!("dismiss"),
            &json!(moderator.username)
        )
    );
    let page = json(&app, &format!("/api/photos/{id}/comments"), None).await;
    assert_eq!(page["total"], 1, "a dismissed comment stays");

    // Removing the photo resolves both reports on it.
    let res = app
        .post_json(
            &resolve(&first["id"]),
            &json!({"action": "remove"}),
            Some(&moderator.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        app.get(&format!("/api/photos/{id}"), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let open = json(
        &app,
        "/api/moderation/reports?status=open",
        Some(&moderator.access),
    )
    .await;
    assert_eq!(open["total"], 0);
    let all = json(&app, "/api/moderation/reports", Some(&moderator.access)).await;
    assert_eq!(all["total"], 3);
    let res = app
        .post_json(
            &resolve(&first["id"]),
            &json!({"action": "dismiss"}),
            Some(&moderator.access),
        )
        .await;
    assert_problem(res, StatusCode::CONFLICT).await;
    let res = app
        .post_json(
            "/api/moderation/reports/0123456789abcdef01234567/resolve",
            &json!({"action": "dismiss"}),
            Some(&moderator.access),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn a_reported_comment_removed_by_a_moderator_is_gone() {
    let app = spawn_app_without_worker().await;
    let ada = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    let id = photo(&app, &ada, 8, 8).await;
    let comment: Value = app
        .post_json(
            &format!("/api/photos/{id}/comments"),
            &json!({"text": "rude"}),
            Some(&ada.access),
        )
        .await
        .json()
        .await
        .unwrap();
    let cid = comment["id"].as_str().unwrap();
    let report: Value = app
        .post_json(
            &format!("/api/comments/{cid}/reports"),
            &json!({"reason": "abuse"}),
            Some(&moderator.access),
        )
        .await
        .json()
        .await
        .unwrap();
    let path = format!(
        "/api/moderation/reports/{}/resolve",
        report["id"].as_str().unwrap()
    );
    let res = app
        .post_json(&path, &json!({"action": "remove"}), Some(&moderator.access))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = json(&app, &format!("/api/photos/{id}/comments"), None).await;
    assert_eq!(page["total"], 0);
}

#[actix_web::test]
async fn a_feed_cursor_holds_while_uploads_run_concurrently() {
    let app = spawn_app_without_worker().await;
    let reader = app.signup_and_login(Role::User).await;
    let ada = app.signup_and_login(Role::User).await;
    follow(&app, &reader.access, &ada.username).await;
    let mut before = Vec::new();
    for _ in 0..12 {
        before.push(photo(&app, &ada, 8, 8).await);
    }
    let uploads = async {
        let mut new = Vec::new();
        for _ in 0..15 {
            new.push(photo(&app, &ada, 8, 8).await);
        }
        new
    };
    let pages = async {
        let (mut pages, mut path) = (Vec::new(), "/api/feed?limit=2".to_owned());
        loop {
            let page = json(&app, &path, Some(&reader.access)).await;
            let ids: Vec<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_owned())
                .collect();
            pages.push(ids);
            match page["next_cursor"].as_str() {
                Some(c) => path = format!("/api/feed?limit=2&cursor={c}"),
                None => return pages,
            }
        }
    };
    let (new, pages) = tokio::join!(uploads, pages);
    let seen: Vec<&String> = pages.iter().flatten().collect();
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "a photo repeated: {pages:?}");
    // Everything there before the first page, newest first, at the end; anything
    // newer only on the first page.
    let older: Vec<&String> = before.iter().rev().collect();
    assert!(seen.ends_with(&older), "{pages:?}");
    for id in &seen[..seen.len() - older.len()] {
        assert!(
            new.contains(id) && pages[0].contains(id),
            "{id} after page one"
        );
    }
}
