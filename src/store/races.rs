//! Integrity under concurrency, both backends: writes raced against each other and
//! against a photo's deletion leave every count equal to what it counts and nothing
//! behind the deleted photo. Each found a real bug of the MongoDB backend before it
//! used transactions.

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::{rngs::StdRng, Rng, SeedableRng};

use super::conformance::{backends, link, new_user, photo};
use super::*;

/// What `tags` reports, and what the photos carry, tag by tag.
async fn tag_counts(store: &Store, ids: &[String]) -> (Vec<(String, u64)>, Vec<(String, u64)>) {
    let (listed, _) = store.photos.tags("", 100, 0).await.unwrap();
    let listed = listed
        .into_iter()
        .map(|t| (t.name, t.photo_count))
        .collect();
    let mut carried = BTreeMap::new();
    for id in ids {
        if let Some(p) = store.photos.photo(id).await.unwrap() {
            for t in p.tags {
                *carried.entry(t).or_insert(0u64) += 1;
            }
        }
    }
    (listed, carried.into_iter().collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_tag_edits_and_deletions_keep_every_tag_count_exact() {
    const TAGS: [&str; 5] = ["a", "b", "c", "d", "e"];
    for (store, _dir) in backends().await {
        let b = store.backend;
        let mut ids = Vec::new();
        for i in 0..4 {
            let p = photo("owner", &TAGS[i..i + 2]);
            store.photos.insert_photo(p.clone()).await.unwrap();
            ids.push(p.id);
        }
        let mut tasks = Vec::new();
        for task in 0..40u64 {
            let (store, ids) = (store.clone(), ids.clone());
            tasks.push(tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(task);
                // Most edits go to the first two photos, so they collide.
                let id = &ids[if task % 8 == 7 {
                    3
                } else {
                    (task % 2) as usize
                }];
                if task == 20 {
                    // One of the photos is deleted in the middle of its edits.
                    store
                        .photos
                        .delete_photo(&ids[1], now_millis())
                        .await
                        .unwrap();
                    return;
                }
                let tags: Vec<String> = TAGS
                    .iter()
                    .filter(|_| rng.gen_bool(0.5))
                    .map(|t| t.to_string())
                    .collect();
                let edited = store
                    .photos
                    .update_photo(id, "edited".into(), Some(tags), now_millis())
                    .await;
                assert!(
                    matches!(edited, Ok(_) | Err(StoreError::NotFound)),
                    "{edited:?}"
                );
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let (listed, carried) = tag_counts(&store, &ids).await;
        assert_eq!(
            listed, carried,
            "{b}: tag counts are the photos carrying them"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn records_written_while_a_photo_is_deleted_do_not_outlive_it() {
    for (store, _dir) in backends().await {
        let b = store.backend;
        for round in 0..4u64 {
            let p = photo("owner", &["x"]);
            store.photos.insert_photo(p.clone()).await.unwrap();
            let p = Arc::new(p);
            let mut tasks = Vec::new();
            for i in 0..36u64 {
                let (store, p) = (store.clone(), p.clone());
                tasks.push(tokio::spawn(async move {
                    let user = format!("user{i}");
                    let result = match i % 3 {
                        0 => {
                            let c = CommentRecord {
                                id: new_id(),
                                photo_id: p.id.clone(),
                                author_id: user.clone(),
                                author_username: user,
                                text: "hi".into(),
                                created_at: now_millis(),
                                updated_at: now_millis(),
                            };
                            store.comments.add_comment(c).await
                        }
                        1 => {
                            let r = RatingRecord {
                                id: new_id(),
                                photo_id: p.id.clone(),
                                user_id: user.clone(),
                                username: user,
                                stars: 4,
                                created_at: now_millis(),
                            };
                            store.ratings.add_rating(r).await
                        }
                        _ => store
                            .links
                            .create_link(link(&p, &format!("w_{}", 10 + i)))
                            .await
                            .map(drop),
                    };
                    assert!(
                        matches!(result, Ok(()) | Err(StoreError::NotFound)),
                        "{result:?}"
                    );
                }));
            }
            // The deletion and its purge, as the purge job runs them, in the midst.
            let deleter = {
                let (store, p) = (store.clone(), p.clone());
                tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(2 * round)).await;
                    store
                        .photos
                        .delete_photo(&p.id, now_millis())
                        .await
                        .unwrap();
                    for dependent in &store.photo_dependents {
                        dependent.remove_for_photo(&p.id).await.unwrap();
                    }
                    let (links, _) = store.links.links(&p.id, 100, 0).await.unwrap();
                    for l in links {
                        store.links.delete_link(&l.id).await.unwrap();
                    }
                })
            };
            for t in tasks {
                t.await.unwrap();
            }
            deleter.await.unwrap();
            let (_, comments) = store.comments.comments(&p.id, 1, 0).await.unwrap();
            let (_, ratings) = store.ratings.ratings(&p.id, 1, 0).await.unwrap();
            let (_, links) = store.links.links(&p.id, 1, 0).await.unwrap();
            assert_eq!(
                (comments, ratings, links),
                (0, 0, 0),
                "{b}, round {round}: left behind by the deleted photo"
            );
            for i in (0..36).step_by(3) {
                let n = store.comments.comment_count_by(&format!("user{i}")).await;
                assert_eq!(n.unwrap(), 0, "{b}: an author's count of comments");
            }
        }
    }
}

#[tokio::test]
async fn email_keys_fold_case_the_way_unicode_does() {
    for (store, _dir) in backends().await {
        let b = store.backend;
        let mut first = new_user("sigma1");
        first.email = "ΑΣ@example.com".into();
        let first = store.users.create(first).await.unwrap();
        // Final sigma, small sigma, decomposed accents: one address each time.
        for (name, email) in [("sigma2", "ας@example.com"), ("sigma3", "ασ@EXAMPLE.com")] {
            let mut u = new_user(name);
            u.email = email.into();
            let taken = store.users.create(u).await;
            assert!(
                matches!(taken, Err(StoreError::Conflict("email"))),
                "{b}: {email}: {taken:?}"
            );
        }
        let found = store
            .users
            .by_email(&crate::domain::email_key("Ας@Example.COM"))
            .await
            .unwrap();
        assert_eq!(found.map(|u| u.id), Some(first.id), "{b}");
        let mut accent = new_user("accent1");
        accent.email = "Jos\u{e9}@example.com".into();
        store.users.create(accent).await.unwrap();
        let mut decomposed = new_user("accent2");
        decomposed.email = "jose\u{301}@example.com".into();
        let taken = store.users.create(decomposed).await;
        assert!(matches!(taken, Err(StoreError::Conflict("email"))), "{b}");
    }
}
