//! Photo metadata (API.md, "Uploads that survive bad networks, duplicates and photo
//! metadata"): date, camera, lens and exposure read from the file before its
//! metadata is cut, the position shown only to the owner, moderators and admins,
//! and the search filters and sorts over them. The files are real camera files
//! written by Pillow's EXIF writer (`scripts/make-exif-fixtures.py`), not by us.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{error_fields, spawn_app, Role, TestApp};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/exif/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

async fn upload(app: &TestApp, token: &str, name: &str) -> Value {
    let res = app.upload(token, fixture(name), name, &[]).await;
    assert_eq!(res.status(), StatusCode::CREATED, "{name}");
    res.json().await.unwrap()
}

fn assert_near(got: &Value, want: f64, what: &str) {
    let got = got.as_f64().unwrap_or_else(|| panic!("{what}: {got}"));
    assert!((got - want).abs() < 1e-5, "{what}: {got} != {want}");
}

#[actix_web::test]
async fn camera_files_give_date_camera_lens_and_exposure_and_only_the_owner_sees_where() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let bob = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;

    // Western hemisphere, offset -04:00, turned upright from Orientation 6.
    let canon = upload(&app, &ada.access, "canon-new-york.jpg").await;
    assert_eq!(
        (&canon["width"], &canon["height"]),
        (&64.into(), &96.into())
    );
    assert_eq!(canon["taken_at"], "2019-07-04T18:30:00-04:00");
    assert_eq!(canon["camera"]["make"], "Canon");
    assert_eq!(canon["camera"]["model"], "Canon EOS 5D Mark IV");
    assert_eq!(canon["lens"], "EF24-70mm f/2.8L II USM");
    let exposure = &canon["exposure"];
    assert_eq!(exposure["iso"], 400);
    assert_near(&exposure["f_number"], 2.8, "f_number");
    assert_eq!(exposure["exposure_time"], "1/250");
    assert_near(&exposure["focal_length_mm"], 50.0, "focal length");
    assert_near(&canon["location"]["lat"], 40.689247, "lat");
    assert_near(&canon["location"]["lon"], -74.044502, "lon");

    // Southern hemisphere, east, a positive offset.
    let pixel = upload(&app, &ada.access, "pixel-sydney.jpg").await;
    assert_eq!(pixel["taken_at"], "2024-01-15T09:05:30+11:00");
    assert_near(&pixel["location"]["lat"], -33.856784, "lat");
    assert_near(&pixel["location"]["lon"], 151.215297, "lon");
    assert_eq!(pixel["exposure"]["exposure_time"], "1/1000");

    // South and west, no offset in the file: the clock time as UTC.
    let nikon = upload(&app, &ada.access, "nikon-rio-no-offset.jpg").await;
    assert_eq!(nikon["taken_at"], "2016-05-04T03:02:01Z");
    assert_near(&nikon["location"]["lat"], -22.951916, "lat");
    assert_near(&nikon["location"]["lon"], -43.210487, "lon");
    assert_eq!(nikon["exposure"]["exposure_time"], "2.5");
    assert_near(&nikon["exposure"]["f_number"], 8.0, "f_number");
    assert_eq!(nikon["lens"], Value::Null);

    // A PNG eXIf chunk without a position, and a WebP with only the camera.
    let sony = upload(&app, &ada.access, "sony.png").await;
    assert_eq!(sony["format"], "png");
    assert_eq!(sony["taken_at"], "2021-12-24T23:59:59+01:00");
    assert_eq!(sony["exposure"]["exposure_time"], "1/60");
    assert_eq!(
        sony["location"],
        Value::Null,
        "the owner sees there is none"
    );
    let fuji = upload(&app, &ada.access, "fuji.webp").await;
    assert_eq!(fuji["camera"]["model"], "X-T4");
    assert_eq!(
        (&fuji["taken_at"], &fuji["exposure"]),
        (&Value::Null, &Value::Null)
    );

    // A broken EXIF block: the photo is kept, every field null.
    let broken = upload(&app, &ada.access, "broken-exif.jpg").await;
    for field in ["taken_at", "camera", "lens", "exposure", "location"] {
        assert_eq!(broken[field], Value::Null, "{field}");
    }

    // Who sees the position: the owner and moderators, in every answer.
    let path = format!("/api/photos/{}", canon["id"].as_str().unwrap());
    for (who, token, sees) in [
        ("anonymous", None, false),
        ("another user", Some(bob.access.as_str()), false),
        ("a moderator", Some(moderator.access.as_str()), true),
        ("the owner", Some(ada.access.as_str()), true),
    ] {
        let photo: Value = app.get(&path, token).await.json().await.unwrap();
        assert_eq!(photo["camera"]["make"], "Canon", "{who}");
        assert_eq!(photo.get("location").is_some(), sees, "{who}: {photo}");
        let grid: Value = app
            .get(&format!("/api/users/{}/photos", ada.username), token)
            .await
            .json()
            .await
            .unwrap();
        let items = grid["items"].as_array().unwrap();
        assert_eq!(items.len(), 6);
        for item in items {
            assert_eq!(item.get("location").is_some(), sees, "{who}: {item}");
        }
    }

    // The served file carries none of it.
    for photo in [&canon, &pixel, &nikon, &sony, &fuji] {
        let res = app.fetch(photo["url"].as_str().unwrap()).await;
        assert_eq!(res.status(), StatusCode::OK);
        let bytes = res.bytes().await.unwrap().to_vec();
        let read = exif::Reader::new().read_from_container(&mut std::io::Cursor::new(&bytes));
        assert!(read.is_err(), "{}: EXIF left in the file", photo["format"]);
        let text = String::from_utf8_lossy(&bytes);
        for leak in ["Canon", "Pixel", "NIKON", "SONY", "FUJIFILM", "2019:07:04"] {
            assert!(!text.contains(leak), "{leak} left in the file");
        }
    }
}

#[actix_web::test]
async fn search_filters_by_date_taken_and_camera_and_sorts_undated_photos_last() {
    let app = spawn_app().await;
    let ada = app.signup_and_login(Role::User).await;
    let mut ids = std::collections::HashMap::new();
    for name in [
        "fuji.webp",
        "canon-new-york.jpg",
        "nikon-rio-no-offset.jpg",
        "broken-exif.jpg",
        "pixel-sydney.jpg",
        "sony.png",
    ] {
        let photo = upload(&app, &ada.access, name).await;
        ids.insert(photo["id"].as_str().unwrap().to_owned(), name);
    }
    let names = |page: &Value| -> Vec<&str> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| ids[p["id"].as_str().unwrap()])
            .collect()
    };
    let search = |query: String| {
        let app = &app;
        async move {
            let res = app.get(&format!("/api/photos?{query}"), None).await;
            assert_eq!(res.status(), StatusCode::OK, "{query}");
            res.json::<Value>().await.unwrap()
        }
    };

    for (camera, want) in [
        ("canon", vec!["canon-new-york.jpg"]),
        ("EOS%205D", vec!["canon-new-york.jpg"]),
        ("canon+eos+5d+mark+iv", vec!["canon-new-york.jpg"]),
        ("PIXEL", vec!["pixel-sydney.jpg"]),
        ("nikon+d750", vec!["nikon-rio-no-offset.jpg"]),
        ("x-t4", vec!["fuji.webp"]),
        ("nikon+canon", vec![]),
        ("leica", vec![]),
    ] {
        let page = search(format!("camera={camera}")).await;
        assert_eq!(names(&page), want, "camera={camera}");
        assert_eq!(page["total"], want.len(), "camera={camera}");
    }

    // Bounds on the instant taken: Sydney's 09:05 +11:00 is the 14th in UTC.
    for (query, want) in [
        (
            "taken_from=2019-01-01&taken_to=2021-12-31&sort=taken_at",
            vec!["canon-new-york.jpg", "sony.png"],
        ),
        (
            "taken_to=2024-01-14T22:05:29Z",
            vec!["canon-new-york.jpg", "nikon-rio-no-offset.jpg", "sony.png"],
        ),
        (
            "taken_to=2024-01-14",
            vec![
                "canon-new-york.jpg",
                "nikon-rio-no-offset.jpg",
                "pixel-sydney.jpg",
                "sony.png",
            ],
        ),
        ("taken_from=2024-01-14T22:05:30Z", vec!["pixel-sydney.jpg"]),
        ("taken_from=2024-01-14T22:05:31Z", vec![]),
        (
            "taken_from=2016-05-04&camera=nikon",
            vec!["nikon-rio-no-offset.jpg"],
        ),
    ] {
        let page = search(query.to_owned()).await;
        let mut got = names(&page);
        if !query.contains("sort=") {
            got.sort();
        }
        assert_eq!(got, want, "{query}");
        assert_eq!(page["total"], want.len(), "{query}");
    }

    // The sorts: dated by date, then the undated by upload, in either direction.
    let latest = search("sort=-taken_at".into()).await;
    assert_eq!(
        names(&latest),
        [
            "pixel-sydney.jpg",
            "sony.png",
            "canon-new-york.jpg",
            "nikon-rio-no-offset.jpg",
            "broken-exif.jpg",
            "fuji.webp"
        ]
    );
    let earliest = search("sort=taken_at&limit=4&offset=2".into()).await;
    assert_eq!(
        names(&earliest),
        [
            "sony.png",
            "pixel-sydney.jpg",
            "fuji.webp",
            "broken-exif.jpg"
        ]
    );
    assert_eq!(earliest["total"], 6);
    let grid: Value = app
        .get(
            &format!("/api/users/{}/photos?sort=-taken_at&limit=2", ada.username),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(names(&grid), ["pixel-sydney.jpg", "sony.png"]);

    // Bad values are named, all at once.
    let res = app
        .get(
            "/api/photos?taken_from=2020-02-01&taken_to=2020-01-01&camera=a&camera=b&sort=taken",
            None,
        )
        .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(
        error_fields(&problem),
        ["camera", "sort", "taken_from"],
        "{problem}"
    );
}
