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
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
corpus=$(bash ../shared/bench/corpus.sh bench-corpus)
cargo build --release --quiet --bin photoshare

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PHOTOSHARE__DATA_DIR="$dir" PHOTOSHARE__SERVER__PORT="$port" PHOTOSHARE__RATE_LIMIT__AUTH_PER_MINUTE=0 \
  PHOTOSHARE__AUTH__JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  RUST_LOG=warn ./target/release/photoshare serve &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
curl -sf "$base/api/auth/signup" -H 'content-type: application/json' \
  -d '{"username":"bench","email":"bench@example.com","password":"bench-password"}' >/dev/null
token=$(curl -sf "$base/api/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$pid/status; }
summary() {
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {err=$5}
       END {printf "%s req/s, p50 %s, p99 %s, non-2xx %s\n", rps, p50, p99, (err==""?0:err)}'
}
echo "idle RSS: $(rss)"

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
