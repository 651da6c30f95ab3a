//! Cloudinary as the media store: signed uploads and deletes through the Upload API
//! (signature = SHA-1 over the sorted `k=v&...` parameters with the API secret
//! appended, as Cloudinary documents), delivery from its CDN.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use secrecy::{ExposeSecret, SecretString};
use sha1::{Digest, Sha1};

use super::{MediaError, MediaStore};

#[derive(Debug, thiserror::Error)]
pub enum CloudinaryError {
    #[error("CLOUDINARY_URL must look like cloudinary://API_KEY:API_SECRET@CLOUD_NAME")]
    BadUrl,
    #[error("Cloudinary answered {status} to {action}")]
    Status {
        status: reqwest::StatusCode,
        action: &'static str,
    },
}

#[derive(Clone)]
pub struct CloudinaryConfig {
    pub cloud_name: String,
    pub api_key: String,
    pub api_secret: SecretString,
    /// `https://api.cloudinary.com` in production; a local fake in tests.
    pub api_base: String,
    /// `https://res.cloudinary.com` in production.
    pub delivery_base: String,
}

impl std::fmt::Debug for CloudinaryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CloudinaryConfig")
            .field("cloud_name", &self.cloud_name)
            .field("api_key", &self.api_key)
            .finish_non_exhaustive()
    }
}

impl CloudinaryConfig {
    /// Parses `cloudinary://key:secret@cloud`.
    pub fn from_url(url: &str) -> Result<Self, CloudinaryError> {
        let rest = url
            .trim()
            .strip_prefix("cloudinary://")
            .ok_or(CloudinaryError::BadUrl)?;
        let (creds, cloud) = rest.rsplit_once('@').ok_or(CloudinaryError::BadUrl)?;
        let (key, secret) = creds.split_once(':').ok_or(CloudinaryError::BadUrl)?;
        let cloud = cloud.split(['/', '?']).next().unwrap_or_default();
        if key.is_empty() || secret.is_empty() || cloud.is_empty() {
            return Err(CloudinaryError::BadUrl);
        }
        Ok(Self {
            cloud_name: cloud.to_owned(),
            api_key: key.to_owned(),
            api_secret: SecretString::from(secret.to_owned()),
            api_base: "https://api.cloudinary.com".into(),
            delivery_base: "https://res.cloudinary.com".into(),
        })
    }
}

/// SHA-1 hex of the parameters sorted by name, `k=v` joined by `&`, secret appended.
pub fn sign(params: &[(&str, String)], secret: &str) -> String {
    let mut sorted: Vec<_> = params.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(b.0));
    let joined = sorted
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&");
    hex::encode(Sha1::digest(format!("{joined}{secret}").as_bytes()))
}

pub struct Cloudinary {
    config: CloudinaryConfig,
    http: reqwest::Client,
}

impl Cloudinary {
    pub fn new(config: CloudinaryConfig) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("a reqwest client with default TLS builds");
        Self { config, http }
    }

    /// The Admin API's `ping` with the account's key and secret (HTTP basic auth), so
    /// that an unreachable API or a wrong `CLOUDINARY_URL` is a clear startup error.
    pub async fn ping(&self) -> anyhow::Result<()> {
        let url = format!(
            "{}/v1_1/{}/ping",
            self.config.api_base, self.config.cloud_name
        );
        let res = self
            .http
            .get(&url)
            .basic_auth(
                &self.config.api_key,
                Some(self.config.api_secret.expose_secret()),
            )
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot reach Cloudinary at {} ({})",
                    self.config.api_base,
                    crate::errors::error_chain(&e.without_url())
                )
            })?;
        match res.status() {
            s if s.is_success() => Ok(()),
            s @ (reqwest::StatusCode::UNAUTHORIZED | reqwest::StatusCode::FORBIDDEN) => {
                anyhow::bail!(
                    "Cloudinary refused the key and secret of CLOUDINARY_URL for cloud {} ({s})",
                    self.config.cloud_name
                )
            }
            s => anyhow::bail!(
                "Cloudinary at {} answered {s} to ping",
                self.config.api_base
            ),
        }
    }

    pub fn config(&self) -> &CloudinaryConfig {
        &self.config
    }

    /// Our key `p/ab/xyz.jpg` is the public id `photoshare/p/ab/xyz` plus a format.
    fn public_id(key: &str) -> (String, &str) {
        let (stem, ext) = key.rsplit_once('.').unwrap_or((key, "jpg"));
        (format!("photoshare/{stem}"), ext)
    }

    fn endpoint(&self, action: &str) -> String {
        format!(
            "{}/v1_1/{}/image/{action}",
            self.config.api_base, self.config.cloud_name
        )
    }

    /// The signed form fields for a call with these parameters.
    pub fn signed(&self, mut params: Vec<(&'static str, String)>) -> Vec<(&'static str, String)> {
        params.push(("timestamp", chrono::Utc::now().timestamp().to_string()));
        let signature = sign(&params, self.config.api_secret.expose_secret());
        params.push(("api_key", self.config.api_key.clone()));
        params.push(("signature", signature));
        params
    }

    pub async fn post_form(
        &self,
        action: &'static str,
        form: reqwest::multipart::Form,
    ) -> Result<serde_json::Value, MediaError> {
        let res = self
            .http
            .post(self.endpoint(action))
            .multipart(form)
            .send()
            .await
            .map_err(MediaError::unavailable)?;
        let status = res.status();
        if !status.is_success() {
            return Err(MediaError::unavailable(CloudinaryError::Status {
                status,
                action,
            }));
        }
        res.json().await.map_err(MediaError::unavailable)
    }

    fn form(params: Vec<(&'static str, String)>) -> reqwest::multipart::Form {
        params
            .into_iter()
            .fold(reqwest::multipart::Form::new(), |f, (k, v)| f.text(k, v))
    }
}

#[async_trait]
impl MediaStore for Cloudinary {
    /// The Explicit API with an eager transformation (signed like every call):
    /// Cloudinary makes the derived image, which its CDN then serves.
    async fn derive(&self, key: &str, transformation: &str) -> Result<Option<String>, MediaError> {
        let (public_id, ext) = Self::public_id(key);
        let params = self.signed(vec![
            ("eager", transformation.to_owned()),
            ("public_id", public_id.clone()),
            ("type", "upload".into()),
        ]);
        let body = self.post_form("explicit", Self::form(params)).await?;
        let url = body["eager"][0]["secure_url"]
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!(
                    "{}/{}/image/upload/{transformation}/{public_id}.{ext}",
                    self.config.delivery_base, self.config.cloud_name
                )
            });
        Ok(Some(url))
    }

    fn backend(&self) -> &'static str {
        "cloudinary"
    }

    async fn put(&self, key: &str, bytes: Bytes, content_type: &str) -> Result<(), MediaError> {
        let (public_id, ext) = Self::public_id(key);
        let params = self.signed(vec![("public_id", public_id)]);
        let part = reqwest::multipart::Part::stream(bytes)
            .file_name(format!("upload.{ext}"))
            .mime_str(content_type)
            .map_err(MediaError::unavailable)?;
        self.post_form("upload", Self::form(params).part("file", part))
            .await
            .map(drop)
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, MediaError> {
        let Some(url) = self.public_url(key) else {
            return Ok(None);
        };
        let res = self
            .http
            .get(url)
            .send()
            .await
            .map_err(MediaError::unavailable)?;
        match res.status() {
            s if s.is_success() => Ok(Some(res.bytes().await.map_err(MediaError::unavailable)?)),
            reqwest::StatusCode::NOT_FOUND => Ok(None),
            status => Err(MediaError::unavailable(CloudinaryError::Status {
                status,
                action: "delivery",
            })),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), MediaError> {
        let (public_id, _) = Self::public_id(key);
        let params = self.signed(vec![
            ("public_id", public_id),
            ("invalidate", "true".into()),
        ]);
        self.post_form("destroy", Self::form(params))
            .await
            .map(drop)
    }

    /// Nothing is kept under a prefix here: transformed copies are Cloudinary's
    /// derived images, which `destroy` with `invalidate` removes with the upload.
    async fn delete_prefix(&self, _prefix: &str) -> Result<(), MediaError> {
        Ok(())
    }

    fn public_url(&self, key: &str) -> Option<String> {
        let (public_id, ext) = Self::public_id(key);
        Some(format!(
            "{}/{}/image/upload/{public_id}.{ext}",
            self.config.delivery_base, self.config.cloud_name
        ))
    }

    /// A signed delivery URL (so an account with strict transformations serves
    /// it). `f_auto` lets Cloudinary pick the format the browser takes best,
    /// unless the transformation names one.
    fn transformed_url(&self, key: &str, transformation: &str) -> Option<String> {
        let (public_id, _) = Self::public_id(key);
        let names_format = transformation
            .split(['/', ','])
            .any(|p| p.starts_with("f_"));
        let mut chain: Vec<&str> = Vec::new();
        if !transformation.is_empty() {
            chain.push(transformation);
        }
        if !names_format {
            chain.push("f_auto");
        }
        let to_sign = format!("{}/{public_id}", chain.join("/"));
        let signature = delivery_signature(&to_sign, self.config.api_secret.expose_secret());
        Some(format!(
            "{}/{}/image/upload/{signature}/{to_sign}",
            self.config.delivery_base, self.config.cloud_name
        ))
    }
}

/// Cloudinary's signed delivery URLs: `s--` + the first 8 characters of
/// base64url(SHA-1(what follows the signature in the URL, version left out,
/// + API secret)) + `--`.
pub fn delivery_signature(to_sign: &str, secret: &str) -> String {
    use base64::Engine;
    let digest = Sha1::digest(format!("{to_sign}{secret}").as_bytes());
    let text = base64::engine::general_purpose::URL_SAFE.encode(digest);
    format!("s--{}--", &text[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_cloudinarys_documented_example() {
        // From Cloudinary's "Generating authentication signatures" page.
        let params = [
            ("eager", "w_400,h_300,c_pad|w_260,h_200,c_crop".to_owned()),
            ("public_id", "sample_image".to_owned()),
            ("timestamp", "1315060510".to_owned()),
        ];
        assert_eq!(
            sign(&params, "abcd"),
            "bfd09f95f331f558cbd1320e67aa8d488770583e"
        );
    }

    #[test]
    fn delivery_signature_matches_cloudinarys_sdk_tests() {
        // Cloudinary's SDK tests (api_secret "b"): `c_crop,h_20,w_10/image.jpg`
        // is delivered as `s--Ai4Znfl3--/c_crop,h_20,w_10/v1234/image.jpg`.
        assert_eq!(
            delivery_signature("c_crop,h_20,w_10/image.jpg", "b"),
            "s--Ai4Znfl3--"
        );
    }

    #[test]
    fn cloudinary_url_is_parsed_and_bad_ones_refused() {
        let c = CloudinaryConfig::from_url("cloudinary://123456:s3cr3t@demo-cloud").unwrap();
        assert_eq!(
            (c.api_key.as_str(), c.cloud_name.as_str()),
            ("123456", "demo-cloud")
        );
        assert_eq!(c.api_secret.expose_secret(), "s3cr3t");
        assert!(!format!("{c:?}").contains("s3cr3t"));
        for bad in [
            "https://x",
            "cloudinary://key@cloud",
            "cloudinary://:s@c",
            "cloudinary://k:s@",
        ] {
            assert!(CloudinaryConfig::from_url(bad).is_err(), "{bad}");
        }
    }
}
