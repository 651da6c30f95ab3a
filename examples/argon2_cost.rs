//! Times one argon2id hash with the production parameters on one thread, so the
//! login benchmark can say what fraction of the machine's argon2 capacity it reaches.
//! `cargo run --release --example argon2_cost`

use std::time::Instant;

use photoshare::auth::password::Hasher;
use photoshare::domain::Password;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let hasher = Hasher::new(1);
    let runs = 20;
    let hash = hasher
        .hash(Password::parse("benchmark-password").unwrap())
        .await
        .unwrap();
    let started = Instant::now();
    for _ in 0..runs {
        hasher
            .verify("benchmark-password".into(), Some(hash.clone()))
            .await
            .unwrap();
    }
    let per_hash = started.elapsed().as_secs_f64() / f64::from(runs);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "argon2id m=19MiB t=2 p=1: {:.1} ms per verify on one core; {} cores allow {:.0} logins/s",
        per_hash * 1000.0,
        cores,
        cores as f64 / per_hash
    );
}
