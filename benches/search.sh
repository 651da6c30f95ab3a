#!/usr/bin/env bash
# Search benchmark on the embedded stack at 100,000 photos (release build, loopback):
# seeds a store with examples/seed.rs, serves it, and times each query with one
# connection (latency of one query at a time: p50, p99), then the keyword query at
# 32 connections (throughput). Prints the server's RSS and the database size.
# usage: benches/search.sh [seconds per query, default 5] [photos, default 100000]
# (SEEDED=DIR serves a copy of a store seeded before instead;
# MONGODB_URI=mongodb://... runs it on MongoDB, in a database of its own, and
# prints each shape's plan: the index its find and its count walk)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
photos=${2:-100000}
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --example seed --example search_explain --bin photoshare
if [ -n "${SEEDED:-}" ]; then
  # A store seeded before (`seed DIR N`), copied so the run leaves it as it was.
  BENCH_DATA_DIR=$(mktemp -d)
  cp "$SEEDED/photoshare.redb" "$BENCH_DATA_DIR/"
elif [ -n "${MONGODB_URI:-}" ]; then
  BENCH_DATA_DIR=$(mktemp -d)
  db="search_bench_$RANDOM$RANDOM"
  ./target/release/examples/seed "$BENCH_DATA_DIR" "$photos" "$MONGODB_URI" "$db"
  export PHOTOSHARE__DATABASE__URI="$MONGODB_URI" PHOTOSHARE__DATABASE__NAME="$db"
else
  BENCH_DATA_DIR=$(mktemp -d)
  ./target/release/examples/seed "$BENCH_DATA_DIR" "$photos"
  echo "database: $(du -m "$BENCH_DATA_DIR/photoshare.redb" | cut -f1) MiB"
fi
source benches/common.sh

# The seed's words: rank r of the Zipf-like spread (0 = most common).
word() { python3 -c "
S='ka lo mi ne su ta ri po ve da gu ha jo be fi wa ze cu ny xo'.split(); i=$1; w=''
while True:
    w+=S[i%20]; i//=20
    if i==0: break
print(w)"; }
month_from=$(date -u -d '-200 days' +%F); month_to=$(date -u -d '-170 days' +%F)
half_year=$(date -u -d '-183 days' +%F)
taken_from=$(date -u -d '-3 years' +%F); taken_to=$(date -u -d '-3 years +30 days' +%F)
queries=(
  "keyword|q=$(word 50)"
  "keyword, common (in most photos)|q=$(word 0)"
  "tag|tag=t$(word 10)"
  "keyword + tag + min_rating, by rating|q=$(word 20)&tag=t$(word 10)&min_rating=3&sort=-rating"
  "same, very common keyword and tag|q=$(word 2)&tag=t$(word 1)&min_rating=3&sort=-rating"
  "date range (30 days), by date|from=$month_from&to=$month_to&sort=created_at"
  "deep page (offset 5000), no filter|offset=5000"
  "deep page (offset 5000), common keyword|q=$(word 0)&offset=5000"
  "rating bounds, by rating|min_rating=4&sort=-rating"
  "camera, common (a third of photos), by date taken|camera=apple&sort=-taken_at"
  "camera model + keyword|camera=eos+r5&q=$(word 20)"
  "date taken range (30 days), by date taken|taken_from=$taken_from&taken_to=$taken_to&sort=taken_at"
  "date taken range (30 days) + tag, by rating|taken_from=$taken_from&taken_to=$taken_to&tag=t$(word 1)&sort=-rating"
  "by date taken, no filter|sort=-taken_at"
  "by date taken, deep page (offset 5000)|sort=taken_at&offset=5000"
  "broad: most common keyword + tag + min_rating, by rating|q=$(word 0)&tag=t$(word 0)&min_rating=2&sort=-rating"
  "broad: upload range matching every photo, by date|from=2000-01-01&sort=created_at"
  "broad: upload range matching every photo, by rating|from=2000-01-01&sort=-rating"
  "broad: min_rating=1, by date|min_rating=1&sort=-created_at"
  "broad: max_rating=4.5, by date taken|max_rating=4.5&sort=-taken_at"
  "broad: taken range matching every dated photo, by rating|taken_from=1990-01-01&sort=-rating"
  "broad: half a year uploaded + common keyword, by date taken|from=$half_year&q=$(word 0)&sort=taken_at"
  "broad: every kind of bound + keyword + tag, by date taken|q=$(word 0)&tag=t$(word 0)&min_rating=1&max_rating=5&from=2000-01-01&taken_from=1990-01-01&sort=-taken_at"
  "broad: common keyword, rating bounds, deep page (offset 20000)|q=$(word 0)&min_rating=2&offset=20000"
  "broad: common camera + keyword + taken range, deep page by rating|camera=apple&q=$(word 0)&taken_from=1990-01-01&sort=rating&offset=5000"
  "owner (most photos), by rating|/api/users/seed_000/photos?sort=-rating"
  "owner (most photos), by date taken, deep page|/api/users/seed_000/photos?sort=taken_at&offset=5000"
)
for entry in "${queries[@]}"; do
  name=${entry%%|*}; query=${entry#*|}
  # A query, or a whole path (the user grid).
  case $query in /*) url="$base$query" ;; *) url="$base/api/photos?$query" ;; esac
  total=$(curl -sf "$url" | python3 -c 'import json,sys; print(json.load(sys.stdin)["total"])')
  printf '== %s: %s (total %s)\n  1 connection:  ' "$name" "${url#"$base"}" "$total"
  wrk -t1 -c1 -d"${secs}s" --latency "$url" | summary
done
printf '== keyword at 32 connections\n  '
wrk -t2 -c32 -d"${secs}s" --latency "$base/api/photos?q=$(word 50)" | summary
echo "RSS after the queries: $(rss)"
if [ -n "${MONGODB_URI:-}" ]; then
  echo "== plans (explain, executionStats)"
  printf '%s\n' "${queries[@]}" | ./target/release/examples/search_explain "$MONGODB_URI" "$db"
fi
