#!/usr/bin/env bash
# scripts/fuzz-target.sh driven with a stand-in for a libFuzzer binary that
# behaves as told by $MODE: a run fails when the fuzzer exits non-zero or
# saves a failing input of any one kind, and passes otherwise; a failing
# input left by an earlier run does not fail the next one.
#   fuzz_target_test.sh PATH/TO/fuzz-target.sh
set -euo pipefail
fuzz_target=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The stand-in: parses -artifact_prefix= as libFuzzer does and acts on $MODE.
cat >"$work/sample_fuzz" <<'FAKE'
#!/usr/bin/env bash
prefix=
for arg in "$@"; do
  case "$arg" in -artifact_prefix=*) prefix=${arg#-artifact_prefix=} ;; esac
done
case "$MODE" in
  clean) echo "Done 1000 runs in 1 second(s)"; exit 0 ;;
  crash) echo "SUMMARY: libFuzzer: deadly signal"; echo x >"${prefix}crash-abc"; exit 1 ;;
  leak-only-file) echo x >"${prefix}leak-def"; exit 0 ;;
  oom-only-file) echo x >"${prefix}oom-123"; exit 0 ;;
  status-only) echo "==1==ERROR: something"; exit 77 ;;
esac
FAKE
chmod +x "$work/sample_fuzz"

failures=0
# check MODE WANT_STATUS [WANT_STDERR_PATTERN]
check() {
  local mode=$1 want=$2 pattern=${3:-} status=0
  MODE=$mode "$fuzz_target" "$work/sample_fuzz" 1 "$work" >"$work/out" 2>"$work/err" || status=$?
  if [ "$status" != "$want" ] || { [ -n "$pattern" ] && ! grep -Eq -- "$pattern" "$work/err"; }; then
    echo "FAIL $mode: status $status (want $want), stderr [$(cat "$work/err")] (want /$pattern/)"
    failures=$((failures + 1))
  else
    echo "ok   $mode"
  fi
}

check crash 1 "failing input: $work/sample-crash-abc"
check clean 0  # the crash input of the run before is gone, not taken for this run's
check leak-only-file 1 "sample-leak-def"
check oom-only-file 1 "sample-oom-123"
check status-only 1 "status 77"
check clean 0
if ! grep -q "^Done 1000 runs" "$work/out"; then
  echo "FAIL clean: the fuzzer's summary was not printed"
  failures=$((failures + 1))
fi
exit $((failures > 0))
