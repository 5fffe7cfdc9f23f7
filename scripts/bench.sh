#!/usr/bin/env bash
# Side-by-side benchmark: wss vs websocketpp vs libwebsockets, all over wss
# (TLS) on 127.0.0.1. See benches/README.md.
#
#   scripts/bench.sh            # full run: 3 repetitions (~10 min per server)
#   scripts/bench.sh --quick    # CI smoke: 1 repetition, tiny counts (< 2 min)
#   scripts/bench.sh --servers websocketpp,libwebsockets --reps 5
#
# All arguments are passed to benches/run.py (see --help there).
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS=(libwebsocketpp-dev libasio-dev libboost-dev libwebsockets-dev libssl-dev pkg-config g++ openssl)
missing=()
for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "bench.sh: installing ${missing[*]}" >&2
    if [[ $(id -u) -ne 0 ]]; then
        echo "bench.sh: not root; install these packages first: ${missing[*]}" >&2
        exit 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y "${missing[@]}" >/dev/null || { apt-get update >/dev/null && apt-get install -y "${missing[@]}" >/dev/null; }
fi

# 10,000 idle connections need > 10k descriptors in both the server and the
# load generator.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ "$(ulimit -n)" != unlimited && "$(ulimit -n)" -lt 10100 ]]; then
    echo "bench.sh: warning: ulimit -n is $(ulimit -n); the 10,000-idle-connection scenario will fail" >&2
fi

echo "bench.sh: building the load generator" >&2
cargo build --release --quiet --manifest-path benches/loadgen/Cargo.toml

exec python3 benches/run.py "$@"
