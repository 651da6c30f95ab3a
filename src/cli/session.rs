//! A signed-in connection to a PhotoShare server for the command line: the token
//! pair, refreshed once when the access token runs out (refresh tokens rotate, so
//! concurrent requests share one refresh), and the requests `photoshare upload`
//! makes, tus ones included.

use anyhow::{bail, Context};
use base64::Engine;
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde::Deserialize;
use serde_json::{json, Value};
use sha1::{Digest, Sha1};

#[derive(Deserialize)]
struct Tokens {
    access_token: String,
    refresh_token: String,
}

pub struct Session {
    client: reqwest::Client,
    pub server: String,
    pub username: String,
    tokens: tokio::sync::Mutex<Tokens>,
}

/// What the server said of a tus request, as the uploader needs it.
pub enum TusAnswer {
    /// 2xx: the new offset, and the photo once it is made.
    Ok {
        offset: Option<u64>,
        photo_id: Option<String>,
    },
    /// Not found or expired: start over.
    Gone,
    /// The file is already one of the account's photos.
    Duplicate,
    /// The offset was not the server's, or another request holds the upload:
    /// ask where it is and go on.
    Retry,
    /// Refused for good (not an image, too large ...): the server's sentence.
    Refused(String),
}

impl Session {
    pub async fn sign_in(server: &str, username: &str, password: &str) -> anyhow::Result<Self> {
        let server = server.trim_end_matches('/').to_owned();
        let client = reqwest::Client::builder()
            .user_agent(concat!("photoshare-upload/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(std::time::Duration::from_secs(10))
            .build()?;
        let res = client
            .post(format!("{server}/api/auth/login"))
            .json(&json!({"username": username, "password": password}))
            .send()
            .await
            .with_context(|| format!("cannot reach {server}"))?;
        if !res.status().is_success() {
            bail!("sign-in refused: {}", problem(res).await);
        }
        let tokens: Tokens = res.json().await.context("sign-in answer")?;
        Ok(Session {
            client,
            server,
            username: username.to_owned(),
            tokens: tokio::sync::Mutex::new(tokens),
        })
    }

    /// Sends a request with the access token; on 401, refreshes the pair (once for
    /// everyone waiting) and sends it again.
    pub async fn send(
        &self,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> reqwest::Result<Response> {
        let token = self.tokens.lock().await.access_token.clone();
        let res = build(&self.client).bearer_auth(&token).send().await?;
        if res.status() != StatusCode::UNAUTHORIZED {
            return Ok(res);
        }
        let fresh = {
            let mut tokens = self.tokens.lock().await;
            if tokens.access_token == token {
                let refreshed = self
                    .client
                    .post(format!("{}/api/auth/refresh", self.server))
                    .json(&json!({"refresh_token": tokens.refresh_token}))
                    .send()
                    .await?;
                match refreshed.error_for_status() {
                    Ok(r) => {
                        if let Ok(new) = r.json::<Tokens>().await {
                            *tokens = new;
                        }
                    }
                    Err(_) => return Ok(res),
                }
            }
            tokens.access_token.clone()
        };
        build(&self.client).bearer_auth(fresh).send().await
    }

    /// Which of these sha256 digests the account already has, in batches of the
    /// most the server takes at once.
    pub async fn existing(&self, digests: &[String]) -> anyhow::Result<Vec<String>> {
        let mut found = Vec::new();
        for batch in digests.chunks(1000) {
            let url = format!("{}/api/photos/check", self.server);
            let body = json!({"sha256": batch});
            let res = self.send(|c| c.post(&url).json(&body)).await?;
            if !res.status().is_success() {
                bail!("duplicate check refused: {}", problem(res).await);
            }
            let answer: Value = res.json().await?;
            for item in answer["existing"].as_array().into_iter().flatten() {
                if let Some(sha) = item["sha256"].as_str() {
                    found.push(sha.to_owned());
                }
            }
        }
        Ok(found)
    }

    fn tus(&self, c: &reqwest::Client, method: Method, url: &str) -> RequestBuilder {
        c.request(method, url).header("Tus-Resumable", "1.0.0")
    }

    /// Creates an upload; its URL.
    pub async fn create(
        &self,
        length: u64,
        filename: &str,
        tags: &[String],
    ) -> anyhow::Result<Result<String, TusAnswer>> {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let mut metadata = format!("filename {}", b64(filename));
        if !tags.is_empty() {
            metadata += &format!(",tags {}", b64(&tags.join(",")));
        }
        let url = format!("{}/api/uploads", self.server);
        let res = self
            .send(|c| {
                self.tus(c, Method::POST, &url)
                    .header("Upload-Length", length.to_string())
                    .header("Upload-Metadata", &metadata)
            })
            .await?;
        if res.status() == StatusCode::CREATED {
            let location = res
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .context("no Location in the creation answer")?;
            let location = reqwest::Url::parse(&url)?.join(location)?;
            return Ok(Ok(location.to_string()));
        }
        Ok(Err(answer(res).await))
    }

    /// Where an upload is.
    pub async fn head(&self, url: &str) -> reqwest::Result<TusAnswer> {
        let res = self.send(|c| self.tus(c, Method::HEAD, url)).await?;
        Ok(answer(res).await)
    }

    /// Appends `chunk` at `offset`, with its sha1 for the server to check.
    pub async fn patch(
        &self,
        url: &str,
        offset: u64,
        chunk: Vec<u8>,
    ) -> reqwest::Result<TusAnswer> {
        let digest = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(&chunk));
        let chunk = bytes::Bytes::from(chunk);
        let res = self
            .send(|c| {
                self.tus(c, Method::PATCH, url)
                    .header("Upload-Offset", offset.to_string())
                    .header("Content-Type", "application/offset+octet-stream")
                    .header("Upload-Checksum", format!("sha1 {digest}"))
                    .body(chunk.clone())
            })
            .await?;
        Ok(answer(res).await)
    }
}

async fn answer(res: Response) -> TusAnswer {
    let status = res.status();
    let header = |name: &str| {
        res.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    if status.is_success() {
        return TusAnswer::Ok {
            offset: header("upload-offset").and_then(|o| o.parse().ok()),
            photo_id: header("photoshare-photo-id"),
        };
    }
    match status.as_u16() {
        404 | 410 => TusAnswer::Gone,
        409 | 423 | 460 | 429 | 500..=599 => {
            let body: Value = res.json().await.unwrap_or_default();
            if body["type"] == "urn:photoshare:problem:duplicate-photo" {
                TusAnswer::Duplicate
            } else {
                TusAnswer::Retry
            }
        }
        _ => TusAnswer::Refused(problem(res).await),
    }
}

/// The server's sentence for a refusal.
pub async fn problem(res: Response) -> String {
    let status = res.status();
    let body: Value = res.json().await.unwrap_or_default();
    match body["detail"].as_str() {
        Some(detail) => format!("{detail} ({})", status.as_u16()),
        None => status.to_string(),
    }
}
