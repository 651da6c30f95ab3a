#!/usr/bin/env bash
# Soak: SECONDS (default 600) of the mixed load of benches/load.sh (reads at 32
# connections; comments, ratings, uploads and transformations at 2) with abuse
# traffic interleaved (benches/load/abuse.py: trickled bodies, invented methods,
# junk X-Forwarded-For, many-part chunked uploads, lying JPEG headers,
# transformations over the cost budget). Samples the server's RSS every 10 s and
# prints it after the first minute and at the end, the well-behaved clients'
# errors and read latency, and what the abuse was answered. Release build,
# embedded stack. usage: benches/soak.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
python3 -c 'import PIL' 2>/dev/null || pip install -q pillow
export PHOTOSHARE__SERVER__BODY_TIMEOUT_SECONDS=20
source benches/common.sh
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null; kill $sampler 2>/dev/null; rm -rf "$dir" "$work"' EXIT
python3 benches/load/seed.py "$base" "$work"
photo=$(python3 -c "import json; print(json.load(open('$work/data.json'))['ids'][0])")
( while kill -0 $pid 2>/dev/null; do
    echo "$SECONDS $(awk '/VmRSS/ {print $2}' /proc/$pid/status)"; sleep 10
  done ) >"$work/rss.txt" &
sampler=$!
start=$SECONDS
cd benches/load
LOAD_DATA="$work/data.lua" wrk -t1 -c32 -d"${secs}s" --timeout 10s --latency -s reads.lua "$base" >"$work/reads.txt" &
reads=$!
LOAD_DATA="$work/data.lua" wrk -t1 -c2 -d"${secs}s" --timeout 10s --latency -s writes.lua "$base" >"$work/writes.txt" &
writes=$!
python3 abuse.py "$base" "$token" "$secs" "$photo" >"$work/abuse.txt"
wait $reads $writes
cd ../..
report() { # wrk --latency output -> one line
  awk -v what="$1" '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
       /^ +Latency/ && $2 ~ /[0-9]/ {max=$4} /Non-2xx/ {err+=$5}
       /Socket errors/ {gsub(",", ""); err+=$4+$6+$8+$10}
       / requests in / {n=$1}
       END {printf "%-7s %8s requests, %8s req/s, p50 %7s, p99 %7s, max %7s, errors %d\n",
            what, n, rps, p50, p99, max, err}' "$2"
}
report reads "$work/reads.txt"
report writes "$work/writes.txt"
cat "$work/abuse.txt"
awk -v start=$start -v secs=$secs '{t=$1-start; r[NR]=$2; at[NR]=t; if ($2 > max) max=$2; n=NR}
  END {line="RSS MiB:"; q=1
       for (i=1; i<=n; i++) if (at[i] >= 60 && q==1) {line=line sprintf(" 1 min %.1f", r[i]/1024); q=2}
       else if (q>=2 && q<=4 && at[i] >= secs*(q-1)/4) {line=line sprintf(", %d%% %.1f", (q-1)*25, r[i]/1024); q++}
       printf "%s, end %.1f, peak %.1f\n", line, r[n]/1024, max/1024}' "$work/rss.txt"
