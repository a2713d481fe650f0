#!/bin/sh
# Long libFuzzer runs, off-CI: every target in turn (never two at once), FUZZ_SECS (600) each,
# with its dictionary, -jobs=1, under nice -n 19, on a work corpus in build/fuzz-work/<target>/
# seeded from tests/fuzz/corpus/<target>/. Afterwards the inputs that add coverage are merged
# (-merge=1) into tests/fuzz/corpus/<target>/, which so grows only by files that add coverage.
# Prints per target: executions, final cov/ft, files added to the corpus, crashes (their inputs
# are copied to FUZZ_LOG_DIR/<target>-artifacts/), slow units (an input that took over 10 s once:
# on a busy machine, scheduling; rerun it to see). Exits 1 when any target crashed.
#   scripts/fuzz-long.sh                         all targets (built first with make fuzz)
#   FUZZ_SECS=60 FUZZ_TARGETS="fuzz_cgi" scripts/fuzz-long.sh
# Settings: FUZZ_SECS, FUZZ_TARGETS (names, default all), FUZZ_LOG_DIR (build/fuzz-work/logs).
set -u
cd "$(dirname "$0")/.." || exit 1
FUZZ_SECS=${FUZZ_SECS:-600}
FUZZ_LOG_DIR=${FUZZ_LOG_DIR:-build/fuzz-work/logs}
FUZZ_TARGETS=${FUZZ_TARGETS:-$(for f in tests/fuzz/fuzz_*.c; do basename "$f" .c; done)}
root=$(pwd)

nice -n 19 make --no-print-directory fuzz >/dev/null || { echo "fuzz-long: make fuzz failed" >&2; exit 1; }
mkdir -p "$FUZZ_LOG_DIR"
summary="$FUZZ_LOG_DIR/summary.txt"
printf '%-22s %12s %8s %8s %6s %8s %5s\n' target executions cov ft new crashes slow | tee "$summary"

crashed=0
for name in $FUZZ_TARGETS; do
  bin="$root/build/fuzz/$name"
  seeds="$root/tests/fuzz/corpus/$name"
  dir="$root/build/fuzz-work/$name"
  log="$FUZZ_LOG_DIR/$name.log"
  rm -rf "$dir/artifacts"
  mkdir -p "$dir/corpus" "$dir/artifacts" "$seeds"
  cp -rn "$seeds"/. "$dir/corpus"/
  dict="$root/tests/fuzz/${name#fuzz_}.dict"
  dict_arg=""
  [ -f "$dict" ] && dict_arg="-dict=$dict"
  before=$(find "$seeds" -type f | wc -l)
  # -jobs=1 runs the fuzzer in one child whose output goes to fuzz-0.log in the current directory.
  # shellcheck disable=SC2086 # dict_arg is one word or none
  (cd "$dir" && rm -f fuzz-0.log &&
    nice -n 19 "$bin" $dict_arg -jobs=1 -max_total_time="$FUZZ_SECS" -print_final_stats=1 \
      -rss_limit_mb=2048 -timeout=30 -artifact_prefix="$dir/artifacts/" corpus >/dev/null 2>&1)
  cp "$dir/fuzz-0.log" "$log" 2>/dev/null || echo "(no fuzz-0.log)" >"$log"
  # Only the work corpus's inputs that add edges to the committed corpus are copied there:
  # -use_counters=0 makes the merge's features plain edge coverage, not hit-count buckets.
  # shellcheck disable=SC2086
  nice -n 19 "$bin" $dict_arg -merge=1 -use_counters=0 -rss_limit_mb=2048 -timeout=30 "$seeds" "$dir/corpus" \
    >"$FUZZ_LOG_DIR/$name.merge.log" 2>&1
  added=$(($(find "$seeds" -type f | wc -l) - before))
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
  # slow-unit-* are inputs that took over 10 s once (a busy machine): kept, not failures
  crashes=$(find "$dir/artifacts" -type f ! -name 'slow-unit-*' | wc -l)
  slow=$(find "$dir/artifacts" -type f -name 'slow-unit-*' | wc -l)
  if [ "$crashes" != 0 ] || [ "$slow" != 0 ]; then
    [ "$crashes" = 0 ] || crashed=$((crashed + 1))
    mkdir -p "$FUZZ_LOG_DIR/$name-artifacts"
    cp "$dir/artifacts"/* "$FUZZ_LOG_DIR/$name-artifacts/"
  fi
  printf '%-22s %12s %8s %8s %6s %8s %5s\n' "$name" "${execs:-?}" \
    "$(echo "$cov" | awk '{print $2}')" "$(echo "$cov" | awk '{print $4}')" "$added" "$crashes" "$slow" |
    tee -a "$summary"
done
echo "fuzz-long: ${FUZZ_SECS}s per target; logs and summary in $FUZZ_LOG_DIR; $crashed target(s) crashed" |
  tee -a "$summary"
[ "$crashed" = 0 ]
