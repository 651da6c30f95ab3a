//! Faults with the real services: the database going away and coming back, and
//! SIGTERM to the real binary (`photoshare serve` and `photoshare worker`).

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{amqp_url, assert_problem, spawn_app_with, Role};
use crate::proxy::{host_port, via, Proxy};

/// MongoDB through a proxy that goes down: reads and writes get 503 problem+json,
/// `/readyz` names the database, nothing half-done is left, and the same process
/// serves again once the database is back. Skipped without
/// `PHOTOSHARE_TEST_MONGODB_URI` (the embedded database lives in the process).
#[actix_web::test]
async fn database_outage_is_503_and_the_service_recovers_without_a_restart() {
    let Ok(uri) = std::env::var("PHOTOSHARE_TEST_MONGODB_URI") else {
        return;
    };
    let proxy = Proxy::start(host_port(&uri)).await;
    // directConnection: the driver must not discover the server's own address and
    // go around the proxy.
    let proxied = format!("{}/?directConnection=true", via(&uri, proxy.port));
    let app = spawn_app_with(|s| s.database.uri = proxied.into()).await;
    let user = app.signup_and_login(Role::User).await;
    let photo = app
        .upload_ok(&user.access, crate::fixtures::png(16, 16), &[])
        .await;
    let id = photo["id"].as_str().unwrap();
    let comments = format!("/api/photos/{id}/comments");

    proxy.down();
    let res = app.get(&format!("/api/photos/{id}"), None).await;
    let problem = assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        !detail.contains("27017") && !detail.contains("mongo"),
        "{detail}"
    );
    let res = app
        .post_json(&comments, &json!({"text": "lost?"}), Some(&user.access))
        .await;
    assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    let res = app.get("/readyz", None).await;
    let problem = assert_problem(res, StatusCode::SERVICE_UNAVAILABLE).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("database"),
        "{problem}"
    );

    proxy.up();
    let deadline = Instant::now() + Duration::from_secs(60);
    while app.get("/readyz", None).await.status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "ready again within 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let res = app
        .post_json(&comments, &json!({"text": "back"}), Some(&user.access))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let page: Value = app.get(&comments, None).await.json().await.unwrap();
    let texts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    // The refused write may have reached the database before the cut or not at all;
    // what the client was told failed must not appear as a duplicate or half-write.
    assert!(texts.ends_with(&["back"]), "{texts:?}");
    assert!(texts.len() <= 2, "{texts:?}");
}

pub fn sigterm(child: &std::process::Child) {
    // SAFETY: kill(2) with a pid we own and a valid signal number.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    assert_eq!(rc, 0);
}

/// Waits for the process to exit, at most `bound`.
pub fn exit_within(child: &mut std::process::Child, bound: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + bound;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running {bound:?} after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM in the middle of an upload: the server stops accepting connections,
/// finishes the request in flight (the photo is stored), and exits 0.
#[actix_web::test]
async fn sigterm_finishes_the_request_in_flight_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let secret = crate::helpers::random_hex(32);
    let (mut child, address) = crate::startup::start_serve(dir.path(), &secret, &["serve"]);
    let client = reqwest::Client::new();
    let token = crate::startup::signup_and_login(&client, &address, "term").await;

    let boundary = "XtermX";
    let mut body = format!(
        "--{boundary}\r\ncontent-disposition: form-data; name=\"description\"\r\n\r\n\
         sent across a shutdown\r\n--{boundary}\r\ncontent-disposition: form-data; \
         name=\"file\"; filename=\"a.png\"\r\ncontent-type: image/png\r\n\r\n"
    )
    .into_bytes();
    body.extend(crate::fixtures::png(64, 64));
    body.extend(format!("\r\n--{boundary}--\r\n").into_bytes());
    let host = address.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&host).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "POST /api/photos HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    let half = body.len() / 2;
    stream.write_all(&body[..half]).unwrap();
    std::thread::sleep(Duration::from_millis(300));

    let stopped_at = Instant::now();
    sigterm(&child);
    // Wait until the listener is closed: new connections are refused.
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&host).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting 10 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    stream.write_all(&body[half..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "the request in flight completes: {}",
        response.lines().next().unwrap_or_default()
    );
    let status = exit_within(&mut child, Duration::from_secs(15));
    assert!(status.success(), "exit status {status:?}");
    assert!(stopped_at.elapsed() < Duration::from_secs(15));

    // The photo is there after a restart.
    let (mut again, address) = crate::startup::start_serve(dir.path(), &secret, &["serve"]);
    let page = crate::startup::get_json(&client, &format!("{address}/api/photos?q=shutdown")).await;
    sigterm(&again);
    let status = exit_within(&mut again, Duration::from_secs(15));
    assert_eq!(page["total"], 1, "{page}");
    assert!(status.success());
}

/// `photoshare worker` stops on SIGTERM with exit 0 (jobs in hand stay unacked and
/// go to another worker: `rabbit::a_job_whose_worker_is_killed_mid_job...`).
#[actix_web::test]
async fn the_worker_process_exits_0_on_sigterm() {
    let Some(url) = amqp_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_photoshare"))
        .arg("worker")
        .env("PHOTOSHARE__DATA_DIR", dir.path())
        .env_remove("PHOTOSHARE__DATABASE__URI")
        .env("PHOTOSHARE__QUEUE__AMQP_URL", &url)
        .env(
            "PHOTOSHARE__QUEUE__PREFIX",
            format!("test_{}", crate::helpers::random_hex(6)),
        )
        .env("PHOTOSHARE__QUEUE__IDLE_EXPIRY_SECONDS", "60")
        .env(
            "PHOTOSHARE__AUTH__JWT_SECRET",
            crate::helpers::random_hex(32),
        )
        .env("PHOTOSHARE__LOG__FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let line = rx
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .expect("the worker reports it is running");
        if line.contains("worker running") {
            break;
        }
    }
    sigterm(&child);
    let status = exit_within(&mut child, Duration::from_secs(15));
    assert!(status.success(), "exit status {status:?}");
    let rest: Vec<String> = rx.iter().collect();
    assert!(
        rest.iter().any(|l| l.contains("worker stopping")),
        "{rest:?}"
    );
}
