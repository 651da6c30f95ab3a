use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{
    assert_problem, error_fields, spawn_app, unique_name, Role, TestApp, TestUser,
};

async fn photo_of(app: &TestApp, token: &str) -> String {
    let photo = app.upload_ok(token, fixtures::png(8, 8), &[]).await;
    photo["id"].as_str().unwrap().to_owned()
}

async fn rate(app: &TestApp, token: &str, photo: &str, stars: Value) -> reqwest::Response {
    app.post_json(
        &format!("/api/photos/{photo}/ratings"),
        &json!({ "stars": stars }),
        Some(token),
    )
    .await
}

async fn photo_rating(app: &TestApp, photo: &str) -> Value {
    let photo: Value = app
        .get(&format!("/api/photos/{photo}"), None)
        .await
        .json()
        .await
        .unwrap();
    photo["rating"].clone()
}

#[actix_web::test]
async fn a_rating_is_created_and_moves_the_average_at_once() {
    let app = spawn_app().await;
    let owner = app.signup_and_login(Role::User).await;
    let a = app.signup_and_login(Role::User).await;
    let b = app.signup_and_login(Role::User).await;
    let photo = photo_of(&app, &owner.access).await;

    let res = rate(&app, &a.access, &photo, json!(5)).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let rating: Value = res.json().await.unwrap();
    assert_eq!(rating["stars"], 5);
    assert_eq!(rating["photo_id"], photo.as_str());
    assert_eq!(rating["user"], json!({"username": a.username}));
    assert!(rating["created_at"].is_string() && rating["id"].is_string());
    assert_eq!(
        photo_rating(&app, &photo).await,
        json!({"average": 5.0, "count": 1})
    );

    rate(&app, &b.access, &photo, json!(2)).await;
    assert_eq!(
        photo_rating(&app, &photo).await,
        json!({"average": 3.5, "count": 2})
    );
}

#[actix_web::test]
async fn stars_must_be_an_integer_one_to_five() {
    let app = spawn_app().await;
    let owner = app.signup_and_login(Role::User).await;
    let user = app.signup_and_login(Role::User).await;
    let photo = photo_of(&app, &owner.access).await;

    for stars in [json!(0), json!(6), json!(3.5), json!("4"), json!(null)] {
        let res = rate(&app, &user.access, &photo, stars.clone()).await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), ["stars"], "{stars}");
    }
    assert_eq!(photo_rating(&app, &photo).await["count"], 0);
}

#[actix_web::test]
async fn rating_own_photo_is_forbidden_and_unknown_photo_404() {
    let app = spawn_app().await;
    let owner = app.signup_and_login(Role::User).await;
    let photo = photo_of(&app, &owner.access).await;

    let own = rate(&app, &owner.access, &photo, json!(5)).await;
    let unknown = rate(&app, &owner.access, "0123456789abcdef01234567", json!(5)).await;

    assert_problem(own, StatusCode::FORBIDDEN).await;
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
    assert_eq!(photo_rating(&app, &photo).await["count"], 0);
}

#[actix_web::test]
async fn eight_concurrent_ratings_by_one_user_give_one_201_and_seven_409() {
    let app = spawn_app().await;
    let owner = app.signup_and_login(Role::User).await;
    let user = app.signup_and_login(Role::User).await;
    let photo = photo_of(&app, &owner.access).await;

    let attempts = (1..=8).map(|i| rate(&app, &user.access, &photo, json!((i % 5) + 1)));
    let results = futures_util::future::join_all(attempts).await;

    let created = results
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    let conflicts = results
        .iter()
        .filter(|r| r.status() == StatusCode::CONFLICT)
        .count();
    assert_eq!((created, conflicts), (1, 7));
    assert_eq!(photo_rating(&app, &photo).await["count"], 1);
}

#[actix_web::test]
async fn fifty_users_rating_at_once_give_the_exact_mean() {
    let app = spawn_app().await;
    let owner = app.signup_and_login(Role::User).await;
    let photo = photo_of(&app, &owner.access).await;
    let users: Vec<TestUser> = futures_util::future::join_all((0..50).map(|_| {
        let app = &app;
        async move { app.register(&unique_name("rater")).await }
    }))
    .await;

    let stars: Vec<u64> = (0..50).map(|i| (i * 7 % 5) + 1).collect();
    let results = futures_util::future::join_all(
        users
            .iter()
            .zip(&stars)
            .map(|(u, s)| rate(&app, &u.access, &photo, json!(s))),
    )
    .await;

    assert!(results.iter().all(|r| r.status() == StatusCode::CREATED));
    let rating = photo_rating(&app, &photo).await;
    let mean = stars.iter().sum::<u64>() as f64 / 50.0;
    assert_eq!(rating["count"], 50);
    assert_eq!(rating["average"].as_f64().unwrap(), mean);
}

#[actix_web::test]
async fn moderators_list_and_delete_ratings_and_users_cannot() {
    let app = spawn_app().await;
    let owner = app.signup_and_login(Role::User).await;
    let a = app.signup_and_login(Role::User).await;
    let b = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    let photo = photo_of(&app, &owner.access).await;
    let ra: Value = rate(&app, &a.access, &photo, json!(1))
        .await
        .json()
        .await
        .unwrap();
    rate(&app, &b.access, &photo, json!(4)).await;
    let list_path = format!("/api/photos/{photo}/ratings");

    let as_user = app.get(&list_path, Some(&a.access)).await;
    assert_problem(as_user, StatusCode::FORBIDDEN).await;
    let page: Value = app
        .get(&format!("{list_path}?limit=1"), Some(&moderator.access))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["total"], 2);
    assert_eq!(page["items"][0]["id"], ra["id"], "oldest first");

    let del_path = format!("/api/ratings/{}", ra["id"].as_str().unwrap());
    let by_user = app.delete(&del_path, Some(&a.access)).await;
    assert_problem(by_user, StatusCode::FORBIDDEN).await;
    let by_mod = app.delete(&del_path, Some(&moderator.access)).await;
    assert_eq!(by_mod.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        photo_rating(&app, &photo).await,
        json!({"average": 4.0, "count": 1})
    );
    let again = app.delete(&del_path, Some(&moderator.access)).await;
    assert_problem(again, StatusCode::NOT_FOUND).await;
    let rerate = rate(&app, &a.access, &photo, json!(3)).await;
    assert_eq!(
        rerate.status(),
        StatusCode::CREATED,
        "a deleted rating can be given again"
    );
    let unknown = app
        .get(
            "/api/photos/0123456789abcdef01234567/ratings",
            Some(&moderator.access),
        )
        .await;
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
}
