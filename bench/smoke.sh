#!/usr/bin/env bash
# Runs every bench script for a few seconds on debug builds, so that none of them rots. The
# numbers printed mean nothing (debug builds, tiny inputs); BENCHMARKS.md has the real runs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export PROFILE=debug
echo "== bench smoke: ingest";   N=2000 ROUNDS=1 bash bench/ingest.sh
echo "== bench smoke: index";    MB=5 ROUNDS=1 bash bench/index.sh
echo "== bench smoke: memory";   DURATION=3s BUFFERED=8MiB WRITER=32MiB bash bench/memory.sh
echo "== bench smoke: sigproxy"; DURATION=1s CONNS=2 bash bench/sigproxy.sh
echo "== bench smoke: es_sink";  N=2000 bash bench/es_sink.sh
echo "== bench smoke: query";    N=5000 RUNS=3 bash bench/query.sh
echo "== bench smoke: window";   N=5000 RUNS=3 ROUNDS=1 bash bench/window.sh
echo "== bench smoke: contention"; N=5000 DURATION=3s bash bench/contention.sh
echo "== bench smoke: pipeline"; N=20000 RUNS=1 bash bench/pipeline.sh
echo "== bench smoke: ui";       N=2000 RUNS=2 COLD_RUNS=2 bash bench/ui.sh
