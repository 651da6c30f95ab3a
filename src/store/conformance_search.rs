//! Search on both backends: random photos, ratings, edits and deletes, then
//! random searches checked against a brute-force reference.

use chrono::Duration;

use super::conformance::{backends, photo};
use super::*;

/// What a search must return, computed the slow way from the records themselves.
fn reference_search(all: &[PhotoRecord], q: &PhotoQuery) -> (Vec<String>, u64) {
    let rated = q.min_rating.is_some() || q.max_rating.is_some();
    let mut hits: Vec<&PhotoRecord> = all
        .iter()
        .filter(|p| {
            let kw = p.keywords();
            let avg = p.rating_average();
            q.keywords.iter().all(|k| kw.contains(k))
                && q.tags.iter().all(|t| p.tags.contains(t))
                && q.owner_id.as_ref().is_none_or(|o| &p.owner_id == o)
                && (!rated || avg.is_some())
                && q.min_rating.is_none_or(|m| avg.is_some_and(|a| a >= m))
                && q.max_rating.is_none_or(|m| avg.is_some_and(|a| a <= m))
                && q.from.is_none_or(|f| p.created_at >= f)
                && q.to.is_none_or(|t| p.created_at <= t)
                && q.camera.iter().all(|w| p.meta.camera_words().contains(w))
                && q.taken_from
                    .is_none_or(|f| p.meta.taken_utc().is_some_and(|t| t >= f))
                && q.taken_to
                    .is_none_or(|to| p.meta.taken_utc().is_some_and(|t| t <= to))
        })
        .collect();
    if q.sort.by_taken() {
        // Dated photos by date, ties by upload; then the undated by upload; each
        // part in the asked direction.
        let key = |p: &&PhotoRecord| (p.meta.taken_utc(), p.created_at, p.id.clone());
        let (mut dated, mut undated): (Vec<_>, Vec<_>) =
            hits.into_iter().partition(|p| p.meta.taken_at.is_some());
        dated.sort_by_key(key);
        undated.sort_by_key(key);
        if q.sort.descending() {
            dated.reverse();
            undated.reverse();
        }
        hits = dated.into_iter().chain(undated).collect();
    } else {
        hits.sort_by(|a, b| {
            let key = |p: &PhotoRecord| {
                let rating = if q.sort.by_rating() {
                    p.rating_average().unwrap_or(0.0)
                } else {
                    0.0
                };
                (rating, p.created_at, p.id.clone())
            };
            let (ka, kb) = (key(a), key(b));
            ka.0.total_cmp(&kb.0)
                .then(ka.1.cmp(&kb.1))
                .then(ka.2.cmp(&kb.2))
        });
        if q.sort.descending() {
            hits.reverse();
        }
    }
    let total = hits.len() as u64;
    let page = hits
        .into_iter()
        .skip(q.offset as usize)
        .take(q.limit as usize)
        .map(|p| p.id.clone())
        .collect();
    (page, total)
}

/// Random EXIF metadata for the search test: a third of the photos undated, the
/// rest taken within two days before `base` (whole hours, so dates tie too), with
/// one of a few cameras or none, and an offset that must not change the order.
fn metadata(
    rng: &mut impl rand::Rng,
    base: chrono::DateTime<chrono::Utc>,
) -> crate::domain::PhotoMetadata {
    use crate::domain::{Camera, PhotoMetadata};
    use chrono::FixedOffset;
    let cameras = [
        Some(("Canon", "Canon EOS R5")),
        Some(("Google", "Pixel 8")),
        Some(("NIKON CORPORATION", "NIKON Z 8")),
        None,
    ];
    let taken = rng.gen_bool(0.66).then(|| {
        let offset = FixedOffset::east_opt(rng.gen_range(-12..=12) * 3600).unwrap();
        (base - Duration::hours(rng.gen_range(0..48))).with_timezone(&offset)
    });
    let camera = cameras[rng.gen_range(0..cameras.len())].map(|(make, model)| Camera {
        make: Some(make.into()),
        model: Some(model.into()),
    });
    PhotoMetadata {
        taken_at: taken,
        camera,
        ..PhotoMetadata::default()
    }
}

/// Random photos, ratings, edits and deletes, then random searches: every answer
/// must equal the brute-force one. Seeded, so a failure reproduces.
#[tokio::test]
async fn search_matches_a_brute_force_reference_after_every_kind_of_write() {
    use rand::{rngs::StdRng, seq::SliceRandom, Rng, SeedableRng};
    const WORDS: [&str; 12] = [
        "Sunset", "sea", "Mountain", "city", "night", "Straße", "東京", "dog", "cat", "red",
        "blue", "x2",
    ];
    const TAGS: [&str; 8] = [
        "sea",
        "sky",
        "street-art",
        "bw",
        "東京",
        "dog",
        "film",
        "macro",
    ];
    let owners = ["owner_a", "owner_b", "owner_c"];
    for (store, _dir) in backends().await {
        let b = store.backend;
        let mut rng = StdRng::seed_from_u64(7);
        let base = now_millis() - Duration::days(30);
        let description = |rng: &mut StdRng| {
            let n = rng.gen_range(0..6);
            (0..n)
                .map(|_| *WORDS.choose(rng).unwrap())
                .collect::<Vec<_>>()
                .join(if rng.gen_bool(0.5) { " " } else { ", " })
        };
        let tags = |rng: &mut StdRng| {
            let mut t: Vec<String> = (0..rng.gen_range(0..4))
                .map(|_| TAGS.choose(rng).unwrap().to_string())
                .collect();
            t.dedup();
            t.sort();
            t.dedup();
            t
        };
        let mut ids = Vec::new();
        for i in 0..120 {
            let mut p = photo(owners[i % 3], &[]);
            p.description = description(&mut rng);
            p.tags = tags(&mut rng);
            // Pairs share a millisecond: ties must go by upload order.
            p.created_at = base + Duration::seconds(i as i64 / 2);
            p.meta = metadata(&mut rng, base);
            store.photos.insert_photo(p.clone()).await.unwrap();
            ids.push(p.id);
        }
        // A search now loads the index; the writes below reach it through its log.
        let everything = PhotoQuery {
            limit: 1,
            ..PhotoQuery::default()
        };
        let (_, total) = store.photos.search(&everything).await.unwrap();
        assert_eq!(total, ids.len() as u64, "{b}");
        let mut ratings = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            for u in 0..rng.gen_range(0..4) {
                let r = RatingRecord {
                    id: new_id(),
                    photo_id: id.clone(),
                    user_id: format!("user{u}"),
                    username: format!("user{u}"),
                    stars: rng.gen_range(1..=5),
                    created_at: now_millis(),
                };
                store.ratings.add_rating(r.clone()).await.unwrap();
                if i % 7 == 0 {
                    ratings.push(r.id);
                }
            }
        }
        for id in ratings.iter().step_by(2) {
            store.ratings.delete_rating(id).await.unwrap();
        }
        let (_, total) = store.photos.search(&everything).await.unwrap();
        assert_eq!(total, ids.len() as u64, "{b}");
        for id in ids.iter().step_by(6) {
            let new_tags = rng.gen_bool(0.7).then(|| tags(&mut rng));
            let text = description(&mut rng);
            store
                .photos
                .update_photo(id, text, new_tags, now_millis())
                .await
                .unwrap();
        }
        for id in ids.iter().skip(3).step_by(11) {
            store.photos.delete_photo(id, now_millis()).await.unwrap();
        }
        let mut all = Vec::new();
        for id in &ids {
            all.extend(store.photos.photo(id).await.unwrap());
        }
        assert!(all.len() > 100, "{b}");

        let pick_time = |rng: &mut StdRng| base + Duration::milliseconds(rng.gen_range(0..60_000));
        let ratings_vals = [1.0, 2.5, 3.0, 3.5, 4.0, 5.0];
        for round in 0..150 {
            let mut q = PhotoQuery {
                limit: rng.gen_range(1..30),
                offset: if rng.gen_bool(0.3) {
                    rng.gen_range(0..40)
                } else {
                    0
                },
                sort: *PhotoSort::ALL.choose(&mut rng).unwrap(),
                ..PhotoQuery::default()
            };
            for _ in 0..rng.gen_range(0..3) {
                let word = WORDS.choose(&mut rng).unwrap().to_lowercase();
                q.keywords.push(if rng.gen_bool(0.1) {
                    "absent".into()
                } else {
                    word
                });
            }
            if rng.gen_bool(0.1) {
                q.keywords.push("street".into());
            }
            for _ in 0..rng.gen_range(0..2) {
                q.tags.push(TAGS.choose(&mut rng).unwrap().to_string());
            }
            if rng.gen_bool(0.2) {
                q.owner_id = Some(owners.choose(&mut rng).unwrap().to_string());
            }
            if rng.gen_bool(0.3) {
                q.min_rating = ratings_vals.choose(&mut rng).copied();
            }
            if rng.gen_bool(0.2) {
                q.max_rating = Some(5.0 - rng.gen_range(0..3) as f64 * 0.75);
            }
            if rng.gen_bool(0.3) {
                q.from = Some(pick_time(&mut rng));
            }
            if rng.gen_bool(0.3) {
                q.to = Some(pick_time(&mut rng));
            }
            if rng.gen_bool(0.2) {
                let words = ["canon", "eos", "pixel", "8", "nikon", "absent"];
                q.camera.push(words.choose(&mut rng).unwrap().to_string());
            }
            let pick_taken = |rng: &mut StdRng| base - Duration::hours(rng.gen_range(0..48));
            if rng.gen_bool(0.25) {
                q.taken_from = Some(pick_taken(&mut rng));
            }
            if rng.gen_bool(0.25) {
                q.taken_to = Some(pick_taken(&mut rng));
            }
            let (page, total) = store.photos.search(&q).await.unwrap();
            let got: Vec<String> = page.iter().map(|p| p.id.clone()).collect();
            let want = reference_search(&all, &q);
            assert_eq!((got, total), want, "{b}, round {round}: {q:?}");
            for p in &page {
                assert!(all.contains(p), "{b}: results are the stored records");
            }
        }
    }
}
