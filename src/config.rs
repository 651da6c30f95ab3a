//! Layered settings: built-in `config/default.toml` -> `config/default.toml` and
//! `config/{APP_ENV}.toml` on disk -> `PHOTOSHARE__SECTION__KEY` environment variables.
//!
//! The defaults are compiled in, so the binary runs from any directory; the files on
//! disk only override them.

use std::path::{Path, PathBuf};

use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub server: ServerSettings,
    pub auth: AuthSettings,
    pub rate_limit: RateLimitSettings,
    pub database: DatabaseSettings,
    pub log: LogSettings,
    pub media: MediaSettings,
    pub queue: QueueSettings,
    #[serde(default)]
    pub delivery: DeliverySettings,
    /// `CLOUDINARY_URL` (`cloudinary://key:secret@cloud`); empty = local files.
    #[serde(skip, default = "empty_secret")]
    pub cloudinary_url: SecretString,
    /// `local` (development) unless `APP_ENV` says otherwise.
    #[serde(skip, default = "default_env")]
    pub environment: Environment,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub host: String,
    pub port: u16,
    /// HTTP worker threads; 0 = one per CPU core.
    #[serde(default)]
    pub workers: usize,
    /// A request body must arrive within this many seconds (408 after).
    #[serde(default = "default_body_timeout")]
    pub body_timeout_seconds: u64,
    pub public_url: String,
    /// Proxies you run in front of PhotoShare: the client address is taken from
    /// the `X-Forwarded-For` entry they appended; 0 = use the peer address.
    #[serde(default)]
    pub forwarded_hops: u8,
    pub cors_origins: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub jwt_secret: SecretString,
    pub issuer: String,
    pub audience: String,
    pub access_ttl_seconds: u64,
    pub refresh_ttl_seconds: u64,
    pub max_concurrent_hashes: usize,
    /// How long an authenticated principal may be answered from memory without
    /// news from the event bus; 0 = chosen by the stack (see `principal_cache_ttl`).
    #[serde(default)]
    pub principal_cache_seconds: u64,
}

/// Signed on-the-fly delivery URLs.
#[derive(Debug, Clone, Deserialize)]
pub struct DeliverySettings {
    /// Comma-separated keys; the first signs, all verify. Empty = derived from
    /// the JWT secret.
    pub key: SecretString,
}

impl Default for DeliverySettings {
    fn default() -> Self {
        DeliverySettings {
            key: empty_secret(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct RateLimitSettings {
    pub auth_per_minute: u32,
    /// Email changes per account per hour (and four times as many per client
    /// address); 0 turns it off.
    #[serde(default = "default_email_changes")]
    pub email_changes_per_hour: u32,
    /// Wrong passwords one share link takes per minute (on each API node); 0
    /// turns it off.
    #[serde(default = "default_share_passwords")]
    pub share_password_failures_per_minute: u32,
}

fn default_share_passwords() -> u32 {
    10
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    /// May hold credentials: never printed (`Debug` shows it redacted).
    pub uri: SecretString,
    pub name: String,
    /// Page cache of the embedded database, in MiB.
    pub cache_mib: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MediaSettings {
    pub max_upload_bytes: u64,
    pub max_pixels: u64,
    /// Largest transformation output, in pixels.
    pub max_output_pixels: u64,
    /// Work one transformation may cost, in millions of pixel operations (see
    /// `media::engine::plan`); more is refused with 422 naming the step.
    #[serde(default = "default_transform_cost")]
    pub max_transform_cost_mpx: u64,
    pub processing_budget_mib: u32,
    pub cache_mib: u32,
    pub cloudinary_api_base: String,
    pub cloudinary_delivery_base: String,
    /// Unfinished resumable uploads are removed this long after they began.
    #[serde(default = "default_upload_ttl")]
    pub upload_ttl_seconds: u64,
    /// Unfinished resumable uploads one account may have (more: 429)...
    #[serde(default = "default_max_unfinished")]
    pub max_unfinished_uploads: usize,
    /// ...and the bytes they may hold together (more: 413).
    #[serde(default = "default_max_unfinished_bytes")]
    pub max_unfinished_upload_bytes: u64,
    pub s3: S3Settings,
}

/// S3-compatible object storage for media; an empty `endpoint` leaves it off.
#[derive(Debug, Clone, Deserialize)]
pub struct S3Settings {
    pub endpoint: String,
    pub bucket: String,
    pub region: String,
    pub access_key_id: String,
    /// Never printed (`Debug` shows it redacted).
    pub secret_access_key: SecretString,
    /// `{endpoint}/{bucket}/{key}` rather than `{bucket}.{host}/{key}`.
    pub path_style: bool,
    /// Prepended to every key (`photoshare/` keeps a shared bucket tidy).
    pub prefix: String,
    /// Media routes answer 302 to a presigned URL instead of the bytes.
    pub redirect: bool,
    pub presign_seconds: u64,
}

fn default_upload_ttl() -> u64 {
    86_400
}

fn default_max_unfinished() -> usize {
    20
}

fn default_max_unfinished_bytes() -> u64 {
    1 << 30
}

fn default_max_pending() -> u64 {
    10
}

fn default_transform_cost() -> u64 {
    300
}

fn default_body_timeout() -> u64 {
    120
}

fn default_email_changes() -> u32 {
    5
}

fn empty_secret() -> SecretString {
    SecretString::from("")
}

#[derive(Debug, Clone, Deserialize)]
pub struct QueueSettings {
    /// `amqp://` URL of RabbitMQ; empty = the in-process queue. May hold
    /// credentials: never printed.
    pub amqp_url: SecretString,
    /// Concurrent transformation jobs per worker process; 0 = one per CPU core.
    pub workers: usize,
    /// Attempts before a job is failed for good (and dead-lettered).
    pub max_attempts: u32,
    /// Transformation links one user may have waiting for their jobs (429 past it).
    #[serde(default = "default_max_pending")]
    pub max_pending_per_user: u64,
    /// RabbitMQ queue names start with this (`<prefix>.jobs` ...).
    pub prefix: String,
    /// Seconds between sweeps that publish jobs of links left pending.
    pub sweep_seconds: u64,
    /// RabbitMQ deletes the queues after this many idle seconds; 0 = never
    /// (for throwaway test prefixes).
    pub idle_expiry_seconds: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: String,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

fn default_env() -> Environment {
    Environment::Development
}

impl Environment {
    fn from_app_env(value: &str) -> Self {
        match value.to_ascii_lowercase().as_str() {
            "local" | "development" | "dev" | "test" => Environment::Development,
            _ => Environment::Production,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("invalid configuration: {0}")]
    Invalid(#[from] config::ConfigError),
    #[error(
        "PHOTOSHARE__AUTH__JWT_SECRET must be set (at least 32 characters) when APP_ENV is not local/development"
    )]
    MissingJwtSecret,
    #[error("PHOTOSHARE__AUTH__JWT_SECRET must be at least 32 characters")]
    WeakJwtSecret,
    #[error("PHOTOSHARE__DELIVERY__KEY: each comma-separated key must be at least 32 characters")]
    WeakDeliveryKey,
    #[error(
        "PHOTOSHARE__SERVER__CORS_ORIGINS: {0:?} is not an origin (scheme://host[:port], or *)"
    )]
    CorsOrigin(String),
    #[error("cannot keep the development JWT secret in {path}: {source}")]
    SecretFile {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Settings {
    /// Reads the layered configuration for the environment named by `APP_ENV`.
    pub fn load() -> Result<Self, SettingsError> {
        let app_env = std::env::var("APP_ENV").unwrap_or_else(|_| "local".into());
        let dir = PathBuf::from("config");
        let built = config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .add_source(config::File::from(dir.join("default.toml")).required(false))
            .add_source(config::File::from(dir.join(format!("{app_env}.toml"))).required(false))
            .add_source(
                config::Environment::with_prefix("PHOTOSHARE")
                    .prefix_separator("__")
                    .separator("__")
                    .try_parsing(true),
            )
            .build()?;
        let mut settings: Settings = built.try_deserialize()?;
        settings.environment = Environment::from_app_env(&app_env);
        if let Ok(url) = std::env::var("CLOUDINARY_URL") {
            settings.cloudinary_url = SecretString::from(url);
        }
        Ok(settings)
    }

    /// Settings from the compiled-in defaults only (tests start from these).
    pub fn defaults() -> Self {
        config::Config::builder()
            .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .expect("the compiled-in config/default.toml is valid")
    }

    pub fn uses_cloudinary(&self) -> bool {
        !self.cloudinary_url.expose_secret().trim().is_empty()
    }

    /// Where links point: the configured public URL, else the bound address.
    pub fn public_url(&self, port: u16) -> String {
        let configured = self.server.public_url.trim().trim_end_matches('/');
        if configured.is_empty() {
            format!("http://{}:{port}", self.server.host)
        } else {
            configured.to_owned()
        }
    }

    /// The CORS origins, each checked to be `*` or exactly `scheme://host[:port]`.
    pub fn cors_origins(&self) -> Result<Vec<String>, SettingsError> {
        self.server
            .cors_origins
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .map(|o| {
                let is_origin = o == "*"
                    || reqwest::Url::parse(o).is_ok_and(|u| {
                        matches!(u.scheme(), "http" | "https")
                            && u.origin().ascii_serialization() == o
                    });
                if is_origin {
                    Ok(o.to_owned())
                } else {
                    Err(SettingsError::CorsOrigin(o.to_owned()))
                }
            })
            .collect()
    }

    pub fn uses_s3(&self) -> bool {
        !self.media.s3.endpoint.trim().is_empty()
    }

    pub fn uses_mongodb(&self) -> bool {
        !self.database.uri.expose_secret().trim().is_empty()
    }

    /// Makes sure a usable JWT secret exists. In development a random one is generated
    /// once and kept in `DATA_DIR/jwt-secret`; elsewhere a missing one is an error.
    /// Returns true when the development secret is in use (the caller warns).
    pub fn ensure_jwt_secret(&mut self) -> Result<bool, SettingsError> {
        let secret = self.auth.jwt_secret.expose_secret();
        if !secret.is_empty() {
            if secret.len() < 32 {
                return Err(SettingsError::WeakJwtSecret);
            }
            return Ok(false);
        }
        if self.environment == Environment::Production {
            return Err(SettingsError::MissingJwtSecret);
        }
        let path = self.data_dir.join("jwt-secret");
        let secret = read_or_create_secret(&path)
            .map_err(|source| SettingsError::SecretFile { path, source })?;
        self.auth.jwt_secret = SecretString::from(secret);
        Ok(true)
    }
}

impl Settings {
    /// The keys of signed delivery URLs, the signing one first: the configured
    /// ones, else one derived from the JWT secret (call after
    /// `ensure_jwt_secret`), so every node that shares it signs alike.
    pub fn delivery_keys(&self) -> Result<Vec<Vec<u8>>, SettingsError> {
        let configured: Vec<&str> = self
            .delivery
            .key
            .expose_secret()
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect();
        if configured.is_empty() {
            use hmac::{KeyInit, Mac};
            if self.auth.jwt_secret.expose_secret().is_empty() {
                return Err(SettingsError::MissingJwtSecret);
            }
            let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(
                self.auth.jwt_secret.expose_secret().as_bytes(),
            )
            .expect("HMAC takes keys of any length");
            mac.update(b"photoshare delivery key");
            return Ok(vec![mac.finalize().into_bytes().to_vec()]);
        }
        if configured.iter().any(|k| k.len() < 32) {
            return Err(SettingsError::WeakDeliveryKey);
        }
        Ok(configured.iter().map(|k| k.as_bytes().to_vec()).collect())
    }
}

fn read_or_create_secret(path: &Path) -> std::io::Result<String> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim();
        if existing.len() >= 32 {
            return Ok(existing.to_owned());
        }
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let secret = hex::encode(bytes);
    let tmp = path.with_extension("tmp");
    {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(secret.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_and_broker_urls_are_secrets_debug_never_shows() {
        let mut s = Settings::defaults();
        s.database.uri = "mongodb://alice:s3cret-db@db.example/photos".into();
        s.queue.amqp_url = "amqp://bob:s3cret-mq@mq.example".into();
        let printed = format!("{s:?}");
        assert!(!printed.contains("s3cret-db"), "{printed}");
        assert!(!printed.contains("s3cret-mq"), "{printed}");
        assert!(!printed.contains("alice"), "{printed}");
        assert!(s.uses_mongodb());
    }

    #[test]
    fn defaults_listen_on_localhost_8000_with_embedded_storage() {
        let s = Settings::defaults();
        assert_eq!(s.server.host, "127.0.0.1");
        assert_eq!(s.server.port, 8000);
        assert!(!s.uses_mongodb());
        assert_eq!(s.rate_limit.auth_per_minute, 20);
    }

    #[test]
    fn cors_origins_must_be_origins() {
        let mut s = Settings::defaults();
        assert!(s.cors_origins().unwrap().is_empty());
        s.server.cors_origins = " https://app.example.com, http://localhost:3000 ,".into();
        assert_eq!(
            s.cors_origins().unwrap(),
            ["https://app.example.com", "http://localhost:3000"]
        );
        s.server.cors_origins = "*".into();
        assert_eq!(s.cors_origins().unwrap(), ["*"]);
        for bad in [
            "app.example.com",
            "https://a.example/path",
            "ftp://a.example",
            "https://a.example/",
        ] {
            s.server.cors_origins = bad.into();
            assert!(s.cors_origins().is_err(), "{bad}");
        }
    }

    #[test]
    fn production_without_a_jwt_secret_is_an_error() {
        let mut s = Settings::defaults();
        s.environment = Environment::Production;
        assert!(matches!(
            s.ensure_jwt_secret(),
            Err(SettingsError::MissingJwtSecret)
        ));
    }

    #[test]
    fn development_secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::defaults();
        s.data_dir = dir.path().to_path_buf();
        assert!(s.ensure_jwt_secret().unwrap());
        let first = s.auth.jwt_secret.expose_secret().to_owned();
        let mut again = Settings::defaults();
        again.data_dir = dir.path().to_path_buf();
        again.ensure_jwt_secret().unwrap();
        assert_eq!(first, again.auth.jwt_secret.expose_secret());
        assert_eq!(first.len(), 64);
    }

    #[test]
    fn delivery_keys_are_configured_or_derived_and_short_ones_refused() {
        let mut s = Settings::defaults();
        s.auth.jwt_secret = SecretString::from("j".repeat(40));
        let derived = s.delivery_keys().unwrap();
        assert_eq!(derived.len(), 1);
        assert_ne!(derived[0], b"j".repeat(40), "not the JWT secret itself");
        let (new, old) = ("n".repeat(32), "o".repeat(33));
        s.delivery.key = SecretString::from(format!(" {new} , {old} "));
        let keys = s.delivery_keys().unwrap();
        assert_eq!(keys, vec![new.into_bytes(), old.into_bytes()]);
        s.delivery.key = SecretString::from(format!("{}, short", "n".repeat(32)));
        assert!(matches!(
            s.delivery_keys(),
            Err(SettingsError::WeakDeliveryKey)
        ));
    }

    #[test]
    fn short_secret_is_refused() {
        let mut s = Settings::defaults();
        s.auth.jwt_secret = SecretString::from("short");
        assert!(matches!(
            s.ensure_jwt_secret(),
            Err(SettingsError::WeakJwtSecret)
        ));
    }
}
