use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use photoshare::app::Application;
use photoshare::config::Environment;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{json, Value};

use crate::helpers::{random_hex, test_settings, PASSWORD};

#[actix_web::test]
async fn production_without_a_jwt_secret_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.environment = Environment::Production;
    settings.auth.jwt_secret = SecretString::from("");

    let err = Application::build(settings).await.err().expect("refused");

    assert!(err.to_string().contains("JWT_SECRET"), "{err}");
}

#[actix_web::test]
async fn unreachable_mongodb_is_a_clear_startup_error_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.database.uri = "mongodb://alice:s3cret@127.0.0.1:1/photos".into();

    let err = Application::build(settings).await.err().expect("refused");

    let text = format!("{err:#}");
    assert!(
        text.contains("cannot reach MongoDB at mongodb://127.0.0.1:1/photos"),
        "{text}"
    );
    assert!(!text.contains("s3cret"));
}

#[actix_web::test]
async fn unreachable_rabbitmq_is_a_clear_startup_error_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let mut settings = test_settings(dir.path());
    settings.database.uri = "".into();
    settings.queue.amqp_url = "amqp://bob:hunter2@127.0.0.1:1/%2f".into();

    let err = Application::build(settings).await.err().expect("refused");

    let text = format!("{err:#}");
    assert!(
        text.contains("cannot reach RabbitMQ at amqp://127.0.0.1:1/%2f"),
        "{text}"
    );
    assert!(!text.contains("hunter2"));
}

/// Starts the real binary on the embedded stack and returns it with its address.
fn start_binary(data_dir: &std::path::Path, secret: &str) -> (std::process::Child, String) {
    start_serve(data_dir, secret, &["serve", "--no-worker"])
}

pub fn start_serve(
    data_dir: &std::path::Path,
    secret: &str,
    args: &[&str],
) -> (std::process::Child, String) {
    let (child, address, _log) = start_serve_logged(data_dir, secret, args);
    (child, address)
}

/// Like `start_serve`, with the JSON log lines after the "listening" one: the
/// receiver ends when the process exits.
pub fn start_serve_logged(
    data_dir: &std::path::Path,
    secret: &str,
    args: &[&str],
) -> (
    std::process::Child,
    String,
    std::sync::mpsc::Receiver<String>,
) {
    start_serve_on(data_dir, secret, args, &[])
}

/// Like `start_serve_logged`, with more environment (another stack's settings).
pub fn start_serve_on(
    data_dir: &std::path::Path,
    secret: &str,
    args: &[&str],
    env: &[(&str, String)],
) -> (
    std::process::Child,
    String,
    std::sync::mpsc::Receiver<String>,
) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_photoshare"))
        .args(args)
        .env("PHOTOSHARE__DATA_DIR", data_dir)
        .env("PHOTOSHARE__SERVER__PORT", "0")
        .env("PHOTOSHARE__AUTH__JWT_SECRET", secret)
        .env("PHOTOSHARE__LOG__FORMAT", "json")
        .env_remove("PHOTOSHARE__DATABASE__URI")
        .env("RUST_LOG", "info")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let stderr = child.stderr.take().unwrap();
    let mut lines = BufReader::new(stderr).lines();
    let address = loop {
        let line = lines.next().expect("a log line").expect("utf-8 log");
        if let Some(at) = line.find("listening on http://") {
            let rest = &line[at + "listening on ".len()..];
            break rest.split('"').next().unwrap().to_owned();
        }
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    (child, address, rx)
}

/// Uploads a PNG to a running binary and returns the photo.
pub async fn upload_png(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    png: Vec<u8>,
) -> Value {
    let part = reqwest::multipart::Part::bytes(png).file_name("a.png");
    client
        .post(format!("{address}/api/photos"))
        .bearer_auth(token)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// A GET's JSON answer.
pub async fn get_json(client: &reqwest::Client, url: &str) -> Value {
    let res = client.get(url).send().await.unwrap();
    res.json().await.unwrap()
}

/// Asks a running binary for a transformation link of a photo; returns the link.
pub async fn create_link(
    client: &reqwest::Client,
    address: &str,
    token: &str,
    photo_id: &str,
    transformation: &str,
) -> Value {
    client
        .post(format!("{address}/api/photos/{photo_id}/transformations"))
        .bearer_auth(token)
        .json(&json!({ "transformation": transformation }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// The link as a running binary reports it once it is no longer pending, or
/// after `attempts` polls 50 ms apart.
pub async fn settled_link(
    client: &reqwest::Client,
    address: &str,
    link_id: &str,
    attempts: u32,
) -> Value {
    let path = format!("{address}/api/transformations/{link_id}");
    let mut link = Value::Null;
    for _ in 0..attempts {
        link = get_json(client, &path).await;
        if link["status"] != "pending" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    link
}

/// Signs up `username` (password `PASSWORD`) on a running binary and returns an
/// access token.
pub async fn signup_and_login(client: &reqwest::Client, address: &str, username: &str) -> String {
    let signup = client
        .post(format!("{address}/api/auth/signup"))
        .json(
            &json!({"username": username, "email": format!("{username}@example.com"),
                      "password": PASSWORD}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(signup.status(), StatusCode::CREATED, "signup of {username}");
    let tokens: Value = client
        .post(format!("{address}/api/auth/login"))
        .json(&json!({"username": username, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

#[actix_web::test]
async fn a_killed_process_loses_no_acknowledged_write() {
    let dir = tempfile::tempdir().unwrap();
    let secret = random_hex(32);
    let client = reqwest::Client::new();
    let (mut first, address) = start_binary(dir.path(), &secret);
    let res = client
        .post(format!("{address}/api/auth/signup"))
        .json(&json!({"username": "durable", "email": "d@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);

    first.kill().unwrap(); // SIGKILL: no shutdown hooks run
    first.wait().unwrap();
    let (mut second, address) = start_binary(dir.path(), &secret);
    let res = client
        .post(format!("{address}/api/auth/login"))
        .json(&json!({"username": "durable", "password": PASSWORD}))
        .send()
        .await
        .unwrap();

    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[actix_web::test]
async fn healthcheck_command_reports_the_servers_health() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, address) = start_binary(dir.path(), &random_hex(32));
    let port = address.rsplit(':').next().unwrap().to_owned();
    let check = |port: &str| {
        Command::new(env!("CARGO_BIN_EXE_photoshare"))
            .arg("healthcheck")
            .env("PHOTOSHARE__SERVER__PORT", port)
            .status()
            .unwrap()
    };

    let healthy = check(&port);
    server.kill().unwrap();
    server.wait().unwrap();
    let down = check(&port);

    assert!(healthy.success());
    assert!(!down.success());
}

#[test]
fn transform_command_writes_the_transformed_file_and_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.png");
    std::fs::write(&input, crate::fixtures::png(80, 40)).unwrap();
    let run = |out: &str, t: &str| {
        Command::new(env!("CARGO_BIN_EXE_photoshare"))
            .arg("transform")
            .arg(&input)
            .arg(dir.path().join(out))
            .arg(t)
            .env("PHOTOSHARE__DATA_DIR", dir.path())
            .output()
            .unwrap()
    };

    let ok = run("out.JPG", "c_fill,w_20,h_10");
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let written = std::fs::read(dir.path().join("out.JPG")).unwrap();
    assert_eq!(&written[..3], [0xFF, 0xD8, 0xFF], "JPEG from the extension");
    let img = image::load_from_memory(&written).unwrap();
    assert_eq!((img.width(), img.height()), (20, 10));

    let png = run("out.jpg", "w_10/f_png");
    assert!(png.status.success());
    let written = std::fs::read(dir.path().join("out.jpg")).unwrap();
    assert_eq!(&written[1..4], b"PNG", "f_ wins over the extension");

    for (out, t, says) in [
        ("bad.jpg", "w_abc", "w:"),
        ("bad.bmp", "w_10", "output format"),
        ("bad.jpg", "c_crop,w_10,x_5/zz_1", "zz"),
    ] {
        let failed = run(out, t);
        assert!(!failed.status.success(), "{t} must fail");
        let stderr = String::from_utf8_lossy(&failed.stderr);
        assert!(stderr.contains(says), "{t}: {stderr}");
        assert!(!dir.path().join(out).exists(), "{t}: nothing written");
    }
    let missing = Command::new(env!("CARGO_BIN_EXE_photoshare"))
        .args(["transform", "/nonexistent.png", "/tmp/x.png", "w_1"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read"));
}

/// The in-process queue keeps nothing itself: a pending link in the embedded database
/// is the job, so a process killed before running it loses nothing.
#[actix_web::test]
async fn a_pending_job_survives_a_killed_process_and_runs_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let secret = random_hex(32);
    let client = reqwest::Client::new();
    let (mut first, address) = start_binary(dir.path(), &secret);
    let token = signup_and_login(&client, &address, "resumer").await;
    let photo = upload_png(&client, &address, &token, crate::fixtures::png(40, 20)).await;
    let id = photo["id"].as_str().unwrap();
    let link = create_link(&client, &address, &token, id, "w_10").await;
    assert_eq!(link["status"], "pending", "no worker in the first process");
    first.kill().unwrap();
    first.wait().unwrap();

    let (mut second, address) = start_serve(dir.path(), &secret, &["serve"]);
    let link_id = link["id"].as_str().unwrap();
    let status = settled_link(&client, &address, link_id, 300).await["status"].clone();
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(status, "done", "the restarted process ran the job");
}

/// `photoshare create-admin` makes the admin of an empty database (password from the
/// environment, never an argument); on a database with accounts it refuses.
#[actix_web::test]
async fn create_admin_bootstraps_an_empty_database_once() {
    let dir = tempfile::tempdir().unwrap();
    let secret = random_hex(32);
    let create = |username: &str| {
        Command::new(env!("CARGO_BIN_EXE_photoshare"))
            .args(["create-admin", "--username", username, "--email"])
            .arg(format!("{username}@example.com"))
            .env("PHOTOSHARE__DATA_DIR", dir.path())
            .env("PHOTOSHARE__AUTH__JWT_SECRET", &secret)
            .env("PHOTOSHARE_ADMIN_PASSWORD", PASSWORD)
            .env_remove("PHOTOSHARE__DATABASE__URI")
            .output()
            .unwrap()
    };
    let first = create("root");
    assert!(first.status.success(), "{first:?}");
    assert!(String::from_utf8_lossy(&first.stdout).contains("admin account root created"));
    let second = create("another");
    assert!(!second.status.success());
    assert!(
        String::from_utf8_lossy(&second.stderr).contains("already has 1 account"),
        "{second:?}"
    );

    let (mut child, address) = start_binary(dir.path(), &secret);
    let client = reqwest::Client::new();
    let login = |user: &'static str| {
        client
            .post(format!("{address}/api/auth/login"))
            .json(&json!({"username": user, "password": PASSWORD}))
            .send()
    };
    let tokens: Value = login("root").await.unwrap().json().await.unwrap();
    let me: Value = client
        .get(format!("{address}/api/users/me"))
        .bearer_auth(tokens["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let refused = login("another").await.unwrap().status();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(me["role"], "admin");
    assert_eq!(
        refused,
        StatusCode::UNAUTHORIZED,
        "the refused account does not exist"
    );
}
