//! `photoshare fsck [--fix]`: checks that what the database and the media store hold
//! agree with each other, on either backend. Every counter is recomputed from the
//! records it counts; every record that hangs off a photo must have its photo (or its
//! photo's tombstone); every deletion older than the grace period must have finished;
//! every stored file must belong to a record, and every record's file must exist.
//!
//! `--fix` finishes what can be finished (pending purges, orphan records and files)
//! and rewrites the counters and indexes from the records. Run it with the service
//! stopped, or at a quiet moment: a write racing the recount can be miscounted.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::actors::photo_store::{PurgeError, Purger};
use crate::media::{MediaError, MediaStore};
use crate::store::{Census, LinkStatus, Recount, Store, StoreError};

/// One disagreement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What kind (`photo_counts`, `tag_count`, `orphan_record`, `unfinished_deletion`,
    /// `missing_file`, `orphan_file`, or a backend counter's name).
    pub kind: &'static str,
    /// Which record, key or file.
    pub subject: String,
    pub detail: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.kind, self.subject, self.detail)
    }
}

#[derive(Debug, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    /// Why a check could not run (e.g. a media backend that does not list).
    pub skipped: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum FsckError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Media(#[from] MediaError),
    #[error(transparent)]
    Purge(#[from] PurgeError),
}

/// What fsck works on.
pub struct Fsck {
    pub store: Store,
    pub media: Arc<dyn MediaStore>,
    /// Deletions and files younger than this are work in flight, not findings.
    pub grace: Duration,
    /// First finish every queued deletion, as a restarted worker's sweeper would
    /// (`--resume`: data of a process that stopped with purges still queued).
    pub resume: bool,
}

impl Fsck {
    /// Checks, and with `fix` repairs and checks again: the report is of what is
    /// still wrong (or, without `fix`, of everything found).
    pub async fn run(&self, fix: bool) -> Result<Report, FsckError> {
        if self.resume {
            let purger = self.purger();
            let queued = self
                .store
                .photos
                .deletions(chrono::Utc::now(), u32::MAX)
                .await?;
            for d in queued {
                purger.purge(&d.photo.id).await?;
            }
        }
        let report = self.check().await?;
        if !fix || report.findings.is_empty() {
            return Ok(report);
        }
        self.repair(&report).await?;
        self.check().await
    }

    pub async fn check(&self) -> Result<Report, FsckError> {
        let census = self.store.integrity.census().await?;
        let expected = expected(&census);
        let mut report = Report::default();
        let found = &mut report.findings;
        for p in &census.photos {
            let want = expected.photos.get(&p.id).copied().unwrap_or_default();
            let have = (p.comment_count, p.rating_sum, p.rating_count);
            if have != want {
                found.push(Finding {
                    kind: "photo_counts",
                    subject: p.id.clone(),
                    detail: format!(
                        "(comments, star sum, ratings) stored {have:?}, counted {want:?}"
                    ),
                });
            }
        }
        differences("tag_count", &census.tags, &expected.tags, found);
        for (name, have) in &census.counters {
            if let Some(want) = expected.counters.get(name) {
                differences(name, have, want, found);
            }
        }
        let parents = parents(&census);
        for orphan in orphan_parents(&census, &parents) {
            found.push(Finding {
                kind: "orphan_record",
                subject: orphan,
                detail: "comments, ratings or links of a photo that does not exist".into(),
            });
        }
        let settled = chrono::Utc::now()
            - chrono::Duration::from_std(self.grace).unwrap_or(chrono::Duration::zero());
        for d in census.deletions.iter().filter(|d| d.requested_at < settled) {
            found.push(Finding {
                kind: "unfinished_deletion",
                subject: d.photo.id.clone(),
                detail: format!("deleted at {}, purge not finished", d.requested_at),
            });
        }
        for user in self.store.users.deletions_pending().await? {
            report.findings.push(Finding {
                kind: "unfinished_account_deletion",
                subject: user.id,
                detail: "an account's deletion was interrupted; `serve` finishes it at start"
                    .into(),
            });
        }
        self.check_files(&census, &mut report).await?;
        Ok(report)
    }

    async fn check_files(&self, census: &Census, report: &mut Report) -> Result<(), FsckError> {
        let Some(stored) = self.media.list().await? else {
            report.skipped.push(format!(
                "files: the {} media store cannot be listed",
                self.media.backend()
            ));
            return Ok(());
        };
        let stored: BTreeMap<String, SystemTime> = stored.into_iter().collect();
        let mut wanted = BTreeSet::new();
        let mut known = BTreeSet::new();
        for p in &census.photos {
            wanted.insert(p.media_key.clone());
        }
        for d in &census.deletions {
            known.insert(d.photo.media_key.clone());
            known.extend(crate::actors::photo_store::variant_keys(&d.photo.id));
        }
        // Display sizes are made on demand: each photo's may or may not be there;
        // so are the renders of its delivery URLs, under a folder of its own.
        let mut render_folders = BTreeSet::new();
        for p in &census.photos {
            known.extend(crate::actors::photo_store::variant_keys(&p.id));
            render_folders.insert(crate::actors::photo_store::delivery_prefix(&p.id));
        }
        for d in &census.deletions {
            render_folders.insert(crate::actors::photo_store::delivery_prefix(&d.photo.id));
        }
        // A job writes its files before it finishes its link: the files of a link
        // still pending (or failed) are known by its slug.
        let unfinished: BTreeSet<&str> = census
            .links
            .iter()
            .filter(|l| l.status != LinkStatus::Done)
            .map(|l| l.slug.as_str())
            .collect();
        // The files of a deleted photo's links may be gone already: its purge
        // removes them before the records.
        let deleted: BTreeSet<&str> = census
            .deletions
            .iter()
            .map(|d| d.photo.id.as_str())
            .collect();
        for l in &census.links {
            let keys = l.media_keys().into_iter();
            let local = l.output.as_ref().is_some_and(|o| o.url.is_none());
            if l.status == LinkStatus::Done && local && !deleted.contains(l.photo_id.as_str()) {
                wanted.extend(keys);
            } else {
                known.extend(keys);
            }
        }
        for key in &wanted {
            if !stored.contains_key(key) {
                report.findings.push(Finding {
                    kind: "missing_file",
                    subject: key.clone(),
                    detail: "a record needs it and it is not stored".into(),
                });
            }
        }
        let cutoff = SystemTime::now() - self.grace;
        for (key, modified) in &stored {
            let stem = key.rsplit('/').next().and_then(|f| f.split('.').next());
            let of_unfinished_link =
                key.starts_with("t/") && stem.is_some_and(|s| unfinished.contains(s));
            let rendered = key
                .match_indices('/')
                .nth(1)
                .is_some_and(|(i, _)| render_folders.contains(&key[..=i]));
            // Unfinished resumable uploads (media on S3) are the upload desk's:
            // its sweep removes them when they expire.
            let unfinished_upload =
                key.starts_with("partial-uploads/") || key.starts_with("finished-uploads/");
            if !wanted.contains(key)
                && !known.contains(key)
                && !unfinished_upload
                && !rendered
                && !of_unfinished_link
                && *modified <= cutoff
            {
                report.findings.push(Finding {
                    kind: "orphan_file",
                    subject: key.clone(),
                    detail: "no record refers to it".into(),
                });
            }
        }
        Ok(())
    }

    fn purger(&self) -> Purger {
        Purger {
            store: self.store.clone(),
            media: self.media.clone(),
        }
    }

    async fn repair(&self, report: &Report) -> Result<(), FsckError> {
        let purger = self.purger();
        let mut recount = false;
        for f in &report.findings {
            match f.kind {
                "unfinished_deletion" => {
                    purger.purge(&f.subject).await?;
                }
                "orphan_record" => {
                    // Only if the photo is still neither there nor being deleted.
                    let photos = &self.store.photos;
                    if photos.photo(&f.subject).await?.is_none()
                        && photos.deletion(&f.subject).await?.is_none()
                    {
                        purger.remove_records(&f.subject).await?;
                    }
                }
                "orphan_file" => self.media.delete(&f.subject).await?,
                "missing_file" | "unfinished_account_deletion" => {}
                _ => recount = true,
            }
        }
        // After the purges, which change what there is to count.
        if recount {
            let census = self.store.integrity.census().await?;
            self.store.integrity.recount(expected(&census)).await?;
        }
        Ok(())
    }
}

fn differences(
    kind: &'static str,
    have: &BTreeMap<String, u64>,
    want: &BTreeMap<String, u64>,
    found: &mut Vec<Finding>,
) {
    let keys: BTreeSet<&String> = have.keys().chain(want.keys()).collect();
    for key in keys {
        let (h, w) = (have.get(key).copied(), want.get(key).copied());
        if h.unwrap_or(0) != w.unwrap_or(0) {
            found.push(Finding {
                kind,
                subject: key.clone(),
                detail: format!("stored {}, counted {}", h.unwrap_or(0), w.unwrap_or(0)),
            });
        }
    }
}

/// Photo ids that records may hang off: live photos and tombstoned ones.
fn parents(census: &Census) -> BTreeSet<String> {
    let live = census.photos.iter().map(|p| p.id.clone());
    live.chain(census.deletions.iter().map(|d| d.photo.id.clone()))
        .collect()
}

fn orphan_parents(census: &Census, parents: &BTreeSet<String>) -> BTreeSet<String> {
    let comments = census.comments.iter().map(|c| &c.photo_id);
    let ratings = census.ratings.iter().map(|r| &r.photo_id);
    let links = census.links.iter().map(|l| &l.photo_id);
    comments
        .chain(ratings)
        .chain(links)
        .filter(|id| !parents.contains(*id))
        .cloned()
        .collect()
}

/// The counters as the records say they should be.
fn expected(census: &Census) -> Recount {
    let mut photos: BTreeMap<String, (u64, u64, u64)> = census
        .photos
        .iter()
        .map(|p| (p.id.clone(), (0, 0, 0)))
        .collect();
    for c in &census.comments {
        if let Some(counts) = photos.get_mut(&c.photo_id) {
            counts.0 += 1;
        }
    }
    for r in &census.ratings {
        if let Some(counts) = photos.get_mut(&r.photo_id) {
            counts.1 += u64::from(r.stars);
            counts.2 += 1;
        }
    }
    let mut tags = BTreeMap::new();
    for p in &census.photos {
        for t in &p.tags {
            *tags.entry(t.clone()).or_insert(0) += 1;
        }
    }
    let mut counters = BTreeMap::new();
    for name in census.counters.keys() {
        let mut want: BTreeMap<String, u64> = BTreeMap::new();
        let mut count = |key: &str| *want.entry(key.to_owned()).or_insert(0) += 1;
        match *name {
            "owner_photo_count" => census.photos.iter().for_each(|p| count(&p.owner_id)),
            // Comments of a deleted photo count until its purge removes them.
            "author_comment_count" => census.comments.iter().for_each(|c| count(&c.author_id)),
            "link_status_count" => census.links.iter().for_each(|l| count(l.status.as_str())),
            "followers" => census
                .follows
                .iter()
                .for_each(|(_, followee)| count(followee)),
            "following" => census
                .follows
                .iter()
                .for_each(|(follower, _)| count(follower)),
            "pending_links" => census
                .links
                .iter()
                .filter(|l| l.status == LinkStatus::Pending)
                .for_each(|l| count(&l.id)),
            "search_index" => {
                let n = census.photos.len() as u64;
                want = BTreeMap::from([("photos".into(), n), ("by_rating".into(), n)]);
            }
            _ => continue,
        }
        counters.insert(*name, want);
    }
    Recount {
        photos,
        tags,
        counters,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::local::LocalMedia;
    use crate::store::conformance::{backends, link, photo};
    use crate::store::{now_millis, CommentRecord, PhotoRecord, RatingRecord};
    use bytes::Bytes;

    fn comment(photo_id: &str, author: &str) -> CommentRecord {
        let now = now_millis();
        CommentRecord {
            id: crate::store::new_id(),
            photo_id: photo_id.into(),
            author_id: author.into(),
            author_username: author.into(),
            text: "hi".into(),
            created_at: now,
            updated_at: now,
        }
    }

    /// A photo with a stored file and one comment by `ann`.
    async fn commented(store: &Store, media: &dyn MediaStore, tags: &[&str]) -> PhotoRecord {
        let mut p = photo("owner", tags);
        p.media_key = format!("p/{}.png", p.id);
        let bytes = Bytes::from_static(b"x");
        media.put(&p.media_key, bytes, "image/png").await.unwrap();
        store.photos.insert_photo(p.clone()).await.unwrap();
        let c = comment(&p.id, "ann");
        store.comments.add_comment(c).await.unwrap();
        p
    }

    fn kinds(report: &Report) -> BTreeSet<&'static str> {
        report.findings.iter().map(|f| f.kind).collect()
    }

    /// Every kind of damage fsck knows, made through the public traits; found, then
    /// repaired but for the one that cannot be (a file that is gone).
    #[tokio::test]
    async fn finds_every_kind_of_damage_and_repairs_what_can_be() {
        for (store, _dir) in backends().await {
            let b = store.backend;
            let files = tempfile::tempdir().unwrap();
            let media: Arc<dyn MediaStore> = Arc::new(LocalMedia::open(files.path()).unwrap());
            let fsck = Fsck {
                store: store.clone(),
                media: media.clone(),
                grace: Duration::ZERO,
                resume: false,
            };
            let bytes = || Bytes::from_static(b"x");
            let kept = commented(&store, media.as_ref(), &["sea", "sky"]).await;
            let rating = RatingRecord {
                id: crate::store::new_id(),
                photo_id: kept.id.clone(),
                user_id: "bob".into(),
                username: "bob".into(),
                stars: 4,
                created_at: now_millis(),
            };
            store.ratings.add_rating(rating).await.unwrap();
            let clean = fsck.check().await.unwrap();
            assert!(clean.findings.is_empty(), "{b}: {:?}", clean.findings);

            // A deletion interrupted before its purge, with a comment and a link.
            let gone = commented(&store, media.as_ref(), &["sea"]).await;
            store.links.create_link(link(&gone, "w_10")).await.unwrap();
            store
                .photos
                .delete_photo(&gone.id, now_millis())
                .await
                .unwrap();
            // Records whose photo vanished without a tombstone.
            let lost = photo("owner", &[]);
            store.photos.insert_photo(lost.clone()).await.unwrap();
            store
                .comments
                .add_comment(comment(&lost.id, "cy"))
                .await
                .unwrap();
            store
                .photos
                .delete_photo(&lost.id, now_millis())
                .await
                .unwrap();
            store.photos.finish_deletion(&lost.id).await.unwrap();
            // Counters that drifted, a stray file and a missing one.
            let mut wrong = Recount::default();
            wrong.photos.insert(kept.id.clone(), (7, 1, 1));
            wrong.tags.insert("ghost".into(), 3);
            let owners = BTreeMap::from([("owner".to_owned(), 9)]);
            wrong.counters.insert("owner_photo_count", owners);
            store.integrity.recount(wrong).await.unwrap();
            media
                .put("t/stray.jpg", bytes(), "image/jpeg")
                .await
                .unwrap();
            let mut missing = photo("owner", &[]);
            missing.media_key = format!("p/{}.png", missing.id);
            store.photos.insert_photo(missing.clone()).await.unwrap();

            let found = fsck.check().await.unwrap();
            // Embedded derives tags from the photos whenever it recounts, and only
            // it stores photos per owner.
            let drifted = if b == "embedded" {
                "owner_photo_count"
            } else {
                "tag_count"
            };
            let expected: BTreeSet<&str> = [
                "photo_counts",
                drifted,
                "orphan_record",
                "unfinished_deletion",
                "orphan_file",
                "missing_file",
            ]
            .into();
            assert!(
                kinds(&found).is_superset(&expected),
                "{b}: {:?}",
                found.findings
            );
            let subject = |kind: &str| {
                let f = found.findings.iter().find(|f| f.kind == kind).unwrap();
                f.subject.clone()
            };
            assert_eq!(subject("unfinished_deletion"), gone.id, "{b}");
            assert_eq!(subject("orphan_record"), lost.id, "{b}");
            assert_eq!(subject("orphan_file"), "t/stray.jpg", "{b}");
            assert_eq!(subject("missing_file"), missing.media_key, "{b}");

            let left = fsck.run(true).await.unwrap();
            let only_missing: BTreeSet<&str> = ["missing_file"].into();
            assert_eq!(kinds(&left), only_missing, "{b}: {:?}", left.findings);
            let kept_now = store.photos.photo(&kept.id).await.unwrap().unwrap();
            assert_eq!(
                (
                    kept_now.comment_count,
                    kept_now.rating_sum,
                    kept_now.rating_count
                ),
                (1, 4, 1),
                "{b}"
            );
            let (tags, _) = store.photos.tags("", 10, 0).await.unwrap();
            let tags: Vec<(String, u64)> =
                tags.into_iter().map(|t| (t.name, t.photo_count)).collect();
            assert_eq!(tags, [("sea".into(), 1), ("sky".into(), 1)], "{b}");
            assert!(
                store.photos.deletion(&gone.id).await.unwrap().is_none(),
                "{b}"
            );
            assert_eq!(media.get(&gone.media_key).await.unwrap(), None, "{b}");
            assert_eq!(
                store.comments.comments(&lost.id, 10, 0).await.unwrap().0,
                vec![]
            );
            assert_eq!(media.get("t/stray.jpg").await.unwrap(), None, "{b}");
            assert!(media.get(&kept.media_key).await.unwrap().is_some(), "{b}");
        }
    }

    /// Follow counts that disagree with the follows are found and recounted.
    #[tokio::test]
    async fn drifted_follow_counts_are_found_and_recounted() {
        for (store, _dir) in backends().await {
            let b = store.backend;
            let files = tempfile::tempdir().unwrap();
            let fsck = Fsck {
                store: store.clone(),
                media: Arc::new(LocalMedia::open(files.path()).unwrap()),
                grace: Duration::ZERO,
                resume: false,
            };
            let new = |n: &str| store.users.create(crate::store::conformance::new_user(n));
            let (ann, bob) = (new("ann").await.unwrap(), new("bob").await.unwrap());
            store.social.follow(&ann, &bob, now_millis()).await.unwrap();
            assert!(fsck.check().await.unwrap().findings.is_empty(), "{b}");

            let mut wrong = Recount::default();
            wrong
                .counters
                .insert("followers", BTreeMap::from([(bob.id.clone(), 5)]));
            wrong
                .counters
                .insert("following", BTreeMap::from([(bob.id.clone(), 2)]));
            store.integrity.recount(wrong).await.unwrap();
            let found = fsck.check().await.unwrap();
            let subjects: BTreeSet<(&str, &str)> = found
                .findings
                .iter()
                .map(|f| (f.kind, f.subject.as_str()))
                .collect();
            let want: BTreeSet<(&str, &str)> = [
                ("followers", bob.id.as_str()),
                ("following", ann.id.as_str()),
                ("following", bob.id.as_str()),
            ]
            .into();
            assert_eq!(subjects, want, "{b}");

            assert!(fsck.run(true).await.unwrap().findings.is_empty(), "{b}");
            let a = store.social.follow_counts(&ann.id).await.unwrap();
            let c = store.social.follow_counts(&bob.id).await.unwrap();
            assert_eq!((a.following, c.followers, c.following), (1, 1, 0), "{b}");
        }
    }
}
