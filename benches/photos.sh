#!/usr/bin/env bash
# Photos benchmark on the embedded stack (release build, loopback):
#  1. POST /api/photos of a 4 MP JPEG (corpus twowings-4mp.jpg): requests/s, p50
#  2. GET /i/{slug} of a ~500 KB JPEG (corpus wood-5mp.jpg) at 64 connections
#  3. peak server RSS while 16 uploads of ~20 MiB run at once
#  4. time to refuse a 5 KB PNG that declares 100000x100000 pixels
# usage: benches/photos.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
corpus=$(bash benches/corpus.sh bench-corpus)
source benches/common.sh

# A multipart body on disk, sent by wrk as is.
body=$(mktemp)
python3 - "$corpus/twowings-4mp.jpg" "$body" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
b = b"photoshare-bench-boundary"
out = b"--" + b + b'\r\nContent-Disposition: form-data; name="description"\r\n\r\nbench upload\r\n'
out += b"--" + b + b'\r\nContent-Disposition: form-data; name="file"; filename="p.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
out += data + b"\r\n--" + b + b"--\r\n"
open(sys.argv[2], "wb").write(out)
PY
lua=$(mktemp)
cat > "$lua" <<LUA
local f = io.open("$body", "rb")
wrk.method = "POST"
wrk.body = f:read("*all")
f:close()
wrk.headers["Content-Type"] = "multipart/form-data; boundary=photoshare-bench-boundary"
wrk.headers["Authorization"] = "Bearer $token"
LUA
echo "== POST /api/photos, 4 MP JPEG ($(stat -c %s "$corpus/twowings-4mp.jpg") bytes), 4 connections, ${secs}s =="
wrk -t1 -c4 -d"${secs}s" --latency -s "$lua" "$base/api/photos" | summary
echo "RSS after uploads: $(rss)"

url=$(curl -sf "$base/api/photos" -H "Authorization: Bearer $token" -F "file=@$corpus/wood-5mp.jpg" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
echo "== GET /i/{slug}, $(curl -s "$url" | wc -c) bytes, 64 connections, ${secs}s =="
wrk -t2 -c64 -d"${secs}s" --latency "$url" | summary

big=$(mktemp --suffix=.jpg)
python3 - "$corpus/elephants-17mp-progressive.jpg" "$big" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
target = 20 * 1024 * 1024 - 200 * 1024
pad = b""
while len(data) + len(pad) < target:
    pad += b"\xff\xef\xff\xff" + b"\x00" * 65533   # APP15 segments: stripped on ingest
open(sys.argv[2], "wb").write(data[:2] + pad + data[2:])
PY
echo "== 16 uploads of $(stat -c %s "$big") bytes at once =="
peak_file=$(mktemp)
( peak=0; while kill -0 $pid 2>/dev/null; do
    cur=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); [ "$cur" -gt "$peak" ] && peak=$cur && echo $peak > "$peak_file"
    sleep 0.02; done ) &
sampler=$!
start=$(date +%s.%N)
for i in $(seq 1 16); do
  curl -s -o /dev/null -w "%{http_code}\n" "$base/api/photos" -H "Authorization: Bearer $token" -F "file=@$big" &
done | sort | uniq -c
wait_end=$(date +%s.%N)
kill $sampler 2>/dev/null || true
echo "all 16 done in $(python3 -c "print(round($wait_end-$start,1))") s; peak RSS $(awk '{printf "%.1f MiB", $1/1024}' "$peak_file")"

bomb=$(mktemp --suffix=.png)
python3 - "$bomb" <<'PY'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", b"\x55" * 5000) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
echo "== 5 KB PNG declaring 100000x100000 =="
curl -s -o /dev/null -w "HTTP %{http_code} in %{time_total} s\n" "$base/api/photos" -H "Authorization: Bearer $token" -F "file=@$bomb"
echo "RSS after: $(rss)"
rm -f "$body" "$lua" "$big" "$bomb" "$peak_file"
