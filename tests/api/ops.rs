use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{assert_problem, spawn_app, Role};

#[actix_web::test]
async fn healthz_and_readyz_answer_200() {
    let app = spawn_app().await;

    let health = app.get("/healthz", None).await;
    let ready = app.get("/readyz", None).await;

    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(ready.status(), StatusCode::OK);
    assert_eq!(ready.json::<Value>().await.unwrap()["status"], "ready");
}

#[actix_web::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    app.me(&user.access).await;
    app.get("/api/users/me", None).await;

    let res = app.get("/metrics", None).await;

    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    let value = |prefix: &str| -> u64 {
        let line = text.lines().find(|l| l.starts_with(prefix)).expect(prefix);
        line.rsplit(' ').next().unwrap().parse().unwrap()
    };
    let ok = value(r#"http_requests_total{method="GET",route="/api/users/me",status="200"}"#);
    let denied = value(r#"http_requests_total{method="GET",route="/api/users/me",status="401"}"#);
    let observed = value(r#"http_request_duration_seconds_count{route="/api/users/me"}"#);
    assert!(ok >= 1, "{text}");
    assert_eq!(denied, 1);
    assert_eq!(observed, ok + denied);
}

#[actix_web::test]
async fn openapi_document_describes_every_account_route() {
    let app = spawn_app().await;

    let res = app.get("/openapi.json", None).await;

    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = &doc["paths"];
    for (path, method) in [
        ("/api/auth/signup", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/refresh", "post"),
        ("/api/auth/logout", "post"),
        ("/api/users/me", "get"),
        ("/api/users/me", "patch"),
        ("/api/users/me/password", "put"),
        ("/api/users/{username}", "get"),
        ("/api/admin/users", "get"),
        ("/api/admin/users/{username}/role", "put"),
        ("/api/admin/users/{username}/ban", "post"),
        ("/api/admin/users/{username}/unban", "post"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[actix_web::test]
async fn swagger_ui_is_served_from_the_binary() {
    let app = spawn_app().await;

    let redirect = app.get("/docs", None).await;
    let page = app.get("/docs/", None).await;

    assert_eq!(redirect.status(), StatusCode::MOVED_PERMANENTLY);
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger"), "{html}");
    let js = app.get("/docs/swagger-ui-bundle.js", None).await;
    assert_eq!(js.status(), StatusCode::OK);
}

#[actix_web::test]
async fn unknown_routes_are_problem_json_404() {
    let app = spawn_app().await;

    let res = app.get("/api/nothing-here", None).await;

    assert_problem(res, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn responses_carry_security_headers() {
    let app = spawn_app().await;

    let res = app.get("/api/users/me", None).await;

    let h = res.headers();
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(
        h["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
    assert!(h.get("strict-transport-security").is_none(), "plain HTTP");
    let docs = app.get("/docs/", None).await;
    assert!(
        docs.headers().get("content-security-policy").is_none(),
        "Swagger UI runs its scripts"
    );

    let behind_tls = crate::helpers::spawn_app_with(|s| {
        s.server.public_url = "https://photos.example.com".into();
    })
    .await;
    let res = behind_tls.get("/healthz", None).await;
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}
