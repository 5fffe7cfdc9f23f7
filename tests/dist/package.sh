#!/usr/bin/env bash
# The release package test: unpacks a tarball made by scripts/dist.sh in a temp dir and, using
# nothing but the unpacked tree (its headers, libraries, CMake package, pkg-config file, Wss.dll,
# NuGet package and example sources), builds and runs real echoes:
#   C    examples/c/echo_server.c (gcc -I include -L lib)           <- C++ echo_client (CMake)
#   C++  examples/cpp via find_package(wss): echo_server, echo_client (mutual TLS, PFX + CA dir)
#   C++  echo_client via `pkg-config --cflags --libs wss`             -> C++ echo_server
#   C#   EchoClient (mcs against lib/dotnet/Wss.dll, mono)            -> C++ echo_server
#   C#   EchoClient on the NuGet package's Wss.dll + runtimes/linux-x64/native/libwss.so
# and checks the tree itself: SHA256SUMS, SONAME link, stripped files with their .debug beside
# them, every built program loading libwss.so.1 from the unpacked tree (ldd) with no path into
# the checkout. Certificates: tests/csharp/make-certs.sh (openssl CLI), and bin/wss-pki's own.
#
#   tests/dist/package.sh TARBALL      tests dist/wss-<version>-linux-x64[-vendored].tar.gz
#   tests/dist/package.sh [--vendored] first makes it with scripts/dist.sh (scripts/test.sh: the
#                                      system flavour; --dist-vendored adds the vendored one)
#
# Ends with "wss-test-count dist PASSED FAILED SKIPPED"; exit status 0 when all passed.
set -uo pipefail
checkout="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/apt-needs.sh
. "$checkout/scripts/apt-needs.sh"
# unzip opens the NuGet package; the C/C++/C# tool chains are dist.sh's and test.sh's to install.
if ! apt_needs unzip; then
  echo "wss-test-count dist 0 1 0"
  exit 1
fi
case "${1:-}" in
  ""|--vendored)
    flavour=linux-x64${1:+-vendored}
    version=$(sed -n 's/^version = "\([0-9.]*\)"$/\1/p; T; q' "$checkout/Cargo.toml")
    if ! "$checkout/scripts/dist.sh" ${1:+"$1"}; then
      echo "FAIL scripts/dist.sh ${1:-}"
      echo "wss-test-count dist 0 1 0"
      exit 1
    fi
    tarball="$checkout/dist/wss-$version-$flavour.tar.gz"
    ;;
  *) tarball="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")" ;;
esac
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; fi
  [ -n "${KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0 skipped=0
check() { # NAME COMMAND...: one counted test; the command's output goes to $tmp/log/NAME
  local name=$1; shift
  mkdir -p "$tmp/log"
  if "$@" > "$tmp/log/$name" 2>&1; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"; sed 's/^/     | /' "$tmp/log/$name" | tail -n 40
  fi
}
skip() { skipped=$((skipped + 1)); echo "skip $1: $2"; }

# Start a server in the background; sets $port from the first line matching SED_EXPR.
start() { # OUT SED_EXPR COMMAND...
  local out=$1 expr=$2; shift 2
  timeout 120 "$@" > "$out" 2>&1 &
  server_pid=$!
  port=""
  for _ in $(seq 600); do
    port=$(sed -n "$expr; T; q" "$out")
    [ -n "$port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$out"; return 1; }
    sleep 0.1
  done
  cat "$out"
  return 1
}
stop() { if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null; server_pid=""; fi; }

cd "$tmp"
tar -xzf "$tarball"
pkg="$tmp/$(basename "$tarball" .tar.gz)"
version=$(sed -n 's/^# wss-\([0-9.]*\)-.*/\1/p' "$pkg/MANIFEST")
certs="$tmp/certs"
"$checkout/tests/csharp/make-certs.sh" "$certs" > /dev/null 2>&1
unset LD_LIBRARY_PATH PKG_CONFIG_PATH CMAKE_PREFIX_PATH

# ---- the tree -------------------------------------------------------------------------------
check sha256sums sh -c "cd '$pkg' && sha256sum --quiet -c SHA256SUMS"
layout() {
  local f
  for f in include/wss.h include/wss/wss.hpp lib/libwss.so.$version lib/libwss.a \
           lib/cmake/wss/wssConfig.cmake lib/cmake/wss/wssConfigVersion.cmake lib/pkgconfig/wss.pc \
           lib/dotnet/Wss.dll nuget/Wss.$version.nupkg bin/wss-pki bin/wss-pki.debug MANIFEST examples/c/echo_server.c \
           examples/cpp/CMakeLists.txt examples/csharp/EchoClient.cs; do
    [ -f "$pkg/$f" ] || { echo "missing: $f"; return 1; }
  done
  [ "$(readlink "$pkg/lib/libwss.so.1")" = "libwss.so.$version" ] || { echo "libwss.so.1 link"; return 1; }
  [ "$(readlink "$pkg/lib/libwss.so")" = "libwss.so.1" ] || { echo "libwss.so link"; return 1; }
  grep -q 'SONAME.*\[libwss\.so\.1\]' <<<"$(readelf -d "$pkg/lib/libwss.so.$version")" || { echo "SONAME"; return 1; }
  grep -q "lib/libwss.so.$version\$" "$pkg/MANIFEST" || { echo "MANIFEST lacks the library"; return 1; }
}
check layout layout
vendored_deps() { # the vendored flavour: shipped ELF files need nothing but libc (and the loader)
  local f bad
  for f in "$pkg/lib/libwss.so.$version" "$pkg"/bin/*; do
    case "$f" in *.debug) continue ;; esac
    readelf -d "$f" | grep NEEDED
    bad=$(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | grep -vE '^(libc\.so\.6|libm\.so\.6|libgcc_s\.so\.1|ld-linux-x86-64\.so\.2)$')
    [ -z "$bad" ] || { echo "$f needs $bad"; return 1; }
  done
  ! grep -q '^Requires.private: openssl' "$pkg/lib/pkgconfig/wss.pc"
}
case "$pkg" in *-vendored) check vendored-needs-only-libc vendored_deps ;; esac
stripped() { # every shipped ELF file without debug info, pointing to FILE.debug beside it
  local f
  for f in "$pkg/lib/libwss.so.$version" "$pkg"/bin/*; do
    case "$f" in *.debug) continue ;; esac
    if grep -q '\.debug_info' <<<"$(readelf -S "$f")"; then echo "not stripped: $f"; return 1; fi
    grep -q "$(basename "$f").debug" <<<"$(readelf --string-dump=.gnu_debuglink "$f")" \
      || { echo "no debuglink: $f"; return 1; }
    grep -q '\.debug_info' <<<"$(readelf -S "$f.debug")" || { echo "no debug info in $f.debug"; return 1; }
  done
  if grep -q '\.debug_info' <<<"$(readelf -S "$pkg/lib/libwss.a" 2>/dev/null)"; then echo "libwss.a keeps debug info"; return 1; fi
}
check stripped stripped
nupkg_layout() {
  # Outputs are taken whole before grep -q here and below: `cmd | grep -q` under pipefail fails
  # at random when grep exits before cmd has written everything (SIGPIPE).
  local listing
  listing=$(unzip -l "$pkg/nuget/Wss.$version.nupkg") || return 1
  grep -q ' lib/netstandard2.0/Wss.dll$' <<<"$listing" &&
    grep -q ' runtimes/linux-x64/native/libwss.so$' <<<"$listing"
}
check nupkg-layout nupkg_layout

# Loads libwss.so.1 from the unpacked tree (or DIR), nothing from the checkout.
loads_from_pkg() { # BINARY [DIR]
  local dir=${2:-$pkg/lib} line
  line=$(ldd "$1" | grep 'libwss\.so') || { echo "$1 does not link libwss"; return 1; }
  case "$line" in *"=> $dir/libwss.so.1 "*) ;; *) echo "$1: $line (expected $dir)"; return 1 ;; esac
  if grep -q "$checkout" <<<"$(readelf -d "$1")"; then echo "$1 has a path into the checkout"; return 1; fi
}

# ---- C++ examples via find_package(wss) ----------------------------------------------------
cmake_build() {
  cmake -S "$pkg/examples/cpp" -B "$tmp/cpp" -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$pkg" &&
    cmake --build "$tmp/cpp" -j2 --target echo_server echo_client &&
    loads_from_pkg "$tmp/cpp/echo_server" && loads_from_pkg "$tmp/cpp/echo_client"
}
check cpp-find-package-build cmake_build
srv="$tmp/cpp/echo_server" cli="$tmp/cpp/echo_client"
MTLS_SERVER=(--pfx "$certs/server.pfx" --password server-pass --ca-dir "$certs/ca-dir" --require-client-cert)
MTLS_CLIENT=(--pfx "$certs/client.pfx" --password client-pass --ca-dir "$certs/ca-dir")

cpp_mtls_echo() {
  start "$tmp/cpp-server.out" 's/^listening on port \([0-9]*\).*/\1/p' "$srv" --port 0 "${MTLS_SERVER[@]}" &&
    timeout 60 "$cli" "wss://localhost:$port/" "${MTLS_CLIENT[@]}" --count 3 --size 32 > "$tmp/cpp-client.out" &&
    cat "$tmp/cpp-client.out" && grep -q '^3 replies$' "$tmp/cpp-client.out" &&
    grep -q '^connected: TLSv1\.[23], .*, peer CN=wss test server' "$tmp/cpp-client.out"
}
check cpp-mtls-echo cpp_mtls_echo

# ---- the README's CMake lines build the README's C++ sample against the package ---------------
readme_cmake() {
  local d="$tmp/readme-cmake"
  mkdir -p "$d"
  awk '/^```cmake/ { on = 1; next } /^```/ { on = 0 } on' "$pkg/README.md" > "$d/block.cmake"
  awk '/^```cpp/ { on = 1; n++; next } /^```/ { on = 0 } on && n == 1' "$pkg/README.md" > "$d/app.cpp"
  grep -q 'find_package(wss' "$d/block.cmake" && grep -q 'int main(' "$d/app.cpp" || { echo "README blocks not found"; return 1; }
  printf '%s\n' 'cmake_minimum_required(VERSION 3.16)' 'project(app CXX)' 'set(CMAKE_CXX_STANDARD 17)' \
    'add_executable(app app.cpp)' > "$d/CMakeLists.txt"
  cat "$d/block.cmake" >> "$d/CMakeLists.txt"
  cmake -S "$d" -B "$d/build" -DCMAKE_PREFIX_PATH="$pkg" && cmake --build "$d/build" && loads_from_pkg "$d/build/app"
}
check readme-cmake readme_cmake

# ---- C++ echo_client via pkg-config -> the C++ echo_server still running ---------------------
pkgconfig_echo() {
  local flags
  flags=$(PKG_CONFIG_PATH="$pkg/lib/pkgconfig" pkg-config --cflags --libs wss) || return 1
  # shellcheck disable=SC2086
  c++ -std=c++17 -O1 "$pkg/examples/cpp/echo_client.cpp" -o "$tmp/pc_echo_client" $flags \
    -Wl,-rpath,"$pkg/lib" -pthread &&
    loads_from_pkg "$tmp/pc_echo_client" &&
    timeout 60 "$tmp/pc_echo_client" "wss://127.0.0.1:$port/" "${MTLS_CLIENT[@]}" --count 2 --size 5 \
      > "$tmp/pc.out" && cat "$tmp/pc.out" && grep -q '^2 replies$' "$tmp/pc.out"
}
if [ -n "$server_pid" ]; then check cpp-pkg-config-echo pkgconfig_echo; else skip cpp-pkg-config-echo "no C++ server"; fi

# ---- C# EchoClient (mcs + mono) against lib/dotnet/Wss.dll -> the C++ echo_server ------------
csharp_echo() { # ASSEMBLY_DIR NATIVE_DIR NAME
  local out="$tmp/$3"
  mkdir -p "$out"
  # Mono finds libwss only through LD_LIBRARY_PATH here: none installed system-wide.
  if grep -q 'libwss\.so' <<<"$(ldconfig -p)"; then echo "a libwss is installed system-wide"; return 1; fi
  cp "$1/Wss.dll" "$out/"
  mcs -langversion:7.2 -sdk:4.6.1 -target:exe -out:"$out/EchoClient.exe" -r:"$out/Wss.dll" \
    "$pkg/examples/csharp/EchoClient.cs" "$pkg/examples/csharp/TlsArgs.cs" "$pkg/examples/csharp/Report.cs" &&
    LD_LIBRARY_PATH="$2" timeout 60 mono "$out/EchoClient.exe" "wss://localhost:$port/" \
      "${MTLS_CLIENT[@]}" --count 2 --size 7 > "$out/client.out" 2>&1 &&
    cat "$out/client.out" && grep -q '^2 replies$' "$out/client.out"
}
nuget_echo() {
  mkdir -p "$tmp/nupkg" && (cd "$tmp/nupkg" && unzip -q "$pkg/nuget/Wss.$version.nupkg") &&
    ln -sf libwss.so "$tmp/nupkg/runtimes/linux-x64/native/libwss.so.1" &&
    csharp_echo "$tmp/nupkg/lib/netstandard2.0" "$tmp/nupkg/runtimes/linux-x64/native" cs-nuget
}
if [ -n "$server_pid" ]; then
  check csharp-echo csharp_echo "$pkg/lib/dotnet" "$pkg/lib" cs-dll
  check csharp-nuget-echo nuget_echo
else
  skip csharp-echo "no C++ server"; skip csharp-nuget-echo "no C++ server"
fi
stop

# ---- C example (gcc against include/ and lib/) <- the C++ echo_client -----------------------
c_echo() {
  gcc -std=c11 -O1 -I"$pkg/include" "$pkg/examples/c/echo_server.c" -o "$tmp/c_echo_server" \
    -L"$pkg/lib" -lwss -Wl,-rpath,"$pkg/lib" -pthread &&
    loads_from_pkg "$tmp/c_echo_server" &&
    start "$tmp/c-server.out" 's/^PORT \([0-9]*\)$/\1/p' "$tmp/c_echo_server" "$certs/server.pem" "$certs/server.key" &&
    timeout 60 "$cli" "wss://localhost:$port/" --ca-file "$certs/ca.pem" --count 2 --size 9 > "$tmp/c-client.out" &&
    cat "$tmp/c-client.out" && grep -q '^2 replies$' "$tmp/c-client.out"
}
check c-echo c_echo
# The static library, with what `pkg-config --static` adds: no libwss (and, vendored, no
# libssl) at run time.
static_echo() {
  local libs
  libs=$(PKG_CONFIG_PATH="$pkg/lib/pkgconfig" pkg-config --static --libs wss) || return 1
  # shellcheck disable=SC2086
  c++ -std=c++17 -O1 -I"$pkg/include" "$pkg/examples/cpp/echo_client.cpp" -o "$tmp/static_echo_client" \
    "$pkg/lib/libwss.a" ${libs//-lwss/} -pthread &&
    ! grep -q libwss <<<"$(ldd "$tmp/static_echo_client")" &&
    { [ "${pkg%-vendored}" = "$pkg" ] || ! grep -qE 'libssl|libcrypto' <<<"$(ldd "$tmp/static_echo_client")"; } &&
    timeout 60 "$tmp/static_echo_client" "wss://localhost:$port/" --ca-file "$certs/ca.pem" --count 1 > "$tmp/static.out" &&
    cat "$tmp/static.out" && grep -q '^1 replies$' "$tmp/static.out"
}
if [ -n "$server_pid" ]; then check static-link-echo static_echo; else skip static-link-echo "no C server"; fi
stop

# ---- bin/wss-pki: a PKI of its own, used by the C++ server and client -----------------------
pki_echo() {
  local pki="$tmp/pki"
  WSS_PKI_PASSWORD=pki-pass "$pkg/bin/wss-pki" init "$pki" --san localhost,127.0.0.1 --client alice &&
    start "$tmp/pki-server.out" 's/^listening on port \([0-9]*\).*/\1/p' "$srv" --port 0 \
      --pfx "$pki/server.p12" --password pki-pass --ca-dir "$pki/ca-hashed" --require-client-cert &&
    timeout 60 "$cli" "wss://127.0.0.1:$port/" --pfx "$pki/clients/alice.p12" --password pki-pass \
      --ca-dir "$pki/ca-hashed" --count 1 > "$tmp/pki-client.out" &&
    cat "$tmp/pki-client.out" && grep -q '^1 replies$' "$tmp/pki-client.out"
}
check wss-pki-echo pki_echo
stop

echo "wss-test-count dist $passed $failed $skipped"
[ "$failed" = 0 ]
