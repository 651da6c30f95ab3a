#!/usr/bin/env bash
# WebP against JPEG at the same SSIM on the corpus (see webp_ssim.py): needs
# Pillow and NumPy, installed into .venv-bench when missing.
# usage: benches/webp_ssim.sh
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=$(bash benches/corpus.sh bench-corpus)
venv=${BENCH_VENV:-.venv-bench}
[ -x "$venv/bin/python" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q pillow numpy; }
source benches/common.sh
"$venv/bin/python" benches/webp_ssim.py "$base" "$token" "$corpus"/*.jpg
