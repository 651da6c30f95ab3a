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
cargo build --release --quiet --example argon2_cost
source benches/common.sh

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
