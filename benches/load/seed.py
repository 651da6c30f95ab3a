"""Seeds a running PhotoShare for benches/load.sh and writes data.json and data.lua
(ids, slugs, tokens, rating pairs, an upload body) into the work directory."""
import io
import json
import random
import sys
import urllib.request
import uuid

from PIL import Image, ImageDraw

base, work = sys.argv[1], sys.argv[2]
rng = random.Random(7)
WORDS = "sunset harbour street market mountain lake forest night city bridge river snow".split()
TAGS = "travel nature urban people architecture food animals sky".split()


def call(method, path, token=None, body=None, ctype="application/json"):
    headers = {"content-type": ctype}
    if token:
        headers["authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, method=method, data=body, headers=headers)
    with urllib.request.urlopen(req) as res:
        data = res.read()
        return json.loads(data) if data else None


def jpeg(seed, w=800, h=600):
    r = random.Random(seed)
    img = Image.new("RGB", (w, h), tuple(r.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(40):
        x, y = r.randrange(w), r.randrange(h)
        draw.ellipse([x, y, x + r.randrange(20, 200), y + r.randrange(20, 200)],
                     fill=tuple(r.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def multipart(image, description, tags):
    b = uuid.uuid4().hex
    parts = [f"--{b}\r\ncontent-disposition: form-data; name=\"description\"\r\n\r\n{description}\r\n",
             f"--{b}\r\ncontent-disposition: form-data; name=\"tags\"\r\n\r\n{','.join(tags)}\r\n",
             f"--{b}\r\ncontent-disposition: form-data; name=\"file\"; filename=\"p.jpg\"\r\n"
             "content-type: image/jpeg\r\n\r\n"]
    body = "".join(parts).encode() + image + f"\r\n--{b}--\r\n".encode()
    return body, f"multipart/form-data; boundary={b}"


tokens, names = [], []
for i in range(20):
    name = f"loaduser{i}"
    call("POST", "/api/auth/signup", body=json.dumps(
        {"username": name, "email": f"{name}@example.com", "password": "load-password"}).encode())
    t = call("POST", "/api/auth/login", body=json.dumps(
        {"username": name, "password": "load-password"}).encode())
    tokens.append(t["access_token"])
    names.append(name)

ids, slugs, owner = [], [], []
for n in range(200):
    u = n % 20
    body, ctype = multipart(jpeg(n), " ".join(rng.sample(WORDS, 4)), rng.sample(TAGS, 2))
    p = call("POST", "/api/photos", tokens[u], body, ctype)
    ids.append(p["id"])
    slugs.append(p["url"].rsplit("/", 1)[1])
    owner.append(u)
    for c in range(2):
        call("POST", f"/api/photos/{p['id']}/comments", tokens[(u + c + 1) % 20],
             json.dumps({"text": f"comment {c} on {n}"}).encode())
    call("POST", f"/api/photos/{p['id']}/ratings", tokens[(u + 1) % 20],
         json.dumps({"stars": rng.randint(1, 5)}).encode())

# Rating pairs left for the load: (rater, photo) never used and not the owner.
pairs = [(r, i) for i in range(len(ids)) for r in range(20) if r != owner[i] and r != (owner[i] + 1) % 20]
rng.shuffle(pairs)
upload, upload_type = multipart(jpeg(10_000, 640, 480), "uploaded under load", ["load"])
with open(f"{work}/upload.bin", "wb") as f:
    f.write(upload)
data = {"ids": ids, "slugs": slugs, "tokens": tokens, "words": WORDS, "tags": TAGS,
        "pairs": pairs}
json.dump(data, open(f"{work}/data.json", "w"))


def lua(v):
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, (list, tuple)):
        return "{" + ",".join(lua(x) for x in v) + "}"
    return str(v)


with open(f"{work}/data.lua", "w") as f:
    f.write("return {\n")
    for key in ("ids", "slugs", "tokens", "words", "tags"):
        f.write(f"  {key} = {lua(data[key])},\n")
    f.write(f"  pairs = {lua([[r + 1, i + 1] for r, i in pairs])},\n")
    f.write(f"  upload_file = {lua(work + '/upload.bin')},\n  upload_type = {lua(upload_type)},\n")
    f.write("}\n")
