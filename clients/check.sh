#!/usr/bin/env bash
# Generated clients as tests, against a running server:
#   1. /openapi.json passes Redocly's recommended ruleset (0 errors) and
#      Spectral's spectral:oas (0 warnings);
#   2. openapi-typescript's types compile under `tsc --strict` with flow.ts, and the
#      flow runs on openapi-fetch;
#   3. openapi-python-client's package passes `mypy --strict` with flow.py, and the
#      flow runs on it.
#
#   clients/check.sh http://127.0.0.1:8000 photo.png
#
# Tools come pinned from package.json (`npm ci` here) and from .venv-clients
# (openapi-python-client and mypy; see .ci/run).
set -euo pipefail
base=${1:?usage: check.sh BASE_URL IMAGE}
image=$(realpath "${2:?usage: check.sh BASE_URL IMAGE}")
cd "$(dirname "$0")"
py=${PHOTOSHARE_CLIENTS_VENV:-$(pwd)/../.venv-clients}/bin
bin=node_modules/.bin
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1

out=generated
rm -rf "$out"
mkdir -p "$out"
curl -fsS "$base/openapi.json" -o "$out/openapi.json"

echo "== Redocly (recommended): fails on any error"
"$bin/redocly" lint --config redocly.yaml --format stylish "$out/openapi.json"

echo "== Spectral (spectral:oas)"
"$bin/spectral" lint --ruleset .spectral.yaml --fail-severity warn "$out/openapi.json"

echo "== TypeScript: openapi-typescript, tsc --strict, the flow on openapi-fetch"
node generate.mjs "$out/openapi.json" "$out/schema.d.ts"
"$bin/tsc" -p tsconfig.json
node "$out/dist/flow.js" "$base" "$image"

echo "== Python: openapi-python-client, mypy --strict, the flow"
"$py/openapi-python-client" generate --path "$out/openapi.json" --config python-config.yml \
  --meta none --output-path "$out/photoshare_client" >"$out/python-generate.txt" 2>&1 || {
  cat "$out/python-generate.txt"; exit 1; }
# Warnings about the document are failures too: the generator skipped something.
if grep -qi "warning" "$out/python-generate.txt"; then cat "$out/python-generate.txt"; exit 1; fi
(cd "$out" && MYPYPATH=. "$py/mypy" --strict --no-incremental photoshare_client ../flow.py)
PYTHONPATH="$out" "$py/python" flow.py "$base" "$image"
echo "clients ok"
