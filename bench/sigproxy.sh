#!/usr/bin/env bash
# Benchmark (not a test): what `hydrant sigproxy` costs. The same local upstream (`hydrant serve`
# on loopback, no authentication, so it answers unsigned and signed requests alike) is loaded
# with wrk directly and through the proxy (which buffers, hashes and SigV4-signs every request),
# in one run; prints requests/s and p50/p99 latency of both, the added latency and the ratio.
#
#   bash bench/sigproxy.sh                 # 5 s per run
#   DURATION=15s CONNS=32 bash bench/sigproxy.sh
#
# Load is bounded: wrk runs for DURATION per measurement (8 measurements) against 127.0.0.1.
# wrk, the proxy and the upstream share this machine's cores: read the numbers as relative.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
DURATION="${DURATION:-5s}"
CONNS="${CONNS:-16}"
THREADS="${THREADS:-2}"

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk (Debian package)" >&2
  if [ "$(id -u)" = 0 ]; then
    (apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)) >/dev/null
  else
    sudo apt-get install -y -qq wrk >/dev/null
  fi
fi
source "$root/bench/lib.sh"
bench_build --bin hydrant
bin="$bin_dir/hydrant"

work="$(mktemp -d)"
cleanup() {
  # `start` runs in a command substitution, so the pids come back through files.
  for f in "$work"/*.pid; do
    [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
  done
  sleep 0.2
  rm -rf "$work"
}
trap cleanup EXIT

# Starts a command with its stderr in $work/$1.log and waits for "listening on http://ADDR".
start() {
  local name="$1"; shift
  "$@" 2>"$work/$name.log" >/dev/null &
  echo "$!" >"$work/$name.pid"
  for _ in $(seq 1 300); do
    local addr
    addr="$(grep -o 'listening on http://[0-9.:]*' "$work/$name.log" | head -1 | sed 's|listening on http://||')" || true
    if [ -n "$addr" ]; then echo "$addr"; return; fi
    sleep 0.1
  done
  echo "$name did not start:" >&2; cat "$work/$name.log" >&2; exit 1
}

upstream="$(HYDRANT_LOG=warn,hydrant=info start serve "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/data")"
proxy="$(start sigproxy env -i PATH="$PATH" HOME="$work" HYDRANT_LOG=warn,hydrant=info \
  AWS_ACCESS_KEY_ID=AKIDBENCHMARK0000001 AWS_SECRET_ACCESS_KEY=bench/secret/key \
  AWS_SESSION_TOKEN=bench-session-token AWS_EC2_METADATA_DISABLED=true \
  "$bin" sigproxy --endpoint "http://$upstream" --region us-east-1 --listen 127.0.0.1:0)"

# A small index to search.
for i in $(seq 1 2000); do
  printf '{"@timestamp":"2026-11-26T10:%02d:%02dZ","level":"%s","msg":"request %d served"}\n' \
    $((i / 60 % 60)) $((i % 60)) "$([ $((i % 10)) = 0 ] && echo error || echo info)" "$i"
done >"$work/records.ndjson"
curl -sf -XPOST "http://$upstream/v1/streams/bench/records?refresh=wait_for" \
  -H 'content-type: application/x-ndjson' --data-binary @"$work/records.ndjson" >/dev/null

# Microseconds from a wrk latency figure (123.45us, 1.20ms, 2.00s).
to_us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else if (v ~ /s$/) print n * 1000000; else print n }'
}

# Runs wrk; prints "rps p50_us p99_us".
measure() {
  local url="$1" conns="$2" threads="$3" out
  wrk -t"$threads" -c"$conns" -d1s "$url" >/dev/null 2>&1 # warm-up: connections, caches
  out="$(wrk -t"$threads" -c"$conns" -d"$DURATION" --latency "$url")"
  if echo "$out" | grep -q 'Non-2xx'; then echo "non-2xx answers from $url:" >&2; echo "$out" >&2; exit 1; fi
  local rps p50 p99
  rps="$(echo "$out" | awk '/^Requests\/sec/ {print $2}')"
  p50="$(to_us "$(echo "$out" | awk '$1 == "50%" {print $2}')")"
  p99="$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")"
  echo "$rps $p50 $p99"
}

echo "sigproxy benchmark: wrk ${DURATION} per run, upstream hydrant serve on $upstream, proxy on $proxy"
echo "machine: $(nproc) cores; wrk, proxy and upstream share them"
printf '\n%-40s %6s %10s %10s %7s %9s %9s %9s %9s %9s %9s\n' target conns \
  "direct/s" "proxy/s" ratio "d.p50us" "p.p50us" "+p50us" "d.p99us" "p.p99us" "+p99us"
for target in "/" "/bench/_search?q=level:error&size=10"; do
  for load in "1 1" "$CONNS $THREADS"; do
    read -r conns threads <<<"$load"
    read -r d_rps d_p50 d_p99 <<<"$(measure "http://$upstream$target" "$conns" "$threads")"
    read -r p_rps p_p50 p_p99 <<<"$(measure "http://$proxy$target" "$conns" "$threads")"
    awk -v t="$target" -v c="$conns" -v dr="$d_rps" -v pr="$p_rps" -v d5="$d_p50" -v p5="$p_p50" \
        -v d9="$d_p99" -v p9="$p_p99" 'BEGIN {
      printf "%-40s %6d %10.0f %10.0f %7.2f %9.0f %9.0f %9.0f %9.0f %9.0f %9.0f\n",
        t, c, dr, pr, pr / dr, d5, p5, p5 - d5, d9, p9, p9 - d9 }'
  done
done
echo
echo "ratio = proxy req/s ÷ direct req/s; +p50/+p99 = latency added by the proxy (µs)"
