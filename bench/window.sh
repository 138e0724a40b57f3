#!/usr/bin/env bash
# Time windows over logs shipped in time order, as live logs arrive: a 30-minute window at
# several distances back, asked of `hydrant serve` with a date_histogram by minute. The
# newest windows lie in small segments; the older ones cut through the large segments merges
# made, where a `range` on `@timestamp` reads only the zones (4,096 rows) whose times overlap
# it. With BASE (a binary built from an earlier commit), both builds answer the same questions
# on the same data directory, in turn, and the ratio is printed; p50 of Hydrant's own time
# (its Server-Timing header). Last, Discover's question over the whole day: a service's newest
# 50 logs with the total and a histogram, where hits newest first read ahead in each segment's
# newest zones and skip the older ones.
#
#   bash bench/window.sh                                  # 2,000,000 records over one day
#   BASE=/tmp/hydrant-before bash bench/window.sh         # against an earlier build
#   N=5000 RUNS=3 PROFILE=debug bash bench/window.sh      # seconds-long smoke (what CI runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
N="${N:-2000000}"
RUNS="${RUNS:-50}"
ROUNDS="${ROUNDS:-2}"
source "$root/bench/lib.sh"

bench_build --bin hydrant
bin="$bin_dir/hydrant"
dir="$out/window-$N-$PROFILE"
mkdir -p "$dir"
if [ ! -s "$dir/sorted.ndjson" ]; then
  "$bin" loadgen --format json --count "$N" --backfill 1d --seed 7 --emit "$dir/raw.ndjson" >/dev/null
  # Each record starts with its `@timestamp` (RFC 3339, UTC): byte order is time order.
  LC_ALL=C sort -S 1G "$dir/raw.ndjson" >"$dir/sorted.ndjson"
  rm "$dir/raw.ndjson"
fi
export SERVE_DATA_DIR="$dir/data"
if [ ! -d "$SERVE_DATA_DIR" ]; then
  start_serve
  "$bin" loadgen --target "$SERVE_URL" --stream logs --protocol bulk --replay "$dir/sorted.ndjson" \
    --concurrency 4 --batch 1000 --verify --quiet >/dev/null
  stop_serve
fi

ask() { # label
  python3 - "$SERVE_URL" "$RUNS" "$1" <<'PY'
import json, statistics, sys, urllib.request
url, runs, label = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def post(body):
    req = urllib.request.Request(f"{url}/logs-*/_search?request_cache=false", json.dumps(body).encode(),
                                 {"content-type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.load(r), float(r.headers["server-timing"].split("dur=")[1])
last = post({"size": 0, "aggs": {"m": {"max": {"field": "@timestamp"}}}})[0]["aggregations"]["m"]["value"]
row = {}
for hours in (0.5, 6, 13, 18):
    since = int(last - hours * 3_600_000)
    body = {"size": 0, "track_total_hits": True,
            "query": {"range": {"@timestamp": {"gte": since, "lt": since + 1_800_000, "format": "epoch_millis"}}},
            "aggs": {"m": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1m"}}}}
    times = [post(body)[1] for _ in range(runs + 2)][2:]
    row[f"{hours} h back"] = statistics.median(times)
# Discover's search over the whole day: the newest 50 of a service's logs, the total and a
# histogram by 30 minutes (hits by time read ahead in the newest zones of each segment).
day = {"range": {"@timestamp": {"gte": int(last - 86_400_000), "lte": int(last), "format": "epoch_millis"}}}
body = {"size": 50, "track_total_hits": True, "sort": [{"@timestamp": "desc"}],
        "query": {"bool": {"must": [{"query_string": {"query": "service:checkout"}}], "filter": [day]}},
        "aggs": {"h": {"date_histogram": {"field": "@timestamp", "fixed_interval": "30m"}}}}
times = [post(body)[1] for _ in range(runs + 2)][2:]
row["newest 50 of a service, the day"] = statistics.median(times)
print(json.dumps({"label": label, "p50_ms": row}))
PY
}

results=()
for _ in $(seq 1 "$ROUNDS"); do
  for build in ${BASE:+base} current; do
    if [ "$build" = base ]; then SERVE_BIN="$BASE" start_serve; else start_serve; fi
    results+=("$(ask "$build")")
    stop_serve
  done
done
python3 - "${results[@]}" <<'PY'
import json, statistics, sys
rows = [json.loads(a) for a in sys.argv[1:]]
builds = sorted({r["label"] for r in rows}, key=lambda b: b != "base")
print("\n30-minute windows by minute, and Discover's newest 50 over the day; p50 of Hydrant's own time")
print("(Server-Timing), median of rounds")
print("| question | " + " | ".join(builds) + (" | current / base |" if len(builds) > 1 else " |"))
print("|---|" + "---|" * (len(builds) + (len(builds) > 1)))
for hours in rows[0]["p50_ms"]:
    p = {b: statistics.median(r["p50_ms"][hours] for r in rows if r["label"] == b) for b in builds}
    cells = " | ".join(f"{p[b]:.2f} ms" for b in builds)
    ratio = f" | {p['current'] / p['base']:.2f}x" if len(builds) > 1 else ""
    print(f"| {hours} | {cells}{ratio} |")
PY
