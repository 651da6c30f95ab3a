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
    for file in walk(&app.data_dir().join("media").join("p")) {
        std::fs::remove_file(file).unwrap();
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
    let files = walk(&app.data_dir().join("media").join("p"));
    assert_eq!(files.len(), 1);
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
