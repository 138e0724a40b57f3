#!/usr/bin/env bash
# A real OpenSearch 2.19.6 node on loopback, for Hydrant's tests, benchmarks and developers.
# See tests/opensearch/README.md. Needs Java 17, Maven (first build only: jars go to ~/.m2) and curl or python3.
#
#   opensearch.sh build                      build once (skipped when target/ is newer than pom.xml and src/)
#   opensearch.sh start [--data DIR] [--port P] [--name N] [--watch-pid PID] [--setting k=v ...]
#                                            start in the background; prints url=, pid=, dir= on stdout
#   opensearch.sh stop PID_OR_DIR            SIGTERM, then SIGKILL after OPENSEARCH_STOP_TIMEOUT s;
#                                            removes the directory if `start` made it (no --data)
#   opensearch.sh kill9 PID_OR_DIR           SIGKILL now; keeps the directory (for `restart`)
#   opensearch.sh restart DIR [start opts]   start again on DIR's data and on the port it had
#   opensearch.sh run [start opts]           in the foreground, logs on the terminal (for developers)
#
# Environment: OPENSEARCH_HEAP (default 512m: -Xms; -Xmx is OPENSEARCH_HEAP_MAX, default 1g),
# OPENSEARCH_JAVA_OPTS (appended), OPENSEARCH_LOG_LEVEL (default warn), OPENSEARCH_START_TIMEOUT (120),
# OPENSEARCH_STOP_TIMEOUT (30), JAVA (default java), TMPDIR.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="$here/target"
cpfile="$target/classpath.txt"
stamp="$target/.built"
main_class="dev.hydrant.opensearch.Main"
java_bin="${JAVA:-java}"

say() { printf 'opensearch.sh: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------------------- build

up_to_date() {
  [ -f "$stamp" ] && [ -f "$cpfile" ] && [ -f "$target/classes/dev/hydrant/opensearch/Main.class" ] || return 1
  [ -z "$(find "$here/pom.xml" "$here/src" -newer "$stamp" -print -quit)" ] || return 1
  # Every jar still in ~/.m2 (a wiped cache means a rebuild, which downloads them again).
  local IFS=:
  local jar
  for jar in $(cat "$cpfile"); do [ -f "$jar" ] || return 1; done
}

# build [quiet]: a lock serialises concurrent callers (tests that start nodes in parallel).
build() {
  command -v mvn >/dev/null || die "mvn not found (Maven is needed for the first build)"
  mkdir -p "$target"
  exec 9>"$target/.build.lock"
  flock 9
  if up_to_date; then
    exec 9>&-
    [ "${1:-}" = quiet ] || say "build is up to date"
    return 0
  fi
  local t0
  t0="$(now)"
  say "building (the first build downloads ~80 MB of jars into ~/.m2)..."
  # (Debian's Maven 3.8 prints bare colour resets even with -B; the sed drops them.)
  if ! (cd "$here" && mvn -q -B -Dstyle.color=never compile dependency:build-classpath \
      -Dmdep.outputFile="$cpfile" -Dmdep.pathSeparator=: 2>&1 | sed -e 's/\x1b\[[0-9;]*m//g' -e '/^$/d' >&2); then
    exec 9>&-
    die "build failed"
  fi
  touch "$stamp"
  exec 9>&-
  say "built in $(elapsed "$t0") s"
}

# ------------------------------------------------------------------------------------------- helpers

java_opts() {
  local dir="$1"
  # The JVM options of OpenSearch's own launcher (SystemJvmOptions, jvm.options) that matter in-process.
  printf '%s\n' \
    "-Xms${OPENSEARCH_HEAP:-512m}" "-Xmx${OPENSEARCH_HEAP_MAX:-1g}" \
    -XX:+UseG1GC -XX:G1ReservePercent=25 -XX:InitiatingHeapOccupancyPercent=30 \
    -Xss1m -Djava.awt.headless=true -Dfile.encoding=UTF-8 -Djna.nosys=true \
    -XX:-OmitStackTraceInFastThrow -XX:+ShowCodeDetailsInExceptionMessages \
    -Dio.netty.noUnsafe=true -Dio.netty.noKeySetOptimization=true \
    -Dio.netty.recycler.maxCapacityPerThread=0 -Dio.netty.allocator.numDirectArenas=0 \
    -Dlog4j.shutdownHookEnabled=false -Dlog4j2.disable.jmx=true \
    -Djava.locale.providers=SPI,COMPAT \
    "-Djava.io.tmpdir=$dir/tmp" \
    "-Dhydrant.opensearch.log.level=${OPENSEARCH_LOG_LEVEL:-warn}"
  if [ -n "${OPENSEARCH_JAVA_OPTS:-}" ]; then
    # shellcheck disable=SC2086
    printf '%s\n' $OPENSEARCH_JAVA_OPTS
  fi
}

alive() { # a zombie (dead, not yet reaped) counts as gone
  local pid="$1" state
  kill -0 "$pid" 2>/dev/null || return 1
  state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
  [ "$state" != Z ]
}

is_ours() { # the process is a node started by this script
  tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q "$main_class"
}

dir_of_pid() { # the --home of a running node, minus /home
  local home
  home="$(tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | grep -A1 -x -- --home | tail -n1 || true)"
  [ -n "$home" ] && dirname "$home"
}

env_get() { # env_get DIR KEY
  [ -f "$1/opensearch.env" ] || return 0
  sed -n "s/^$2=//p" "$1/opensearch.env" | tail -n1
}

http_get() { # prints the body; fails on connection errors and HTTP errors
  if command -v curl >/dev/null; then
    curl -sS -f --noproxy '*' --max-time 10 "$1"
  else
    python3 - "$1" <<'EOF'
import sys, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
sys.stdout.write(opener.open(sys.argv[1], timeout=10).read().decode())
EOF
  fi
}

# resolve PID_OR_DIR -> sets pid, dir
resolve() {
  pid="" dir=""
  if [ -d "$1" ]; then
    dir="$(cd "$1" && pwd)"
    pid="$(env_get "$dir" OPENSEARCH_PID)"
  elif [[ "$1" =~ ^[0-9]+$ ]]; then
    pid="$1"
    dir="$(dir_of_pid "$pid" || true)"
  else
    die "not a pid nor a directory: $1"
  fi
}

# terminate PID SIGNAL TIMEOUT: signal, then SIGKILL after TIMEOUT seconds; waits until gone
terminate() {
  local pid="$1" sig="$2" timeout="$3" i=0
  alive "$pid" || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  while alive "$pid"; do
    if [ $((i++)) -ge $((timeout * 10)) ]; then
      say "pid $pid still running after ${timeout}s, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      i=0 timeout=10
      sig=KILL
    fi
    sleep 0.1
  done
}

# --------------------------------------------------------------------------------------- start / run

parse_start_args() {
  data="" port=0 name="" watch_pid="" settings=()
  while [ $# -gt 0 ]; do
    case "$1" in
      --data) data="${2:?--data needs a directory}"; shift 2 ;;
      --port) port="${2:?--port needs a number}"; shift 2 ;;
      --name) name="${2:?--name needs a value}"; shift 2 ;;
      --watch-pid) watch_pid="${2:?--watch-pid needs a pid}"; shift 2 ;;
      --setting) settings+=("${2:?--setting needs k=v}"); shift 2 ;;
      --setting=*) settings+=("${1#--setting=}"); shift ;;
      *) die "unknown option: $1" ;;
    esac
  done
  [[ "$port" =~ ^[0-9]+$ ]] || die "--port must be a number: $port"
}

java_cmd() { # java_cmd DIR -> fills the array cmd
  local dir="$1" opt
  cmd=("$java_bin")
  while IFS= read -r opt; do cmd+=("$opt"); done < <(java_opts "$dir")
  cmd+=(-cp "$target/classes:$(cat "$cpfile")" "$main_class"
    --home "$dir/home" --data "$dir/data" --http-port "$port"
    --name "${name:-hydrant-reference}")
  [ -z "$watch_pid" ] || cmd+=(--watch-pid "$watch_pid")
  cmd+=("${settings[@]+"${settings[@]}"}")
}

cmd_run() {
  parse_start_args "$@"
  build quiet
  if [ -n "$data" ]; then
    mkdir -p "$data"
    dir="$(cd "$data" && pwd)"
  else
    dir="$(mktemp -d "${TMPDIR:-/tmp}/hydrant-opensearch.XXXXXX")"
    touch "$dir/.made-by-opensearch-sh"
    trap 'rm -rf "$dir"' EXIT
  fi
  mkdir -p "$dir/tmp"
  java_cmd "$dir"
  say "data in $dir; Ctrl-C stops"
  "${cmd[@]}" </dev/null || true
}

cmd_start() {
  parse_start_args "$@"
  local t0
  created=0
  t0="$(now)"
  build quiet
  if [ -n "$data" ]; then
    mkdir -p "$data"
    dir="$(cd "$data" && pwd)"
    local old
    old="$(env_get "$dir" OPENSEARCH_PID)"
    if [ -n "$old" ] && alive "$old" && is_ours "$old"; then
      die "a node is already running on $dir (pid $old)"
    fi
  else
    dir="$(mktemp -d "${TMPDIR:-/tmp}/hydrant-opensearch.XXXXXX")"
    touch "$dir/.made-by-opensearch-sh"
    created=1
  fi
  mkdir -p "$dir/tmp"
  rm -f "$dir/opensearch.env" "$dir/stdout.log"
  java_cmd "$dir"

  # The node's stdout/stderr go to files and stdin is /dev/null, so a caller's pipe is never held open.
  "${cmd[@]}" >"$dir/stdout.log" 2>"$dir/opensearch.log" </dev/null &
  pid=$!
  # Until the node is up, any failure or interruption takes the JVM (and a directory we made) with it.
  trap 'fail_start' EXIT
  trap 'exit 130' INT TERM HUP

  local deadline url="" body
  deadline=$(( $(date +%s) + ${OPENSEARCH_START_TIMEOUT:-120} ))
  while :; do
    alive "$pid" || { start_error="the node exited during start-up"; exit 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { start_error="not green after ${OPENSEARCH_START_TIMEOUT:-120}s"; exit 1; }
    if [ -z "$url" ]; then
      url="$(sed -n 's/^OPENSEARCH_READY //p' "$dir/stdout.log" 2>/dev/null | head -n1)"
    fi
    if [ -n "$url" ]; then
      body="$(http_get "$url/_cluster/health?wait_for_status=green&timeout=1s" 2>/dev/null || true)"
      case "$body" in *'"status":"green"'*) break ;; esac
    fi
    sleep 0.2
  done
  trap - EXIT INT TERM HUP

  port="${url##*:}"
  {
    printf 'OPENSEARCH_URL=%s\n' "$url"
    printf 'OPENSEARCH_PID=%s\n' "$pid"
    printf 'OPENSEARCH_PORT=%s\n' "$port"
    printf 'OPENSEARCH_DIR=%s\n' "$dir"
  } >"$dir/opensearch.env.tmp"
  mv "$dir/opensearch.env.tmp" "$dir/opensearch.env"
  say "green in $(elapsed "$t0") s ($(sed -n 's/^OPENSEARCH_PLUGINS //p' "$dir/stdout.log"))"
  printf 'url=%s\npid=%s\ndir=%s\n' "$url" "$pid" "$dir"
}

fail_start() {
  local rc=$?
  trap - EXIT INT TERM HUP
  say "start failed: ${start_error:-interrupted}"
  if [ -f "$dir/opensearch.log" ]; then
    say "last lines of $dir/opensearch.log:"
    tail -n 40 "$dir/opensearch.log" >&2 || true
  fi
  [ -s "$dir/stdout.log" ] && tail -n 5 "$dir/stdout.log" >&2
  terminate "$pid" TERM 15
  if [ "$created" = 1 ]; then rm -rf "$dir"; fi
  [ "$rc" -ne 0 ] || rc=1
  exit "$rc"
}

# ----------------------------------------------------------------------------------- stop / kill9

cmd_stop() {
  [ $# -eq 1 ] || die "usage: opensearch.sh stop PID_OR_DIR"
  resolve "$1"
  if [ -n "$pid" ] && alive "$pid"; then
    is_ours "$pid" || die "pid $pid is not an OpenSearch node started by opensearch.sh"
    terminate "$pid" TERM "${OPENSEARCH_STOP_TIMEOUT:-30}"
  fi
  # A directory given with --data stays, opensearch.env included (restart reads the port from it).
  if [ -n "$dir" ] && [ -f "$dir/.made-by-opensearch-sh" ]; then
    rm -rf "$dir"
  fi
}

cmd_kill9() {
  [ $# -eq 1 ] || die "usage: opensearch.sh kill9 PID_OR_DIR"
  resolve "$1"
  if [ -n "$pid" ] && alive "$pid"; then
    is_ours "$pid" || die "pid $pid is not an OpenSearch node started by opensearch.sh"
    terminate "$pid" KILL 10
  fi
}

cmd_restart() {
  [ $# -ge 1 ] && [ -d "$1" ] || die "usage: opensearch.sh restart DIR [start options]"
  local d port_was pid_was
  d="$(cd "$1" && pwd)"
  shift
  port_was="$(env_get "$d" OPENSEARCH_PORT)"
  pid_was="$(env_get "$d" OPENSEARCH_PID)"
  [ -n "$port_was" ] || die "$d/opensearch.env has no OPENSEARCH_PORT"
  if [ -n "$pid_was" ] && alive "$pid_was" && is_ours "$pid_was"; then
    terminate "$pid_was" TERM "${OPENSEARCH_STOP_TIMEOUT:-30}"
  fi
  cmd_start --data "$d" --port "$port_was" "$@"
}

case "${1:-}" in
  build)
    shift
    t0="$(now)"
    build
    printf 'build: %s s\n' "$(elapsed "$t0")"
    ;;
  start) shift; cmd_start "$@" ;;
  run) shift; cmd_run "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  kill9) shift; cmd_kill9 "$@" ;;
  restart) shift; cmd_restart "$@" ;;
  *) sed -n '2,17s/^# \{0,1\}//p' "$0" >&2; exit 2 ;;
esac
