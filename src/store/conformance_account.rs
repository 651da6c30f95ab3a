//! Share links and an account's deletion on both backends: tokens found by their
//! hash, revocation, links going with their album; the deletion mark, the walks
//! over what an author wrote, and what `forget_user` and `delete_user` leave.

use super::albums::*;
use super::conformance::{backends, new_user, photo};
use super::social::*;
use super::*;

fn album(owner: &str) -> AlbumRecord {
    let now = now_millis();
    AlbumRecord {
        id: new_id(),
        owner_id: owner.into(),
        owner_username: owner.into(),
        title: "t".into(),
        description: None,
        visibility: Visibility::Private,
        cover_photo_id: None,
        photo_ids: Vec::new(),
        created_at: now,
        updated_at: now,
        version: 0,
    }
}

fn share(album: &AlbumRecord, token: &str) -> ShareRecord {
    ShareRecord {
        id: new_id(),
        album_id: album.id.clone(),
        owner_id: album.owner_id.clone(),
        token_hash: ShareRecord::hash_token(token),
        password_hash: None,
        expires_at: None,
        revoked_at: None,
        created_at: now_millis(),
    }
}

#[tokio::test]
async fn share_links_are_found_by_token_hash_revoked_once_and_go_with_their_album() {
    for (store, _dir) in backends().await {
        let b = store.backend;
        let albums = &store.albums;
        let (a, other) = (album("o"), album("o"));
        albums.create_album(a.clone()).await.unwrap();
        albums.create_album(other.clone()).await.unwrap();
        let (s1, s2, s3) = (share(&a, "t1"), share(&a, "t2"), share(&other, "t3"));
        for s in [&s1, &s2, &s3] {
            albums.create_share(s.clone()).await.unwrap();
        }
        let found = albums.share_by_token(&ShareRecord::hash_token("t2")).await;
        assert_eq!(found.unwrap().as_ref(), Some(&s2), "{b}");
        assert!(
            albums.share_by_token("nope").await.unwrap().is_none(),
            "{b}"
        );

        let (page, total) = albums.shares_of(&a.id, 10, 0).await.unwrap();
        let ids: Vec<&str> = page.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(
            (ids, total),
            (vec![s2.id.as_str(), s1.id.as_str()], 2),
            "{b}"
        );

        assert!(
            albums.revoke_share(&s1.id, now_millis()).await.unwrap(),
            "{b}"
        );
        assert!(
            !albums.revoke_share(&s1.id, now_millis()).await.unwrap(),
            "{b}: once"
        );
        let revoked = albums.share(&s1.id).await.unwrap().unwrap();
        assert!(revoked.is_gone(now_millis()), "{b}");
        let (page, total) = albums.shares_of(&a.id, 10, 0).await.unwrap();
        assert_eq!(
            (page.len(), total),
            (1, 1),
            "{b}: revoked links are not listed"
        );

        assert!(albums.delete_album(&a.id).await.unwrap());
        for token in ["t1", "t2"] {
            let hash = ShareRecord::hash_token(token);
            assert!(albums.share_by_token(&hash).await.unwrap().is_none(), "{b}");
        }
        assert!(albums.share(&s3.id).await.unwrap().is_some(), "{b}");
        assert_eq!(albums.delete_albums_of("o").await.unwrap(), 1, "{b}");
        assert!(albums.share(&s3.id).await.unwrap().is_none(), "{b}");
        assert!(albums.album(&other.id).await.unwrap().is_none(), "{b}");
    }
}

#[tokio::test]
async fn a_deleted_account_frees_its_name_and_leaves_no_follow_or_notification() {
    for (store, _dir) in backends().await {
        let b = store.backend;
        let ada = store.users.create(new_user("ada")).await.unwrap();
        let bob = store.users.create(new_user("bob")).await.unwrap();
        let carol = store.users.create(new_user("carol")).await.unwrap();
        let s = &store.social;
        s.follow(&ada, &bob, now_millis()).await.unwrap();
        s.follow(&bob, &ada, now_millis()).await.unwrap();
        s.follow(&carol, &ada, now_millis()).await.unwrap();
        s.follow(&carol, &bob, now_millis()).await.unwrap();
        let note = |user: &UserRecord, actor: &str| NotificationRecord {
            id: new_id(),
            user_id: user.id.clone(),
            kind: NotificationKind::Follow,
            actor_username: actor.into(),
            photo_id: None,
            created_at: now_millis(),
            read: false,
        };
        for n in [note(&ada, "bob"), note(&bob, "ada"), note(&bob, "carol")] {
            store.notifications.notify(n).await.unwrap();
        }
        let report = ReportRecord {
            id: new_id(),
            kind: ReportKind::Photo,
            object_id: "p".into(),
            reporter_id: ada.id.clone(),
            reporter_username: "ada".into(),
            reason: ReportReason::Spam,
            note: None,
            status: ReportStatus::Open,
            created_at: now_millis(),
            resolved_by: None,
            action: None,
        };
        store.reports.file_report(report.clone()).await.unwrap();

        let marked = store.users.begin_deletion(&ada.id).await.unwrap().unwrap();
        assert!(marked.deleting && !marked.is_active, "{b}");
        let pending = store.users.deletions_pending().await.unwrap();
        assert_eq!(pending.len(), 1, "{b}");
        assert!(store
            .users
            .begin_deletion("000000000000000000000000")
            .await
            .unwrap()
            .is_none());

        s.forget_user(&ada.id, "ada").await.unwrap();
        let counts = |u: &UserRecord| {
            let (s, id) = (s.clone(), u.id.clone());
            async move {
                let c = s.follow_counts(&id).await.unwrap();
                (c.followers, c.following)
            }
        };
        assert_eq!(
            counts(&bob).await,
            (1, 0),
            "{b}: carol follows bob, bob follows nobody"
        );
        assert_eq!(counts(&carol).await, (0, 1), "{b}");
        assert_eq!(counts(&ada).await, (0, 0), "{b}");
        assert_eq!(s.followers(&bob.id, 10, 0).await.unwrap().0, ["carol"]);
        let bobs = store
            .notifications
            .notifications(&bob.id, false, None, 10)
            .await
            .unwrap();
        let actors: Vec<&str> = bobs.iter().map(|n| n.actor_username.as_str()).collect();
        assert_eq!(actors, ["carol"], "{b}: ada's notification to bob is gone");
        let adas = store
            .notifications
            .notifications(&ada.id, false, None, 10)
            .await
            .unwrap();
        assert!(adas.is_empty(), "{b}");
        assert!(
            store.reports.report(&report.id).await.unwrap().is_none(),
            "{b}"
        );
        let mut again = report.clone();
        again.id = new_id();
        again.reporter_id = carol.id.clone();
        store.reports.file_report(again).await.unwrap();
        s.forget_user(&ada.id, "ada").await.unwrap();

        assert!(store.users.delete_user(&ada.id).await.unwrap(), "{b}");
        assert!(
            !store.users.delete_user(&ada.id).await.unwrap(),
            "{b}: once"
        );
        assert!(store.users.by_id(&ada.id).await.unwrap().is_none());
        assert!(
            store.users.deletions_pending().await.unwrap().is_empty(),
            "{b}"
        );
        let reborn = store.users.create(new_user("ada")).await;
        assert!(reborn.is_ok(), "{b}: the name and email are free again");
    }
}

#[tokio::test]
async fn an_authors_comments_and_ratings_are_walked_in_id_order() {
    for (store, _dir) in backends().await {
        let b = store.backend;
        let p = photo("owner", &[]);
        store.photos.insert_photo(p.clone()).await.unwrap();
        let mut mine = Vec::new();
        for i in 0..5 {
            let author = if i % 2 == 0 { "me" } else { "you" };
            let c = CommentRecord {
                id: new_id(),
                photo_id: p.id.clone(),
                author_id: author.into(),
                author_username: author.into(),
                text: format!("c{i}"),
                created_at: now_millis(),
                updated_at: now_millis(),
            };
            store.comments.add_comment(c.clone()).await.unwrap();
            if author == "me" {
                mine.push(c.id);
            }
        }
        let first = store.comments.comments_by("me", "", 2).await.unwrap();
        let ids: Vec<String> = first.iter().map(|c| c.id.clone()).collect();
        assert_eq!(ids, mine[..2], "{b}");
        let rest = store.comments.comments_by("me", &ids[1], 10).await.unwrap();
        assert_eq!(rest.len(), 1, "{b}");
        assert_eq!(rest[0].id, mine[2], "{b}");

        for user in ["me", "you"] {
            let r = RatingRecord {
                id: new_id(),
                photo_id: p.id.clone(),
                user_id: user.into(),
                username: user.into(),
                stars: 4,
                created_at: now_millis(),
            };
            store.ratings.add_rating(r).await.unwrap();
        }
        let rated = store.ratings.ratings_by("me", "", 10).await.unwrap();
        assert_eq!(rated.len(), 1, "{b}");
        assert_eq!(rated[0].user_id, "me", "{b}");
        assert!(store
            .ratings
            .ratings_by("nobody", "", 10)
            .await
            .unwrap()
            .is_empty());
    }
}

#[tokio::test]
async fn an_owner_has_each_original_once_and_a_deletion_frees_it() {
    for (store, _dir) in backends().await {
        let b = store.backend;
        let photos = &store.photos;
        let mut first = photo("ada", &[]);
        first.source_sha256 = "aa".repeat(32);
        photos.insert_photo(first.clone()).await.unwrap();
        let mut again = photo("ada", &[]);
        again.source_sha256 = first.source_sha256.clone();
        let refused = photos.insert_photo(again.clone()).await;
        assert!(
            matches!(refused, Err(StoreError::Conflict("original"))),
            "{b}: {refused:?}"
        );
        assert!(
            photos.photo(&again.id).await.unwrap().is_none(),
            "{b}: nothing stored"
        );
        let mut bobs = photo("bob", &[]);
        bobs.source_sha256 = first.source_sha256.clone();
        photos.insert_photo(bobs).await.unwrap();
        // Photos from before duplicates were detected have no original's hash.
        photos.insert_photo(photo("ada", &[])).await.unwrap();
        photos.insert_photo(photo("ada", &[])).await.unwrap();

        let asked = [first.source_sha256.clone(), "bb".repeat(32)];
        let found = photos.originals("ada", &asked).await.unwrap();
        assert_eq!(
            found,
            [(first.source_sha256.clone(), first.id.clone())],
            "{b}"
        );
        photos.delete_photo(&first.id, now_millis()).await.unwrap();
        assert!(
            photos.originals("ada", &asked).await.unwrap().is_empty(),
            "{b}"
        );
        photos.insert_photo(again).await.unwrap();
    }
}
