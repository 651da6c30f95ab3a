//! `spawn_app()` builds the real application on port 0 with a fresh temp DATA_DIR, or
//! with `PHOTOSHARE_TEST_MONGODB_URI` set, a fresh uniquely named MongoDB database.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use photoshare::app::Application;
use photoshare::config::Settings;
use rand::Rng;
use reqwest::{Response, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{json, Value};

pub const PASSWORD: &str = "correct-horse-battery";

pub use photoshare::domain::Role;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    admin: tokio::sync::OnceCell<TestUser>,
    /// What the app was built with (port 0 replaced by the bound one).
    pub settings: Settings,
    _data_dir: tempfile::TempDir,
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub id: String,
    pub username: String,
    pub email: String,
    pub access: String,
    pub refresh: String,
}

fn init_logging() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        if std::env::var("TEST_LOG").is_ok() {
            let mut s = Settings::defaults();
            s.log.level = "debug".into();
            photoshare::telemetry::init(&s.log);
        }
    });
}

/// Settings for one test: fresh data dir, port 0, no rate limit, and MongoDB with a
/// database of its own when `PHOTOSHARE_TEST_MONGODB_URI` is set.
pub fn test_settings(data_dir: &std::path::Path) -> Settings {
    let mut s = Settings::defaults();
    s.data_dir = data_dir.to_path_buf();
    s.server.port = 0;
    s.rate_limit.auth_per_minute = 0;
    s.auth.jwt_secret = SecretString::from(random_hex(32));
    if let Ok(uri) = std::env::var("PHOTOSHARE_TEST_MONGODB_URI") {
        s.database.uri = uri.into();
        s.database.name = format!("test_{}", random_hex(8));
    }
    if let Some(url) = amqp_url() {
        use_rabbitmq(&mut s, &url);
    }
    if let Some(s3) = s3_settings() {
        s.media.s3 = s3;
    }
    s
}

/// The environment that gives another process (a worker, `photoshare fsck`) the
/// app's S3 media; empty without.
pub fn s3_env(settings: &Settings) -> Vec<(&'static str, String)> {
    if !settings.uses_s3() {
        return Vec::new();
    }
    let s3 = &settings.media.s3;
    vec![
        ("PHOTOSHARE__MEDIA__S3__ENDPOINT", s3.endpoint.clone()),
        ("PHOTOSHARE__MEDIA__S3__BUCKET", s3.bucket.clone()),
        ("PHOTOSHARE__MEDIA__S3__REGION", s3.region.clone()),
        ("PHOTOSHARE__MEDIA__S3__PREFIX", s3.prefix.clone()),
        (
            "PHOTOSHARE__MEDIA__S3__ACCESS_KEY_ID",
            s3.access_key_id.clone(),
        ),
        (
            "PHOTOSHARE__MEDIA__S3__SECRET_ACCESS_KEY",
            s3.secret_access_key.expose_secret().to_owned(),
        ),
    ]
}

/// `PHOTOSHARE_TEST_S3_ENDPOINT` (with `_BUCKET`, `_ACCESS_KEY_ID`,
/// `_SECRET_ACCESS_KEY`, `_REGION`): with it, every test app keeps its media in
/// that bucket, under a prefix of its own.
pub fn s3_settings() -> Option<photoshare::config::S3Settings> {
    let var = |name: &str| std::env::var(format!("PHOTOSHARE_TEST_S3_{name}")).ok();
    let mut s3 = Settings::defaults().media.s3;
    s3.endpoint = var("ENDPOINT")?;
    s3.bucket = var("BUCKET").expect("PHOTOSHARE_TEST_S3_BUCKET");
    s3.access_key_id = var("ACCESS_KEY_ID").expect("PHOTOSHARE_TEST_S3_ACCESS_KEY_ID");
    s3.secret_access_key = var("SECRET_ACCESS_KEY")
        .expect("PHOTOSHARE_TEST_S3_SECRET_ACCESS_KEY")
        .into();
    s3.region = var("REGION").unwrap_or(s3.region);
    s3.prefix = format!("test-{}/", random_hex(6));
    Some(s3)
}

/// `PHOTOSHARE_TEST_AMQP_URL`: with it, every test app's jobs go through RabbitMQ.
pub fn amqp_url() -> Option<String> {
    std::env::var("PHOTOSHARE_TEST_AMQP_URL").ok()
}

/// RabbitMQ at `url`, with queues of this app's own that the broker drops when
/// they have been idle for ten minutes.
pub fn use_rabbitmq(s: &mut Settings, url: &str) {
    s.queue.amqp_url = url.into();
    s.queue.prefix = format!("test_{}", random_hex(6));
    s.queue.idle_expiry_seconds = 600;
}

pub fn random_hex(bytes: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.gen::<u8>()))
        .collect()
}

pub fn unique_name(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}{}", N.fetch_add(1, Ordering::Relaxed))
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(customize, true).await
}

/// The API alone: transformation jobs wait in the queue, nothing runs them.
pub async fn spawn_app_without_worker() -> TestApp {
    spawn(|_| {}, false).await
}

/// The API alone, with settings changed.
pub async fn spawn_app_without_worker_with(customize: impl FnOnce(&mut Settings)) -> TestApp {
    spawn(customize, false).await
}

/// `PHOTOSHARE_TEST_FSCK_DIR`: every test app keeps its data there, with an
/// `fsck.env` naming its database, so that `scripts/fsck-tests.sh` can run
/// `photoshare fsck` on all of it once the tests are over.
fn fsck_dir() -> Option<std::path::PathBuf> {
    std::env::var_os("PHOTOSHARE_TEST_FSCK_DIR").map(Into::into)
}

async fn spawn(customize: impl FnOnce(&mut Settings), run_worker: bool) -> TestApp {
    init_logging();
    let mut dir = match fsck_dir() {
        Some(root) => {
            std::fs::create_dir_all(&root).unwrap();
            let dir = tempfile::Builder::new().prefix("app-").tempdir_in(root);
            dir.expect("temp dir")
        }
        None => tempfile::tempdir().expect("temp dir"),
    };
    let mut settings = test_settings(dir.path());
    customize(&mut settings);
    if fsck_dir().is_some() {
        dir.disable_cleanup(true);
        let mut env = String::new();
        if settings.uses_mongodb() {
            // The server itself, also for a test that reached it through a proxy.
            let uri = std::env::var("PHOTOSHARE_TEST_MONGODB_URI")
                .unwrap_or_else(|_| settings.database.uri.expose_secret().to_owned());
            env += &format!("PHOTOSHARE__DATABASE__URI='{uri}'\n");
            env += &format!("PHOTOSHARE__DATABASE__NAME='{}'\n", settings.database.name);
        }
        for (name, mut value) in s3_env(&settings) {
            if name == "PHOTOSHARE__MEDIA__S3__ENDPOINT" {
                // The server itself, also for a test that reached it through a proxy.
                value = std::env::var("PHOTOSHARE_TEST_S3_ENDPOINT").unwrap_or(value);
            }
            env += &format!("{name}='{value}'\n");
        }
        std::fs::write(dir.path().join("fsck.env"), env).unwrap();
        if settings.uses_cloudinary() {
            // Its files were on a fake Cloudinary that is gone with the test.
            std::fs::write(dir.path().join("fsck.skip"), "media on Cloudinary").unwrap();
        }
    }
    let app = Application::build_with(settings.clone(), run_worker)
        .await
        .expect("application builds");
    let port = app.port();
    settings.server.port = port;
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        admin: tokio::sync::OnceCell::new(),
        settings,
        _data_dir: dir,
    }
}

impl TestApp {
    /// Marks this app's data as damaged on purpose (a test that removes stored
    /// files), so the fsck of the test data after the run leaves it out.
    pub fn damaged_on_purpose(&self, why: &str) {
        if fsck_dir().is_some() {
            std::fs::write(self.data_dir().join("fsck.skip"), why).unwrap();
        }
    }

    /// The app's media store, opened beside it (local files, or its S3 prefix).
    pub fn media(&self) -> std::sync::Arc<dyn photoshare::media::MediaStore> {
        if self.settings.uses_s3() {
            let s3 = photoshare::media::s3::S3Media::new(&self.settings.media.s3);
            std::sync::Arc::new(s3.expect("S3 settings"))
        } else {
            let local = photoshare::media::local::LocalMedia::open(&self.data_dir().join("media"));
            std::sync::Arc::new(local.expect("media folder"))
        }
    }

    /// The keys of the app's stored media under `prefix` (`p/`: originals, `t/`:
    /// transformation outputs, `v/{id}/`: display sizes), sorted.
    pub async fn media_keys(&self, prefix: &str) -> Vec<String> {
        let listed = self.media().list().await.expect("media lists");
        let mut keys: Vec<String> = listed
            .unwrap_or_default()
            .into_iter()
            .map(|(key, _)| key)
            .filter(|key| key.starts_with(prefix))
            .collect();
        keys.sort();
        keys
    }

    pub fn data_dir(&self) -> std::path::PathBuf {
        self._data_dir.path().to_path_buf()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    pub async fn send_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &Value,
        token: Option<&str>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    pub async fn post_json(&self, path: &str, body: &Value, token: Option<&str>) -> Response {
        self.send_json(reqwest::Method::POST, path, body, token)
            .await
    }

    pub async fn post(&self, path: &str, token: Option<&str>) -> Response {
        let mut req = self.client.post(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("request sent")
    }

    /// Multipart upload with a `file` part and extra text fields.
    pub async fn upload(
        &self,
        token: &str,
        bytes: Vec<u8>,
        filename: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_owned())
            .mime_str("application/octet-stream")
            .unwrap();
        let form = fields.iter().fold(
            reqwest::multipart::Form::new().part("file", part),
            |form, (k, v)| form.text(k.to_string(), v.to_string()),
        );
        self.client
            .post(self.url("/api/photos"))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("request sent")
    }

    /// Uploads and returns the Photo JSON, asserting 201.
    pub async fn upload_ok(&self, token: &str, bytes: Vec<u8>, fields: &[(&str, &str)]) -> Value {
        let res = self.upload(token, bytes, "photo.jpg", fields).await;
        assert_eq!(res.status(), StatusCode::CREATED, "upload");
        res.json().await.unwrap()
    }

    /// GET of an absolute link the API handed out.
    pub async fn fetch(&self, url: &str) -> Response {
        self.client.get(url).send().await.expect("request sent")
    }

    pub async fn signup(&self, username: &str, email: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/signup",
            &json!({"username": username, "email": email, "password": password}),
            None,
        )
        .await
    }

    pub async fn login(&self, login: &str, password: &str) -> Response {
        self.post_json(
            "/api/auth/login",
            &json!({"username": login, "password": password}),
            None,
        )
        .await
    }

    pub async fn login_tokens(&self, login: &str, password: &str) -> (String, String) {
        let res = self.login(login, password).await;
        assert_eq!(res.status(), StatusCode::OK, "login of {login}");
        let body: Value = res.json().await.unwrap();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    /// The first account: created on first use, so it is the admin.
    pub async fn admin(&self) -> &TestUser {
        self.admin
            .get_or_init(|| async {
                let user = self.register(&unique_name("admin")).await;
                assert_eq!(self.me(&user.access).await["role"], "admin");
                user
            })
            .await
    }

    /// Signs up and logs in a fresh account (role `user` unless it is the first).
    pub async fn register(&self, username: &str) -> TestUser {
        let email = format!("{username}@example.com");
        let res = self.signup(username, &email, PASSWORD).await;
        assert_eq!(res.status(), StatusCode::CREATED, "signup of {username}");
        let body: Value = res.json().await.unwrap();
        let (access, refresh) = self.login_tokens(username, PASSWORD).await;
        TestUser {
            id: body["id"].as_str().unwrap().to_owned(),
            username: username.to_owned(),
            email,
            access,
            refresh,
        }
    }

    /// A fresh account with the given role (the admin grants it).
    pub async fn signup_and_login(&self, role: Role) -> TestUser {
        let admin = self.admin().await.clone();
        let user = self.register(&unique_name(role.as_str())).await;
        if role != Role::User {
            self.set_role(&admin.access, &user.username, role.as_str())
                .await
                .error_for_status()
                .expect("role granted");
        }
        user
    }

    pub async fn set_role(&self, admin_token: &str, username: &str, role: &str) -> Response {
        self.send_json(
            reqwest::Method::PUT,
            &format!("/api/admin/users/{username}/role"),
            &json!({ "role": role }),
            Some(admin_token),
        )
        .await
    }

    pub async fn me(&self, token: &str) -> Value {
        let res = self.get("/api/users/me", Some(token)).await;
        assert_eq!(res.status(), StatusCode::OK);
        res.json().await.unwrap()
    }
}

/// Asserts a problem+json answer with this status and returns its body.
pub async fn assert_problem(res: Response, status: StatusCode) -> Value {
    assert_eq!(res.status(), status, "status");
    let content_type = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    assert!(body["type"].is_string() && body["title"].is_string());
    assert!(body["detail"].is_string());
    body
}

/// The fields named in a 422 problem's `errors`.
pub fn error_fields(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .map(|e| e["field"].as_str().unwrap_or_default().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Polls `check` until it holds (background work such as a purge is asynchronous);
/// panics with `what` if it never does within two minutes.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..2400 {
        if check().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what}: still not so after 120 s");
}
