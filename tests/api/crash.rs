//! The real binary killed (SIGKILL) in the middle of a burst of concurrent writes —
//! uploads, tag edits, comments, ratings, transformations and deletions racing each
//! other — then restarted: every acknowledged write is there, every acknowledged
//! deletion is gone and purged, and `photoshare fsck` finds nothing but what an
//! interrupted upload can leave (a file without its record), which `--fix` removes.
//! On the stack the environment names: embedded, or MongoDB + RabbitMQ.

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rand::{rngs::StdRng, Rng, SeedableRng};
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::faults::{exit_within, sigterm};
use crate::helpers::{amqp_url, eventually, random_hex};
use crate::startup::{signup_and_login, start_serve_on};

/// What the server acknowledged before it was killed.
#[derive(Default)]
struct Acked {
    photos: BTreeSet<String>,
    /// Deletions sent, acknowledged or not: each either happened or did not.
    deletions_sent: BTreeSet<String>,
    deleted: BTreeSet<String>,
    /// (photo, comment id)
    comments: Vec<(String, String)>,
    writes: usize,
}

/// The stack's settings, from the test environment; a fresh database and queue names.
pub fn stack() -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    if let Ok(uri) = std::env::var("PHOTOSHARE_TEST_MONGODB_URI") {
        env.push(("PHOTOSHARE__DATABASE__URI", uri));
        env.push((
            "PHOTOSHARE__DATABASE__NAME",
            format!("crash_{}", random_hex(6)),
        ));
    }
    if let Some(url) = amqp_url() {
        env.push(("PHOTOSHARE__QUEUE__AMQP_URL", url));
        env.push((
            "PHOTOSHARE__QUEUE__PREFIX",
            format!("crash_{}", random_hex(6)),
        ));
        env.push(("PHOTOSHARE__QUEUE__IDLE_EXPIRY_SECONDS", "120".into()));
    }
    env.push(("PHOTOSHARE__QUEUE__SWEEP_SECONDS", "1".into()));
    env
}

pub async fn upload(client: &Client, address: &str, token: &str, tags: &str) -> Option<String> {
    let part = reqwest::multipart::Part::bytes(crate::fixtures::png(48, 32))
        .file_name("p.png")
        .mime_str("image/png")
        .unwrap();
    let form = reqwest::multipart::Form::new()
        .part("file", part)
        .text("tags", tags.to_owned());
    let res = client
        .post(format!("{address}/api/photos"))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .ok()?;
    if res.status() != StatusCode::CREATED {
        return None;
    }
    let photo: Value = res.json().await.ok()?;
    Some(photo["id"].as_str()?.to_owned())
}

/// Whether the server took the write; `Err` when it is gone.
async fn took(req: reqwest::RequestBuilder) -> Result<bool, ()> {
    req.send()
        .await
        .map(|r| r.status().is_success())
        .map_err(drop)
}

async fn get_json(client: &Client, url: &str) -> Value {
    let res = client.get(url).send().await.unwrap();
    res.json().await.unwrap_or_default()
}

/// One writer: random operations on the shared photos until the server dies.
async fn writer(seed: u64, address: String, owner: String, fan: String, acked: Arc<Mutex<Acked>>) {
    let client = Client::new();
    let mut rng = StdRng::seed_from_u64(seed);
    const TAGS: [&str; 4] = ["sea", "sky", "sun", "sand"];
    loop {
        let photos: Vec<String> = acked.lock().unwrap().photos.iter().cloned().collect();
        let target = photos[rng.gen_range(0..photos.len())].clone();
        let tag = TAGS[rng.gen_range(0..TAGS.len())];
        let op = rng.gen_range(0..10);
        let sent = match op {
            0 | 1 => match upload(&client, &address, &owner, tag).await {
                Some(id) => {
                    acked.lock().unwrap().photos.insert(id);
                    Ok(true)
                }
                None => Err(()),
            },
            2 | 3 => {
                let tags: Vec<&str> = TAGS.iter().copied().filter(|_| rng.gen_bool(0.5)).collect();
                let body = json!({"description": "edited", "tags": tags});
                let req = client.put(format!("{address}/api/photos/{target}"));
                took(req.bearer_auth(&owner).json(&body)).await
            }
            4 | 5 => {
                let req = client.post(format!("{address}/api/photos/{target}/comments"));
                match req
                    .bearer_auth(&fan)
                    .json(&json!({"text": "nice"}))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == StatusCode::CREATED => {
                        let c: Value = r.json().await.unwrap_or_default();
                        if let Some(id) = c["id"].as_str() {
                            acked
                                .lock()
                                .unwrap()
                                .comments
                                .push((target.clone(), id.into()));
                        }
                        Ok(true)
                    }
                    Ok(_) => Ok(false),
                    Err(_) => Err(()),
                }
            }
            6 => {
                let req = client.post(format!("{address}/api/photos/{target}/ratings"));
                let body = json!({"stars": rng.gen_range(1..=5)});
                took(req.bearer_auth(&fan).json(&body)).await
            }
            7 | 8 => {
                let req = client.post(format!("{address}/api/photos/{target}/transformations"));
                let body = json!({"transformation": format!("w_{}", rng.gen_range(4..40))});
                took(req.bearer_auth(&owner).json(&body)).await
            }
            _ => {
                if photos.len() < 4 {
                    continue;
                }
                acked.lock().unwrap().deletions_sent.insert(target.clone());
                let req = client.delete(format!("{address}/api/photos/{target}"));
                match req.bearer_auth(&owner).send().await {
                    Ok(r) if r.status() == StatusCode::NO_CONTENT => {
                        let mut a = acked.lock().unwrap();
                        a.photos.remove(&target);
                        a.deleted.insert(target.clone());
                        Ok(true)
                    }
                    Ok(_) => Ok(false),
                    Err(_) => Err(()),
                }
            }
        };
        match sent {
            Ok(true) => acked.lock().unwrap().writes += 1,
            Ok(false) => {}
            Err(()) => return, // the server is gone
        }
    }
}

/// `photoshare fsck` on the data of the (stopped) server: its exit and its lines.
pub fn fsck(
    dir: &std::path::Path,
    secret: &str,
    env: &[(&str, String)],
    fix: bool,
) -> (bool, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_photoshare"));
    cmd.args(["fsck", "--grace", "0"]);
    if fix {
        cmd.arg("--fix");
    }
    let out = cmd
        .env("PHOTOSHARE__DATA_DIR", dir)
        .env("PHOTOSHARE__AUTH__JWT_SECRET", secret)
        .env_remove("PHOTOSHARE__DATABASE__URI")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Photo ids named in "photo purged" log lines.
pub fn purged(lines: impl Iterator<Item = String>, into: &mut BTreeSet<String>) {
    for line in lines {
        if line.contains("photo purged") {
            let v: Value = serde_json::from_str(&line).unwrap_or_default();
            let id = v["photo_id"].as_str().or(v["fields"]["photo_id"].as_str());
            into.extend(id.map(str::to_owned));
        }
    }
}

#[actix_web::test]
async fn a_kill_mid_burst_loses_no_acknowledged_write_and_fsck_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let secret = random_hex(32);
    let env = stack();
    let (mut first, address, log) = start_serve_on(dir.path(), &secret, &["serve"], &env);
    let client = Client::new();
    let owner = signup_and_login(&client, &address, "crashowner").await;
    let fan = signup_and_login(&client, &address, "crashfan").await;
    let acked = Arc::new(Mutex::new(Acked::default()));
    for tag in ["sea", "sky", "sun", "sea,sky", "sand", "sun,sand"] {
        let id = upload(&client, &address, &owner, tag)
            .await
            .expect("seed upload");
        acked.lock().unwrap().photos.insert(id);
    }
    let writers: Vec<_> = (0..6)
        .map(|seed| {
            let args = (address.clone(), owner.clone(), fan.clone(), acked.clone());
            tokio::spawn(writer(seed, args.0, args.1, args.2, args.3))
        })
        .collect();
    eventually("the burst gets going", || async {
        acked.lock().unwrap().writes >= 200
    })
    .await;
    first.kill().unwrap(); // SIGKILL, mid-burst
    first.wait().unwrap();
    for w in writers {
        w.await.unwrap();
    }
    let mut purged_ids = BTreeSet::new();
    // All of the killed process's lines: the reader ends at the pipe's end.
    purged(log.iter(), &mut purged_ids);

    let (mut second, address, log) = start_serve_on(dir.path(), &secret, &["serve"], &env);
    let acked = std::mem::take(&mut *acked.lock().unwrap());
    // (A photo whose deletion was in flight may or may not be there.)
    for id in acked.photos.difference(&acked.deletions_sent) {
        let res = client
            .get(format!("{address}/api/photos/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "acknowledged upload {id}");
    }
    let deleted_ids = &acked.deleted;
    for id in deleted_ids {
        let res = client
            .get(format!("{address}/api/photos/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            res.status(),
            StatusCode::NOT_FOUND,
            "acknowledged deletion {id}"
        );
    }
    for (photo, comment) in &acked.comments {
        if acked.deletions_sent.contains(photo) {
            continue;
        }
        let page = get_json(
            &client,
            &format!("{address}/api/photos/{photo}/comments?limit=100"),
        )
        .await;
        let items = page["items"].as_array().unwrap();
        assert!(
            items.iter().any(|c| c["id"] == comment.as_str()),
            "comment {comment}"
        );
    }
    // Every deletion that took effect (acknowledged or not) is purged, before the
    // crash or by the restarted sweeper; and every link leaves `pending`.
    let mut took_effect = BTreeSet::new();
    for id in &acked.deletions_sent {
        let res = client
            .get(format!("{address}/api/photos/{id}"))
            .send()
            .await
            .unwrap();
        if res.status() == StatusCode::NOT_FOUND {
            took_effect.insert(id.clone());
        }
    }
    assert!(took_effect.is_superset(deleted_ids));
    // The sweeper's purges show in the log. A purge that finished just before the
    // kill may have lost its line with the process, so this waits a while, not
    // forever; fsck below is the judge (an unfinished deletion is a finding).
    for _ in 0..600 {
        purged(log.try_iter(), &mut purged_ids);
        if took_effect.is_subset(&purged_ids) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for id in &acked.photos {
        let path = format!("{address}/api/photos/{id}/transformations?limit=100");
        eventually("the photo's links finish", || async {
            let page = get_json(&client, &path).await;
            let items = page["items"].as_array().cloned().unwrap_or_default();
            items.iter().all(|l| l["status"] != "pending")
        })
        .await;
    }
    sigterm(&second);
    assert!(exit_within(&mut second, Duration::from_secs(15)).success());

    let (clean, report) = fsck(dir.path(), &secret, &env, false);
    eprintln!(
        "crash: {} writes acknowledged ({} photos live, {} deleted, {} comments); {} deletions took effect; fsck: {report}",
        acked.writes, acked.photos.len(), deleted_ids.len(), acked.comments.len(), took_effect.len()
    );
    let leftovers: Vec<&str> = report.lines().filter(|l| !l.starts_with("fsck")).collect();
    for line in &leftovers {
        // An upload killed between its file and its record leaves the file.
        let interrupted_upload =
            line.starts_with("orphan_file p/") || line.starts_with("orphan_file tmp/");
        assert!(interrupted_upload, "fsck found: {line}\n{report}");
    }
    assert_eq!(clean, leftovers.is_empty(), "{report}");
    if !clean {
        fsck(dir.path(), &secret, &env, true);
    }
    let (clean, report) = fsck(dir.path(), &secret, &env, false);
    assert!(clean, "{report}");
    assert!(report.contains("0 problem(s) found"), "{report}");
}
