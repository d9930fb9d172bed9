#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test
# through ctest, then the fuzz targets. Exits non-zero on any failure.
#
# Environment:
#   FUZZ_SECONDS   seconds per fuzz target (default 30; 0 skips fuzzing)
#   SANITIZERS     "asan tsan" (default) - extra preset runs of the suite; "" skips them
#   WINDOWS        1 (default) - the Windows cross-build and its tests under wine
#                  (scripts/windows-test.sh); 0 skips it
set -euo pipefail
cd "$(dirname "$0")/.."

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
SANITIZERS=${SANITIZERS-"asan tsan"}
WINDOWS=${WINDOWS:-1}
JOBS=${JOBS:-$(nproc)}
started=$SECONDS

step() { printf '\n=== %s (%ds)\n' "$*" $((SECONDS - started)); }

step "bootstrap"
bash scripts/bootstrap.sh

run_preset() {
  local preset=$1
  step "configure + build: $preset"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$JOBS"
  step "ctest: $preset"
  ctest --preset "$preset" -j "$JOBS"
}

run_preset dev
for preset in $SANITIZERS; do
  run_preset "$preset"
done

fuzz_runtime=$(clang++ -print-resource-dir 2>/dev/null)/lib/linux/libclang_rt.fuzzer-x86_64.a
if [ "$FUZZ_SECONDS" -gt 0 ] && [ -f "$fuzz_runtime" ]; then
  step "configure + build: fuzz"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$JOBS"
  for target in build/fuzz/fuzz/*_fuzz; do
    name=$(basename "$target" _fuzz)
    step "fuzz: $name for ${FUZZ_SECONDS}s"
    scripts/fuzz-target.sh "$target" "$FUZZ_SECONDS" build/fuzz
  done
elif [ "$FUZZ_SECONDS" -gt 0 ]; then
  echo "test.sh: clang's libFuzzer runtime not found ($fuzz_runtime); bootstrap installs libclang-rt-14-dev" >&2
  exit 1
fi

if [ "$WINDOWS" = 1 ]; then
  step "windows cross-build + tests under wine"
  JOBS=$JOBS bash scripts/windows-test.sh
fi

step "all tests passed"
