#!/bin/bash
# User-space instructions per message of daemoneye-bench rows, from two
# callgrind runs with different iteration counts (fixed costs cancel out).
# Deterministic, unlike timings on a shared machine; kernel work (system
# calls, context switches) is not counted.
#
#   bench/callgrind_per_message.sh build/release/bench/daemoneye-bench "blocking_client: small -> empty" 500 1500
#   bench/callgrind_per_message.sh BIN "interprocess_client: small -> empty" 500 1500 --handler async
#
# Prints Ir/message for each process, in fork order: client, floor server,
# IPC server, large-frame IPC server (only the one the row talks to moves).
set -euo pipefail
if [[ $# -lt 4 ]]; then
  echo "usage: $0 DAEMONEYE_BENCH FILTER N1 N2 [daemoneye-bench options]" >&2
  exit 2
fi
bin=$1 filter=$2 n1=$3 n2=$4
shift 4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# totals N: the instruction totals of every process of a run with N iterations, in pid order.
totals() {
  local n=$1
  shift
  local dir=$work/$n
  mkdir -p "$dir"
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" "$bin" --filter "$filter" --iterations "$n" \
    --rounds 1 "$@" >/dev/null 2>"$dir/valgrind.log"
  for f in $(ls "$dir"/cg.* | sort -t. -k2 -n); do
    awk '/^summary:/ {print $2}' "$f"
  done
}
mapfile -t a < <(totals "$n1" "$@")
mapfile -t b < <(totals "$n2" "$@")
names=(client "floor server" "IPC server" "large-frame server")
echo "$filter${*:+ ($*)}: user-space instructions per message"
for i in "${!a[@]}"; do
  printf '  %-20s %12.0f\n' "${names[$i]:-process $i}" "$(echo "(${b[$i]} - ${a[$i]}) / ($n2 - $n1)" | bc -l)"
done
