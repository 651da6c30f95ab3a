# Shared by the benchmark scripts: builds the release binary, starts it on the
# embedded stack in a temp DATA_DIR on a free port, and signs up a user.
# Sets: pid, base, token. Defines: summary (wrk output -> one line), rss.
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null
# BENCH_BIN: another build of the binary (what is counted, not timed, allows a debug one).
bin=${BENCH_BIN:-./target/release/photoshare}
[ -n "${NO_BUILD:-}" ] || [ -n "${BENCH_BIN:-}" ] || cargo build --release --quiet --bin photoshare
dir=${BENCH_DATA_DIR:-$(mktemp -d)}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
PHOTOSHARE__DATA_DIR="$dir" PHOTOSHARE__SERVER__PORT="$port" PHOTOSHARE__RATE_LIMIT__AUTH_PER_MINUTE=0 \
  PHOTOSHARE__AUTH__JWT_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')" \
  RUST_LOG=warn "$bin" serve &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
base="http://127.0.0.1:$port"
# Up to 60 s: a large store loads its search index before serving.
for _ in $(seq 1 600); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.1; done
sleep 0.5

rss() { awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$pid/status; }
echo "idle RSS: $(rss)"
curl -sf "$base/api/auth/signup" -H 'content-type: application/json' \
  -d '{"username":"bench","email":"bench@example.com","password":"bench-password"}' >/dev/null
token=$(curl -sf "$base/api/auth/login" -H 'content-type: application/json' \
  -d '{"username":"bench","password":"bench-password"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')

summary() { # wrk --latency output -> "N req/s, p50 X, p99 Y, non-2xx E"
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2} /Non-2xx/ {err=$5}
       END {printf "%s req/s, p50 %s, p99 %s, non-2xx %s\n", rps, p50, p99, (err==""?0:err)}'
}
