#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs a Windows program under Wine for the MinGW cross build:
#   wine-run.sh <wine-prefix-dir> <program.exe> [args...]
# The prefix is private to the build tree and created on first use, without
# prompts or a display; concurrent first uses wait for one another.
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

if [ ! -f "$prefix/.initialised" ]; then
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
  exec 9>&-
fi
# Start the server detached from our stdio (a no-op when it runs already):
# the program that starts it hands it its file descriptors, and ctest would
# then wait for the server to exit before calling that test finished.
"${SHAREDMEM_WINESERVER:-$(dirname "$wine")/wineserver}" </dev/null >/dev/null 2>&1 || true
exec "$wine" "$@"
