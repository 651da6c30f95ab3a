#!/usr/bin/env python3
"""Writes the camera files the EXIF tests upload (tests/fixtures/exif/), with
Pillow's EXIF writer: an independent implementation from the parser the server
uses (kamadak-exif), so a test passes only when both read the spec the same way.

usage: python3 -m venv /tmp/pil && /tmp/pil/bin/pip install pillow
       /tmp/pil/bin/python scripts/make-exif-fixtures.py tests/fixtures/exif
"""
import io
import struct
import sys
from fractions import Fraction

from PIL import Image, ImageDraw
from PIL.TiffImagePlugin import IFDRational

# Tag numbers (EXIF 2.32): IFD0, Exif IFD, GPS IFD.
MAKE, MODEL, ORIENTATION, SOFTWARE = 0x010F, 0x0110, 0x0112, 0x0131
EXIF_IFD, GPS_IFD = 0x8769, 0x8825
EXPOSURE_TIME, F_NUMBER, ISO = 0x829A, 0x829D, 0x8827
DATE_ORIGINAL, OFFSET_ORIGINAL, FOCAL_LENGTH, LENS_MODEL = 0x9003, 0x9011, 0x920A, 0xA434
GPS_LAT_REF, GPS_LAT, GPS_LON_REF, GPS_LON = 1, 2, 3, 4


def rational(value):
    f = Fraction(value).limit_denominator(10000)
    return IFDRational(f.numerator, f.denominator)


def dms(degrees):
    """Degrees as the (deg, min, sec) rationals a GPS IFD holds."""
    d = int(degrees)
    m = int((degrees - d) * 60)
    s = round((degrees - d - m / 60) * 3600, 4)
    return (rational(d), rational(m), rational(s))


def picture(seed, size=(96, 64)):
    """A small real picture, different for every file (the server refuses the
    same original twice)."""
    img = Image.new("RGB", size)
    draw = ImageDraw.Draw(img)
    for x in range(size[0]):
        draw.line([(x, 0), (x, size[1])], fill=((x * 3 + seed * 40) % 256, (seed * 70) % 256, 255 - x * 2 % 256))
    draw.rectangle([8, 8, 30, 20], fill=(255, 255, 255))
    return img


def exif(make=None, model=None, lens=None, taken=None, offset=None, iso=None,
         f_number=None, exposure=None, focal=None, lat=None, lon=None, orientation=None):
    e = Image.Exif()
    if make:
        e[MAKE] = make
    if model:
        e[MODEL] = model
    if orientation:
        e[ORIENTATION] = orientation
    e[SOFTWARE] = "make-exif-fixtures.py"
    sub = e.get_ifd(EXIF_IFD)
    if taken:
        sub[DATE_ORIGINAL] = taken
    if offset:
        sub[OFFSET_ORIGINAL] = offset
    if iso:
        sub[ISO] = iso
    if f_number:
        sub[F_NUMBER] = rational(f_number)
    if exposure:
        sub[EXPOSURE_TIME] = rational(exposure)
    if focal:
        sub[FOCAL_LENGTH] = rational(focal)
    if lens:
        sub[LENS_MODEL] = lens
    if lat is not None:
        gps = e.get_ifd(GPS_IFD)
        gps[GPS_LAT_REF] = "N" if lat >= 0 else "S"
        gps[GPS_LAT] = dms(abs(lat))
        gps[GPS_LON_REF] = "E" if lon >= 0 else "W"
        gps[GPS_LON] = dms(abs(lon))
    return e


def broken(jpeg):
    """A JPEG whose APP1 says Exif but holds a TIFF header pointing past its end."""
    app1 = b"Exif\0\0" + b"II*\0" + struct.pack("<I", 0x7FFFFFF0) + b"\x05\x00garbage"
    segment = b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1
    return jpeg[:2] + segment + jpeg[2:]


def main(out):
    files = {
        # Western hemisphere, with offset, turned on its side (Orientation 6).
        "canon-new-york.jpg": ("JPEG", picture(1), exif(
            make="Canon", model="Canon EOS 5D Mark IV", lens="EF24-70mm f/2.8L II USM",
            taken="2019:07:04 18:30:00", offset="-04:00", iso=400, f_number=2.8,
            exposure=Fraction(1, 250), focal=50, lat=40.689247, lon=-74.044502, orientation=6)),
        # Southern and eastern hemispheres, a positive offset.
        "pixel-sydney.jpg": ("JPEG", picture(2), exif(
            make="Google", model="Pixel 8", lens="Pixel 8 back camera 6.9mm f/1.68",
            taken="2024:01:15 09:05:30", offset="+11:00", iso=50, f_number=1.7,
            exposure=Fraction(1, 1000), focal=6.9, lat=-33.856784, lon=151.215297)),
        # Southern and western hemispheres, no offset, a long exposure.
        "nikon-rio-no-offset.jpg": ("JPEG", picture(3), exif(
            make="NIKON CORPORATION", model="NIKON D750", taken="2016:05:04 03:02:01",
            iso=100, f_number=8, exposure=Fraction(5, 2), focal=24,
            lat=-22.951916, lon=-43.210487)),
        # EXIF in a PNG eXIf chunk, no position.
        "sony.png": ("PNG", picture(4), exif(
            make="SONY", model="ILCE-7M3", taken="2021:12:24 23:59:59", offset="+01:00",
            iso=3200, f_number=1.8, exposure=Fraction(1, 60), focal=35)),
        # EXIF in a WebP EXIF chunk: a phone with nothing but its name.
        "fuji.webp": ("WEBP", picture(5), exif(make="FUJIFILM", model="X-T4")),
    }
    for name, (fmt, img, e) in files.items():
        options = {"exif": e.tobytes()}
        if fmt == "JPEG":
            options["quality"] = 90
        if fmt == "WEBP":
            options["lossless"] = True
        img.save(f"{out}/{name}", fmt, **options)
    buf = io.BytesIO()
    picture(6).save(buf, "JPEG", quality=90)
    with open(f"{out}/broken-exif.jpg", "wb") as f:
        f.write(broken(buf.getvalue()))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/exif")
