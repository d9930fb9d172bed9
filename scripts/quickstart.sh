#!/usr/bin/env bash
# Quick start: installs what is missing, builds a release, starts procmond on
# this user's default endpoint, asks it a few questions with daemoneye-cli,
# and stops it with SIGTERM. Exits 0 only if all of it worked.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target procmond daemoneye-cli

bin=build/release/src
procmond=$bin/procmond/procmond
cli=$bin/cli/daemoneye-cli
log=$PWD/build/release/quickstart-procmond.log

echo "=== starting procmond (log: $log)"
"$procmond" --log-level info >"$log" 2>&1 &
pid=$!
cleanup() { kill -TERM "$pid" 2>/dev/null || true; }
trap cleanup EXIT

# Ready when procmond logs that it listens (it binds before it says so).
for _ in $(seq 1 100); do
  grep -q "listening on" "$log" && break
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "procmond exited during start-up:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done
grep -q "listening on" "$log" || { echo "procmond did not start within 10 s" >&2; cat "$log" >&2; exit 1; }
endpoint=$(sed -n 's/.*listening on //p' "$log" | head -n 1)
echo "procmond listens on $endpoint"

run() { echo; echo "\$ daemoneye-cli $*"; "$cli" "$@"; }
run health-check --verbose
run ps --pid $$
run tree --pid $$
run ipc test

echo
echo "=== stopping procmond (SIGTERM)"
trap - EXIT
kill -TERM "$pid"
wait "$pid"
if [ -e "$endpoint" ]; then
  echo "socket $endpoint was not removed" >&2
  exit 1
fi
echo "procmond stopped cleanly; its log is in $log"
