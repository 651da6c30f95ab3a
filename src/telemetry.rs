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

/// One kind of database operation (`users.by_id` ...): one static per store method,
/// so the `operation` label set is closed.
pub struct DbOp {
    name: &'static str,
    index: std::sync::OnceLock<usize>,
}

/// Names of the operations seen so far; an operation's index is its place here.
static DB_OP_NAMES: std::sync::Mutex<Vec<&'static str>> = std::sync::Mutex::new(Vec::new());

/// More than the store has methods.
const MAX_DB_OPS: usize = 96;

impl DbOp {
    pub const fn new(name: &'static str) -> Self {
        DbOp {
            name,
            index: std::sync::OnceLock::new(),
        }
    }

    fn index(&'static self) -> usize {
        *self.index.get_or_init(|| {
            let mut names = DB_OP_NAMES.lock().unwrap_or_else(|e| e.into_inner());
            names.push(self.name);
            names.len() - 1
        })
    }
}

/// Database operations asked of one `Store` (one application), by operation:
/// `photoshare_db_operations_total{operation}`.
pub struct DbOps {
    counts: [std::sync::atomic::AtomicU64; MAX_DB_OPS],
}

impl Default for DbOps {
    fn default() -> Self {
        DbOps {
            counts: std::array::from_fn(|_| std::sync::atomic::AtomicU64::new(0)),
        }
    }
}

impl DbOps {
    pub fn count(&self, op: &'static DbOp) {
        if let Some(n) = self.counts.get(op.index()) {
            n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Every operation counted so far and its count, by name.
    pub fn snapshot(&self) -> Vec<(&'static str, u64)> {
        let names = DB_OP_NAMES.lock().unwrap_or_else(|e| e.into_inner());
        let mut ops: Vec<_> = names
            .iter()
            .zip(&self.counts)
            .map(|(name, n)| (*name, n.load(std::sync::atomic::Ordering::Relaxed)))
            .filter(|(_, n)| *n > 0)
            .collect();
        ops.sort();
        ops
    }

    /// The Prometheus text of these counters.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut out = String::from(
            "# HELP photoshare_db_operations_total Database operations asked of the store, by operation.\n\
             # TYPE photoshare_db_operations_total counter\n",
        );
        for (name, n) in self.snapshot() {
            let _ = writeln!(
                out,
                "photoshare_db_operations_total{{operation=\"{name}\"}} {n}"
            );
        }
        out
    }
}
