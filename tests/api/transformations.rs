//! Transformations and QR links, end to end: POST answers at once, the in-process
//! worker makes the image, `/t/{slug}` serves it, the QR code decodes to the link.

use std::time::Duration;

use image::GenericImageView;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{
    amqp_url, assert_problem, error_fields, eventually, spawn_app, spawn_app_with,
    spawn_app_without_worker, Role, TestApp, TestUser,
};

pub async fn photo(app: &TestApp, user: &TestUser, w: u32, h: u32) -> String {
    let photo = app.upload_ok(&user.access, fixtures::png(w, h), &[]).await;
    photo["id"].as_str().unwrap().to_owned()
}

pub async fn create(app: &TestApp, token: &str, photo: &str, t: &str) -> reqwest::Response {
    app.post_json(
        &format!("/api/photos/{photo}/transformations"),
        &json!({ "transformation": t }),
        Some(token),
    )
    .await
}

/// Creates a link and returns its JSON, whatever the status.
pub async fn created(app: &TestApp, token: &str, photo: &str, t: &str) -> Value {
    create(app, token, photo, t).await.json().await.unwrap()
}

/// Polls the link until it leaves `pending` (the worker runs in the background).
pub async fn finished(app: &TestApp, id: &str) -> Value {
    for _ in 0..2400 {
        let link: Value = app
            .get(&format!("/api/transformations/{id}"), None)
            .await
            .json()
            .await
            .unwrap();
        if link["status"] != "pending" {
            return link;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("link {id} still pending after 120 s");
}

pub fn decode_qr(png: &[u8]) -> String {
    let img = image::load_from_memory(png).unwrap().into_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().unwrap().1
}

#[actix_web::test]
async fn a_link_is_accepted_at_once_and_serves_the_transformed_image() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 120, 80).await;

    let res = create(&app, &user.access, &id, "w_60,c_fill,h_60/r_max/f_png").await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let link: Value = res.json().await.unwrap();
    assert_eq!(link["photo_id"], id.as_str());
    assert_eq!(
        link["transformation"], "c_fill,h_60,w_60/r_max/f_png",
        "canonical"
    );
    let url = link["url"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/t/", app.address)), "{url}");
    assert_eq!(link["qr_url"], format!("{url}/qr"));
    assert!(link["created_at"].is_string());

    let done = finished(&app, link["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done");
    assert!(done["completed_at"].is_string() && done["error"].is_null());

    let res = app.fetch(&url).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let img = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert_eq!((img.width(), img.height()), (60, 60));
    assert_eq!(img.get_pixel(0, 0).0[3], 0, "r_max: transparent corner");
    assert_eq!(img.get_pixel(30, 30).0[3], 255, "opaque centre");
    let again = app
        .client
        .get(&url)
        .header("if-none-match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);

    let qr = app.fetch(&format!("{url}/qr")).await;
    assert_eq!(qr.headers()["content-type"], "image/png");
    assert_eq!(decode_qr(&qr.bytes().await.unwrap()), url);
    let svg = app.fetch(&format!("{url}/qr?format=svg")).await;
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(svg.text().await.unwrap().contains("<svg"));
    let bad = app.fetch(&format!("{url}/qr?format=bmp")).await;
    assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[actix_web::test]
async fn the_same_canonical_transformation_returns_the_existing_link() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 40, 40).await;
    let first: Value = created(&app, &user.access, &id, "w_20,c_scale").await;
    let res = create(&app, &user.access, &id, "c_scale,w_20").await;
    assert_eq!(res.status(), StatusCode::OK);
    let second: Value = res.json().await.unwrap();
    assert_eq!(second["id"], first["id"]);
    create(&app, &user.access, &id, "e_grayscale").await;

    let page: Value = app
        .get(&format!("/api/photos/{id}/transformations"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["id"], first["id"], "oldest first");
    let missing = app
        .get("/api/photos/000000000000000000000000/transformations", None)
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn bad_transformations_are_422_naming_the_parameter_and_store_nothing() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 40, 40).await;
    for (t, param) in [
        ("w_abc", "w"),
        ("c_stretch,w_10", "c"),
        ("e_blur:5000", "e_blur"),
        ("zz_1", "zz"),
        ("w_20000,h_20000", "w"),
        ("q_0", "q"),
    ] {
        let res = create(&app, &user.access, &id, t).await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["transformation"], "{t}");
        let message = problem["errors"][0]["message"].as_str().unwrap();
        assert!(message.starts_with(&format!("{param}:")), "{t}: {message}");
    }
    let res = app
        .post_json(
            &format!("/api/photos/{id}/transformations"),
            &json!({ "transformation": "w_10", "extra": 1 }),
            Some(&user.access),
        )
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let page: Value = app
        .get(&format!("/api/photos/{id}/transformations"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0);
}

#[actix_web::test]
async fn only_the_owner_or_an_admin_creates_and_deletes_links() {
    let app = spawn_app().await;
    let owner = app.signup_and_login(Role::User).await;
    let other = app.signup_and_login(Role::User).await;
    let id = photo(&app, &owner, 40, 40).await;
    let res = create(&app, &other.access, &id, "w_10").await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
    let res = app
        .post_json(
            &format!("/api/photos/{id}/transformations"),
            &json!({ "transformation": "w_10" }),
            None,
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    let res = create(&app, &owner.access, "000000000000000000000000", "w_10").await;
    assert_problem(res, StatusCode::NOT_FOUND).await;

    let admin = app.admin().await.access.clone();
    let link: Value = created(&app, &admin, &id, "w_10").await;
    let link_id = link["id"].as_str().unwrap();
    finished(&app, link_id).await;
    let path = format!("/api/transformations/{link_id}");
    assert_problem(
        app.delete(&path, Some(&other.access)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        app.delete(&path, Some(&owner.access)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(app.get(&path, None).await, StatusCode::NOT_FOUND).await;
    let gone = app.fetch(link["url"].as_str().unwrap()).await;
    assert_problem(gone, StatusCode::NOT_FOUND).await;
    let media = app.media_keys("t/").await;
    assert!(media.is_empty(), "the link's files are removed: {media:?}");
}

pub fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() {
                walk(&p)
            } else {
                vec![p]
            }
        })
        .collect()
}

#[actix_web::test]
async fn while_pending_the_image_is_503_with_retry_after_and_the_qr_code_already_works() {
    let app = spawn_app_without_worker().await;
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 40, 40).await;
    let link: Value = created(&app, &user.access, &id, "w_10").await;
    assert_eq!(link["status"], "pending");
    let url = link["url"].as_str().unwrap();
    let res = app.fetch(url).await;
    assert_eq!(res.headers()["retry-after"], "2");
    assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    let qr = app.fetch(link["qr_url"].as_str().unwrap()).await;
    assert_eq!(qr.status(), StatusCode::OK);
    assert_eq!(decode_qr(&qr.bytes().await.unwrap()), url);
    assert_problem(
        app.fetch(&format!("{}/t/nope", app.address)).await,
        StatusCode::NOT_FOUND,
    )
    .await;

    let admin = app.admin().await.access.clone();
    let report: Value = app
        .get("/api/admin/queues", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let backend = if amqp_url().is_some() {
        "rabbitmq"
    } else {
        "in-process"
    };
    assert_eq!(report["backend"], backend);
    let work = &report["queues"][0];
    let name = work["name"].as_str().unwrap();
    assert!(name.ends_with("jobs"), "{name}");
    assert_eq!(
        (work["ready"].as_u64(), work["consumers"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(
        report["jobs"],
        json!({ "pending": 1, "done": 0, "failed": 0 })
    );
    let denied = app.get("/api/admin/queues", Some(&user.access)).await;
    assert_problem(denied, StatusCode::FORBIDDEN).await;
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    let depth = format!("photoshare_queue_depth{{queue=\"{name}\"}} 1");
    assert!(metrics.contains(&depth), "{metrics}");
}

#[actix_web::test]
async fn a_job_that_keeps_failing_ends_failed_with_a_reason_and_the_worker_goes_on() {
    let app = spawn_app_with(|s| s.queue.max_attempts = 2).await;
    let user = app.signup_and_login(Role::User).await;
    let broken = photo(&app, &user, 40, 40).await;
    app.damaged_on_purpose("originals removed by the test");
    // The original disappears from storage: every attempt fails.
    for key in app.media_keys("p/").await {
        app.media().delete(&key).await.unwrap();
    }
    let link: Value = created(&app, &user.access, &broken, "w_10").await;
    let healthy = photo(&app, &user, 30, 30).await;
    let other: Value = created(&app, &user.access, &healthy, "w_10").await;

    let failed = finished(&app, link["id"].as_str().unwrap()).await;
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"], "the original image could not be read");
    let res = app.fetch(link["url"].as_str().unwrap()).await;
    let problem = assert_problem(res, StatusCode::GONE).await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("could not be read"));
    assert_eq!(
        finished(&app, other["id"].as_str().unwrap()).await["status"],
        "done"
    );
    let admin = app.admin().await.access.clone();
    let report: Value = app
        .get("/api/admin/queues", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        report["jobs"],
        json!({ "pending": 0, "done": 1, "failed": 1 })
    );
    if amqp_url().is_some() {
        let dead = &report["queues"][1];
        assert!(dead["name"].as_str().unwrap().ends_with(".dead"));
        assert_eq!(
            dead["ready"], 1,
            "the poison job is in the dead-letter queue"
        );
    }
    let metrics = app.get("/metrics", None).await.text().await.unwrap();
    assert!(
        metrics.contains("photoshare_jobs_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );
}

#[actix_web::test]
async fn deleting_the_photo_deletes_its_links() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 40, 40).await;
    let link: Value = created(&app, &user.access, &id, "w_10").await;
    finished(&app, link["id"].as_str().unwrap()).await;
    let res = app
        .delete(&format!("/api/photos/{id}"), Some(&user.access))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let path = format!("/api/transformations/{}", link["id"].as_str().unwrap());
    assert_problem(app.get(&path, None).await, StatusCode::NOT_FOUND).await;
    let public = app.fetch(link["url"].as_str().unwrap()).await;
    assert_problem(public, StatusCode::NOT_FOUND).await;
    eventually("the purge removes the link's files", || async {
        app.media_keys("t/").await.is_empty()
    })
    .await;
}
