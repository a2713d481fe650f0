#!/bin/sh
# Requests lost to a reload and to a graceful shutdown, under load (issue 12's note).
#   bench/lifecycle.sh            RELOADS reloads during one wrk run, then a SIGTERM during another
# wrk keeps CONNS keep-alive connections on a PHP page (PAGE, default /sleep.php?ms=2: a request
# that is always in flight somewhere) for SECS seconds.
#  - reload: `kiln --reload PID` RELOADS times, one after the other; every request must be
#    answered 200: wrk's non-2xx count and socket errors (connect, read, write, timeout) are the
#    requests lost.
#  - drain: SIGTERM after DRAIN_AT seconds, SHUTDOWN_DELAY=0. Kiln finishes what is in flight,
#    answers requests already on kept-alive connections with Connection: close and closes its
#    listener, so wrk's reconnections are refused from then on: wrk connects without blocking
#    and counts a refused connection as a "write" (or "connect") error, one per retry, as fast as
#    it can loop — requests no server accepted, which a load balancer sends elsewhere. Lost are
#    the requests accepted and not answered: "read" errors (a connection closed under a
#    request), timeouts and non-2xx answers.
# KILN (binary, build/release/kiln), WORKERS (2). WORKER_MODE=1: the same page served by a worker
# script (WORKER_SCRIPT, docs/php.md), whose workers a reload and a drain end between requests.
set -eu
cd "$(dirname "$0")/.."
KILN=${KILN:-build/release/kiln}
WORKERS=${WORKERS:-2}
CONNS=${CONNS:-32}
SECS=${SECS:-10}
RELOADS=${RELOADS:-5}
DRAIN_AT=${DRAIN_AT:-3}
PAGE=${PAGE:-/sleep.php?ms=2}
PORT=${PORT:-18390}

work=$(mktemp -d /tmp/kiln-lifecycle.XXXXXX)
pid=""
cleanup() {
  [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/www"
cat >"$work/www/sleep.php" <<'PHP'
<?php usleep((int)($_GET['ms'] ?? 0) * 1000); echo "slept\n";
PHP
mode_flags=""
if [ "${WORKER_MODE:-0}" = 1 ]; then
  cat >"$work/www/worker.php" <<'PHP'
<?php
while (kiln_handle_request(function () { usleep((int)($_GET['ms'] ?? 0) * 1000); echo "slept\n"; })) {
}
PHP
  mode_flags="--worker-script worker.php"
fi

start() {
  # shellcheck disable=SC2086 # mode_flags: empty or two words
  "$KILN" --listen "127.0.0.1:$PORT" --docroot "$work/www" --workers "$WORKERS" \
    --shutdown-delay 0 $mode_flags >"$work/kiln.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -fs "http://127.0.0.1:$PORT$PAGE" >/dev/null && return 0
    sleep 0.1
  done
  echo "lifecycle: kiln did not start" >&2
  exit 1
}

# "requests non2xx connect read write timeout" from a wrk report
summary() {
  awk '
    / requests in / { req = $1 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { gsub(",", ""); c = $4; r = $6; w = $8; t = $10 }
    END { printf "%d %d %d %d %d %d\n", req, bad, c, r, w, t }' "$1"
}

start
wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 10s "http://127.0.0.1:$PORT$PAGE" >"$work/reload.wrk" &
wrk_pid=$!
sleep 1
ok=0
for _ in $(seq "$RELOADS"); do
  "$KILN" --reload "$pid" && ok=$((ok + 1))
done
wait "$wrk_pid"
set -- $(summary "$work/reload.wrk")
echo "reload: $ok/$RELOADS reloads done during $SECS s of wrk -c$CONNS on $PAGE: $1 requests," \
  "non-2xx $2, socket errors connect $3 read $4 write $5 timeout $6"

wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 10s "http://127.0.0.1:$PORT$PAGE" >"$work/drain.wrk" &
wrk_pid=$!
sleep "$DRAIN_AT"
kill -TERM "$pid"
wait "$pid" && status=0 || status=$?
pid=""
wait "$wrk_pid" || true
set -- $(summary "$work/drain.wrk")
echo "drain: SIGTERM after $DRAIN_AT s of wrk -c$CONNS on $PAGE, kiln exit status $status:" \
  "$1 requests answered, non-2xx $2; lost: read errors $4, timeouts $6;" \
  "refused once the listener closed (wrk's connect + write errors, every retry): $(($3 + $5))"
grep -E '"level":"(warn|error)"' "$work/kiln.log" | cut -c1-200 || true
