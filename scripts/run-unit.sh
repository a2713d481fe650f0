#!/bin/sh
# Runs every cmocka test binary given on the command line and prints one summary line.
set -u
pass=0
fail=0
for bin in "$@"; do
  if "$bin"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "unit: FAILED: $bin"; fi
done
echo "unit: $pass test programs passed, $fail failed"
[ "$fail" = 0 ]
