//! One suite, both backends: the embedded store always, MongoDB when
//! `PHOTOSHARE_TEST_MONGODB_URI` is set (each run in a database of its own).

use chrono::Duration;

use super::*;

pub(crate) async fn backends() -> Vec<(Store, Option<tempfile::TempDir>)> {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut out = vec![(
        Store::embedded(embedded::EmbeddedStore::open(dir.path()).expect("open redb")),
        Some(dir),
    )];
    if let Ok(uri) = std::env::var("PHOTOSHARE_TEST_MONGODB_URI") {
        let name = format!("conformance_{}", crate::auth::jwt::random_id());
        let db = mongo::MongoStore::connect(&uri, Some(&name))
            .await
            .expect("MongoDB reachable");
        out.push((Store::mongo(db), None));
    }
    out
}

pub(crate) fn new_user(name: &str) -> NewUser {
    NewUser {
        id: new_id(),
        username: name.to_owned(),
        email: format!("{name}@Example.com"),
        full_name: None,
        password_hash: "hash".into(),
        created_at: now_millis(),
    }
}

fn session(id: &str, user_id: &str, jti: &str) -> SessionRecord {
    SessionRecord {
        id: id.into(),
        user_id: user_id.into(),
        refresh_jti: jti.into(),
        revoked: false,
        expires_at: now_millis() + Duration::days(1),
    }
}

#[tokio::test]
async fn first_user_is_admin_and_keys_are_unique_case_insensitively() {
    for (store, _dir) in backends().await {
        let b = store.backend;
        let first = store.users.create(new_user("Alpha")).await.unwrap();
        let second = store.users.create(new_user("beta")).await.unwrap();
        assert_eq!((first.role, second.role), (Role::Admin, Role::User), "{b}");

        let mut dup_name = new_user("ALPHA");
        dup_name.email = "other@example.com".into();
        let dup_email = new_user("gamma");
        let mut dup_email = dup_email;
        dup_email.email = "BETA@example.COM".into();
        assert!(matches!(
            store.users.create(dup_name).await,
            Err(StoreError::Conflict("username"))
        ));
        assert!(matches!(
            store.users.create(dup_email).await,
            Err(StoreError::Conflict("email"))
        ));

        let found = store.users.by_username("alpha").await.unwrap().unwrap();
        assert_eq!(found, first, "{b}: round trip keeps every field");
        let by_mail = store.users.by_email("beta@example.com").await.unwrap();
        assert_eq!(by_mail.unwrap().id, second.id);
        assert!(store.users.by_id("not-an-id").await.unwrap().is_none());
        assert!(store.users.by_username("nobody").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn profile_updates_move_the_email_key() {
    for (store, _dir) in backends().await {
        let a = store.users.create(new_user("anna")).await.unwrap();
        store.users.create(new_user("bert")).await.unwrap();

        let taken = ProfilePatch {
            email: Some("BERT@example.com".into()),
            ..Default::default()
        };
        assert!(matches!(
            store.users.update_profile(&a.id, taken).await,
            Err(StoreError::Conflict("email"))
        ));
        let patch = ProfilePatch {
            email: Some("anna@new.org".into()),
            full_name: Some(Some("Anna".into())),
            bio: Some(None),
        };
        let updated = store.users.update_profile(&a.id, patch).await.unwrap();
        assert_eq!(updated.email, "anna@new.org");
        assert_eq!(updated.full_name.as_deref(), Some("Anna"));
        assert!(store
            .users
            .by_email("anna@example.com")
            .await
            .unwrap()
            .is_none());
        assert!(store
            .users
            .by_email("anna@new.org")
            .await
            .unwrap()
            .is_some());

        let unknown = store.users.set_role(&new_id(), Role::Moderator).await;
        assert!(matches!(unknown, Err(StoreError::NotFound)));
        let banned = store.users.set_active(&a.id, false).await.unwrap();
        assert!(!banned.is_active);
        store.users.set_password_hash(&a.id, "h2").await.unwrap();
        let reread = store.users.by_id(&a.id).await.unwrap().unwrap();
        assert_eq!(reread.password_hash, "h2");
        assert!(!reread.is_active);
    }
}

#[tokio::test]
async fn users_list_in_creation_order_with_total() {
    for (store, _dir) in backends().await {
        let mut ids = Vec::new();
        for i in 0..5 {
            ids.push(
                store
                    .users
                    .create(new_user(&format!("u{i}x")))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let (page, total) = store.users.list(2, 1).await.unwrap();
        assert_eq!(total, 5);
        let got: Vec<_> = page.into_iter().map(|u| u.id).collect();
        assert_eq!(got, ids[1..3]);
    }
}

#[tokio::test]
async fn session_rotation_is_compare_and_swap() {
    for (store, _dir) in backends().await {
        let s = &store.sessions;
        s.create_session(session("s1", "u1", "j1")).await.unwrap();
        let later = now_millis() + Duration::days(2);

        assert!(s.rotate_session("s1", "j1", "j2", later).await.unwrap());
        assert!(!s.rotate_session("s1", "j1", "j3", later).await.unwrap());
        assert_eq!(s.session("s1").await.unwrap().unwrap().refresh_jti, "j2");
        assert!(!s
            .rotate_session("missing", "j1", "j2", later)
            .await
            .unwrap());

        s.revoke_session("s1").await.unwrap();
        assert!(s.session("s1").await.unwrap().unwrap().revoked);
        assert!(!s.rotate_session("s1", "j2", "j3", later).await.unwrap());
    }
}

#[tokio::test]
async fn revoking_a_users_sessions_spares_the_exception_and_other_users() {
    for (store, _dir) in backends().await {
        let s = &store.sessions;
        for (id, user) in [("a1", "ua"), ("a2", "ua"), ("a3", "ua"), ("b1", "ub")] {
            s.create_session(session(id, user, "j")).await.unwrap();
        }

        s.revoke_user_sessions("ua", Some("a2")).await.unwrap();

        let revoked =
            |id: &'static str| async move { s.session(id).await.unwrap().unwrap().revoked };
        assert!(revoked("a1").await && revoked("a3").await);
        assert!(!revoked("a2").await && !revoked("b1").await);
    }
}

pub(crate) fn photo(owner: &str, tags: &[&str]) -> PhotoRecord {
    let now = now_millis();
    PhotoRecord {
        id: new_id(),
        slug: crate::auth::jwt::random_id(),
        owner_id: owner.into(),
        owner_username: format!("{owner}_name"),
        description: "a photo".into(),
        tags: tags.iter().map(|t| t.to_string()).collect(),
        width: 10,
        height: 20,
        format: "png".into(),
        size_bytes: 123,
        media_key: "p/aa/key.png".into(),
        sha256: "ab".repeat(32),
        source_sha256: String::new(),
        meta: Default::default(),
        placeholder: None,
        created_at: now,
        updated_at: now,
        rating_sum: 0,
        rating_count: 0,
        comment_count: 0,
    }
}

#[tokio::test]
async fn photos_round_trip_and_keep_tag_and_owner_counts() {
    for (store, _dir) in backends().await {
        let repo = &store.photos;
        let a = photo("owner1", &["sea", "sky"]);
        let b = photo("owner1", &["sea"]);
        repo.insert_photo(a.clone()).await.unwrap();
        repo.insert_photo(b.clone()).await.unwrap();

        assert_eq!(repo.photo(&a.id).await.unwrap().unwrap(), a);
        assert_eq!(repo.photo_by_slug(&b.slug).await.unwrap().unwrap(), b);
        assert_eq!(repo.photo_count("owner1").await.unwrap(), 2);
        assert_eq!(repo.photo_count("nobody").await.unwrap(), 0);
        let (tags, total) = repo.tags("", 10, 0).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(
            tags,
            [
                TagCount {
                    name: "sea".into(),
                    photo_count: 2
                },
                TagCount {
                    name: "sky".into(),
                    photo_count: 1
                },
            ]
        );

        let later = now_millis() + Duration::seconds(1);
        let updated = repo
            .update_photo(
                &a.id,
                "new".into(),
                Some(vec!["sky".into(), "sun".into()]),
                later,
            )
            .await
            .unwrap();
        assert_eq!(
            (updated.description.as_str(), updated.updated_at),
            ("new", later)
        );
        let (tags, _) = repo.tags("s", 10, 0).await.unwrap();
        let counts: Vec<_> = tags
            .iter()
            .map(|t| (t.name.as_str(), t.photo_count))
            .collect();
        assert_eq!(counts, [("sea", 1), ("sky", 1), ("sun", 1)]);

        let removed = repo.delete_photo(&b.id, later).await.unwrap().unwrap();
        assert_eq!(removed.id, b.id);
        assert!(repo.delete_photo(&b.id, later).await.unwrap().is_none());
        assert!(repo.photo(&b.id).await.unwrap().is_none());
        // The tombstone keeps what the purge needs, until the purge removes it.
        let tombstone = repo.deletion(&b.id).await.unwrap().unwrap();
        assert_eq!((tombstone.photo, tombstone.requested_at), (removed, later));
        assert!(repo
            .deletions(later - Duration::seconds(1), 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(repo.deletions(later, 10).await.unwrap().len(), 1);
        repo.finish_deletion(&b.id).await.unwrap();
        assert!(repo.deletion(&b.id).await.unwrap().is_none());
        assert!(repo.deletions(later, 10).await.unwrap().is_empty());
        assert!(repo.photo_by_slug(&b.slug).await.unwrap().is_none());
        assert_eq!(repo.photo_count("owner1").await.unwrap(), 1);
        let (tags, total) = repo.tags("se", 10, 0).await.unwrap();
        assert_eq!((tags.len(), total), (0, 0), "sea has no photos left");
        let missing = repo.update_photo(&b.id, "x".into(), None, later).await;
        assert!(matches!(missing, Err(StoreError::NotFound)));
    }
}

#[tokio::test]
async fn blocklist_holds_entries_until_they_expire() {
    for (store, _dir) in backends().await {
        let bl = &store.blocklist;
        let now = now_millis();
        bl.block("old", now - Duration::seconds(5)).await.unwrap();
        bl.block("live", now + Duration::minutes(5)).await.unwrap();
        bl.block("live", now + Duration::minutes(5)).await.unwrap();

        assert!(bl.is_blocked("live").await.unwrap());
        assert!(!bl.is_blocked("never").await.unwrap());
        assert!(bl.purge_expired(now).await.unwrap() <= 1);
        assert!(!bl.is_blocked("old").await.unwrap());
        assert!(bl.is_blocked("live").await.unwrap());
        store.health.ping().await.unwrap();
    }
}

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

pub(crate) fn link(photo: &PhotoRecord, transformation: &str) -> LinkRecord {
    LinkRecord {
        id: new_id(),
        photo_id: photo.id.clone(),
        owner_id: photo.owner_id.clone(),
        transformation: transformation.into(),
        slug: crate::auth::jwt::random_id(),
        status: LinkStatus::Pending,
        error: None,
        attempts: 0,
        output: None,
        created_at: now_millis(),
        completed_at: None,
        request_id: Some("req-1".into()),
    }
}

fn output(key: &str) -> LinkOutput {
    LinkOutput {
        media_key: format!("t/{key}.jpg"),
        format: "jpeg".into(),
        width: 10,
        height: 5,
        size_bytes: 321,
        sha256: "cd".repeat(32),
        qr_key: format!("t/{key}.qr.png"),
        url: None,
    }
}

#[tokio::test]
async fn links_are_one_per_transformation_and_finish_exactly_once() {
    for (store, _dir) in backends().await {
        let b = store.backend;
        let p = photo("owner1", &[]);
        store.photos.insert_photo(p.clone()).await.unwrap();
        let first = link(&p, "c_fill,h_10,w_10");
        let (stored, created) = store.links.create_link(first.clone()).await.unwrap();
        assert!(created, "{b}");
        assert_eq!(stored, first);
        let (again, created) = store
            .links
            .create_link(link(&p, "c_fill,h_10,w_10"))
            .await
            .unwrap();
        assert!(!created, "{b}: the same transformation is the same link");
        assert_eq!(again.id, first.id);
        let second = link(&p, "e_grayscale");
        store.links.create_link(second.clone()).await.unwrap();
        let orphan = link(&photo("x", &[]), "w_1");
        assert!(matches!(
            store.links.create_link(orphan).await,
            Err(StoreError::NotFound)
        ));

        assert_eq!(
            store
                .links
                .link_by_slug(&first.slug)
                .await
                .unwrap()
                .unwrap(),
            first
        );
        let (page, total) = store.links.links(&p.id, 10, 0).await.unwrap();
        assert_eq!(total, 2);
        assert_eq!(page, [first.clone(), second.clone()], "{b}: oldest first");
        let counts = store.links.link_counts().await.unwrap();
        assert_eq!((counts.pending, counts.done, counts.failed), (2, 0, 0));
        let owner = &first.owner_id;
        assert_eq!(store.links.pending_count(owner).await.unwrap(), 2, "{b}");
        assert_eq!(store.links.pending_count("someone-else").await.unwrap(), 0);
        let later = now_millis() + Duration::seconds(5);
        assert_eq!(store.links.pending_links(later, 10).await.unwrap().len(), 2);
        let earlier = now_millis() - Duration::seconds(60);
        assert!(store
            .links
            .pending_links(earlier, 10)
            .await
            .unwrap()
            .is_empty());

        assert_eq!(store.links.count_attempt(&first.id).await.unwrap(), 1);
        assert_eq!(store.links.count_attempt(&first.id).await.unwrap(), 2);
        let at = now_millis();
        let done = LinkOutcome::Done(output("a"));
        assert!(store
            .links
            .finish_link(&first.id, done.clone(), at)
            .await
            .unwrap());
        assert!(
            !store.links.finish_link(&first.id, done, at).await.unwrap(),
            "{b}: a finished link does not finish twice"
        );
        let failed = LinkOutcome::Failed("poison".into());
        assert!(!store
            .links
            .finish_link(&first.id, failed.clone(), at)
            .await
            .unwrap());
        assert!(store
            .links
            .finish_link(&second.id, failed, at)
            .await
            .unwrap());
        let finished = store.links.link(&first.id).await.unwrap().unwrap();
        assert_eq!(
            (finished.status, finished.attempts, finished.completed_at),
            (LinkStatus::Done, 2, Some(at))
        );
        assert_eq!(finished.output, Some(output("a")));
        let failed = store.links.link(&second.id).await.unwrap().unwrap();
        assert_eq!(
            (failed.status, failed.error.as_deref()),
            (LinkStatus::Failed, Some("poison"))
        );
        let counts = store.links.link_counts().await.unwrap();
        assert_eq!(
            (counts.pending, counts.done, counts.failed),
            (0, 1, 1),
            "{b}"
        );
        assert_eq!(store.links.pending_count(&first.owner_id).await.unwrap(), 0);
        assert!(store
            .links
            .pending_links(later, 10)
            .await
            .unwrap()
            .is_empty());

        let removed = store.links.delete_link(&second.id).await.unwrap().unwrap();
        assert_eq!(removed.id, second.id);
        assert!(store.links.delete_link(&second.id).await.unwrap().is_none());
        // Deleting a link hands it back as it was, with the files to remove.
        let gone = store.links.delete_link(&first.id).await.unwrap().unwrap();
        assert_eq!(gone.media_keys(), ["t/a.jpg", "t/a.qr.png"], "{b}");
        assert!(store.links.link(&first.id).await.unwrap().is_none());
        assert_eq!(
            store.links.link_counts().await.unwrap(),
            LinkCounts::default()
        );
    }
}

#[tokio::test]
async fn jobs_page_newest_first_and_only_a_failed_link_is_retried() {
    for (store, _dir) in backends().await {
        let b = store.backend;
        let p = photo("owner1", &[]);
        store.photos.insert_photo(p.clone()).await.unwrap();
        let links: Vec<LinkRecord> = ["w_1", "w_2", "w_3"].map(|t| link(&p, t)).into();
        for l in &links {
            store.links.create_link(l.clone()).await.unwrap();
        }
        let ids = |page: &[LinkRecord]| page.iter().map(|l| l.id.clone()).collect::<Vec<_>>();
        let (page, total) = store.links.jobs(None, 2, 0).await.unwrap();
        assert_eq!(
            (ids(&page), total),
            (vec![links[2].id.clone(), links[1].id.clone()], 3),
            "{b}"
        );
        let at = now_millis();
        let done = LinkOutcome::Done(output("j"));
        store
            .links
            .finish_link(&links[0].id, done, at)
            .await
            .unwrap();
        let failed = LinkOutcome::Failed("gone".into());
        store.links.count_attempt(&links[1].id).await.unwrap();
        store
            .links
            .finish_link(&links[1].id, failed, at)
            .await
            .unwrap();
        let of = |s| store.links.jobs(Some(s), 10, 0);
        let (page, total) = of(LinkStatus::Failed).await.unwrap();
        assert_eq!((ids(&page), total), (vec![links[1].id.clone()], 1), "{b}");
        let (page, total) = of(LinkStatus::Pending).await.unwrap();
        assert_eq!((ids(&page), total), (vec![links[2].id.clone()], 1), "{b}");
        assert_eq!(of(LinkStatus::Done).await.unwrap().1, 1);
        let since = at - Duration::seconds(1);
        assert_eq!(store.links.done_since(since).await.unwrap(), [at], "{b}");
        let after = at + Duration::seconds(1);
        assert!(store.links.done_since(after).await.unwrap().is_empty());

        // Done and pending links are not retried; a failed one goes back to pending.
        for l in [&links[0], &links[2]] {
            assert!(
                store.links.retry_link(&l.id).await.unwrap().is_none(),
                "{b}"
            );
        }
        assert!(matches!(
            store.links.retry_link(&new_id()).await,
            Err(StoreError::NotFound)
        ));
        let retried = store.links.retry_link(&links[1].id).await.unwrap().unwrap();
        assert_eq!(
            (
                retried.status,
                retried.attempts,
                retried.error,
                retried.completed_at
            ),
            (LinkStatus::Pending, 0, None, None),
            "{b}"
        );
        assert!(store
            .links
            .retry_link(&links[1].id)
            .await
            .unwrap()
            .is_none());
        let counts = store.links.link_counts().await.unwrap();
        assert_eq!(
            (counts.pending, counts.done, counts.failed),
            (2, 1, 0),
            "{b}"
        );
        let (page, _) = of(LinkStatus::Pending).await.unwrap();
        assert_eq!(
            ids(&page),
            [links[2].id.clone(), links[1].id.clone()],
            "{b}"
        );
        assert!(of(LinkStatus::Failed).await.unwrap().0.is_empty());
        let later = now_millis() + Duration::seconds(5);
        assert_eq!(
            store.links.pending_links(later, 10).await.unwrap().len(),
            2,
            "{b}"
        );

        store.links.delete_link(&links[0].id).await.unwrap();
        assert!(
            store.links.done_since(since).await.unwrap().is_empty(),
            "{b}"
        );
        assert_eq!(store.links.jobs(None, 10, 0).await.unwrap().1, 2);
    }
}

#[tokio::test]
async fn users_with_a_username_prefix_in_username_order() {
    for (store, _dir) in backends().await {
        for name in ["Carla.x", "carlos", "Carmen", "bob_carl", "car"] {
            store.users.create(new_user(name)).await.unwrap();
        }
        let names =
            |page: Vec<UserRecord>| page.into_iter().map(|u| u.username).collect::<Vec<_>>();
        let (page, total) = store.users.with_prefix("carl", 10, 0).await.unwrap();
        assert_eq!(
            (names(page), total),
            (vec!["Carla.x".into(), "carlos".into()], 2)
        );
        let (page, total) = store.users.with_prefix("car", 2, 1).await.unwrap();
        assert_eq!(
            (names(page), total),
            (vec!["Carla.x".into(), "carlos".into()], 4)
        );
        // A prefix, not a pattern.
        assert_eq!(store.users.with_prefix("c.", 10, 0).await.unwrap().1, 0);
        assert_eq!(store.users.with_prefix("carla.", 10, 0).await.unwrap().1, 1);
    }
}
