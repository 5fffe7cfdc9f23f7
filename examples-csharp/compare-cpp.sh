#!/usr/bin/env bash
# The C# examples print what the C++ ones print (called by scripts/test-csharp.sh): the same
# scenario runs once with the C++ echo_server + echo_client and once with EchoServer.exe +
# EchoClient.exe, and every output (stdout, stderr, exit status) is compared line by line after
# masking what differs between any two runs (ports, connection ids, program names in the usage
# text). Scenario: mutual TLS with PFX + hashed CA folder (text and binary echoes, lines from
# stdin), an expired client certificate and a client without one (the error reports on both
# sides), plain ws with --deflate offered and accepted and without it, bad command lines, and the
# SIGINT stop. Every process runs under a timeout.
#
#   examples-csharp/compare-cpp.sh BUILD_DIR CPP_EXAMPLES_DIR
#     (BUILD_DIR: EchoServer.exe, EchoClient.exe, certs/; CPP_EXAMPLES_DIR: echo_server, echo_client)
set -euo pipefail
dir="$(cd "${1:?usage: compare-cpp.sh BUILD_DIR CPP_EXAMPLES_DIR}" && pwd)"
cpp="$(cd "${2:?usage: compare-cpp.sh BUILD_DIR CPP_EXAMPLES_DIR}" && pwd)"
certs="$dir/certs"
work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "C#/C++ output comparison: $*" >&2; exit 1; }

# Poll FILE (30 s deadline) until PATTERN matches at least N lines.
wait_lines() { # file pattern n what
  local n=0
  for _ in $(seq 300); do
    n=$(grep -c -- "$2" "$1" 2>/dev/null || true)
    [ "${n:-0}" -ge "$3" ] && return 0
    sleep 0.1
  done
  fail "$impl: timed out waiting for $4 in $(basename "$1") (have $n of $3):
$(cat "$1")"
}

# One run of the scenario; outputs in $work/$impl/.
run() { # impl server-command... -- client-command...
  impl="$1"; shift
  local server=() client=()
  while [ "$1" != "--" ]; do server+=("$1"); shift; done
  shift
  client=("$@")
  local out="$work/$impl"
  mkdir -p "$out"
  c() { # name client-args... (stdin from the caller)
    local name="$1" rc=0; shift
    timeout 60 "${client[@]}" "$@" > "$out/$name.out" 2> "$out/$name.err" || rc=$?
    echo "exit $rc" > "$out/$name.rc"
  }
  start() { # log server-args...
    local log="$1"; shift
    timeout 120 "${server[@]}" --port 0 "$@" > "$out/$log.out" 2> "$out/$log.err" &
    server_pid=$!
    wait_lines "$out/$log.out" '^listening on port ' 1 "the port"
    port=$(sed -n 's/^listening on port \([0-9]*\).*/\1/p' "$out/$log.out")
  }
  stop() {
    kill -INT "$server_pid"
    local rc=0
    wait "$server_pid" || rc=$?
    server_pid=""
    echo "exit $rc" > "$out/$1.rc"
  }

  local mtls=(--ca-dir "$certs/ca-dir" --pfx "$certs/client.pfx" --password client-pass)
  start mtls-server --pfx "$certs/server.pfx" --password server-pass --ca-dir "$certs/ca-dir" --require-client-cert
  local url="wss://127.0.0.1:$port/echo"
  c echo "$url" "${mtls[@]}" --count 2 --size 10 --binary 1 < /dev/null
  wait_lines "$out/mtls-server.out" '^close ' 1 "the first close"
  printf 'hello\nworld\n' | c stdin "$url" "${mtls[@]}"
  wait_lines "$out/mtls-server.out" '^close ' 2 "the second close"
  c expired "$url" --ca-dir "$certs/ca-dir" --pfx "$certs/expired-client.pfx" --password client-pass --count 1 < /dev/null
  wait_lines "$out/mtls-server.out" '^  peer: ' 1 "the expired certificate's report"
  c no-cert "$url" --ca-dir "$certs/ca-dir" --count 1 < /dev/null
  wait_lines "$out/mtls-server.out" '^  peer: ' 2 "the missing certificate's report"
  stop mtls-server

  start deflate-server --plain --deflate
  url="ws://127.0.0.1:$port/"
  c deflate "$url" --deflate --count 2 --size 300 < /dev/null
  wait_lines "$out/deflate-server.out" '^close ' 1 "the deflate close"
  c no-deflate "$url" --count 1 < /dev/null
  wait_lines "$out/deflate-server.out" '^close ' 2 "the uncompressed close"
  stop deflate-server

  c bad-flag "$url" --bogus < /dev/null
  c missing-value "$url" --pfx < /dev/null
  local rc=0
  timeout 60 "${server[@]}" --bogus > "$out/bad-server-flag.out" 2> "$out/bad-server-flag.err" || rc=$?
  echo "exit $rc" > "$out/bad-server-flag.rc"
}

run cpp "$cpp/echo_server" -- "$cpp/echo_client"
run csharp mono "$dir/EchoServer.exe" -- mono "$dir/EchoClient.exe"

# What may differ: ports, connection ids, the program names in the usage text (and its
# indentation, which follows the name's length).
mask() {
  sed -E -e 's/127\.0\.0\.1:[0-9]+/127.0.0.1:PORT/g' \
    -e 's/^listening on port [0-9]+/listening on port PORT/' \
    -e 's/connection [0-9]+/connection ID/g' \
    -e 's/^(open|close) [0-9]+/\1 ID/' \
    -e 's/echo_server|EchoServer/SERVER/; s/echo_client|EchoClient/CLIENT/' \
    -e 's/^ +\[/    [/' "$1"
}

files=$(cd "$work/cpp" && ls)
[ "$(cd "$work/csharp" && ls)" = "$files" ] || fail "the runs made different files"
differ=0
for f in $files; do
  if ! diff -u --label "C++ $f" --label "C# $f" <(mask "$work/cpp/$f") <(mask "$work/csharp/$f") >&2; then
    differ=1
  fi
done
[ "$differ" = 0 ] || fail "the C# examples' output differs from the C++ examples' (diff above, masked)"

# The comparison means something only if the scenario did what it says (checked on one side;
# the other is equal).
o="$work/csharp"
grep -q '^connected: TLSv1\.[23], .*, peer CN=wss test server.* (verified)$' "$o/echo.out" || fail "no TLS facts"
grep -q '^3 replies$' "$o/echo.out" || fail "expected 3 replies"
grep -q '^reply: world$' "$o/stdin.out" || fail "no echo of stdin lines"
grep -q '^error: wss: TLS error: .*certificate expired' "$o/expired.err" || fail "the expired client's summary line"
grep -q '^  verify:  10 certificate has expired at depth 0 subject .*expired client' "$o/mtls-server.out" \
  || fail "the server's verify line for the expired certificate"
grep -q '^connected: plain ws, permessage-deflate' "$o/deflate.out" || fail "deflate was not negotiated"
grep -q '^open .*: plain ws, permessage-deflate' "$o/deflate-server.out" || fail "the server did not print the compression"
grep -q '^connected: plain ws$' "$o/no-deflate.out" || fail "compression without --deflate"
grep -q '^exit 1$' "$o/expired.rc" || fail "the expired client must exit 1"
grep -q '^exit 2$' "$o/bad-flag.rc" || fail "a bad flag must exit 2"
grep -q '^stopped$' "$o/mtls-server.out" || fail "the server did not say 'stopped'"
echo "C#/C++ output comparison ($(echo "$files" | wc -l) outputs, TLS, errors, deflate, usage): ok"
