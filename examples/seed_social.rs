//! Fills a store for the feed benchmark (benches/feed.sh), straight into the storage
//! layer: ACCOUNTS accounts, PHOTOS photos over a year with a Zipf-like spread of
//! owners, and follows with a realistic skew: every account follows 5 "stars" (so
//! each has ACCOUNTS - 1 followers) and about 20 others, popular ones more often.
//! `celeb` (followed by every account) and `quiet` (followed by nobody) can sign in
//! with the password `bench-password`, to time uploads against their follower counts.
//!
//! cargo run --release --example seed_social -- DATA_DIR [ACCOUNTS] [PHOTOS] [MONGODB_URI DB_NAME]

use std::time::Instant;

use chrono::Duration;
use futures_util::StreamExt;
use photoshare::auth::password::Hasher;
use photoshare::domain::Password;
use photoshare::store::{
    embedded::EmbeddedStore, mongo::MongoStore, new_id, now_millis, NewUser, PhotoRecord, Store,
    UserRecord,
};
use rand::{rngs::StdRng, Rng, SeedableRng};

const STARS: usize = 5;
const FOLLOWS_EACH: usize = 20;

/// Rank drawn with probability ~ 1/(rank+1) over `n` ranks.
fn zipf(rng: &mut StdRng, n: usize) -> usize {
    let h = (n as f64).ln();
    ((rng.gen::<f64>() * h).exp() as usize - 1).min(n - 1)
}

async fn account(store: &Store, name: &str, hash: &str) -> anyhow::Result<UserRecord> {
    Ok(store
        .users
        .create(NewUser {
            id: new_id(),
            username: name.to_owned(),
            email: format!("{name}@example.com"),
            full_name: None,
            password_hash: hash.to_owned(),
            created_at: now_millis(),
        })
        .await?)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .first()
        .expect("usage: seed_social DATA_DIR [ACCOUNTS] [PHOTOS]");
    let accounts: usize = args.get(1).map_or(Ok(10_000), |n| n.parse())?;
    let photos: usize = args.get(2).map_or(Ok(200_000), |n| n.parse())?;
    let store = match (args.get(3), args.get(4)) {
        (Some(uri), Some(name)) => Store::mongo(MongoStore::connect(uri, Some(name)).await?),
        _ => Store::embedded(EmbeddedStore::open(std::path::Path::new(dir))?),
    };
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(17);
    let password = Password::parse("bench-password").map_err(anyhow::Error::msg)?;
    let real = Hasher::new(1).hash(password).await?;
    // The first account is the admin: a seeded one, not the benchmark's.
    let mut users = Vec::with_capacity(accounts);
    for i in 0..accounts {
        let name = if i < STARS {
            format!("star_{i}")
        } else {
            format!("user_{i:05}")
        };
        // Not a valid hash: seeded accounts cannot sign in.
        users.push(account(&store, &name, "!").await?);
    }
    let celeb = account(&store, "celeb", &real).await?;
    account(&store, "quiet", &real).await?;
    eprintln!(
        "{} accounts in {:.1} s",
        accounts + 2,
        started.elapsed().as_secs_f64()
    );

    let mut edges = Vec::new();
    for (i, user) in users.iter().enumerate() {
        edges.push((i, celeb.clone()));
        for star in users.iter().take(STARS).filter(|s| s.id != user.id) {
            edges.push((i, star.clone()));
        }
        for _ in 0..FOLLOWS_EACH {
            let other = &users[zipf(&mut rng, accounts)];
            if other.id != user.id {
                edges.push((i, other.clone()));
            }
        }
    }
    let total_edges = edges.len();
    // On MongoDB a follow is a transaction that also bumps both counts: hundreds at
    // once on the same star's count document conflict and retry until they time out.
    let parallel = if store.backend == "mongodb" { 8 } else { 512 };
    let social = store.social.clone();
    let users_ref = &users;
    let mut follows = futures_util::stream::iter(edges)
        .map(|(i, followee)| {
            let social = social.clone();
            async move { social.follow(&users_ref[i], &followee, now_millis()).await }
        })
        .buffer_unordered(parallel);
    while let Some(result) = follows.next().await {
        result?;
    }
    eprintln!(
        "{total_edges} follows at {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let start = now_millis() - Duration::days(365);
    let step = Duration::milliseconds(365 * 24 * 3600 * 1000 / photos as i64);
    let records: Vec<PhotoRecord> = (0..photos)
        .map(|i| {
            let owner = &users[zipf(&mut rng, accounts)];
            let created_at = start + step * i as i32;
            PhotoRecord {
                id: new_id(),
                slug: photoshare::auth::jwt::random_id(),
                owner_id: owner.id.clone(),
                owner_username: owner.username.clone(),
                description: "a seeded photo".into(),
                tags: Vec::new(),
                width: 4000,
                height: 3000,
                format: "jpeg".into(),
                size_bytes: 2_000_000,
                media_key: "seed/none.jpg".into(),
                sha256: String::new(),
                source_sha256: String::new(),
                meta: Default::default(),
                placeholder: None,
                created_at,
                updated_at: created_at,
                rating_sum: 0,
                rating_count: 0,
                comment_count: 0,
            }
        })
        .collect();
    let repo = store.photos.clone();
    let mut inserts = futures_util::stream::iter(records)
        .map(|p| {
            let repo = repo.clone();
            async move { repo.insert_photo(p).await }
        })
        .buffered(512);
    while let Some(result) = inserts.next().await {
        result?;
    }
    println!(
        "seeded {} accounts, {total_edges} follows, {photos} photos into {} in {:.1} s",
        accounts + 2,
        store.backend,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
