//! The account's own data (API.md, "Account lifecycle"): deleting everything it
//! owns, by its owner or an admin, and exporting it as a zip that a stock reader
//! (Python's zipfile) opens and checks.

use std::collections::BTreeMap;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{
    assert_problem, error_fields, eventually, spawn_app, Role, TestApp, TestUser, PASSWORD,
};
use crate::shares::{album_with, share};
use crate::transformations::{created, finished, photo};

async fn json_of(app: &TestApp, path: &str, token: Option<&str>) -> Value {
    let res = app.get(path, token).await;
    assert_eq!(res.status(), StatusCode::OK, "{path}");
    res.json().await.unwrap()
}

async fn delete_me(app: &TestApp, user: &TestUser, password: &str) -> reqwest::Response {
    app.send_json(
        Method::DELETE,
        "/api/users/me",
        &json!({ "password": password }),
        Some(&user.access),
    )
    .await
}

#[actix_web::test]
async fn deleting_an_account_removes_everything_it_owns_and_frees_its_name() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let carol = app.signup_and_login(Role::User).await;

    // Ada's own things: photos with a rendered link, an album with a share link.
    let (album, mine) = album_with(&app, &ada, "Mine", 2).await;
    let link = share(&app, &ada.access, &album, json!({})).await;
    let share_url = link["url"].as_str().unwrap().to_owned();
    let rendered = created(&app, &ada.access, &mine[0], "w_4").await;
    let done = finished(&app, rendered["id"].as_str().unwrap()).await;
    assert_eq!(done["status"], "done");
    let t_url = done["url"].as_str().unwrap().to_owned();
    let originals: Vec<String> = {
        let mut out = Vec::new();
        for id in &mine {
            let p = json_of(&app, &format!("/api/photos/{id}"), None).await;
            out.push(p["url"].as_str().unwrap().to_owned());
        }
        out
    };

    // What Ada left on others: a comment and a rating on Bob's photo (Carol rates
    // it too), follows both ways, a report.
    let bobs = photo(&app, &bob, 9, 9).await;
    let on_bob = format!("/api/photos/{bobs}");
    let res = app
        .post_json(
            &format!("{on_bob}/comments"),
            &json!({"text": "hi"}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    for (user, stars) in [(&ada, 1), (&carol, 4)] {
        let res = app
            .post_json(
                &format!("{on_bob}/ratings"),
                &json!({ "stars": stars }),
                Some(&user.access),
            )
            .await;
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    for (from, to) in [(&ada, &bob), (&bob, &ada)] {
        let path = format!("/api/users/{}/follow", to.username);
        assert_eq!(
            app.post(&path, Some(&from.access)).await.status(),
            StatusCode::NO_CONTENT
        );
    }
    let res = app
        .post_json(
            &format!("{on_bob}/reports"),
            &json!({"reason": "spam"}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    // Bob's comment on Ada's photo goes with her photo.
    let res = app
        .post_json(
            &format!("/api/photos/{}/comments", mine[1]),
            &json!({"text": "yo"}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let before = json_of(&app, &on_bob, None).await;
    assert_eq!(
        (&before["comment_count"], &before["rating"]["count"]),
        (&json!(1), &json!(2))
    );

    // A wrong password changes nothing.
    let problem = assert_problem(
        delete_me(&app, &ada, "not my password").await,
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await;
    assert_eq!(error_fields(&problem), ["password"]);
    json_of(&app, &format!("/api/photos/{}", mine[0]), None).await;
    assert_eq!(
        delete_me(&app, &ada, PASSWORD).await.status(),
        StatusCode::NO_CONTENT
    );

    // Her tokens, profile, photos, files, album and links are gone.
    assert_problem(
        app.get("/api/users/me", Some(&ada.access)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let profile = format!("/api/users/{}", ada.username);
    assert_problem(app.get(&profile, None).await, StatusCode::NOT_FOUND).await;
    for id in &mine {
        assert_problem(
            app.get(&format!("/api/photos/{id}"), None).await,
            StatusCode::NOT_FOUND,
        )
        .await;
    }
    for url in originals.iter().chain([&t_url]) {
        let url = url.clone();
        eventually("the file stops being served", || {
            let url = url.clone();
            let app = &app;
            async move { app.fetch(&url).await.status() == StatusCode::NOT_FOUND }
        })
        .await;
    }
    assert_problem(
        app.get(
            &format!("/api/albums/{album}"),
            Some(&app.admin().await.access),
        )
        .await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = app
        .client
        .get(&share_url)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_problem(res, StatusCode::NOT_FOUND).await;

    // Bob's photo: her comment and rating are gone, the average is Carol's alone.
    let after = json_of(&app, &on_bob, None).await;
    assert_eq!(after["comment_count"], 0);
    assert_eq!(
        (&after["rating"]["count"], &after["rating"]["average"]),
        (&json!(1), &json!(4.0))
    );
    let bob_profile = json_of(&app, &format!("/api/users/{}", bob.username), None).await;
    assert_eq!(
        (&bob_profile["followers"], &bob_profile["following"]),
        (&json!(0), &json!(0))
    );
    let notes = json_of(&app, "/api/notifications?limit=100", Some(&bob.access)).await;
    let actors: Vec<&str> = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["actor"]["username"].as_str().unwrap())
        .collect();
    assert!(!actors.contains(&ada.username.as_str()), "{actors:?}");
    let admin = app.admin().await.clone();
    let reports = json_of(
        &app,
        "/api/moderation/reports?limit=100",
        Some(&admin.access),
    )
    .await;
    assert!(!reports.to_string().contains(&ada.username));

    // The name and the email are free again.
    let res = app.signup(&ada.username, &ada.email, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn an_admin_deletes_an_account_without_its_password_but_not_their_own_there() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let bob = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    let p = photo(&app, &bob, 8, 8).await;
    let path = format!("/api/admin/users/{}", bob.username);
    for token in [&bob.access, &moderator.access] {
        assert_problem(app.delete(&path, Some(token)).await, StatusCode::FORBIDDEN).await;
    }
    assert_problem(app.delete(&path, None).await, StatusCode::UNAUTHORIZED).await;
    let own = format!("/api/admin/users/{}", admin.username);
    assert_problem(
        app.delete(&own, Some(&admin.access)).await,
        StatusCode::CONFLICT,
    )
    .await;
    let upper = format!("/api/admin/users/{}", bob.username.to_uppercase());
    assert_eq!(
        app.delete(&upper, Some(&admin.access)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        app.delete(&path, Some(&admin.access)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_problem(
        app.get("/api/users/me", Some(&bob.access)).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    assert_problem(
        app.get(&format!("/api/photos/{p}"), None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    let res = app.login(&bob.username, PASSWORD).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}

/// Lists and checks a zip with Python's zipfile (CRCs included): name -> size,
/// and the JSON files' contents.
pub fn read_zip(
    bytes: &[u8],
) -> (
    BTreeMap<String, u64>,
    BTreeMap<String, Value>,
    BTreeMap<String, String>,
) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.zip");
    std::fs::write(&path, bytes).unwrap();
    let script = r#"
import hashlib, json, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
assert bad is None, bad
out = {"sizes": {}, "json": {}, "sha256": {}}
for i in z.infolist():
    data = z.read(i)
    out["sizes"][i.filename] = len(data)
    out["sha256"][i.filename] = hashlib.sha256(data).hexdigest()
    if i.filename.endswith(".json"):
        out["json"][i.filename] = json.loads(data)
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&path)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let map =
        |k: &str| -> BTreeMap<String, Value> { serde_json::from_value(v[k].clone()).unwrap() };
    let sizes = map("sizes")
        .into_iter()
        .map(|(k, v)| (k, v.as_u64().unwrap()))
        .collect();
    let sha = map("sha256")
        .into_iter()
        .map(|(k, v)| (k, v.as_str().unwrap().to_owned()))
        .collect();
    (sizes, map("json"), sha)
}

#[actix_web::test]
async fn the_export_is_a_zip_of_the_accounts_records_and_originals() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let mut uploaded = BTreeMap::new();
    for (w, h) in [(8, 8), (12, 7), (5, 9)] {
        let p = app
            .upload_ok(&ada.access, fixtures::png(w, h), &[("description", "mine")])
            .await;
        // What the server stored (and exports): the upload, its metadata cut.
        let url = p["url"].as_str().unwrap();
        let stored = app.fetch(url).await.bytes().await.unwrap();
        let sha = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(&stored))
        };
        uploaded.insert(p["id"].as_str().unwrap().to_owned(), sha);
    }
    let ids: Vec<String> = uploaded.keys().cloned().collect();
    let res = app
        .post_json("/api/albums", &json!({"title": "Trip"}), Some(&ada.access))
        .await;
    let album: Value = res.json().await.unwrap();
    let path = format!("/api/albums/{}/photos", album["id"].as_str().unwrap());
    let res = app
        .post_json(
            &path,
            &json!({"photo_ids": [ids[2], ids[0]]}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let bobs = photo(&app, &bob, 9, 9).await;
    let res = app
        .post_json(
            &format!("/api/photos/{bobs}/comments"),
            &json!({"text": "lovely"}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post_json(
            &format!("/api/photos/{bobs}/ratings"),
            &json!({"stars": 5}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    assert_problem(
        app.get("/api/users/me/export", None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let res = app.get("/api/users/me/export", Some(&ada.access)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "application/zip");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(disposition.starts_with(&format!(
        "attachment; filename=\"photoshare-{}-",
        ada.username
    )));
    let bytes = res.bytes().await.unwrap();
    let (sizes, json, sha) = read_zip(&bytes);

    for name in [
        "account.json",
        "photos.json",
        "comments.json",
        "ratings.json",
        "albums.json",
    ] {
        assert!(sizes.contains_key(name), "{name} in {sizes:?}");
    }
    assert_eq!(json["account.json"]["username"], ada.username.as_str());
    assert_eq!(json["account.json"]["email"], ada.email.as_str());
    assert!(json["account.json"].get("password_hash").is_none());
    let photos = json["photos.json"].as_array().unwrap();
    assert_eq!(photos.len(), 3);
    for p in photos {
        let file = p["file"].as_str().unwrap();
        let id = p["id"].as_str().unwrap();
        assert_eq!(file, format!("originals/{id}.png"));
        assert_eq!(sha[file], uploaded[id], "the original, byte for byte");
        assert_eq!(p["description"], "mine");
    }
    let originals = sizes.keys().filter(|k| k.starts_with("originals/")).count();
    assert_eq!(originals, 3);
    assert_eq!(json["comments.json"][0]["text"], "lovely");
    assert_eq!(json["comments.json"].as_array().unwrap().len(), 1);
    assert_eq!(json["ratings.json"][0]["stars"], 5);
    assert_eq!(json["albums.json"][0]["title"], "Trip");
    assert_eq!(json["albums.json"][0]["photo_ids"], json!([ids[2], ids[0]]));
    // Nothing of Bob's.
    assert!(!sizes.contains_key(&format!("originals/{bobs}.png")));
}

#[actix_web::test]
async fn every_role_exports_and_deletes_only_its_own_account() {
    let app = spawn_app().await;
    let body = json!({ "password": PASSWORD });
    let res = app
        .send_json(Method::DELETE, "/api/users/me", &body, None)
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    assert_problem(
        app.get("/api/users/me/export", None).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    let keeper = app.signup_and_login(Role::User).await;
    let admin = app.admin().await.clone();
    for user in [
        app.signup_and_login(Role::User).await,
        app.signup_and_login(Role::Moderator).await,
        admin,
    ] {
        let res = app.get("/api/users/me/export", Some(&user.access)).await;
        assert_eq!(res.status(), StatusCode::OK);
        let (_, json, _) = read_zip(&res.bytes().await.unwrap());
        assert_eq!(json["account.json"]["username"], user.username.as_str());
        assert_eq!(
            delete_me(&app, &user, PASSWORD).await.status(),
            StatusCode::NO_CONTENT
        );
        let res = app.get("/api/users/me", Some(&user.access)).await;
        assert_problem(res, StatusCode::UNAUTHORIZED).await;
    }
    assert_eq!(
        app.me(&keeper.access).await["username"],
        keeper.username.as_str()
    );
}
