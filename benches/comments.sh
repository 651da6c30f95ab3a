#!/usr/bin/env bash
# Comments benchmark on the embedded stack (release build, loopback, wrk):
#  1. POST /api/photos/{id}/comments at 64 connections: requests/s, p50, p99
#  2. GET /api/photos/{id}/comments (first page of 20) at 64 connections
# usage: benches/comments.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
source benches/common.sh
png=$(mktemp --suffix=.png)
python3 -c "import struct,zlib,sys
def c(k,d): return struct.pack('>I',len(d))+k+d+struct.pack('>I',zlib.crc32(k+d))
raw=b''.join(b'\x00'+b'\x80'*24 for _ in range(8))
open(sys.argv[1],'wb').write(b'\x89PNG\r\n\x1a\n'+c(b'IHDR',struct.pack('>IIBBBBB',8,8,8,2,0,0,0))+c(b'IDAT',zlib.compress(raw))+c(b'IEND',b''))" "$png"
photo=$(curl -sf "$base/api/photos" -H "Authorization: Bearer $token" -F "file=@$png" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
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
