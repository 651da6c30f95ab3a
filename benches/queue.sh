#!/usr/bin/env bash
# Queue throughput end to end through RabbitMQ: a release server with 2 worker
# threads (PHOTOSHARE__QUEUE__WORKERS=2), one 640x480 JPEG, N links with distinct
# small transformations (w_64 ... ) created as fast as the API takes them; prints
# jobs/s from the first POST to the last `done`, and p50/p99 of (completed_at -
# created_at) per link.
# usage: benches/queue.sh [links, default 500] [amqp url]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-500}
export PHOTOSHARE__QUEUE__AMQP_URL=${2:-amqp://guest:guest@127.0.0.1:5672/%2f}
export PHOTOSHARE__QUEUE__PREFIX="bench_$RANDOM$RANDOM"
export PHOTOSHARE__QUEUE__IDLE_EXPIRY_SECONDS=600
export PHOTOSHARE__QUEUE__WORKERS=2
source benches/common.sh
python3 - "$base" "$token" "$n" <<'PY'
import io, json, statistics, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from PIL import Image
base, token, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def call(method, path, body=None, ctype="application/json"):
    req = urllib.request.Request(base + path, data=body, method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": ctype})
    with urllib.request.urlopen(req) as r:
        return r.status, json.load(r)
img = io.BytesIO(); Image.new("RGB", (640, 480), (200, 90, 40)).save(img, "JPEG")
boundary = "bench"
body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.jpg\"\r\n"
        "Content-Type: image/jpeg\r\n\r\n").encode() + img.getvalue() + f"\r\n--{boundary}--\r\n".encode()
_, photo = call("POST", "/api/photos", body, f"multipart/form-data; boundary={boundary}")
start = time.perf_counter()
def create(i):
    status, link = call("POST", f"/api/photos/{photo['id']}/transformations",
                        json.dumps({"transformation": f"c_fill,w_{64 + i},h_64/q_70"}).encode())
    assert status == 202, status
    return link["id"]
with ThreadPoolExecutor(8) as pool:
    ids = list(pool.map(create, range(n)))
posted = time.perf_counter() - start
pending = set(ids); links = {}
while pending:
    for i in list(pending):
        _, link = call("GET", f"/api/transformations/{i}")
        if link["status"] != "pending":
            links[i] = link; pending.discard(i)
    time.sleep(0.05)
total = time.perf_counter() - start
t = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
lat = sorted((t(l["completed_at"]) - t(l["created_at"])).total_seconds() * 1000 for l in links.values())
done = sum(1 for l in links.values() if l["status"] == "done")
print(f"{n} links: all POSTs answered in {posted:.2f} s; {done} done, {n - done} failed")
print(f"throughput: {n / total:.0f} jobs/s end to end (2 worker threads)")
print(f"POST -> done: p50 {lat[len(lat)//2]:.0f} ms, p99 {lat[int(len(lat)*0.99)-1]:.0f} ms (includes the queue backlog)")
PY
