//! Albums (API.md, "Albums, share links and the account's own data").

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{assert_problem, error_fields, spawn_app, Role, TestApp};
use crate::transformations::photo;

async fn body(res: reqwest::Response, want: StatusCode) -> Value {
    assert_eq!(res.status(), want);
    res.json().await.unwrap()
}

async fn send(
    app: &TestApp,
    method: Method,
    path: &str,
    json: &Value,
    token: &str,
) -> reqwest::Response {
    app.send_json(method, path, json, Some(token)).await
}

fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn an_album_is_private_until_published_and_ordered_by_its_owner() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let p: Vec<String> = {
        let mut p = Vec::new();
        for _ in 0..3 {
            p.push(photo(&app, &ada, 8, 8).await);
        }
        p
    };
    let res = app
        .post_json(
            "/api/albums",
            &json!({"title": "  Porto  ", "description": "May"}),
            Some(&ada.access),
        )
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let album = body(res, StatusCode::CREATED).await;
    let id = album["id"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/api/albums/{id}"));
    assert_eq!(
        (
            &album["title"],
            &album["visibility"],
            &album["photo_count"],
            &album["cover"]
        ),
        (&json!("Porto"), &json!("private"), &json!(0), &Value::Null)
    );
    let path = format!("/api/albums/{id}");
    // Private: 404 for everyone but the owner and admins.
    for token in [None, Some(bob.access.as_str())] {
        assert_problem(app.get(&path, token).await, StatusCode::NOT_FOUND).await;
    }
    assert_eq!(
        app.get(&path, Some(&admin.access)).await.status(),
        StatusCode::OK
    );

    let photos = format!("{path}/photos");
    let res = send(
        &app,
        Method::POST,
        &photos,
        &json!({"photo_ids": [p[0], p[1], p[0]]}),
        &ada.access,
    )
    .await;
    let album = body(res, StatusCode::OK).await;
    assert_eq!(album["photo_count"], 2, "kept once");
    let res = send(
        &app,
        Method::POST,
        &photos,
        &json!({"photo_ids": [p[2], p[1]]}),
        &ada.access,
    )
    .await;
    assert_eq!(body(res, StatusCode::OK).await["photos"]["total"], 3);
    let bobs = photo(&app, &bob, 8, 8).await;
    let res = send(
        &app,
        Method::POST,
        &photos,
        &json!({"photo_ids": [bobs]}),
        &ada.access,
    )
    .await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
    let res = send(
        &app,
        Method::POST,
        &photos,
        &json!({"photo_ids": []}),
        &ada.access,
    )
    .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;

    let order = format!("{path}/order");
    let res = send(
        &app,
        Method::PUT,
        &order,
        &json!({"photo_ids": [p[2], p[0]]}),
        &ada.access,
    )
    .await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["photo_ids"]);
    let res = send(
        &app,
        Method::PUT,
        &order,
        &json!({"photo_ids": [p[2], p[0], p[1]]}),
        &ada.access,
    )
    .await;
    let album = body(res, StatusCode::OK).await;
    assert_eq!(
        ids(&album["photos"]),
        [p[2].clone(), p[0].clone(), p[1].clone()]
    );
    assert_eq!(
        album["cover"]["id"],
        p[2].as_str(),
        "the first photo is the cover"
    );

    let res = send(
        &app,
        Method::PATCH,
        &path,
        &json!({"visibility": "public", "cover_photo_id": p[1]}),
        &ada.access,
    )
    .await;
    let album = body(res, StatusCode::OK).await;
    assert_eq!(
        (&album["visibility"], &album["cover"]["id"]),
        (&json!("public"), &json!(p[1]))
    );
    let res = send(
        &app,
        Method::PATCH,
        &path,
        &json!({"cover_photo_id": bobs}),
        &ada.access,
    )
    .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let res = send(
        &app,
        Method::PATCH,
        &path,
        &json!({"title": ""}),
        &ada.access,
    )
    .await;
    assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;

    // Public now: anyone reads it, in pages, in album order.
    let page: Value = app
        .get(&format!("{path}?limit=2&offset=1"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ids(&page["photos"]), [p[0].clone(), p[1].clone()]);
    assert_eq!(page["photos"]["total"], 3);

    // Deleting the cover photo takes it out at once; the cover falls back.
    let res = app
        .delete(&format!("/api/photos/{}", p[1]), Some(&ada.access))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let album: Value = app.get(&path, None).await.json().await.unwrap();
    assert_eq!(album["photo_count"], 2);
    assert_eq!(album["cover"]["id"], p[2].as_str());

    // Only the owner changes the photos; an admin may edit and delete.
    let res = app
        .delete(&format!("{photos}/{}", p[0]), Some(&admin.access))
        .await;
    assert_problem(res, StatusCode::FORBIDDEN).await;
    let res = app
        .delete(&format!("{photos}/{}", p[0]), Some(&ada.access))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let res = app
        .delete(&format!("{photos}/{}", p[0]), Some(&ada.access))
        .await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
    let res = send(
        &app,
        Method::PATCH,
        &path,
        &json!({"title": "Porto!"}),
        &admin.access,
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_problem(
        app.delete(&path, Some(&bob.access)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_eq!(
        app.delete(&path, Some(&admin.access)).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_problem(
        app.get(&path, Some(&ada.access)).await,
        StatusCode::NOT_FOUND,
    )
    .await;
    assert_eq!(
        app.get(&format!("/api/photos/{}", p[2]), None)
            .await
            .status(),
        StatusCode::OK,
        "photos stay"
    );
}

#[actix_web::test]
async fn a_users_album_list_shows_private_ones_only_to_them_and_admins() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let mut made = Vec::new();
    for title in ["one", "two", "three"] {
        let album = body(
            app.post_json("/api/albums", &json!({"title": title}), Some(&ada.access))
                .await,
            StatusCode::CREATED,
        )
        .await;
        made.push(album["id"].as_str().unwrap().to_owned());
    }
    let public = format!("/api/albums/{}", made[1]);
    send(
        &app,
        Method::PATCH,
        &public,
        &json!({"visibility": "public"}),
        &ada.access,
    )
    .await;
    let list = format!("/api/users/{}/albums", ada.username);
    let titles = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["title"].as_str().unwrap().to_owned())
            .collect()
    };
    for token in [None, Some(bob.access.as_str())] {
        let page: Value = app.get(&list, token).await.json().await.unwrap();
        assert_eq!(
            (titles(&page), page["total"].clone()),
            (vec!["two".to_owned()], json!(1))
        );
        assert!(
            page["items"][0].get("photos").is_none(),
            "lists carry no photo page"
        );
    }
    for token in [&ada.access, &admin.access] {
        let page: Value = app.get(&list, Some(token)).await.json().await.unwrap();
        assert_eq!(titles(&page), ["three", "two", "one"], "newest first");
    }
    assert_problem(
        app.get("/api/users/nobody_here/albums", None).await,
        StatusCode::NOT_FOUND,
    )
    .await;
}

#[actix_web::test]
async fn concurrent_additions_to_one_album_lose_none() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let mut p = Vec::new();
    for _ in 0..8 {
        p.push(photo(&app, &ada, 8, 8).await);
    }
    let album = body(
        app.post_json("/api/albums", &json!({"title": "race"}), Some(&ada.access))
            .await,
        StatusCode::CREATED,
    )
    .await;
    let photos = format!("/api/albums/{}/photos", album["id"].as_str().unwrap());
    let bodies: Vec<Value> = p.iter().map(|id| json!({"photo_ids": [id]})).collect();
    let adds = bodies
        .iter()
        .map(|b| send(&app, Method::POST, &photos, b, &ada.access));
    for res in futures_util::future::join_all(adds).await {
        assert_eq!(res.status(), StatusCode::OK);
    }
    let album: Value = app
        .get(
            &format!("/api/albums/{}?limit=100", album["id"].as_str().unwrap()),
            Some(&ada.access),
        )
        .await
        .json()
        .await
        .unwrap();
    let mut got = ids(&album["photos"]);
    got.sort();
    p.sort();
    assert_eq!(got, p);
}
