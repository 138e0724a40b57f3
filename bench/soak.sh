#!/usr/bin/env bash
# Soak: 30 minutes of mixed load (the three ingest APIs at a fixed rate, a dashboard querying,
# retention deleting backfilled hourly indices) with a SIGKILL + restart every 5 minutes, then an
# audit: 0 acknowledged records lost or duplicated, RSS per kill cycle, the data directory's size
# over time. Run in a session, not in CI (see bench/soak.py for what it checks).
#
#   bash bench/soak.sh                                   # 30 min, kill every 5 min
#   DURATION=120 KILL_EVERY=40 bash bench/soak.sh         # a short run
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
source "$root/bench/lib.sh"
bench_build --bin hydrant
HYDRANT_BIN="$bin_dir/hydrant" OUT="$out/soak.json" python3 "$root/bench/soak.py"
