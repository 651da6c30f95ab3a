//! Prints what MongoDB plans for each search shape of `benches/search.sh`: the
//! page's `find` and the total's `count`, their stages with the index each
//! walks, and the index keys and documents they read.
//!
//! cargo run --release --example search_explain -- MONGODB_URI DB_NAME < shapes
//!
//! Each line of stdin is `name|query string`, or `name|/api/users/NAME/photos?query`
//! for a user's grid (the owner filter).

use std::io::BufRead;

use photoshare::http::search::Search;
use photoshare::store::mongo::MongoStore;
use photoshare::store::UserRepo;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [uri, name] = args.as_slice() else {
        anyhow::bail!("usage: search_explain MONGODB_URI DB_NAME < shapes");
    };
    let store = MongoStore::connect(uri, Some(name)).await?;
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let Some((shape, target)) = line.split_once('|') else {
            continue;
        };
        let (owner, qs) = match target.strip_prefix("/api/users/") {
            Some(rest) => {
                let (user, qs) = rest.split_once("/photos?").unwrap_or((rest, ""));
                (Some(user.to_ascii_lowercase()), qs)
            }
            None => (None, target),
        };
        let mut query = Search::parse(qs)
            .map_err(|e| anyhow::anyhow!("{shape}: {e:?}"))?
            .query;
        if let Some(user) = owner {
            let found = store.by_username(&user).await?;
            query.owner_id = Some(found.ok_or_else(|| anyhow::anyhow!("no user {user}"))?.id);
        }
        let [find, count] = store.explain_search(&query).await?;
        println!("== {shape}");
        for (what, plan) in [("find", find), ("count", count)] {
            println!(
                "  {what:5}  {}  (keys {}, docs {})",
                plan.stages, plan.keys_examined, plan.docs_examined
            );
        }
    }
    Ok(())
}
