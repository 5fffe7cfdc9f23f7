#!/usr/bin/env bash
# Release packages: a versioned tree and tarball with everything a C, C++ or C# host needs.
#
#   ./scripts/dist.sh              dist/wss-<version>-linux-x64/ and .tar.gz (system OpenSSL)
#   ./scripts/dist.sh --vendored   dist/wss-<version>-linux-x64-vendored/ (OpenSSL built from
#                                  source and linked in: the library needs only libc and libgcc_s;
#                                  slow the first time)
#   make dist / make dist-vendored do the same.
#
# The tree:
#   include/           wss.h (C ABI), wss/*.hpp (C++17 wrapper)
#   lib/               libwss.so.<version>, libwss.so.1 (SONAME link), libwss.so, libwss.a,
#                      cmake/wss/ (find_package(wss)), pkgconfig/wss.pc  -- as `cmake --install`
#   lib/dotnet/        Wss.dll (the C# wrapper, built with Mono's mcs) and its Wss.xml docs
#   bin/wss-pki        the PKI tool
#   nuget/Wss.<version>.nupkg   lib/netstandard2.0/Wss.dll + runtimes/linux-x64/native/libwss.so
#   examples/          c/, cpp/ (CMake, find_package), csharp/: the sources to start from
#   *.debug            debug symbols of each stripped ELF file, beside it (gnu-debuglink)
#   MANIFEST           size and path of every file (and where each link points)
#   SHA256SUMS         `sha256sum -c SHA256SUMS` checks the tree
# plus dist/<name>.tar.gz and dist/<name>.tar.gz.sha256. Build trees go to target/dist/.
#
# Installs what it needs with apt-get when run as root (non-root: names the missing packages).
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

VENDORED=0
for arg in "$@"; do
  case "$arg" in
    --vendored) VENDORED=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown option: $arg (try --help)" >&2; exit 2 ;;
  esac
done

log() { printf '\n==> %s\n' "$*"; }
# shellcheck source=scripts/apt-needs.sh
. scripts/apt-needs.sh
PKGS=(pkg-config gcc g++ cmake binutils mono-devel nuget)
if [ "$VENDORED" = 1 ]; then PKGS+=(perl make); else PKGS+=(libssl-dev); fi
apt_needs "${PKGS[@]}"

version=$(sed -n 's/^version = "\([0-9.]*\)"$/\1/p; T; q' Cargo.toml)
[ -n "$version" ] || { echo "no version in Cargo.toml" >&2; exit 1; }
name="wss-$version-linux-x64"
features=()
target_dir="$root/target"
if [ "$VENDORED" = 1 ]; then
  name="$name-vendored"
  features=(--features vendored)
  target_dir="$root/target/vendored"   # its own, so the two flavours never mix objects
fi
work="$root/target/dist/$name"
tree="$root/dist/$name"
rm -rf "$work" "$tree" "$root/dist/$name.tar.gz" "$root/dist/$name.tar.gz.sha256"
mkdir -p "$work" "$root/dist"

log "$name: library (cargo --release, through the CMake project) and its install tree"
cmake -S . -B "$work/cmake" -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_LIBDIR=lib \
  -DWSS_BUILD_TESTS=OFF -DWSS_BUILD_EXAMPLES=OFF -DWSS_WERROR=OFF \
  -DWSS_CARGO_TARGET_DIR="$target_dir" -DWSS_CARGO_FEATURES="${features[1]:-}" > "$work/cmake.log"
cmake --build "$work/cmake" >> "$work/cmake.log"
cmake --install "$work/cmake" --prefix "$tree" >> "$work/cmake.log"

log "$name: wss-pki"
cargo build --release --bin wss-pki "${features[@]}" --target-dir "$target_dir"
mkdir -p "$tree/bin"
cp "$target_dir/release/wss-pki" "$tree/bin/"

log "$name: Wss.dll (mcs) and the NuGet package"
mkdir -p "$tree/lib/dotnet"
mcs -langversion:7.2 -sdk:4.6.1 -warnaserror -optimize+ -target:library \
  -doc:"$tree/lib/dotnet/Wss.xml" -out:"$tree/lib/dotnet/Wss.dll" bindings/csharp/src/*.cs

log "$name: strip, debug symbols beside each file"
# The .so and wss-pki: full debug info to FILE.debug, FILE stripped and pointing at it.
# libwss.a: debug sections dropped (a static library cannot point to a .debug file; programs
# linking it build their own debug info).
for f in "$tree/lib/libwss.so.$version" "$tree/bin/wss-pki"; do
  objcopy --only-keep-debug "$f" "$f.debug"
  chmod a-x "$f.debug"
  objcopy --strip-unneeded "$f"
  (cd "$(dirname "$f")" && objcopy --add-gnu-debuglink="$(basename "$f").debug" "$(basename "$f")")
done
strip --strip-debug "$tree/lib/libwss.a"

# NuGet: staged as the package holds it, then `nuget pack` (Debian's nuget 2.8.7, offline).
stage="$work/nuget"
mkdir -p "$stage/lib/netstandard2.0" "$stage/runtimes/linux-x64/native" "$tree/nuget"
cp "$tree/lib/dotnet/Wss.dll" "$tree/lib/dotnet/Wss.xml" "$stage/lib/netstandard2.0/"
cp "$tree/lib/libwss.so.$version" "$stage/runtimes/linux-x64/native/libwss.so"
cp bindings/csharp/Wss.nuspec "$stage/"
(cd "$stage" && HOME="$work" nuget pack Wss.nuspec -Version "$version" -NoPackageAnalysis -NonInteractive \
  -OutputDirectory "$tree/nuget" > "$work/nuget.log") || { cat "$work/nuget.log" >&2; exit 1; }

log "$name: examples, README, MANIFEST, SHA256SUMS"
mkdir -p "$tree/examples/c" "$tree/examples/cpp" "$tree/examples/csharp"
cp examples/c/echo_server.c "$tree/examples/c/"
cp examples-cpp/CMakeLists.txt examples-cpp/*.cpp examples-cpp/*.hpp "$tree/examples/cpp/"
cp examples-csharp/*.cs "$tree/examples/csharp/"
cp README.md "$tree/"

(
  cd "$tree"
  find . -type f ! -name SHA256SUMS ! -name MANIFEST | sed 's|^\./||' | LC_ALL=C sort \
    | while read -r f; do sha256sum "$f"; done > SHA256SUMS
  {
    echo "# $name: size in bytes, path (links: -> target)"
    find . \( -type f -o -type l \) ! -name MANIFEST | sed 's|^\./||' | LC_ALL=C sort | while read -r f; do
      if [ -L "$f" ]; then printf '%10s  %s -> %s\n' link "$f" "$(readlink "$f")"
      else printf '%10d  %s\n' "$(stat -c %s "$f")" "$f"; fi
    done
  } > MANIFEST
)
tar -C "$root/dist" -czf "$root/dist/$name.tar.gz" "$name"
(cd "$root/dist" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")

log "$name: done"
grep -E ' (lib/libwss\.so\.[0-9.]+|lib/libwss\.a|bin/wss-pki|nuget/.*\.nupkg)$' "$tree/MANIFEST"
echo "libwss.so needs: $(readelf -d "$tree/lib/libwss.so.$version" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')"
printf '%10d  %s\n' "$(stat -c %s "$root/dist/$name.tar.gz")" "dist/$name.tar.gz"
