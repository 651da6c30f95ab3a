use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, error_fields, spawn_app, Role, PASSWORD};

#[actix_web::test]
async fn me_needs_a_token() {
    let app = spawn_app().await;

    let res = app.get("/api/users/me", None).await;

    assert_problem(res, StatusCode::UNAUTHORIZED).await;
}

#[actix_web::test]
async fn me_shows_the_private_user() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    let me = app.me(&user.access).await;

    assert_eq!(me["id"], user.id.as_str());
    assert_eq!(me["email"], user.email.as_str());
    assert_eq!(me["role"], "user");
    let keys: Vec<&str> = me.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "id",
        "username",
        "email",
        "full_name",
        "bio",
        "role",
        "is_active",
        "created_at",
        "photo_count",
    ] {
        assert!(keys.contains(&key), "missing {key}");
    }
    assert_eq!(keys.len(), 9);
}

#[actix_web::test]
async fn patch_me_changes_full_name_bio_and_email() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    let res = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            &json!({"full_name": "  Henry Ford ", "bio": "cars", "email": "HENRY@example.org"}),
            Some(&user.access),
        )
        .await;

    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["full_name"], "Henry Ford");
    assert_eq!(body["bio"], "cars");
    assert_eq!(body["email"], "HENRY@example.org");
    let (token, _) = app.login_tokens("henry@EXAMPLE.org", PASSWORD).await;
    assert_eq!(app.me(&token).await["username"], user.username);

    let cleared = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            &json!({"bio": null}),
            Some(&token),
        )
        .await;
    let body: Value = cleared.json().await.unwrap();
    assert_eq!(body["bio"], Value::Null);
    assert_eq!(body["full_name"], "Henry Ford", "absent fields stay");
}

#[actix_web::test]
async fn patch_me_with_privileged_or_unknown_fields_is_422_and_changes_nothing() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    for body in [
        json!({"role": "admin"}),
        json!({"is_active": false}),
        json!({"username": "someone_else"}),
        json!({"full_name": "X", "shoe_size": 44}),
    ] {
        let res = app
            .send_json(Method::PATCH, "/api/users/me", &body, Some(&user.access))
            .await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        let field = body
            .as_object()
            .unwrap()
            .keys()
            .next_back()
            .unwrap()
            .clone();
        assert!(error_fields(&problem).contains(&field), "{problem}");
    }

    let me = app.me(&user.access).await;
    assert_eq!(me["role"], "user");
    assert_eq!(me["full_name"], Value::Null);
    assert_eq!(me["username"], user.username);
}

#[actix_web::test]
async fn patch_me_with_a_taken_email_is_409_and_an_invalid_one_422() {
    let app = spawn_app().await;
    let a = app.signup_and_login(Role::User).await;
    let b = app.signup_and_login(Role::User).await;

    let taken = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            &json!({"email": b.email.to_uppercase()}),
            Some(&a.access),
        )
        .await;
    let invalid = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            &json!({"email": "nope"}),
            Some(&a.access),
        )
        .await;
    let too_long = app
        .send_json(
            Method::PATCH,
            "/api/users/me",
            &json!({"bio": "x".repeat(501)}),
            Some(&a.access),
        )
        .await;

    assert_problem(taken, StatusCode::CONFLICT).await;
    let problem = assert_problem(invalid, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["email"]);
    let problem = assert_problem(too_long, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["bio"]);
    assert_eq!(app.me(&a.access).await["email"], a.email.as_str());
}

#[actix_web::test]
async fn password_change_needs_the_current_password_and_signs_out_other_sessions() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let (other_access, other_refresh) = app.login_tokens(&user.username, PASSWORD).await;
    let change =
        |current: &str, new: &str| json!({"current_password": current, "new_password": new});

    let wrong = app
        .send_json(
            Method::PUT,
            "/api/users/me/password",
            &change("not-it-at-all", "brand-new-secret"),
            Some(&user.access),
        )
        .await;
    let short = app
        .send_json(
            Method::PUT,
            "/api/users/me/password",
            &change(PASSWORD, "short"),
            Some(&user.access),
        )
        .await;
    let ok = app
        .send_json(
            Method::PUT,
            "/api/users/me/password",
            &change(PASSWORD, "brand-new-secret"),
            Some(&user.access),
        )
        .await;

    let problem = assert_problem(wrong, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["current_password"]);
    let problem = assert_problem(short, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["new_password"]);
    assert_eq!(ok.status(), StatusCode::NO_CONTENT);
    assert_problem(
        app.login(&user.username, PASSWORD).await,
        StatusCode::UNAUTHORIZED,
    )
    .await;
    app.login_tokens(&user.username, "brand-new-secret").await;
    assert_eq!(
        app.me(&user.access).await["username"],
        user.username,
        "this session stays"
    );
    let other = app.get("/api/users/me", Some(&other_access)).await;
    assert_problem(other, StatusCode::UNAUTHORIZED).await;
    let refresh = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": other_refresh}),
            None,
        )
        .await;
    assert_problem(refresh, StatusCode::UNAUTHORIZED).await;
}

#[actix_web::test]
async fn public_profile_is_found_case_insensitively_and_has_no_email() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    let res = app
        .get(
            &format!("/api/users/{}", user.username.to_uppercase()),
            None,
        )
        .await;

    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["username"], user.username);
    assert_eq!(body["role"], "user");
    assert_eq!(body["photo_count"], 0);
    assert_eq!(body["comment_count"], 0);
    assert!(body.get("email").is_none() && body.get("id").is_none());
    assert!(body["created_at"].is_string());
}

#[actix_web::test]
async fn unknown_profile_is_404() {
    let app = spawn_app().await;

    let res = app.get("/api/users/nobody_here", None).await;

    assert_problem(res, StatusCode::NOT_FOUND).await;
}
