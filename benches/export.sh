#!/usr/bin/env bash
# Account export at scale on the embedded stack (release build, loopback): uploads
# COUNT (default 115) originals of ~18.7 MiB each (random-noise PNGs, stored
# uncompressed, so 2 GiB and more in all), then streams GET /api/users/me/export
# to a file while sampling the server's RSS every 50 ms. Prints the RSS before the
# export and its peak during it, the zip's size and the time; then checks the zip
# with Python's zipfile (CRCs and member count).
# usage: benches/export.sh            (COUNT=N overrides the number of originals)
set -euo pipefail
cd "$(dirname "$0")/.."
count=${COUNT:-115}
work=$(mktemp -d)
# A 2600 x 2400 RGB PNG of noise, deflate level 0: 18.7 MB that decode as 6.2 MP.
python3 - "$work/noise.png" <<'EOF'
import os, struct, sys, zlib
w, h = 2600, 2400
raw = b"".join(b"\x00" + os.urandom(w * 3) for _ in range(h))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
EOF
source benches/common.sh
trap 'kill $pid 2>/dev/null; rm -rf "$dir" "$work"' EXIT
size=$(stat -c %s "$work/noise.png")
echo "uploading $count originals of $size bytes"
for i in $(seq 1 "$count"); do
  # Another file each time (a byte after IEND, which the stored copy drops): an
  # account has each original once.
  { cat "$work/noise.png"; printf '%s' "$i"; } > "$work/one.png"
  curl -sf -o /dev/null -H "Authorization: Bearer $token" -F "file=@$work/one.png;type=image/png" \
    -F "description=noise $i" "$base/api/photos"
done
sleep 2
before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
echo "RSS before the export: $((before / 1024)) MiB"
peak=$before
start=$(date +%s.%N)
curl -sf -o "$work/export.zip" -H "Authorization: Bearer $token" "$base/api/users/me/export" &
cpid=$!
while kill -0 $cpid 2>/dev/null; do
  now=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
  [ "$now" -gt "$peak" ] && peak=$now
  sleep 0.05
done
wait $cpid
end=$(date +%s.%N)
bytes=$(stat -c %s "$work/export.zip")
python3 - "$bytes" "$start" "$end" "$before" "$peak" <<'EOF'
import sys
b, s, e, before, peak = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
print(f"export: {b / 2**30:.2f} GiB in {e - s:.1f} s ({b / 2**20 / (e - s):.0f} MiB/s); "
      f"RSS peak {peak / 1024:.0f} MiB, {(peak - before) / 1024:.0f} MiB above the RSS before it")
EOF
python3 - "$work/export.zip" "$count" <<'EOF'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
assert z.testzip() is None
originals = [n for n in z.namelist() if n.startswith("originals/")]
assert len(originals) == int(sys.argv[2]), len(originals)
print(f"zipfile: {len(z.namelist())} members, CRCs good, {len(originals)} originals")
EOF
