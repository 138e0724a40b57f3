#!/usr/bin/env bash
# Ingest pipeline benchmark, two questions in one run:
#
#   (a) What parsing on the server costs: the Apache sample (scaled up to N lines) shipped as raw
#       text through the built-in `apache` pipeline, next to the very documents that pipeline
#       makes shipped already parsed as JSON — both HTTP -> searchable, NDJSON, fsync always.
#       Target: >= 80 % of the pre-parsed docs/s.
#   (b) Grok alone, MB/s on one core: Hydrant's grok (Oniguruma) on the Apache sample, next to
#       Python's pygrok (the `regex` module) with the same pattern on the same lines.
#
#   Both sides run RUNS times (default 3), interleaved (raw, pre-parsed, raw, …), so that a
#   background merge or the page cache favours neither; each run is printed, and the ratio
#   is of the medians.
#
#   bash bench/pipeline.sh               # 1,000,000 lines (~240 MB of text), 3 runs each
#   N=20000 RUNS=1 PROFILE=debug bash bench/pipeline.sh   # seconds-long smoke (bench/smoke.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
N="${N:-1000000}"
CONCURRENCY="${CONCURRENCY:-4}"
BATCH="${BATCH:-1000}"
RUNS="${RUNS:-3}"
PATTERN="${PATTERN:-%{COMBINEDAPACHELOG\}}"
source "$root/bench/lib.sh"
unset HYDRANT_BIN

bench_build --bin hydrant
bin="$bin_dir/hydrant"
bash "$root/tests/interop/setup.sh" >/dev/null # pygrok and requests from PyPI, into .venv
py="$root/.venv/bin/python"
sample="$root/tests/data/logs/elastic-examples/apache_logs"

text="$out/pipeline-apache-$N.log"
parsed="$out/pipeline-apache-$N.ndjson"
if [ ! -s "$text" ] || [ ! -s "$parsed" ]; then
  # The documents the pipeline makes, from the pipeline itself (_simulate on the 10,000 sample
  # lines), then both files scaled up to N lines in the same order.
  start_serve
  "$py" - "$SERVE_URL" "$sample" "$N" "$text" "$parsed" <<'PY'
import json, sys, requests
url, sample, n, text_path, parsed_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
lines = [l.rstrip("\n") for l in open(sample) if l.strip()]
docs = []
for i in range(0, len(lines), 2000):
    body = {"docs": [{"_source": {"message": l}} for l in lines[i:i + 2000]]}
    r = requests.post(f"{url}/_ingest/pipeline/apache/_simulate", json=body, timeout=300)
    r.raise_for_status()
    for d in r.json()["docs"]:
        assert "doc" in d, d
        docs.append(json.dumps(d["doc"]["_source"], separators=(",", ":")))
with open(text_path, "w") as t, open(parsed_path, "w") as p:
    for k in range(n):
        t.write(lines[k % len(lines)] + "\n")
        p.write(docs[k % len(docs)] + "\n")
PY
  stop_serve
fi

run() { # name stream file env... -> report path
  local name="$1" stream="$2" file="$3"; shift 3
  local report="$out/pipeline-$name-$N-run$k.json"
  start_serve "$@"
  "$bin" loadgen --target "$SERVE_URL" --stream "$stream" --protocol ndjson --replay "$file" \
    --concurrency "$CONCURRENCY" --batch "$BATCH" --verify --quiet --report-json "$report" >/dev/null
  "$py" - "$report" "$(serve_cpu_seconds)" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); r["serve_cpu_seconds"] = float(sys.argv[2]); json.dump(r, open(sys.argv[1], "w"))
PY
  stop_serve
  echo "$report"
}
raw=() pre=()
for k in $(seq 1 "$RUNS"); do
  raw+=("$(run raw raw "$text" HYDRANT_STREAMS__RAW__RECORD_FORMAT=text HYDRANT_STREAMS__RAW__PIPELINE=apache)")
  pre+=("$(run parsed parsed "$parsed")")
done

# Grok alone: Hydrant (release test binary) and pygrok, same pattern, same lines, one core each.
rounds=$(( N >= 100000 ? 5 : 1 ))
if [ "$PROFILE" = release ]; then rel=--release; else rel=; fi
hydrant_grok=$(GROK_BENCH_PATTERN="$PATTERN" GROK_BENCH_ROUNDS=$rounds cargo test $rel --quiet -p hydrant-pipeline grok_throughput -- --ignored --nocapture 2>/dev/null | sed -n 's/^GROK_BENCH //p' | head -1)
pygrok=$("$py" - "$sample" "$PATTERN" "$rounds" <<'PY'
import json, sys, time
from pygrok import Grok
sample, pattern, rounds = sys.argv[1], sys.argv[2], int(sys.argv[3])
lines = [l.rstrip("\n") for l in open(sample) if l.strip()]
g = Grok(pattern)
t0 = time.perf_counter(); nbytes = 0; matched = 0
for _ in range(rounds):
    for l in lines:
        nbytes += len(l)
        matched += g.match(l) is not None
secs = time.perf_counter() - t0
print(json.dumps({"name": "pygrok", "mb_per_sec": nbytes / secs / 1e6, "lines_per_sec": len(lines) * rounds / secs, "lines": len(lines) * rounds, "matched": matched}))
PY
)

"$py" - "$hydrant_grok" "$pygrok" "$N" "$PATTERN" "${raw[*]}" "${pre[*]}" <<'PY'
import json, statistics, sys
hg, pg = json.loads(sys.argv[1]), json.loads(sys.argv[2])
n, pattern = int(sys.argv[3]), sys.argv[4]
raw = [json.load(open(p)) for p in sys.argv[5].split()]
pre = [json.load(open(p)) for p in sys.argv[6].split()]
print(f"\n(a) {n:,} Apache lines, HTTP -> searchable (NDJSON, fsync always), {len(raw)} runs each, interleaved\n")
print("| records sent as | run | docs/s | MB/s on the wire | serve CPU s | CPU µs/doc |")
print("|---|---|---|---|---|---|")
for name, runs in (("raw text through `apache`", raw), ("the same documents pre-parsed (reference)", pre)):
    for k, r in enumerate(runs, 1):
        rate = r["searchable_records_per_sec"]
        print(f"| {name} | {k} | {rate:,.0f} | {r['searchable_mb_per_sec']:.1f} | {r['serve_cpu_seconds']:.1f} | {r['serve_cpu_seconds'] / r['records_acked'] * 1e6:.1f} |")
med = lambda runs, f: statistics.median(f(r) for r in runs)
rate = lambda r: r["searchable_records_per_sec"]
cpu = lambda r: r["serve_cpu_seconds"] / r["records_acked"] * 1e6
print(f"\nmedian docs/s: raw {med(raw, rate):,.0f}, pre-parsed {med(pre, rate):,.0f}; median CPU µs/doc: raw {med(raw, cpu):.1f}, pre-parsed {med(pre, cpu):.1f}")
ratio = med(raw, rate) / med(pre, rate)
print(f"raw through the pipeline / pre-parsed: {ratio:.2f}x of the docs/s (target >= 0.80); CPU per doc {med(pre, cpu) / med(raw, cpu):.2f}x")
print(f"\n(b) grok alone, `{pattern}` on the Apache sample ({hg['lines']:,} lines), one core\n")
print("| implementation | MB/s | lines/s | matched |")
print("|---|---|---|---|")
for r in (hg, pg):
    label = "Hydrant (Oniguruma)" if r is hg else "pygrok 1.0 (Python `regex`)"
    print(f"| {label} | {r['mb_per_sec']:.1f} | {r['lines_per_sec']:,.0f} | {r['matched']:,} |")
print(f"\nHydrant / pygrok: {hg['mb_per_sec'] / pg['mb_per_sec']:.1f}x")
PY
