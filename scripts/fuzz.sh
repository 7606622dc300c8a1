#!/usr/bin/env bash
# Runs each cargo fuzz target of native/fuzz (the agent frame parser, the rtnetlink and the nf_tables
# decoders) for FUZZ_SECONDS seconds, from the committed seeds (native/fuzz/seeds) and the corpus
# earlier runs grew (native/fuzz/corpus, not committed). Needs a nightly toolchain and cargo-fuzz,
# which setup.sh installs into .cache when nightly is there: `make fuzz` fails without them,
# `make test` (--if-available) says it skips. A crash stops the run: the input is saved under
# native/fuzz/artifacts/<target>/ and the log shows how to reproduce it.
#
# FUZZ_SANITIZER (default none): the decoders are safe Rust, so a panic (overflow checks and debug
# assertions are on) is what a run looks for; `address` adds AddressSanitizer at a higher build cost.
set -euo pipefail
cd "$(dirname "$0")/.."

if_available=0
[ "${1:-}" = --if-available ] && if_available=1
seconds=${FUZZ_SECONDS:-60}
sanitizer=${FUZZ_SANITIZER:-none}
targets=(frame rtnetlink nf_tables)
cargo_fuzz="$PWD/.cache/cargo-fuzz/bin/cargo-fuzz"

missing=
command -v rustup >/dev/null && rustup run nightly rustc --version >/dev/null 2>&1 || missing="no nightly Rust toolchain"
[ -z "$missing" ] && [ ! -x "$cargo_fuzz" ] && missing="cargo-fuzz is not installed in .cache (make setup installs it)"
if [ -n "$missing" ]; then
  if [ "$if_available" = 1 ]; then
    echo "fuzz: skipped, $missing"
    exit 0
  fi
  echo "fuzz: $missing" >&2
  exit 1
fi

logs=.cache/fuzz
mkdir -p "$logs"
fuzz() { PATH="$(dirname "$cargo_fuzz"):$PATH" cargo +nightly fuzz "$1" --fuzz-dir native/fuzz -s "$sanitizer" "${@:2}"; }

echo "fuzz: building ${#targets[@]} targets (sanitizer: $sanitizer)"
fuzz build >"$logs/build.log" 2>&1 || { tail -n 30 "$logs/build.log" >&2; exit 1; }
for t in "${targets[@]}"; do
  mkdir -p "native/fuzz/corpus/$t"
  if ! fuzz run "$t" "native/fuzz/corpus/$t" "native/fuzz/seeds/$t" -- -max_total_time="$seconds" >"$logs/$t.log" 2>&1; then
    echo "fuzz: $t FAILED (log: $logs/$t.log)" >&2
    grep -E 'panicked|ERROR|SUMMARY|artifact|Reproduce|cargo fuzz run' "$logs/$t.log" | head -n 20 >&2
    exit 1
  fi
  runs=$(grep -oE '^Done [0-9]+ runs' "$logs/$t.log" | grep -oE '[0-9]+' || echo '?')
  echo "fuzz: $t: $runs inputs in ${seconds}s, no crash; corpus $(find "native/fuzz/corpus/$t" -type f | wc -l) files"
done
