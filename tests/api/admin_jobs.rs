//! The jobs API and the queue stream behind the admin console: the job list, a
//! failed job retried (its dead letter dropped on RabbitMQ), Server-Sent Events
//! whose cost does not grow with the number of admins watching, a stream that ends
//! cleanly when the server stops, and the user search.

use std::collections::BTreeSet;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{
    amqp_url, assert_problem, error_fields, eventually, spawn_app, spawn_app_without_worker, Role,
    TestApp,
};
use crate::transformations::{created, finished, photo};

/// An open `GET /api/admin/queues/stream`, read event by event.
pub struct Events {
    res: reqwest::Response,
    buffer: String,
}

impl Events {
    pub async fn open(client: &reqwest::Client, address: &str, token: &str) -> Events {
        let res = client
            .get(format!("{address}/api/admin/queues/stream"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let ct = res.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(ct.starts_with("text/event-stream"), "{ct}");
        Events {
            res,
            buffer: String::new(),
        }
    }

    /// The next `queues` event's data; `None` when the server ended the stream
    /// cleanly (a torn connection panics).
    pub async fn next(&mut self) -> Option<Value> {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = "message";
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(e) = line.strip_prefix("event: ") {
                        event = e;
                    } else if let Some(d) = line.strip_prefix("data: ") {
                        data.push_str(d);
                    }
                }
                if event == "queues" {
                    return Some(serde_json::from_str(&data).expect("event data is JSON"));
                }
            }
            let chunk = self.res.chunk().await.expect("the stream ends cleanly")?;
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// A counter or gauge from `/metrics`.
pub async fn metric(app: &TestApp, name: &str) -> u64 {
    let text = app.get("/metrics", None).await.text().await.unwrap();
    let prefix = format!("{name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{name} in /metrics"))
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["link_id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn the_job_list_pages_newest_first_by_status_for_admins_only() {
    let app = spawn_app_without_worker().await;
    let admin = app.admin().await.access.clone();
    let user = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    let photo = photo(&app, &user, 40, 30).await;
    let mut made = Vec::new();
    for w in [10, 12, 14] {
        let link = created(&app, &user.access, &photo, &format!("w_{w}")).await;
        made.push(link["id"].as_str().unwrap().to_owned());
    }
    made.reverse();

    let all: Value = app
        .get("/api/admin/jobs", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(all["total"], 3);
    assert_eq!(ids(&all), made, "newest first");
    let job = &all["items"][0];
    assert_eq!(job["photo_id"], photo.as_str());
    assert_eq!(job["transformation"], "w_14");
    assert_eq!(job["status"], "pending");
    assert_eq!(job["attempts"], 0);
    assert!(job["error"].is_null() && job["completed_at"].is_null());
    assert!(job["created_at"].as_str().unwrap().ends_with('Z'));

    let page: Value = app
        .get(
            "/api/admin/jobs?status=pending&limit=2&offset=1",
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (page["total"].clone(), ids(&page)),
        (3.into(), made[1..].to_vec())
    );
    for status in ["done", "failed"] {
        let none: Value = app
            .get(&format!("/api/admin/jobs?status={status}"), Some(&admin))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            (none["total"].clone(), ids(&none)),
            (0.into(), vec![]),
            "{status}"
        );
    }
    let res = app.get("/api/admin/jobs?status=stuck", Some(&admin)).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["status"]);
    for token in [&user.access, &moderator.access] {
        let res = app.get("/api/admin/jobs", Some(token)).await;
        assert_problem(res, StatusCode::FORBIDDEN).await;
        let res = app
            .post(&format!("/api/admin/jobs/{}/retry", made[0]), Some(token))
            .await;
        assert_problem(res, StatusCode::FORBIDDEN).await;
    }
    assert_problem(
        app.get("/api/admin/jobs", None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
}

/// The report's dead-letter queue depth (RabbitMQ: the second queue).
async fn dead_letters(app: &TestApp, admin: &str) -> u64 {
    let report: Value = app
        .get("/api/admin/queues", Some(admin))
        .await
        .json()
        .await
        .unwrap();
    report["queues"][1]["ready"].as_u64().unwrap()
}

#[actix_web::test]
async fn a_failed_job_retried_by_an_admin_runs_again_from_its_first_attempt() {
    let app = spawn_app().await;
    let admin = app.admin().await.access.clone();
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 40, 40).await;
    let (media, files) = (app.media(), app.media_keys("p/").await);
    let file = &files[0];
    let original = media.get(file).await.unwrap().expect("the original");
    media.delete(file).await.unwrap();
    let link = created(&app, &user.access, &id, "w_10").await;
    let link_id = link["id"].as_str().unwrap().to_owned();
    let failed = finished(&app, &link_id).await;
    assert_eq!(failed["status"], "failed");

    let page: Value = app
        .get("/api/admin/jobs?status=failed", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page), std::slice::from_ref(&link_id));
    assert_eq!(
        page["items"][0]["error"],
        "the original image could not be read"
    );
    assert_eq!(page["items"][0]["attempts"], 1);
    // (A report may be a second old, and the dead-lettering follows the failure.)
    if amqp_url().is_some() {
        eventually("dead-lettered", || async {
            dead_letters(&app, &admin).await == 1
        })
        .await;
    }

    // The cause is fixed; the admin retries.
    media.put(file, original, "image/png").await.unwrap();
    let retry = format!("/api/admin/jobs/{link_id}/retry");
    let res = app.post(&retry, Some(&admin)).await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let job: Value = res.json().await.unwrap();
    assert_eq!(job["link_id"], link_id.as_str());
    assert!(job["error"].is_null() && job["completed_at"].is_null());
    let done = finished(&app, &link_id).await;
    assert_eq!(done["status"], "done", "{done}");
    let image = app.fetch(done["url"].as_str().unwrap()).await;
    assert_eq!(image.status(), StatusCode::OK);
    let jobs: Value = app
        .get("/api/admin/jobs?status=done", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        jobs["items"][0]["attempts"], 1,
        "counted from the first again"
    );
    if amqp_url().is_some() {
        eventually("its dead letter dropped", || async {
            dead_letters(&app, &admin).await == 0
        })
        .await;
    }
    tokio::time::sleep(Duration::from_millis(1100)).await; // a fresh report
    let report: Value = app
        .get("/api/admin/queues", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(report["jobs"]["failed"], 0);
    assert_eq!(report["jobs"]["done"], 1);
    let per_minute = report["done_per_minute"].as_array().unwrap();
    assert_eq!(per_minute.len(), 60);
    assert_eq!(
        per_minute.iter().map(|n| n.as_u64().unwrap()).sum::<u64>(),
        1
    );

    // Only a failed job is retried; an unknown one is 404.
    let problem = assert_problem(app.post(&retry, Some(&admin)).await, StatusCode::CONFLICT).await;
    assert!(
        problem["detail"].as_str().unwrap().contains("done"),
        "{problem}"
    );
    let res = app
        .post(
            "/api/admin/jobs/0123456789abcdef01234567/retry",
            Some(&admin),
        )
        .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn ten_admins_watching_cost_one_queue_query_a_second() {
    let app = spawn_app_without_worker().await;
    let admin = app.admin().await.access.clone();
    let user = app.signup_and_login(Role::User).await;
    let before = metric(&app, "photoshare_queue_queries_total").await;
    let mut streams = Vec::new();
    for _ in 0..10 {
        streams.push(Events::open(&app.client, &app.address, &admin).await);
    }
    let mut seen = BTreeSet::new();
    for stream in &mut streams {
        for _ in 0..3 {
            let report = stream.next().await.expect("an event");
            assert_eq!(report["jobs"]["pending"], 0);
            assert_eq!(report["done_per_minute"].as_array().unwrap().len(), 60);
            seen.insert(report["sampled_at"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(metric(&app, "photoshare_admin_streams").await, 10);
    let queries = metric(&app, "photoshare_queue_queries_total").await - before;
    // Each query made one snapshot, shared by every stream: 30 events came from
    // a handful of snapshots, not from one query per stream and event.
    assert!(
        queries <= seen.len() as u64 + 1,
        "{queries} queries, {seen:?}"
    );
    assert!(seen.len() <= 8, "snapshots shared by the streams: {seen:?}");

    // A change reaches every stream.
    let photo = photo(&app, &user, 20, 20).await;
    created(&app, &user.access, &photo, "w_10").await;
    for stream in &mut streams {
        loop {
            let report = stream.next().await.expect("an event");
            if report["jobs"]["pending"] == 1 {
                break;
            }
        }
    }
    drop(streams);
    eventually("the closed streams are forgotten", || async {
        metric(&app, "photoshare_admin_streams").await == 0
    })
    .await;
    assert_problem(
        app.get("/api/admin/queues/stream", Some(&user.access))
            .await,
        StatusCode::FORBIDDEN,
    )
    .await;
}

#[actix_web::test]
async fn an_open_stream_ends_cleanly_when_the_server_shuts_down() {
    let dir = tempfile::tempdir().unwrap();
    let secret = crate::helpers::random_hex(32);
    let env = crate::crash::stack();
    let (mut child, address, _log) =
        crate::startup::start_serve_on(dir.path(), &secret, &["serve"], &env);
    let client = reqwest::Client::new();
    let token = crate::startup::signup_and_login(&client, &address, "root").await;
    let mut events = Events::open(&client, &address, &token).await;
    assert!(events.next().await.is_some());
    crate::faults::sigterm(&child);
    // `next` panics on a torn connection: the stream must end, not break.
    while events.next().await.is_some() {}
    let status = crate::faults::exit_within(&mut child, Duration::from_secs(30));
    assert!(status.success(), "{status:?}");
}

#[actix_web::test]
async fn the_user_list_searches_by_username_prefix() {
    let app = spawn_app().await;
    let admin = app.admin().await.access.clone();
    for name in ["Carla.x", "carlos_y", "Carmen", "bob_carl"] {
        app.register(name).await;
    }
    let page: Value = app
        .get("/api/admin/users?q=CARL&limit=1", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["username"], "Carla.x");
    let page: Value = app
        .get("/api/admin/users?q=carl&offset=1", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["username"], "carlos_y");
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let page: Value = app
        .get("/api/admin/users?q=.*", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0, "a prefix, not a pattern");
    let res = app.get("/api/admin/users?q=a%00b", Some(&admin)).await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let long = "a".repeat(65);
    let res = app
        .get(&format!("/api/admin/users?q={long}"), Some(&admin))
        .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
}

#[actix_web::test]
async fn a_stream_ends_when_its_watcher_is_no_longer_an_admin() {
    let app = spawn_app_without_worker().await;
    let first = app.admin().await.access.clone();
    let second = app.signup_and_login(Role::Admin).await;
    let mut events = Events::open(&app.client, &app.address, &second.access).await;
    assert!(events.next().await.is_some());
    app.set_role(&first, &second.username, "user")
        .await
        .error_for_status()
        .unwrap();
    // Checked every five events: the stream ends cleanly within a few more.
    let mut after = 0;
    while events.next().await.is_some() {
        after += 1;
        assert!(after <= 6, "still streaming to a demoted admin");
    }
}
