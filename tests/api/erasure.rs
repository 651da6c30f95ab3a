//! An account's deletion killed halfway (SIGKILL) is finished by the next start:
//! the real binary, on the stack the environment names, and `photoshare fsck`
//! finds nothing left behind.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use serde_json::{json, Value};

use crate::crash::{fsck, purged, stack, upload};
use crate::faults::{exit_within, sigterm};
use crate::helpers::{eventually, random_hex, PASSWORD};
use crate::startup::{signup_and_login, start_serve_on};

async fn comment_count(client: &Client, address: &str, photo: &str) -> u64 {
    let res = client
        .get(format!("{address}/api/photos/{photo}"))
        .send()
        .await
        .unwrap();
    let v: Value = res.json().await.unwrap_or_default();
    v["comment_count"].as_u64().unwrap_or(u64::MAX)
}

#[actix_web::test]
async fn a_deletion_killed_halfway_is_finished_by_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let secret = random_hex(32);
    let env = stack();
    let (mut first, address, log) = start_serve_on(dir.path(), &secret, &["serve"], &env);
    let client = Client::new();
    let leaver = signup_and_login(&client, &address, "leaver").await;
    let stayer = signup_and_login(&client, &address, "stayer").await;
    let theirs = upload(&client, &address, &stayer, "sea").await.unwrap();
    let mut mine = BTreeSet::new();
    for _ in 0..40 {
        mine.insert(upload(&client, &address, &leaver, "sky").await.unwrap());
    }
    // Many comments on the other account's photo: the deletion's first step walks
    // them, and the test kills the process while it does.
    const COMMENTS: u64 = 400;
    for i in 0..COMMENTS {
        let res = client
            .post(format!("{address}/api/photos/{theirs}/comments"))
            .bearer_auth(&leaver)
            .json(&json!({ "text": format!("comment {i}") }))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    let deletion = {
        let req = client
            .delete(format!("{address}/api/users/me"))
            .bearer_auth(&leaver)
            .json(&json!({ "password": PASSWORD }));
        tokio::spawn(async move { req.send().await.map(|r| r.status()) })
    };
    let mut seen = COMMENTS;
    while seen == COMMENTS {
        seen = comment_count(&client, &address, &theirs).await;
    }
    first.kill().unwrap(); // SIGKILL, in the middle of the deletion
    first.wait().unwrap();
    assert!(
        seen > 0,
        "the deletion was under way when the process died ({seen} left)"
    );
    let answered = deletion.await.unwrap();
    assert!(
        answered.is_err(),
        "no answer came from a killed process: {answered:?}"
    );
    let mut purged_ids = BTreeSet::new();
    purged(log.iter(), &mut purged_ids);

    let (mut second, address, log) = start_serve_on(dir.path(), &secret, &["serve"], &env);
    eventually("the deletion is finished", || async {
        comment_count(&client, &address, &theirs).await == 0
            && client
                .get(format!("{address}/api/users/leaver"))
                .send()
                .await
                .unwrap()
                .status()
                == StatusCode::NOT_FOUND
    })
    .await;
    let me = client
        .get(format!("{address}/api/users/me"))
        .bearer_auth(&leaver)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::UNAUTHORIZED);
    for id in &mine {
        let res = client
            .get(format!("{address}/api/photos/{id}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_FOUND, "photo {id}");
    }
    let res = client
        .get(format!("{address}/api/photos/{theirs}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the other account's photo stays"
    );
    let mut lines = Vec::new();
    for _ in 0..1200 {
        lines.extend(log.try_iter());
        purged(lines.iter().cloned(), &mut purged_ids);
        if mine.is_subset(&purged_ids) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        mine.is_subset(&purged_ids),
        "every photo of the account is purged"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("resuming an account deletion")),
        "the second process finished what the first began"
    );
    // The name is free again.
    signup_and_login(&client, &address, "leaver").await;
    sigterm(&second);
    assert!(exit_within(&mut second, Duration::from_secs(15)).success());

    let (clean, report) = fsck(dir.path(), &secret, &env, false);
    let leftovers: Vec<&str> = report.lines().filter(|l| !l.starts_with("fsck")).collect();
    assert!(clean && leftovers.is_empty(), "{report}");
}
