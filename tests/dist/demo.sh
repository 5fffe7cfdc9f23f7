#!/usr/bin/env bash
# Runs the README's first command, scripts/demo.sh, and checks what it must show, one counted test
# per point: both clients echoed text and binary over mutual TLS with both sides printing the TLS
# facts; each mistake reported on both sides (the verifying side's X509 code, the other side's
# TLS alert); ws:// by configuration. Ends with "wss-test-count demo PASSED FAILED SKIPPED".
set -uo pipefail
cd "$(dirname "$0")/../.."
out="$(mktemp)"
trap 'rm -f "$out"' EXIT

passed=0 failed=0
check() { # NAME SECTION REGEX...: every REGEX matches a line of SECTION ("all": the whole output)
  local name=$1 sec=$2 re text; shift 2
  if [ "$sec" = all ]; then text=$(cat "$out")
  else text=$(awk -v s="== $sec. " 'index($0, "== ") == 1 { on = index($0, s) == 1 } on' "$out"); fi
  for re in "$@"; do
    if ! grep -qE -- "$re" <<< "$text"; then
      failed=$((failed + 1)); echo "FAIL demo $name: no line matching: $re"; return
    fi
  done
  passed=$((passed + 1)); echo "ok   demo $name"
}

rc=0
NO_COLOR=1 timeout 900 ./scripts/demo.sh > "$out" 2>&1 || rc=$?
cat "$out"
if [ "$rc" = 0 ]; then passed=$((passed + 1)); echo "ok   demo exits 0"
else failed=$((failed + 1)); echo "FAIL demo exited with $rc"; fi

TLS_FACTS='connected: TLSv1\.[23], [A-Z0-9_-]+, peer CN=localhost \(verified\)'
SERVER_SAW_ALICE='^C\+\+ server +\| open .*: TLSv1\.[23], .*, peer CN=alice \(verified\)'
check "mTLS C# client" 2 "^C# client +\| $TLS_FACTS" '^C# client +\| reply: hello from C# client$' \
  '^C# client +\| reply: 64 bytes$' "$SERVER_SAW_ALICE" '^C\+\+ server +\| close .*: 1000 bye'
check "mTLS C++ client" 3 "^C\+\+ client +\| $TLS_FACTS" '^C\+\+ client +\| reply: hello from C\+\+ client$' \
  '^C\+\+ client +\| reply: 64 bytes$' "$SERVER_SAW_ALICE" '^C\+\+ server +\| close .*: 1000 bye'
check "untrusted CA" 4 '^C\+\+ server +\|   verify:  (19|20) ' '^C\+\+ server +\|   hint: ' \
  '^C# client +\|   openssl: .*alert unknown ca' '^C# client +\|   hint: '
check "expired certificate" 5 '^C\+\+ server +\|   verify:  10 certificate has expired .*CN=bob' \
  '^C\+\+ client +\|   openssl: .*alert certificate expired' '^C\+\+ client +\|   hint: '
check "name mismatch" 6 '^C# client +\|   verify:  6[24] ' '^C# client +\|   hint: ' \
  '^C# client +\|   message: .*expected 127\.0\.0\.1, the certificate lists DNS:localhost' \
  '^C\+\+ server +\|   openssl: .*alert bad certificate' '^C\+\+ server +\|   hint: .*rejected our certificate'
check "plain ws" 7 '^C# client +\| connected: plain ws$' '^C# client +\| reply: 64 bytes$' \
  '^C\+\+ client +\| connected: plain ws$' '^C\+\+ client +\| reply: 64 bytes$' '^C\+\+ server +\| listening on port [0-9]+ \(ws\)'
check "summary" all '^ok  untrusted client CA -> server: X509 verify' '^ok  expired client certificate -> server: X509 verify 10' \
  '^ok  server name mismatch -> client: X509 verify'

# On a terminal the demo is coloured (and still exits 0): run it again, built, under a pseudo-tty.
tty_out="$(mktemp)"
if script -qec "timeout 300 ./scripts/demo.sh" /dev/null > "$tty_out" 2>&1 \
  && grep -q $'\e\[' "$tty_out"; then
  passed=$((passed + 1)); echo "ok   demo coloured on a terminal"
else
  failed=$((failed + 1)); echo "FAIL demo on a terminal: not coloured, or it failed"; tail -20 "$tty_out"
fi
rm -f "$tty_out"

echo "wss-test-count demo $passed $failed 0"
[ "$failed" = 0 ]
