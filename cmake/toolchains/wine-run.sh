#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a Windows program under Wine for the MinGW cross build:
#   wine-run.sh <wine-prefix-dir> <program.exe> [args...]
# The prefix is private to the build tree and created on first use, without
# prompts or a display; concurrent starts wait for one another (flock).
set -eu
prefix=$1
shift
wine=${SHAREDMEM_WINE:-/usr/lib/wine/wine64}
if [ ! -x "$wine" ]; then
  echo "wine-run.sh: $wine not found; install wine64 (scripts/setup)" >&2
  exit 127
fi
export WINEPREFIX="$prefix"
export WINEDEBUG=-all
# No Mono or Gecko install prompts; no GUI, no display needed.
export WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
unset DISPLAY WAYLAND_DISPLAY

wineserver=${SHAREDMEM_WINESERVER:-$(dirname "$wine")/wineserver}
mkdir -p "$(dirname "$prefix")"
exec 9>"$prefix.lock"
flock 9
if [ ! -f "$prefix/.initialised" ]; then
  "$wine" wineboot --init </dev/null >"$prefix.log" 2>&1 9>&- || {
    echo "wine-run.sh: creating the Wine prefix $prefix failed:" >&2
    cat "$prefix.log" >&2
    exit 1
  }
  touch "$prefix/.initialised"
fi
# Start the server and the session's background processes (services,
# plugplay, ...) detached from our stdio: they would inherit the file
# descriptors of the program that happens to start them, and ctest would
# wait for them to exit before calling that test finished. Starting the
# server exits 2 when it already runs.
if "$wineserver" </dev/null >/dev/null 2>&1 9>&-; then
  "$wine" wineboot </dev/null >/dev/null 2>&1 9>&- || true
fi
exec 9>&-
exec "$wine" "$@"
