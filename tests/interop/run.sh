#!/usr/bin/env bash
# The interop suite: real third-party clients (boto3, the AWS CLI, elasticsearch-py,
# opensearch-py, botocore's SigV4, moto) against the real hydrant binary on loopback.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
bash "$root/tests/interop/setup.sh"
cd "$root"
if [ -z "${INTEROP_HYDRANT_BIN:-}" ]; then
  # The binary of the test build (same feature set as the Rust tests, so nothing recompiles
  # after them; `cargo build --bin hydrant` would resolve features without dev-dependencies).
  cargo test --workspace --no-run --quiet
  INTEROP_HYDRANT_BIN="$root/target/debug/hydrant"
fi
export INTEROP_HYDRANT_BIN
exec "$root/.venv/bin/python" -m pytest -q -p no:cacheprovider "$root/tests/interop" "$@"
