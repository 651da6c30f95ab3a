//! What cutting the progressive scans a scaled decode does not read saves, and
//! what it changes: for each progressive JPEG of the corpus and each scale M/8,
//! the decode time of the whole file and of the cut one (best of 3, in process),
//! the bytes kept, and the mean and largest difference of the pixels.
//!
//! cargo run --release --example scan_cut -- $(benches/corpus.sh bench-corpus)

use photoshare::media::engine::cut_scans;
use photoshare::media::libjpeg;

#[path = "common/timing.rs"]
mod timing;
use timing::best;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "bench-corpus".into());
    let mut files: Vec<_> = std::fs::read_dir(&dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().contains("progressive"))
        .collect();
    files.sort();
    println!("| photo | scale | luma | whole | cut | bytes kept | mean diff | max diff |");
    println!("|---|---|---|---|---|---|---|---|");
    for path in files {
        let data = std::fs::read(&path)?;
        for (eighths, luma) in [
            (1, false),
            (2, false),
            (3, false),
            (4, false),
            (2, true),
            (4, true),
        ] {
            let Some(cut) = cut_scans(&data, eighths, luma) else {
                continue;
            };
            let opts = libjpeg::Decode {
                eighths: eighths as u8,
                luma,
                fast_upsample: true,
                max_pixels: u64::MAX,
            };
            let a = libjpeg::decode(&data, opts)?;
            let b = libjpeg::decode(&cut, opts)?;
            let (sum, max) = a
                .pixels
                .iter()
                .zip(&b.pixels)
                .fold((0u64, 0u8), |(s, m), (p, q)| {
                    let d = p.abs_diff(*q);
                    (s + u64::from(d), m.max(d))
                });
            let whole = best(3, || libjpeg::decode(&data, opts));
            let cut_ms = best(3, || libjpeg::decode(&cut, opts));
            println!(
                "| {} | {eighths}/8 | {luma} | {whole:.1} ms | {cut_ms:.1} ms | {:.0} % | {:.2} | {max} |",
                path.file_name().unwrap().to_string_lossy(),
                100.0 * cut.len() as f64 / data.len() as f64,
                sum as f64 / a.pixels.len() as f64,
            );
        }
    }
    Ok(())
}
