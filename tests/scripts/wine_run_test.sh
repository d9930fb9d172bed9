#!/usr/bin/env bash
# cmake/wine-run.sh, the emulator the Windows tests run through, driven with a
# stand-in for wine64 that behaves as told by $MODE: a program is started
# again only when wine64 failed without printing anything, never when the
# program itself failed, and its output reaches the right stream unchanged.
#   wine_run_test.sh PATH/TO/wine-run.sh
set -euo pipefail
wine_run=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/wine64" <<'FAKE'
#!/usr/bin/env bash
runs=$(($(cat "$RUNS" 2>/dev/null || echo 0) + 1))
echo "$runs" >"$RUNS"
case "$MODE" in
  silent-once) if ((runs == 1)); then exit 3; fi; echo "ran $*"; exit 0 ;;
  always-silent) exit 5 ;;
  test-fails) echo "[  FAILED  ] one test"; exit 1 ;;
  error-on-stderr) echo "error: no such pipe" >&2; exit 2 ;;
  silent-success) exit 0 ;;
esac
FAKE
chmod +x "$work/wine64"

failures=0
# check MODE STATUS RUNS STDOUT STDERR-PATTERN RETRIES (an empty pattern: nothing on stderr)
check() {
  local mode=$1 want_status=$2 want_runs=$3 want_out=$4 want_err=$5 want_retries=$6 status=0
  rm -f "$work/runs" "$work/retries"
  RUNS=$work/runs MODE=$mode DAEMONEYE_WINE_RETRY_LOG=$work/retries \
    "$wine_run" "$work/wine64" prog.exe --flag "two words" >"$work/out" 2>"$work/err" || status=$?
  local runs retries=0
  runs=$(cat "$work/runs")
  if [ -f "$work/retries" ]; then retries=$(wc -l <"$work/retries"); fi
  if [ "$status" != "$want_status" ] || [ "$runs" != "$want_runs" ] || [ "$(cat "$work/out")" != "$want_out" ] ||
    { [ -z "$want_err" ] && [ -s "$work/err" ]; } || { [ -n "$want_err" ] && ! grep -Eq -- "$want_err" "$work/err"; } || [ "$retries" != "$want_retries" ]; then
    echo "FAIL $mode: status $status (want $want_status), runs $runs (want $want_runs), retries $retries" \
      "(want $want_retries), stdout [$(cat "$work/out")] (want [$want_out]), stderr [$(cat "$work/err")]" \
      "(want /$want_err/)"
    failures=$((failures + 1))
  else
    echo "ok   $mode"
  fi
}

check silent-once 0 2 "ran prog.exe --flag two words" "status 3 before prog.exe printed anything \(attempt 1 of 3\)" 1
check always-silent 5 3 "" "attempt 2 of 3" 2
check test-fails 1 1 "[  FAILED  ] one test" "" 0
check error-on-stderr 2 1 "" "^error: no such pipe$" 0
check silent-success 0 1 "" "" 0
exit $((failures > 0))
