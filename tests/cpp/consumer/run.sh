#!/usr/bin/env bash
# Installs the build tree BUILD into a scratch prefix, then builds and runs the consumer
# outside the source tree three ways: with find_package(wss) (shared and static targets), with
# `pkg-config --cflags --libs wss`, and with add_subdirectory(SRC) from the checkout.
# Usage: run.sh BUILD WORK CXX SRC
set -euo pipefail
build=$1 work=$2 cxx=$3 src=$4
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"
for f in include/wss.h include/wss/wss.hpp lib/libwss.a lib/libwss.so lib/libwss.so.1 \
         lib/cmake/wss/wssConfig.cmake lib/cmake/wss/wssConfigVersion.cmake lib/pkgconfig/wss.pc; do
  [ -e "$prefix/$f" ] || { echo "not installed: $f" >&2; exit 1; }
done
[ -L "$prefix/lib/libwss.so.1" ] || { echo "libwss.so.1 is not a symlink" >&2; exit 1; }

# find_package
cp -r "$here" "$work/src"
cmake -S "$work/src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_BUILD_TYPE=Release > "$work/configure.log"
cmake --build "$work/cmake-build" > "$work/build.log"
"$work/cmake-build/consumer"
"$work/cmake-build/consumer_static"
"$work/cmake-build/consumer_c"

# pkg-config (the run-time path is the user's choice; here an rpath to the prefix)
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
"$cxx" -std=c++17 "$here/main.cpp" -o "$work/consumer-pc" $(pkg-config --cflags --libs wss) \
  -Wl,-rpath,"$prefix/lib" -pthread
"$work/consumer-pc"

# add_subdirectory from the checkout (cargo's target directory is the checkout's, as usual)
cmake -S "$work/src" -B "$work/subdir-build" -DWSS_SOURCE="$src" -DCMAKE_CXX_COMPILER="$cxx" \
  > "$work/subdir-configure.log"
cmake --build "$work/subdir-build" > "$work/subdir-build.log"
"$work/subdir-build/consumer"
"$work/subdir-build/consumer_c"
echo "package consumers ok: find_package, pkg-config, add_subdirectory"
