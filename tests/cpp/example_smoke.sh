#!/usr/bin/env bash
# Smoke test of examples-cpp as separate processes: echo_server + echo_client (stdin lines and
# --count/--size; permessage-deflate with --deflate on both), refused client certificates (wss:
# expired, and revoked by --crl; full detail, non-zero exit), a second echo_server on a port
# given with --port N (wss: PEM identity with --cert/--key, trust with --ca-file, the client's
# identity from --cert/--key, the TLS version and cipher it prints), stopped by SIGTERM, an
# untrusted server refused by echo_client (X509 code and hint), and chat: a second peer gets the
# first one's broadcast. Usage: example_smoke.sh ws|wss BIN_DIR PKI_DIR
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
  pem_server_tls=(--cert "$pki/server.pem" --key "$pki/server.key" --ca-file "$pki/ca.pem" --require-client-cert)
  pem_client_tls=(--cert "$pki/client.pem" --key "$pki/client.key" --ca-file "$pki/ca.pem")
else
  server_tls=(--plain) client_tls=() chat_tls=(--plain) chat_client_tls=()
  pem_server_tls=(--plain) pem_client_tls=()
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

# A second echo_server on a port chosen beforehand (--port N, not 0). The OS picks a free port
# for a socket that is then closed; another process could take it before echo_server binds it,
# so a start that fails is retried with a new port (three times).
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
fixed_port=
for attempt in 1 2 3; do
  candidate=$(free_port) || fail "no free port from the OS"
  start "echo_server_fixed$attempt" $((4 + attempt)) "$bin/echo_server" --port "$candidate" "${pem_server_tls[@]}"
  fixed_pid=${pids[-1]} fd=$((4 + attempt))
  if IFS= read -r -t 60 line <&"$fd" && [[ $line == "listening on port $candidate "* ]]; then
    fixed_port=$candidate
    break
  fi
  echo "echo_server did not start on port $candidate (attempt $attempt): ${line:-no output}" >&2
  wait "$fixed_pid" || true
done
[ -n "$fixed_port" ] || fail "echo_server --port N never started"
cat <&"$fd" > "$work/echo_server_fixed.out" &
echo 'on a fixed port' | "$bin/echo_client" "$mode://localhost:$fixed_port/fixed" "${pem_client_tls[@]}" \
  > "$work/fixed-client.out" 2>&1 || fail "echo_client against --port $fixed_port failed"
grep -q '^reply: on a fixed port$' "$work/fixed-client.out" || fail "no echo on the fixed port"
kill -TERM "$fixed_pid"
wait "$fixed_pid" || fail "echo_server exited with $? on SIGTERM"
wait  # the drain
grep -q '^signal 15: closing$' "$work/echo_server_fixed.out" \
  || fail "echo_server did not report SIGTERM"
grep -q '^stopped$' "$work/echo_server_fixed.out" || fail "echo_server did not stop cleanly on SIGTERM"
if [ "$mode" = wss ]; then
  # What the server prints per connection: TLS version, cipher, the client's subject.
  grep -Eq '^open [0-9]+ from 127\.0\.0\.1:[0-9]+ /fixed: TLSv1\.[23], [A-Z0-9_-]+, peer CN ?= ?test client \(verified\)' \
    "$work/echo_server_fixed.out" || fail "echo_server did not print TLS version, cipher and client subject"
  grep -Eq '^connected: TLSv1\.[23], [A-Z0-9_-]+, peer CN ?= ?localhost \(verified\)' "$work/fixed-client.out" \
    || fail "echo_client did not print TLS version, cipher and server subject"

  # A server the client does not trust: refused, non-zero exit, the X509 code and the hint.
  start echo_server_rogue 8 "$bin/echo_server" --port 0 --pfx "$pki/server-untrusted.p12" --password server-pass
  rogue_pid=${pids[-1]}
  rogue_port=$(read_port 8 "listening on port")
  cat <&8 > "$work/echo_server_rogue.out" &
  if echo hi | "$bin/echo_client" "wss://localhost:$rogue_port/" --ca-file "$pki/ca.pem" > "$work/untrusted.out" 2>&1; then
    fail "echo_client accepted a server its CA did not sign"
  fi
  grep -q '^error: wss: certificate verification failed' "$work/untrusted.out" || fail "no one-line error for the untrusted server"
  grep -Eq '^  verify: +19 ' "$work/untrusted.out" || fail "no X509 verify code for the untrusted server"
  grep -q '^  hint: ' "$work/untrusted.out" || fail "no hint for the untrusted server"
  grep -q '^  openssl: ' "$work/untrusted.out" || fail "no OpenSSL detail for the untrusted server"
  kill -TERM "$rogue_pid"
  wait "$rogue_pid" || fail "the untrusted echo_server exited with $?"
  wait
fi

start chat 4 "$bin/chat" --port 0 "${chat_tls[@]}"
chat_pid=${pids[-1]}
chat_port=$(read_port 4 "chat on port")
cat <&4 > "$work/chat.out" &
chat_url="$mode://localhost:$chat_port/chat"

# Peer 2 stays connected, driven line by line: echo_client sends a line, then prints the next
# message it receives (its own broadcast, or what others said meanwhile, in order).
mkfifo "$work/peer2.in" "$work/peer2.stdout"
"$bin/echo_client" "$chat_url" "${chat_client_tls[@]}" < "$work/peer2.in" > "$work/peer2.stdout" \
  2> "$work/peer2.err.out" &
peer2_pid=$!
pids+=("$peer2_pid")
exec 9> "$work/peer2.in"
exec 3< "$work/peer2.stdout"  # fd 3 (the first server's) is free again
peer2_line() {
  IFS= read -r -t 60 line <&3 || fail "peer 2 printed nothing within 60 s"
  echo "$line" >> "$work/peer2.out"
  printf '%s\n' "$line"
}
peer2_line > /dev/null  # connected: ...
echo 'ready' >&9
ready=$(peer2_line)
# Its own broadcast came back: peer 2 is in the room before peer 1 comes.
[[ $ready =~ ^reply:\ (peer[0-9]+):\ ready$ ]] || fail "peer 2 got '$ready' instead of its own broadcast"
peer2_name=${BASH_REMATCH[1]}

echo 'hi all' | "$bin/echo_client" "$chat_url" "${chat_client_tls[@]}" > "$work/chat-client.out" 2>&1 \
  || fail "chat client failed"
grep -q '^reply: peer[0-9]*: hi all$' "$work/chat-client.out" || fail "no broadcast from chat"
peer1_name=$(sed -n 's/^reply: \(peer[0-9]*\): hi all$/\1/p' "$work/chat-client.out")
[ "$peer1_name" != "$peer2_name" ] || fail "both peers are called $peer1_name"
# Peer 1 has its copy, so peer 2's is queued: it comes within the next few messages peer 2 reads
# (after "* peerN joined"), each taken by sending one more line.
got=
for n in 1 2 3 4; do
  echo "line $n" >&9
  if [ "$(peer2_line)" = "reply: $peer1_name: hi all" ]; then got=1; break; fi
done
[ -n "$got" ] || fail "peer 2 did not receive peer 1's broadcast"
exec 9>&-  # end of input: peer 2 closes and exits
cat <&3 >> "$work/peer2.out"
wait "$peer2_pid" || fail "peer 2 exited with $?"
exec 3<&-

kill -TERM "$chat_pid"
wait "$chat_pid" || fail "chat exited with $?"
echo "examples ($mode): ok"
