//! Fills a store with synthetic photos for the search benchmark, straight into the
//! storage layer (no image processing): descriptions drawn from a word list with a
//! Zipf-like spread (a few common words, a long tail), 0-5 of 2,000 tags, owners,
//! ratings and upload times spread over a year, in upload order; 80 % with EXIF
//! metadata (taken up to ten years before upload, one of 24 cameras with a
//! Zipf-like spread).
//!
//! cargo run --release --example seed -- DATA_DIR [PHOTOS] [MONGODB_URI DB_NAME]
//!
//! Ratings are written as the photos' running sums (no rating records), which is
//! all search reads. Prints what it made and how long it took.

use std::time::Instant;

use chrono::Duration;
use futures_util::StreamExt;
use photoshare::domain::{Camera, PhotoMetadata};
use photoshare::store::{
    embedded::EmbeddedStore, mongo::MongoStore, new_id, NewUser, PhotoRecord, Store,
};
use rand::{rngs::StdRng, Rng, SeedableRng};

const WORDS: usize = 5_000;
const TAGS: usize = 2_000;
const OWNERS: usize = 500;

/// Pronounceable, distinct words: syllables spelled out from the index.
fn word(mut i: usize) -> String {
    const SYL: [&str; 20] = [
        "ka", "lo", "mi", "ne", "su", "ta", "ri", "po", "ve", "da", "gu", "ha", "jo", "be", "fi",
        "wa", "ze", "cu", "ny", "xo",
    ];
    let mut w = String::new();
    loop {
        w.push_str(SYL[i % SYL.len()]);
        i /= SYL.len();
        if i == 0 {
            break;
        }
    }
    w
}

/// Rank `r` drawn with probability ~ 1/(r+1) over `n` ranks.
fn zipf(rng: &mut StdRng, n: usize) -> usize {
    let h = (n as f64).ln();
    ((rng.gen::<f64>() * h).exp() as usize - 1).min(n - 1)
}

/// Makes and models, the most common first (as `zipf` draws them).
const CAMERAS: [(&str, &str); 24] = [
    ("Apple", "iPhone 15 Pro"),
    ("samsung", "Galaxy S24"),
    ("Google", "Pixel 8"),
    ("Apple", "iPhone 13"),
    ("Canon", "Canon EOS R5"),
    ("SONY", "ILCE-7M4"),
    ("NIKON CORPORATION", "NIKON Z 6_2"),
    ("FUJIFILM", "X-T5"),
    ("Apple", "iPhone 11"),
    ("Canon", "Canon EOS 5D Mark IV"),
    ("OLYMPUS CORPORATION", "E-M10 Mark III"),
    ("Panasonic", "DC-G9"),
    ("SONY", "ILCE-6400"),
    ("NIKON CORPORATION", "NIKON D750"),
    ("Xiaomi", "23049PCD8G"),
    ("OnePlus", "CPH2449"),
    ("LEICA CAMERA AG", "LEICA Q2"),
    ("RICOH IMAGING COMPANY, LTD.", "RICOH GR III"),
    ("Canon", "Canon EOS 90D"),
    ("HUAWEI", "ELS-NX9"),
    ("Google", "Pixel 6a"),
    ("motorola", "moto g54 5G"),
    ("Hasselblad", "X2D 100C"),
    ("DJI", "FC3582"),
];

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .expect("usage: seed DATA_DIR [PHOTOS] [MONGODB_URI DB_NAME]");
    let count: usize = args.get(1).map_or(Ok(100_000), |n| n.parse())?;
    let store = match (args.get(2), args.get(3)) {
        (Some(uri), Some(name)) => Store::mongo(MongoStore::connect(uri, Some(name)).await?),
        _ => Store::embedded(EmbeddedStore::open(std::path::Path::new(dir))?),
    };
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(42);
    let mut owners = Vec::new();
    for i in 0..OWNERS {
        let name = format!("seed_{i:03}");
        let user = store
            .users
            .create(NewUser {
                id: new_id(),
                username: name.clone(),
                email: format!("{name}@example.com"),
                full_name: None,
                // Not a valid hash: seeded accounts cannot log in.
                password_hash: "!".into(),
                created_at: photoshare::store::now_millis(),
            })
            .await?;
        owners.push(user);
    }
    let start = photoshare::store::now_millis() - Duration::days(365);
    let step = Duration::milliseconds(365 * 24 * 3600 * 1000 / count as i64);
    let photos: Vec<PhotoRecord> = (0..count)
        .map(|i| {
            let n_words = rng.gen_range(5..=20);
            let description = (0..n_words)
                .map(|_| word(zipf(&mut rng, WORDS)))
                .collect::<Vec<_>>()
                .join(" ");
            let mut tags: Vec<String> = (0..rng.gen_range(0..=5))
                .map(|_| format!("t{}", word(zipf(&mut rng, TAGS))))
                .collect();
            tags.sort();
            tags.dedup();
            let owner = &owners[zipf(&mut rng, OWNERS)];
            let ratings = if rng.gen_bool(0.6) {
                rng.gen_range(1..=10u64)
            } else {
                0
            };
            let rating_sum = (0..ratings).map(|_| rng.gen_range(1..=5u64)).sum();
            let created_at = start + step * i as i32;
            let meta = if rng.gen_bool(0.8) {
                let camera = CAMERAS[zipf(&mut rng, CAMERAS.len())];
                let taken = created_at - Duration::minutes(rng.gen_range(0..10 * 365 * 24 * 60));
                let offset = chrono::FixedOffset::east_opt(rng.gen_range(-10..=12) * 3600)
                    .expect("an offset within a day");
                PhotoMetadata {
                    taken_at: Some(taken.with_timezone(&offset)),
                    camera: Some(Camera {
                        make: Some(camera.0.into()),
                        model: Some(camera.1.into()),
                    }),
                    ..PhotoMetadata::default()
                }
            } else {
                PhotoMetadata::default()
            };
            PhotoRecord {
                meta,
                placeholder: None,
                id: new_id(),
                slug: photoshare::auth::jwt::random_id(),
                owner_id: owner.id.clone(),
                owner_username: owner.username.clone(),
                description,
                tags,
                width: 4000,
                height: 3000,
                format: "jpeg".into(),
                size_bytes: 2_000_000,
                media_key: "seed/none.jpg".into(),
                sha256: String::new(),
                source_sha256: String::new(),
                created_at,
                updated_at: created_at,
                rating_sum,
                rating_count: ratings,
                comment_count: 0,
            }
        })
        .collect();
    let repo = store.photos.clone();
    let mut inserts = futures_util::stream::iter(photos)
        .map(|p| {
            let repo = repo.clone();
            async move { repo.insert_photo(p).await }
        })
        .buffered(512);
    let mut done = 0;
    while let Some(result) = inserts.next().await {
        result?;
        done += 1;
        if done % 20_000 == 0 {
            eprintln!("{done} photos");
        }
    }
    println!(
        "seeded {count} photos, {OWNERS} owners into {} in {:.1} s",
        store.backend,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
