//! One suite, both backends: the embedded store always, MongoDB when
//! `PHOTOSHARE_TEST_MONGODB_URI` is set (each run in a database of its own).

use chrono::Duration;

use super::*;

async fn backends() -> Vec<(Store, Option<tempfile::TempDir>)> {
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

fn new_user(name: &str) -> NewUser {
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

fn photo(owner: &str, tags: &[&str]) -> PhotoRecord {
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

        let removed = repo.delete_photo(&b.id).await.unwrap().unwrap();
        assert_eq!(removed.id, b.id);
        assert!(repo.delete_photo(&b.id).await.unwrap().is_none());
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
