use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{
    assert_problem, error_fields, spawn_app, spawn_app_with, unique_name, Role, PASSWORD,
};

#[actix_web::test]
async fn signup_returns_the_private_user_and_the_first_account_is_admin() {
    let app = spawn_app().await;

    let res = app.signup("Ada_L", "Ada@Example.com", PASSWORD).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let first: Value = res.json().await.unwrap();
    let res = app.signup("bob", "bob@example.com", PASSWORD).await;
    let second: Value = res.json().await.unwrap();

    assert_eq!(first["role"], "admin");
    assert_eq!(second["role"], "user");
    assert_eq!(first["username"], "Ada_L");
    assert_eq!(first["email"], "Ada@Example.com");
    assert_eq!(first["is_active"], true);
    assert_eq!(first["photo_count"], 0);
    assert_eq!(first["id"].as_str().unwrap().len(), 24);
    let created = first["created_at"].as_str().unwrap();
    assert!(created.ends_with('Z') && created.len() == 24, "{created}");
    assert!(first.get("password").is_none() && first.get("password_hash").is_none());
}

#[actix_web::test]
async fn concurrent_first_signups_make_exactly_one_admin() {
    let app = spawn_app().await;

    let signups = (0..8).map(|i| {
        let name = format!("racer{i}");
        let email = format!("racer{i}@example.com");
        let app = &app;
        async move { app.signup(&name, &email, PASSWORD).await }
    });
    let results = futures_util::future::join_all(signups).await;

    let mut admins = 0;
    for res in results {
        assert_eq!(res.status(), StatusCode::CREATED);
        let body: Value = res.json().await.unwrap();
        admins += usize::from(body["role"] == "admin");
    }
    assert_eq!(admins, 1);
}

#[actix_web::test]
async fn duplicate_username_or_email_is_409_case_insensitively() {
    let app = spawn_app().await;
    app.signup("carol", "carol@example.com", PASSWORD).await;

    let same_name = app.signup("CAROL", "other@example.com", PASSWORD).await;
    let same_email = app.signup("carol2", "Carol@EXAMPLE.com", PASSWORD).await;

    let body = assert_problem(same_name, StatusCode::CONFLICT).await;
    assert!(body["detail"].as_str().unwrap().contains("username"));
    let body = assert_problem(same_email, StatusCode::CONFLICT).await;
    assert!(body["detail"].as_str().unwrap().contains("email"));
}

#[actix_web::test]
async fn invalid_signup_fields_are_422_naming_each_field() {
    let app = spawn_app().await;

    let res = app.signup("a b", "not-an-email", "short").await;

    let body = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let mut fields = error_fields(&body);
    fields.sort();
    assert_eq!(fields, ["email", "password", "username"]);
}

#[actix_web::test]
async fn signup_rejects_long_passwords_and_usernames() {
    let app = spawn_app().await;
    let long_pw = "x".repeat(129);
    let long_name = "y".repeat(33);

    let pw = app.signup("dave", "dave@example.com", &long_pw).await;
    let name = app.signup(&long_name, "dave@example.com", PASSWORD).await;

    let body = assert_problem(pw, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&body), ["password"]);
    let body = assert_problem(name, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&body), ["username"]);
}

#[actix_web::test]
async fn malformed_json_is_400_and_unknown_fields_are_422() {
    let app = spawn_app().await;

    let malformed = app
        .client
        .post(app.url("/api/auth/signup"))
        .header("content-type", "application/json")
        .body("{\"username\": ")
        .send()
        .await
        .unwrap();
    let unknown = app
        .post_json(
            "/api/auth/signup",
            &json!({"username": "eve", "email": "eve@example.com", "password": PASSWORD, "role": "admin"}),
            None,
        )
        .await;
    let missing = app
        .post_json("/api/auth/signup", &json!({"username": "eve"}), None)
        .await;

    assert_problem(malformed, StatusCode::BAD_REQUEST).await;
    let body = assert_problem(unknown, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&body), ["role"]);
    assert_problem(missing, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = app.login("eve", PASSWORD).await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "nothing was created"
    );
}

#[actix_web::test]
async fn login_accepts_an_oauth2_form_json_and_the_email() {
    let app = spawn_app().await;
    app.signup("frank", "Frank@Example.com", PASSWORD).await;

    let form = app
        .client
        .post(app.url("/api/auth/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "grant_type=password&username=frank&password={PASSWORD}&scope="
        ))
        .send()
        .await
        .unwrap();
    let json = app.login("FRANK", PASSWORD).await;
    let by_email = app.login("frank@example.COM", PASSWORD).await;

    for res in [form, json, by_email] {
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["expires_in"], 900);
        let access = body["access_token"].as_str().unwrap();
        assert_eq!(app.me(access).await["username"], "frank");
        assert!(body["refresh_token"].as_str().unwrap().len() > 20);
    }
}

#[actix_web::test]
async fn login_with_another_content_type_is_415() {
    let app = spawn_app().await;

    let res = app
        .client
        .post(app.url("/api/auth/login"))
        .header("content-type", "text/plain")
        .body("username=x&password=y")
        .send()
        .await
        .unwrap();

    assert_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

#[actix_web::test]
async fn wrong_password_and_unknown_user_get_the_same_401() {
    let app = spawn_app().await;
    app.signup("grace", "grace@example.com", PASSWORD).await;

    let wrong = app.login("grace", "not-the-password").await;
    let unknown = app.login("nobody", "not-the-password").await;

    assert_eq!(wrong.headers().get("www-authenticate").unwrap(), "Bearer");
    let wrong = assert_problem(wrong, StatusCode::UNAUTHORIZED).await;
    let unknown = assert_problem(unknown, StatusCode::UNAUTHORIZED).await;
    assert_eq!(wrong, unknown);
}

#[actix_web::test]
async fn refresh_rotates_and_the_old_refresh_token_stops_working() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    let res = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": user.refresh}),
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let fresh: Value = res.json().await.unwrap();
    let new_refresh = fresh["refresh_token"].as_str().unwrap();
    assert_ne!(new_refresh, user.refresh);
    assert_eq!(
        app.me(fresh["access_token"].as_str().unwrap()).await["username"],
        user.username
    );

    let again = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": new_refresh}),
            None,
        )
        .await;
    assert_eq!(
        again.status(),
        StatusCode::OK,
        "the newest token rotates again"
    );
}

#[actix_web::test]
async fn reusing_a_rotated_refresh_token_revokes_the_whole_session() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let res = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": user.refresh}),
            None,
        )
        .await;
    let rotated: Value = res.json().await.unwrap();
    let (new_access, new_refresh) = (
        rotated["access_token"].as_str().unwrap(),
        rotated["refresh_token"].as_str().unwrap(),
    );

    let reuse = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": user.refresh}),
            None,
        )
        .await;

    assert_problem(reuse, StatusCode::UNAUTHORIZED).await;
    let res = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": new_refresh}),
            None,
        )
        .await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    for token in [new_access, user.access.as_str()] {
        let res = app.get("/api/users/me", Some(token)).await;
        assert_problem(res, StatusCode::UNAUTHORIZED).await;
    }
    let (other_login, _) = app.login_tokens(&user.username, PASSWORD).await;
    assert_eq!(app.me(&other_login).await["username"], user.username);
}

#[actix_web::test]
async fn concurrent_refreshes_with_one_token_let_at_most_one_through() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    let body = json!({"refresh_token": user.refresh});
    let attempts = (0..4).map(|_| app.post_json("/api/auth/refresh", &body, None));
    let results = futures_util::future::join_all(attempts).await;

    let ok = results
        .iter()
        .filter(|r| r.status() == StatusCode::OK)
        .count();
    assert!(ok <= 1, "{ok} refreshes succeeded with one token");
    assert!(results
        .iter()
        .all(|r| matches!(r.status(), StatusCode::OK | StatusCode::UNAUTHORIZED)));
}

#[actix_web::test]
async fn access_and_refresh_tokens_are_not_interchangeable() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    let refresh_as_access = app.get("/api/users/me", Some(&user.refresh)).await;
    let access_as_refresh = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": user.access}),
            None,
        )
        .await;

    assert_problem(refresh_as_access, StatusCode::UNAUTHORIZED).await;
    assert_problem(access_as_refresh, StatusCode::UNAUTHORIZED).await;
}

#[actix_web::test]
async fn logout_revokes_the_access_token_and_the_sessions_refresh_token() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let (other_access, _) = app.login_tokens(&user.username, PASSWORD).await;

    let res = app.post("/api/auth/logout", Some(&user.access)).await;

    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let me = app.get("/api/users/me", Some(&user.access)).await;
    assert_problem(me, StatusCode::UNAUTHORIZED).await;
    let refresh = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": user.refresh}),
            None,
        )
        .await;
    assert_problem(refresh, StatusCode::UNAUTHORIZED).await;
    assert_eq!(
        app.me(&other_access).await["username"],
        user.username,
        "another login of the same account stays signed in"
    );
    let again = app.post("/api/auth/logout", Some(&user.access)).await;
    assert_problem(again, StatusCode::UNAUTHORIZED).await;
}

#[actix_web::test]
async fn missing_malformed_or_forged_tokens_are_401() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let mut forged = user.access.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });

    let none = app.get("/api/users/me", None).await;
    let garbage = app.get("/api/users/me", Some("not.a.jwt")).await;
    let tampered = app.get("/api/users/me", Some(&forged)).await;
    let basic = app
        .client
        .get(app.url("/api/users/me"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .send()
        .await
        .unwrap();

    for res in [none, garbage, tampered, basic] {
        assert_problem(res, StatusCode::UNAUTHORIZED).await;
    }
}

#[actix_web::test]
async fn a_token_from_another_secret_is_401() {
    let app = spawn_app().await;
    let other = spawn_app().await;
    let user = other.signup_and_login(Role::User).await;

    let res = app.get("/api/users/me", Some(&user.access)).await;

    assert_problem(res, StatusCode::UNAUTHORIZED).await;
}

#[actix_web::test]
async fn public_routes_still_reject_a_bad_token() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    let anonymous = app
        .get(&format!("/api/users/{}", user.username), None)
        .await;
    let bad = app
        .get(
            &format!("/api/users/{}", user.username),
            Some("bad.token.here"),
        )
        .await;

    assert_eq!(anonymous.status(), StatusCode::OK);
    assert_problem(bad, StatusCode::UNAUTHORIZED).await;
}

#[actix_web::test]
async fn an_expired_access_token_is_401() {
    let app = spawn_app_with(|s| s.auth.access_ttl_seconds = 1).await;
    let user = app.signup_and_login(Role::User).await;
    assert_eq!(app.me(&user.access).await["username"], user.username);

    tokio::time::sleep(Duration::from_millis(2100)).await;

    let res = app.get("/api/users/me", Some(&user.access)).await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
    let res = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": user.refresh}),
            None,
        )
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the refresh token outlives it"
    );
}

#[actix_web::test]
async fn auth_routes_are_rate_limited_per_client_with_429() {
    let app = spawn_app_with(|s| s.rate_limit.auth_per_minute = 3).await;
    let name = unique_name("limited");

    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(app.login(&name, PASSWORD).await.status());
    }
    let limited = app.signup(&name, "limited@example.com", PASSWORD).await;

    assert_eq!(statuses[..3], [StatusCode::UNAUTHORIZED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    assert_problem(limited, StatusCode::TOO_MANY_REQUESTS).await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status(), StatusCode::OK, "other routes are not limited");
}

#[actix_web::test]
async fn banned_user_cannot_log_in_and_live_tokens_stop_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let user = app.signup_and_login(Role::User).await;

    let res = app
        .post(
            &format!("/api/admin/users/{}/ban", user.username),
            Some(&admin.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["is_active"], false);

    let me = app.get("/api/users/me", Some(&user.access)).await;
    assert_problem(me, StatusCode::UNAUTHORIZED).await;
    let login = app.login(&user.username, PASSWORD).await;
    assert_problem(login, StatusCode::FORBIDDEN).await;
    let refresh = app
        .post_json(
            "/api/auth/refresh",
            &json!({"refresh_token": user.refresh}),
            None,
        )
        .await;
    assert_problem(refresh, StatusCode::UNAUTHORIZED).await;

    let res = app
        .post(
            &format!("/api/admin/users/{}/unban", user.username),
            Some(&admin.access),
        )
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["is_active"], true);
    let (fresh, _) = app.login_tokens(&user.username, PASSWORD).await;
    assert_eq!(app.me(&fresh).await["is_active"], true);
    let old = app.get("/api/users/me", Some(&user.access)).await;
    assert_problem(old, StatusCode::UNAUTHORIZED).await;
}
