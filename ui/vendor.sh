#!/usr/bin/env bash
# The page ships front-end packages as their UNMODIFIED files from npm, next to their licenses,
# under ui/assets/vendor/. This script reinstalls the pinned packages (package.json +
# package-lock.json, `npm ci`) and checks that every vendored file is byte-for-byte the
# package's file; with --update it copies them instead (after changing a version:
# `npm install --package-lock-only uplot@X.Y.Z`, then `bash ui/vendor.sh --update`).
#
#   bash ui/vendor.sh            # check (CI)
#   bash ui/vendor.sh --update   # copy
set -euo pipefail
cd "$(dirname "$0")"

# package/file-in-package → vendored path (under assets/vendor/)
FILES=(
  "uplot/dist/uPlot.esm.js   uplot/uPlot.esm.js"
  "uplot/dist/uPlot.min.css  uplot/uPlot.min.css"
  "uplot/LICENSE             uplot/LICENSE"
)

mode=check
case "${1:-}" in
  --update) mode=update ;;
  "" | --check) ;;
  *) echo "usage: $0 [--check|--update]" >&2; exit 2 ;;
esac

command -v npm >/dev/null || { echo "vendor.sh: npm is needed (apt-get install -y npm)" >&2; exit 2; }
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null

status=0
for row in "${FILES[@]}"; do
  read -r src dst <<<"$row"
  from="node_modules/$src"
  to="assets/vendor/$dst"
  version=$(node -p "require('./node_modules/${src%%/*}/package.json').version")
  if [[ $mode == update ]]; then
    mkdir -p "$(dirname "$to")"
    cp "$from" "$to"
    echo "copied  $to  (${src%%/*} $version)"
  elif cmp -s "$from" "$to"; then
    echo "ok      $to  (${src%%/*} $version)"
  else
    echo "DIFFERS $to  is not ${src%%/*} $version's $src: run bash ui/vendor.sh --update" >&2
    status=1
  fi
done
if [[ $mode == check ]]; then
  # Nothing vendored that the list does not know.
  while IFS= read -r f; do
    rel=${f#assets/vendor/}
    known=0
    for row in "${FILES[@]}"; do read -r _ dst <<<"$row"; [[ $dst == "$rel" ]] && known=1; done
    if [[ $known == 0 ]]; then echo "UNKNOWN $f is not listed in vendor.sh" >&2; status=1; fi
  done < <(find assets/vendor -type f | sort)
fi
exit $status
