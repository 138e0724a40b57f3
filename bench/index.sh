#!/usr/bin/env bash
# Index benchmark: Hydrant's indexer alone (doc mapping, rotation, routing, checkpoints) next to
# tantivy used directly with a plain schema, on the real samples of tests/data/logs scaled
# up with varied timestamps, in the same run.
#
#   bash bench/index.sh             # ≥ 1 GB (the reference run)
#   MB=5 ROUNDS=1 bash bench/index.sh    # quick smoke (what CI runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
MB="${MB:-1100}"
THREADS="${THREADS:-2}"
source "$root/bench/lib.sh"
data="$out/samples-${MB}MB.ndjson"

bench_build -p hydrant-index --example index_bench --example plain_tantivy

if [ ! -s "$data" ]; then
  python3 - "$root/tests/data/logs" "$data" "$MB" <<'PY'
import json, sys, os, datetime
src, dst, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
apache = open(os.path.join(src, "elastic-examples/apache_logs"), encoding="utf-8").read().splitlines()
nginx = open(os.path.join(src, "elastic-examples/nginxplus_json_logs"), encoding="utf-8").read().splitlines()
start = datetime.datetime(2026, 11, 1, tzinfo=datetime.timezone.utc)
target, written, i = mb * 1_000_000, 0, 0
with open(dst, "w", encoding="utf-8") as f:
    while written < target:
        # Real lines, repeated in time order, 100 ms apart: a live stream over a few days.
        ts = (start + datetime.timedelta(milliseconds=i * 100)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if i % 20 == 19:
            rec = json.loads(nginx[i % len(nginx)])
            rec["@timestamp"] = ts
        else:
            rec = {"@timestamp": ts, "message": apache[i % len(apache)]}
        line = json.dumps(rec, separators=(",", ":"))
        f.write(line + "\n")
        written += len(line) + 1
        i += 1
PY
fi

# This machine's two cores are shared, so one pair of runs can be off by 10-20 %: ROUNDS pairs,
# alternating, and the median of the per-round ratios.
ROUNDS="${ROUNDS:-3}"
[ "$ROUNDS" -ge 1 ] || { echo "ROUNDS must be at least 1" >&2; exit 2; }
runs=()
for round in $(seq 1 "$ROUNDS"); do
  runs+=("$("$bin_dir/examples/plain_tantivy" "$data" "$THREADS")")
  runs+=("$("$bin_dir/examples/index_bench" "$data" "$THREADS")")
done
python3 - "$THREADS" "${runs[@]}" <<'PY'
import json, statistics, sys
threads = int(sys.argv[1])
runs = [json.loads(r) for r in sys.argv[2:]]
pairs = list(zip(runs[0::2], runs[1::2]))
ref0 = pairs[0][0]
print(f"\nindexing {ref0['docs']} records, {ref0['bytes'] / 1e6:.0f} MB (MB = 10^6 bytes), {threads} writer threads, {len(pairs)} rounds")
print(f"| {'round':>5} | {'indexer':<38} | {'seconds':>8} | {'docs/s':>9} | {'MB/s':>7} | {'CPU s':>7} | {'MB/s per CPU s':>14} | {'vs tantivy':>10} |")
print(f"|{'-'*7}|{'-'*40}|{'-'*10}|{'-'*11}|{'-'*9}|{'-'*9}|{'-'*16}|{'-'*12}|")
ratios, cpu_ratios = [], []
for i, (ref, ours) in enumerate(pairs, 1):
    assert ref["docs"] == ours["docs"], "both sides must index the same records"
    for name, r in (("tantivy directly, plain schema", ref), ("hydrant indexer (mapping, checkpoints)", ours)):
        per_cpu = r["bytes"] / 1e6 / max(r["cpu_seconds"], 1e-9)
        ratio = f"{r['docs_per_sec'] / ref['docs_per_sec'] * 100:.0f} %"
        print(f"| {i:>5} | {name:<38} | {r['seconds']:>8.2f} | {r['docs_per_sec']:>9.0f} | {r['mb_per_sec']:>7.2f} | {r['cpu_seconds']:>7.2f} | {per_cpu:>14.2f} | {ratio:>10} |")
    ratios.append(ours["docs_per_sec"] / ref["docs_per_sec"])
    cpu_ratios.append(ours["cpu_seconds"] / max(ref["cpu_seconds"], 1e-9))
print(f"\nmedian over {len(pairs)} rounds: hydrant indexes at {statistics.median(ratios) * 100:.0f} % of tantivy's docs/s "
      f"(rounds: {', '.join(f'{r * 100:.0f} %' for r in ratios)}), using {statistics.median(cpu_ratios):.2f}x its CPU seconds")
PY
