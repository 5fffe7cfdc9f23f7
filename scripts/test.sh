#!/usr/bin/env bash
# Runs every test: formatting, lints, Rust unit and integration tests (TLS faults, limits,
# engine, interop with Python `websockets` and Node `ws`, the C ABI programs under valgrind,
# header freshness, attacks on a server process), short fuzz runs of every fuzz target and a
# short smoke run of the benchmark harness.
#
#   ./scripts/test.sh           the full test command (CI runs exactly this)
#   ./scripts/test.sh --soak    also the long runs: 10,000 concurrent wss connections, the
#                               attacks of tests/hostile.rs at higher intensities
#   ./scripts/test.sh --dist-vendored   also the self-contained release package (OpenSSL from
#                               source: several minutes)
#
# Ends with one count line per kind of test (Rust tests, C checks inside the C programs, interop
# cases, the benchmark smoke; later suites add theirs with `count`) and a total, printed also
# when a step failed; the exit status is then non-zero.
#
# Installs what it needs: Debian packages with apt-get when run as root (non-root users: install
# the packages listed in README.md first), the Python `websockets` package with pip and Node `ws`
# with npm (into tests/interop/node_modules, pinned by its lockfile).
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK=0 DIST_VENDORED=0
for arg in "$@"; do
  case "$arg" in
    --soak) SOAK=1 ;;
    --dist-vendored) DIST_VENDORED=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '\n==> %s\n' "$*"; }
# shellcheck source=scripts/apt-needs.sh
. scripts/apt-needs.sh

# ---- counts and the closing summary -----------------------------------------------------------
# Every suite appends "KIND PASSED FAILED SKIPPED [LABEL]" lines to $WSS_TEST_COUNTS, through
# `count` here or directly from a test binary (tests/c_abi.rs writes one line per C program run).
# The summary is printed from the EXIT trap, so a step that stops the script still shows what
# ran and what failed.
mkdir -p target
export WSS_TEST_COUNTS="$PWD/target/test-counts.txt"
: >"$WSS_TEST_COUNTS"
STEP="setup"
count() { # KIND PASSED FAILED SKIPPED [LABEL]
  printf '%s %d %d %d %s\n' "$1" "$2" "$3" "$4" "${5:-}" >>"$WSS_TEST_COUNTS"
}
summary() {
  local rc=$? failed
  trap - EXIT
  printf '\n==> summary\n'
  awk '
    function line(k) { printf "  %-9s %6d passed, %d failed, %d skipped\n", k, p[k], f[k], s[k] }
    { k = $1; if (!(k in p)) order[n++] = k; p[k] += $2; f[k] += $3; s[k] += $4
      P += $2; F += $3; S += $4 }
    END {
      # Known kinds in a fixed order, then any other in the order first seen.
      m = split("rust c interop browser hostile fuzz cpp csharp demo readme dist soak bench", known, " ")
      for (i = 1; i <= m; i++) if (known[i] in p) { shown[known[i]] = 1; line(known[i]) }
      for (i = 0; i < n; i++) if (!(order[i] in shown)) line(order[i])
      printf "tests: %d passed, %d failed, %d skipped\n", P, F, S
    }' "$WSS_TEST_COUNTS"
  failed=$(awk '{ F += $3 } END { print F + 0 }' "$WSS_TEST_COUNTS")
  if [ "$rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
    echo "FAILED: step '$STEP' (exit status $rc), $failed failed test(s)"
    exit $((rc == 0 ? 1 : rc))
  fi
  echo "all tests passed"
}
trap summary EXIT

# Counts from `cargo test` output: one line per test binary, by kind (tests/interop.rs is the
# interop suite, tests/browser.rs the browser one, tests/hostile.rs the attacks on a server,
# everything else Rust tests). A binary that died without a result line (a
# crash) counts as one failure.
count_cargo_output() { # FILE DEFAULT_KIND
  awk -v def="$2" '
    function flush() { if (cur != "" && !seen) printf "%s 0 1 0 %s(no-result)\n", kind, cur; seen = 0 }
    /^ *Running / || /^ *Doc-tests / {
      flush(); cur = ($1 == "Doc-tests") ? "doctests" : ($2 == "unittests" ? $3 : $2)
      kind = (cur == "tests/interop.rs") ? "interop" : (cur == "tests/browser.rs") ? "browser" : (cur == "tests/hostile.rs") ? "hostile" : def
      next
    }
    /^test result:/ {
      p = f = s = 0
      for (i = 1; i <= NF; i++) {
        if ($(i+1) ~ /^passed/) p = $i; if ($(i+1) ~ /^failed/) f = $i; if ($(i+1) ~ /^ignored/) s = $i
      }
      printf "%s %d %d %d %s\n", kind, p, f, s, cur; seen = 1
    }
    END { flush() }' "$1" >>"$WSS_TEST_COUNTS"
}

# ---- dependencies --------------------------------------------------------------------------
# Build: pkg-config + libssl-dev. C ABI tests: gcc/g++ and valgrind. Interop: python3-pip, node.
# Benchmark smoke: websocketpp, asio, boost headers, libwebsockets. Browser test: chromium.
# The later steps' own lists (test-cpp.sh, test-csharp.sh, dist.sh, tests/dist/package.sh: unzip)
# are asked for here too, so a non-root user learns every missing package at once.
APT_PKGS=(pkg-config libssl-dev gcc g++ make valgrind openssl
          libwebsocketpp-dev libasio-dev libboost-dev libwebsockets-dev chromium
          cmake ninja-build clang googletest libgtest-dev
          mono-devel nunit-console libnunit-cil-dev nuget binutils unzip)
# Node and pip may come from elsewhere than Debian's packages: accept any working ones.
command -v node >/dev/null && command -v npm >/dev/null || APT_PKGS+=(nodejs npm)
python3 -m pip --version >/dev/null 2>&1 || APT_PKGS+=(python3-pip)
apt_needs "${APT_PKGS[@]}"
if ! python3 -c 'import websockets' 2>/dev/null; then
  log "installing Python websockets"
  python3 -m pip install -q websockets 2>/dev/null \
    || python3 -m pip install -q --user websockets 2>/dev/null \
    || python3 -m pip install -q --break-system-packages websockets
fi
if [ ! -d tests/interop/node_modules/ws ] || [ ! -d tests/interop/node_modules/playwright-core ]; then
  log "installing Node ws and playwright-core (pinned by tests/interop/package-lock.json)"
  (cd tests/interop && npm ci --silent --no-audit --no-fund)
fi

# ---- checks --------------------------------------------------------------------------------
STEP="cargo fmt --check"; log "$STEP"
cargo fmt --all -- --check
STEP="cargo clippy"; log "$STEP"
cargo clippy --all-targets -- -D warnings
STEP="cargo doc"; log "$STEP (the Rust API docs build without a broken link)"
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps -q
STEP="cargo test"; log "$STEP"
# Every test binary runs even when one fails, so the counts are complete.
set +e
cargo test --no-fail-fast 2>&1 | tee target/test-output.txt
rc=${PIPESTATUS[0]}
set -e
count_cargo_output target/test-output.txt rust
[ "$rc" -eq 0 ]
if [ "$SOAK" = 1 ]; then
  STEP="soak"; log "soak: 10,000 concurrent wss connections"
  set +e
  { cargo test --release --test soak -- --ignored --nocapture ten_thousand_idle_connections
    s1=$?
    WSS_HOSTILE_SOAK=1 cargo test --release --test hostile
    s2=$?
    [ "$s1" -eq 0 ] && [ "$s2" -eq 0 ]; } 2>&1 \
    | tee target/soak-output.txt
  rc=${PIPESTATUS[0]}
  set -e
  count_cargo_output target/soak-output.txt soak
  [ "$rc" -eq 0 ]
fi
STEP="fuzz"; log "$STEP: each target for ${FUZZ_SECONDS:-20} s (long runs: ./scripts/fuzz.sh --long)"
./scripts/fuzz.sh
STEP="C++ wrapper"; log "$STEP (g++, clang++, ASan+UBSan builds + ctest)"
suite_counts() { # KIND SCRIPT: runs SCRIPT, counts its "wss-test-count KIND P F S" line
  local out rc
  set +e
  out=$("$2" 2>&1 | tee -a /dev/stderr | grep "^wss-test-count $1 ")
  rc=${PIPESTATUS[0]}
  set -e
  if [ -n "$out" ]; then
    set -- $out
    count "$2" "$3" "$4" "$5"
  else
    count "$1" 0 1 0 "no count line"
  fi
  return "$rc"
}
suite_counts cpp ./scripts/test-cpp.sh
# The C# script appends its own line to $WSS_TEST_COUNTS.
STEP="C# wrapper (Mono)"; log "$STEP"; ./scripts/test-csharp.sh
STEP="demo"; log "$STEP (scripts/demo.sh, its key lines checked by tests/dist/demo.sh)"
suite_counts demo tests/dist/demo.sh
STEP="README samples"; log "$STEP (tests/dist/readme.sh; the Rust ones are doc tests)"
suite_counts readme tests/dist/readme.sh
STEP="release package"; log "$STEP (scripts/dist.sh, then tests/dist/package.sh on the tarball)"
suite_counts dist tests/dist/package.sh
if [ "$DIST_VENDORED" = 1 ]; then
  suite_counts dist tests/dist/package-vendored.sh
  # The vendored OpenSSL's trust-store paths do not exist here: clients fall back to the system's.
  if cargo test -q --release --features vendored --target-dir target/vendored --lib system_roots; then
    count dist 1 0 0 vendored-roots
  else
    count dist 0 1 0 vendored-roots
    false
  fi
fi
STEP="benchmark harness smoke"; log "$STEP (--quick)"
if ./scripts/bench.sh --quick; then count bench 1 0 0 smoke; else count bench 0 1 0 smoke; false; fi
STEP="instruction-count smoke"; log "$STEP (benches/instructions.py --quick)"
if python3 benches/instructions.py --quick --servers wss,wss-cpp --max-ratio 1.02; then count bench 1 0 0 instructions; \
else count bench 0 1 0 instructions; false; fi
STEP="done"
