#!/usr/bin/env bash
# Smoke run of the C# examples (called by scripts/test-csharp.sh): EchoClient against EchoServer
# over mutual TLS (PFX + hashed CA folder) and over plain ws, an expired client certificate
# reported on both sides, and a clean stop on SIGINT. Every process runs under a timeout, so a
# process that cannot exit (e.g. a runtime waiting for native threads) fails the run.
#
#   examples-csharp/smoke.sh BUILD_DIR      (EchoServer.exe, EchoClient.exe, Wss.dll, certs/)
set -euo pipefail
dir="$(cd "${1:?usage: smoke.sh BUILD_DIR}" && pwd)"
certs="$dir/certs"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "examples smoke: $*" >&2; for f in "$work"/*; do echo "--- $f" >&2; cat "$f" >&2; done; exit 1; }

# Start EchoServer with the given flags; sets $port once it printed it (30 s deadline).
start_server() {
  timeout 120 mono "$dir/EchoServer.exe" --port 0 "$@" > "$work/server.out" 2> "$work/server.err" &
  server_pid=$!
  for _ in $(seq 300); do
    port=$(sed -n 's/^listening on port \([0-9]*\).*/\1/p' "$work/server.out")
    [ -n "$port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || fail "EchoServer exited before listening"
    sleep 0.1
  done
  fail "EchoServer did not print its port"
}

stop_server() {
  kill -INT "$server_pid"
  local rc=0
  wait "$server_pid" || rc=$?
  server_pid=""
  [ "$rc" = 0 ] || fail "EchoServer exited with $rc after SIGINT"
  grep -q '^stopped$' "$work/server.out" || fail "EchoServer did not say 'stopped'"
}

client() { timeout 60 mono "$dir/EchoClient.exe" "$@"; }

MTLS_SERVER=(--pfx "$certs/server.pfx" --password server-pass --ca-dir "$certs/ca-dir" --require-client-cert)
start_server "${MTLS_SERVER[@]}"
url="wss://127.0.0.1:$port/echo"

client "$url" --pfx "$certs/client.pfx" --password client-pass --ca-dir "$certs/ca-dir" \
  --count 3 --size 10 > "$work/client.out" 2>&1 || fail "mTLS EchoClient failed"
grep -q '^connected: TLSv1\.[23], .*, peer CN=wss test server' "$work/client.out" || fail "no TLS facts"
grep -q '^3 replies$' "$work/client.out" || fail "expected 3 replies"
grep -q "^open .*: TLSv1\.[23], .*, peer CN=wss test client.* (verified)" "$work/server.out" || fail "server did not print the client's TLS facts"

printf 'hello\nworld\n' | client "$url" --pfx "$certs/client.pfx" --password client-pass \
  --ca-dir "$certs/ca-dir" > "$work/stdin.out" 2>&1 || fail "stdin EchoClient failed"
grep -q '^reply: world$' "$work/stdin.out" || fail "no echo of stdin lines"

rc=0
client "$url" --pfx "$certs/expired-client.pfx" --password client-pass --ca-dir "$certs/ca-dir" \
  --count 1 > "$work/expired.out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "an expired client certificate must exit 1 (got $rc)"
grep -q 'openssl: .*certificate expired' "$work/expired.out" || fail "client did not print the alert"
for _ in $(seq 300); do grep -q '^  verify:  10 ' "$work/server.out" && break; sleep 0.1; done
grep -q '^  verify:  10 certificate has expired at depth 0 subject .*expired client' "$work/server.out" \
  || fail "server did not print verify error 10 with the subject"
stop_server

start_server --plain
client "ws://127.0.0.1:$port/" --count 2 > "$work/plain.out" 2>&1 || fail "plain EchoClient failed"
grep -q '^connected: plain ws$' "$work/plain.out" || fail "plain ws facts"
grep -q '^2 replies$' "$work/plain.out" || fail "expected 2 plain replies"
stop_server
echo "examples smoke: ok"
