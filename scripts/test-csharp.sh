#!/usr/bin/env bash
# The C# wrapper's tests under Mono: builds libwss (release), Wss.dll, the NUnit 2.6 tests and the
# C# examples with mcs (C# 7.2), makes a test PKI with the openssl CLI, runs nunit-console, a
# smoke run of the examples, the C# client against the C++ server, and a comparison of the C# and
# C++ examples' outputs, and ends with one machine-readable line:
#
#   wss-test-count csharp PASSED FAILED SKIPPED
#
# The same counts go to $WSS_TEST_COUNTS when scripts/test.sh set it (its summary reads them);
# a run that stops early (a build error) counts as one failure.
# Installs mono-devel, nunit-console, libnunit-cil-dev (and gcc, openssl) with apt-get when run as
# root; non-root users install them first. Output goes to target/csharp/. Exit status: 0 when
# every test passed.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
out="$root/target/csharp"

log() { printf '\n==> %s\n' "$*"; }

reported=0
report() { # PASSED FAILED SKIPPED
  reported=1
  echo "wss-test-count csharp $1 $2 $3"
  if [ -n "${WSS_TEST_COUNTS:-}" ]; then
    printf 'csharp %d %d %d nunit+examples\n' "$1" "$2" "$3" >>"$WSS_TEST_COUNTS"
  fi
}
trap '[ "$reported" = 1 ] || report 0 1 0' EXIT

# shellcheck source=scripts/apt-needs.sh
. scripts/apt-needs.sh
apt_needs mono-devel nunit-console libnunit-cil-dev gcc openssl pkg-config

log "building libwss (release)"
cargo build --release --lib
rm -rf "$out"
mkdir -p "$out"
cp target/release/libwss.so "$out/"
ln -s libwss.so "$out/libwss.so.1"

log "building Wss.dll, the tests and the examples with mcs"
MCS=(mcs -langversion:7.2 -sdk:4.6.1 -warnaserror -debug)
"${MCS[@]}" -target:library -doc:"$out/Wss.xml" -out:"$out/Wss.dll" bindings/csharp/src/*.cs
NUNIT_FRAMEWORK=/usr/lib/cli/nunit.framework-2.6.3/nunit.framework.dll
cp "$NUNIT_FRAMEWORK" "$out/"
"${MCS[@]}" -target:library -out:"$out/Wss.Tests.dll" -r:"$out/Wss.dll" -r:"$NUNIT_FRAMEWORK" \
  -r:System.Core.dll tests/csharp/*.cs
"${MCS[@]}" -target:exe -out:"$out/ExitProbe.exe" -r:"$out/Wss.dll" tests/csharp/exit-probe/ExitProbe.cs
for ex in EchoServer EchoClient; do
  "${MCS[@]}" -target:exe -define:MONO_POSIX -out:"$out/$ex.exe" -r:"$out/Wss.dll" -r:Mono.Posix.dll \
    "examples-csharp/$ex.cs" examples-csharp/TlsArgs.cs examples-csharp/Report.cs examples-csharp/StopSignals.cs
done

log "C++ echo_server and echo_client (examples-cpp) for the cross-language runs"
# Built by the top-level CMake (as scripts/test-cpp.sh does) in a tree of its own that survives
# between runs. Without cmake or a C++ compiler the runs are skipped with a message; a build that
# fails counts as a failure (of each run).
cpp_examples=""
cpp_status=skip
cpp_dir="$root/target/csharp-cpp"
if command -v cmake >/dev/null && command -v c++ >/dev/null; then
  if cmake -S . -B "$cpp_dir" -DCMAKE_BUILD_TYPE=Release -DWSS_BUILD_TESTS=OFF -DWSS_BUILD_EXAMPLES=ON \
       > "$out/cpp-build.log" 2>&1 \
     && cmake --build "$cpp_dir" --target echo_server echo_client -j2 >> "$out/cpp-build.log" 2>&1; then
    cpp_examples="$cpp_dir/examples-cpp"
    cpp_status=built
  else
    echo "the C++ examples failed to build:" >&2
    tail -n 40 "$out/cpp-build.log" >&2
    cpp_status=failed
  fi
fi

log "test PKI (openssl CLI), the C struct layout and the C result codes"
tests/csharp/make-certs.sh "$out/certs" >/dev/null
gcc -std=c11 -Wall -Werror -Iinclude tests/csharp/layout.c -o "$out/layout"
"$out/layout" > "$out/layout.txt"
# Every WSS_OK / WSS_ERR_* the header defines, as the C compiler evaluates it ("NAME value"
# lines for LayoutTests.ResultCodesMatchTheCHeader).
{
  printf '#include <stdio.h>\n#include "wss.h"\nint main(void) {\n'
  sed -n 's/^#define \(WSS_\(OK\|ERR_[A-Z0-9_]*\)\)[[:space:]].*/  printf("%s %d\\n", "\1", (int)(\1));/p' include/wss.h
  printf '  return 0;\n}\n'
} > "$out/results.c"
gcc -std=c11 -Wall -Werror -Iinclude "$out/results.c" -o "$out/results"
"$out/results" > "$out/results.txt"

export LD_LIBRARY_PATH="$out${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export WSS_TEST_CERTS="$out/certs" WSS_TEST_LAYOUT="$out/layout.txt" WSS_TEST_RESULTS="$out/results.txt" \
  WSS_TEST_EXIT_PROBE="$out/ExitProbe.exe"

log "nunit-console"
status=0
# Under a timeout: a process that cannot exit (Mono waiting for native threads that ran managed
# code) must fail the run, not hang it.
(cd "$out" && timeout 900 nunit-console -nologo -noshadow -xml="$out/TestResult.xml" Wss.Tests.dll) \
  || status=$?

log "examples: EchoClient against EchoServer over mutual TLS"
examples=0
if ! examples-csharp/smoke.sh "$out"; then
  examples=1
fi

log "cross-language: C# EchoClient against the C++ echo_server over mutual TLS"
cross=0 compare=0 cross_skipped=0
case "$cpp_status" in
  built) examples-csharp/cross-cpp.sh "$out" "$cpp_examples/echo_server" || cross=1 ;;
  failed) cross=1 ;;
  skip)
    echo "SKIPPED: the cross-language runs need the C++ examples, which were not built (no cmake or C++ compiler)"
    cross_skipped=2
    ;;
esac

log "the C# examples print what the C++ examples print (same scenario, outputs compared)"
case "$cpp_status" in
  built) examples-csharp/compare-cpp.sh "$out" "$cpp_examples" || compare=1 ;;
  failed) compare=1 ;;
esac

# Counts from NUnit's XML (2.6 format), plus the examples run, the cross-language run and the
# output comparison as one test each.
read -r total errors failures notrun inconclusive < <(python3 - "$out/TestResult.xml" <<'PY' 2>/dev/null || echo "0 1 0 0 0"
import sys, xml.etree.ElementTree as ET
r = ET.parse(sys.argv[1]).getroot()
print(*(int(r.get(k, 0)) for k in ("total", "errors", "failures", "not-run", "inconclusive")))
PY
)
failed=$((errors + failures + examples + cross + compare))
passed=$((total - errors - failures - inconclusive + 3 - examples - cross - compare - cross_skipped))
skipped=$((notrun + inconclusive + cross_skipped))
if [ "$status" = 124 ]; then
  echo "nunit-console did not exit within 900 s (a runtime waiting for native threads?)" >&2
fi
if [ "$status" != 0 ] && [ "$failed" = 0 ]; then failed=1; fi
report "$passed" "$failed" "$skipped"
[ "$failed" = 0 ]
