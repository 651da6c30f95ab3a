use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{assert_problem, error_fields, eventually, spawn_app, Role, TestApp};

async fn photo_of(app: &TestApp, token: &str) -> String {
    let photo = app.upload_ok(token, fixtures::png(8, 8), &[]).await;
    photo["id"].as_str().unwrap().to_owned()
}

async fn comment(app: &TestApp, token: &str, photo: &str, text: &str) -> Value {
    let res = app
        .post_json(
            &format!("/api/photos/{photo}/comments"),
            &json!({"text": text}),
            Some(token),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

#[actix_web::test]
async fn comments_are_created_listed_oldest_first_and_counted() {
    let app = spawn_app().await;
    let owner = app.signup_and_login(Role::User).await;
    let reader = app.signup_and_login(Role::User).await;
    let photo = photo_of(&app, &owner.access).await;

    let first = comment(&app, &reader.access, &photo, "  first!  ").await;
    for i in 2..=4 {
        comment(&app, &owner.access, &photo, &format!("comment {i}")).await;
    }

    assert_eq!(first["text"], "first!");
    assert_eq!(first["photo_id"], photo.as_str());
    assert_eq!(first["author"], json!({"username": reader.username}));
    assert_eq!(first["created_at"], first["updated_at"]);
    let page: Value = app
        .get(
            &format!("/api/photos/{photo}/comments?limit=2&offset=1"),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 4);
    let texts: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["comment 2", "comment 3"]);
    let photo_json: Value = app
        .get(&format!("/api/photos/{photo}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(photo_json["comment_count"], 4);
    let profile: Value = app
        .get(&format!("/api/users/{}", reader.username), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(profile["comment_count"], 1);
}

#[actix_web::test]
async fn comment_validation_names_the_field_and_unknown_photos_are_404() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let photo = photo_of(&app, &user.access).await;
    let path = format!("/api/photos/{photo}/comments");

    for body in [json!({"text": "   "}), json!({"text": "x".repeat(2001)})] {
        let res = app.post_json(&path, &body, Some(&user.access)).await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["text"]);
    }
    let typed = app
        .post_json(&path, &json!({"text": 5}), Some(&user.access))
        .await;
    assert_problem(typed, StatusCode::UNPROCESSABLE_ENTITY).await;
    let unknown = app
        .post_json(
            "/api/photos/0123456789abcdef01234567/comments",
            &json!({"text": "hi"}),
            Some(&user.access),
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
    let list = app
        .get("/api/photos/0123456789abcdef01234567/comments", None)
        .await;
    assert_problem(list, StatusCode::NOT_FOUND).await;
    let anonymous = app.post_json(&path, &json!({"text": "hi"}), None).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    let page: Value = app.get(&path, None).await.json().await.unwrap();
    assert_eq!(page["total"], 0);
}

#[actix_web::test]
async fn only_the_author_edits_not_even_an_admin() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let author = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    let photo = photo_of(&app, &author.access).await;
    let c = comment(&app, &author.access, &photo, "original").await;
    let path = format!("/api/comments/{}", c["id"].as_str().unwrap());

    for token in [&admin.access, &moderator.access] {
        let res = app
            .send_json(Method::PUT, &path, &json!({"text": "hijack"}), Some(token))
            .await;
        assert_problem(res, StatusCode::FORBIDDEN).await;
    }
    let res = app
        .send_json(
            Method::PUT,
            &path,
            &json!({"text": " edited "}),
            Some(&author.access),
        )
        .await;

    assert_eq!(res.status(), StatusCode::OK);
    let edited: Value = res.json().await.unwrap();
    assert_eq!(edited["text"], "edited");
    assert_eq!(edited["created_at"], c["created_at"]);
    assert_ne!(edited["updated_at"], c["updated_at"]);
    let missing = app
        .send_json(
            Method::PUT,
            "/api/comments/0123456789abcdef01234567",
            &json!({"text": "x"}),
            Some(&author.access),
        )
        .await;
    assert_problem(missing, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn only_moderators_and_admins_delete_comments() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let author = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    let photo = photo_of(&app, &author.access).await;
    let a = comment(&app, &author.access, &photo, "one").await;
    let b = comment(&app, &author.access, &photo, "two").await;
    let del = |id: &Value, token: &str| {
        let path = format!("/api/comments/{}", id.as_str().unwrap());
        let token = token.to_owned();
        let app = &app;
        async move { app.delete(&path, Some(&token)).await }
    };

    assert_problem(del(&a["id"], &author.access).await, StatusCode::FORBIDDEN).await;
    assert_eq!(
        del(&a["id"], &moderator.access).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        del(&b["id"], &admin.access).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(del(&b["id"], &admin.access).await, StatusCode::NOT_FOUND).await;

    let page: Value = app
        .get(&format!("/api/photos/{photo}/comments"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 0);
    let photo_json: Value = app
        .get(&format!("/api/photos/{photo}"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(photo_json["comment_count"], 0);
}

#[actix_web::test]
async fn deleting_a_photo_deletes_its_comments_and_ratings() {
    let app = spawn_app().await;
    let owner = app.signup_and_login(Role::User).await;
    let other = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    let photo = photo_of(&app, &owner.access).await;
    let c = comment(&app, &other.access, &photo, "nice").await;
    let r = app
        .post_json(
            &format!("/api/photos/{photo}/ratings"),
            &json!({"stars": 4}),
            Some(&other.access),
        )
        .await;
    let rating: Value = r.json().await.unwrap();

    let res = app
        .delete(&format!("/api/photos/{photo}"), Some(&owner.access))
        .await;

    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let edit = app
        .send_json(
            Method::PUT,
            &format!("/api/comments/{}", c["id"].as_str().unwrap()),
            &json!({"text": "x"}),
            Some(&other.access),
        )
        .await;
    assert_problem(edit, StatusCode::NOT_FOUND).await;
    let del = app
        .delete(
            &format!("/api/ratings/{}", rating["id"].as_str().unwrap()),
            Some(&moderator.access),
        )
        .await;
    assert_problem(del, StatusCode::NOT_FOUND).await;
    // The author's count follows once the purge (a queued job) has run.
    let profile = format!("/api/users/{}", other.username);
    eventually("the author's comment count drops", || async {
        let profile: Value = app.get(&profile, None).await.json().await.unwrap();
        profile["comment_count"] == 0
    })
    .await;
}
