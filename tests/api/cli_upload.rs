//! `photoshare upload DIR... --server URL` against a real server: killed mid-run
//! and run again, every photo arrives exactly once, unfinished uploads resume
//! from the server's offset, and a third run skips everything by sha256.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Digest;

use crate::fixtures;
use crate::helpers::{eventually, spawn_app, spawn_app_with, Role, TestApp, TestUser, PASSWORD};
use crate::tus::Link;

fn command(server: &str, user: &TestUser, dirs: &[&Path], state: &Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_photoshare"));
    cmd.arg("upload")
        .args(dirs)
        .args(["--server", server, "--jobs", "3", "--chunk-size", "16384"])
        .args(["--tag", "trip", "--tag", "Summer"])
        .arg("--state")
        .arg(state)
        .env("PHOTOSHARE_USERNAME", &user.username)
        .env("PHOTOSHARE_PASSWORD", PASSWORD)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    cmd
}

async fn run(mut cmd: tokio::process::Command) -> (bool, String, String) {
    let out = cmd.output().await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.success(), stdout, stderr)
}

async fn photo_count(app: &TestApp, user: &TestUser) -> u64 {
    let page: Value = app
        .get(
            &format!("/api/users/{}/photos?limit=1", user.username),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    page["total"].as_u64().unwrap()
}

fn remembered(state: &Path) -> HashMap<String, String> {
    std::fs::read(state)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// The offsets of the remembered uploads the server has part of.
async fn half_sent(app: &TestApp, user: &TestUser, state: &Path) -> Vec<u64> {
    let mut offsets = Vec::new();
    for url in remembered(state).values() {
        let res = app
            .client
            .request(Method::HEAD, url)
            .bearer_auth(&user.access)
            .header("Tus-Resumable", "1.0.0")
            .send()
            .await
            .unwrap();
        let Some(offset) = res.headers().get("upload-offset") else {
            continue;
        };
        let offset: u64 = offset.to_str().unwrap().parse().unwrap();
        let done = res.headers().contains_key("photoshare-photo-id");
        if res.status() == StatusCode::OK && offset > 0 && !done {
            offsets.push(offset);
        }
    }
    offsets.sort_unstable();
    offsets
}

#[actix_web::test]
async fn killed_mid_run_and_run_again_every_photo_arrives_once() {
    // A slow network (100 KB/s a connection), so the run can be stopped halfway.
    let link = Link::start(u64::MAX, Some(100_000)).await;
    let server = format!("http://127.0.0.1:{}", link.port);
    let app = spawn_app_with(|s| s.server.public_url = server.clone()).await;
    link.forward_to(&app);
    let ada = app.signup_and_login(Role::User).await;
    let photos = tempfile::tempdir().unwrap();
    let (a, b) = (photos.path().join("2025"), photos.path().join("2026/june"));
    std::fs::create_dir_all(&a).unwrap();
    std::fs::create_dir_all(&b).unwrap();
    let mut digests = Vec::new();
    for i in 0..24 {
        let bytes = fixtures::noise_png(150, 150);
        digests.push(hex::encode(sha2::Sha256::digest(&bytes)));
        let dir = if i % 2 == 0 { &a } else { &b };
        std::fs::write(dir.join(format!("img{i:02}.PNG")), bytes).unwrap();
    }
    // Not images, or hidden: left alone.
    std::fs::write(a.join("notes.txt"), "not a photo").unwrap();
    std::fs::write(a.join(".hidden.png"), fixtures::png(10, 10)).unwrap();
    let state_dir = tempfile::tempdir().unwrap();
    let state = state_dir.path().join("state.json");

    // First run, killed once some photos are in and others are half-sent.
    let cmd = &mut command(&server, &ada, &[&a, &b], &state);
    let mut child = cmd.spawn().unwrap();
    eventually(
        "some photos are uploaded and others are half-sent",
        || async {
            photo_count(&app, &ada).await >= 6 && !half_sent(&app, &ada, &state).await.is_empty()
        },
    )
    .await;
    child.kill().await.unwrap();
    let killed_at = photo_count(&app, &ada).await;
    assert!(killed_at < 24, "killed before the end");
    // What the server has of each remembered upload is where the next run goes on,
    // once the slow link has delivered what the killed command had sent.
    let mut resumable = half_sent(&app, &ada, &state).await;
    loop {
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let again = half_sent(&app, &ada, &state).await;
        if again == resumable {
            break;
        }
        resumable = again;
    }
    assert!(!resumable.is_empty());

    let (ok, stdout, stderr) = run(command(&server, &ada, &[photos.path()], &state)).await;
    assert!(ok, "{stdout}{stderr}");
    let summary = stdout.lines().last().unwrap();
    let numbers: Vec<usize> = summary
        .split(", ")
        .map(|part| part.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(numbers.len(), 3, "{summary}");
    assert_eq!(numbers[0] + numbers[1], 24, "{summary}");
    assert_eq!(numbers[2], 0, "{summary}");
    assert!(
        numbers[1] as u64 >= killed_at,
        "{summary}: what was in was skipped"
    );
    for offset in &resumable {
        let line = format!("at byte {offset}\n");
        assert!(stderr.contains(&line), "resumed at {offset}: {stderr}");
    }

    // Every photo exactly once, tagged.
    assert_eq!(photo_count(&app, &ada).await, 24);
    let res = app
        .post_json(
            "/api/photos/check",
            &json!({"sha256": digests}),
            Some(&ada.access),
        )
        .await;
    let existing: Value = res.json().await.unwrap();
    assert_eq!(existing["existing"].as_array().unwrap().len(), 24);
    let page: Value = app
        .get(&format!("/api/users/{}/photos?limit=1", ada.username), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["tags"], json!(["trip", "summer"]));
    assert!(remembered(&state).is_empty(), "nothing left to resume");

    // Again: nothing to send.
    let (ok, stdout, _) = run(command(&server, &ada, &[photos.path()], &state)).await;
    assert!(ok);
    assert_eq!(
        stdout.lines().last(),
        Some("uploaded 0, skipped 24, failed 0")
    );
}

#[actix_web::test]
async fn a_file_the_server_refuses_fails_the_run_and_a_wrong_password_stops_it() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let server = app.address.clone();
    let photos = tempfile::tempdir().unwrap();
    std::fs::write(photos.path().join("good.png"), fixtures::png(20, 20)).unwrap();
    std::fs::write(
        photos.path().join("junk.jpg"),
        "plain text, named like a photo",
    )
    .unwrap();
    let state = photos.path().join(".state.json");
    let (ok, stdout, stderr) = run(command(&server, &ada, &[photos.path()], &state)).await;
    assert!(!ok, "a failure makes the exit code non-zero");
    assert_eq!(
        stdout.lines().last(),
        Some("uploaded 1, skipped 0, failed 1")
    );
    assert!(
        stderr.contains("failed") && stderr.contains("junk.jpg"),
        "{stderr}"
    );

    let mut cmd = command(&server, &ada, &[photos.path()], &state);
    cmd.env("PHOTOSHARE_PASSWORD", "not-the-password");
    let (ok, _, stderr) = run(cmd).await;
    assert!(!ok);
    assert!(stderr.contains("sign-in refused"), "{stderr}");
}
