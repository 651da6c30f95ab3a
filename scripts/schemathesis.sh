#!/usr/bin/env bash
# Property-based API tests: schemathesis against /openapi.json of a running server
# (embedded stack, fresh data dir), anonymous, as a user and as an admin.
#
#   scripts/schemathesis.sh [path/to/photoshare]     (default: target/debug/photoshare)
#
# Installs schemathesis into .venv-schemathesis if missing. SCHEMATHESIS_MAX_EXAMPLES
# (default 25) bounds the cases per operation and phase; scripts/schemathesis.toml holds
# the per-operation settings.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
bin=${1:-target/debug/photoshare}
[ -x "$bin" ] || cargo build --bin photoshare
venv="$root/.venv-schemathesis"
[ -x "$venv/bin/schemathesis" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q 'schemathesis==4.32.5'; }

work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
export PHOTOSHARE__DATA_DIR="$work/data"
export PHOTOSHARE__AUTH__JWT_SECRET="schemathesis-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PHOTOSHARE__SERVER__PORT="$port" PHOTOSHARE__RATE_LIMIT__AUTH_PER_MINUTE=0 PHOTOSHARE__QUEUE__WORKERS=1 \
  "$bin" serve >"$work/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do curl -fs "$base/healthz" >/dev/null && break; sleep 0.1; done
curl -fs "$base/healthz" >/dev/null || { cat "$work/server.log"; echo "server did not start"; exit 1; }

# The first account is the admin.
token() {
  curl -fs -X POST "$base/api/auth/signup" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"email\":\"$1@example.com\",\"password\":\"correct-horse-battery\"}" >/dev/null
  curl -fs -X POST "$base/api/auth/login" -H 'content-type: application/json' \
    -d "{\"username\":\"$1\",\"password\":\"correct-horse-battery\"}" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
}
admin=$(token admin)
user=$(token alice)
# A photo with a comment, a rating and a link, so id routes find real objects too.
python3 - "$base" "$user" "$admin" <<'PY'
import io, json, sys, urllib.request, uuid, zlib, struct
base, user, admin = sys.argv[1:]
def png(w, h):
    rows = b"".join(b"\0" + bytes((x * 7 + y) % 256 for x in range(w * 3)) for y in range(h))
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
def call(method, path, token, body=None, ctype="application/json"):
    req = urllib.request.Request(base + path, method=method, data=body,
                                 headers={"authorization": f"Bearer {token}", "content-type": ctype})
    return json.load(urllib.request.urlopen(req))
b = uuid.uuid4().hex
body = (f"--{b}\r\ncontent-disposition: form-data; name=\"description\"\r\n\r\nseed photo\r\n"
        f"--{b}\r\ncontent-disposition: form-data; name=\"tags\"\r\n\r\nseed\r\n"
        f"--{b}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"a.png\"\r\ncontent-type: image/png\r\n\r\n").encode() + png(64, 48) + f"\r\n--{b}--\r\n".encode()
photo = call("POST", "/api/photos", user, body, f"multipart/form-data; boundary={b}")
call("POST", f"/api/photos/{photo['id']}/comments", user, json.dumps({"text": "nice"}).encode())
call("POST", f"/api/photos/{photo['id']}/ratings", admin, json.dumps({"stars": 4}).encode())
call("POST", f"/api/photos/{photo['id']}/transformations", user, json.dumps({"transformation": "w_32,h_32,c_fill"}).encode())
PY

checks=not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance
export SCHEMATHESIS_HOOKS="$root/scripts/schemathesis_hooks.py"
run() {
  local who=$1; shift
  printf '\n== schemathesis: %s ==\n' "$who"
  "$venv/bin/schemathesis" --config-file scripts/schemathesis.toml run "$base/openapi.json" --checks "$checks" \
    --max-examples "${SCHEMATHESIS_MAX_EXAMPLES:-25}" --seed "${SCHEMATHESIS_SEED:-1}" --workers 1 \
    --suppress-health-check all --warnings off "$@"
}
status=0
run anonymous || status=1
# Logging out would revoke the token the rest of the run uses; logout has its own tests.
run user -H "Authorization: Bearer $user" --exclude-path /api/auth/logout || status=1
# An admin's queue stream never ends by itself (Server-Sent Events); the anonymous
# and user runs cover its refusals, tests/api/admin_jobs.rs its events.
run admin -H "Authorization: Bearer $admin" --exclude-path /api/auth/logout \
  --exclude-path /api/admin/queues/stream || status=1
if grep -q 'panicked' "$work/server.log"; then grep -B2 -A5 panicked "$work/server.log"; status=1; fi

# Thousands of random writes later, the data must still agree with itself. Let the
# worker finish its jobs (links and purges leave the queue), stop the server, fsck.
for _ in $(seq 1 300); do
  pending=$(curl -fs "$base/api/admin/queues" -H "Authorization: Bearer $admin" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["jobs"]["pending"])' 2>/dev/null || echo 0)
  [ "$pending" = 0 ] && break
  sleep 0.2
done
sleep 2 # the sweeper's next pass publishes any purge still waiting
kill -TERM $server; wait $server 2>/dev/null || true
printf '\n== fsck of the data schemathesis wrote ==\n'
"$bin" fsck --grace 0 || status=1
exit $status
