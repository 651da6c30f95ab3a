#!/usr/bin/env bash
# Uploads on the embedded stack (release build, loopback), in one run:
#  1. 20 MiB originals, one at a time: multipart POST /api/photos (Python requests)
#     against tus in 5 MiB chunks (the stock tuspy client), the same number of
#     files each, every file distinct (the server refuses a second copy);
#  2. 16 tus uploads of 20 MiB at once, sampling the server's RSS every 20 ms;
#  3. `photoshare upload` of 1,000 small photos (--jobs 8), then the same folder
#     again, which skips all of them by sha256.
# Needs .venv-clients with tuspy (as .ci/run makes it). With S3=1 the media (and
# so the unfinished uploads) live on Garage, started by scripts/garage.sh.
# usage: benches/uploads.sh          (FILES=N originals per way, default 8)
set -euo pipefail
cd "$(dirname "$0")/.."
files=${FILES:-8}
py=.venv-clients/bin/python
"$py" -c 'import tusclient, requests' 2>/dev/null || .venv-clients/bin/pip install -q 'tuspy==1.1.0'
work=$(mktemp -d)
GARAGE_PID=
if [ -n "${S3:-}" ]; then
  source benches/garage-media.sh "$work/garage"
  echo "media on Garage (S3)"
fi
source benches/common.sh
trap 'kill $pid $GARAGE_PID 2>/dev/null || true; kill $sampler 2>/dev/null || true; rm -rf "$dir" "$work"' EXIT
sampler=0

# 20 MiB noise PNGs (deflate level 0: 20.0 MB that decode as 6.7 MP), all distinct.
"$py" - "$work" $((files * 2 + 16)) <<'EOF'
import os, struct, sys, zlib
out, n = sys.argv[1], int(sys.argv[2])
w, h = 2560, 2730
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for i in range(n):
    raw = b"".join(b"\x00" + os.urandom(w * 3) for _ in range(h))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw, 0)) + chunk(b"IEND", b"")
    open(f"{out}/big{i:03}.png", "wb").write(png)
EOF
echo "file size: $(stat -c %s "$work/big000.png") bytes"

"$py" - "$base" "$token" "$work" "$files" <<'EOF'
import glob, sys, time
import requests
from tusclient import client
base, token, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
big = sorted(glob.glob(f"{work}/big*.png"))
auth = {"Authorization": f"Bearer {token}"}
def multipart(path):
    with open(path, "rb") as f:
        r = requests.post(f"{base}/api/photos", headers=auth, files={"file": ("big.png", f, "image/png")})
    assert r.status_code == 201, r.text
def tus(path):
    up = client.TusClient(f"{base}/api/uploads", headers=auth).uploader(path, chunk_size=5 << 20)
    up.upload()
    assert up.request.response_headers.get("photoshare-photo-id"), up.request.response_headers
results = {}
for name, send, paths in [("multipart", multipart, big[:n]), ("tus, 5 MiB chunks", tus, big[n:2 * n])]:
    send(paths[0])  # warm-up, not counted
    start = time.perf_counter()
    for p in paths[1:]:
        send(p)
    secs = time.perf_counter() - start
    mib = sum(__import__("os").path.getsize(p) for p in paths[1:]) / (1 << 20)
    results[name] = mib / secs
    print(f"{name}: {len(paths) - 1} x 20 MiB in {secs:.2f} s = {mib / secs:.1f} MiB/s")
ratio = results["tus, 5 MiB chunks"] / results["multipart"]
print(f"tus / multipart throughput: {ratio * 100:.0f} %")
EOF

# Sixteen at once, the server's RSS sampled throughout.
before=$(awk '/VmRSS/ {print $2}' /proc/$pid/status)
(peak=0; while kill -0 $pid 2>/dev/null; do
   now=$(awk '/VmRSS/ {print $2}' /proc/$pid/status); [ "$now" -gt "$peak" ] && peak=$now && echo "$peak" > "$work/peak"
   sleep 0.02; done) &
sampler=$!
start=$(date +%s.%N)
"$py" - "$base" "$token" "$work" "$files" <<'EOF'
import glob, sys
from concurrent.futures import ThreadPoolExecutor
from tusclient import client
base, token, work, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
paths = sorted(glob.glob(f"{work}/big*.png"))[2 * n:2 * n + 16]
def tus(path):
    up = client.TusClient(f"{base}/api/uploads", headers={"Authorization": f"Bearer {token}"}).uploader(path, chunk_size=5 << 20)
    up.upload()
    return up.request.response_headers.get("photoshare-photo-id")
with ThreadPoolExecutor(16) as pool:
    ids = list(pool.map(tus, paths))
assert all(ids) and len(set(ids)) == 16, ids
EOF
secs=$(echo "$(date +%s.%N) - $start" | bc)
sleep 0.2
kill $sampler 2>/dev/null || true
echo "16 concurrent tus uploads of 20 MiB: ${secs} s; server RSS before $((before / 1024)) MiB, peak $(( $(cat "$work/peak") / 1024 )) MiB"

# The command line: 1,000 small photos, then the same again.
"$py" - "$work/small" <<'EOF'
import os, struct, sys, zlib
out = sys.argv[1]; os.makedirs(out)
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
for i in range(1000):
    w = h = 48
    raw = b"".join(b"\x00" + os.urandom(w * 3) for _ in range(h))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    open(f"{out}/{i // 100:02}-{i:04}.png", "wb").write(png)
EOF
export PHOTOSHARE_USERNAME=bench PHOTOSHARE_PASSWORD=bench-password
for run in first second; do
  start=$(date +%s.%N)
  out=$("$bin" upload "$work/small" --server "$base" --jobs 8 --state "$work/state.json" 2>/dev/null | tail -1)
  secs=$(echo "$(date +%s.%N) - $start" | bc)
  echo "photoshare upload, $run run of 1,000 photos: $out in ${secs} s ($(echo "1000 / $secs" | bc) files/s)"
done
echo "server RSS at the end: $(rss)"
