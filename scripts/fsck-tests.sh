#!/usr/bin/env bash
# `photoshare fsck` over the data every test app kept (the test run had
# PHOTOSHARE_TEST_FSCK_DIR set; each app's folder holds its embedded data and media,
# and fsck.env names its MongoDB database, if any). An app stops when its test ends,
# often with a photo's purge still queued, so each check first finishes the queued
# deletions as a restarted worker would (--resume), then allows no grace. Apps whose
# test damaged the data on purpose, or kept media on the (gone) fake Cloudinary, are
# skipped (fsck.skip). Fails on any finding.
# usage: scripts/fsck-tests.sh DIR path/to/photoshare
set -euo pipefail
dir=$1
bin=$2
checked=0 skipped=0 failed=0
for app in "$dir"/app-*; do
  [ -f "$app/fsck.env" ] || continue
  if [ -f "$app/fsck.skip" ]; then skipped=$((skipped + 1)); continue; fi
  checked=$((checked + 1))
  if ! out=$(
    set -a
    # shellcheck disable=SC1091
    . "$app/fsck.env"
    PHOTOSHARE__DATA_DIR="$app" "$bin" fsck --resume --grace 0 2>&1
  ); then
    failed=$((failed + 1))
    printf '%s\n%s\n' "$app" "$out"
  fi
done
echo "fsck of the tests' data: $checked apps checked, $skipped skipped, $failed with findings"
[ "$failed" = 0 ]
