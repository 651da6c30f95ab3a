//! Search on MongoDB: the filter and sort a query becomes, and what the server
//! plans for them (`explain`), for the search benchmark's report.

use mongodb::bson::{doc, Bson, Document};

use super::{to_bson_dt, MongoStore};
use crate::store::{PhotoQuery, PhotoSort, StoreError};

/// The filter and sort of a search; each sort has an index of its own, and each
/// filter field leads one (see `MongoStore::ensure_indexes`).
pub(super) fn query(q: &PhotoQuery) -> (Document, Document) {
    let mut filter = Document::new();
    for (field, values) in [
        ("keywords", &q.keywords),
        ("tags", &q.tags),
        ("camera_words", &q.camera),
    ] {
        match values.as_slice() {
            [] => {}
            // An equality: every server plans it on the field's multikey index.
            [one] => {
                filter.insert(field, one);
            }
            all => {
                filter.insert(field, doc! { "$all": all });
            }
        }
    }
    let mut taken = Document::new();
    if let Some(from) = q.taken_from {
        taken.insert("$gte", to_bson_dt(from));
    }
    if let Some(to) = q.taken_to {
        taken.insert("$lte", to_bson_dt(to));
    }
    if !taken.is_empty() {
        filter.insert("taken_at", taken);
    }
    if let Some(owner) = &q.owner_id {
        filter.insert("owner_id", owner);
    }
    let mut rating = Document::new();
    if let Some(min) = q.min_rating {
        rating.insert("$gte", min);
    }
    if let Some(max) = q.max_rating {
        rating.insert("$lte", max);
    }
    if !rating.is_empty() {
        filter.insert("rating_average", rating);
    }
    let mut created = Document::new();
    if let Some(from) = q.from {
        created.insert("$gte", to_bson_dt(from));
    }
    if let Some(to) = q.to {
        created.insert("$lte", to_bson_dt(to));
    }
    if !created.is_empty() {
        filter.insert("created_at", created);
    }
    let dir = if q.sort.descending() { -1 } else { 1 };
    let sort = match q.sort {
        PhotoSort::BestRated | PhotoSort::WorstRated => {
            doc! { "rating_average": dir, "created_at": dir, "_id": dir }
        }
        PhotoSort::NewestFirst | PhotoSort::OldestFirst => {
            doc! { "created_at": dir, "_id": dir }
        }
        // Missing dates sort below every date: last when descending as they are.
        PhotoSort::LatestTaken => doc! { "taken_at": -1, "created_at": -1, "_id": -1 },
        PhotoSort::EarliestTaken => {
            doc! { "taken_missing": 1, "taken_at": 1, "created_at": 1, "_id": 1 }
        }
    };
    (filter, sort)
}

/// What the server did for one command: its plan's stages (with index names)
/// and how many index keys and documents it read.
#[derive(Debug, Clone)]
pub struct Plan {
    pub stages: String,
    pub keys_examined: i64,
    pub docs_examined: i64,
}

/// The stages of a plan, outermost first, e.g. `LIMIT > FETCH > IXSCAN(tags_1_created_at_-1__id_-1)`.
fn stages(plan: &Document) -> String {
    let mut out = Vec::new();
    let mut stage = Some(plan);
    while let Some(s) = stage {
        let name = s.get_str("stage").unwrap_or("?");
        out.push(match s.get_str("indexName") {
            Ok(index) => format!("{name}({index})"),
            Err(_) => name.to_owned(),
        });
        stage = s.get_document("inputStage").ok().or_else(|| {
            let inputs = s.get_array("inputStages").ok()?;
            inputs.first().and_then(Bson::as_document)
        });
    }
    out.join(" > ")
}

fn number(d: &Document, key: &str) -> i64 {
    match d.get(key) {
        Some(Bson::Int32(n)) => i64::from(*n),
        Some(Bson::Int64(n)) => *n,
        Some(Bson::Double(n)) => *n as i64,
        _ => -1,
    }
}

impl MongoStore {
    /// Explains a search's two commands, the page (`find`) and the total (`count`).
    pub async fn explain_search(&self, q: &PhotoQuery) -> Result<[Plan; 2], StoreError> {
        let (filter, sort) = query(q);
        let find = doc! {
            "find": "photos", "filter": filter.clone(), "sort": sort,
            "skip": q.offset as i64, "limit": i64::from(q.limit),
        };
        let mut count = doc! { "count": "photos", "query": filter.clone() };
        if filter.is_empty() {
            // As `find_page` counts: on the `_id` index.
            count.insert("hint", doc! { "_id": 1 });
        }
        let mut plans = Vec::with_capacity(2);
        for command in [find, count] {
            let explained = self
                .db
                .run_command(doc! { "explain": command, "verbosity": "executionStats" })
                .await
                .map_err(StoreError::unavailable)?;
            let planner = explained.get_document("queryPlanner").ok();
            let winning = planner.and_then(|p| p.get_document("winningPlan").ok());
            let stats = explained.get_document("executionStats").ok();
            plans.push(Plan {
                stages: winning.map_or_else(|| "?".to_owned(), stages),
                keys_examined: stats.map_or(-1, |s| number(s, "totalKeysExamined")),
                docs_examined: stats.map_or(-1, |s| number(s, "totalDocsExamined")),
            });
        }
        let [find, count]: [Plan; 2] = plans.try_into().expect("two commands");
        Ok([find, count])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance::photo;
    use crate::store::PhotoRepo;

    /// What the search benchmark reports: a single keyword walks its multikey
    /// index for the page and the total, and a page with no filter counts on the
    /// `_id` index, never by scanning the collection. Needs
    /// `PHOTOSHARE_TEST_MONGODB_URI`.
    #[tokio::test]
    async fn a_keyword_walks_its_index_and_an_unfiltered_total_counts_on_id() {
        let Ok(uri) = std::env::var("PHOTOSHARE_TEST_MONGODB_URI") else {
            return;
        };
        let name = format!("explain_{}", crate::auth::jwt::random_id());
        let store = MongoStore::connect(&uri, Some(&name)).await.unwrap();
        for i in 0..5 {
            let mut p = photo("owner", &["sea"]);
            p.description = format!("harbour number {i}");
            store.insert_photo(p).await.unwrap();
        }
        let keyword = PhotoQuery {
            keywords: vec!["harbour".into()],
            limit: 2,
            ..PhotoQuery::default()
        };
        let [find, count] = store.explain_search(&keyword).await.unwrap();
        for plan in [&find, &count] {
            assert!(plan.stages.contains("IXSCAN(keywords_"), "{plan:?}");
            assert!(!plan.stages.contains("COLLSCAN"), "{plan:?}");
        }
        let everything = PhotoQuery {
            limit: 2,
            ..PhotoQuery::default()
        };
        let [_, count] = store.explain_search(&everything).await.unwrap();
        assert!(count.stages.contains("IXSCAN(_id_)"), "{count:?}");
        let (page, total) = store.search(&everything).await.unwrap();
        assert_eq!((page.len(), total), (2, 5));
    }
}
