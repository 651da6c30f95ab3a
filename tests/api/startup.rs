use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use photoshare::app::Application;
use photoshare::config::Environment;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::json;

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

/// Starts the real binary on the embedded stack and returns it with its address.
fn start_binary(data_dir: &std::path::Path, secret: &str) -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_photoshare"))
        .args(["serve", "--no-worker"])
        .env("PHOTOSHARE__DATA_DIR", data_dir)
        .env("PHOTOSHARE__SERVER__PORT", "0")
        .env("PHOTOSHARE__AUTH__JWT_SECRET", secret)
        .env("PHOTOSHARE__LOG__FORMAT", "json")
        .env_remove("PHOTOSHARE__DATABASE__URI")
        .env("RUST_LOG", "info")
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
    std::thread::spawn(move || for _ in lines {});
    (child, address)
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
