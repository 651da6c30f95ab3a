//! The social store on both backends: follows and their counts, the feed's merge and
//! cursor, notifications, reports.

use chrono::Duration;

use super::albums::*;
use super::conformance::{backends, new_user, photo};
use super::social::*;
use super::*;

async fn users(store: &Store, names: &[&str]) -> Vec<UserRecord> {
    let mut out = Vec::new();
    for name in names {
        out.push(store.users.create(new_user(name)).await.unwrap());
    }
    out
}

#[tokio::test]
async fn follows_are_idempotent_counted_and_paged_by_username() {
    for (store, _dir) in backends().await {
        let u = users(&store, &["ada", "Bob", "carol", "dan"]).await;
        let s = &store.social;
        assert!(s.follow(&u[1], &u[0], now_millis()).await.unwrap());
        assert!(!s.follow(&u[1], &u[0], now_millis()).await.unwrap());
        assert!(s.follow(&u[3], &u[0], now_millis()).await.unwrap());
        assert!(s.follow(&u[2], &u[0], now_millis()).await.unwrap());
        assert!(s.follow(&u[0], &u[2], now_millis()).await.unwrap());
        let counts = s.follow_counts(&u[0].id).await.unwrap();
        assert_eq!(
            (counts.followers, counts.following),
            (3, 1),
            "{}",
            store.backend
        );
        let (page, total) = s.followers(&u[0].id, 2, 0).await.unwrap();
        assert_eq!((page, total), (vec!["Bob".to_owned(), "carol".into()], 3));
        let (page, _) = s.followers(&u[0].id, 2, 2).await.unwrap();
        assert_eq!(page, ["dan"]);
        assert_eq!(s.following(&u[0].id, 10, 0).await.unwrap().0, ["carol"]);

        assert!(s.unfollow(&u[1].id, &u[0].id).await.unwrap());
        assert!(!s.unfollow(&u[1].id, &u[0].id).await.unwrap());
        let counts = s.follow_counts(&u[0].id).await.unwrap();
        assert_eq!(counts.followers, 2);
        assert_eq!(s.follow_counts(&u[1].id).await.unwrap().following, 0);
        assert_eq!(
            s.followers(&u[0].id, 10, 0).await.unwrap().0,
            ["carol", "dan"]
        );
    }
}

#[tokio::test]
async fn the_feed_merges_followed_accounts_newest_first_and_its_cursor_holds() {
    for (store, _dir) in backends().await {
        let u = users(&store, &["reader", "a", "b", "stranger"]).await;
        store
            .social
            .follow(&u[0], &u[1], now_millis())
            .await
            .unwrap();
        store
            .social
            .follow(&u[0], &u[2], now_millis())
            .await
            .unwrap();
        let start = now_millis() - Duration::hours(1);
        let mut expected = Vec::new();
        // Interleaved owners, two photos sharing a millisecond (ties go by id).
        for (i, owner) in [1, 2, 1, 3, 2, 2, 1].into_iter().enumerate() {
            let mut p = photo(&u[owner].id, &[]);
            p.created_at = start + Duration::seconds(i as i64 / 2 * 2);
            store.photos.insert_photo(p.clone()).await.unwrap();
            if owner != 3 {
                expected.push(p);
            }
        }
        expected.sort_by(|a, b| (b.created_at, &b.id).cmp(&(a.created_at, &a.id)));
        let want: Vec<&str> = expected.iter().map(|p| p.id.as_str()).collect();

        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = store
                .social
                .feed(&u[0].id, cursor.as_ref(), 2)
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            cursor = page.last().map(FeedCursor::after);
            seen.extend(page.into_iter().map(|p| p.id));
            // An upload between pages is newer than the cursor: no repeat, no skip.
            store
                .photos
                .insert_photo(photo(&u[1].id, &[]))
                .await
                .unwrap();
        }
        assert_eq!(seen, want, "{}", store.backend);
        assert!(store
            .social
            .feed(&u[3].id, None, 10)
            .await
            .unwrap()
            .is_empty());
    }
}

fn note(user: &str, kind: NotificationKind) -> NotificationRecord {
    NotificationRecord {
        id: new_id(),
        user_id: user.into(),
        kind,
        actor_username: "someone".into(),
        photo_id: None,
        created_at: now_millis(),
        read: false,
    }
}

#[tokio::test]
async fn notifications_page_newest_first_and_only_their_owner_marks_them() {
    for (store, _dir) in backends().await {
        let n = &store.notifications;
        let mut ids = Vec::new();
        for kind in [
            NotificationKind::Follow,
            NotificationKind::Comment,
            NotificationKind::Rating,
        ] {
            let rec = note("u1", kind);
            ids.push(rec.id.clone());
            n.notify(rec).await.unwrap();
        }
        n.notify(note("u2", NotificationKind::Follow))
            .await
            .unwrap();
        let page = n.notifications("u1", false, None, 2).await.unwrap();
        let got: Vec<&str> = page.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(got, [ids[2].as_str(), ids[1].as_str()], "{}", store.backend);
        let rest = n
            .notifications("u1", false, Some(&ids[1]), 2)
            .await
            .unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(rest[0].kind, NotificationKind::Follow);

        // Someone else's id changes nothing.
        let theirs = n.notifications("u2", false, None, 5).await.unwrap()[0]
            .id
            .clone();
        assert_eq!(
            n.mark_read("u1", Some(&[ids[0].clone(), theirs]))
                .await
                .unwrap(),
            1
        );
        let unread = n.notifications("u1", true, None, 10).await.unwrap();
        assert_eq!(unread.len(), 2);
        assert!(unread.iter().all(|r| !r.read));
        assert_eq!(n.mark_read("u1", None).await.unwrap(), 2);
        assert!(n
            .notifications("u1", true, None, 10)
            .await
            .unwrap()
            .is_empty());
        assert_eq!(
            n.notifications("u2", true, None, 10).await.unwrap().len(),
            1
        );
    }
}

fn report(reporter: &str, object: &str) -> ReportRecord {
    ReportRecord {
        id: new_id(),
        kind: ReportKind::Photo,
        object_id: object.into(),
        reporter_id: reporter.into(),
        reporter_username: format!("{reporter}_name"),
        reason: ReportReason::Spam,
        note: None,
        status: ReportStatus::Open,
        created_at: now_millis(),
        resolved_by: None,
        action: None,
    }
}

#[tokio::test]
async fn one_open_report_per_reporter_and_remove_resolves_them_all() {
    for (store, _dir) in backends().await {
        let r = &store.reports;
        let first = report("u1", "p1");
        r.file_report(first.clone()).await.unwrap();
        assert!(matches!(
            r.file_report(report("u1", "p1")).await,
            Err(StoreError::Conflict("report"))
        ));
        let second = report("u2", "p1");
        r.file_report(second.clone()).await.unwrap();
        let elsewhere = report("u1", "p2");
        r.file_report(elsewhere.clone()).await.unwrap();
        let (open, total) = r.reports(Some(ReportStatus::Open), 10, 0).await.unwrap();
        assert_eq!(total, 3, "{}", store.backend);
        assert_eq!(open[0].id, elsewhere.id, "newest first");

        // Dismiss resolves one; the reporter may then report again.
        let done = r
            .resolve_reports(&elsewhere.id, "mod", ReportAction::Dismiss)
            .await
            .unwrap();
        let Resolved::Now(done) = done else {
            panic!("{done:?}")
        };
        assert_eq!(
            (done.status, done.resolved_by.as_deref(), done.action),
            (
                ReportStatus::Resolved,
                Some("mod"),
                Some(ReportAction::Dismiss)
            )
        );
        r.file_report(report("u1", "p2")).await.unwrap();

        // Remove resolves every open report on the object.
        let removed = r
            .resolve_reports(&first.id, "mod", ReportAction::Remove)
            .await
            .unwrap();
        assert!(matches!(removed, Resolved::Now(_)));
        let again = r
            .resolve_reports(&second.id, "other", ReportAction::Dismiss)
            .await
            .unwrap();
        let Resolved::Already(again) = again else {
            panic!("{again:?}")
        };
        assert_eq!(again.action, Some(ReportAction::Remove));
        assert_eq!(again.resolved_by.as_deref(), Some("mod"));
        let (_, open) = r.reports(Some(ReportStatus::Open), 10, 0).await.unwrap();
        assert_eq!(open, 1);
        assert_eq!(r.reports(None, 10, 0).await.unwrap().1, 4);
        assert!(matches!(
            r.resolve_reports(&new_id(), "mod", ReportAction::Dismiss)
                .await
                .unwrap(),
            Resolved::NotFound
        ));
    }
}

#[tokio::test]
async fn albums_change_by_version_and_lose_a_deleted_photo_everywhere() {
    for (store, _dir) in backends().await {
        let b = store.backend;
        let now = now_millis();
        let album = |owner: &str, visibility| AlbumRecord {
            id: new_id(),
            owner_id: owner.into(),
            owner_username: owner.into(),
            title: "t".into(),
            description: None,
            visibility,
            cover_photo_id: None,
            photo_ids: vec!["p1".into(), "p2".into()],
            created_at: now,
            updated_at: now,
            version: 0,
        };
        let (a, c) = (
            album("o", Visibility::Private),
            album("o", Visibility::Public),
        );
        let other = album("x", Visibility::Public);
        for r in [&a, &c, &other] {
            store.albums.create_album(r.clone()).await.unwrap();
        }
        let mut next = a.clone();
        next.title = "new".into();
        next.version = 1;
        assert!(
            store.albums.replace_album(next.clone(), 0).await.unwrap(),
            "{b}"
        );
        assert!(
            !store.albums.replace_album(next, 0).await.unwrap(),
            "{b}: stale"
        );
        let (all, total) = store.albums.albums_of("o", true, 10, 0).await.unwrap();
        let got: Vec<&str> = all.iter().map(|r| r.id.as_str()).collect();
        assert_eq!((got, total), (vec![c.id.as_str(), a.id.as_str()], 2), "{b}");
        let (public, total) = store.albums.albums_of("o", false, 10, 0).await.unwrap();
        assert_eq!((public.len(), total), (1, 1), "{b}");

        store.albums.remove_photo_everywhere("p1").await.unwrap();
        for r in [&a, &c, &other] {
            let now = store.albums.album(&r.id).await.unwrap().unwrap();
            assert_eq!(now.photo_ids, ["p2"], "{b}");
            assert!(now.version > r.version, "{b}: a removal is a change");
        }
        assert!(store.albums.delete_album(&a.id).await.unwrap());
        assert!(!store.albums.delete_album(&a.id).await.unwrap());
        assert!(store.albums.album(&a.id).await.unwrap().is_none());
    }
}
