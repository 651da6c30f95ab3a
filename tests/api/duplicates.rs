//! Duplicates (API.md, "Uploads that survive bad networks, duplicates and photo
//! metadata"): an owner has each original once, decided by the store even when the
//! same file arrives twice at once; `POST /api/photos/check` says which files an
//! uploader can skip.

use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Digest;

use crate::fixtures;
use crate::helpers::{assert_problem, error_fields, spawn_app, Role};

fn sha(bytes: &[u8]) -> String {
    hex::encode(sha2::Sha256::digest(bytes))
}

#[actix_web::test]
async fn the_same_original_twice_is_409_naming_the_photo_until_it_is_deleted() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    // A JPEG with EXIF: what is stored differs from what was sent (the metadata is
    // cut), and the duplicate is still found by what was sent.
    let file = fixtures::jpeg_with_exif(6, true);
    let first = app.upload_ok(&ada.access, file.clone(), &[]).await;
    let id = first["id"].as_str().unwrap();
    let res = app
        .upload(&ada.access, file.clone(), "again.jpg", &[])
        .await;
    let problem = assert_problem(res, StatusCode::CONFLICT).await;
    assert_eq!(problem["type"], "urn:photoshare:problem:duplicate-photo");
    assert_eq!(problem["photo_id"], id);
    let page: Value = app
        .get(&format!("/api/users/{}/photos", ada.username), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1, "nothing stored the second time");

    // Another account may have the same file.
    app.upload_ok(&bob.access, file.clone(), &[]).await;

    // The check: by the sha256 of the file as sent, in either case.
    let other = fixtures::png(5, 5);
    let body = json!({"sha256": [sha(&file).to_uppercase(), sha(&other)]});
    let res = app
        .post_json("/api/photos/check", &body, Some(&ada.access))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let answer: Value = res.json().await.unwrap();
    assert_eq!(
        answer,
        json!({"existing": [{"sha256": sha(&file), "photo_id": id}]})
    );

    // Deleted, the original may come again.
    let path = format!("/api/photos/{id}");
    assert_eq!(
        app.delete(&path, Some(&ada.access)).await.status(),
        StatusCode::NO_CONTENT
    );
    let answer: Value = app
        .post_json("/api/photos/check", &body, Some(&ada.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer, json!({"existing": []}));
    app.upload_ok(&ada.access, file, &[]).await;
}

#[actix_web::test]
async fn eight_uploads_of_one_file_at_once_make_one_photo() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let file = fixtures::png(40, 30);
    let sends = (0..8).map(|_| app.upload(&ada.access, file.clone(), "same.png", &[]));
    let answers = futures_util::future::join_all(sends).await;
    let mut created = Vec::new();
    let mut named = Vec::new();
    for res in answers {
        match res.status() {
            StatusCode::CREATED => {
                created.push(res.json::<Value>().await.unwrap()["id"].clone());
            }
            StatusCode::CONFLICT => {
                named.push(res.json::<Value>().await.unwrap()["photo_id"].clone());
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created.len(), 1, "one photo");
    assert_eq!(named.len(), 7);
    assert!(
        named.iter().all(|id| *id == created[0]),
        "every 409 names it"
    );
    let page: Value = app
        .get(&format!("/api/users/{}/photos", ada.username), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 1);
}

#[actix_web::test]
async fn a_check_takes_1_to_1000_hex_digests_and_needs_a_token() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let hex = "ab".repeat(32);
    let res = app
        .post_json("/api/photos/check", &json!({"sha256": [hex]}), None)
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    let many: Vec<String> = (0..1001).map(|i| format!("{i:064x}")).collect();
    for bad in [
        json!({"sha256": []}),
        json!({"sha256": many}),
        json!({"sha256": ["xyz"]}),
        json!({"sha256": ["ab".repeat(33)]}),
    ] {
        let res = app
            .post_json("/api/photos/check", &bad, Some(&ada.access))
            .await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["sha256"]);
    }
    let res = app
        .post_json("/api/photos/check", &json!({"sha": []}), Some(&ada.access))
        .await;
    assert!(res.status().is_client_error());
    let thousand: Vec<String> = (0..1000).map(|i| format!("{i:064x}")).collect();
    let res = app
        .post_json(
            "/api/photos/check",
            &json!({"sha256": thousand}),
            Some(&ada.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"existing": []}));
}
