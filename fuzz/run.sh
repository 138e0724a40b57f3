#!/usr/bin/env bash
# Runs fuzz targets one after the other, SECONDS_EACH (default 1800) each, with libFuzzer.
# New inputs go to a scratch corpus (fuzz/target/corpus/<target>), seeded from the committed
# one (fuzz/corpus/<target>), which stays small; crashes land in fuzz/artifacts/<target>/ —
# each becomes a fixed bug and a file in fuzz/corpus/<target>/. Prints libFuzzer's last status
# line (executions, coverage) per target.
#
#   bash fuzz/run.sh                       # every target, 30 min each
#   SECONDS_EACH=60 bash fuzz/run.sh search bulk
# Needs nightly Rust and cargo-fuzz (`cargo install cargo-fuzz`).
set -uo pipefail
cd "$(dirname "$0")"
each="${SECONDS_EACH:-1800}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <(ls fuzz_targets | sed 's/\.rs$//')
fi
cargo +nightly fuzz build -O >/dev/null 2>&1 || cargo +nightly fuzz build -O
for t in "${targets[@]}"; do
  mkdir -p "target/corpus/$t" logs
  cargo +nightly fuzz run -O "$t" "target/corpus/$t" "corpus/$t" -- \
    -max_total_time="$each" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
    >"logs/$t.log" 2>&1
  rc=$?
  status=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)
  crashes=$(ls "artifacts/$t" 2>/dev/null | wc -l)
  echo "$t: exit $rc, ${each}s, crashes $crashes: $status"
done
