#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS each (default 180), starting from the
# seeds in fuzz/seeds. Needs the nightly toolchain; installs cargo-fuzz if missing.
# A crash leaves its input in fuzz/artifacts/<target>/ and fails the script: turn it
# into a regression test (tests/api or the module's unit tests) and fix it.
#
#   scripts/fuzz.sh [target ...]      (default: all targets)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SECONDS:-180}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(transformation search multipart ingest jpeg)
cargo +nightly fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  echo "== $t: ${seconds}s =="
  cargo +nightly fuzz run -O "$t" "corpus/$t" "seeds/$t" -- \
    -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2>&1 |
    grep -E '^(#[0-9]+ *DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==|SUMMARY|thread .* panicked|Done [0-9]+ runs)' || true
  if ls "artifacts/$t"/crash-* "artifacts/$t"/oom-* "artifacts/$t"/timeout-* >/dev/null 2>&1; then
    echo "$t: failing inputs in fuzz/artifacts/$t"; exit 1
  fi
done
