#!/usr/bin/env bash
# Comments benchmark on the embedded stack (release build, loopback, wrk):
#  1. POST /api/photos/{id}/comments at 64 connections: requests/s, p50, p99
#  2. GET /api/photos/{id}/comments (first page of 20) at 64 connections
# usage: benches/comments.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
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
png=$(mktemp --suffix=.png)
python3 -c "import struct,zlib,sys
def c(k,d): return struct.pack('>I',len(d))+k+d+struct.pack('>I',zlib.crc32(k+d))
raw=b''.join(b'\x00'+b'\x80'*24 for _ in range(8))
open(sys.argv[1],'wb').write(b'\x89PNG\r\n\x1a\n'+c(b'IHDR',struct.pack('>IIBBBBB',8,8,8,2,0,0,0))+c(b'IDAT',zlib.compress(raw))+c(b'IEND',b''))" "$png"
photo=$(curl -sf "$base/api/photos" -H "Authorization: Bearer $token" -F "file=@$png" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
summary() {
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {err=$5}
       END {printf "%s req/s, p50 %s, p99 %s, non-2xx %s\n", rps, p50, p99, (err==""?0:err)}'
}
lua=$(mktemp)
cat > "$lua" <<LUA
wrk.method = "POST"
wrk.body = '{"text":"a benchmark comment of ordinary length, nothing special in it"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
echo "== POST /api/photos/{id}/comments, 64 connections, ${secs}s =="
wrk -t2 -c64 -d"${secs}s" --latency -s "$lua" "$base/api/photos/$photo/comments" | summary
echo "comments stored: $(curl -sf "$base/api/photos/$photo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["comment_count"])')"
echo "== GET /api/photos/{id}/comments (first page), 64 connections, ${secs}s =="
wrk -t2 -c64 -d"${secs}s" --latency "$base/api/photos/$photo/comments" | summary
echo "RSS: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$pid/status)"
rm -f "$lua" "$png"
