#!/usr/bin/env bash
# Builds the libraries the Windows cross build links, for x86_64-w64-mingw32,
# from Debian's own sources, into build/windows-deps/prefix:
#
#   protobuf, ISA-L, yaml-cpp, prometheus-cpp (core)  from `apt-get source`, at
#                                 the versions of the installed host packages
#                                 (the host protoc must match libprotobuf)
#   GoogleTest + GoogleMock       from /usr/src/googletest
#   Asio, fmt, spdlog, toml++, CLI11, utfcpp  header-only: linked into prefix/include,
#                                 with small CMake package files saying so
#
# The prefix is reused while the versions it was built from (recorded in
# prefix/.versions) are the installed ones. deb-src is enabled for the
# configured mirror only while the sources are fetched; the extra sources
# file is removed again on every exit path.
#
# Environment: JOBS (default: nproc), DAEMONEYE_WINDOWS_DEPS (the prefix).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

JOBS=${JOBS:-$(nproc)}
prefix=${DAEMONEYE_WINDOWS_DEPS:-$root/build/windows-deps/prefix}
work=$(dirname "$prefix")/work
host=x86_64-w64-mingw32
started=$SECONDS

say() { printf 'windows-deps: %s (%ds)\n' "$*" $((SECONDS - started)); }

bash scripts/bootstrap.sh windows

# The source version of an installed binary package.
source_version() { dpkg-query -W -f='${source:Version}' "$1"; }
declare -A versions=(
  [protobuf]=$(source_version libprotobuf-dev)
  [libisal]=$(source_version libisal-dev)
  [yaml-cpp]=$(source_version libyaml-cpp-dev)
  [prometheus-cpp]=$(source_version prometheus-cpp-dev)
  [googletest]=$(source_version googletest)
  [utfcpp]=$(source_version libutfcpp-dev)
)
key=$(for name in $(printf '%s\n' "${!versions[@]}" | sort); do printf '%s=%s\n' "$name" "${versions[$name]}"; done)

if [ -f "$prefix/.versions" ] && [ "$(cat "$prefix/.versions")" = "$key" ]; then
  say "prefix $prefix is up to date"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then as_root=(); else as_root=(sudo); fi

rm -rf "$prefix" "$work"
mkdir -p "$prefix" "$work"

# --- Sources -----------------------------------------------------------------
deb_src=/etc/apt/sources.list.d/daemoneye-deb-src.sources
restore_sources() {
  if [ -f "$deb_src" ]; then
    "${as_root[@]}" rm -f "$deb_src"
    # Drop the source indexes again, so apt sees exactly the configured sources.
    "${as_root[@]}" apt-get update -qq >/dev/null 2>&1 || true
  fi
}
trap restore_sources EXIT

if ! apt-cache showsrc protobuf >/dev/null 2>&1 || [ -z "$(apt-cache showsrc protobuf 2>/dev/null)" ]; then
  say "enabling deb-src for the configured mirrors"
  # The configured deb822 stanzas, with their type turned into deb-src.
  sources=$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | sed -n '/^Types:/,$p')
  if [ -z "$sources" ] && [ -f /etc/apt/sources.list ]; then
    sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list | "${as_root[@]}" tee "${deb_src%.sources}.list" >/dev/null
    deb_src=${deb_src%.sources}.list
  else
    printf '%s\n' "$sources" | sed 's/^Types:.*/Types: deb-src/' | "${as_root[@]}" tee "$deb_src" >/dev/null
  fi
  "${as_root[@]}" apt-get update -qq
else
  deb_src=/nonexistent  # deb-src was configured already; leave it alone
fi

say "fetching sources: ${versions[protobuf]} ${versions[libisal]} ${versions[yaml-cpp]} ${versions[prometheus-cpp]}"
(cd "$work" && apt-get source -qq "protobuf=${versions[protobuf]}" "libisal=${versions[libisal]}" \
  "yaml-cpp=${versions[yaml-cpp]}" "prometheus-cpp=${versions[prometheus-cpp]}" >/dev/null 2>&1) || {
  echo "windows-deps: apt-get source failed; run it by hand in $work to see why" >&2
  exit 1
}
restore_sources
trap - EXIT

source_dir() { find "$work" -maxdepth 1 -mindepth 1 -type d -name "$1-*" | head -n 1; }

# --- CMake projects ----------------------------------------------------------
toolchain=$root/cmake/toolchains/mingw-w64-x86_64.cmake
cmake_build() {
  local name=$1 src=$2
  shift 2
  say "building $name"
  cmake -S "$src" -B "$work/build-$name" -G Ninja -DCMAKE_TOOLCHAIN_FILE="$toolchain" \
    -DDAEMONEYE_WINDOWS_DEPS="$prefix" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX="$prefix" \
    -DBUILD_SHARED_LIBS=OFF -DCMAKE_POSITION_INDEPENDENT_CODE=OFF "$@" >"$work/$name.log" 2>&1 ||
    { tail -n 30 "$work/$name.log" >&2; exit 1; }
  cmake --build "$work/build-$name" -j "$JOBS" >>"$work/$name.log" 2>&1 ||
    { tail -n 30 "$work/$name.log" >&2; exit 1; }
  cmake --install "$work/build-$name" >>"$work/$name.log" 2>&1 ||
    { tail -n 30 "$work/$name.log" >&2; exit 1; }
}

cmake_build protobuf "$(source_dir protobuf)" -Dprotobuf_BUILD_TESTS=OFF -Dprotobuf_BUILD_PROTOC_BINARIES=OFF \
  -Dprotobuf_BUILD_LIBPROTOC=OFF -Dprotobuf_WITH_ZLIB=OFF -Dprotobuf_BUILD_EXAMPLES=OFF
cmake_build yaml-cpp "$(source_dir yaml-cpp)" -DYAML_CPP_BUILD_TESTS=OFF -DYAML_CPP_BUILD_TOOLS=OFF \
  -DYAML_CPP_BUILD_CONTRIB=OFF -DYAML_BUILD_SHARED_LIBS=OFF
cmake_build prometheus-cpp "$(source_dir prometheus-cpp)" -DENABLE_PULL=OFF -DENABLE_PUSH=OFF \
  -DENABLE_COMPRESSION=OFF -DENABLE_TESTING=OFF -DUSE_THIRDPARTY_LIBRARIES=OFF -DGENERATE_PKGCONFIG=OFF
cmake_build googletest /usr/src/googletest -DBUILD_GMOCK=ON -DINSTALL_GTEST=ON -Dgtest_force_shared_crt=OFF

# --- ISA-L (autotools; its assembly needs yasm or nasm, found by configure) ---
say "building libisal"
isal=$(source_dir libisal)
(
  cd "$isal"
  { [ -x configure ] || ./autogen.sh; } &&
    ./configure --host=$host --prefix="$prefix" --enable-static --disable-shared &&
    make -j "$JOBS" && make install
) >"$work/libisal.log" 2>&1 || { tail -n 30 "$work/libisal.log" >&2; exit 1; }

# --- Header-only libraries ----------------------------------------------------
say "linking header-only libraries"
for entry in asio asio.hpp fmt spdlog toml++ CLI utf8 utf8.h; do
  ln -sfn "/usr/include/$entry" "$prefix/include/$entry"
done
header_only_package() {  # <package> <target> <definitions> [<dependency>]
  mkdir -p "$prefix/lib/cmake/$1"
  {
    [ -z "${4:-}" ] || printf 'include(CMakeFindDependencyMacro)\nfind_dependency(%s)\n' "$4"
    printf 'if(NOT TARGET %s)\n' "$2"
    printf '  add_library(%s INTERFACE IMPORTED)\n' "$2"
    printf '  set_target_properties(%s PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "%s"\n' "$2" "$prefix/include"
    printf '    INTERFACE_COMPILE_DEFINITIONS "%s"%s)\n' "$3" "${4:+ INTERFACE_LINK_LIBRARIES ${4}::${4}}"
    printf 'endif()\n'
  } >"$prefix/lib/cmake/$1/$1-config.cmake"
}
header_only_package fmt fmt::fmt "FMT_HEADER_ONLY=1"
header_only_package spdlog spdlog::spdlog "SPDLOG_HEADER_ONLY;SPDLOG_FMT_EXTERNAL" fmt
header_only_package tomlplusplus tomlplusplus::tomlplusplus "TOML_HEADER_ONLY=1"
header_only_package utf8cpp utf8cpp ""

printf '%s\n' "$key" >"$prefix/.versions"
rm -rf "$work"
say "done: $prefix"
