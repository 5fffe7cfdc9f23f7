#!/usr/bin/env bash
# Smoke test of examples-cpp as separate processes: echo_server + echo_client (stdin lines and
# --count/--size; permessage-deflate with --deflate on both), refused client certificates (wss: expired, and revoked by --crl; full detail,
# non-zero exit), chat, and a
# clean stop on SIGINT/SIGTERM. Usage: example_smoke.sh ws|wss BIN_DIR PKI_DIR
set -euo pipefail
mode=$1 bin=$2 pki=$3
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; for f in "$work"/*.out; do echo "--- $f" >&2; cat "$f" >&2; done; exit 1; }

if [ "$mode" = wss ]; then
  server_tls=(--pfx "$pki/server.p12" --password server-pass --ca-dir "$pki/cadir" --crl "$pki/crl.pem"
              --require-client-cert)
  client_tls=(--pfx "$pki/client.p12" --password client-pass --ca-dir "$pki/cadir")
  bad_client_tls=(--pfx "$pki/client-expired.p12" --password client-pass --ca-dir "$pki/cadir")
  chat_tls=(--cert "$pki/server.pem" --key "$pki/server.key")
  chat_client_tls=(--ca-file "$pki/ca.pem")
else
  server_tls=(--plain) client_tls=() chat_tls=(--plain) chat_client_tls=()
fi

# Start a server with its stdout on fd $2 and read its first line (the port) with a bound.
start() { # name fd command...
  local name=$1 fd=$2; shift 2
  mkfifo "$work/$name.fifo"
  "$@" > "$work/$name.fifo" 2> "$work/$name.err.out" &
  pids+=($!)
  eval "exec $fd<\"$work/$name.fifo\""
}
read_port() { # fd pattern
  local line
  IFS= read -r -t 60 line <&"$1" || fail "no start line from the server"
  echo "$line" >&2
  [[ $line =~ $2\ ([0-9]+) ]] || fail "unexpected start line: $line"
  echo "${BASH_REMATCH[1]}"
}

start echo_server 3 "$bin/echo_server" --port 0 --io-threads 2 --deflate "${server_tls[@]}"
server_pid=${pids[-1]}
port=$(read_port 3 "listening on port")
cat <&3 > "$work/echo_server.out" &   # keep draining the server's output
url="$mode://localhost:$port/echo"

printf 'hello\nworld\n' | "$bin/echo_client" "$url" "${client_tls[@]}" > "$work/lines.out" 2>&1 \
  || fail "echo_client (stdin) failed"
grep -q '^reply: hello$' "$work/lines.out" || fail "no echo of hello"
grep -q '^reply: world$' "$work/lines.out" || fail "no echo of world"
grep -q '^2 replies$' "$work/lines.out" || fail "reply count"
"$bin/echo_client" "$url" "${client_tls[@]}" --count 20 --size 70000 > "$work/count.out" 2>&1 \
  || fail "echo_client --count failed"
grep -q '^20 replies$' "$work/count.out" || fail "reply count for --count"
grep -q 'permessage-deflate' "$work/count.out" && fail "compression without --deflate on the client"
"$bin/echo_client" "$url" "${client_tls[@]}" --deflate --count 5 --size 70000 > "$work/deflate.out" 2>&1 \
  || fail "echo_client --deflate failed"
grep -q '^connected: .*, permessage-deflate' "$work/deflate.out" || fail "no permessage-deflate negotiated"
grep -q '^5 replies$' "$work/deflate.out" || fail "reply count for --deflate"
if [ "$mode" = wss ]; then
  grep -q 'connected: TLSv1\.[23]' "$work/lines.out" || fail "client did not print the TLS version"
  if "$bin/echo_client" "$url" "${bad_client_tls[@]}" --count 1 > "$work/bad.out" 2>&1; then
    fail "an expired client certificate connected"
  fi
  grep -q 'openssl:' "$work/bad.out" || fail "no OpenSSL detail for the refused certificate"
  grep -qi 'expired' "$work/bad.out" || fail "the refusal does not say expired"
  revoked_tls=(--pfx "$pki/client-revoked.p12" --password client-pass --ca-dir "$pki/cadir")
  if "$bin/echo_client" "$url" "${revoked_tls[@]}" --count 1 > "$work/revoked.out" 2>&1; then
    fail "a revoked client certificate (--crl) connected"
  fi
  grep -qi 'revoked' "$work/revoked.out" || fail "the refusal does not say revoked"
else
  grep -q 'connected: plain ws' "$work/lines.out" || fail "client did not say plain ws"
fi

kill -INT "$server_pid"
wait "$server_pid" || fail "echo_server exited with $?"
wait  # the drain
grep -q '^stopped$' "$work/echo_server.out" || fail "echo_server did not stop cleanly"
if [ "$mode" = wss ]; then
  grep -q 'peer CN *= *test client (verified)\|peer CN=test client (verified)' "$work/echo_server.out" \
    || fail "echo_server did not print the client subject"
  grep -q 'verify:  10 ' "$work/echo_server.out" || fail "echo_server did not print the verify error"
  grep -q 'verify:  23 ' "$work/echo_server.out" || fail "echo_server did not print the revocation"
fi

start chat 4 "$bin/chat" --port 0 "${chat_tls[@]}"
chat_pid=${pids[-1]}
chat_port=$(read_port 4 "chat on port")
cat <&4 > "$work/chat.out" &
echo 'hi all' | "$bin/echo_client" "$mode://localhost:$chat_port/chat" "${chat_client_tls[@]}" > "$work/chat-client.out" 2>&1 \
  || fail "chat client failed"
grep -q '^reply: peer[0-9]*: hi all$' "$work/chat-client.out" || fail "no broadcast from chat"
kill -TERM "$chat_pid"
wait "$chat_pid" || fail "chat exited with $?"
echo "examples ($mode): ok"
