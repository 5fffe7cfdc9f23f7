#!/usr/bin/env bash
# Runs every test: formatting, lints, Rust unit and integration tests (TLS faults, limits,
# engine, interop with Python `websockets` and Node `ws`, the C ABI programs under valgrind,
# header freshness) and a short smoke run of the benchmark harness.
#
#   ./scripts/test.sh           the full test command (CI runs exactly this)
#   ./scripts/test.sh --soak    also the long runs: 10,000 concurrent wss connections
#
# Installs what it needs: Debian packages with apt-get when run as root (non-root users: install
# the packages listed in README.md first), the Python `websockets` package with pip and Node `ws`
# with npm (into tests/interop/node_modules, pinned by its lockfile).
set -euo pipefail
cd "$(dirname "$0")/.."

SOAK=0
for arg in "$@"; do
  case "$arg" in
    --soak) SOAK=1 ;;
    *) echo "unknown option: $arg" >&2; exit 2 ;;
  esac
done

log() { printf '\n==> %s\n' "$*"; }

# ---- dependencies --------------------------------------------------------------------------
# Build: pkg-config + libssl-dev. C ABI tests: gcc/g++ and valgrind. Interop: python3-pip, node.
# Benchmark smoke: websocketpp, asio, boost headers, libwebsockets.
APT_PKGS=(pkg-config libssl-dev gcc g++ valgrind openssl
          libwebsocketpp-dev libasio-dev libboost-dev libwebsockets-dev)
# Node and pip may come from elsewhere than Debian's packages: accept any working ones.
command -v node >/dev/null && command -v npm >/dev/null || APT_PKGS+=(nodejs npm)
python3 -m pip --version >/dev/null 2>&1 || APT_PKGS+=(python3-pip)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing apt packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing packages (install them as root first): ${missing[*]}" >&2
    exit 1
  fi
fi
if ! python3 -c 'import websockets' 2>/dev/null; then
  log "installing Python websockets"
  python3 -m pip install -q websockets 2>/dev/null \
    || python3 -m pip install -q --user websockets 2>/dev/null \
    || python3 -m pip install -q --break-system-packages websockets
fi
if [ ! -d tests/interop/node_modules/ws ]; then
  log "installing Node ws (pinned by tests/interop/package-lock.json)"
  (cd tests/interop && npm ci --silent --no-audit --no-fund)
fi

# ---- checks --------------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --all-targets -- -D warnings
log "cargo test"
mkdir -p target
cargo test 2>&1 | tee target/test-output.txt
./scripts/test-csharp.sh
if [ "$SOAK" = 1 ]; then
  log "soak: 10,000 concurrent wss connections"
  cargo test --release --test soak -- --ignored --nocapture ten_thousand_idle_connections
fi
log "benchmark harness smoke (--quick)"
./scripts/bench.sh --quick
log "all tests passed"
# One closing line for the whole run: the sum of every cargo test result line.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, s }' target/test-output.txt
