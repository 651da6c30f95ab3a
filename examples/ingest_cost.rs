//! What the placeholder adds to an upload: times `ingest` (which makes it) on each
//! JPEG of the benchmark corpus, and the placeholder's own work inside it: the 1/8
//! verification decode in colour instead of luma only, and ThumbHash plus the
//! average colour of that small image. Prints milliseconds per file and the share.
//!
//! cargo run --release --example ingest_cost -- $(benches/corpus.sh bench-corpus)

use image::DynamicImage;
use photoshare::media::engine::dc_scans_only;
use photoshare::media::{ingest, libjpeg, placeholder};

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
        .filter(|p| p.extension().is_some_and(|e| e == "jpg"))
        .collect();
    files.sort();
    println!(
        "| file | ingest | luma 1/8 | colour 1/8 | ThumbHash + colour | placeholder's share |"
    );
    println!("|---|---|---|---|---|---|");
    for path in files {
        let data = std::fs::read(&path)?;
        let dc = dc_scans_only(&data);
        let scan = dc.as_deref().unwrap_or(&data);
        let decode = |luma| libjpeg::Decode {
            eighths: 1,
            luma,
            fast_upsample: true,
            max_pixels: u64::MAX,
        };
        let total = best(5, || {
            ingest::ingest(data.clone(), u64::MAX).map(|i| i.bytes.len())
        });
        let luma = best(5, || {
            libjpeg::decode(scan, decode(true)).map(|d| d.pixels.len())
        });
        let colour = best(5, || {
            libjpeg::decode(scan, decode(false)).map(|d| d.pixels.len())
        });
        let small = libjpeg::decode(scan, decode(false))?;
        let small = image::RgbImage::from_raw(small.width, small.height, small.pixels)
            .map(DynamicImage::ImageRgb8)
            .ok_or_else(|| anyhow::anyhow!("not RGB"))?;
        let hash = best(5, || placeholder::of(&small));
        let extra = (colour - luma).max(0.0) + hash;
        println!(
            "| {} | {total:.1} ms | {luma:.2} ms | {colour:.2} ms | {hash:.2} ms | {:.1} % |",
            path.file_name().unwrap_or_default().to_string_lossy(),
            100.0 * extra / (total - extra),
        );
    }
    Ok(())
}
