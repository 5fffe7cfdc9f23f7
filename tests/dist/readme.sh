#!/usr/bin/env bash
# Compiles every C, C++ and C# sample in README.md (fenced blocks tagged c, cpp, csharp; the Rust
# ones are doc tests: src/lib.rs `ReadmeSamples`) against the checkout's header and release
# library, and runs the complete programs against a PKI made by wss-pki: the C++ server with the
# C# client connecting to it over mutual TLS, and the C program printing a failure. `sh` blocks
# are checked with `bash -n`. A block with a main function is a program; one without is compiled
# on its own (C/C++: `-fsyntax-only` after `#include <wss/wss.hpp>`; C#: as a library).
# Ends with "wss-test-count readme PASSED FAILED SKIPPED"; exit status 0 when all passed.
set -uo pipefail
cd "$(dirname "$0")/../.."
root="$PWD"
tmp="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null; fi
  exec 9>&- 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

passed=0 failed=0 skipped=0
check() { # NAME COMMAND...
  local name=$1; shift
  if "$@" > "$tmp/check.log" 2>&1; then
    passed=$((passed + 1)); echo "ok   readme $name"
  else
    failed=$((failed + 1)); echo "FAIL readme $name"; sed 's/^/     | /' "$tmp/check.log" | tail -n 40
  fi
}

# Blocks to files: $tmp/blocks/NN.LANG, numbered in README order.
mkdir -p "$tmp/blocks"
awk -v dir="$tmp/blocks" '
  /^```/ && !inside { lang = substr($0, 4); sub(/[ ,].*/, "", lang); inside = 1; n++
                      file = sprintf("%s/%02d.%s", dir, n, lang == "" ? "untagged" : lang); printf "" > file; next }
  /^```/ && inside  { inside = 0; close(file); next }
  inside            { print > file }' README.md

cargo build --release --lib > "$tmp/cargo.log" 2>&1 || { cat "$tmp/cargo.log"; echo "wss-test-count readme 0 1 0"; exit 1; }
lib="$tmp/lib"
mkdir -p "$lib"
ln -s "$root/target/release/libwss.so" "$lib/libwss.so"
ln -s libwss.so "$lib/libwss.so.1"
MCS=(mcs -langversion:7.2 -sdk:4.6.1 -warnaserror)
"${MCS[@]}" -target:library -out:"$tmp/Wss.dll" bindings/csharp/src/*.cs > "$tmp/mcs.log" 2>&1 \
  || { cat "$tmp/mcs.log"; echo "wss-test-count readme 0 1 0"; exit 1; }
C_FLAGS=(-Wall -Wextra -Werror -Iinclude -Ibindings/cpp/include)
LINK=(-L"$lib" -lwss -Wl,-rpath,"$lib" -pthread)

untagged() { echo "untagged code block: tag it (c, cpp, csharp, rust, sh, cmake, text)"; cat "$1"; return 1; }
programs=()
for f in "$tmp"/blocks/*; do
  b=$(basename "$f")
  case "$b" in
    *.c)
      if grep -q 'int main(' "$f"; then
        cp "$f" "$tmp/$b"; check "$b (C program)" gcc -std=c11 "${C_FLAGS[@]}" "$tmp/$b" -o "$tmp/${b%.c}" "${LINK[@]}"
        programs+=("$b")
      else
        check "$b (C fragment)" gcc -std=c11 "${C_FLAGS[@]}" -fsyntax-only -include wss.h -x c "$f"
      fi ;;
    *.cpp)
      if grep -q 'int main(' "$f"; then
        cp "$f" "$tmp/$b"; check "$b (C++ program)" g++ -std=c++17 "${C_FLAGS[@]}" "$tmp/$b" -o "$tmp/${b%.cpp}" "${LINK[@]}"
        programs+=("$b")
      else
        check "$b (C++ fragment)" g++ -std=c++17 "${C_FLAGS[@]}" -fsyntax-only -include wss/wss.hpp -x c++ "$f"
      fi ;;
    *.csharp)
      cp "$f" "$tmp/${b%.csharp}.cs"
      if grep -qE 'static (int|void) Main\(' "$f"; then
        check "$b (C# program)" "${MCS[@]}" -target:exe -r:"$tmp/Wss.dll" -out:"$tmp/${b%.csharp}.exe" "$tmp/${b%.csharp}.cs"
        programs+=("$b")
      else
        check "$b (C# fragment)" "${MCS[@]}" -target:library -r:"$tmp/Wss.dll" -out:"$tmp/${b%.csharp}.dll" "$tmp/${b%.csharp}.cs"
      fi ;;
    *.sh) check "$b (sh, bash -n)" bash -n "$f" ;;
    *.untagged) check "$b" untagged "$f" ;;
    *) ;;  # rust: doc tests; cmake: tests/dist/package.sh; text: output
  esac
done

# ---- the complete programs, run --------------------------------------------------------------
# The C++ server (Server::listen) with the C# client (WssClient) against it, and the C program,
# all in a folder made by `wss-pki init pki --san localhost --client alice`, as the README says.
pki_tool="$root/target/release/wss-pki"
if ! cargo build --release --bin wss-pki > "$tmp/cargo.log" 2>&1; then
  cat "$tmp/cargo.log"
  failed=$((failed + 1)); echo "FAIL readme: wss-pki does not build"
else
  export WSS_PKI_PASSWORD=readme-password
  "$pki_tool" init "$tmp/pki" --san localhost --client alice > "$tmp/pki.log" 2>&1 || cat "$tmp/pki.log"
  cd "$tmp/pki"
  server="" client="" cprog=""
  for b in "${programs[@]}"; do
    case "$b" in
      *.cpp) grep -q 'Server::listen' "$tmp/$b" && server=${b%.cpp} ;;
      *.csharp) grep -q 'WssClient' "$tmp/${b%.csharp}.cs" && client=${b%.csharp} ;;
      *.c) cprog=${b%.c} ;;
    esac
  done
  run_pair() {
    mkfifo "$tmp/stdin"
    timeout 120 "$tmp/$server" < "$tmp/stdin" > "$tmp/server.out" 2>&1 &
    server_pid=$!
    exec 9> "$tmp/stdin"  # the server serves until its stdin gets a line
    local port=""
    for _ in $(seq 600); do
      port=$(sed -n 's/^listening on port \([0-9]*\)$/\1/p' "$tmp/server.out")
      [ -n "$port" ] && break
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    [ -n "$port" ] || { cat "$tmp/server.out"; return 1; }
    cp "$tmp/Wss.dll" "$tmp/pki/"
    LD_LIBRARY_PATH="$lib" timeout 60 mono "$tmp/$client.exe" "wss://localhost:$port/" > "$tmp/client.out" 2>&1
    local rc=$?
    echo >&9; exec 9>&-
    wait "$server_pid"; server_pid=""
    cat "$tmp/client.out" "$tmp/server.out"
    [ "$rc" = 0 ] && grep -q '^echo: hello$' "$tmp/client.out" &&
      grep -q '^TLSv1\.[23] .* peer CN=localhost' "$tmp/client.out" &&
      grep -q '^open: TLSv1\.[23] .* peer CN=alice' "$tmp/server.out"
  }
  if [ -n "$server" ] && [ -n "$client" ]; then
    check "C++ server + C# client run (mutual TLS)" run_pair
  else
    failed=$((failed + 1)); echo "FAIL readme: no C++ server / C# client program found to run"
  fi
  run_c() { "$tmp/$cprog" && grep -q '^  hint: the PFX password is wrong$' <<<"$("$tmp/$cprog")"; }
  if [ -n "$cprog" ]; then check "C program run (error detail)" run_c; fi
  cd "$root"
fi

echo "wss-test-count readme $passed $failed $skipped"
[ "$failed" = 0 ]
