//! The principals cache of UserRegistry: an authenticated request whose token was
//! seen recently costs no database round trip, and every change that makes a
//! cached principal wrong reaches every node through the event bus.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{amqp_url, spawn_app_with, Role, TestApp};
use crate::transformations::photo;

/// `photoshare_db_operations_total` by operation, from `/metrics`.
async fn db_ops(app: &TestApp) -> BTreeMap<String, u64> {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("photoshare_db_operations_total{operation=\""))
        .filter_map(|l| {
            let (op, n) = l.split_once("\"} ")?;
            Some((op.to_owned(), n.parse().ok()?))
        })
        .collect()
}

/// Operations between two readings, but the queue report `/metrics` asks for itself.
fn spent(before: &BTreeMap<String, u64>, after: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    after
        .iter()
        .filter(|(op, _)| !matches!(op.as_str(), "links.link_counts" | "links.done_since"))
        .map(|(op, n)| (op.clone(), n - before.get(op).copied().unwrap_or(0)))
        .filter(|(_, n)| *n > 0)
        .collect()
}

#[actix_web::test]
async fn a_cached_principal_costs_no_round_trip_and_a_photo_at_most_one() {
    // One HTTP worker: one registry instance, whose cache every request meets.
    let app = spawn_app_with(|s| s.server.workers = 1).await;
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 20, 20).await;
    let me: Value = app
        .get("/api/users/me", Some(&user.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["photo_count"], 1, "the upload dropped the cached count");

    let before = db_ops(&app).await;
    for _ in 0..5 {
        let res = app.get("/api/users/me", Some(&user.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let after = db_ops(&app).await;
    assert_eq!(
        spent(&before, &after),
        BTreeMap::new(),
        "GET /api/users/me, cached"
    );

    for _ in 0..5 {
        let res = app
            .get(&format!("/api/photos/{id}"), Some(&user.access))
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let cost = spent(&after, &db_ops(&app).await);
    assert_eq!(
        cost,
        BTreeMap::from([("photos.photo".to_owned(), 5)]),
        "one read each: the owner's own photo needs no my_rating lookup"
    );
    // Anyone else's read adds one lookup of their stars (my_rating).
    let other = app.signup_and_login(Role::User).await;
    app.get("/api/users/me", Some(&other.access)).await; // caches the principal
    let before = db_ops(&app).await;
    app.get(&format!("/api/photos/{id}"), Some(&other.access))
        .await
        .error_for_status()
        .unwrap();
    assert_eq!(
        spent(&before, &db_ops(&app).await),
        BTreeMap::from([
            ("photos.photo".to_owned(), 1),
            ("ratings.stars_by".to_owned(), 1)
        ]),
    );

    photo(&app, &user, 20, 20).await;
    let me: Value = app
        .get("/api/users/me", Some(&user.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(me["photo_count"], 2);
}

#[actix_web::test]
async fn a_ban_and_a_logout_on_one_node_reach_the_other_through_the_bus() {
    if amqp_url().is_none() || std::env::var("PHOTOSHARE_TEST_MONGODB_URI").is_err() {
        eprintln!("skipped: needs MongoDB and RabbitMQ (two nodes share them)");
        return;
    }
    // Caches that would keep a principal for five minutes: only the bus can make
    // the other node notice within the test.
    let a = spawn_app_with(|s| s.auth.principal_cache_seconds = 300).await;
    let shared = a.settings.clone();
    let b = spawn_app_with(move |s| {
        *s = shared;
        s.server.port = 0;
    })
    .await;
    let admin = a.admin().await.access.clone();
    for change in ["ban", "logout"] {
        let user = a.signup_and_login(Role::User).await;
        for _ in 0..3 {
            let res = b.get("/api/users/me", Some(&user.access)).await;
            assert_eq!(res.status(), StatusCode::OK, "node B knows the token");
        }
        let res = match change {
            "ban" => {
                let path = format!("/api/admin/users/{}/ban", user.username);
                a.post_json(&path, &serde_json::json!({}), Some(&admin))
                    .await
            }
            _ => {
                a.post_json(
                    "/api/auth/logout",
                    &serde_json::json!({}),
                    Some(&user.access),
                )
                .await
            }
        };
        assert!(
            res.status().is_success(),
            "{change} on node A: {}",
            res.status()
        );
        let started = Instant::now();
        loop {
            let res = b.get("/api/users/me", Some(&user.access)).await;
            if res.status() == StatusCode::UNAUTHORIZED {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "node B still accepts the token 20 s after the {change} on node A"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        eprintln!(
            "{change}: node B refused the token {:?} after node A answered",
            started.elapsed()
        );
    }
}

#[actix_web::test]
async fn a_feed_page_costs_two_reads_however_many_accounts_are_followed() {
    let app = spawn_app_with(|s| s.server.workers = 1).await;
    let reader = app.signup_and_login(Role::User).await;
    for _ in 0..12 {
        let author = app.signup_and_login(Role::User).await;
        photo(&app, &author, 8, 8).await;
        let res = app
            .post(
                &format!("/api/users/{}/follow", author.username),
                Some(&reader.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::NO_CONTENT);
    }
    app.get("/api/users/me", Some(&reader.access)).await; // caches the principal
    let before = db_ops(&app).await;
    let page: Value = app
        .get("/api/feed?limit=10", Some(&reader.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 10);
    assert_eq!(
        spent(&before, &db_ops(&app).await),
        BTreeMap::from([
            ("ratings.stars_by".to_owned(), 1),
            ("social.feed".to_owned(), 1)
        ]),
        "the page's photos, then the reader's stars on them"
    );
}
