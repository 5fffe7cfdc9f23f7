#!/usr/bin/env bash
# C++ wrapper tests (issue 18): configures, builds and runs ctest in three builds, then prints
#   wss-test-count cpp PASSED FAILED SKIPPED
# (also when something failed; the exit status says whether everything passed).
#   gcc    g++ with -Wall -Wextra -Wpedantic -Werror: GoogleTest cases, static link, example
#          smoke tests (ws, wss), installed-package consumers (find_package, pkg-config)
#   clang  clang++ with the same warnings: the same tests
#   asan   clang++ with AddressSanitizer + UBSan: the same tests except the install consumer
# and, counted as one test each: every build's discovered cases carry their whole ENVIRONMENT and
# TIMEOUT (tests/cpp/checks.py ctest-properties), no raw new/delete in bindings/cpp and
# examples-cpp (checks.py no-raw-new), and the checker's own self-test.
# Build trees go to target/cpp/<name>; the Rust library is built once by cargo (--release).
set -uo pipefail
cd "$(dirname "$0")/.."

APT_PKGS=(cmake ninja-build g++ clang googletest libgtest-dev pkg-config openssl)
# shellcheck source=scripts/apt-needs.sh
. scripts/apt-needs.sh
# Go on without them: the builds below then fail and are counted.
apt_needs "${APT_PKGS[@]}" || true

passed=0 failed=0 skipped=0 status=0
run_build() { # name cmake-args...
  local name=$1; shift
  local dir="target/cpp/$name" log="target/cpp/$name.ctest.log"
  mkdir -p target/cpp
  echo "==> C++ tests: $name"
  if ! cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Debug "$@" > "target/cpp/$name.configure.log" 2>&1 \
     || ! cmake --build "$dir" -j2 > "target/cpp/$name.build.log" 2>&1; then
    echo "C++ build $name failed:" >&2
    tail -n 40 "target/cpp/$name.configure.log" "target/cpp/$name.build.log" >&2
    failed=$((failed + 1)) status=1
    return
  fi
  (cd "$dir" && ctest -j2 --output-on-failure --timeout 600) > "$log" 2>&1 || status=1
  grep -E 'tests passed|\*\*\*|Failed' "$log" | grep -v '^ *Start' || true
  [ "$status" = 0 ] || tail -n 60 "$log" >&2
  # One line per test: "N/M Test #k: name ....   Passed | ***Failed | ***Skipped | ***Not Run ..."
  local p f s
  p=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .* +Passed ' "$log")
  s=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*(Skipped|Not Run)' "$log")
  f=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$log")
  f=$((f - p - s))
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  # The properties ctest gave the discovered cases (a split ENVIRONMENT list once dropped the
  # sanitizer options and TIMEOUT without a word).
  local sanitize=()
  [[ " $* " == *" -DWSS_SANITIZE=ON "* ]] && sanitize=(--sanitize)
  check "ctest properties ($name)" python3 tests/cpp/checks.py ctest-properties "$dir" "${sanitize[@]}"
}

check() { # description command...: one counted test
  local what=$1; shift
  local out
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
  else
    echo "FAILED: $what" >&2
    echo "$out" >&2
    failed=$((failed + 1)) status=1
  fi
}

# The wrapper and the examples hold every object in RAII types: no raw new/delete expressions.
check "checks.py self-test" python3 tests/cpp/checks.py self-test
check "no raw new/delete" python3 tests/cpp/checks.py no-raw-new bindings/cpp examples-cpp

run_build gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++
run_build clang -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
run_build asan -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DWSS_SANITIZE=ON

echo "wss-test-count cpp $passed $failed $skipped"
exit $status
