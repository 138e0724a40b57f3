#!/usr/bin/env bash
# Real Node.js log transports from npm against the real binary: each test file starts its own
# `hydrant serve` (free port, temporary data directory) and counts every record on Hydrant's side.
#
#   bash tests/transports/run.sh                      # everything
#   bash tests/transports/run.sh pino.test.mjs
#
# HYDRANT_BIN: the binary (default target/debug/hydrant).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

bash "$here/setup.sh"

HYDRANT_BIN=${HYDRANT_BIN:-target/debug/hydrant}
[[ -x $HYDRANT_BIN ]] || { echo "run.sh: no binary at $HYDRANT_BIN (cargo build, or set HYDRANT_BIN)" >&2; exit 1; }
HYDRANT_BIN=$(cd "$(dirname "$HYDRANT_BIN")" && pwd)/$(basename "$HYDRANT_BIN")
export HYDRANT_BIN

echo "== transports end-to-end (winston-elasticsearch, pino-elasticsearch, elasticdump; node $(node --version))"
cd "$here"
if [[ $# -gt 0 ]]; then
  node --test "$@"
else
  node --test ./*.test.mjs
fi
