//! The admin console in a real browser: headless Chromium driven through
//! ChromeDriver (W3C WebDriver, the Selenium protocol) by `thirtyfour`, Rust's
//! Selenium client, against the real server on whichever stack the run uses.
//!
//! Needs `chromium` and `chromedriver` (Debian's packages; `.ci/run` installs them
//! and sets `PHOTOSHARE_TEST_BROWSER=required`, which makes their absence a
//! failure). Without them and without that variable the test says so and passes:
//! `cargo test` on a fresh machine needs no browser. With
//! `PHOTOSHARE_TEST_SCREENSHOTS=DIR` it saves the console's screenshots there
//! (how `docs/img/` was made).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use thirtyfour::common::config::WebDriverConfig;
use thirtyfour::prelude::*;
use thirtyfour::session::http::{Body, HttpClient};

use crate::helpers::{spawn_app_with, Role, TestApp, PASSWORD};
use crate::transformations::{create, created, finished, photo};

/// thirtyfour's HTTP client trait over the reqwest the tests already build.
#[derive(Clone)]
struct Http(reqwest::Client);

#[async_trait::async_trait]
impl HttpClient for Http {
    async fn send(
        &self,
        request: http::Request<Body<'_>>,
    ) -> WebDriverResult<http::Response<Bytes>> {
        let (parts, body) = request.into_parts();
        let mut req = self.0.request(parts.method, parts.uri.to_string());
        for (key, value) in parts.headers.iter() {
            req = req.header(key, value);
        }
        if let Body::Json(json) = body {
            req = req.json(json);
        }
        let http_error = |e: reqwest::Error| WebDriverError::HttpError(e.to_string());
        let res = req.send().await.map_err(http_error)?;
        let mut out = http::Response::builder().status(res.status());
        for (key, value) in res.headers() {
            out = out.header(key, value);
        }
        let body = res.bytes().await.map_err(http_error)?;
        out.body(body)
            .map_err(|e| WebDriverError::HttpError(e.to_string()))
    }

    async fn new(&self) -> Arc<dyn HttpClient> {
        Arc::new(self.clone())
    }
}

struct Browser {
    driver: WebDriver,
    chromedriver: Child,
    shots: Option<std::path::PathBuf>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.chromedriver.kill();
        let _ = self.chromedriver.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn which(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// ChromeDriver on a free port and a headless Chromium session, or `None` (the
/// test is skipped) when they are not installed and not required.
async fn browser() -> Option<Browser> {
    let required = std::env::var("PHOTOSHARE_TEST_BROWSER").is_ok_and(|v| v == "required");
    let (Some(driver_bin), Some(chromium)) = (which("chromedriver"), which("chromium")) else {
        assert!(!required, "chromium and chromedriver are required");
        eprintln!("skipped: chromium and chromedriver are not installed");
        return None;
    };
    let port = free_port();
    let chromedriver = Command::new(driver_bin)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let http = Http(reqwest::Client::new());
    let status = format!("http://127.0.0.1:{port}/status");
    for _ in 0..200 {
        if let Ok(res) = http.0.get(&status).send().await {
            if res
                .json::<Value>()
                .await
                .is_ok_and(|v| v["value"]["ready"] == true)
            {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut caps = DesiredCapabilities::chrome();
    caps.set_binary(chromium.to_str().unwrap()).unwrap();
    let profile = tempfile::tempdir().unwrap().keep();
    for arg in [
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        &format!("--user-data-dir={}", profile.display()),
    ] {
        caps.add_arg(arg).unwrap();
    }
    let config = WebDriverConfig::builder().build().unwrap();
    let driver = WebDriver::new_with_config_and_client(
        format!("http://127.0.0.1:{port}"),
        caps,
        config,
        http,
    )
    .await
    .expect("a Chromium session");
    let shots = std::env::var_os("PHOTOSHARE_TEST_SCREENSHOTS").map(std::path::PathBuf::from);
    Some(Browser {
        driver,
        chromedriver,
        shots,
    })
}

impl Browser {
    async fn el(&self, css: &str) -> WebElement {
        self.driver
            .find(By::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css}: {e}"))
    }

    async fn text(&self, css: &str) -> String {
        self.el(css).await.text().await.unwrap()
    }

    /// Polls the page (no reload) until `css`'s text satisfies `want`.
    async fn wait_text(&self, css: &str, what: &str, want: impl Fn(&str) -> bool) -> String {
        let mut last = String::new();
        for _ in 0..1200 {
            if let Ok(el) = self.driver.find(By::Css(css)).await {
                if let Ok(text) = el.text().await {
                    if want(&text) {
                        return text;
                    }
                    last = text;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: {css} still shows {last:?} after 120 s");
    }

    async fn wait_for(&self, css: &str, what: &str) -> WebElement {
        for _ in 0..1200 {
            if let Ok(el) = self.driver.find(By::Css(css)).await {
                if el.is_displayed().await.unwrap_or(false) {
                    return el;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: no visible {css} after 120 s");
    }

    /// Polls until exactly `n` elements match `css`.
    async fn wait_count(&self, css: &str, n: usize, what: &str) {
        let mut last = 0;
        for _ in 0..1200 {
            last = self
                .driver
                .find_all(By::Css(css))
                .await
                .map_or(0, |v| v.len());
            if last == n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: {last} of {css}, not {n}, after 120 s");
    }

    /// Polls a script's value (no reload) until it is `want`.
    async fn wait_js(&self, script: &str, want: Value, what: &str) {
        let mut last = Value::Null;
        for _ in 0..1200 {
            last = self.js(script).await;
            if last == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{what}: {script} gave {last} after 120 s");
    }

    async fn js(&self, script: &str) -> Value {
        self.driver
            .execute(script, vec![])
            .await
            .unwrap()
            .json()
            .clone()
    }

    async fn width(&self, width: u32) {
        let height = if width < 600 { 844 } else { 900 };
        self.driver
            .set_window_rect(0, 0, width, height)
            .await
            .unwrap();
    }

    /// Nothing wider than the window: no sideways scrolling at this width.
    async fn assert_fits(&self, what: &str) {
        let (page, window) = (
            self.js("return document.documentElement.scrollWidth").await,
            self.js("return window.innerWidth").await,
        );
        assert!(
            page.as_u64() <= window.as_u64(),
            "{what}: page {page} wider than {window}"
        );
    }

    async fn shot(&self, name: &str) {
        let Some(dir) = &self.shots else { return };
        std::fs::create_dir_all(dir).unwrap();
        let png = self.driver.screenshot_as_png().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }

    async fn sign_in(&self, app: &TestApp, username: &str, password: &str) {
        self.driver.goto(app.url("/admin")).await.unwrap();
        let user = self.wait_for("#username", "the sign-in form").await;
        user.send_keys(username).await.unwrap();
        self.el("#password")
            .await
            .send_keys(password)
            .await
            .unwrap();
        self.el("#signin-button").await.click().await.unwrap();
    }
}

/// A user's account as the API sees it.
async fn account(app: &TestApp, admin: &str, username: &str) -> Value {
    let page: Value = app
        .get(&format!("/api/admin/users?q={username}"), Some(admin))
        .await
        .json()
        .await
        .unwrap();
    page["items"][0].clone()
}

#[actix_web::test]
async fn an_admin_runs_the_queues_jobs_and_users_from_the_console_in_chromium() {
    let Some(b) = browser().await else { return };
    // 20 jobs at once from one user: above the default cap on queued jobs.
    let app = spawn_app_with(|s| s.queue.max_pending_per_user = 50).await;
    let admin = app.admin().await.clone();
    let user = app.signup_and_login(Role::User).await;
    let victim = app.register("victor_the_user").await;

    // A wrong password, then a non-admin: both refused on the page.
    b.width(1280).await;
    b.sign_in(&app, &admin.username, "not-the-password").await;
    let error = b
        .wait_text("#signin-error", "wrong password", |t| !t.is_empty())
        .await;
    assert_eq!(error, "Wrong username or password.");
    b.shot("admin-signin").await;
    b.sign_in(&app, &user.username, PASSWORD).await;
    let error = b
        .wait_text("#signin-error", "non-admin refused", |t| {
            t.contains("admin")
        })
        .await;
    assert!(error.contains("not an admin"), "{error}");
    assert!(!b.el("#console").await.is_displayed().await.unwrap());

    // The admin signs in: the queues come live.
    b.sign_in(&app, &admin.username, PASSWORD).await;
    b.wait_text("#live", "the stream", |t| t == "live").await;
    b.wait_text("#stat-done", "first snapshot", |t| t == "0")
        .await;
    b.js("window.__notReloaded = true").await;
    let id = photo(&app, &user, 64, 48).await;
    for w in 0..20 {
        let res = create(&app, &user.access, &id, &format!("w_{}", 10 + w)).await;
        assert_eq!(res.status(), reqwest::StatusCode::ACCEPTED);
    }
    // It showed 0 before the jobs were made; now, with no reload, 20.
    b.wait_text("#stat-done", "done climbs to 20", |t| t == "20")
        .await;
    assert_eq!(
        b.js("return window.__notReloaded === true").await,
        true,
        "no reload"
    );
    let rows = b
        .driver
        .find_all(By::Css("#queues-table tbody tr"))
        .await
        .unwrap();
    assert!(!rows.is_empty(), "queue rows");
    // The counts and the chart are two reads: wait for both to show the 20.
    b.wait_js(
        "return document.getElementById('chart').dataset.total",
        json!("20"),
        "the chart counts this minute's jobs",
    )
    .await;
    b.assert_fits("queues at 1280 px").await;
    b.shot("admin-queues").await;

    // A job fails for good (its original is gone) and shows up with its reason.
    let (media, files) = (app.media(), app.media_keys("p/").await);
    let file = &files[0];
    let original = media.get(file).await.unwrap().expect("the original");
    media.delete(file).await.unwrap();
    let link = created(&app, &user.access, &id, "c_fill,w_33,h_33").await;
    let link_id = link["id"].as_str().unwrap().to_owned();
    assert_eq!(finished(&app, &link_id).await["status"], "failed");
    b.wait_text("#stat-failed", "the failure counted", |t| t == "1")
        .await;
    b.el("#tab-jobs").await.click().await.unwrap();
    let row = format!("#jobs-table tr[data-link-id='{link_id}']");
    b.wait_for(&row, "the failed job listed").await;
    let reason = b.text(&format!("{row} td.reason")).await;
    assert_eq!(reason, "the original image could not be read");
    b.shot("admin-jobs").await;

    // The cause is fixed; Retry on the page runs it again.
    media.put(file, original, "image/png").await.unwrap();
    b.el(&format!("{row} button.retry"))
        .await
        .click()
        .await
        .unwrap();
    b.wait_text("#notice", "retry acknowledged", |t| {
        t.contains("queued again")
    })
    .await;
    assert_eq!(finished(&app, &link_id).await["status"], "done");
    b.el("#tab-queues").await.click().await.unwrap();
    b.wait_text("#stat-failed", "no failure left", |t| t == "0")
        .await;
    b.wait_text("#stat-done", "the retried job done", |t| t == "21")
        .await;

    // Users: search, a role change and a ban; the admin's own row is locked.
    b.el("#tab-users").await.click().await.unwrap();
    b.el("#user-search")
        .await
        .send_keys("victor")
        .await
        .unwrap();
    let row = format!("#users-table tr[data-username='{}']", victim.username);
    b.wait_count("#users-table tbody tr", 1, "only the match")
        .await;
    b.wait_for(&row, "the search result").await;
    b.el(&format!("{row} select.role"))
        .await
        .click()
        .await
        .unwrap();
    b.el(&format!("{row} select.role option[value='moderator']"))
        .await
        .click()
        .await
        .unwrap();
    b.wait_text("#notice", "role changed", |t| t.contains("now moderator"))
        .await;
    assert_eq!(
        account(&app, &admin.access, &victim.username).await["role"],
        "moderator"
    );
    b.el(&format!("{row} button.ban"))
        .await
        .click()
        .await
        .unwrap();
    b.wait_text("#notice", "banned", |t| t.contains("is banned"))
        .await;
    assert_eq!(
        account(&app, &admin.access, &victim.username).await["is_active"],
        false
    );
    b.wait_for(&format!("{row} button.unban"), "an Unban button")
        .await;
    let res = app.get("/api/users/me", Some(&victim.access)).await;
    assert_eq!(
        res.status(),
        reqwest::StatusCode::UNAUTHORIZED,
        "the ban acts at once"
    );

    b.el("#user-search").await.clear().await.unwrap();
    b.el("#user-search")
        .await
        .send_keys(&admin.username)
        .await
        .unwrap();
    let own = format!("#users-table tr[data-username='{}']", admin.username);
    b.wait_count("#users-table tbody tr", 1, "the admin alone")
        .await;
    b.wait_for(&own, "the admin's own row").await;
    for control in ["select.role", "button.ban"] {
        let el = b.el(&format!("{own} {control}")).await;
        assert!(!el.is_enabled().await.unwrap(), "own {control} is disabled");
    }
    b.el("#user-search").await.clear().await.unwrap();
    b.el("#user-search").await.send_keys(" ").await.unwrap();
    b.wait_count("#users-table tbody tr", 3, "every user again")
        .await;
    b.assert_fits("users at 1280 px").await;
    b.shot("admin-users").await;

    // A phone's width: everything still fits.
    b.width(390).await;
    b.assert_fits("users at 390 px").await;
    b.shot("admin-users-390").await;
    b.el("#tab-queues").await.click().await.unwrap();
    b.wait_text("#stat-done", "queues at 390 px", |t| t == "21")
        .await;
    b.assert_fits("queues at 390 px").await;
    b.shot("admin-queues-390").await;

    // Signing out forgets the tokens: the page is back at the sign-in form.
    b.el("#signout").await.click().await.unwrap();
    b.wait_for("#signin-form", "signed out").await;
    let stored = b
        .js("return localStorage.length + sessionStorage.length + document.cookie.length")
        .await;
    assert_eq!(stored, json!(0), "no token kept in the browser");
    b.driver.clone().quit().await.unwrap();
}

/// Swagger UI's Authorize button signs in with a username and password (the
/// OAuth2 password flow beside the bearer scheme), and "Try it out" then sends
/// the token it got.
#[actix_web::test]
async fn swagger_ui_authorizes_with_a_username_and_password_in_chromium() {
    let Some(b) = browser().await else { return };
    let app = spawn_app_with(|_| {}).await;
    let user = app.signup_and_login(Role::User).await;
    b.width(1280).await;
    b.driver.goto(app.url("/docs/")).await.unwrap();
    b.wait_for("button.btn.authorize", "the Authorize button")
        .await
        .click()
        .await
        .unwrap();
    b.wait_for("#oauth_username", "the password flow's form")
        .await
        .send_keys(&user.username)
        .await
        .unwrap();
    b.el("#oauth_password")
        .await
        .send_keys(PASSWORD)
        .await
        .unwrap();
    b.shot("swagger-authorize").await;
    // The password flow's own Authorize button (the bearer form has one too).
    let buttons = b
        .driver
        .find_all(By::Css(".auth-container button.authorize"))
        .await
        .unwrap();
    let mut clicked = false;
    for button in buttons {
        let form = button
            .find(By::XPath(
                "ancestor::div[contains(@class,'auth-container')]",
            ))
            .await
            .unwrap();
        if form.find(By::Css("#oauth_username")).await.is_ok() {
            button.click().await.unwrap();
            clicked = true;
            break;
        }
    }
    assert!(clicked, "no Authorize button beside the password form");
    b.wait_js(
        "return [...document.querySelectorAll('.auth-container')].some(c => \
         c.textContent.includes('OAuth2, password') && c.textContent.includes('Authorized'))",
        json!(true),
        "the password flow signed in",
    )
    .await;
    b.shot("swagger-authorized").await;
    b.el(".modal-ux button.close-modal")
        .await
        .click()
        .await
        .unwrap();

    // Try GET /api/users/me: the token from the password flow is sent.
    b.wait_for(
        "#operations-users-me .opblock-summary-control",
        "GET /api/users/me",
    )
    .await
    .click()
    .await
    .unwrap();
    b.wait_for("#operations-users-me .try-out__btn", "Try it out")
        .await
        .click()
        .await
        .unwrap();
    b.wait_for("#operations-users-me .btn.execute", "Execute")
        .await
        .click()
        .await
        .unwrap();
    let status = ".live-responses-table .response .response-col_status";
    b.wait_text(status, "the answer", |t| !t.trim().is_empty())
        .await;
    assert_eq!(b.text(status).await.trim(), "200");
    let body = b
        .text(".live-responses-table .response-col_description pre")
        .await;
    assert!(body.contains(&user.username), "{body}");
    b.shot("swagger-try-it-out").await;
}

/// A password-protected share link opened in Chromium: the form, a wrong password,
/// the right one, and every photo of the album loaded by the browser.
#[actix_web::test]
async fn a_share_link_opens_in_chromium_with_its_password_and_shows_the_photos() {
    let Some(b) = browser().await else { return };
    let app = spawn_app_with(|_| {}).await;
    let ada = app.signup_and_login(Role::User).await;
    let (album, _) = crate::shares::album_with(&app, &ada, "Porto, May", 3).await;
    let password = "river and bridges";
    let link =
        crate::shares::share(&app, &ada.access, &album, json!({ "password": password })).await;
    let url = link["url"].as_str().unwrap();
    b.width(1024).await;
    b.driver.goto(url).await.unwrap();
    let input = b
        .wait_for("input[name=password]", "the password form")
        .await;
    input.send_keys("not it at all").await.unwrap();
    b.el("button[type=submit]").await.click().await.unwrap();
    b.wait_text(".error", "the wrong password is said", |t| {
        t.contains("wrong password")
    })
    .await;
    let input = b.wait_for("input[name=password]", "the form again").await;
    input.send_keys(password).await.unwrap();
    b.el("button[type=submit]").await.click().await.unwrap();
    b.wait_text("h1", "the album's title", |t| t == "Porto, May")
        .await;
    b.wait_count("ul img", 3, "the album's photos").await;
    b.wait_js(
        "return [...document.images].every(i => i.complete && i.naturalWidth > 0)",
        json!(true),
        "every photo loaded",
    )
    .await;
    b.shot("share-page").await;
}
