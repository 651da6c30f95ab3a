"""WebP against JPEG at the same SSIM, for the `medium` display size of every
corpus photo: the server's lossless PNG of the size is the reference; the JPEG
size (q80) sets the SSIM to meet; then the lowest WebP quality that meets it is
found twice: with our encoder (the server's own WebP of the same transformation
at `q_N`, through signed delivery URLs) and with libwebp's default settings
(through Pillow). Also reports the WebP the server sends by default (q80). SSIM is Wang et al.'s (luma, 11x11 Gaussian window,
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


def post_json(url, token, body):
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as res:
        return json.load(res)


def lowest_quality(meets):
    lo, hi = 1, 100  # the lowest quality whose SSIM meets the JPEG's
    while lo < hi:
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid + 1
    return lo


def main():
    base, token, photos = sys.argv[1], sys.argv[2], sys.argv[3:]
    ratios, defaults, served = [], [], []
    print("| photo | JPEG q80 bytes | its SSIM | our WebP at that SSIM | WebP / JPEG | libwebp defaults at that SSIM | WebP / JPEG | served WebP: bytes, SSIM |")
    print("|---|---|---|---|---|---|---|---|")
    for path in photos:
        photo = upload(base, token, path)
        medium = photo["variants"]["medium"]
        ref_img = Image.open(io.BytesIO(get(f"{medium}?format=png")))
        ref = luma(ref_img)
        jpeg = get(f"{medium}?format=jpeg")
        target = ssim(ref, luma(Image.open(io.BytesIO(jpeg))))

        def ours(q):
            t = {"transformation": f"c_limit,w_1280,h_1280/q_{q}"}
            url = post_json(f"{base}/api/photos/{photo['id']}/delivery-urls", token, t)["url"]
            return get(f"{url}?format=webp")

        q_ours = lowest_quality(lambda q: ssim(ref, luma(Image.open(io.BytesIO(ours(q))))) >= target)
        matched = ours(q_ours)
        q_default = lowest_quality(
            lambda q: ssim(ref, luma(Image.open(io.BytesIO(webp(ref_img, q))))) >= target)
        default = webp(ref_img, q_default)
        sent = get(f"{medium}?format=webp")
        sent_ssim = ssim(ref, luma(Image.open(io.BytesIO(sent))))
        ratios.append(len(matched) / len(jpeg))
        defaults.append(len(default) / len(jpeg))
        served.append(len(sent) / len(jpeg))
        print(
            f"| {path.rsplit('/', 1)[-1]} | {len(jpeg)} | {target:.4f} | q{q_ours}, {len(matched)} "
            f"| {ratios[-1]:.2f} | q{q_default}, {len(default)} | {defaults[-1]:.2f} "
            f"| {len(sent)}, {sent_ssim:.4f} |"
        )
    print(f"median WebP / JPEG at equal SSIM: ours {statistics.median(ratios):.3f}, "
          f"libwebp defaults {statistics.median(defaults):.3f}; "
          f"served WebP / JPEG: {statistics.median(served):.3f}")


main()
