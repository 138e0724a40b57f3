#!/usr/bin/env bash
# Ingest benchmark: HTTP → searchable throughput of `hydrant serve` (NDJSON and _bulk, with
# fsync = "always", the default), next to tantivy indexing the same records directly in the
# same run. The ratio shows what durability, HTTP and Hydrant's mapping cost.
#
#   bash bench/ingest.sh            # 500,000 JSON log records (~200 MB)
#   N=2000000 bash bench/ingest.sh  # the 2 M-record reference run
#   N=2000 bash bench/ingest.sh     # seconds-long smoke (what CI runs)
#   ROUNDS=5 bash bench/ingest.sh   # rounds of every contender; the CPU ratios are the median
#   SERVE_ENV="MIMALLOC_PURGE_DELAY=1000" bash bench/ingest.sh  # variables for `serve` alone
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
N="${N:-500000}"
FORMAT="${FORMAT:-json}"
CONCURRENCY="${CONCURRENCY:-4}"
BATCH="${BATCH:-1000}"
ROUNDS="${ROUNDS:-3}"
source "$root/bench/lib.sh"

bench_build --bin hydrant
bench_build -p hydrant-index --example plain_tantivy --example index_bench
bin="$bin_dir/hydrant"
data="$out/ingest-$FORMAT-$N.ndjson"
[ -s "$data" ] || "$bin" loadgen --format "$FORMAT" --parsed --count "$N" --seed 42 --emit "$data"
bytes=$(stat -c %s "$data")

run_hydrant() { # protocol round -> report json path
  local protocol="$1" report="$out/ingest-$1-$N-$2.json"
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

# ROUNDS rounds, each running every contender once, one after another: the CPU a process
# takes for the same work moves by up to 40 % between minutes on a shared machine, so each
# ratio is taken within its round and the rounds' median is the figure.
rounds=()
for round in $(seq 1 "$ROUNDS"); do
  ref_json=$("$bin_dir/examples/plain_tantivy" "$data" 2)
  # Hydrant's indexer alone on the same records: the CPU floor of what `serve` does per
  # record, committing once at the end, and committing every second as `serve` does
  # (refresh_interval).
  indexer_json=$("$bin_dir/examples/index_bench" "$data" 2)
  indexer_nrt_json=$("$bin_dir/examples/index_bench" "$data" 2 1)
  nd=$(run_hydrant ndjson "$round")
  bk=$(run_hydrant bulk "$round")
  rounds+=("$(python3 -c 'import json, sys; print(json.dumps(dict(zip(["ref", "indexer", "indexer_nrt"], map(json.loads, sys.argv[1:4])), nd=sys.argv[4], bk=sys.argv[5])))' \
    "$ref_json" "$indexer_json" "$indexer_nrt_json" "$nd" "$bk")")
done

python3 - "$N" "$bytes" "${rounds[@]}" <<'PY'
import json, statistics, sys
n, size = sys.argv[1], int(sys.argv[2])
rounds = [json.loads(a) for a in sys.argv[3:]]
for r in rounds:
    r["nd"], r["bk"] = json.load(open(r["nd"])), json.load(open(r["bk"]))
print(f"\ningest: {n} records, {size / 1e6:.1f} MB (MB = 10^6 bytes), HTTP request to searchable, {len(rounds)} round(s); throughput of the median round by tantivy's time")
mid = sorted(rounds, key=lambda r: r["ref"]["seconds"])[len(rounds) // 2]
ref = mid["ref"]
print(f"| {'run':<32} | {'docs':>9} | {'seconds':>8} | {'docs/s':>9} | {'MB/s':>7} | {'vs tantivy':>10} | {'lost':>4} | {'dup':>4} | {'ack p99 ms':>10} |")
print(f"|{'-'*34}|{'-'*11}|{'-'*10}|{'-'*11}|{'-'*9}|{'-'*12}|{'-'*6}|{'-'*6}|{'-'*12}|")
rows = [("tantivy directly (reference)", ref["docs"], ref["seconds"], ref["docs_per_sec"], ref["mb_per_sec"], None)]
for name, r in (("hydrant NDJSON, fsync always", mid["nd"]), ("hydrant _bulk, fsync always", mid["bk"])):
    secs = r["records_acked"] / r["searchable_records_per_sec"]
    rows.append((name, r["records_acked"], secs, r["searchable_records_per_sec"], r["searchable_mb_per_sec"], r))
for name, docs, secs, dps, mbs, r in rows:
    ratio = f"{dps / ref['docs_per_sec'] * 100:.0f} %"
    lost = "" if r is None else str(r.get("lost", ""))
    dup = "" if r is None else str(r.get("duplicated", ""))
    p99 = "" if r is None else f"{r['latency_ms']['p99']:.1f}"
    print(f"| {name:<32} | {docs:>9} | {secs:>8.2f} | {dps:>9.0f} | {mbs:>7.2f} | {ratio:>10} | {lost:>4} | {dup:>4} | {p99:>10} |")

per_m = lambda cpu, docs: cpu / docs * 1e6
def cpu(r, key):
    x = r[key]
    if key in ("nd", "bk"):
        return per_m(x["serve_cpu_seconds"], x["records_acked"])
    return per_m(x["cpu_seconds"], x["docs"])
names = [("tantivy directly", "ref"), ("Hydrant indexer alone", "indexer"),
         ("indexer alone, commit every 1 s", "indexer_nrt"), ("serve, NDJSON", "nd"), ("serve, _bulk", "bk")]
print(f"\nCPU seconds per million records, each round's ratio to the indexer alone in that round (target: serve <= 1.15x)")
head = "".join(f" {'round ' + str(k + 1):<15} |" for k in range(len(rounds)))
print(f"| {'process':<32} |{head} {'median ratio':>12} |")
print(f"|{'-'*34}|{('-'*17 + '|') * len(rounds)}{'-'*14}|")
for name, key in names:
    ratios = [cpu(r, key) / cpu(r, "indexer") for r in rounds]
    cells = "".join(f" {cpu(r, key):>7.2f} ({x:>4.2f}x) |" for r, x in zip(rounds, ratios))
    print(f"| {name:<32} |{cells} {statistics.median(ratios):>11.2f}x |")
PY
