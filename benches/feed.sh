#!/usr/bin/env bash
# Feed benchmark on the embedded stack (release build, loopback). Seeds 10,000
# accounts, 200,000 photos and skewed follows (examples/seed_social.rs), serves them,
# has the benchmark account follow 1,000 accounts, then times with one connection
# (p50, p99): GET /api/feed's first page, and a deep page (the cursor after 1,000
# items). Then uploads: the same image by `celeb` (10,000 followers) and by `quiet`
# (none), interleaved, 40 each, client-side latency.
# usage: benches/feed.sh [seconds per read, default 10]   (ACCOUNTS, PHOTOS override;
# MONGODB_URI=mongodb://... runs it on MongoDB, in a database of its own)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --example seed_social --bin photoshare
BENCH_DATA_DIR=$(mktemp -d)
if [ -n "${MONGODB_URI:-}" ]; then
  db="feed_bench_$RANDOM$RANDOM"
  ./target/release/examples/seed_social "$BENCH_DATA_DIR" "${ACCOUNTS:-10000}" "${PHOTOS:-200000}" "$MONGODB_URI" "$db"
  export PHOTOSHARE__DATABASE__URI="$MONGODB_URI" PHOTOSHARE__DATABASE__NAME="$db"
else
  ./target/release/examples/seed_social "$BENCH_DATA_DIR" "${ACCOUNTS:-10000}" "${PHOTOS:-200000}"
  echo "database: $(du -m "$BENCH_DATA_DIR/photoshare.redb" | cut -f1) MiB"
fi
source benches/common.sh

# The benchmark account follows user_00005 ... user_01004: popular and obscure ones.
seq 5 "$(( ${ACCOUNTS:-10000} < 1005 ? ${ACCOUNTS:-10000} - 1 : 1004 ))" | xargs -P 8 -I{} sh -c \
  "printf 'user_%05d\n' {} | xargs -I@ curl -sf -o /dev/null -X POST -H 'Authorization: Bearer $token' $base/api/users/@/follow"
curl -sf "$base/api/users/bench" | python3 -c 'import json,sys; print("bench follows", json.load(sys.stdin)["following"])'

cursor=""
for _ in $(seq 1 10); do
  cursor=$(curl -sf -H "Authorization: Bearer $token" "$base/api/feed?limit=100${cursor:+&cursor=$cursor}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"])')
done
for entry in "first page (20)|/api/feed" "deep page (20, after 1,000 items)|/api/feed?cursor=$cursor"; do
  printf '== feed, %s\n  1 connection:  ' "${entry%%|*}"
  wrk -t1 -c1 -d"${secs}s" --latency -H "Authorization: Bearer $token" "$base${entry#*|}" | summary
done
printf '== feed first page at 32 connections\n  '
wrk -t2 -c32 -d"${secs}s" --latency -H "Authorization: Bearer $token" "$base/api/feed" | summary

login() { curl -sf "$base/api/auth/login" -H 'content-type: application/json' \
  -d "{\"username\":\"$1\",\"password\":\"bench-password\"}" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'; }
celeb=$(login celeb); quiet=$(login quiet)
curl -sf "$base/api/users/celeb" | python3 -c 'import json,sys; print("celeb followers", json.load(sys.stdin)["followers"])'
img=$(mktemp --suffix=.jpg)
python3 - "$img" <<'PY'
import struct, sys, zlib
w, h = 1024, 768
raw = b"".join(b"\0" + bytes((x * 7 + y) % 256 for x in range(w * 3)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
for who in celeb quiet; do : >"/tmp/upload-$who.txt"; done
for _ in $(seq 1 40); do
  for who in celeb quiet; do
    t=${!who}
    curl -sf -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $t" \
      -F "file=@$img" "$base/api/photos" >>"/tmp/upload-$who.txt"
  done
done
for who in celeb quiet; do
  python3 - "$who" "/tmp/upload-$who.txt" <<'PY'
import statistics, sys
xs = sorted(float(l) * 1000 for l in open(sys.argv[2]))
print(f"== upload by {sys.argv[1]}: {len(xs)} uploads, p50 {statistics.median(xs):.1f} ms, "
      f"p99 {xs[int(len(xs) * 0.99) - 1]:.1f} ms, mean {statistics.mean(xs):.1f} ms")
PY
done
echo "RSS after: $(rss)"
echo "database operations during the run (/metrics):"
curl -sf "$base/metrics" | grep -E '^photoshare_db_operations_total\{operation="(social|ratings.stars_by)' || true
