#!/usr/bin/env bash
# Elasticsearch destination benchmark: records/s and MB/s from an HTTP `_bulk` request to a
# sender Hydrant until they are searchable on a second Hydrant that the sender delivers to
# through its `_bulk` API (the scale-out path), next to the same records sent straight to the
# receiver in the same run. The ratio is what the extra hop costs.
#
#   bash bench/es_sink.sh             # 200,000 JSON log records
#   N=1000000 bash bench/es_sink.sh
#   GZIP=false bash bench/es_sink.sh  # uncompressed requests between the two
#   N=2000 PROFILE=debug bash bench/es_sink.sh   # seconds-long smoke (what CI runs)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
N="${N:-200000}"
GZIP="${GZIP:-true}"
source "$root/bench/lib.sh"

bench_build --bin hydrant
bin="$bin_dir/hydrant"
data="$out/es-sink-json-$N.ndjson"
[ -s "$data" ] || "$bin" loadgen --format json --count "$N" --seed 42 --emit "$data" 2>/dev/null
bytes=$(stat -c %s "$data")
work=$(mktemp -d)
cleanup() { # start runs in a subshell ($(start …)), so each server leaves its pid in a file
  for f in "$work"/*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

start() { # name config-text -> url
  local name="$1" log="$work/$1.log"
  printf '%s' "$2" > "$work/$name.toml"
  "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/$name" --config "$work/$name.toml" >"$log" 2>&1 &
  echo $! > "$work/$name.pid"
  local url=""
  for _ in $(seq 1 300); do
    url=$(grep -o 'listening on http://[0-9.:]*' "$log" | head -1 | sed 's/listening on //') || true
    [ -n "$url" ] && break
    sleep 0.1
  done
  [ -n "$url" ] || { cat "$log" >&2; exit 1; }
  echo "$url"
}

count() { # url index
  curl -s "$1/$2/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))' 2>/dev/null || echo 0
}

# seconds from the first request until `index` on `url` counts N
run() { # target-url count-url index
  local t0 t1
  t0=$(date +%s.%N)
  "$bin" loadgen --target "$1" --stream web --protocol bulk --replay "$data" --batch 1000 \
    --concurrency 4 --quiet >/dev/null
  until [ "$(count "$2" "$3")" -ge "$N" ]; do sleep 0.05; done
  t1=$(date +%s.%N)
  python3 -c "print($t1 - $t0)"
}

direct_url=$(start direct "")
direct=$(run "$direct_url" "$direct_url" web)

receiver=$(start receiver "")
sender=$(start sender "[defaults.index]
enabled = false
[defaults.elasticsearch]
enabled = true
endpoints = [\"$receiver\"]
index = \"shipped\"
rotation = \"NoRotation\"
gzip = $GZIP
")
via=$(run "$sender" "$receiver" shipped)

python3 - "$N" "$bytes" "$direct" "$via" "$GZIP" <<'PY'
import sys
n, size, direct, via, gz = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
print(f"\nelasticsearch destination: {n} records, {size / 1e6:.1f} MB (MB = 10^6 bytes), _bulk request to searchable")
print(f"{'path':52} {'seconds':>8} {'records/s':>10} {'MB/s':>7}")
for name, secs in ((f"straight into one Hydrant (reference)", direct), (f"sender -> _bulk (gzip={gz}) -> second Hydrant", via)):
    print(f"{name:52} {secs:8.2f} {n / secs:10.0f} {size / 1e6 / secs:7.1f}")
print(f"ratio (via the destination / straight): {direct / via:.2f}")
PY
