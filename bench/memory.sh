#!/usr/bin/env bash
# Memory benchmark: peak RSS of `hydrant serve` under sustained overload, against the bound its
# configuration sets. Delivery never finishes (the backup's object store refuses connections and
# retries for hours), loadgen offers records as fast as it can for DURATION, and the receivers
# must answer 429 instead of growing memory.
#
#   bash bench/memory.sh                     # 30 s of overload
#   DURATION=3s PROFILE=debug bash bench/memory.sh   # smoke
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
DURATION="${DURATION:-30s}"
BUFFERED="${BUFFERED:-64MiB}"
WRITER="${WRITER:-64MiB}"
source "$root/bench/lib.sh"
bench_build --bin hydrant
bin="$bin_dir/hydrant"

start_serve HYDRANT_STORAGE__KIND=s3 HYDRANT_STORAGE__BUCKET=nowhere \
  HYDRANT_STORAGE__ENDPOINT=http://127.0.0.1:9 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y \
  HYDRANT_DEFAULTS__BACKUP__MODE=AllDocuments HYDRANT_DEFAULTS__RETRY_DURATION=2h \
  HYDRANT_DEFAULTS__MAX_BUFFERED_SIZE="$BUFFERED" HYDRANT_DEFAULTS__INDEX__WRITER_MEMORY="$WRITER"
trap stop_serve EXIT

peak_file=$(mktemp)
( peak=0; while kill -0 "$SERVE_PID" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' /proc/"$SERVE_PID"/status 2>/dev/null || echo 0)
    [ "${rss:-0}" -gt "$peak" ] && peak=$rss && echo "$peak" >"$peak_file"
    sleep 0.2
  done ) &
sampler=$!
report="$out/memory.json"
"$bin" loadgen --target "$SERVE_URL" --stream flood --format json --duration "$DURATION" \
  --concurrency 8 --batch 1000 --retry-for 0s --quiet --report-json "$report" >/dev/null || true
hwm=$(awk '/VmHWM/ {print $2}' /proc/"$SERVE_PID"/status)
kill "$sampler" 2>/dev/null || true

python3 - "$report" "$hwm" "$BUFFERED" "$WRITER" <<'PY'
import json, sys, re
r = json.load(open(sys.argv[1]))
hwm_mib = int(sys.argv[2]) / 1024
def mib(s):
    m = re.match(r"([\d.]+)\s*([KMG]i?B)", s)
    v, u = float(m.group(1)), m.group(2)
    return v * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024, "KB": 1 / 1048.576, "MB": 1 / 1.048576, "GB": 953.67}[u]
buffered, writer = mib(sys.argv[3]), mib(sys.argv[4])
# What the configuration allows: the buffered records (also held by the WAL batch in flight),
# the index writer's arena, and a fixed base for the runtime, tantivy readers and HTTP.
bound = 2 * buffered + writer + 128
offered = r["records_sent"]
throttled = sum(v for k, v in r["errors"].items() if "429" in k)
print(f"\nmemory under overload: {r['duration_sec']:.0f} s, {offered} records offered, {r['records_acked']} accepted, {throttled} refused with 429")
print(f"| {'':<28} | {'MiB':>8} |")
print(f"|{'-'*30}|{'-'*10}|")
print(f"| {'peak RSS (VmHWM)':<28} | {hwm_mib:>8.0f} |")
print(f"| {'bound: 2 × buffered + writer + 128':<28} | {bound:>8.0f} |")
print(f"| {'peak / bound':<28} | {hwm_mib / bound * 100:>7.0f}% |")
PY
