#!/usr/bin/env bash
# The demo: one secure WebSocket core behind C++ and C# programs.
#
#   ./scripts/demo.sh        (or `make demo`)
#
# Builds the library (release), the C++ examples (examples-cpp, CMake) and the C# examples
# (examples-csharp, mcs), makes a throwaway PKI with wss-pki in a temp dir, starts the C++
# echo_server with mutual TLS (server PFX with a password + hashed CA folder) and connects the
# C# EchoClient and the C++ echo_client: text and binary messages, the TLS version, cipher and
# peer certificate on both sides. Then one failing connection per common mistake (a client
# certificate from an untrusted CA, an expired one, a server name that does not match), each with
# what BOTH sides are told, and the same programs over plain ws:// by configuration only.
#
# Colour only when stdout is a terminal (and NO_COLOR is unset). Exits 0 when every step did what
# it shows; non-zero (with the step's output) otherwise. Build output: target/demo/build.log.
# Installs the Debian packages it needs with apt-get when run as root; otherwise names them.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"
out="$root/target/demo"
started=$(date +%s)

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
  B=$'\e[1m' DIM=$'\e[2m' RED=$'\e[31m' GREEN=$'\e[32m' YELLOW=$'\e[33m' BLUE=$'\e[34m' MAGENTA=$'\e[35m' CYAN=$'\e[36m' N=$'\e[0m'
else
  B="" DIM="" RED="" GREEN="" YELLOW="" BLUE="" MAGENTA="" CYAN="" N=""
fi
section() { printf '\n%s== %s%s\n' "$B$CYAN" "$*" "$N"; }
note() { printf '%s%s%s\n' "$DIM" "$*" "$N"; }
# Prints a program's lines under a label: "C++ server | ...", errors in red.
show() { # LABEL COLOUR < lines
  local line
  while IFS= read -r line; do
    case "$line" in
      error*) line="$RED$line$N" ;;
      "  verify:"*|"  hint:"*|"  openssl:"*) line="$B$line$N" ;;
    esac
    printf '%s%-12s|%s %s\n' "$2" "$1" "$N" "$line"
  done
}
die() { printf '%sdemo failed: %s%s\n' "$B$RED" "$*" "$N" >&2; exit 1; }

# ---- what it needs ----------------------------------------------------------------------------
# shellcheck source=scripts/apt-needs.sh
. scripts/apt-needs.sh
apt_needs pkg-config libssl-dev gcc g++ make cmake mono-devel \
  || die "install the packages above (as root: apt-get install ...), then run the demo again"
command -v cargo >/dev/null || die "cargo not found: install Rust (https://rustup.rs) first"

section "building: libwss (cargo --release), wss-pki, C++ examples (CMake), C# examples (mcs)"
mkdir -p "$out"
log="$out/build.log"
: > "$log"
build() { "$@" >> "$log" 2>&1 || { tail -n 40 "$log" >&2; die "build step failed: $*"; }; }
build cargo build --release --lib --bin wss-pki
pki_tool="$root/target/release/wss-pki"
if [ ! -f "$out/cmake/CMakeCache.txt" ]; then
  build cmake -S . -B "$out/cmake" -DCMAKE_BUILD_TYPE=Release -DWSS_BUILD_TESTS=OFF -DWSS_BUILD_EXAMPLES=ON
fi
build cmake --build "$out/cmake" -j2 --target echo_server echo_client
cpp="$out/cmake/examples-cpp"
# C#: Wss.dll and the examples, rebuilt when a source is newer.
cs="$out/csharp"
mkdir -p "$cs"
MCS=(mcs -langversion:7.2 -sdk:4.6.1 -warnaserror)
newer() { local f; for f in "${@:2}"; do [ "$f" -nt "$1" ] && return 0; done; [ ! -e "$1" ]; }
if newer "$cs/Wss.dll" bindings/csharp/src/*.cs; then
  build "${MCS[@]}" -target:library -out:"$cs/Wss.dll" bindings/csharp/src/*.cs
fi
for ex in EchoServer EchoClient; do
  if newer "$cs/$ex.exe" "$cs/Wss.dll" examples-csharp/*.cs; then
    build "${MCS[@]}" -target:exe -define:MONO_POSIX -out:"$cs/$ex.exe" -r:"$cs/Wss.dll" -r:Mono.Posix.dll \
      "examples-csharp/$ex.cs" examples-csharp/TlsArgs.cs examples-csharp/Report.cs examples-csharp/StopSignals.cs
  fi
done
ln -sf "$root/target/release/libwss.so" "$cs/libwss.so"
ln -sf libwss.so "$cs/libwss.so.1"
note "built in $(( $(date +%s) - started )) s (log: target/demo/build.log)"

tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

# ---- programs ---------------------------------------------------------------------------------
cs_client() { LD_LIBRARY_PATH="$cs" timeout 60 mono "$cs/EchoClient.exe" "$@"; }
cpp_client() { timeout 60 "$cpp/echo_client" "$@"; }
seen=0  # server output lines already shown
start_server() { # ARGS...: the C++ echo_server; sets $port
  seen=0
  timeout 300 "$cpp/echo_server" --port 0 "$@" > "$tmp/server.out" 2>&1 &
  server_pid=$!
  for _ in $(seq 600); do
    port=$(sed -n 's/^listening on port \([0-9]*\).*/\1/p' "$tmp/server.out")
    [ -n "$port" ] && { server_lines '^listening'; return 0; }
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$tmp/server.out" >&2
  die "echo_server did not start"
}
# Shows the server's new lines once one of them matches REGEX (30 s deadline).
server_lines() { # REGEX
  for _ in $(seq 300); do
    grep -q -- "$1" <<<"$(tail -n +$((seen + 1)) "$tmp/server.out")" && break
    sleep 0.1
  done
  tail -n +$((seen + 1)) "$tmp/server.out" > "$tmp/server.new"
  seen=$((seen + $(wc -l < "$tmp/server.new")))
  show "C++ server" "$YELLOW" < "$tmp/server.new"
  grep -q -- "$1" "$tmp/server.new" || die "the server printed no line matching '$1'"
}
stop_server() {
  kill -INT "$server_pid"
  wait "$server_pid" || die "echo_server exited with status $?"
  server_pid=""
  server_lines '^stopped'
}
# Runs a client that must succeed (text + binary), shows its lines, then the server's.
echo_run() { # LABEL COLOUR CLIENT_FN ARGS...
  local label=$1 colour=$2 fn=$3; shift 3
  printf 'hello from %s\n' "$label" | "$fn" "$@" --binary 1 --size 64 > "$tmp/client.out" 2>&1 \
    || { show "$label" "$colour" < "$tmp/client.out"; die "$label failed"; }
  show "$label" "$colour" < "$tmp/client.out"
  grep -q "^reply: hello from $label\$" "$tmp/client.out" || die "$label: no text echo"
  grep -q '^reply: 64 bytes$' "$tmp/client.out" || die "$label: no binary echo"
  server_lines '^close .*: 1000 bye'
}
# Runs a client that must fail; shows what it and the server were told. Sets $client_told /
# $server_told to the verify code or TLS alert each side reported; VERIFIER (server or client)
# is the side whose X509 verification must have failed, the other must name the TLS alert.
fail_run() { # VERIFIER LABEL COLOUR CLIENT_FN ARGS...
  local verifier=$1 label=$2 colour=$3 fn=$4 rc=0; shift 4
  "$fn" "$@" --count 1 > "$tmp/client.out" 2>&1 || rc=$?
  show "$label" "$colour" < "$tmp/client.out"
  [ "$rc" = 1 ] || die "$label: expected exit status 1 (a failed connect), got $rc"
  server_lines '^  peer: '
  client_told=$(told "$tmp/client.out")
  server_told=$(told "$tmp/server.new")
  local v=$server_told a=$client_told
  [ "$verifier" = server ] || { v=$client_told a=$server_told; }
  case "$v" in "X509 verify "*) ;; *) die "the $verifier reported no X509 verify result" ;; esac
  case "$a" in *alert*) ;; *) die "the other side of the $verifier reported no TLS alert" ;; esac
}
told() { # FILE: "X509 verify N (text)" if the side verified and failed, else the OpenSSL alert
  local v
  v=$(sed -n 's/^  verify:  \([0-9]*\) \(.*\) at depth .*/X509 verify \1 (\2)/p; T; q' "$1")
  [ -n "$v" ] && { echo "$v"; return; }
  sed -n 's/^  openssl: SSL routines: \(.*alert[^(]*[^ (]\).*/\1/p; T; q' "$1"
}

# ---- the PKI ----------------------------------------------------------------------------------
section "a throwaway PKI: wss-pki (in $tmp)"
export WSS_PKI_PASSWORD=demo-password   # every PFX's password (the tool also takes a file)
pki="$tmp/pki" rogue="$tmp/rogue"
run_pki() {
  note "\$ wss-pki $*"
  "$pki_tool" "$@" > "$tmp/pki.out" 2>&1 || { cat "$tmp/pki.out" >&2; die "wss-pki $1 failed"; }
  show "wss-pki" "$DIM" < "$tmp/pki.out"
}
run_pki init "$pki" --san localhost --client alice
run_pki add-client "$pki" bob --expired
run_pki init "$rogue" --san localhost --client mallory
note "the server certificate names 'localhost' only; mallory's CA is not the server's"
PW=(--password "$WSS_PKI_PASSWORD")
CA=(--ca-dir "$pki/ca-hashed")

section "1. C++ echo_server with mutual TLS: server.p12 (with a password) + the hashed CA folder"
note "\$ echo_server --port 0 --pfx server.p12 --password ... --ca-dir ca-hashed --require-client-cert"
start_server --pfx "$pki/server.p12" "${PW[@]}" "${CA[@]}" --require-client-cert
tls_port=$port

section "2. C# EchoClient (certificate alice): a text and a binary message"
note "\$ mono EchoClient.exe wss://localhost:$port/ --pfx alice.p12 --password ... --ca-dir ca-hashed --binary 1"
echo_run "C# client" "$MAGENTA" cs_client "wss://localhost:$port/" --pfx "$pki/clients/alice.p12" "${PW[@]}" "${CA[@]}"

section "3. C++ echo_client (certificate alice): the same"
note "\$ echo_client wss://localhost:$port/ --pfx alice.p12 --password ... --ca-dir ca-hashed --binary 1"
echo_run "C++ client" "$BLUE" cpp_client "wss://localhost:$port/" --pfx "$pki/clients/alice.p12" "${PW[@]}" "${CA[@]}"

section "4. mistake: a client certificate from a CA the server does not trust (C# client, mallory)"
fail_run server "C# client" "$MAGENTA" cs_client "wss://localhost:$port/" --pfx "$rogue/clients/mallory.p12" "${PW[@]}" "${CA[@]}"
untrusted="server: $server_told; client: $client_told"

section "5. mistake: an expired client certificate (C++ client, bob)"
fail_run server "C++ client" "$BLUE" cpp_client "wss://localhost:$port/" --pfx "$pki/clients/bob.p12" "${PW[@]}" "${CA[@]}"
expired="server: $server_told; client: $client_told"

section "6. mistake: a server name the certificate does not list (C# client to wss://127.0.0.1)"
fail_run client "C# client" "$MAGENTA" cs_client "wss://127.0.0.1:$port/" --pfx "$pki/clients/alice.p12" "${PW[@]}" "${CA[@]}"
mismatch="client: $client_told; server: $server_told"
stop_server

section "7. the same programs over plain ws:// (configuration only: --plain, a ws:// URL)"
note "\$ echo_server --port 0 --plain"
start_server --plain
echo_run "C# client" "$MAGENTA" cs_client "ws://127.0.0.1:$port/"
echo_run "C++ client" "$BLUE" cpp_client "ws://127.0.0.1:$port/"
stop_server

section "summary ($(( $(date +%s) - started )) s)"
ok() { printf '%sok%s  %s\n' "$GREEN" "$N" "$*"; }
ok "wss (mutual TLS, port $tls_port): C# and C++ clients echoed text and binary"
ok "untrusted client CA -> $untrusted"
ok "expired client certificate -> $expired"
ok "server name mismatch -> $mismatch"
ok "ws:// by configuration: C# and C++ clients echoed text and binary"
