#!/usr/bin/env bash
# The Windows build and its tests, on this Debian machine: builds the
# dependencies with MinGW-w64 (scripts/windows-deps.sh, reused when present),
# cross-builds the library, its portable test suites and daemoneye-cli as .exe
# files (preset windows-cross), and runs the tests under wine64.
#
# One wineserver is started for the whole run and the prefix is booted before
# anything runs in it: otherwise every test program pays wine's start-up, and
# the services wine starts on first boot would inherit (and hold open) the
# output pipe of whoever started them. Programs that wine64 failed to start,
# and that cmake/wine-run.sh therefore started again, are listed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

JOBS=${JOBS:-$(nproc)}
started=$SECONDS
step() { printf '\n=== windows: %s (%ds)\n' "$*" $((SECONDS - started)); }

step "dependencies"
bash scripts/windows-deps.sh

step "configure"
cmake --preset windows-cross >/dev/null

export WINEPREFIX=$PWD/build/windows-cross/wineprefix WINEDEBUG=-all
unset DISPLAY
wineserver=/usr/lib/wine/wineserver
stop_wine() { "$wineserver" -k 2>/dev/null || true; }
trap stop_wine EXIT

retries=$PWD/build/windows-cross/wine-retries.log
report_retries() {
  if [ -s "$retries" ]; then
    step "wine64 failed $(wc -l <"$retries") time(s) to start a program, which was then started again:"
    cat "$retries"
  fi
}
rm -f "$retries"

step "boot the wine prefix"
mkdir -p "$WINEPREFIX"
"$wineserver" -p
/usr/lib/wine/wine64 wineboot --init </dev/null >/dev/null 2>&1

step "build"
cmake --build --preset windows-cross -j "$JOBS"

step "ctest under wine"
status=0
ctest --preset windows-cross -j "$JOBS" || status=$?
report_retries
if ((status != 0)); then exit "$status"; fi
step "done"
