#!/usr/bin/env bash
# Starts Garage, a real S3 server, as a one-node cluster in DIR (sqlite metadata,
# replication factor 1) on free loopback ports, with a bucket `media` and a key
# allowed on it; builds it first with `cargo install garage --locked` (about 7
# minutes, once: it stays in ~/.cargo/bin) when it is not on PATH. Prints the
# exports the test suite reads (PHOTOSHARE_TEST_S3_*) and GARAGE_PID.
# usage: eval "$(scripts/garage.sh DIR)"
set -euo pipefail
dir=$1
mkdir -p "$dir/meta" "$dir/data"
if ! command -v garage >/dev/null; then
  cargo install garage --locked --quiet >"$dir/install.log" 2>&1 \
    || { tail -20 "$dir/install.log" >&2; echo "could not build garage" >&2; exit 1; }
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
hex() { head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'; }
s3_port=$(free_port); rpc_port=$(free_port)
cat >"$dir/garage.toml" <<EOF
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc_port"
rpc_public_addr = "127.0.0.1:$rpc_port"
rpc_secret = "$(hex 32)"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3_port"
root_domain = ".s3.garage.localhost"
EOF
g() { garage -c "$dir/garage.toml" "$@"; }
garage -c "$dir/garage.toml" server >"$dir/garage.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do g status >/dev/null 2>&1 && break; sleep 0.2; done
g status >/dev/null 2>&1 || { tail -20 "$dir/garage.log" >&2; echo "garage did not start" >&2; exit 1; }
node=$(g node id -q 2>/dev/null | cut -d@ -f1)
{
  g layout assign -z dc1 -c 1G "$node"
  g layout apply --version 1
  g bucket create media
  key_id="GK$(hex 12)"; secret=$(hex 32)
  g key import --yes -n photoshare "$key_id" "$secret"
  g bucket allow --read --write --owner media --key photoshare
} >"$dir/setup.log" 2>&1 || { cat "$dir/setup.log" >&2; kill "$pid"; exit 1; }
# The S3 API answers once the layout is live.
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://127.0.0.1:$s3_port/" && break
  sleep 0.2
done
cat <<EOF
export GARAGE_PID=$pid
export PHOTOSHARE_TEST_S3_ENDPOINT=http://127.0.0.1:$s3_port
export PHOTOSHARE_TEST_S3_REGION=garage
export PHOTOSHARE_TEST_S3_BUCKET=media
export PHOTOSHARE_TEST_S3_ACCESS_KEY_ID=$key_id
export PHOTOSHARE_TEST_S3_SECRET_ACCESS_KEY=$secret
EOF
