#!/usr/bin/env bash
# Ingest benchmark: HTTP → searchable throughput of `hydrant serve` (NDJSON and _bulk, with
# fsync = "always", the default), next to tantivy indexing the same records directly in the
# same run. The ratio shows what durability, HTTP and Hydrant's mapping cost.
#
#   bash bench/ingest.sh            # 500,000 JSON log records (~200 MB)
#   N=2000000 bash bench/ingest.sh  # the 2 M-record reference run
#   N=2000 bash bench/ingest.sh     # seconds-long smoke (what CI runs)
#   SERVE_ENV="MIMALLOC_PURGE_DELAY=1000" bash bench/ingest.sh  # variables for `serve` alone
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
N="${N:-500000}"
FORMAT="${FORMAT:-json}"
CONCURRENCY="${CONCURRENCY:-4}"
BATCH="${BATCH:-1000}"
source "$root/bench/lib.sh"

bench_build --bin hydrant
bench_build -p hydrant-index --example plain_tantivy --example index_bench
bin="$bin_dir/hydrant"
data="$out/ingest-$FORMAT-$N.ndjson"
[ -s "$data" ] || "$bin" loadgen --format "$FORMAT" --parsed --count "$N" --seed 42 --emit "$data"
bytes=$(stat -c %s "$data")

ref_json=$("$bin_dir/examples/plain_tantivy" "$data" 2)
# Hydrant's indexer alone on the same records: the CPU floor of what `serve` does per record,
# committing once at the end, and committing every second as `serve` does (refresh_interval).
indexer_json=$("$bin_dir/examples/index_bench" "$data" 2)
indexer_nrt_json=$("$bin_dir/examples/index_bench" "$data" 2 1)

run_hydrant() { # protocol -> report json path
  local protocol="$1" report="$out/ingest-$1-$N.json"
  # shellcheck disable=SC2086 # SERVE_ENV is a list of NAME=value words
  start_serve ${SERVE_ENV:-}
  "$bin" loadgen --target "$SERVE_URL" --stream bench --protocol "$protocol" --replay "$data" \
    --concurrency "$CONCURRENCY" --batch "$BATCH" --verify --quiet --report-json "$report" >/dev/null
  # The server's CPU for taking, logging, indexing and answering every record (the client's
  # CPU is its own process and not counted).
  python3 - "$report" "$(serve_cpu_seconds)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
r["serve_cpu_seconds"] = float(sys.argv[2])
json.dump(r, open(sys.argv[1], "w"))
PY
  stop_serve
  echo "$report"
}

nd=$(run_hydrant ndjson)
bk=$(run_hydrant bulk)

python3 - "$ref_json" "$nd" "$bk" "$N" "$bytes" "$indexer_json" "$indexer_nrt_json" <<'PY'
import json, sys
ref = json.loads(sys.argv[1])
indexer = json.loads(sys.argv[6])
indexer_nrt = json.loads(sys.argv[7])
rows = [("tantivy directly (reference)", ref["docs"], ref["seconds"], ref["docs_per_sec"], ref["mb_per_sec"], None)]
for name, path in (("hydrant NDJSON, fsync always", sys.argv[2]), ("hydrant _bulk, fsync always", sys.argv[3])):
    r = json.load(open(path))
    secs = r["records_acked"] / r["searchable_records_per_sec"]
    rows.append((name, r["records_acked"], secs, r["searchable_records_per_sec"], r["searchable_mb_per_sec"], r))
print(f"\ningest: {sys.argv[4]} records, {int(sys.argv[5]) / 1e6:.1f} MB (MB = 10^6 bytes), HTTP request to searchable")
print(f"| {'run':<32} | {'docs':>9} | {'seconds':>8} | {'docs/s':>9} | {'MB/s':>7} | {'vs tantivy':>10} | {'lost':>4} | {'dup':>4} | {'ack p99 ms':>10} |")
print(f"|{'-'*34}|{'-'*11}|{'-'*10}|{'-'*11}|{'-'*9}|{'-'*12}|{'-'*6}|{'-'*6}|{'-'*12}|")
for name, docs, secs, dps, mbs, r in rows:
    ratio = f"{dps / ref['docs_per_sec'] * 100:.0f} %"
    lost = "" if r is None else str(r.get("lost", ""))
    dup = "" if r is None else str(r.get("duplicated", ""))
    p99 = "" if r is None else f"{r['latency_ms']['p99']:.1f}"
    print(f"| {name:<32} | {docs:>9} | {secs:>8.2f} | {dps:>9.0f} | {mbs:>7.2f} | {ratio:>10} | {lost:>4} | {dup:>4} | {p99:>10} |")
per_m = lambda cpu, docs: cpu / docs * 1e6
floor = per_m(indexer["cpu_seconds"], indexer["docs"])
print(f"\nCPU seconds per million records (target: serve <= 1.15x the indexer alone)")
print(f"| {'process':<32} | {'CPU s / 1M':>10} | {'vs indexer':>10} |")
print(f"|{'-'*34}|{'-'*12}|{'-'*12}|")
print(f"| {'tantivy directly':<32} | {per_m(ref['cpu_seconds'], ref['docs']):>10.2f} | {per_m(ref['cpu_seconds'], ref['docs']) / floor:>9.2f}x |")
print(f"| {'Hydrant indexer alone':<32} | {floor:>10.2f} | {1:>9.2f}x |")
nrt = per_m(indexer_nrt["cpu_seconds"], indexer_nrt["docs"])
print(f"| {'indexer alone, commit every 1 s':<32} | {nrt:>10.2f} | {nrt / floor:>9.2f}x |")
for name, path in (("serve, NDJSON", sys.argv[2]), ("serve, _bulk", sys.argv[3])):
    r = json.load(open(path))
    c = per_m(r["serve_cpu_seconds"], r["records_acked"])
    print(f"| {name:<32} | {c:>10.2f} | {c / floor:>9.2f}x |  {c / nrt:.2f}x the indexer committing every second")
PY
