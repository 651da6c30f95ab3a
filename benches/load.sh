#!/usr/bin/env bash
# Mixed load on the embedded stack (release build, loopback), reproducible:
# seeds 20 users with 200 photos (real JPEGs made by Pillow), comments and ratings,
# then runs at the same time, for SECONDS (default 30):
#   reads:  64 connections: browse 30 %, search 20 %, view photo 20 %, view image 20 %,
#           list comments 10 %
#   writes:  8 connections: comment 40 %, rate 20 %, upload 20 %, transform 20 %
# and prints throughput, p50/p99/max and the error count (non-2xx + socket errors)
# of each, and the server's RSS. Installs wrk (Debian) and Pillow (PyPI) if missing.
# usage: benches/load.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
python3 -c 'import PIL' 2>/dev/null || pip install -q pillow
source benches/common.sh
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; rm -rf "$dir" "$work"' EXIT
python3 benches/load/seed.py "$base" "$work"
echo "seeded: $(python3 -c "import json; d=json.load(open('$work/data.json')); print(len(d['ids']), 'photos,', len(d['tokens']), 'users')")"
echo "RSS after seeding: $(rss)"

cd benches/load
LOAD_DATA="$work/data.lua" wrk -t2 -c64 -d"${secs}s" --timeout 10s --latency -s reads.lua "$base" >"$work/reads.txt" &
reads=$!
LOAD_DATA="$work/data.lua" wrk -t2 -c8 -d"${secs}s" --timeout 10s --latency -s writes.lua "$base" >"$work/writes.txt"
wait $reads
cd ../..
report() { # wrk --latency output -> one line
  awk -v what="$1" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
       /^ +Latency/ && $2 ~ /[0-9]/ {max=$4} /Non-2xx/ {err+=$5}
       /Socket errors/ {gsub(",", ""); err+=$4+$6+$8+$10}
       / requests in / {n=$1}
       END {printf "%-7s %6s requests, %8s req/s, p50 %7s, p99 %7s, max %7s, errors %d\n",
            what, n, rps, p50, p99, max, err}' "$2"
}
report reads "$work/reads.txt"
report writes "$work/writes.txt"
echo "RSS after the run: $(rss)"
# common.sh's first account is the admin.
pending=$(curl -sf "$base/api/admin/queues" -H "authorization: Bearer $token" |
  python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"]; print(j)')
echo "transformation jobs at the end: $pending"
