//! `Application::build` binds first (port 0 works), opens storage, starts the actors
//! and the HTTP server. `main` and the tests use this very builder.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpServer};
use anyhow::Context;

use secrecy::ExposeSecret;

use crate::actors::albums::{AlbumBookHandle, Albums};
use crate::actors::comment_board::{CommentBoardHandle, Comments};
use crate::actors::erasure::{Eraser, ErasureHandle};
use crate::actors::jobs::Jobs;
use crate::actors::photo_store::{PhotoSettings, PhotoStoreHandle, Photos};
use crate::actors::queue_monitor::{Monitor, QueueMonitor};
use crate::actors::rating_ledger::{RatingLedgerHandle, Ratings};
use crate::actors::social::{Social, SocialGraphHandle};
use crate::actors::transform_worker::jobs::{JobMetrics, Transformer};
use crate::actors::transform_worker::TransformWorker;
use crate::actors::uploads::{UploadDeskHandle, UploadSettings, Uploads};
use crate::actors::user_registry::{Accounts, CacheSettings, Registry, UserRegistry};
use crate::auth::jwt::JwtKeys;
use crate::auth::password::Hasher;
use crate::config::Settings;
use crate::domain::PublicUrls;
use crate::errors::error_chain;
use crate::http::{self, metrics::Metrics, rate_limit::RateLimiter, AppState};
use crate::media::cloudinary::{Cloudinary, CloudinaryConfig};
use crate::media::engine;
use crate::media::local::LocalMedia;
use crate::media::s3::S3Media;
use crate::media::MediaStore;
use crate::queue::bus::EventBus;
use crate::queue::inprocess::InProcessQueue;
use crate::queue::rabbitmq::{Names, RabbitQueue};
use crate::queue::worker::{self, JobHandler};
use crate::queue::JobQueue;
use crate::store::{embedded::EmbeddedStore, mongo::MongoStore, Store};

pub struct Application {
    port: u16,
    host: String,
    server: Server,
    /// Told to end the admin streams when a shutdown begins.
    monitor: Monitor,
}

impl Application {
    /// The API with an in-process transformation worker.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        Self::build_with(settings, true).await
    }

    /// The API; `run_worker` false leaves transformation jobs to worker processes.
    pub async fn build_with(mut settings: Settings, run_worker: bool) -> anyhow::Result<Self> {
        if settings.ensure_jwt_secret()? {
            tracing::warn!(
                path = %settings.data_dir.join("jwt-secret").display(),
                "no JWT secret configured: using a generated development secret; \
                 set PHOTOSHARE__AUTH__JWT_SECRET in production"
            );
        }
        let cors_origins = settings.cors_origins()?;
        let delivery = crate::domain::DeliveryKeys::new(settings.delivery_keys()?);
        let listener = TcpListener::bind((settings.server.host.as_str(), settings.server.port))
            .with_context(|| {
                format!(
                    "cannot listen on {}:{}",
                    settings.server.host, settings.server.port
                )
            })?;
        let port = listener.local_addr()?.port();
        let store = open_store(&settings).await?;
        let bus = event_bus(&settings);
        let keys = jwt_keys(&settings);
        let hasher = Hasher::new(settings.auth.max_concurrent_hashes);
        let accounts = Accounts::new(store.clone(), hasher.clone(), keys.clone(), bus.clone());
        let cache = CacheSettings {
            ttl: principal_cache_ttl(&settings),
            max_entries: 100_000,
        };
        spawn_blocklist_purge(store.clone());
        let media = open_media(&settings).await?;
        let spool_dir = settings.data_dir.join("uploads");
        // Spooled bodies of requests that were in flight when the process stopped.
        let _ = std::fs::remove_dir_all(&spool_dir);
        std::fs::create_dir_all(&spool_dir)
            .with_context(|| format!("cannot create {}", spool_dir.display()))?;

        let limits = engine::Limits::from_settings(&settings.media);
        let urls = PublicUrls::new(&settings.public_url(port));
        let workers = TransformWorker::start(consumers(&settings), limits);
        let job_metrics = Arc::new(JobMetrics::default());
        let transformer = Transformer {
            store: store.clone(),
            media: media.clone(),
            workers: workers.clone(),
            limits,
            urls: urls.clone(),
            max_attempts: settings.queue.max_attempts,
            metrics: job_metrics.clone(),
        };
        let jobs = Jobs::new(transformer);
        let queue = start_queue(&settings, &store, Arc::new(jobs), run_worker).await?;
        let photos = Photos::new(
            store.clone(),
            media.clone(),
            queue.clone(),
            workers.clone(),
            PhotoSettings {
                max_pixels: settings.media.max_pixels,
                budget_mib: settings.media.processing_budget_mib,
                cache_bytes: settings.media.cache_mib as usize * (1 << 20),
                limits,
                max_pending: settings.queue.max_pending_per_user.max(1),
                urls: urls.clone(),
                bus: bus.clone(),
            },
        );
        let uploads = Uploads::open(
            UploadSettings {
                // Beside the media folder (or, with Cloudinary, a local spool): it
                // outlives restarts, unlike the request spool above. With media on
                // S3 the uploads are in the bucket, for every node, and this is
                // only where a PATCH's bytes wait to become a chunk.
                dir: settings.data_dir.join("partial-uploads"),
                bucket: settings.uses_s3().then(|| media.clone()),
                ttl: Duration::from_secs(settings.media.upload_ttl_seconds.max(1)),
                max_bytes: settings.media.max_upload_bytes,
                max_per_account: settings.media.max_unfinished_uploads.max(1),
                max_bytes_per_account: settings.media.max_unfinished_upload_bytes,
            },
            photos.clone(),
            store.clone(),
        )
        .context("cannot open the partial uploads folder")?;
        uploads.spawn_sweeper(Duration::from_secs(60));
        let variants_made = photos.variants_made();
        let monitor = Monitor::new(
            QueueMonitor::new(store.clone(), queue, media.clone(), job_metrics).start(),
        );
        let stream_monitor = monitor.clone();
        let comments = Comments::new(store.clone());
        let ratings = Ratings::new(store.clone());
        let social = Social::new(store.clone(), photos.clone(), comments.clone());
        let albums = Albums::new(store.clone(), hasher.clone());
        let eraser = Eraser::new(store.clone(), photos.clone(), hasher, bus.clone());
        resume_erasures(eraser.clone());
        let share_passwords = Arc::new(RateLimiter::per_minute(
            settings.rate_limit.share_password_failures_per_minute,
        ));
        let limiter = Arc::new(RateLimiter::per_minute(settings.rate_limit.auth_per_minute));
        let metrics = Arc::new(Metrics::default());
        let db_ops = store.ops.clone();
        let max_upload_bytes = settings.media.max_upload_bytes;
        let forwarded_hops = settings.server.forwarded_hops;
        let body_timeout = Duration::from_secs(settings.server.body_timeout_seconds.max(1));
        let email_changes = Arc::new(http::EmailChangeLimits {
            per_account: RateLimiter::per_hour(settings.rate_limit.email_changes_per_hour),
            per_ip: RateLimiter::per_hour(settings.rate_limit.email_changes_per_hour * 4),
        });
        let api_doc = http::openapi::document(urls.base());
        let server = HttpServer::new(move || {
            // Every worker thread runs its own instance of the per-request actors on
            // its own arbiter, so a handler's message never crosses threads; what
            // they own together (caches, budgets, the render pool) is behind Arcs.
            let state = web::Data::new(AppState {
                registry: Registry::start_actor(UserRegistry::new(accounts.clone(), cache)),
                photos: PhotoStoreHandle::start(photos.clone()),
                uploads: UploadDeskHandle::start(uploads.clone()),
                variants_made: variants_made.clone(),
                comments: CommentBoardHandle::start(comments.clone()),
                ratings: RatingLedgerHandle::start(ratings.clone()),
                social: SocialGraphHandle::start(social.clone()),
                albums: AlbumBookHandle::start(albums.clone()),
                erasure: ErasureHandle::start(eraser.clone()),
                monitor: monitor.clone(),
                workers: workers.clone(),
                keys: keys.clone(),
                urls: urls.clone(),
                delivery: delivery.clone(),
                max_upload_bytes,
                spool_dir: spool_dir.clone(),
                limiter: limiter.clone(),
                metrics: metrics.clone(),
                db_ops: db_ops.clone(),
                email_changes: email_changes.clone(),
                share_passwords: share_passwords.clone(),
                body_timeout,
                forwarded_hops,
            });
            App::new()
                .app_data(state)
                .wrap(http::cors(&cors_origins))
                .wrap(from_fn(http::deadline::body_deadline))
                .wrap(from_fn(http::observe))
                .configure(http::configure)
                .configure(http::openapi::routes(api_doc.clone()))
                .default_service(web::to(http::not_found))
        })
        .workers(match settings.server.workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        })
        .listen(listener)?
        .shutdown_timeout(10)
        // Signals are ours (`run_until_stopped`): open streams end before the
        // graceful stop, which would otherwise wait its whole timeout for them.
        .disable_signals()
        .run();
        Ok(Self {
            port,
            host: settings.server.host,
            server,
            monitor: stream_monitor,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT, then ends the admin streams and stops
    /// gracefully: requests under way finish (10 s at most), new ones are refused.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let stop = shutdown_signal()?;
        let (handle, monitor) = (self.server.handle(), self.monitor);
        actix_web::rt::spawn(async move {
            stop.await;
            tracing::info!("shutting down: admin streams end, requests under way finish");
            monitor.close_streams().await;
            handle.stop(true).await;
        });
        tracing::info!("listening on http://{}:{}", self.host, self.port);
        self.server.await
    }
}

fn consumers(settings: &Settings) -> usize {
    match settings.queue.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// How long an authenticated principal is served from memory without news from the
/// bus: the setting, else 300 s on the embedded stack (one process: every change is
/// heard at once), 30 s with RabbitMQ (the bus reaches every node; this is only the
/// backstop), and 1 s on MongoDB without RabbitMQ (several nodes, no bus).
pub fn principal_cache_ttl(settings: &Settings) -> Duration {
    let seconds = match settings.auth.principal_cache_seconds {
        0 if !settings.uses_mongodb() => 300,
        0 if uses_rabbitmq(settings) => 30,
        0 => 1,
        n => n,
    };
    Duration::from_secs(seconds)
}

fn uses_rabbitmq(settings: &Settings) -> bool {
    !settings.queue.amqp_url.expose_secret().trim().is_empty()
}

/// The bus cached state listens to: across nodes through RabbitMQ when it is
/// configured, else within this process.
fn event_bus(settings: &Settings) -> EventBus {
    if uses_rabbitmq(settings) {
        EventBus::rabbitmq(
            settings.queue.amqp_url.expose_secret(),
            &settings.queue.prefix,
        )
    } else {
        EventBus::local()
    }
}

/// The job queue the settings name, with consumers and the sweeper in this process
/// when `run_worker`.
async fn start_queue(
    settings: &Settings,
    store: &Store,
    handler: Arc<dyn JobHandler>,
    run_worker: bool,
) -> anyhow::Result<Arc<dyn JobQueue>> {
    let sweep_every = Duration::from_secs(settings.queue.sweep_seconds.max(1));
    if !uses_rabbitmq(settings) {
        let queue = Arc::new(InProcessQueue::default());
        if run_worker {
            let n = consumers(settings);
            worker::run_local(queue.clone(), handler, store.clone(), n, sweep_every);
        } else {
            tracing::warn!("--no-worker with the in-process queue: transformations stay pending");
        }
        return Ok(queue);
    }
    let url = settings.queue.amqp_url.expose_secret();
    tracing::info!(url = %redact_uri(url), "job queue: RabbitMQ");
    let names = Names::new(&settings.queue.prefix, settings.queue.idle_expiry_seconds);
    let queue = RabbitQueue::connect(url, names).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot reach RabbitMQ at {} ({})",
            redact_uri(url),
            error_chain(&e)
        )
    })?;
    if run_worker {
        queue.run_consumers(handler, consumers(settings));
        // Another process may be publishing a link it has just stored: only links
        // pending for a while are the sweeper's.
        worker::spawn_sweeper(store.clone(), queue.clone(), sweep_every * 2, sweep_every);
    }
    Ok(queue)
}

/// `photoshare worker`: job consumers (transformations, purges) and the sweeper, no HTTP. Needs
/// RabbitMQ (the in-process queue lives inside `serve`).
pub async fn run_worker(settings: Settings) -> anyhow::Result<()> {
    if !uses_rabbitmq(&settings) {
        anyhow::bail!(
            "photoshare worker needs PHOTOSHARE__QUEUE__AMQP_URL; \
             with the in-process queue, `photoshare serve` runs the worker itself"
        );
    }
    let store = open_store(&settings).await?;
    let media = open_media(&settings).await?;
    let limits = engine::Limits::from_settings(&settings.media);
    let transformer = Transformer {
        store: store.clone(),
        media,
        workers: TransformWorker::start(consumers(&settings), limits),
        limits,
        urls: PublicUrls::new(&settings.public_url(settings.server.port)),
        max_attempts: settings.queue.max_attempts,
        metrics: Arc::new(JobMetrics::default()),
    };
    start_queue(&settings, &store, Arc::new(Jobs::new(transformer)), true).await?;
    let stop = shutdown_signal()?;
    tracing::info!(consumers = consumers(&settings), "worker running");
    stop.await;
    // Jobs in flight stay unacknowledged: the broker hands them to another worker.
    tracing::info!("worker stopping");
    Ok(())
}

/// How `photoshare fsck` was asked to run.
pub struct FsckArgs {
    pub fix: bool,
    pub grace: Duration,
    pub resume: bool,
}

/// `photoshare fsck`: prints what disagrees (after repairing what it can, with
/// `fix`) and returns whether nothing does.
pub async fn fsck(settings: Settings, fsck: FsckArgs) -> anyhow::Result<bool> {
    let FsckArgs { fix, grace, resume } = fsck;
    let fsck = crate::fsck::Fsck {
        store: open_store(&settings).await?,
        media: open_media(&settings).await?,
        grace,
        resume,
    };
    let report = fsck.run(fix).await?;
    for skipped in &report.skipped {
        println!("skipped {skipped}");
    }
    for finding in &report.findings {
        println!("{finding}");
    }
    let what = if fix { "left after repair" } else { "found" };
    println!(
        "fsck ({}): {} problem(s) {what}",
        fsck.store.backend,
        report.findings.len()
    );
    Ok(report.findings.is_empty())
}

/// `photoshare create-admin`: the first account of an empty database, made from the
/// command line before the service is exposed, so no stranger can sign up first.
pub async fn create_admin(
    mut settings: Settings,
    username: &str,
    email: &str,
    password: &str,
) -> anyhow::Result<()> {
    use crate::actors::user_registry::Signup;
    use crate::domain::{Email, Password, Role, Username};
    let invalid = |field: &str, e: String| anyhow::anyhow!("{field} {e}");
    let msg = Signup {
        username: Username::parse(username).map_err(|e| invalid("username", e))?,
        email: Email::parse(email).map_err(|e| invalid("email", e))?,
        password: Password::parse(password).map_err(|e| invalid("password", e))?,
        full_name: None,
    };
    settings.ensure_jwt_secret()?;
    let store = open_store(&settings).await?;
    let (_, existing) = store.users.list(1, 0).await?;
    if existing > 0 {
        anyhow::bail!(
            "the database already has {existing} account(s) and its first one is the admin; \
             an admin promotes others with PUT /api/admin/users/{{username}}/role"
        );
    }
    let accounts = Accounts::new(
        store,
        Hasher::new(1),
        jwt_keys(&settings),
        EventBus::local(),
    );
    let user = accounts
        .signup(msg)
        .await
        .map_err(|e| anyhow::anyhow!("cannot create the account: {e}"))?;
    if user.role != Role::Admin {
        anyhow::bail!(
            "another account was created at the same moment and became the admin; \
             {} is a user",
            user.username
        );
    }
    tracing::info!(username = %user.username, "admin account created");
    Ok(())
}

/// Signing and verifying keys from the auth settings (secret, issuer, audience, TTLs).
fn jwt_keys(settings: &Settings) -> Arc<JwtKeys> {
    Arc::new(JwtKeys::new(
        &settings.auth.jwt_secret,
        &settings.auth.issuer,
        &settings.auth.audience,
        settings.auth.access_ttl_seconds,
        settings.auth.refresh_ttl_seconds,
    ))
}

/// SIGINT or SIGTERM (what `docker stop` and Koyeb send). The handlers are in place
/// when this returns, before the caller reports that it runs.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    if settings.uses_mongodb() {
        let uri = settings.database.uri.expose_secret().trim();
        let db = MongoStore::connect(uri, Some(settings.database.name.as_str()))
            .await
            .map_err(|e| {
                anyhow::anyhow!(
                    "cannot reach MongoDB at {} ({})",
                    redact_uri(uri),
                    crate::errors::error_chain(&e)
                )
            })?;
        Ok(Store::mongo(db))
    } else {
        let dir = &settings.data_dir;
        let cache = settings.database.cache_mib as usize * 1024 * 1024;
        let db = EmbeddedStore::open_with_cache(dir, cache).map_err(|e| {
            anyhow::anyhow!(
                "cannot open the embedded database in {} ({})",
                dir.display(),
                crate::errors::error_chain(&e)
            )
        })?;
        // Loaded before serving, so no first search waits for it.
        db.prepare_search().map_err(|e| {
            anyhow::anyhow!(
                "cannot load the search index ({})",
                crate::errors::error_chain(&e)
            )
        })?;
        Ok(Store::embedded(db))
    }
}

async fn open_media(settings: &Settings) -> anyhow::Result<Arc<dyn MediaStore>> {
    if settings.uses_cloudinary() {
        let mut config = CloudinaryConfig::from_url(settings.cloudinary_url.expose_secret())?;
        config.api_base = settings
            .media
            .cloudinary_api_base
            .trim_end_matches('/')
            .to_owned();
        config.delivery_base = settings
            .media
            .cloudinary_delivery_base
            .trim_end_matches('/')
            .to_owned();
        tracing::info!(cloud = %config.cloud_name, "media on Cloudinary");
        let cloudinary = Cloudinary::new(config);
        cloudinary.ping().await?;
        return Ok(Arc::new(cloudinary));
    }
    if settings.uses_s3() {
        let s3 = S3Media::new(&settings.media.s3)
            .map_err(|e| anyhow::anyhow!("bad S3 settings ({})", crate::errors::error_chain(&e)))?;
        s3.ping().await.map_err(|e| {
            anyhow::anyhow!(
                "cannot reach the S3 bucket {} ({})",
                s3.location(),
                crate::errors::error_chain(&e)
            )
        })?;
        tracing::info!(bucket = %s3.location(), "media on S3");
        return Ok(Arc::new(s3));
    }
    let dir = settings.data_dir.join("media");
    let local = LocalMedia::open(&dir)
        .with_context(|| format!("cannot create the media directory {}", dir.display()))?;
    Ok(Arc::new(local))
}

/// `scheme://user:pass@host/db?x` -> `scheme://host/db`: safe for logs.
pub fn redact_uri(uri: &str) -> String {
    let (scheme, rest) = uri.split_once("://").unwrap_or(("", uri));
    let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    let rest = rest.split('?').next().unwrap_or(rest);
    format!("{scheme}://{rest}")
}

/// Finishes the account deletions a stopped process left, retrying while the
/// store is unreachable.
fn resume_erasures(eraser: Eraser) {
    actix_web::rt::spawn(async move {
        loop {
            match eraser.resume().await {
                Ok(0) => return,
                Ok(n) => {
                    tracing::info!(accounts = n, "interrupted account deletions finished");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %crate::errors::error_chain(&e),
                        "could not finish interrupted account deletions; retrying in 30 s");
                    tokio::time::sleep(Duration::from_secs(30)).await;
                }
            }
        }
    });
}

/// Expired blocklist entries are useless (the token's own `exp` rejects it).
fn spawn_blocklist_purge(store: Store) {
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(600));
        loop {
            tick.tick().await;
            if let Err(e) = store.blocklist.purge_expired(chrono::Utc::now()).await {
                tracing::warn!(error = %crate::errors::error_chain(&e), "blocklist purge failed");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::redact_uri;

    #[test]
    fn redacted_uri_has_no_credentials_or_options() {
        assert_eq!(
            redact_uri("mongodb://user:p%40ss@db.example:27017/app?authSource=admin"),
            "mongodb://db.example:27017/app"
        );
        assert_eq!(redact_uri("amqp://localhost:5672"), "amqp://localhost:5672");
    }
}
