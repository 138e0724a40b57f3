#!/usr/bin/env bash
# The test command: every Rust test of the workspace (unit, integration, end-to-end against
# the real binary, doc tests), then the suites against real third-party software. Run from
# anywhere; what it needs is installed by the setup scripts it calls.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the end-to-end tests drive (libfaketime for the clock-step test).
bash tests/setup_system.sh

if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast --lib --bins --tests
fi
cargo test --workspace --doc

# Compatibility with real third-party clients (installs its Python packages into .venv).
bash tests/interop/run.sh

# The same requests answered by a real OpenSearch node (built from Maven Central jars) and
# compared; fails on a difference that is neither intentional (docs/known-differences.md) nor
# already listed as open (tests/conformance/open-differences.txt).
HYDRANT_BIN="$PWD/target/debug/hydrant" bash tests/conformance/run.sh

# The UI in a real browser (Debian's Chromium driven by playwright-core), with its unit tests
# and the check that the vendored front-end files are npm's, unmodified.
HYDRANT_BIN="$PWD/target/debug/hydrant" bash tests/ui/run.sh

# Real Node.js log transports from npm (winston-elasticsearch, pino-elasticsearch, elasticdump),
# every record counted on Hydrant's side.
HYDRANT_BIN="$PWD/target/debug/hydrant" bash tests/transports/run.sh
