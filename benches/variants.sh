#!/usr/bin/env bash
# Display sizes on the embedded stack (release build, loopback), in one run:
#  1. 32 concurrent first requests for the `large` size of one 17 MP progressive
#     original (corpus), sampling the server's RSS every 20 ms: one render, peak RSS;
#  2. repeat requests (cache hits) for a `small` size at 64 connections, against
#     /i/ of an original of the very same bytes (the size itself, uploaded as a
#     photo): requests/s of both;
#  3. the WebP and JPEG sizes of every corpus photo's `medium` (default quality).
# usage: benches/variants.sh [seconds per wrk run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
corpus=$(bash benches/corpus.sh bench-corpus)
source benches/common.sh
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$dir" "$work"' EXIT

upload() { # file -> photo JSON
  curl -sf -H "Authorization: Bearer $token" -F "file=@$1;type=image/jpeg" "$base/api/photos"
}
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval('d'+sys.argv[1]))" "$1"; }
renders() { curl -sf "$base/metrics" | awk '/^photoshare_variant_renders_total / {print $2}'; }

big=$(upload "$corpus/elephants-17mp-progressive.jpg")
large=$(echo "$big" | field '["variants"]["large"]')
before=$(renders)
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
(peak=0; while kill -0 $pid 2>/dev/null; do
   now=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); [ "$now" -gt "$peak" ] && peak=$now && echo "$peak" > "$work/peak"
   sleep 0.02; done) &
sampler=$!
start=$(date +%s.%N)
asks=()
for _ in $(seq 1 32); do curl -sf -o /dev/null -w '%{http_code}\n' "$large" >> "$work/codes" & asks+=($!); done
wait "${asks[@]}"
echo "answers: $(sort "$work/codes" | uniq -c | tr '\n' ' ')"
secs32=$(echo "$(date +%s.%N) - $start" | bc)
kill $sampler 2>/dev/null || true
echo "32 first requests for large of a 17 MP original: ${secs32} s, renders $(( $(renders) - before )), RSS ${rss_before} KiB before, peak $(cat "$work/peak") KiB"

photo=$(upload "$corpus/wood-5mp.jpg")
small=$(echo "$photo" | field '["variants"]["small"]')
curl -sf -o "$work/small.jpg" "$small"
twin=$(upload "$work/small.jpg")
original=$(echo "$twin" | field '["url"]')
echo "small: $(stat -c %s "$work/small.jpg") bytes"
printf '/v/ small, 64 connections: '
wrk -t2 -c64 -d"${secs}s" --latency "$small" | summary
printf '/i/ of the same bytes, 64 connections: '
wrk -t2 -c64 -d"${secs}s" --latency "$original" | summary

echo "| photo | medium JPEG | medium WebP | WebP / JPEG |"
echo "|---|---|---|---|"
for f in "$corpus"/*.jpg; do
  [ "$f" = "$corpus/elephants-17mp-progressive.jpg" ] && continue
  p=$(upload "$f") || continue
  medium=$(echo "$p" | field '["variants"]["medium"]')
  j=$(curl -sf "$medium" | wc -c)
  w=$(curl -sf -H 'Accept: image/webp' "$medium" | wc -c)
  echo "| $(basename "$f") | $j | $w | $(echo "scale=2; $w / $j" | bc) |"
done
echo "server RSS at the end: $(rss)"
