#!/usr/bin/env bash
# The cross-language run (called by scripts/test-csharp.sh): the C# EchoClient against the C++
# echo_server (examples-cpp) over mutual TLS with PFX identities and a hashed CA folder, both
# sides printing the peer's verified certificate. Every process runs under a timeout.
#
#   examples-csharp/cross-cpp.sh BUILD_DIR ECHO_SERVER   (BUILD_DIR: EchoClient.exe, certs/)
set -euo pipefail
dir="$(cd "${1:?usage: cross-cpp.sh BUILD_DIR ECHO_SERVER}" && pwd)"
echo_server="${2:?usage: cross-cpp.sh BUILD_DIR ECHO_SERVER}"
certs="$dir/certs"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "cross-language run: $*" >&2; for f in "$work"/*; do echo "--- $f" >&2; cat "$f" >&2; done; exit 1; }

timeout 120 "$echo_server" --port 0 --pfx "$certs/server.pfx" --password server-pass \
  --ca-dir "$certs/ca-dir" --require-client-cert > "$work/server.out" 2> "$work/server.err" &
server_pid=$!
port=""
for _ in $(seq 300); do
  port=$(sed -n 's/^listening on port \([0-9]*\).*/\1/p' "$work/server.out")
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || fail "echo_server exited before listening"
  sleep 0.1
done
[ -n "$port" ] || fail "echo_server did not print its port"

timeout 60 mono "$dir/EchoClient.exe" "wss://127.0.0.1:$port/echo" --pfx "$certs/client.pfx" \
  --password client-pass --ca-dir "$certs/ca-dir" --count 5 --size 100 > "$work/client.out" 2>&1 \
  || fail "C# EchoClient against C++ echo_server failed"
grep -q '^connected: TLSv1\.[23], .*, peer CN=wss test server' "$work/client.out" || fail "no TLS facts on the C# side"
[ "$(grep -c "^reply: $(printf 'x%.0s' $(seq 100))$" "$work/client.out")" = 5 ] || fail "expected 5 echoed 100-byte replies"
grep -q '^5 replies$' "$work/client.out" || fail "expected '5 replies'"
for _ in $(seq 300); do grep -q '^close ' "$work/server.out" && break; sleep 0.1; done
grep -q "^open .*: TLSv1\.[23], .*, peer CN=wss test client.* (verified)" "$work/server.out" \
  || fail "the C++ server did not print the C# client's verified certificate"
grep -q '^close .*: 1000 bye' "$work/server.out" || fail "the C++ server did not see close 1000 bye"

kill -INT "$server_pid"
rc=0
wait "$server_pid" || rc=$?
server_pid=""
[ "$rc" = 0 ] || fail "echo_server exited with $rc after SIGINT"
grep -q '^stopped$' "$work/server.out" || fail "echo_server did not say 'stopped'"
echo "cross-language run (C# EchoClient -> C++ echo_server, mTLS PFX + CA folder): ok"
