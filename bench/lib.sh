# Shared by the bench scripts (source it). PROFILE=debug builds and runs debug binaries, for the
# seconds-long smoke CI runs (the numbers of a debug build mean nothing); the default is release.
PROFILE="${PROFILE:-release}"
bench_build() {
  if [ "$PROFILE" = release ]; then
    cargo build --release --quiet "$@"
  else
    # Debug binaries come from the test build (`cargo test --no-run` builds the binary and the
    # examples as well), with the tests' feature set: a `cargo build` of one target resolves
    # features without the dev-dependencies and compiles tantivy, tokio and the rest again.
    cargo test --workspace --no-run --quiet
  fi
}
bin_dir="$root/target/$PROFILE"
out="$root/bench/out"
mkdir -p "$out"

# Starts `hydrant serve` (or SERVE_BIN) on a free loopback port with a fresh data dir (or SERVE_DATA_DIR, which
# is kept); sets SERVE_PID, SERVE_URL and SERVE_DIR. Extra arguments are environment assignments
# (HYDRANT_...=...).
start_serve() {
  SERVE_DIR=$(mktemp -d)
  env "$@" "${SERVE_BIN:-$bin_dir/hydrant}" serve --listen 127.0.0.1:0 --data-dir "${SERVE_DATA_DIR:-$SERVE_DIR/data}" \
    >"$SERVE_DIR/serve.log" 2>&1 &
  SERVE_PID=$!
  SERVE_URL=""
  for _ in $(seq 1 300); do
    SERVE_URL=$(grep -o 'listening on http://[0-9.:]*' "$SERVE_DIR/serve.log" | head -1 | sed 's/listening on //') || true
    [ -n "$SERVE_URL" ] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$SERVE_DIR/serve.log" >&2
  return 1
}

# CPU seconds (user + system) the running `hydrant serve` has used so far.
serve_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); print ($12 + $13) / hz }' "/proc/$SERVE_PID/stat"
}

stop_serve() {
  kill -TERM "$SERVE_PID" 2>/dev/null || true
  wait "$SERVE_PID" 2>/dev/null || true
  rm -rf "$SERVE_DIR"
}
