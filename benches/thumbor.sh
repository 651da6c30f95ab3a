#!/usr/bin/env bash
# Side by side with thumbor (a real image server people pick), in one run on this
# machine: the same corpus originals, each request a different box between 300
# and 800 px (width and height drawn apart, every URL used once, so no cache
# answers), fit into the box without upscaling, JPEG q80, 2 and 8 concurrent
# clients. Ours is served by signed delivery URLs
# (`/x/s--SIG--/c_limit,h_H,w_W/q_80/{slug}`), thumbor by
# `/unsafe/fit-in/WxH/filters:quality(80):format(jpeg)/{file}` with its file
# loader on the same files and no result storage. Peak RSS is VmHWM, reset
# before each run, summed over thumbor's processes.
# usage: benches/thumbor.sh [seconds per run, default 60] [thumbor processes, default 2]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
procs=${2:-2}
corpus=$(bash benches/corpus.sh bench-corpus)
venv=${THUMBOR_VENV:-.venv-thumbor}
[ -x "$venv/bin/thumbor" ] || { python3 -m venv "$venv" && "$venv/bin/pip" install -q thumbor; }
export PHOTOSHARE__DELIVERY__KEY=bench-delivery-key-0123456789abcdefghijkl
source benches/common.sh
work=$(mktemp -d)
tport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/thumbor.conf" <<CONF
LOADER = 'thumbor.loaders.file_loader'
FILE_LOADER_ROOT_PATH = '$corpus'
STORAGE = 'thumbor.storages.no_storage'
RESULT_STORAGE = None
QUALITY = 80
ALLOW_UNSAFE_URL = True
CONF
"$venv/bin/thumbor" -i 127.0.0.1 --port "$tport" --conf "$work/thumbor.conf" --processes "$procs" -l error &
tpid=$!
# thumbor forks its processes: they are stopped by name of this run's config.
trap 'kill $pid $tpid 2>/dev/null || true; pkill -f "$work/thumbor.conf" 2>/dev/null || true; rm -rf "$dir" "$work"' EXIT
tbase="http://127.0.0.1:$tport"
for _ in $(seq 1 100); do curl -sf "$tbase/healthcheck" >/dev/null && break; sleep 0.2; done

# Our photos: the corpus uploaded once; the canonical spelling learnt from the server.
slugs=()
for f in "$corpus"/*.jpg; do
  p=$(curl -sf -H "Authorization: Bearer $token" -F "file=@$f;type=image/jpeg" "$base/api/photos")
  slugs+=("$(basename "$f"):$(echo "$p" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["url"].rsplit("/",1)[1], d["id"])')")
done
first_id=$(echo "${slugs[0]}" | awk '{print $2}')
template=$(curl -sf -H "Authorization: Bearer $token" -H 'content-type: application/json' \
  -d '{"transformation":"c_limit,w_333,h_444/q_80"}' "$base/api/photos/$first_id/delivery-urls" \
  | python3 -c 'import json,sys; u=json.load(sys.stdin)["url"]; print(u.split("/x/",1)[1].split("/",1)[1].rsplit("/",1)[0])')
echo "our transformation: $template (W=333, H=444)"

# Every URL once: 40,000 distinct (photo, W, H), in the same order for both.
python3 - "$work" "$template" "$PHOTOSHARE__DELIVERY__KEY" "${slugs[@]}" <<'PY'
import base64, hashlib, hmac, random, sys
work, template, key, photos = sys.argv[1], sys.argv[2], sys.argv[3].encode(), sys.argv[4:]
photos = [(p.split(":")[0], p.split(":")[1].split()[0]) for p in photos]
rng = random.Random(13)
boxes = set()
while len(boxes) < 40000:
    boxes.add((rng.choice(photos), rng.randint(300, 800), rng.randint(300, 800)))
boxes = list(boxes)
rng.shuffle(boxes)
with open(f"{work}/ours", "w") as ours, open(f"{work}/thumbor", "w") as th:
    for (name, slug), w, h in boxes:
        t = template.replace("333", str(w)).replace("444", str(h))
        mac = hmac.new(key, f"{t}/{slug}".encode(), hashlib.sha256).digest()
        sig = base64.urlsafe_b64encode(mac).decode().rstrip("=")[:16]
        ours.write(f"/x/s--{sig}--/{t}/{slug}\n")
        th.write(f"/unsafe/fit-in/{w}x{h}/filters:quality(80):format(jpeg)/{name}\n")
PY
# Each wrk thread walks its own stride of the list: no URL is asked twice.
cat > "$work/walk.lua" <<'LUA'
local threads = 0
function setup(thread) thread:set("id", threads); threads = threads + 1 end
function init(args)
  paths = {}
  for line in io.lines(os.getenv("URLS")) do paths[#paths + 1] = line end
  i = id + 1
end
function request()
  local p = paths[i]
  i = i + 2
  return wrk.format("GET", p)
end
LUA
hwm_reset() { for p in "$@"; do echo 5 > "/proc/$p/clear_refs" 2>/dev/null || true; done; }
hwm_sum() { local t=0; for p in "$@"; do t=$((t + $(awk '/VmHWM/ {print $2}' "/proc/$p/status"))); done; echo "$((t / 1024)) MiB"; }
tpids() { echo "$tpid $(pgrep -P "$tpid" | tr '\n' ' ')"; }
curl -sf -o "$work/check.jpg" "$base$(head -1 "$work/ours")"
curl -sf -o "$work/check-t.jpg" "$tbase$(head -1 "$work/thumbor")"
python3 - "$work" <<'PY'
import struct, sys
def size(path):
    b = open(path, "rb").read(); i = 2
    while i < len(b):
        marker, length = b[i + 1], struct.unpack(">H", b[i + 2:i + 4])[0]
        if 0xC0 <= marker <= 0xC2: return struct.unpack(">HH", b[i + 5:i + 9])[::-1]
        i += 2 + length
print("first URL, ours", size(sys.argv[1] + "/check.jpg"), "thumbor", size(sys.argv[1] + "/check-t.jpg"))
PY
offset=1
for clients in 2 8; do
  for server in ours thumbor; do
    # A fresh stretch of the list for every run.
    tail -n +"$offset" "$work/$server" > "$work/run"
    if [ $server = ours ]; then url=$base; watch="$pid"; else url=$tbase; watch=$(tpids); fi
    hwm_reset $watch
    printf '%-7s %s clients, %ss: ' "$server" "$clients" "$secs"
    URLS="$work/run" wrk -t2 -c"$clients" -d"${secs}s" --timeout 10s --latency -s "$work/walk.lua" "$url" > "$work/out"
    echo "$(summary < "$work/out"), timeouts $(awk '/Socket errors/ {t=$NF} END {print t+0}' "$work/out"), peak RSS $(hwm_sum $watch)"
  done
  offset=$((offset + 20000))
done
