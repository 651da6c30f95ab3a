#!/usr/bin/env python3
"""Times the peer image stacks, Pillow and libvips (through pyvips), on the benchmark
corpus, running the same three pipelines as `photoshare transform` does in
benches/transform.sh, so that ours and theirs are measured on one machine in one run.
Each peer is timed in-process (no process start, the file already in memory), one
warm-up call then the median of --runs calls; set VIPS_CONCURRENCY=1 to keep libvips
single-threaded like ours (transform.sh does). The corpus is benches/corpus.sh's:
real photos from Debian's mate-backgrounds package, GPL-2+.

usage: benches/peers.py CORPUS_DIR [--runs 5] [--only IMAGE] [--pipeline NAME]
  --only IMAGE     time one file of the corpus (its name, e.g. wood-5mp.jpg)
  --pipeline NAME  time one pipeline (fill800x600-gray-q80, limit1600-q85,
                   thumb200-circle-png)
needs: Pillow and pyvips (pip install pillow pyvips pyvips-binary)
Prints one tab-separated line per image and pipeline:
  IMAGE  PIPELINE  TRANSFORMATION  pillow X ms  libvips Y ms
"""
import argparse
import glob
import io
import os
import statistics
import sys
import time

from PIL import Image, ImageDraw, ImageOps
import pyvips

# Pipeline name -> the photoshare transformation it stands for.
PIPELINES = {
    "fill800x600-gray-q80": "c_fill,w_800,h_600/e_grayscale/q_80",
    "limit1600-q85": "c_limit,w_1600/q_85",
    "thumb200-circle-png": "c_thumb,w_200,h_200/r_max/f_png",
}


def pil_fill_gray(b):
    im = Image.open(io.BytesIO(b))
    im.draft("RGB", (800, 600))
    im = ImageOps.grayscale(ImageOps.fit(ImageOps.exif_transpose(im).convert("RGB"), (800, 600), Image.LANCZOS))
    out = io.BytesIO()
    im.save(out, "JPEG", quality=80)
    return out.getvalue()


def pil_limit(b):
    im = Image.open(io.BytesIO(b))
    im.draft("RGB", (1600, 1600 * im.height // im.width))
    im = ImageOps.exif_transpose(im).convert("RGB")
    im.thumbnail((1600, 10**6), Image.LANCZOS)
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85)
    return out.getvalue()


def pil_circle(b):
    im = Image.open(io.BytesIO(b))
    im.draft("RGB", (200, 200))
    im = ImageOps.fit(ImageOps.exif_transpose(im).convert("RGB"), (200, 200), Image.LANCZOS).convert("RGBA")
    mask = Image.new("L", (200, 200), 0)
    ImageDraw.Draw(mask).ellipse((0, 0, 199, 199), fill=255)
    im.putalpha(mask)
    out = io.BytesIO()
    im.save(out, "PNG")
    return out.getvalue()


def vips_fill_gray(b):
    im = pyvips.Image.thumbnail_buffer(b, 800, height=600, crop="centre")
    return im.colourspace("b-w").jpegsave_buffer(Q=80)


def vips_limit(b):
    im = pyvips.Image.thumbnail_buffer(b, 1600, height=10**7, size="down")
    return im.jpegsave_buffer(Q=85)


def vips_circle(b):
    im = pyvips.Image.thumbnail_buffer(b, 200, height=200, crop="centre")
    mask = pyvips.Image.svgload_buffer(b'<svg width="200" height="200"><circle cx="100" cy="100" r="100" fill="#fff"/></svg>')
    return im.bandjoin(mask.extract_band(3)).pngsave_buffer()


# Pipeline name -> (Pillow, libvips); each takes the file's bytes, returns the output's.
FUNCS = {
    "fill800x600-gray-q80": (pil_fill_gray, vips_fill_gray),
    "limit1600-q85": (pil_limit, vips_limit),
    "thumb200-circle-png": (pil_circle, vips_circle),
}


def median_ms(fn, b, runs):
    fn(b)
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        fn(b)
        ts.append((time.perf_counter() - t) * 1000)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser(description="Time Pillow and libvips on the benchmark corpus.")
    ap.add_argument("corpus", help="folder made by benches/corpus.sh")
    ap.add_argument("--runs", type=int, default=5, help="timed calls per peer (median), after one warm-up")
    ap.add_argument("--only", metavar="IMAGE", help="one file of the corpus, by name")
    ap.add_argument("--pipeline", choices=sorted(PIPELINES), help="one pipeline")
    a = ap.parse_args()
    if a.runs < 1:
        ap.error("--runs must be at least 1")
    if a.only:
        paths = [os.path.join(a.corpus, os.path.basename(a.only))]
        if not os.path.isfile(paths[0]):
            sys.exit(f"peers.py: {paths[0]} is not a file")
    else:
        paths = sorted(glob.glob(os.path.join(a.corpus, "*.jpg")))
        if not paths:
            sys.exit(f"peers.py: no *.jpg in {a.corpus} (make it with benches/corpus.sh)")
    names = [a.pipeline] if a.pipeline else list(FUNCS)
    pyvips.cache_set_max(0)
    for path in paths:
        with open(path, "rb") as f:
            b = f.read()
        for name in names:
            pf, vf = FUNCS[name]
            print(f"{os.path.basename(path)}\t{name}\t{PIPELINES[name]}"
                  f"\tpillow {median_ms(pf, b, a.runs):.1f} ms\tlibvips {median_ms(vf, b, a.runs):.1f} ms",
                  flush=True)


if __name__ == "__main__":
    main()
