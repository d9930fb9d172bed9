#!/usr/bin/env bash
# The emulator that ctest and gtest_discover_tests start every cross-built
# Windows program through (cmake/WindowsCross.cmake):
#
#   wine-run.sh WINE64 PROGRAM.exe [ARGS...]
#
# with WINEPREFIX, WINEDEBUG and DAEMONEYE_WINE_RETRY_LOG in the environment.
#
# Now and then, on a loaded machine, wine64 gives up on a program before the
# program runs at all: it exits with a failure status having printed nothing.
# Every program the tests start prints before it can fail (Google Test's
# "Running main()" banner comes first; daemoneye-cli names its error), so a
# run that failed without a single byte of output never reached the code
# under test. Such a run is started again, at most twice, and each retry is
# appended to $DAEMONEYE_WINE_RETRY_LOG, which scripts/windows-test.sh prints
# at the end. A run that printed anything is final, whatever its status: a
# failing test fails the first time.
#
# Output streams straight through (tee), so a test that ctest stops for its
# timeout still shows what it printed.
set -uo pipefail

wine=$1
shift
scratch=$(mktemp -d "${TMPDIR:-/tmp}/wine-run.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
seen=$scratch/seen
mkfifo "$scratch/stdout" "$scratch/stderr"

attempts=3
for ((attempt = 1; ; ++attempt)); do
  : >"$seen"
  # Each stream is copied to where it was going and to $seen; both copies
  # have written everything once they end, which is when the program's
  # streams close.
  tee -a "$seen" <"$scratch/stdout" &
  copy_out=$!
  tee -a "$seen" <"$scratch/stderr" >&2 &
  copy_err=$!
  "$wine" "$@" >"$scratch/stdout" 2>"$scratch/stderr"
  status=$?
  wait "$copy_out" "$copy_err"
  if ((status == 0)) || [ -s "$seen" ] || ((attempt == attempts)); then
    exit "$status"
  fi
  note="wine64 exited with status $status before $(basename "$1") printed anything (attempt $attempt of $attempts): $*"
  printf 'wine-run: %s\n' "$note" >&2
  if [ -n "${DAEMONEYE_WINE_RETRY_LOG:-}" ]; then
    printf '%s %s\n' "$(date -u +%FT%TZ)" "$note" >>"$DAEMONEYE_WINE_RETRY_LOG"
  fi
done
