#!/bin/sh
# Short libFuzzer run of each target: seconds first, then the target binaries.
# Seeds come from tests/fuzz/corpus/<target>/; new inputs go to a scratch copy, not the tree.
# tests/fuzz/<name>.dict (fuzz_http1 -> http1.dict), when there is one, is passed as -dict=.
set -u
secs=$1
shift
fail=0
for bin in "$@"; do
  name=$(basename "$bin")
  seeds="tests/fuzz/corpus/$name"
  work=$(mktemp -d)
  [ -d "$seeds" ] && cp -r "$seeds"/. "$work"/
  dict="tests/fuzz/${name#fuzz_}.dict"
  dict_arg=""
  [ -f "$dict" ] && dict_arg="-dict=$dict"
  # shellcheck disable=SC2086 # dict_arg is one word or none
  if "$bin" $dict_arg -max_total_time="$secs" -print_final_stats=0 -rss_limit_mb=2048 "$work" >"$work.log" 2>&1; then
    echo "fuzz: $name: ok ($(grep -o 'Done [0-9]* runs' "$work.log" | tail -1))"
  else
    echo "fuzz: $name: FAILED"; tail -40 "$work.log"; fail=$((fail + 1))
  fi
  rm -rf "$work" "$work.log"
done
echo "fuzz: $# targets run for ${secs}s each, $fail failed"
[ "$fail" = 0 ]
