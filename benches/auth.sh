#!/usr/bin/env bash
# Accounts benchmark on the embedded stack (release build, loopback, wrk):
#  1. GET /api/users/me at 64 connections: requests/s, p50, p99
#  2. logins/s and p99 against what argon2 allows on this machine (one hash, timed)
#  3. GET /api/users/me p99 while logins run flat out
#  4. idle RSS of the server
# usage: benches/auth.sh [seconds per run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
cargo build --release --quiet --bin photoshare --example argon2_cost

dir=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PHOTOSHARE__DATA_DIR="$dir" PHOTOSHARE__SERVER__PORT="$port" PHOTOSHARE__RATE_LIMIT__AUTH_PER_MINUTE=0 \
  PHOTOSHARE__AUTH__JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  RUST_LOG=warn ./target/release/photoshare serve &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
for _ in $(seq 1 50); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
sleep 1
echo "idle RSS: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$pid/status)"

curl -sf "$base/api/auth/signup" -H 'content-type: application/json' \
  -d '{"username":"bench","email":"bench@example.com","password":"bench-password"}' >/dev/null
token=$(curl -sf "$base/api/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

summary() { # wrk output -> "N req/s, p50 X, p99 Y, errors E"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
       /Non-2xx/ {err=$5} /Socket errors/ {sock=$0}
       END {printf "%s req/s, p50 %s, p99 %s, non-2xx %s %s\n", rps, p50, p99, (err==""?0:err), sock}'
}

echo "== GET /api/users/me, 64 connections, ${secs}s =="
wrk -t2 -c64 -d"${secs}s" --latency -H "Authorization: Bearer $token" "$base/api/users/me" | summary

./target/release/examples/argon2_cost
lua=$(mktemp)
cat > "$lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"username":"bench","password":"bench-password"}'
wrk.headers["Content-Type"] = "application/json"
LUA
echo "== POST /api/auth/login, 16 connections, ${secs}s =="
wrk -t1 -c16 -d"${secs}s" --latency -s "$lua" "$base/api/auth/login" | summary

echo "== GET /api/users/me (64 conns) while logins run flat out =="
wrk -t1 -c16 -d"$((secs + 2))s" -s "$lua" "$base/api/auth/login" >/dev/null &
login_pid=$!
sleep 1
wrk -t1 -c64 -d"${secs}s" --latency -H "Authorization: Bearer $token" "$base/api/users/me" | summary
wait $login_pid
echo "RSS after load: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$pid/status)"
