//! Tracing set-up: human-readable or JSON lines, filtered by `RUST_LOG` or the
//! configured level.

use tracing_subscriber::EnvFilter;

use crate::config::LogSettings;

pub fn init(log: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},actix_server=warn", log.level)));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = if log.format.eq_ignore_ascii_case("json") {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.try_init()
    };
    // A second init (tests) keeps the first subscriber.
    let _ = result;
}

/// One kind of database operation, counted each time the store is asked to do it
/// (`photoshare_db_operations_total{operation}`). The label set is closed: one
/// static per store method.
pub struct DbOp {
    name: &'static str,
    count: std::sync::atomic::AtomicU64,
    registered: std::sync::Once,
}

static DB_OPS: std::sync::Mutex<Vec<&'static DbOp>> = std::sync::Mutex::new(Vec::new());

impl DbOp {
    pub const fn new(name: &'static str) -> Self {
        DbOp {
            name,
            count: std::sync::atomic::AtomicU64::new(0),
            registered: std::sync::Once::new(),
        }
    }

    pub fn count(&'static self) {
        self.count
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.registered
            .call_once(|| DB_OPS.lock().unwrap_or_else(|e| e.into_inner()).push(self));
    }
}

/// Every operation counted so far and its count, by name.
pub fn db_operations() -> Vec<(&'static str, u64)> {
    let mut ops: Vec<_> = DB_OPS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .map(|op| (op.name, op.count.load(std::sync::atomic::Ordering::Relaxed)))
        .collect();
    ops.sort();
    ops
}

/// The Prometheus text of the database operation counters.
pub fn render_db_operations() -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "# HELP photoshare_db_operations_total Database operations asked of the store by this process, by operation.\n\
         # TYPE photoshare_db_operations_total counter\n",
    );
    for (name, n) in db_operations() {
        let _ = writeln!(
            out,
            "photoshare_db_operations_total{{operation=\"{name}\"}} {n}"
        );
    }
    out
}
