//! The `photoshare` command: `serve` (the default) runs the API.

use clap::{Parser, Subcommand};
use photoshare::{app::Application, config::Settings, telemetry};

#[derive(Parser)]
#[command(version, about = "PhotoShare: photo-sharing backend")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API (the default).
    Serve {
        /// Do not run a transformation worker in this process (workers run
        /// elsewhere with `photoshare worker`).
        #[arg(long)]
        no_worker: bool,
    },
    /// Run only transformation workers (needs RabbitMQ); scale these out freely.
    Worker,
    /// Create the admin account of an empty database (the first account is the admin).
    /// The password is read from PHOTOSHARE_ADMIN_PASSWORD, else from standard input.
    CreateAdmin {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
    },
    /// Check that the database's counters, records and files agree; exit 1 when
    /// they do not. `--fix` finishes interrupted deletions, removes orphans and
    /// recounts (best with the service stopped).
    Fsck {
        #[arg(long)]
        fix: bool,
        /// Seconds within which deletions and files count as work in flight.
        #[arg(long, default_value_t = 60)]
        grace: u64,
        /// First finish the deletions still queued, as a restarted worker would.
        #[arg(long)]
        resume: bool,
    },
    /// Exit 0 when the local server answers /healthz (for container health checks).
    Healthcheck,
    /// Upload every image under the folders to a server over resumable uploads,
    /// skipping those the account already has; an interrupted run resumes. Signs in
    /// with PHOTOSHARE_USERNAME and PHOTOSHARE_PASSWORD, else asks. Ends with
    /// `uploaded N, skipped N, failed N`; exit code 0 only when none failed.
    Upload {
        /// Folders (searched recursively) or image files.
        #[arg(required = true)]
        dirs: Vec<std::path::PathBuf>,
        /// The server, e.g. https://photos.example.com.
        #[arg(long, env = "PHOTOSHARE_SERVER")]
        server: String,
        /// Files uploaded at once.
        #[arg(long, default_value_t = 4)]
        jobs: usize,
        /// A tag for every photo; repeat for several.
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Bytes per request.
        #[arg(long, default_value_t = 5 << 20)]
        chunk_size: u64,
        /// Where unfinished uploads are remembered between runs.
        #[arg(long)]
        state: Option<std::path::PathBuf>,
    },
    /// Run a transformation on a local image file with the built-in engine.
    Transform {
        /// The image to read (JPEG, PNG, WebP or GIF).
        input: std::path::PathBuf,
        /// Where to write; its extension picks the format unless `f_` does.
        output: std::path::PathBuf,
        /// Cloudinary syntax, e.g. "c_fill,w_800,h_600/e_grayscale/q_80".
        transformation: String,
        /// Then time N more runs in this process (from the bytes in memory, as
        /// benches/peers.py times Pillow and libvips) and print their median.
        #[arg(long, default_value_t = 0)]
        runs: usize,
    },
}

/// Large buffers (argon2 blocks, decoded images) come and go in bursts. glibc raises
/// its mmap threshold after the first large free and then serves them from arenas it
/// never returns, so RSS stays at the burst's peak; a fixed 4 MiB threshold makes
/// every large buffer its own mapping that goes back to the OS when freed.
fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before any threads.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
    }
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    actix_web::rt::System::new().block_on(run())
}

async fn run() -> std::process::ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("photoshare: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let command = cli.command.unwrap_or(Command::Serve { no_worker: false });
    let result = match command {
        Command::Healthcheck => return healthcheck(settings.server.port),
        Command::Upload {
            dirs,
            server,
            jobs,
            tags,
            chunk_size,
            state,
        } => {
            let state = state.unwrap_or_else(photoshare::cli::upload::default_state_path);
            let options = photoshare::cli::upload::Options {
                dirs,
                jobs,
                tags,
                chunk_bytes: chunk_size.max(1),
                state,
            };
            return upload(&server, options).await;
        }
        Command::Transform {
            input,
            output,
            transformation,
            runs,
        } => transform(&settings, &input, &output, &transformation, runs),
        Command::CreateAdmin { username, email } => match admin_password() {
            Ok(password) => photoshare::app::create_admin(settings, &username, &email, &password)
                .await
                .map(|()| println!("admin account {username} created")),
            Err(e) => Err(e),
        },
        Command::Fsck { fix, grace, resume } => {
            let grace = std::time::Duration::from_secs(grace);
            let args = photoshare::app::FsckArgs { fix, grace, resume };
            match photoshare::app::fsck(settings, args).await {
                Ok(true) => Ok(()),
                Ok(false) => return std::process::ExitCode::FAILURE,
                Err(e) => Err(e),
            }
        }
        Command::Worker => {
            telemetry::init(&settings.log);
            photoshare::app::run_worker(settings).await
        }
        Command::Serve { no_worker } => {
            telemetry::init(&settings.log);
            serve(settings, !no_worker).await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("photoshare: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `photoshare upload`: signs in, uploads, prints the summary line.
async fn upload(server: &str, options: photoshare::cli::upload::Options) -> std::process::ExitCode {
    let run = async {
        let (username, password) = credentials()?;
        let session =
            photoshare::cli::session::Session::sign_in(server, &username, &password).await?;
        photoshare::cli::upload::run(session, options).await
    };
    match run.await {
        Ok(summary) => {
            println!("{summary}");
            if summary.failed == 0 {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("photoshare upload: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// PHOTOSHARE_USERNAME and PHOTOSHARE_PASSWORD, else asked on the terminal (the
/// password without echo).
fn credentials() -> anyhow::Result<(String, String)> {
    let username = match std::env::var("PHOTOSHARE_USERNAME") {
        Ok(u) => u,
        Err(_) => {
            use std::io::Write;
            eprint!("username: ");
            std::io::stderr().flush()?;
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim().to_owned()
        }
    };
    let password = match std::env::var("PHOTOSHARE_PASSWORD") {
        Ok(p) => p,
        Err(_) => rpassword::prompt_password("password: ")?,
    };
    Ok((username, password))
}

/// PHOTOSHARE_ADMIN_PASSWORD, else the first line of standard input: never an
/// argument, which other users of the machine could read from the process list.
fn admin_password() -> anyhow::Result<String> {
    if let Ok(p) = std::env::var("PHOTOSHARE_ADMIN_PASSWORD") {
        return Ok(p);
    }
    let mut line = String::new();
    std::io::stdin().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// `photoshare transform IN OUT T`: the engine on one file, as a worker would run it.
fn transform(
    settings: &Settings,
    input: &std::path::Path,
    output: &std::path::Path,
    transformation: &str,
    runs: usize,
) -> anyhow::Result<()> {
    use anyhow::Context;
    use photoshare::domain::Transformation;
    use photoshare::media::engine;
    use photoshare::media::ingest::Format;
    let t: Transformation = transformation
        .parse()
        .map_err(|e| anyhow::anyhow!("transformation refused: {e}"))?;
    let by_name = output
        .extension()
        .and_then(|e| e.to_str())
        .and_then(|e| Format::parse(&e.to_ascii_lowercase()));
    if by_name.is_none() && t.format().is_none() {
        anyhow::bail!(
            "cannot tell the output format from {}: use .jpg, .png, .webp or .gif, or f_",
            output.display()
        );
    }
    let data = std::fs::read(input).with_context(|| format!("cannot read {}", input.display()))?;
    let limits = engine::Limits::from_settings(&settings.media);
    let rendered = engine::render(&data, &t, &limits, by_name)
        .with_context(|| format!("cannot transform {}", input.display()))?;
    std::fs::write(output, &rendered.bytes)
        .with_context(|| format!("cannot write {}", output.display()))?;
    if runs > 0 {
        let mut times: Vec<f64> = (0..runs)
            .map(|_| {
                let start = std::time::Instant::now();
                let out = engine::render(&data, &t, &limits, by_name);
                std::hint::black_box(out.map(|r| r.bytes.len()).unwrap_or(0));
                start.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        println!("in-process median of {runs}: {:.1} ms", times[runs / 2]);
    }
    Ok(())
}

async fn serve(settings: Settings, run_worker: bool) -> anyhow::Result<()> {
    let app = Application::build_with(settings, run_worker).await?;
    app.run_until_stopped().await?;
    Ok(())
}

/// A plain HTTP/1.0 GET of /healthz on the loopback address: the runtime image has
/// no curl.
fn healthcheck(port: u16) -> std::process::ExitCode {
    use std::io::{Read, Write};
    let probe = || -> std::io::Result<bool> {
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let timeout = std::time::Duration::from_secs(2);
        let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout)?;
        stream.set_read_timeout(Some(timeout))?;
        stream.write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head)?;
        Ok(head.ends_with(b" 200"))
    };
    match probe() {
        Ok(true) => std::process::ExitCode::SUCCESS,
        _ => std::process::ExitCode::FAILURE,
    }
}
