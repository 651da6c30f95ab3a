//! How a transformation job fails, on whichever queue the stack runs: a failure
//! that cannot pass (the original is gone) fails the link at once, without
//! retries, and dead-letters the job; one that can (the media store cannot read
//! the file just now) is retried with backoff until it works.

use std::time::Duration;

use serde_json::Value;

use crate::helpers::{amqp_url, spawn_app, Role, TestApp};
use crate::transformations::{created, finished, photo, walk};

/// `photoshare_jobs_total{outcome}` from `/metrics`.
async fn jobs(app: &TestApp, outcome: &str) -> u64 {
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    let prefix = format!("photoshare_jobs_total{{outcome=\"{outcome}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[actix_web::test]
async fn a_permanent_failure_fails_the_link_at_once_and_dead_letters_the_job() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 40, 40).await;
    app.damaged_on_purpose("originals removed by the test");
    for key in app.media_keys("p/").await {
        app.media().delete(&key).await.unwrap();
    }
    let link = created(&app, &user.access, &id, "w_10").await;
    let failed = finished(&app, link["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"], "the original image could not be read");
    assert_eq!(
        jobs(&app, "retried").await,
        0,
        "no retry for a missing original"
    );
    assert_eq!(jobs(&app, "failed").await, 1);
    if amqp_url().is_some() {
        let admin = app.admin().await.access.clone();
        let report: Value = app
            .get("/api/admin/queues", Some(&admin))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(report["queues"][1]["ready"], 1, "dead-lettered: {report}");
    }
}

#[actix_web::test]
async fn a_passing_failure_is_retried_with_backoff_until_it_works() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 40, 40).await;
    if app.settings.uses_s3() {
        // An object store has no object that fails to read; its passing failures
        // are the outage test's (tests/api/s3.rs).
        return;
    }
    let files = walk(&app.data_dir().join("media").join("p"));
    assert_eq!(files.len(), 1);
    app.damaged_on_purpose("originals removed by the test");
    let file = &files[0];
    let saved = std::fs::read(file).unwrap();
    // Where the original was, a folder: reading it fails with an I/O error (the
    // media store is unavailable), not "not found".
    std::fs::remove_file(file).unwrap();
    std::fs::create_dir(file).unwrap();
    let link = created(&app, &user.access, &id, "w_10").await;
    let mut retried = 0;
    for _ in 0..600 {
        retried = jobs(&app, "retried").await;
        if retried > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(retried > 0, "the job was retried");
    let pending: Value = app
        .get(
            &format!("/api/transformations/{}", link["id"].as_str().unwrap()),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        pending["status"], "pending",
        "a passing failure does not fail the link"
    );
    std::fs::remove_dir(file).unwrap();
    std::fs::write(file, saved).unwrap();
    let done = finished(&app, link["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done");
    assert_eq!(jobs(&app, "failed").await, 0);
}

#[actix_web::test]
async fn a_user_past_the_pending_cap_gets_429_and_others_are_not_held_up() {
    let app =
        crate::helpers::spawn_app_without_worker_with(|s| s.queue.max_pending_per_user = 3).await;
    let busy = app.signup_and_login(Role::User).await;
    let id = photo(&app, &busy, 40, 40).await;
    for w in 10..13 {
        let link = created(&app, &busy.access, &id, &format!("w_{w}")).await;
        assert_eq!(link["status"], "pending");
    }
    let res = crate::transformations::create(&app, &busy.access, &id, "w_20").await;
    assert_eq!(res.status(), reqwest::StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    let problem: Value = res.json().await.unwrap();
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("too-many-pending"),
        "{problem}"
    );
    let other = app.signup_and_login(Role::User).await;
    let theirs = photo(&app, &other, 40, 40).await;
    let link = created(&app, &other.access, &theirs, "w_10").await;
    assert_eq!(link["status"], "pending", "another user's cap is their own");
}

#[actix_web::test]
async fn one_users_heavy_backlog_does_not_make_anothers_link_wait_behind_it() {
    // One renderer: jobs run one at a time, so the order they run in is the test.
    let app = crate::helpers::spawn_app_with(|s| {
        s.queue.workers = 1;
        s.queue.max_pending_per_user = 6;
    })
    .await;
    let heavy = app.signup_and_login(Role::User).await;
    let big = photo(&app, &heavy, 600, 600).await;
    let mut backlog = Vec::new();
    for angle in 31..36 {
        let t = format!("c_scale,w_900/a_{angle}/e_blur:200");
        let link = created(&app, &heavy.access, &big, &t).await;
        assert_eq!(link["status"], "pending", "{link}");
        backlog.push(link["id"].as_str().unwrap().to_owned());
    }
    let light = app.signup_and_login(Role::User).await;
    let small = photo(&app, &light, 40, 40).await;
    let link = created(&app, &light.access, &small, "w_10").await;
    let done = finished(&app, link["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done");
    let mut waiting = 0;
    for id in &backlog {
        let l: Value = app
            .get(&format!("/api/transformations/{id}"), None)
            .await
            .json()
            .await
            .unwrap();
        waiting += usize::from(l["status"] == "pending");
    }
    assert!(
        waiting >= 2,
        "the light link ran second, not last: {waiting} heavy ones still waiting"
    );
    for id in &backlog {
        assert_eq!(finished(&app, id).await["status"], "done");
    }
}
