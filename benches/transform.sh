#!/usr/bin/env bash
# `photoshare transform` against Pillow and libvips (benches/peers.py), single
# threaded, on the benchmark corpus of real photos (benches/corpus.sh): median wall
# time of 5 runs per image and pipeline. Ours is timed in process like the peers
# (`photoshare transform --runs`, from the bytes in memory), with the whole process
# (start, read, transform, write) beside it. For each image and pipeline the peers
# are timed and ours right after them, so a machine whose speed drifts during the
# run (a shared VM) shifts both sides of a row alike. Also prints the peak RSS of ours on each image and pipeline (measured
# with GNU time). Writes a table and the geometric-mean speedup. Needs nothing from
# outside the repository but Debian packages (the corpus, GNU time), Pillow and pyvips.
# usage: benches/transform.sh [runs, default 5]   (NO_BUILD=1 skips cargo build)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
corpus=$(bash benches/corpus.sh bench-corpus)
[ -n "${NO_BUILD:-}" ] || cargo build --release --quiet --bin photoshare
python3 -c 'import PIL, pyvips' 2>/dev/null || pip install -q pillow pyvips pyvips-binary
[ -x /usr/bin/time ] || apt-get install -y time >/dev/null   # GNU time, for the peak RSS
VIPS_CONCURRENCY=1 python3 - "$corpus" "$runs" <<'PY'
import glob, math, os, statistics, subprocess, sys, tempfile, time
corpus, runs = sys.argv[1], int(sys.argv[2])
ext = {"fill800x600-gray-q80": "jpg", "limit1600-q85": "jpg", "thumb200-circle-png": "png"}

def peers(image, name):
    """Pillow and libvips on one image and pipeline: (transformation, pillow ms, libvips ms)."""
    line = subprocess.run(
        [sys.executable, "benches/peers.py", corpus, "--runs", str(runs), "--only", image, "--pipeline", name],
        check=True, capture_output=True, text=True).stdout.strip()
    _, _, t, pil, vips = line.split("\t")
    return t, float(pil.split()[1]), float(vips.split()[1])

def ours(image, name, t):
    """photoshare transform, a whole process each run: (median ms, peak RSS MiB)."""
    out = os.path.join(tempfile.gettempdir(), f"ps-bench.{ext[name]}")
    cmd = ["./target/release/photoshare", "transform", os.path.join(corpus, image), out, t]
    # A first, untimed run warms the page cache and gives the peak RSS. It runs under
    # GNU time: Linux keeps a process's peak RSS across exec, so a process started by
    # this Python would report at least this Python's own (about 14 MiB); one started
    # by `time` starts from time's (about 1 MiB).
    warm = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", "/dev/stdout", *cmd],
                          check=True, capture_output=True, text=True)
    peak = int(warm.stdout.split()[-1]) / 1024
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        p = subprocess.Popen(cmd)
        _, status, _ = os.wait4(p.pid, 0)
        elapsed = (time.perf_counter() - start) * 1000
        assert status == 0, f"{cmd} failed"
        times.append(elapsed)
    # In process, from the bytes in memory, like the peers: one more process.
    timed = subprocess.run([*cmd, "--runs", str(runs)], check=True, capture_output=True, text=True)
    inproc = float(timed.stdout.split(":")[-1].split()[0])
    return statistics.median(times), inproc, peak

rows, speedups, wholes = [], [], []
for image in sorted(os.path.basename(p) for p in glob.glob(os.path.join(corpus, "*.jpg"))):
    for name in ext:
        t, pil, vips = peers(image, name)
        whole, mine, peak = ours(image, name, t)
        best = min(pil, vips)
        speedups.append(best / mine)
        wholes.append(best / whole)
        rows.append((image, name, mine, whole, pil, vips, best / mine, peak))
print(f"{'image':34} {'pipeline':22} {'ours ms':>8} {'process':>8} {'Pillow':>8} {'libvips':>8} {'speedup':>8} {'peak RSS':>9}")
for image, name, mine, whole, pil, vips, s, peak in rows:
    print(f"{image:34} {name:22} {mine:8.1f} {whole:8.1f} {pil:8.1f} {vips:8.1f} {s:7.2f}x {peak:6.0f} MiB")
gm = lambda xs: math.exp(sum(math.log(s) for s in xs) / len(xs))
print(f"geometric-mean speedup vs the faster peer, in process: {gm(speedups):.2f}x; slowest case {min(speedups):.2f}x")
print(f"the same with ours as a whole process: {gm(wholes):.2f}x; slowest case {min(wholes):.2f}x")
PY
