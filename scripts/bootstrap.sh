#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, and only those
# that are missing. Idempotent; works as root or through sudo.
#
#   scripts/bootstrap.sh            the native build, tests, benchmarks and fuzzing
#   scripts/bootstrap.sh windows    the MinGW-w64 cross build and wine (scripts/windows-deps.sh)
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libasio-dev
  libprotobuf-dev protobuf-compiler
  libisal-dev
  libyaml-cpp-dev libtomlplusplus-dev
  libcli11-dev
  libspdlog-dev libfmt-dev
  libssl-dev
  libutfcpp-dev
  prometheus-cpp-dev
  libgtest-dev libgmock-dev librapidcheck-dev libbenchmark-dev
  clang libclang-rt-14-dev
)
if [ "${1:-}" = "windows" ]; then
  # The compiler, wine to run the tests, and what building protobuf, ISA-L,
  # yaml-cpp and prometheus-cpp from Debian's source packages takes.
  packages=(
    cmake ninja-build protobuf-compiler
    g++-mingw-w64-x86-64-posix wine64
    dpkg-dev autoconf automake libtool yasm
    googletest libutfcpp-dev
  )
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "bootstrap: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "bootstrap: missing packages (${missing[*]}) and neither root nor sudo is available" >&2
  exit 1
fi

echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -q
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "bootstrap: done"
