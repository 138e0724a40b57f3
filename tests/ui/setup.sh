#!/usr/bin/env bash
# Installs what the UI tests need: playwright-core (pinned in package-lock.json) and Debian's
# Chromium (/usr/bin/chromium; playwright drives it, it downloads no browser of its own).
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup.sh: installing node and npm" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 18 )); then echo "setup.sh: node >= 18 is needed (have $(node --version))" >&2; exit 1; fi

if [[ ! -d node_modules/playwright-core ]] || ! cmp -s package-lock.json node_modules/.package-lock.json 2>/dev/null; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error >/dev/null
fi

CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
if [[ ! -x $CHROMIUM ]]; then
  echo "setup.sh: installing chromium" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
"$CHROMIUM" --version >/dev/null 2>&1 || { echo "setup.sh: $CHROMIUM does not run" >&2; exit 1; }
