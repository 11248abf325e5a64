#!/usr/bin/env bash
# Long fuzz runs (not part of ctest): tests/fuzz/run_long.sh BUILD_DIR SECONDS [TARGET...]
# Runs each target for SECONDS with its growing corpus in BUILD_DIR/corpus/TARGET,
# two at a time, logging to BUILD_DIR/fuzz-TARGET.log; prints executions and
# whether a crash was found (crash files land in BUILD_DIR/crashes/TARGET/).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
build=$1; secs=$2; shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(wire record json import ingest)
seeds() {
  case $1 in
    wire) echo "$here/tests/vectors $here/tests/vectors/bad" ;;
    *) echo "$here/tests/fuzz/seeds/$1" ;;
  esac
}
run_one() {
  local t=$1
  mkdir -p "$build/corpus/$t" "$build/crashes/$t"
  # shellcheck disable=SC2046
  nice "$build/bin/fuzz_$t" -max_total_time="$secs" -timeout=30 -max_len=65536 \
    -artifact_prefix="$build/crashes/$t/" -print_final_stats=1 -report_slow_units=60 \
    "$build/corpus/$t" $(seeds "$t") >"$build/fuzz-$t.log" 2>&1 || true
  local execs crashes
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$build/fuzz-$t.log" | grep -o '[0-9]*$' || echo "?")
  crashes=$(find "$build/crashes/$t" -type f ! -name 'slow-unit-*' | wc -l)
  slow=$(find "$build/crashes/$t" -type f -name 'slow-unit-*' | wc -l)
  echo "fuzz_$t: ${secs}s, $execs executions, $crashes crash/leak/timeout files, $slow slow inputs"
}
i=0
for t in "${targets[@]}"; do
  run_one "$t" &
  i=$((i + 1))
  if [ $((i % 2)) -eq 0 ]; then wait; fi
done
wait
