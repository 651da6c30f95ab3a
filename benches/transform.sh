#!/usr/bin/env bash
# `photoshare transform` against Pillow and libvips (../shared/bench/peers.py), single
# threaded, on the benchmark corpus (real photos): median wall time of 5 runs per
# image and pipeline. Ours is a whole process (start, read, transform, write); the
# peers are timed in-process, so the comparison leans their way. Also prints the
# peak RSS of ours on each image. Writes a table and the geometric-mean speedup.
# usage: benches/transform.sh [runs, default 5]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shared=../shared/bench
corpus=$(bash "$shared/corpus.sh" bench-corpus)
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin photoshare
python3 -c 'import PIL, pyvips' 2>/dev/null || pip install -q pillow pyvips pyvips-binary
peers=$(mktemp)
VIPS_CONCURRENCY=1 python3 "$shared/peers.py" "$corpus" --runs "$runs" > "$peers"
python3 - "$corpus" "$peers" "$runs" <<'PY'
import math, os, statistics, subprocess, sys, tempfile, time
corpus, peers_file, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
ext = {"fill800x600-gray-q80": "jpg", "limit1600-q85": "jpg", "thumb200-circle-png": "png"}
rows, speedups = [], []
for line in open(peers_file):
    image, name, t, pil, vips = line.rstrip("\n").split("\t")
    pil = float(pil.split()[1]); vips = float(vips.split()[1])
    out = os.path.join(tempfile.gettempdir(), f"ps-bench.{ext[name]}")
    cmd = ["./target/release/photoshare", "transform", os.path.join(corpus, image), out, t]
    times, peak = [], 0
    for i in range(runs + 1):
        start = time.perf_counter()
        p = subprocess.Popen(cmd)
        _, status, usage = os.wait4(p.pid, 0)
        elapsed = (time.perf_counter() - start) * 1000
        assert status == 0, f"{cmd} failed"
        peak = max(peak, usage.ru_maxrss / 1024)
        if i:
            times.append(elapsed)
    ours = statistics.median(times)
    best = min(pil, vips)
    speedups.append(best / ours)
    rows.append((image, name, ours, pil, vips, best / ours, peak))
print(f"{'image':34} {'pipeline':22} {'ours ms':>8} {'Pillow':>8} {'libvips':>8} {'speedup':>8} {'peak RSS':>9}")
for image, name, ours, pil, vips, s, peak in rows:
    print(f"{image:34} {name:22} {ours:8.1f} {pil:8.1f} {vips:8.1f} {s:7.2f}x {peak:6.0f} MiB")
gm = math.exp(sum(math.log(s) for s in speedups) / len(speedups))
print(f"geometric-mean speedup vs the faster peer: {gm:.2f}x; slowest case {min(speedups):.2f}x")
PY
rm -f "$peers"
