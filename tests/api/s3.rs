//! Media on S3 (Garage in CI): the backend against the real server, the outage
//! answers, and several nodes that share only the database, the broker and the
//! bucket. These run on the stack with `PHOTOSHARE_TEST_S3_ENDPOINT` set (see
//! `scripts/garage.sh`); on the others they return at once.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use image::GenericImageView;
use photoshare::config::Settings;
use photoshare::media::s3::S3Media;
use photoshare::media::MediaStore;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::helpers::{
    amqp_url, assert_problem, random_hex, s3_env, s3_settings, spawn_app_with, Role,
};
use crate::proxy::{host_port, Proxy};
use crate::startup::{
    create_link, get_json, settled_link, signup_and_login, start_serve_on, upload_png,
};
use crate::tus::{create_on, patch_on, request as tus};

/// Stops the child when the test ends, however it ends.
struct Node(Child);

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `photoshare worker` with `env`, once it says it runs.
fn start_worker(data_dir: &std::path::Path, secret: &str, env: &[(&str, String)]) -> Node {
    let mut child = Command::new(env!("CARGO_BIN_EXE_photoshare"))
        .arg("worker")
        .env("PHOTOSHARE__DATA_DIR", data_dir)
        .env("PHOTOSHARE__AUTH__JWT_SECRET", secret)
        .env("PHOTOSHARE__LOG__FORMAT", "json")
        .env("RUST_LOG", "info")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stderr(Stdio::piped())
        .spawn()
        .expect("worker starts");
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    loop {
        let line = lines.next().expect("a log line").expect("utf-8 log");
        if line.contains("worker running") {
            break;
        }
    }
    std::thread::spawn(move || lines.map_while(Result::ok).for_each(drop));
    Node(child)
}

fn s3_secret() -> String {
    std::env::var("PHOTOSHARE_TEST_S3_SECRET_ACCESS_KEY").unwrap_or_default()
}

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[actix_web::test]
async fn objects_round_trip_in_parts_and_folders_go_at_once() {
    let Some(settings) = s3_settings() else {
        return;
    };
    let s3 = S3Media::new(&settings).unwrap();
    s3.ping().await.unwrap();
    // 20 MiB and one byte: three parts of 8 MiB, the last short.
    let big: Vec<u8> = (0..20 * 1024 * 1024 + 1).map(|i| (i % 251) as u8).collect();
    s3.put("p/ab/big.jpg", Bytes::from(big.clone()), "image/jpeg")
        .await
        .unwrap();
    let back = s3.get("p/ab/big.jpg").await.unwrap().expect("stored");
    assert_eq!(sha(&back), sha(&big));
    assert!(s3.exists("p/ab/big.jpg").await.unwrap());
    assert_eq!(s3.get("p/ab/none.jpg").await.unwrap(), None);
    assert!(!s3.exists("p/ab/none.jpg").await.unwrap());
    for key in ["x/photo1/a.jpg", "x/photo1/b.webp", "x/photo10/c.jpg"] {
        s3.put(key, Bytes::from_static(b"r"), "image/jpeg")
            .await
            .unwrap();
    }
    s3.delete_prefix("x/photo1/").await.unwrap();
    let keys: Vec<String> = s3
        .list()
        .await
        .unwrap()
        .expect("S3 lists")
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        keys,
        ["p/ab/big.jpg", "x/photo10/c.jpg"],
        "listed without the prefix"
    );
    s3.delete("p/ab/big.jpg").await.unwrap();
    s3.delete("p/ab/big.jpg").await.unwrap();
    s3.delete("x/photo10/c.jpg").await.unwrap();
    assert_eq!(s3.get("p/ab/big.jpg").await.unwrap(), None);
    for bad in ["../x", "/abs", "A/b", ""] {
        assert!(s3.get(bad).await.is_err(), "{bad}");
    }
    assert!(s3.delete_prefix("x/").await.is_err(), "never a whole area");
}

#[actix_web::test]
async fn wrong_keys_are_a_clear_startup_error_without_the_secret() {
    let Some(mut s3) = s3_settings() else {
        return;
    };
    s3.secret_access_key = "wrong-secret-0123456789".to_owned().into();
    let dir = tempfile::tempdir().unwrap();
    let mut settings = crate::helpers::test_settings(dir.path());
    settings.media.s3 = s3;
    let err = photoshare::app::Application::build(settings)
        .await
        .err()
        .expect("refused");
    let text = format!("{err:#}");
    assert!(text.contains("cannot reach the S3 bucket"), "{text}");
    assert!(!text.contains("wrong-secret"), "{text}");
}

#[actix_web::test]
async fn redirect_mode_answers_with_presigned_urls_that_serve_the_bytes() {
    let Some(_) = s3_settings() else {
        return;
    };
    let app = spawn_app_with(|s| s.media.s3.redirect = true).await;
    let user = app.signup_and_login(Role::User).await;
    let png = crate::fixtures::png(64, 48);
    let photo = app.upload_ok(&user.access, png, &[]).await;
    let res = app.fetch(photo["url"].as_str().unwrap()).await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.contains("X-Amz-Signature="), "{location}");
    assert!(!location.contains(&s3_secret()), "{location}");
    let direct = reqwest::get(&location).await.unwrap();
    assert_eq!(direct.status(), StatusCode::OK);
    let original = image::load_from_memory(&direct.bytes().await.unwrap()).unwrap();
    assert_eq!((original.width(), original.height()), (64, 48));
    // A display size is made before the client is sent to it.
    let res = app
        .fetch(photo["variants"]["thumb"].as_str().unwrap())
        .await;
    assert_eq!(res.status(), StatusCode::FOUND);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let thumb = reqwest::get(&location)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let decoded = image::load_from_memory(&thumb).expect("a real image");
    assert_eq!(decoded.dimensions(), (256, 256), "the thumb's square");
}

/// S3 through a proxy that goes down: media routes answer 503 problem+json,
/// `/readyz` names media storage, JSON routes keep working, an upload fails
/// whole (no record left behind), and all is well again once S3 is back.
#[actix_web::test]
async fn s3_outage_is_503_on_media_and_json_routes_keep_working() {
    let Some(s3) = s3_settings() else {
        return;
    };
    let proxy = Proxy::start(host_port(&s3.endpoint)).await;
    let proxied = format!("http://127.0.0.1:{}", proxy.port);
    let app = spawn_app_with(|s| s.media.s3.endpoint = proxied).await;
    let user = app.signup_and_login(Role::User).await;
    let photo = app
        .upload_ok(&user.access, crate::fixtures::png(32, 32), &[])
        .await;
    let id = photo["id"].as_str().unwrap();
    let (url, thumb) = (photo["url"].as_str().unwrap(), &photo["variants"]["thumb"]);
    // A resumable upload half in.
    let file = crate::fixtures::noise_png(40, 40);
    let half = file.len() / 2;
    let upload = create_on(&app.client, &app.url(""), &user.access, file.len()).await;
    let upload = app.url(&format!("/api/uploads/{upload}"));
    let res = patch_on(&app.client, &upload, &user.access, 0, &file[..half]).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);

    proxy.down();
    let res = patch_on(&app.client, &upload, &user.access, half, &file[half..]).await;
    assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    let res = app.fetch(url).await;
    let problem = assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(!problem.to_string().contains(&s3_secret()), "{problem}");
    let res = app.fetch(thumb.as_str().unwrap()).await;
    assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    let res = app.get("/readyz", None).await;
    let problem = assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("media storage"),
        "{problem}"
    );
    let res = app.get(&format!("/api/photos/{id}"), None).await;
    assert_eq!(res.status(), StatusCode::OK, "JSON routes do not need S3");
    let res = app
        .upload(&user.access, crate::fixtures::png(20, 20), "b.png", &[])
        .await;
    assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    let mine: Value = app
        .get(&format!("/api/users/{}/photos", user.username), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1, "the refused upload left no photo");

    proxy.up();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while app.get("/readyz", None).await.status() != StatusCode::OK {
        assert!(
            std::time::Instant::now() < deadline,
            "ready again within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(app.fetch(url).await.status(), StatusCode::OK);
    // The upload resumes where it was before the outage.
    let res = tus(&app.client, Method::HEAD, &upload, &user.access)
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["upload-offset"], half.to_string().as_str());
    let res = patch_on(&app.client, &upload, &user.access, half, &file[half..]).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert!(res.headers().contains_key("photoshare-photo-id"));
}

/// Two API processes and two workers on MongoDB + RabbitMQ + S3, each with a data
/// folder of its own: an upload on one node is served by the other, a link a
/// worker made is served by both, and a worker killed while jobs run loses none.
#[actix_web::test]
async fn two_api_nodes_and_two_workers_share_only_database_broker_and_bucket() {
    let (Ok(mongo), Some(amqp), Some(s3)) = (
        std::env::var("PHOTOSHARE_TEST_MONGODB_URI"),
        amqp_url(),
        s3_settings(),
    ) else {
        return;
    };
    let secret = random_hex(32);
    let mut settings = Settings::defaults();
    settings.media.s3 = s3;
    let mut env = vec![
        ("PHOTOSHARE__DATABASE__URI", mongo),
        (
            "PHOTOSHARE__DATABASE__NAME",
            format!("test_{}", random_hex(8)),
        ),
        ("PHOTOSHARE__QUEUE__AMQP_URL", amqp),
        (
            "PHOTOSHARE__QUEUE__PREFIX",
            format!("test_{}", random_hex(6)),
        ),
        ("PHOTOSHARE__QUEUE__IDLE_EXPIRY_SECONDS", "600".to_owned()),
    ];
    env.extend(s3_env(&settings));
    let dirs: Vec<tempfile::TempDir> = (0..4).map(|_| tempfile::tempdir().unwrap()).collect();
    let api = ["serve", "--no-worker"];
    let (a, at_a, _) = start_serve_on(dirs[0].path(), &secret, &api, &env);
    let (b, at_b, _) = start_serve_on(dirs[1].path(), &secret, &api, &env);
    let (_a, _b) = (Node(a), Node(b));
    let mut first_worker = Some(start_worker(dirs[2].path(), &secret, &env));
    let _second_worker = start_worker(dirs[3].path(), &secret, &env);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();

    // Signed up on A, signed in on B: one account.
    let token = signup_and_login(&client, &at_a, "multinode").await;
    let photo = upload_png(&client, &at_a, &token, crate::fixtures::png(120, 80)).await;
    let id = photo["id"].as_str().unwrap();
    let path = photo["url"].as_str().unwrap().trim_start_matches(&at_a);
    let mut served = Vec::new();
    for node in [&at_b, &at_a] {
        let res = client.get(format!("{node}{path}")).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{node}");
        served.push(res.bytes().await.unwrap());
    }
    assert_eq!(served[0], served[1], "both nodes serve the one object");
    let original = image::load_from_memory(&served[0]).expect("a real image");
    assert_eq!((original.width(), original.height()), (120, 80));

    // Jobs published on B; the first worker is killed while they run.
    let mut links = Vec::new();
    for width in [20, 30, 40, 50, 60, 70] {
        let transformation = format!("w_{width}/e_grayscale");
        links.push(create_link(&client, &at_b, &token, id, &transformation).await);
        if width == 40 {
            drop(first_worker.take());
        }
    }
    for link in &links {
        let done = settled_link(&client, &at_a, link["id"].as_str().unwrap(), 600).await;
        assert_eq!(done["status"], "done", "{link}");
        let url = done["url"].as_str().unwrap();
        // The path of the link's URL (whichever node's address it carries).
        let public = url.splitn(4, '/').nth(3).unwrap();
        let mut bodies = Vec::new();
        for node in [&at_a, &at_b] {
            let res = client.get(format!("{node}/{public}")).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{node}");
            bodies.push(res.bytes().await.unwrap());
        }
        assert_eq!(bodies[0], bodies[1], "both nodes serve one object");
        let image = image::load_from_memory(&bodies[0]).expect("a real image");
        assert!(image.width() <= 70);
    }
    // A resumable upload begun on A goes on on B once A is gone.
    let file = crate::fixtures::noise_png(90, 60);
    let half = file.len() / 2;
    let upload = create_on(&client, &at_a, &token, file.len()).await;
    let on = |node: &str| format!("{node}/api/uploads/{upload}");
    let res = patch_on(&client, &on(&at_a), &token, 0, &file[..half]).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    drop(_a);
    let res = tus(&client, Method::HEAD, &on(&at_b), &token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["upload-offset"], half.to_string().as_str());
    // A stale retry of the first chunk is refused: B knows the offset.
    let res = patch_on(&client, &on(&at_b), &token, 0, &file[..half]).await;
    assert_eq!(res.status(), StatusCode::CONFLICT);
    let res = patch_on(&client, &on(&at_b), &token, half, &file[half..]).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let photo_id = res.headers()["photoshare-photo-id"].to_str().unwrap();
    let photo = get_json(&client, &format!("{at_b}/api/photos/{photo_id}")).await;
    let path = photo["url"]
        .as_str()
        .unwrap()
        .splitn(4, '/')
        .nth(3)
        .unwrap();
    let stored = client.get(format!("{at_b}/{path}")).send().await.unwrap();
    let stored = image::load_from_memory(&stored.bytes().await.unwrap()).expect("an image");
    let sent = image::load_from_memory(&file).unwrap();
    assert_eq!(
        stored.to_rgba8(),
        sent.to_rgba8(),
        "the two halves make the photo"
    );

    // Nothing was kept on any node's disk.
    for dir in &dirs {
        for folder in ["media", "partial-uploads"] {
            let files = walk(&dir.path().join(folder));
            assert!(files.is_empty(), "{files:?}");
        }
    }
    let media = S3Media::new(&settings.media.s3).unwrap();
    let left = media.list_folder("partial-uploads/").await.unwrap();
    let chunks: Vec<_> = left
        .unwrap_or_default()
        .into_iter()
        .filter(|(k, _)| !k.ends_with(".json"))
        .collect();
    assert!(
        chunks.is_empty(),
        "the chunks go once the photo is stored: {chunks:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
