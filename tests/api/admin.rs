use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, error_fields, spawn_app, Role};

#[actix_web::test]
async fn admin_lists_users_in_signup_order_with_paging() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let mut names = vec![admin.username.clone()];
    for _ in 0..4 {
        names.push(app.signup_and_login(Role::User).await.username);
    }

    let res = app
        .get("/api/admin/users?limit=2&offset=1", Some(&admin.access))
        .await;

    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["total"], 5);
    assert_eq!(page["limit"], 2);
    assert_eq!(page["offset"], 1);
    let got: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(got, names[1..3]);
    assert!(page["items"][0]["email"].is_string(), "private users");

    let res = app.get("/api/admin/users", Some(&admin.access)).await;
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["limit"], 20);
    assert_eq!(page["items"].as_array().unwrap().len(), 5);
}

#[actix_web::test]
async fn page_bounds_out_of_range_are_422_and_malformed_400() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("offset=-1", "offset"),
    ] {
        let res = app
            .get(&format!("/api/admin/users?{query}"), Some(&admin.access))
            .await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), [field]);
    }
    let res = app
        .get("/api/admin/users?limit=ten", Some(&admin.access))
        .await;
    assert_problem(res, StatusCode::BAD_REQUEST).await;
}

#[actix_web::test]
async fn only_admins_reach_admin_routes() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;

    for token in [&user.access, &moderator.access] {
        let list = app.get("/api/admin/users", Some(token)).await;
        assert_problem(list, StatusCode::FORBIDDEN).await;
        let role = app.set_role(token, &user.username, "admin").await;
        assert_problem(role, StatusCode::FORBIDDEN).await;
        let ban = app
            .post(
                &format!("/api/admin/users/{}/ban", user.username),
                Some(token),
            )
            .await;
        assert_problem(ban, StatusCode::FORBIDDEN).await;
    }
    let anonymous = app.get("/api/admin/users", None).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    assert_eq!(app.me(&user.access).await["role"], "user");
    assert_eq!(app.me(&user.access).await["is_active"], true);
}

#[actix_web::test]
async fn role_change_takes_effect_on_existing_tokens_at_once() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let user = app.signup_and_login(Role::User).await;

    let res = app
        .set_role(&admin.access, &user.username.to_uppercase(), "admin")
        .await;

    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["role"], "admin");
    let res = app.get("/api/admin/users", Some(&user.access)).await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the old token now carries admin rights"
    );

    let res = app.set_role(&admin.access, &user.username, "user").await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app.get("/api/admin/users", Some(&user.access)).await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
}

#[actix_web::test]
async fn unknown_role_is_422_and_unknown_user_404() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let user = app.signup_and_login(Role::User).await;

    let bad_role = app.set_role(&admin.access, &user.username, "root").await;
    let nobody = app
        .set_role(&admin.access, "nobody_at_all", "moderator")
        .await;
    let ban_nobody = app
        .post("/api/admin/users/nobody_at_all/ban", Some(&admin.access))
        .await;

    let problem = assert_problem(bad_role, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["role"]);
    assert_problem(nobody, StatusCode::NOT_FOUND).await;
    assert_problem(ban_nobody, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn an_admin_cannot_ban_or_demote_themself() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();

    let demote = app
        .set_role(&admin.access, &admin.username, "moderator")
        .await;
    let ban = app
        .post(
            &format!("/api/admin/users/{}/ban", admin.username),
            Some(&admin.access),
        )
        .await;

    assert_problem(demote, StatusCode::CONFLICT).await;
    assert_problem(ban, StatusCode::CONFLICT).await;
    let me = app.me(&admin.access).await;
    assert_eq!(
        (me["role"].as_str(), me["is_active"].as_bool()),
        (Some("admin"), Some(true))
    );
    let keep = app.set_role(&admin.access, &admin.username, "admin").await;
    assert_eq!(
        keep.status(),
        StatusCode::OK,
        "re-affirming admin is no demotion"
    );
}

#[actix_web::test]
async fn an_admin_can_ban_another_admin() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let other = app.signup_and_login(Role::Admin).await;

    let res = app
        .post(
            &format!("/api/admin/users/{}/ban", other.username),
            Some(&admin.access),
        )
        .await;

    assert_eq!(res.status(), StatusCode::OK);
    let res = app.get("/api/admin/users", Some(&other.access)).await;
    assert_problem(res, StatusCode::UNAUTHORIZED).await;
}
