#!/usr/bin/env bash
# Installs what the transport tests need: the npm packages pinned in package-lock.json
# (winston-elasticsearch, pino-elasticsearch, elasticdump and their dependencies), again only when
# node_modules is missing or was installed from another lock file.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup.sh: installing node and npm" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
# elasticdump 6 refuses to start on node < 18.
node_major=$(node -p 'process.versions.node.split(".")[0]')
if (( node_major < 18 )); then echo "setup.sh: node >= 18 is needed (have $(node --version))" >&2; exit 1; fi

# The lock file installed is kept beside the packages (npm's own node_modules/.package-lock.json
# leaves out the root entry, so it never equals package-lock.json); npm ci starts by deleting both.
if ! cmp -s package-lock.json node_modules/.installed-package-lock.json; then
  npm ci --no-audit --no-fund --loglevel=error >/dev/null
  cp package-lock.json node_modules/.installed-package-lock.json
fi
