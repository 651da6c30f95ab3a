use image::{DynamicImage, ImageFormat};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::fixtures::{self, assert_near, contains, BLUE, GREEN, RED, WHITE};
use crate::helpers::{
    assert_problem, error_fields, eventually, spawn_app, spawn_app_with, Role, TestApp,
};

fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").unwrap().1;
    after_scheme[after_scheme.find('/').unwrap()..].to_owned()
}

#[actix_web::test]
async fn upload_returns_the_photo_with_every_field() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let jpeg = fixtures::encode(
        &DynamicImage::ImageRgb8(fixtures::quadrants()),
        ImageFormat::Jpeg,
    );

    let photo = app
        .upload_ok(
            &user.access,
            jpeg,
            &[
                ("description", "  Sunset at sea "),
                ("tags", "Sea, sunset"),
                ("tags", "SEA"),
            ],
        )
        .await;

    assert_eq!(photo["id"].as_str().unwrap().len(), 24);
    assert_eq!(photo["owner"], json!({"username": user.username}));
    assert_eq!(photo["description"], "Sunset at sea");
    assert_eq!(photo["tags"], json!(["sea", "sunset"]));
    assert_eq!(
        (photo["width"].as_u64(), photo["height"].as_u64()),
        (Some(64), Some(32))
    );
    assert_eq!(photo["format"], "jpeg");
    assert!(photo["size_bytes"].as_u64().unwrap() > 100);
    assert_eq!(photo["rating"], json!({"average": null, "count": 0}));
    assert_eq!(photo["comment_count"], 0);
    assert_eq!(photo["created_at"], photo["updated_at"]);
    let url = photo["url"].as_str().unwrap();
    let slug = url.strip_prefix(&format!("{}/i/", app.address)).expect(url);
    assert!(slug.len() >= 32, "slug {slug} has at least 128 bits");
    let again = app
        .get(
            &format!("/api/photos/{}", photo["id"].as_str().unwrap()),
            None,
        )
        .await;
    // The owner is told the photo has no position; nobody else sees the field.
    assert_eq!(photo["location"], Value::Null);
    let mut public = photo.clone();
    public.as_object_mut().unwrap().remove("location");
    assert_eq!(again.json::<Value>().await.unwrap(), public);
}

#[actix_web::test]
async fn all_eight_exif_orientations_land_upright() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    for orientation in 1..=8u16 {
        let photo = app
            .upload_ok(
                &user.access,
                fixtures::jpeg_with_exif(orientation, false),
                &[],
            )
            .await;
        let res = app.fetch(photo["url"].as_str().unwrap()).await;
        let bytes = res.bytes().await.unwrap();
        let img = image::load_from_memory(&bytes).unwrap().to_rgb8();

        let what = format!("orientation {orientation}");
        assert_eq!((img.width(), img.height()), (64, 32), "{what}");
        assert_eq!(
            (photo["width"].as_u64(), photo["height"].as_u64()),
            (Some(64), Some(32))
        );
        assert_near(&img, 8, 8, RED, &what);
        assert_near(&img, 56, 8, GREEN, &what);
        assert_near(&img, 8, 24, BLUE, &what);
        assert_near(&img, 56, 24, WHITE, &what);
        assert!(!contains(&bytes, b"Exif\0\0"), "{what}: EXIF left in");
    }
}

#[actix_web::test]
async fn gps_is_stripped_and_an_upright_jpeg_is_not_reencoded() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let plain = fixtures::encode(
        &DynamicImage::ImageRgb8(fixtures::quadrants()),
        ImageFormat::Jpeg,
    );
    let with_gps = fixtures::insert_after_soi(&plain, &fixtures::exif_segment(1, true));
    let with_comment = fixtures::insert_after_soi(&with_gps, b"\xFF\xFE\x00\x0Asecret!!");
    assert!(contains(&with_comment, b"GPSDATUM"));

    let photo = app.upload_ok(&user.access, with_comment, &[]).await;
    let stored = app
        .fetch(photo["url"].as_str().unwrap())
        .await
        .bytes()
        .await
        .unwrap();

    assert!(!contains(&stored, b"GPSDATUM") && !contains(&stored, b"Exif\0\0"));
    assert!(!contains(&stored, b"secret!!"));
    assert_eq!(
        stored.as_ref(),
        plain.as_slice(),
        "only metadata segments were cut"
    );
    assert_eq!(photo["size_bytes"].as_u64().unwrap() as usize, plain.len());
}

#[actix_web::test]
async fn png_gif_and_webp_are_accepted_by_their_bytes() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let img = DynamicImage::ImageRgb8(fixtures::quadrants());

    for (format, name, mime) in [
        (ImageFormat::Png, "png", "image/png"),
        (ImageFormat::Gif, "gif", "image/gif"),
        (ImageFormat::WebP, "webp", "image/webp"),
    ] {
        let bytes = fixtures::encode(&img, format);
        let res = app
            .upload(&user.access, bytes.clone(), "misnamed.jpg", &[])
            .await;
        assert_eq!(res.status(), StatusCode::CREATED, "{name}");
        let photo: Value = res.json().await.unwrap();
        assert_eq!(photo["format"], name);
        let served = app.fetch(photo["url"].as_str().unwrap()).await;
        assert_eq!(served.headers()["content-type"], mime);
        let back = image::load_from_memory(&served.bytes().await.unwrap()).unwrap();
        assert_eq!((back.width(), back.height()), (64, 32), "{name}");
    }
}

#[actix_web::test]
async fn a_pdf_named_png_is_415_and_stores_nothing() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let pdf = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n".to_vec();

    let res = app
        .upload(&user.access, pdf, "photo.png", &[("tags", "doc")])
        .await;

    assert_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    assert_eq!(app.me(&user.access).await["photo_count"], 0);
    let tags: Value = app.get("/api/tags", None).await.json().await.unwrap();
    assert_eq!(tags["total"], 0);
}

#[actix_web::test]
async fn a_truncated_jpeg_is_415() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let mut jpeg = fixtures::jpeg_with_exif(1, false);
    jpeg.truncate(jpeg.len() / 2);

    let res = app.upload(&user.access, jpeg, "half.jpg", &[]).await;

    assert_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

#[actix_web::test]
async fn a_small_png_claiming_ten_gigapixels_is_413_before_decoding() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let bomb = fixtures::png_claiming(100_000, 100_000, 5 * 1024);
    assert!(bomb.len() < 6 * 1024);

    let res = app.upload(&user.access, bomb, "bomb.png", &[]).await;

    let problem = assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("100000x100000"));
}

#[actix_web::test]
async fn a_21_mib_body_is_413() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let mut big = fixtures::png(16, 16);
    big.resize(21 * 1024 * 1024, 0);

    let res = app.upload(&user.access, big, "big.png", &[]).await;

    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
    assert_eq!(app.me(&user.access).await["photo_count"], 0);
}

#[actix_web::test]
async fn the_size_limit_holds_without_a_content_length() {
    let app = spawn_app_with(|s| s.media.max_upload_bytes = 1024).await;
    let user = app.signup_and_login(Role::User).await;
    let png = fixtures::noise_png(64, 64);
    assert!(png.len() > 4096);
    let stream = futures_util::stream::iter(
        png.chunks(512)
            .map(|c| Ok::<_, std::io::Error>(c.to_vec()))
            .collect::<Vec<_>>(),
    );
    let part = reqwest::multipart::Part::stream(reqwest::Body::wrap_stream(stream))
        .file_name("chunked.png");
    let form = reqwest::multipart::Form::new().part("file", part);

    let res = app
        .client
        .post(app.url("/api/photos"))
        .bearer_auth(&user.access)
        .multipart(form)
        .send()
        .await
        .unwrap();

    assert_problem(res, StatusCode::PAYLOAD_TOO_LARGE).await;
}

#[actix_web::test]
async fn invalid_upload_fields_are_422_naming_the_field() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let png = || fixtures::png(8, 8);
    let long = "x".repeat(2001);

    let cases: [(&[(&str, &str)], &str); 4] = [
        (&[("tags", "a,b,c,d,e,f")], "tags"),
        (&[("tags", "no spaces")], "tags"),
        (&[("description", &long)], "description"),
        (&[("owner", "someone")], "owner"),
    ];
    for (fields, field) in cases {
        let res = app.upload(&user.access, png(), "p.png", fields).await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), [field]);
    }
    let no_file = app
        .client
        .post(app.url("/api/photos"))
        .bearer_auth(&user.access)
        .multipart(reqwest::multipart::Form::new().text("description", "x"))
        .send()
        .await
        .unwrap();
    let problem = assert_problem(no_file, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["file"]);
    assert_eq!(app.me(&user.access).await["photo_count"], 0);
}

#[actix_web::test]
async fn upload_needs_a_token_and_multipart() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    let anonymous = app
        .client
        .post(app.url("/api/photos"))
        .multipart(reqwest::multipart::Form::new().text("description", "x"))
        .send()
        .await
        .unwrap();
    let json = app
        .post_json("/api/photos", &json!({"file": "x"}), Some(&user.access))
        .await;

    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;
    assert_problem(json, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
}

/// From the image cache, and streamed from the media store (the cache off: as an
/// original too big for it would be).
#[actix_web::test]
async fn image_links_are_immutable_with_strong_etags_and_304() {
    image_link_answers(spawn_app().await).await;
    image_link_answers(spawn_app_with(|s| s.media.cache_mib = 0).await).await;
}

async fn image_link_answers(app: TestApp) {
    let user = app.signup_and_login(Role::User).await;
    let photo = app
        .upload_ok(&user.access, fixtures::png(20, 10), &[])
        .await;
    let url = photo["url"].as_str().unwrap();

    let res = app.fetch(url).await;
    assert_eq!(res.status(), StatusCode::OK);
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "{etag}");
    assert_eq!(
        res.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(res.headers()["content-type"], "image/png");
    let bytes = res.bytes().await.unwrap();
    let len = bytes.len() as u64;
    assert_eq!(len, photo["size_bytes"].as_u64().unwrap());
    let image = image::load_from_memory(&bytes).expect("the stored image");
    assert_eq!((image.width(), image.height()), (20, 10));

    let cached = app
        .client
        .get(url)
        .header("if-none-match", format!("\"nope\", {etag}"))
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    assert!(cached.bytes().await.unwrap().is_empty());

    let head = app.client.head(url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        len.to_string()
    );
    assert!(head.bytes().await.unwrap().is_empty());

    let unknown = app.get("/i/0123456789abcdef0123456789abcdef", None).await;
    assert_problem(unknown, StatusCode::NOT_FOUND).await;
}

#[actix_web::test]
async fn owner_edits_description_and_tags() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let photo = app
        .upload_ok(&user.access, fixtures::png(8, 8), &[("tags", "old,keep")])
        .await;
    let path = format!("/api/photos/{}", photo["id"].as_str().unwrap());

    let res = app
        .send_json(
            Method::PUT,
            &path,
            &json!({"description": "new words", "tags": ["Keep", "fresh"]}),
            Some(&user.access),
        )
        .await;

    assert_eq!(res.status(), StatusCode::OK);
    let updated: Value = res.json().await.unwrap();
    assert_eq!(updated["description"], "new words");
    assert_eq!(updated["tags"], json!(["keep", "fresh"]));
    assert_eq!(updated["url"], photo["url"]);
    assert_ne!(updated["updated_at"], photo["updated_at"]);
    let only_text = app
        .send_json(
            Method::PUT,
            &path,
            &json!({"description": "again"}),
            Some(&user.access),
        )
        .await;
    let body: Value = only_text.json().await.unwrap();
    assert_eq!(body["tags"], json!(["keep", "fresh"]), "absent tags stay");
    let tags: Value = app.get("/api/tags", None).await.json().await.unwrap();
    let names: Vec<&str> = tags["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fresh", "keep"], "the unused tag is gone");
}

#[actix_web::test]
async fn invalid_edits_are_422_and_change_nothing() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let photo = app
        .upload_ok(
            &user.access,
            fixtures::png(8, 8),
            &[("description", "keep me")],
        )
        .await;
    let path = format!("/api/photos/{}", photo["id"].as_str().unwrap());

    for (body, field) in [
        (
            json!({"description": "x", "tags": ["a", "b", "c", "d", "e", "f"]}),
            "tags",
        ),
        (json!({"description": "y".repeat(2001)}), "description"),
        (json!({"description": "x", "owner": "me"}), "owner"),
        (json!({"tags": ["a"]}), "description"),
    ] {
        let res = app
            .send_json(Method::PUT, &path, &body, Some(&user.access))
            .await;
        let problem = assert_problem(res, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(error_fields(&problem), [field]);
    }
    let now: Value = app.get(&path, None).await.json().await.unwrap();
    assert_eq!(now["description"], "keep me");
}

#[actix_web::test]
async fn only_the_owner_or_an_admin_may_edit_or_delete() {
    let app = spawn_app().await;
    let admin = app.admin().await.clone();
    let owner = app.signup_and_login(Role::User).await;
    let other = app.signup_and_login(Role::User).await;
    let moderator = app.signup_and_login(Role::Moderator).await;
    let photo = app.upload_ok(&owner.access, fixtures::png(8, 8), &[]).await;
    let path = format!("/api/photos/{}", photo["id"].as_str().unwrap());
    let body = json!({"description": "changed"});

    for token in [&other.access, &moderator.access] {
        let put = app.send_json(Method::PUT, &path, &body, Some(token)).await;
        assert_problem(put, StatusCode::FORBIDDEN).await;
        let del = app.delete(&path, Some(token)).await;
        assert_problem(del, StatusCode::FORBIDDEN).await;
    }
    let anonymous = app.delete(&path, None).await;
    assert_problem(anonymous, StatusCode::UNAUTHORIZED).await;

    let by_admin = app
        .send_json(Method::PUT, &path, &body, Some(&admin.access))
        .await;
    assert_eq!(by_admin.status(), StatusCode::OK);
    let del = app.delete(&path, Some(&admin.access)).await;
    assert_eq!(del.status(), StatusCode::NO_CONTENT);
}

#[actix_web::test]
async fn delete_removes_the_record_the_link_the_file_and_the_tag_links() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let keep = app
        .upload_ok(&user.access, fixtures::png(8, 8), &[("tags", "shared")])
        .await;
    let gone = app
        .upload_ok(
            &user.access,
            fixtures::png(9, 9),
            &[("tags", "shared,solo")],
        )
        .await;
    let path = format!("/api/photos/{}", gone["id"].as_str().unwrap());
    assert_eq!(
        app.fetch(gone["url"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    let media_files = || async { app.media_keys("").await.len() };
    assert_eq!(media_files().await, 2);

    let res = app.delete(&path, Some(&user.access)).await;

    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    assert_problem(app.get(&path, None).await, StatusCode::NOT_FOUND).await;
    let link = app.get(&path_of(gone["url"].as_str().unwrap()), None).await;
    assert_problem(link, StatusCode::NOT_FOUND).await;
    let again = app.delete(&path, Some(&user.access)).await;
    assert_problem(again, StatusCode::NOT_FOUND).await;
    assert_eq!(app.me(&user.access).await["photo_count"], 1);
    let tags: Value = app.get("/api/tags", None).await.json().await.unwrap();
    assert_eq!(tags["items"], json!([{"name": "shared", "photo_count": 1}]));
    assert_eq!(
        app.fetch(keep["url"].as_str().unwrap()).await.status(),
        StatusCode::OK
    );
    // The file goes with the purge, a queued job.
    eventually("the file goes with the record", || async {
        media_files().await == 1
    })
    .await;
}

#[actix_web::test]
async fn unknown_or_malformed_photo_ids_are_404() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;

    for id in ["0123456789abcdef01234567", "not-an-id"] {
        let res = app.get(&format!("/api/photos/{id}"), None).await;
        assert_problem(res, StatusCode::NOT_FOUND).await;
        let put = app
            .send_json(
                Method::PUT,
                &format!("/api/photos/{id}"),
                &json!({"description": "x"}),
                Some(&user.access),
            )
            .await;
        assert_problem(put, StatusCode::NOT_FOUND).await;
    }
}

#[actix_web::test]
async fn tags_are_shared_objects_with_counts_and_a_prefix_filter() {
    let app = spawn_app().await;
    let a = app.signup_and_login(Role::User).await;
    let b = app.signup_and_login(Role::User).await;
    app.upload_ok(&a.access, fixtures::png(8, 8), &[("tags", "sea,sunset")])
        .await;
    app.upload_ok(
        &b.access,
        fixtures::png(8, 8),
        &[("tags", "Sea"), ("tags", "ship")],
    )
    .await;

    let all: Value = app.get("/api/tags", None).await.json().await.unwrap();
    let prefixed: Value = app
        .get("/api/tags?prefix=S&limit=1&offset=1", None)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(all["total"], 3);
    assert_eq!(
        all["items"],
        json!([
            {"name": "sea", "photo_count": 2},
            {"name": "ship", "photo_count": 1},
            {"name": "sunset", "photo_count": 1},
        ])
    );
    assert_eq!(prefixed["total"], 3);
    assert_eq!(
        prefixed["items"],
        json!([{"name": "ship", "photo_count": 1}])
    );
    let none: Value = app
        .get("/api/tags?prefix=zz", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(none["total"], 0);
    let bad = app.get("/api/tags?prefix=a%20b", None).await;
    let problem = assert_problem(bad, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(error_fields(&problem), ["prefix"]);
}

#[actix_web::test]
async fn profiles_count_photos() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    for _ in 0..2 {
        app.upload_ok(&user.access, fixtures::png(8, 8), &[]).await;
    }

    let me = app.me(&user.access).await;
    let public: Value = app
        .get(&format!("/api/users/{}", user.username), None)
        .await
        .json()
        .await
        .unwrap();

    assert_eq!(me["photo_count"], 2);
    assert_eq!(public["photo_count"], 2);
}

/// Found by fuzzing: a body that ends inside a part (no closing boundary, a trailing
/// CRLF) used to leave the request waiting forever; now it is a 400 at once.
#[actix_web::test]
async fn an_upload_that_ends_inside_a_part_is_400_not_a_hang() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let body: &[u8] = b"--XfuzzX\r\ncontent-disposition: form-data; name=\"description\"\r\n\r\n\
        hell\ro\n--XfuzzX\r\nbroken\r\n--X:X--\r\n";
    let res = app
        .client
        .post(app.url("/api/photos"))
        .bearer_auth(&user.access)
        .header("content-type", "multipart/form-data; boundary=XfuzzX")
        .body(body)
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .expect("an answer, not a wait forever");
    let problem = assert_problem(res, StatusCode::BAD_REQUEST).await;
    assert!(problem["detail"].as_str().unwrap().contains("multipart"));
    assert_eq!(app.me(&user.access).await["photo_count"], 0);
}

/// Found by fuzzing the ingest path: a JPEG that decodes but has a marker segment
/// shorter than its own length field used to panic while its metadata was cut.
#[actix_web::test]
async fn a_jpeg_with_a_broken_segment_length_is_415_and_the_server_goes_on() {
    let app = spawn_app().await;
    let user = app.signup_and_login(Role::User).await;
    let data = include_bytes!("../../fuzz/regressions/ingest/segment-length-below-2.jpg");
    let res = app
        .upload(&user.access, data.to_vec(), "broken.jpg", &[])
        .await;
    assert_problem(res, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    let ok = app
        .upload(&user.access, fixtures::png(8, 8), "fine.png", &[])
        .await;
    assert_eq!(ok.status(), StatusCode::CREATED);
    assert_eq!(app.me(&user.access).await["photo_count"], 1);
}
