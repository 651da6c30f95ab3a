//! What a client app needs besides the resources (API.md, "Client conveniences"):
//! a user's photo grid, `Location` on what is created, a link's slug, and
//! validators (`ETag`, 304) on single resources.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{assert_problem, error_fields, spawn_app, spawn_app_without_worker, Role};
use crate::transformations::{create, photo};

#[actix_web::test]
async fn a_users_photo_grid_is_public_sorted_and_paged() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let mut mine = Vec::new();
    for _ in 0..3 {
        mine.push(photo(&app, &ada, 12, 8).await);
    }
    photo(&app, &bob, 12, 8).await;
    let grid = format!("/api/users/{}/photos", ada.username.to_uppercase());
    let page: Value = app.get(&grid, None).await.json().await.unwrap();
    let ids: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    let newest_first: Vec<&str> = mine.iter().rev().map(String::as_str).collect();
    assert_eq!((page["total"].clone(), ids), (json!(3), newest_first));

    let page: Value = app
        .get(&format!("{grid}?sort=created_at&limit=1&offset=1"), None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page["items"][0]["id"], mine[1].as_str());
    assert_eq!(
        (page["limit"].clone(), page["offset"].clone()),
        (json!(1), json!(1))
    );

    let res = app.get(&format!("{grid}?q=x&sort=up"), None).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    let mut fields = error_fields(&problem);
    fields.sort();
    assert_eq!(fields, ["q"], "other parameters are refused first");
    let res = app.get(&format!("{grid}?sort=up"), None).await;
    let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["sort"]);
    let res = app.get("/api/users/nobody_here/photos", None).await;
    assert_problem(res, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn what_is_created_says_where_it_lives() {
    let app = spawn_app_without_worker().await;
    app.admin().await;
    let res = app
        .signup("loc_user", "loc_user@example.com", crate::helpers::PASSWORD)
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    assert_eq!(res.headers()["location"], "/api/users/loc_user");
    let user = app.signup_and_login(Role::User).await;
    let rater = app.signup_and_login(Role::User).await;

    let res = app
        .upload(&user.access, crate::fixtures::png(8, 8), "a.png", &[])
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let photo: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/photos/{}", photo["id"].as_str().unwrap())
    );
    assert_eq!(app.get(&location, None).await.status(), StatusCode::OK);
    let id = photo["id"].as_str().unwrap();

    let res = app
        .post_json(
            &format!("/api/photos/{id}/comments"),
            &json!({"text": "hi"}),
            Some(&rater.access),
        )
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let comment: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/comments/{}", comment["id"].as_str().unwrap())
    );

    let res = app
        .post_json(
            &format!("/api/photos/{id}/ratings"),
            &json!({"stars": 4}),
            Some(&rater.access),
        )
        .await;
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let rating: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/ratings/{}", rating["id"].as_str().unwrap())
    );

    let res = create(&app, &user.access, id, "w_4").await;
    assert_eq!(res.status(), StatusCode::ACCEPTED);
    let location = res.headers()["location"].to_str().unwrap().to_owned();
    let retry_after: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let link: Value = res.json().await.unwrap();
    assert_eq!(
        location,
        format!("/api/transformations/{}", link["id"].as_str().unwrap())
    );
    let slug = link["slug"].as_str().unwrap();
    assert!(link["url"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/t/{slug}")));
    assert_eq!(slug.len(), 32, "128 bits");
    let again = create(&app, &user.access, id, "w_4").await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(again.headers().get("location").is_none(), "nothing new");
}

#[actix_web::test]
async fn single_resources_carry_an_etag_and_answer_304_until_they_change() {
    let app = spawn_app_without_worker().await;
    let user = app.signup_and_login(Role::User).await;
    let id = photo(&app, &user, 8, 8).await;
    let link: Value = create(&app, &user.access, &id, "w_4")
        .await
        .json()
        .await
        .unwrap();
    let paths = [
        format!("/api/photos/{id}"),
        format!("/api/photos/{id}/comments"),
        format!("/api/users/{}", user.username),
        format!("/api/transformations/{}", link["id"].as_str().unwrap()),
    ];
    for path in &paths {
        let res = app.get(path, None).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert_eq!(
            res.headers()["cache-control"],
            "private, no-cache",
            "{path}"
        );
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        assert!(etag.starts_with('"') && etag.len() > 10, "{path}: {etag}");
        let res = app
            .client
            .get(app.url(path))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::NOT_MODIFIED, "{path}");
        assert_eq!(res.headers()["etag"].to_str().unwrap(), etag);
        assert!(res.bytes().await.unwrap().is_empty());
        let res = app
            .client
            .get(app.url(path))
            .header("If-None-Match", "\"stale\"")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
    }
    // A change is a new ETag: the old one gets the new body.
    let etag = app.get(&paths[1], None).await.headers()["etag"].clone();
    app.post_json(&paths[1], &json!({"text": "new"}), Some(&user.access))
        .await
        .error_for_status()
        .unwrap();
    let res = app
        .client
        .get(app.url(&paths[1]))
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["total"], 1);
    // Errors are not cached at all.
    let res = app.get("/api/photos/0123456789abcdef01234567", None).await;
    assert_eq!(res.headers()["cache-control"], "no-store");
}

#[actix_web::test]
async fn my_rating_is_the_callers_own_stars_everywhere_a_photo_is_shown() {
    let app = spawn_app_without_worker().await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let carol = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    let rated = photo(&app, &ada, 8, 8).await;
    photo(&app, &ada, 8, 8).await; // never rated
    let res = app
        .post_json(
            &format!("/api/photos/{rated}/ratings"),
            &json!({"stars": 4}),
            Some(&bob.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let rating_id = res.json::<Value>().await.unwrap()["id"].clone();
    let one = format!("/api/photos/{rated}");
    let grid = format!("/api/users/{}/photos", ada.username);
    let mine = |token: Option<&str>| {
        let (app, one, grid) = (&app, &one, &grid);
        let token = token.map(str::to_owned);
        async move {
            let token = token.as_deref();
            let single: Value = app.get(one, token).await.json().await.unwrap();
            let mut seen = vec![single["my_rating"].clone()];
            for page in [grid.clone(), "/api/photos?sort=created_at".to_owned()] {
                let page: Value = app.get(&page, token).await.json().await.unwrap();
                for item in page["items"].as_array().unwrap() {
                    seen.push(item["my_rating"].clone());
                }
            }
            seen
        }
    };
    // Photo, user grid (newest first: unrated, rated), search (oldest first).
    assert_eq!(
        mine(Some(&bob.access)).await,
        [json!(4), json!(null), json!(4), json!(4), json!(null)]
    );
    for other in [None, Some(ada.access.as_str()), Some(carol.access.as_str())] {
        assert_eq!(mine(other).await, vec![Value::Null; 5], "{other:?}");
    }
    // The ETag is per caller: bob's does not validate carol's copy.
    let etag = app.get(&one, Some(&bob.access)).await.headers()["etag"].clone();
    let res = app
        .client
        .get(app.url(&one))
        .bearer_auth(&carol.access)
        .header("If-None-Match", etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    // Removed by a moderator: bob's stars are gone too.
    let res = app
        .delete(
            &format!("/api/ratings/{}", rating_id.as_str().unwrap()),
            Some(&moderator.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(mine(Some(&bob.access)).await, vec![Value::Null; 5]);
}

/// The generated clients as a client team would use them (`clients/check.sh`): the
/// document passes Redocly and Spectral, openapi-typescript's types compile under
/// `tsc --strict` and openapi-python-client's package under `mypy --strict`, and both
/// run a sign-up -> upload -> grid -> comment -> rate -> transformation flow against
/// this server. Needs `npm ci` in `clients/` and `.venv-clients` (`.ci/run` makes
/// both and sets `PHOTOSHARE_TEST_CLIENTS=required`); without them the test says so
/// and passes.
#[actix_web::test]
async fn generated_clients_lint_compile_and_run_a_flow() {
    let clients = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("clients");
    let required = std::env::var("PHOTOSHARE_TEST_CLIENTS").is_ok_and(|v| v == "required");
    let tools = [
        clients.join("node_modules/.bin/openapi-typescript"),
        clients.join("../.venv-clients/bin/openapi-python-client"),
    ];
    if let Some(missing) = tools.iter().find(|t| !t.exists()) {
        assert!(!required, "{} is required", missing.display());
        eprintln!("skipped: {} is not installed", missing.display());
        return;
    }
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let image = dir.path().join("harbour.png");
    std::fs::write(&image, fixtures::png(64, 48)).unwrap();
    let out = tokio::process::Command::new("bash")
        .arg(clients.join("check.sh"))
        .arg(&app.address)
        .arg(&image)
        .output()
        .await
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "clients/check.sh failed:\n{log}");
    for flow in ["typescript flow ok", "python flow ok", "clients ok"] {
        assert!(log.contains(flow), "{flow} missing:\n{log}");
    }
}
