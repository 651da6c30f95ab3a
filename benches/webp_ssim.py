"""WebP against JPEG at the same SSIM, for the `medium` display size of every
corpus photo: the server's lossless PNG of the size is the reference; the JPEG
size (q80) sets the SSIM to meet; libwebp (through Pillow, the library our
encoder wraps too) finds the lowest WebP quality that meets it. Also reports
the WebP the server sends. SSIM is Wang et al.'s (luma, 11x11 Gaussian window,
sigma 1.5, K1 0.01, K2 0.03), written out here with NumPy.
usage: webp_ssim.py BASE TOKEN PHOTO.jpg...
"""
import io
import os
import json
import statistics
import sys
import urllib.request

import numpy as np
from PIL import Image


def get(url, token=None):
    req = urllib.request.Request(url)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req) as res:
        return res.read()


def upload(base, token, path):
    boundary = "ssim-bench-boundary"
    data = open(path, "rb").read()
    body = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
        f"filename=\"{path.rsplit('/', 1)[-1]}\"\r\nContent-Type: image/jpeg\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(f"{base}/api/photos", data=body, method="POST")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", f"multipart/form-data; boundary={boundary}")
    with urllib.request.urlopen(req) as res:
        return json.load(res)


def luma(img):
    rgb = np.asarray(img.convert("RGB"), dtype=np.float64)
    return rgb @ np.array([0.299, 0.587, 0.114])


def blur(x, kernel):
    # Separable Gaussian, "valid" region only.
    x = np.apply_along_axis(lambda r: np.convolve(r, kernel, mode="valid"), 1, x)
    return np.apply_along_axis(lambda c: np.convolve(c, kernel, mode="valid"), 0, x)


def ssim(a, b):
    g = np.exp(-((np.arange(11) - 5) ** 2) / (2 * 1.5**2))
    g /= g.sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    mu_a, mu_b = blur(a, g), blur(b, g)
    var_a = blur(a * a, g) - mu_a**2
    var_b = blur(b * b, g) - mu_b**2
    cov = blur(a * b, g) - mu_a * mu_b
    num = (2 * mu_a * mu_b + c1) * (2 * cov + c2)
    den = (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    return float((num / den).mean())


def webp(img, quality):
    out = io.BytesIO()
    img.save(out, "WEBP", quality=quality, method=int(os.environ.get("WEBP_METHOD", "4")))
    return out.getvalue()


def main():
    base, token, photos = sys.argv[1], sys.argv[2], sys.argv[3:]
    ratios, served = [], []
    print("| photo | JPEG q80 bytes | SSIM | WebP at that SSIM: q, bytes | WebP / JPEG | served WebP bytes, SSIM |")
    print("|---|---|---|---|---|---|")
    for path in photos:
        medium = upload(base, token, path)["variants"]["medium"]
        ref_img = Image.open(io.BytesIO(get(f"{medium}?format=png")))
        ref = luma(ref_img)
        jpeg = get(f"{medium}?format=jpeg")
        target = ssim(ref, luma(Image.open(io.BytesIO(jpeg))))
        lo, hi = 1, 100  # the lowest quality whose SSIM meets the JPEG's
        while lo < hi:
            mid = (lo + hi) // 2
            if ssim(ref, luma(Image.open(io.BytesIO(webp(ref_img, mid))))) >= target:
                hi = mid
            else:
                lo = mid + 1
        matched = webp(ref_img, lo)
        ours = get(f"{medium}?format=webp")
        ours_ssim = ssim(ref, luma(Image.open(io.BytesIO(ours))))
        ratio = len(matched) / len(jpeg)
        ratios.append(ratio)
        served.append(len(ours) / len(jpeg))
        print(
            f"| {path.rsplit('/', 1)[-1]} | {len(jpeg)} | {target:.4f} | q{lo}, {len(matched)} "
            f"| {ratio:.2f} | {len(ours)}, {ours_ssim:.4f} |"
        )
    print(f"median WebP / JPEG at equal SSIM: {statistics.median(ratios):.2f}; "
          f"served WebP / JPEG: {statistics.median(served):.2f}")


main()
