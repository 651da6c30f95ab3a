//! GET /api/photos: keyword, tag, rating, date and owner filters, sort orders, paging,
//! and that every write keeps the results exact.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::fixtures;
use crate::helpers::{assert_problem, error_fields, spawn_app, Role, TestApp, TestUser};

/// Search results: the descriptions of the page, and the total.
async fn search(app: &TestApp, query: &str, token: Option<&str>) -> (Vec<String>, u64) {
    let res = app.get(&format!("/api/photos?{query}"), token).await;
    assert_eq!(res.status(), StatusCode::OK, "{query}");
    let body: Value = res.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    let names = items
        .iter()
        .map(|p| p["description"].as_str().unwrap().to_owned())
        .collect();
    (names, body["total"].as_u64().unwrap())
}

async fn names(app: &TestApp, query: &str) -> Vec<String> {
    search(app, query, None).await.0
}

async fn upload(app: &TestApp, user: &TestUser, description: &str, tags: &str) -> String {
    let photo = app
        .upload_ok(
            &user.access,
            fixtures::png(4, 4),
            &[("description", description), ("tags", tags)],
        )
        .await;
    photo["id"].as_str().unwrap().to_owned()
}

/// Rates as a fresh user; returns the Rating.
async fn rate(app: &TestApp, photo: &str, stars: u8) -> Value {
    let rater = app.signup_and_login(Role::User).await;
    let res = app
        .post_json(
            &format!("/api/photos/{photo}/ratings"),
            &json!({ "stars": stars }),
            Some(&rater.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    res.json().await.unwrap()
}

#[actix_web::test]
async fn keywords_and_tags_match_case_insensitively_and_combine() {
    let app = spawn_app().await;
    let u = app.signup_and_login(Role::User).await;
    upload(&app, &u, "Sunset over the Sea", "beach,summer").await;
    upload(&app, &u, "City at night", "city,night-life").await;
    upload(&app, &u, "sunset in the CITY", "city").await;
    upload(&app, &u, "Straße in Köln", "street-art").await;

    assert_eq!(
        search(&app, "q=SUNSET", None).await,
        (
            vec!["sunset in the CITY".into(), "Sunset over the Sea".into()],
            2
        ),
        "description words, newest first"
    );
    assert_eq!(
        names(&app, "q=city").await,
        ["sunset in the CITY", "City at night"]
    );
    assert_eq!(
        names(&app, "q=summer").await,
        ["Sunset over the Sea"],
        "a tag name"
    );
    assert_eq!(names(&app, "q=STRASSE").await, Vec::<String>::new());
    assert_eq!(names(&app, "q=stra%C3%9Fe").await, ["Straße in Köln"]);
    assert_eq!(
        names(&app, "q=k%C3%96ln").await,
        ["Straße in Köln"],
        "Unicode case folding"
    );
    assert_eq!(
        names(&app, "q=street+art").await,
        ["Straße in Köln"],
        "the words inside a tag"
    );
    assert_eq!(
        names(&app, "q=sunset+sea").await,
        ["Sunset over the Sea"],
        "all words"
    );
    assert_eq!(
        names(&app, "tag=city").await,
        ["sunset in the CITY", "City at night"]
    );
    assert_eq!(
        names(&app, "tag=City&tag=night-life").await,
        ["City at night"],
        "repeated tags: all must match"
    );
    assert_eq!(
        names(&app, "q=sunset&tag=city").await,
        ["sunset in the CITY"]
    );
    assert_eq!(names(&app, "tag=nightlife").await, Vec::<String>::new());
    assert_eq!(search(&app, "q=absent", None).await, (vec![], 0));
    assert_eq!(search(&app, "", None).await.1, 4, "no filter: every photo");
}

#[actix_web::test]
async fn rating_bounds_and_rating_orders() {
    let app = spawn_app().await;
    let u = app.signup_and_login(Role::User).await;
    let a = upload(&app, &u, "a", "").await;
    let b = upload(&app, &u, "b", "").await;
    let c = upload(&app, &u, "c", "").await;
    upload(&app, &u, "unrated", "").await;
    let e = upload(&app, &u, "e", "").await;
    rate(&app, &a, 5).await;
    let a_low = rate(&app, &a, 4).await;
    rate(&app, &b, 2).await;
    rate(&app, &c, 3).await;
    rate(&app, &e, 3).await;

    assert_eq!(names(&app, "min_rating=3").await, ["e", "c", "a"]);
    assert_eq!(names(&app, "min_rating=3.5&max_rating=5").await, ["a"]);
    assert_eq!(
        names(&app, "max_rating=2.5").await,
        ["b"],
        "unrated excluded"
    );
    assert_eq!(
        names(&app, "sort=-rating").await,
        ["a", "e", "c", "b", "unrated"],
        "ties newer first, unrated last"
    );
    assert_eq!(
        names(&app, "sort=rating").await,
        ["unrated", "b", "c", "e", "a"],
        "ascending: ties older first"
    );
    assert_eq!(
        names(&app, "sort=created_at").await,
        ["a", "b", "c", "unrated", "e"]
    );

    // a: 4.5 -> 5 after its 4-star rating goes; the index follows at once.
    let admin = app.admin().await.access.clone();
    let res = app
        .delete(
            &format!("/api/ratings/{}", a_low["id"].as_str().unwrap()),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(names(&app, "min_rating=4.75").await, ["a"]);
    assert_eq!(
        names(&app, "min_rating=4.5&max_rating=4.5").await,
        Vec::<String>::new()
    );
}

#[actix_web::test]
async fn edits_and_deletes_keep_results_exact() {
    let app = spawn_app().await;
    let u = app.signup_and_login(Role::User).await;
    let sea = upload(&app, &u, "Sunset sea", "beach").await;
    let city = upload(&app, &u, "sunset city", "city").await;
    let res = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/photos/{city}"),
            &json!({ "description": "Morning fog", "tags": ["fog"] }),
            Some(&u.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(names(&app, "q=sunset").await, ["Sunset sea"]);
    assert_eq!(names(&app, "q=fog").await, ["Morning fog"]);
    assert_eq!(names(&app, "tag=city").await, Vec::<String>::new());

    // Description only: the tags stay searchable.
    let res = app
        .send_json(
            reqwest::Method::PUT,
            &format!("/api/photos/{sea}"),
            &json!({ "description": "Low tide" }),
            Some(&u.access),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(names(&app, "q=beach").await, ["Low tide"]);
    assert_eq!(names(&app, "q=sunset").await, Vec::<String>::new());

    let res = app
        .delete(&format!("/api/photos/{sea}"), Some(&u.access))
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_eq!(search(&app, "q=beach", None).await, (vec![], 0));
    assert_eq!(
        search(&app, "", None).await,
        (vec!["Morning fog".into()], 1)
    );
}

#[actix_web::test]
async fn date_bounds_take_dates_and_rfc3339_times() {
    let app = spawn_app().await;
    let u = app.signup_and_login(Role::User).await;
    upload(&app, &u, "first", "").await;
    let second_id = upload(&app, &u, "second", "").await;
    upload(&app, &u, "third", "").await;
    let second: Value = app
        .get(&format!("/api/photos/{second_id}"), None)
        .await
        .json()
        .await
        .unwrap();
    let at = second["created_at"].as_str().unwrap();
    let today = &at[..10];
    let at = urlencode(at);

    assert_eq!(
        names(&app, &format!("from={at}")).await,
        ["third", "second"]
    );
    assert_eq!(names(&app, &format!("to={at}")).await, ["second", "first"]);
    assert_eq!(names(&app, &format!("from={at}&to={at}")).await, ["second"]);
    assert_eq!(
        search(&app, &format!("from={today}&to={today}"), None)
            .await
            .1,
        3
    );
    assert_eq!(search(&app, "to=2000-01-01", None).await.1, 0);
    assert_eq!(search(&app, "from=2999-12-31T00:00:00Z", None).await.1, 0);
}

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A").replace('+', "%2B")
}

#[actix_web::test]
async fn owner_filter_is_for_moderators_and_admins() {
    let app = spawn_app().await;
    let alice = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    upload(&app, &alice, "alice's", "").await;
    upload(&app, &bob, "bob's", "").await;

    let query = format!("/api/photos?owner={}", alice.username);
    assert_problem(
        app.get(&query, Some(&bob.access)).await,
        StatusCode::FORBIDDEN,
    )
    .await;
    assert_problem(app.get(&query, None).await, StatusCode::UNAUTHORIZED).await;
    let upper = format!("owner={}", alice.username.to_uppercase());
    assert_eq!(
        search(&app, &upper, Some(&moderator.access)).await,
        (vec!["alice's".into()], 1)
    );
    let admin = app.admin().await.access.clone();
    let both = format!("owner={}&q=bob", bob.username);
    assert_eq!(names_as(&app, &both, &admin).await, ["bob's"]);
    assert_eq!(
        search(&app, "owner=nobody_here", Some(&admin)).await,
        (vec![], 0)
    );
}

async fn names_as(app: &TestApp, query: &str, token: &str) -> Vec<String> {
    search(app, query, Some(token)).await.0
}

#[actix_web::test]
async fn pages_carry_total_limit_and_offset() {
    let app = spawn_app().await;
    let u = app.signup_and_login(Role::User).await;
    for name in ["p1", "p2", "p3", "p4", "p5"] {
        upload(&app, &u, name, "same").await;
    }
    let body: Value = app
        .get("/api/photos?tag=same&limit=2&offset=1", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (
            body["total"].as_u64(),
            body["limit"].as_u64(),
            body["offset"].as_u64()
        ),
        (Some(5), Some(2), Some(1))
    );
    let page: Vec<&str> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["description"].as_str().unwrap())
        .collect();
    assert_eq!(page, ["p4", "p3"]);
    let item = &body["items"][0];
    assert!(
        item["url"].as_str().unwrap().contains("/i/"),
        "full Photo objects"
    );
    assert_eq!(item["owner"]["username"], u.username.as_str());
    assert_eq!(search(&app, "tag=same&offset=10", None).await, (vec![], 5));
}

#[actix_web::test]
async fn bad_parameters_are_422_naming_each_one_and_change_nothing() {
    let app = spawn_app().await;
    for (query, fields) in [
        ("min_rating=0", vec!["min_rating"]),
        ("max_rating=5.5&sort=best", vec!["max_rating", "sort"]),
        ("min_rating=4&max_rating=3", vec!["min_rating"]),
        ("from=31.12.2026", vec!["from"]),
        ("from=2026-02-01&to=2026-01-01", vec!["from"]),
        ("limit=0&offset=x", vec!["limit", "offset"]),
        ("tag=no%20spaces", vec!["tag"]),
        ("tags=sea", vec!["tags"]),
        ("q=a&q=b", vec!["q"]),
    ] {
        let res = app.get(&format!("/api/photos?{query}"), None).await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), fields, "{query}");
    }
}

#[actix_web::test]
async fn the_openapi_document_describes_the_search_parameters() {
    let app = spawn_app().await;
    let doc: Value = app.get("/openapi.json", None).await.json().await.unwrap();
    let params = doc["paths"]["/api/photos"]["get"]["parameters"]
        .as_array()
        .expect("GET /api/photos documented");
    let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for want in [
        "q",
        "tag",
        "min_rating",
        "max_rating",
        "from",
        "to",
        "owner",
        "sort",
        "limit",
        "offset",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
}
