#!/usr/bin/env bash
# Differential conformance suite: Hydrant vs a real OpenSearch 2.19.6 node (see README.md here).
#   HYDRANT_BIN=path/to/hydrant bash tests/conformance/run.sh [--only GLOB] [--report PATH] [-v]
# Sets up the Python venv (tests/interop/setup.sh) and the OpenSearch build (Maven Central jars),
# then runs run.py, which starts both servers on loopback, loads the documents, runs every case
# and exits 1 if a difference is not listed in docs/known-differences.md.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bin="${HYDRANT_BIN:-$root/target/debug/hydrant}"
case "$bin" in /*) ;; *) bin="$PWD/$bin" ;; esac
if [ ! -x "$bin" ]; then
  echo "run.sh: no Hydrant binary at $bin (build it, e.g. cargo build --bin hydrant, or set HYDRANT_BIN)" >&2
  exit 2
fi
bash "$root/tests/interop/setup.sh"
bash "$root/tests/opensearch/opensearch.sh" build
export HYDRANT_BIN="$bin"
exec "$root/.venv/bin/python" "$root/tests/conformance/run.py" "$@"
