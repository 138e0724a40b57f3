#!/usr/bin/env bash
# Dashboards against ingest: the rate `hydrant serve` ingests at alone, and while 8 dashboards
# refresh every 5 s over the query benchmark's records (issue 19: a burst of dashboard queries
# must not starve ingest). Each dashboard is the query bench's 6 aggregation panels in one
# `_msearch`, with a time range that moves on every refresh as Grafana's and Kibana's do (the
# last 24 hours up to now, in epoch milliseconds), so the request cache cannot answer it.
#
#   N=1000000 bash bench/contention.sh          # over the 1 M-record query data set
#   N=5000 DURATION=3s PROFILE=debug bash bench/contention.sh   # smoke
#
# Uses (and, if missing, makes with bench/query.sh) the data set of bench/query.sh for N; the
# records ingested here go to a stream `live` that is deleted at the end.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
N="${N:-1000000}"
DURATION="${DURATION:-20s}"
DASHBOARDS="${DASHBOARDS:-8}"
source "$root/bench/lib.sh"

dir="$out/query-$N-$PROFILE"
if [ ! -f "$dir/.complete" ]; then
  N="$N" RUNS=1 OPENSEARCH=false bash "$root/bench/query.sh" >/dev/null
fi
bench_build --bin hydrant
bin="$bin_dir/hydrant"
py="$root/.venv/bin/python"

SERVE_DATA_DIR="$dir/data" start_serve
trap stop_serve EXIT
url="$SERVE_URL"

ingest() {
  "$bin" loadgen --target "$url" --stream live --protocol bulk --format json --duration "$DURATION" \
    --concurrency 4 --batch 1000 --verify --quiet --report-json "$1" >/dev/null
}

work=$(mktemp -d)
trap 'stop_serve; rm -rf "$work"' EXIT
ingest "$work/alone.json"
"$py" "$root/bench/dashboards.py" "$url" bench "$DASHBOARDS" 5 "$work/stop" >"$work/dash.json" &
dash=$!
ingest "$work/busy.json"
touch "$work/stop"
wait "$dash"
# By name: wildcards are refused while ingest.destructive_requires_name is on.
for index in $(curl -sf "$url/_cat/indices/live*?h=index"); do
  curl -sf -XDELETE "$url/$index" >/dev/null
done

"$py" - "$work/alone.json" "$work/busy.json" "$work/dash.json" "$DASHBOARDS" <<'PY'
import json, sys
alone, busy, dash = (json.load(open(p)) for p in sys.argv[1:4])
n = int(sys.argv[4])
# Searchable: every acknowledged record found by _count, over the time from the first request.
searchable = lambda r: r["records_acked"] / (r["duration_sec"] + r["verify"]["searchable_after_sec"])
print(f"\ningest with {n} dashboards refreshing every 5 s (bulk, 4 connections, 1,000 records per request)")
print("| ingest | acknowledged/s | searchable/s | acknowledged | lost | ack p99 |")
print("|---|---|---|---|---|---|")
for name, r in (("alone", alone), (f"with {n} dashboards", busy)):
    print(
        f"| {name} | {r['records_per_sec']:,.0f} | {searchable(r):,.0f} | {r['records_acked']:,} "
        f"| {r['lost']} | {r['latency_ms']['p99']:.0f} ms |"
    )
print(f"with dashboards / alone: acknowledged {busy['records_per_sec'] / alone['records_per_sec']:.2f}x, "
      f"searchable {searchable(busy) / searchable(alone):.2f}x")
print(f"dashboards during ingest: {dash['loads']} loads, p50 {dash['p50_ms']:.0f} ms, p99 {dash['p99_ms']:.0f} ms, "
      f"{dash['errors']} failed")
if alone["lost"] or busy["lost"] or dash["errors"]:
    sys.exit("records lost or dashboard loads failed")
PY
