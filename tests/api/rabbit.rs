//! Fault tests against the real RabbitMQ (`PHOTOSHARE_TEST_AMQP_URL`; skipped
//! without it). The broker "goes down" for one app through a TCP proxy that cuts
//! every connection and refuses new ones, so other tests sharing the broker are
//! not disturbed.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{amqp_url, spawn_app_with, use_rabbitmq, Role};
use crate::proxy::{host_port, via, Proxy};
use crate::transformations::{create, created, finished, photo};

#[actix_web::test]
async fn links_made_while_the_broker_is_down_complete_after_it_returns() {
    let Some(url) = amqp_url() else {
        return;
    };
    let proxy = Proxy::start(host_port(&url)).await;
    let proxied = via(&url, proxy.port);
    let app = spawn_app_with(|s| {
        use_rabbitmq(s, &proxied);
        s.queue.sweep_seconds = 1;
    })
    .await;
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 40, 40).await;

    proxy.down();
    let mut links = Vec::new();
    for t in ["w_10", "w_11", "w_12"] {
        let res = create(&app, &user.access, &id, t).await;
        assert_eq!(
            res.status(),
            StatusCode::ACCEPTED,
            "the API answers without the broker"
        );
        let link: Value = res.json().await.unwrap();
        assert_eq!(link["status"], "pending");
        links.push(link["id"].as_str().unwrap().to_owned());
    }
    let ready = app.get("/readyz", None).await;
    assert_eq!(
        ready.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "readyz names the queue"
    );
    let body: Value = ready.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("job queue"),
        "{body}"
    );

    proxy.up();
    for id in &links {
        assert_eq!(
            finished(&app, id).await["status"],
            "done",
            "nothing is lost"
        );
    }
    assert_eq!(app.get("/readyz", None).await.status(), StatusCode::OK);
}

/// A `photoshare worker` process of the test binary, on the app's database,
/// broker queues and media.
fn worker_process(app: &crate::helpers::TestApp) -> std::process::Child {
    use secrecy::ExposeSecret;
    let s = &app.settings;
    std::process::Command::new(env!("CARGO_BIN_EXE_photoshare"))
        .arg("worker")
        .env("PHOTOSHARE__DATA_DIR", &s.data_dir)
        .env("PHOTOSHARE__DATABASE__URI", s.database.uri.expose_secret())
        .env("PHOTOSHARE__DATABASE__NAME", &s.database.name)
        .env(
            "PHOTOSHARE__QUEUE__AMQP_URL",
            s.queue.amqp_url.expose_secret(),
        )
        .env("PHOTOSHARE__QUEUE__PREFIX", &s.queue.prefix)
        .env("PHOTOSHARE__QUEUE__IDLE_EXPIRY_SECONDS", "600")
        .env("PHOTOSHARE__QUEUE__WORKERS", "1")
        .env("PHOTOSHARE__SERVER__PUBLIC_URL", &app.address)
        .env(
            "PHOTOSHARE__AUTH__JWT_SECRET",
            s.auth.jwt_secret.expose_secret(),
        )
        .envs(crate::helpers::s3_env(s))
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("worker starts")
}

async fn work_queue(app: &crate::helpers::TestApp, admin: &str) -> Value {
    let report: Value = app
        .get("/api/admin/queues", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    report["queues"][0].clone()
}

/// A worker killed (SIGKILL) in the middle of a job: the broker delivers the job
/// again to the next worker, which makes the image. Needs MongoDB too: two
/// processes cannot share the embedded database file.
#[actix_web::test]
async fn a_job_whose_worker_is_killed_mid_job_completes_on_redelivery() {
    if amqp_url().is_none() || std::env::var("PHOTOSHARE_TEST_MONGODB_URI").is_err() {
        return;
    }
    let app = crate::helpers::spawn_app_without_worker().await;
    let admin = app.admin().await.access.clone();
    let user = app.signup_and_login(Role::User).await;
    // A 6 MP image and two rotations by odd angles (12 then 23 MP of bilinear
    // sampling): seconds of work in a debug build, for a modest upload.
    let big = crate::fixtures::encode(
        &image::DynamicImage::ImageRgb8(crate::fixtures::quadrants_sized(3000, 2000)),
        image::ImageFormat::Jpeg,
    );
    let photo: Value = app.upload_ok(&user.access, big, &[]).await;
    let photo_id = photo["id"].as_str().unwrap();

    let mut first = worker_process(&app);
    for _ in 0..200 {
        if work_queue(&app, &admin).await["consumers"] == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let link: Value = created(&app, &user.access, photo_id, "a_33/a_-33").await;
    let link_id = link["id"].as_str().unwrap();
    // Delivered (nothing ready) and not finished: the job is in the worker's hands.
    for _ in 0..200 {
        if work_queue(&app, &admin).await["ready"] == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    first.kill().unwrap();
    first.wait().unwrap();
    let now: Value = app
        .get(&format!("/api/transformations/{link_id}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(now["status"], "pending", "killed before it finished");

    let mut second = worker_process(&app);
    let done = finished(&app, link_id).await;
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(done["status"], "done", "completed on redelivery");
    let res = app.fetch(done["url"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::OK);
    let img = image::load_from_memory(&res.bytes().await.unwrap()).unwrap();
    assert!(
        img.width() > 4000 && img.height() > 3000,
        "rotated bounding box"
    );
}
