#!/usr/bin/env bash
# Installs the Debian packages the Rust end-to-end tests drive, when missing:
# - faketime (libfaketime): tests/clock_steps.rs steps the server's wall clock with it.
# (The disk-full tests mount a tmpfs, which needs root and nothing installed.)
set -euo pipefail
if ! ls /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1 >/dev/null 2>&1; then
  echo "setup_system.sh: installing faketime" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq faketime >/dev/null
fi
