#!/usr/bin/env bash
# Index benchmark: Hydrant's indexer alone (doc mapping, rotation, routing, checkpoints) next to
# tantivy used directly with a plain schema, on the real samples of ../shared/testdata/logs scaled
# up with varied timestamps, in the same run.
#
#   bash bench/index.sh             # ≥ 1 GB (the reference run)
#   MB=20 bash bench/index.sh       # quick smoke (what CI runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
MB="${MB:-1100}"
THREADS="${THREADS:-2}"
source "$root/bench/lib.sh"
data="$out/samples-${MB}MB.ndjson"

bench_build -p hydrant-index --example index_bench --example plain_tantivy

if [ ! -s "$data" ]; then
  python3 - "$root/../shared/testdata/logs" "$data" "$MB" <<'PY'
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

ref=$("$bin_dir/examples/plain_tantivy" "$data" "$THREADS")
ours=$("$bin_dir/examples/index_bench" "$data" "$THREADS")
python3 - "$ref" "$ours" "$THREADS" <<'PY'
import json, sys
ref, ours, threads = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
print(f"\nindexing {ref['docs']} records, {ref['bytes'] / 1e6:.0f} MB (MB = 10^6 bytes), {threads} writer threads")
print(f"| {'indexer':<34} | {'seconds':>8} | {'docs/s':>9} | {'MB/s':>7} | {'CPU s':>7} | {'MB/s per CPU s':>14} | {'vs tantivy':>10} |")
print(f"|{'-'*36}|{'-'*10}|{'-'*11}|{'-'*9}|{'-'*9}|{'-'*16}|{'-'*12}|")
for name, r in (("tantivy directly, plain schema", ref), ("hydrant indexer (mapping, checkpoints)", ours)):
    per_cpu = r["bytes"] / 1e6 / max(r["cpu_seconds"], 1e-9)
    ratio = f"{r['docs_per_sec'] / ref['docs_per_sec'] * 100:.0f} %"
    print(f"| {name:<34} | {r['seconds']:>8.2f} | {r['docs_per_sec']:>9.0f} | {r['mb_per_sec']:>7.2f} | {r['cpu_seconds']:>7.2f} | {per_cpu:>14.2f} | {ratio:>10} |")
PY
