#!/usr/bin/env bash
# Runs one libFuzzer target for a while over a scratch copy of its seed
# corpus (fuzz/corpus/NAME; the committed corpus stays as it is). Exits
# non-zero, with the end of the fuzzer's log, when the fuzzer failed or saved
# a failing input (crash, leak, timeout, out-of-memory) to ARTIFACTS/NAME-KIND-*.
#
#   scripts/fuzz-target.sh build/fuzz/fuzz/task_parse_fuzz 30 build/fuzz
set -euo pipefail
if [ $# -ne 3 ]; then
  echo "usage: $0 FUZZ_BINARY SECONDS ARTIFACT_DIR" >&2
  exit 2
fi
target=$1 seconds=$2 artifacts=$3
name=$(basename "$target" _fuzz)
corpus=$(cd "$(dirname "$0")/.." && pwd)/fuzz/corpus/$name

kinds=(crash leak timeout oom)  # the failing inputs libFuzzer saves, ARTIFACTS/NAME-KIND-*
# A failing input left by an earlier run would otherwise be taken for this one's.
for kind in "${kinds[@]}"; do rm -f "$artifacts/$name-$kind-"*; done
scratch=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$scratch" "$log"' EXIT
cp -r "$corpus/." "$scratch/" 2>/dev/null || true

status=0
"$target" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$artifacts/$name-" "$scratch" \
  >"$log" 2>&1 || status=$?
found=""
for kind in "${kinds[@]}"; do
  for input in "$artifacts/$name-$kind-"*; do
    if [ -e "$input" ]; then found="$found $input"; fi
  done
done
if [ "$status" -ne 0 ] || [ -n "$found" ]; then
  tail -n 60 "$log" >&2
  echo "fuzz target $name failed (status $status); failing input:${found:- none saved, see the log above}" >&2
  exit 1
fi
grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done)' "$log" || true
