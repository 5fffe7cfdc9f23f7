#!/usr/bin/env bash
# Fuzz every target in fuzz/ with cargo-fuzz (libFuzzer).
#
#   ./scripts/fuzz.sh                 short run: FUZZ_SECONDS (default 20) per target; part of
#                                     ./scripts/test.sh (kind "fuzz", one count per target)
#   ./scripts/fuzz.sh --long [SECS]   long run: SECS per target (default 3600), on all cores
#                                     (-fork), keeping the grown corpus in fuzz/corpus/
#   ./scripts/fuzz.sh TARGET...       only these targets
#
# Only stable Rust is installed here: cargo-fuzz passes nightly-only flags to rustc, which
# RUSTC_BOOTSTRAP=1 allows; the sanitizer is off (--sanitizer none: ASan needs nightly's
# -Zbuild-std to be useful for Rust, and the code under test is safe Rust plus OpenSSL), so
# what is found are panics (failed invariants in src/fuzzing/), aborts and timeouts. cargo-fuzz
# is installed from crates.io when missing (libfuzzer-sys builds libFuzzer with the system C++
# compiler). Each run starts from the seeds in fuzz/seeds/TARGET (kept small, in the repo) and
# the corpus grown so far in fuzz/corpus/TARGET (not in the repo).
#
# A crash leaves its input in fuzz/artifacts/TARGET/; the script prints the path. Make it a
# regression test: copy it to fuzz/regressions/TARGET/ (the library's unit tests replay every
# file there and every seed, see src/fuzzing/mod.rs), then fix the bug.
#
# Prints, per target: executions, coverage (libFuzzer's cov: edges, ft: features; only our Rust
# code is instrumented, not the system OpenSSL) and corpus size; appends "fuzz P F S TARGET"
# lines to $WSS_TEST_COUNTS when set.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER=${FUZZ_SECONDS:-20}
LONG=0
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --long) LONG=1; SECONDS_PER=3600
            if [ $# -gt 1 ] && [[ "$2" =~ ^[0-9]+$ ]]; then SECONDS_PER=$2; shift; fi ;;
    -*) echo "unknown option: $1" >&2; exit 2 ;;
    *) TARGETS+=("$1") ;;
  esac
  shift
done

export RUSTC_BOOTSTRAP=1
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "==> installing cargo-fuzz (crates.io)"
  cargo install --locked cargo-fuzz
fi

cd fuzz
if [ ${#TARGETS[@]} -eq 0 ]; then
  mapfile -t TARGETS < <(cargo fuzz list)
fi
echo "==> building ${#TARGETS[@]} fuzz targets"
cargo fuzz build --sanitizer none

count() { # PASSED FAILED LABEL
  if [ -n "${WSS_TEST_COUNTS:-}" ]; then printf 'fuzz %d %d 0 %s\n' "$1" "$2" "$3" >>"$WSS_TEST_COUNTS"; fi
}

failed=0
for t in "${TARGETS[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  dirs=("corpus/$t")
  [ -d "seeds/$t" ] && dirs+=("seeds/$t")
  [ -d "regressions/$t" ] && dirs+=("regressions/$t")
  args=(-max_total_time="$SECONDS_PER" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="artifacts/$t/")
  [ "$LONG" = 1 ] && args+=(-fork="$(nproc)" -ignore_crashes=0)
  log="target/fuzz-$t.log"
  mkdir -p target
  echo "==> fuzz $t (${SECONDS_PER}s)"
  if cargo fuzz run --sanitizer none "$t" "${dirs[@]}" -- "${args[@]}" >"$log" 2>&1; then
    stats=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed -e 's/.*DONE *//' -e 's/ exec\/s.*//' || true)
    execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}' || true)
    echo "    ok: ${execs:-?} executions; $stats"
    count 1 0 "$t"
  else
    failed=$((failed + 1))
    echo "    FAILED: see fuzz/$log"
    grep -E 'panicked|ERROR: libFuzzer|SUMMARY|Test unit written' "$log" | head -5 | sed 's/^/    /'
    count 0 1 "$t"
  fi
done
[ "$failed" -eq 0 ]
