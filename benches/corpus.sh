#!/usr/bin/env bash
# The image benchmark corpus: real photographs, not synthetic images, because JPEG
# decoding cost depends on real content (entropy, progressive scans, chroma layout).
# The photos come from Debian's mate-backgrounds package (fetched with
# `apt-get download`, so only Debian's package archive is needed), plus a baseline
# (non-progressive) re-encode of the largest one made with Pillow, as a phone camera
# would write it. The photos are not in the repository: they are GPL-2+ (the
# package's copyright file; copyright holders in parentheses).
#   elephants-17mp-progressive.jpg  abstract/Elephants_5640x3172.jpg (2020 Wyng Stancikaite)
#   elephants-17mp-baseline.jpg     the same, re-encoded baseline at quality 92
#   elephants-8mp-progressive.jpg   abstract/Elephants_3840x2160.jpg (2020 Wyng Stancikaite)
#   twowings-4mp.jpg                nature/TwoWings.jpg (2008 Charles Barbin, Hylke Bons)
#   raindrops-2mp.jpg               nature/RainDrops.jpg (2008 "blackcombwhistler07")
#   wood-5mp.jpg                    nature/Wood.jpg (2008 Jean-François Fortin Tam)
# A folder already filled (it has a .done file) is reused as it is. Used by
# benches/transform.sh and benches/photos.sh.
# usage: benches/corpus.sh [DIR, default bench-corpus]   (prints the folder's path)
set -euo pipefail
dir=${1:-bench-corpus}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
if [ ! -f "$dir/.done" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  (cd "$work" && { apt-get download mate-backgrounds >/dev/null 2>&1 \
    || { apt-get update >/dev/null && apt-get download mate-backgrounds >/dev/null; }; })
  deb=$(echo "$work"/mate-backgrounds_*.deb)
  dpkg-deb -x "$deb" "$work/x"
  src="$work/x/usr/share/backgrounds/mate"
  cp "$src/abstract/Elephants_5640x3172.jpg" "$dir/elephants-17mp-progressive.jpg"
  cp "$src/abstract/Elephants_3840x2160.jpg" "$dir/elephants-8mp-progressive.jpg"
  cp "$src/nature/TwoWings.jpg" "$dir/twowings-4mp.jpg"
  cp "$src/nature/RainDrops.jpg" "$dir/raindrops-2mp.jpg"
  cp "$src/nature/Wood.jpg" "$dir/wood-5mp.jpg"
  python3 - "$dir" <<'PY'
import sys
try:
    from PIL import Image
except ImportError:
    sys.exit("corpus.sh: the baseline re-encode needs Pillow (pip install pillow)")
d = sys.argv[1]
Image.open(f"{d}/elephants-17mp-progressive.jpg").save(
    f"{d}/elephants-17mp-baseline.jpg", "JPEG", quality=92, progressive=False)
PY
  # Which package version the photos came from, for anyone comparing corpora.
  echo "mate-backgrounds $(dpkg-deb -f "$deb" Version)" > "$dir/.done"
fi
echo "$dir"
