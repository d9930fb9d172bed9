#!/usr/bin/env bash
# Runs the integration and end-to-end test programs under valgrind memcheck
# (dev build), failing on any memory error or definite leak, in the test
# programs and in the procmond/daemoneye-cli processes they start. Takes
# several minutes; CI runs the ASan/TSan builds instead.
#   scripts/valgrind.sh                 # every integration_* and e2e_* program
#   scripts/valgrind.sh e2e_cli_test    # just these
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2; exit 1; }
bash scripts/bootstrap.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"

if [ $# -gt 0 ]; then
  programs=("$@")
else
  programs=()
  for p in build/dev/tests/integration_* build/dev/tests/e2e_*; do
    [ -x "$p" ] && [ -f "$p" ] && programs+=("$(basename "$p")")
  done
fi

failed=()
for name in "${programs[@]}"; do
  echo "=== memcheck: $name"
  # Timeouts in the tests are generous enough for valgrind's slowdown. Skipped:
  # the soak (it measures throughput, which valgrind distorts) and the test
  # that checks the collector reports the test's own executable (under
  # valgrind that executable is valgrind's).
  if ! valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite --trace-children=yes --track-fds=no \
      "build/dev/tests/$name" --gtest_filter='-*Soak*:*PsFindsThisTestWithItsNameParentAndUser*' --gtest_brief=1; then
    failed+=("$name")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "valgrind.sh: errors in ${failed[*]}" >&2
  exit 1
fi
echo "valgrind.sh: memcheck clean for ${#programs[@]} program(s)"
