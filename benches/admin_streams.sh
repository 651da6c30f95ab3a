#!/usr/bin/env bash
# What watching the admin console costs the broker: N admin queue streams
# (GET /api/admin/queues/stream, Server-Sent Events) open for D seconds against a
# server on RabbitMQ; prints the queue snapshots the process took from the broker
# (photoshare_queue_queries_total) per second, and the events the streams got.
# Counts, not timings: BENCH_BIN=target/debug/photoshare gives the same figures.
# usage: benches/admin_streams.sh [streams, default "1 10 50"] [seconds, default 30] [amqp url]
set -euo pipefail
cd "$(dirname "$0")/.."
counts=${1:-"1 10 50"}
seconds=${2:-30}
export PHOTOSHARE__QUEUE__AMQP_URL=${3:-amqp://guest:guest@127.0.0.1:5672/%2f}
export PHOTOSHARE__QUEUE__PREFIX="bench_$RANDOM$RANDOM"
export PHOTOSHARE__QUEUE__IDLE_EXPIRY_SECONDS=600
source benches/common.sh
queries() {
  curl -sf "$base/metrics" | awk '/^photoshare_queue_queries_total / {print $2}'
}
out=$(mktemp -d)
for n in $counts; do
  before=$(queries)
  pids=()
  for i in $(seq 1 "$n"); do
    timeout "$seconds" curl -sN "$base/api/admin/queues/stream" \
      -H "Authorization: Bearer $token" >"$out/$n.$i" 2>/dev/null &
    pids+=($!)
  done
  wait "${pids[@]}" || true
  after=$(queries)
  events=$(cat "$out/$n".* | grep -c '^event: queues' || true)
  awk -v n="$n" -v q=$((after - before)) -v s="$seconds" -v e="$events" \
    'BEGIN {printf "%3d streams, %d s: %d broker queries (%.2f/s), %d events (%.1f per stream per s)\n", n, s, q, q/s, e, e/n/s}'
done
rm -rf "$out"
