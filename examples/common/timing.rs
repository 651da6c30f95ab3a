//! Shared by the timing examples (included with `#[path]`: not an example).

use std::time::Instant;

/// Best of `n` runs, in milliseconds.
pub fn best<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    (0..n)
        .map(|_| {
            let start = Instant::now();
            std::hint::black_box(f());
            start.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::INFINITY, f64::min)
}
