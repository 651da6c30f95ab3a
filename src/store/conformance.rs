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
