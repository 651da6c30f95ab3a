#!/usr/bin/env python3
"""Abuse traffic for benches/soak.sh, run beside the well-behaved load: bodies
trickled a byte a second, invented HTTP methods, logins with junk
X-Forwarded-For headers, chunked multipart uploads of thousands of small parts,
JPEGs whose header lies about their size, transformations over the cost budget.
Every class was a way to make the server hold memory, burn CPU or grow a table.
usage: abuse.py BASE_URL TOKEN SECONDS PHOTO_ID   (prints what it was answered)
"""
import collections
import json
import random
import socket
import sys
import threading
import time
import urllib.parse

base, token, seconds, photo = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
host, port = urllib.parse.urlsplit(base).hostname, urllib.parse.urlsplit(base).port
deadline = time.time() + seconds
answers = collections.Counter()
lock = threading.Lock()


def note(kind, status):
    with lock:
        answers[f"{kind} {status}"] += 1


def exchange(raw, timeout=30):
    """Sends raw bytes, returns the status code of the answer (or 'closed')."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(raw)
            head = s.recv(64)
            return head.split(b" ")[1].decode() if head.startswith(b"HTTP/") else "closed"
    except OSError:
        return "closed"


def request(method, path, body=b"", headers=()):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}", "Connection: close",
             f"Content-Length: {len(body)}", *headers, "", ""]
    return "\r\n".join(lines).encode() + body


def trickle():
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=60) as s:
                s.sendall(b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\n"
                          b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
                while time.time() < deadline:
                    time.sleep(1)
                    s.sendall(b" ")
                    s.settimeout(0.01)
                    try:
                        head = s.recv(64)
                        note("trickled body", head.split(b" ")[1].decode() if head else "closed")
                        break
                    except socket.timeout:
                        s.settimeout(60)
        except OSError:
            note("trickled body", "closed")


def invented_methods():
    while time.time() < deadline:
        name = "X" + "".join(random.choice("ABCDEFGHIJKLMNOP") for _ in range(8))
        note("invented method", exchange(request(name, "/healthz")))
        time.sleep(0.02)


def junk_forwarded():
    while time.time() < deadline:
        junk = random.choice([f"10.{random.randrange(256)}.{random.randrange(256)}.1",
                              "".join(random.choice("abcdef:;'<>") for _ in range(30))])
        body = json.dumps({"username": "nobody", "password": "wrong-password"}).encode()
        status = exchange(request("POST", "/api/auth/login", body,
                                  ["Content-Type: application/json", f"X-Forwarded-For: {junk}"]))
        note("junk forwarded login", status)
        time.sleep(0.05)


def many_parts():
    part = b"--B\r\ncontent-disposition: form-data; name=\"tags\"\r\n\r\n" + b"a" * 1000 + b"\r\n"
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=30) as s:
                s.sendall(b"POST /api/photos HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                          b"Authorization: Bearer " + token.encode() + b"\r\n"
                          b"Content-Type: multipart/form-data; boundary=B\r\n"
                          b"Transfer-Encoding: chunked\r\n\r\n")
                for _ in range(2000):
                    s.sendall(b"%x\r\n%s\r\n" % (len(part), part))
                s.sendall(b"0\r\n\r\n")
                head = s.recv(64)
                note("2000-part chunked upload", head.split(b" ")[1].decode() if head else "closed")
        except OSError:
            note("2000-part chunked upload", "closed")
        time.sleep(0.5)


def lying_jpeg():
    # A 16x16 baseline JPEG (made once by Pillow) whose SOF claims 7000x7000.
    from io import BytesIO
    from PIL import Image
    out = BytesIO()
    Image.new("RGB", (16, 16), (120, 20, 40)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = b"\x1b\x58\x1b\x58"
    body = (b"--B\r\ncontent-disposition: form-data; name=\"file\"; filename=\"x.jpg\"\r\n"
            b"content-type: image/jpeg\r\n\r\n" + bytes(data) + b"\r\n--B--\r\n")
    while time.time() < deadline:
        note("lying JPEG", exchange(request("POST", "/api/photos", body,
             [f"Authorization: Bearer {token}", "Content-Type: multipart/form-data; boundary=B"])))
        time.sleep(0.5)


def costly_transformations():
    steps = "/".join(f"c_scale,w_4000/a_{31 + i}" for i in range(6))
    while time.time() < deadline:
        body = json.dumps({"transformation": steps}).encode()
        note("over-budget transformation", exchange(request(
            "POST", f"/api/photos/{photo}/transformations", body,
            [f"Authorization: Bearer {token}", "Content-Type: application/json"])))
        time.sleep(0.2)


threads = [threading.Thread(target=f, daemon=True) for f in
           [trickle] * 16 + [invented_methods, junk_forwarded, many_parts, lying_jpeg,
                             costly_transformations]]
for t in threads:
    t.start()
for t in threads:
    t.join(timeout=max(0, deadline - time.time()) + 90)
for key, n in sorted(answers.items()):
    print(f"  abuse: {key}: {n}")
