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
        /// Do not run a transformation worker in this process. Accepted now so
        /// deployment scripts can pass it; this build has no worker to run yet.
        #[arg(long)]
        no_worker: bool,
    },
    /// Exit 0 when the local server answers /healthz (for container health checks).
    Healthcheck,
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
        Command::Serve { .. } => {
            telemetry::init(&settings.log);
            serve(settings).await
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

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
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
