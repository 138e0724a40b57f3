#!/usr/bin/env bash
# Elasticsearch destination benchmark: records/s and MB/s from an HTTP `_bulk` request to a
# sender Hydrant until they are searchable where the sender delivers them through its
# Elasticsearch destination (the scale-out path), each next to the same records sent straight
# there in the same run (the reference):
#   1. into a second Hydrant (its `_bulk` API), next to the records sent straight into one Hydrant;
#   2. into a real OpenSearch 2.19.6 node (tests/opensearch/opensearch.sh, started here and
#      stopped at the end), next to the records sent straight to OpenSearch with `_bulk`.
# The same client (`hydrant loadgen --protocol bulk`) sends every run; the ratios are what the
# extra hop costs. At most one OpenSearch node and two Hydrants run at a time.
#
#   bash bench/es_sink.sh             # 200,000 JSON log records
#   N=1000000 bash bench/es_sink.sh
#   GZIP=false bash bench/es_sink.sh  # uncompressed requests from the sender
#   OPENSEARCH=false bash bench/es_sink.sh   # the Hydrant runs only (no Java needed)
#   N=2000 PROFILE=debug bash bench/es_sink.sh   # seconds-long smoke (what CI runs)
#   NO_BUILD=1 ...                    # use target/$PROFILE/hydrant as it is (no cargo)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
N="${N:-200000}"
GZIP="${GZIP:-true}"
OPENSEARCH="${OPENSEARCH:-true}"
TIMEOUT="${TIMEOUT:-600}" # seconds a run may take to become searchable before the bench fails
source "$root/bench/lib.sh"

[ "${NO_BUILD:-0}" = 1 ] || bench_build --bin hydrant
bin="$bin_dir/hydrant"
data="$out/es-sink-json-$N.ndjson"
[ -s "$data" ] || "$bin" loadgen --format json --count "$N" --seed 42 --emit "$data" 2>/dev/null
bytes=$(stat -c %s "$data")
work=$(mktemp -d)
os_dir=""
cleanup() { # start runs in a subshell ($(start …)), so each server leaves its pid in a file
  for f in "$work"/*.pid; do [ -f "$f" ] && kill -TERM "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "$os_dir" ] || bash "$root/tests/opensearch/opensearch.sh" stop "$os_dir" || true
  rm -rf "$work"
}
trap cleanup EXIT

# Hydrant reads every HYDRANT_* variable as a configuration key: pass none of the caller's.
serve_env=()
while IFS='=' read -r name _; do
  case "$name" in HYDRANT_*) serve_env+=(-u "$name") ;; esac
done < <(env)

start() { # name config-text -> url
  local name="$1" log="$work/$1.log"
  printf '%s' "$2" > "$work/$name.toml"
  env "${serve_env[@]+"${serve_env[@]}"}" "$bin" serve --listen 127.0.0.1:0 --data-dir "$work/$name" \
    --config "$work/$name.toml" >"$log" 2>&1 &
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

stop() { # name...: stop these servers (so that the next run has the cores to itself)
  local name pid i
  for name in "$@"; do
    pid=$(cat "$work/$name.pid")
    kill -TERM "$pid" 2>/dev/null || true
    # (not our child: started in a subshell; a zombie counts as gone)
    for i in $(seq 1 600); do
      [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || break
      [ "$i" -lt 600 ] || kill -KILL "$pid" 2>/dev/null || true
      sleep 0.05
    done
    rm -f "$work/$name.pid"
  done
}

count() { # url index
  curl -s "$1/$2/_count" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", 0))' 2>/dev/null || echo 0
}

# seconds from the first request until `index` on `url` counts N
run() { # target-url count-url index
  local t0 t1 deadline
  t0=$(date +%s.%N)
  deadline=$(( $(date +%s) + TIMEOUT ))
  "$bin" loadgen --target "$1" --stream web --protocol bulk --replay "$data" --batch 1000 \
    --concurrency 4 --quiet >/dev/null
  until [ "$(count "$2" "$3")" -ge "$N" ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
      echo "es_sink.sh: $3 on $2 holds $(count "$2" "$3") of $N records after ${TIMEOUT}s" >&2
      for f in "$work"/*.log; do echo "== $f" >&2; tail -n 20 "$f" >&2; done
      exit 1
    fi
    sleep 0.05
  done
  t1=$(date +%s.%N)
  python3 -c "print($t1 - $t0)"
}

sender_config() { # endpoint
  printf '[defaults.index]\nenabled = false\n[defaults.elasticsearch]\nenabled = true\nendpoints = ["%s"]\nindex = "shipped"\nrotation = "NoRotation"\ngzip = %s\n' "$1" "$GZIP"
}

direct_url=$(start direct "")
direct=$(run "$direct_url" "$direct_url" web)
stop direct

receiver=$(start receiver "")
sender=$(start sender "$(sender_config "$receiver")")
via=$(run "$sender" "$receiver" shipped)
stop sender receiver

os_direct="" os_via=""
if [ "$OPENSEARCH" = true ]; then
  os_out=$(bash "$root/tests/opensearch/opensearch.sh" start --watch-pid $$)
  os_url=$(sed -n 's/^url=//p' <<<"$os_out")
  os_dir=$(sed -n 's/^dir=//p' <<<"$os_out")
  # A fresh JVM runs cold for seconds: warm it up with (up to) 20,000 of the records first, so
  # that the run measured first is not the one that pays for it.
  head -n 20000 "$data" > "$work/warmup.ndjson"
  "$bin" loadgen --target "$os_url" --stream warmup --protocol bulk --replay "$work/warmup.ndjson" \
    --batch 1000 --concurrency 4 --quiet >/dev/null
  curl -s -XDELETE "$os_url/warmup" >/dev/null
  # `_count` refreshes a search-idle shard; an active one refreshes every second, as on AWS.
  os_direct=$(run "$os_url" "$os_url" web)
  sender=$(start sender-os "$(sender_config "$os_url")")
  os_via=$(run "$sender" "$os_url" shipped)
  stop sender-os
fi

python3 - "$N" "$bytes" "$GZIP" "$direct" "$via" "$os_direct" "$os_via" <<'PY'
import sys
n, size, gz = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
direct, via, os_direct, os_via = (float(a) if a else None for a in sys.argv[4:8])
print(f"\nelasticsearch destination: {n} records, {size / 1e6:.1f} MB (MB = 10^6 bytes), _bulk request to searchable")
print(f"{'path':56} {'seconds':>8} {'records/s':>10} {'MB/s':>7}")
rows = [("straight into one Hydrant (reference)", direct),
        (f"sender -> _bulk (gzip={gz}) -> second Hydrant", via)]
if os_direct is not None:
    rows += [("straight into OpenSearch 2.19.6 with _bulk (reference)", os_direct),
             (f"sender -> _bulk (gzip={gz}) -> OpenSearch 2.19.6", os_via)]
for name, secs in rows:
    print(f"{name:56} {secs:8.2f} {n / secs:10.0f} {size / 1e6 / secs:7.1f}")
print(f"ratio into Hydrant (via the destination / straight):    {direct / via:.2f}")
if os_direct is not None:
    print(f"ratio into OpenSearch (via the destination / straight): {os_direct / os_via:.2f}")
PY
