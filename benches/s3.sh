#!/usr/bin/env bash
# Media on S3 (release build, loopback): starts Garage (scripts/garage.sh), serves
# PhotoShare with its media there, uploads a ~500 KB JPEG, then in one run:
#   1. GET of the object straight from Garage (a presigned URL) at 64 connections;
#   2. GET /i/{slug} through the API at 64 connections, with the API's image cache
#      off (every request reads S3) and then on (the default);
#   3. 16 concurrent uploads of a ~19 MiB PNG: server peak RSS.
# usage: benches/s3.sh [seconds per wrk run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin photoshare
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
work=$(mktemp -d)
source benches/garage-media.sh "$work/garage"
export PHOTOSHARE__MEDIA__S3__PRESIGN_SECONDS=3600
data=$work/data
bin=./target/release/photoshare
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
pid=
start() { # start [env...]: the server on $data with extra settings
  env PHOTOSHARE__DATA_DIR="$data" PHOTOSHARE__SERVER__PORT="$port" \
    PHOTOSHARE__RATE_LIMIT__AUTH_PER_MINUTE=0 PHOTOSHARE__AUTH__JWT_SECRET=0123456789abcdef0123456789abcdef \
    RUST_LOG=warn "$@" "$bin" serve &
  pid=$!
  for _ in $(seq 1 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
trap 'kill $pid $GARAGE_PID 2>/dev/null; rm -rf "$work"' EXIT
summary() {
  awk '/Requests\/sec/ {rps=$2} /Transfer\/sec/ {tr=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {err=$5}
       END {printf "%s req/s (%s/s), p50 %s, p99 %s, non-2xx %s\n", rps, tr, p50, p99, (err==""?0:err)}'
}

# A ~500 KB JPEG: noise, made by the binary from a PNG written here.
python3 - "$work/noise.png" 880 640 <<'PY'
import os, struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = b"".join(b"\0" + os.urandom(w * 3) for _ in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
open(path, "wb").write(png + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))
PY
"$bin" transform "$work/noise.png" "$work/photo.jpg" q_90 >/dev/null

start PHOTOSHARE__MEDIA__S3__REDIRECT=true
curl -sf "$base/api/auth/signup" -H 'content-type: application/json' \
  -d '{"username":"bench","email":"bench@example.com","password":"bench-password"}' >/dev/null
token=$(curl -sf "$base/api/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
url=$(curl -sf "$base/api/photos" -H "Authorization: Bearer $token" -F "file=@$work/photo.jpg" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
presigned=$(curl -s -o /dev/null -w '%{redirect_url}' "$url")
size=$(curl -sf "$presigned" | wc -c)
stop
echo "object: $size bytes"
printf '== Garage directly (presigned GET), 64 connections\n  '
wrk -t2 -c64 -d"${secs}s" --latency "$presigned" | summary
start PHOTOSHARE__MEDIA__CACHE_MIB=0
printf '== GET /i/{slug} through the API, image cache off (S3 read per request), 64 connections\n  '
wrk -t2 -c64 -d"${secs}s" --latency "$url" | summary
stop
start
printf '== GET /i/{slug} through the API, image cache on (default), 64 connections\n  '
wrk -t2 -c64 -d"${secs}s" --latency "$url" | summary

# 16 different PNGs of ~19 MiB (2,600 x 2,600 noise; the same file twice would be
# refused as a duplicate).
for i in $(seq 1 16); do
python3 - "$work/big$i.png" 2600 2600 <<'PY'
import os, struct, sys, zlib
path, w, h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rows = b"".join(b"\0" + os.urandom(w * 3) for _ in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
open(path, "wb").write(png + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))
PY
done
echo "== 16 uploads of $(stat -c %s "$work/big1.png") bytes at once, media on S3"
peak_file=$work/peak
( peak=0; while kill -0 "$pid" 2>/dev/null; do
    cur=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "$cur" -gt "$peak" ] && peak=$cur && echo "$peak" > "$peak_file"
    sleep 0.02
  done ) &
watcher=$!
started=$(date +%s.%N)
for i in $(seq 1 16); do
  curl -s -o /dev/null -w "%{http_code}\n" "$base/api/photos" -H "Authorization: Bearer $token" -F "file=@$work/big$i.png" &
done | sort | uniq -c
ended=$(date +%s.%N)
echo "all 16 done in $(python3 -c "print(round($ended-$started,1))") s; peak RSS $(awk '{printf "%.1f MiB", $1/1024}' "$peak_file")"
kill "$watcher" 2>/dev/null || true
