#!/usr/bin/env bash
# The UI's tests: unit tests of the page's logic (node --test unit/), then end-to-end tests
# (node --test e2e/) that drive Chromium against a `hydrant serve` started here on a free
# port with a temporary data directory, loaded with the Apache sample and loadgen's records.
#
#   bash tests/ui/run.sh                   # everything
#   bash tests/ui/run.sh e2e/discover.test.mjs
#
# HYDRANT_BIN: the binary (default target/debug/hydrant); UI_HYDRANT_URL is set for the tests. Screenshots go to
# target/ui-screenshots/ (UI_SCREENSHOTS overrides), printed at the end.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"

bash "$here/setup.sh"

HYDRANT_BIN=${HYDRANT_BIN:-target/debug/hydrant}
[[ -x $HYDRANT_BIN ]] || { echo "run.sh: no binary at $HYDRANT_BIN (cargo build, or set HYDRANT_BIN)" >&2; exit 1; }
HYDRANT_BIN=$(cd "$(dirname "$HYDRANT_BIN")" && pwd)/$(basename "$HYDRANT_BIN")
export HYDRANT_BIN
export UI_SCREENSHOTS=${UI_SCREENSHOTS:-$root/target/ui-screenshots/}
mkdir -p "$UI_SCREENSHOTS"

echo "== vendored front-end files (ui/vendor.sh)"
bash ui/vendor.sh

echo "== UI unit tests"
TZ=UTC node --test "$here/unit/"

data=$(mktemp -d)
port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
export UI_HYDRANT_URL="http://127.0.0.1:$port"
# `hydrant serve` reads HYDRANT_* variables as configuration and refuses unknown ones: the
# binary's path is not configuration.
env -u HYDRANT_BIN "$HYDRANT_BIN" serve --listen "127.0.0.1:$port" --data-dir "$data" >"$data/serve.log" 2>&1 &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 1 300); do
  curl -fsS "$UI_HYDRANT_URL/_cluster/health" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$data/serve.log" >&2; exit 1; }
  sleep 0.1
done

echo "== loading test data into $UI_HYDRANT_URL"
# The Apache sample as text lines (records with `message` only) …
curl -fsS -XPOST "$UI_HYDRANT_URL/v1/streams/apache/records?refresh=wait_for" -H 'content-type: text/plain' \
     --data-binary @tests/data/logs/elastic-examples/apache_logs >/dev/null
# … and parsed records with fields: access logs and application logs over the last day.
env -u HYDRANT_BIN "$HYDRANT_BIN" loadgen --target "$UI_HYDRANT_URL" --stream web --format apache --parsed --count 6000 --backfill 1d --seed 7 --concurrency 2 --quiet --verify >/dev/null
env -u HYDRANT_BIN "$HYDRANT_BIN" loadgen --target "$UI_HYDRANT_URL" --stream app --format json --count 6000 --backfill 1d --seed 8 --concurrency 2 --quiet --verify >/dev/null

echo "== UI end-to-end tests (Chromium $(/usr/bin/chromium --version 2>/dev/null | awk "{print \$2}"))"
cd "$here"
status=0
if [[ $# -gt 0 ]]; then
  node --test --test-concurrency=1 "$@" || status=$?
else
  node --test --test-concurrency=1 e2e/ || status=$?
fi
echo "== screenshots: $UI_SCREENSHOTS"
exit $status
