#!/bin/sh
# The cost of observability: one Kiln binary twice, side by side, plain and with observability on,
# on hello.php and a DokuWiki page. OBS says what "on" is: both (default: the access log, and the
# internal server with /metrics scraped once a second), log (the access log only) or metrics (the
# scraped internal server only).
# The two runs of a case alternate, ROUNDS times, so that drift of the machine hits both alike;
# the table gives median requests/s, the ratio on/off and p99 (bench/README.md).
#   bench/obs-cost.sh            ROUNDS=5 SECS=5 WORKERS=2 KILN=build/release/kiln OBS=both
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-5}
SECS=${SECS:-5}
WORKERS=${WORKERS:-2}
KILN=${KILN:-build/release/kiln}
OBS=${OBS:-both}
case $OBS in both | log | metrics) ;; *) echo "obs-cost: OBS is both, log or metrics" >&2; exit 2 ;; esac
work=$(mktemp -d /tmp/kiln-obs.XXXXXX)
chmod 755 "$work"
pids=""
cleanup() {
  trap '' INT TERM
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bench/apps/dokuwiki.sh stop "$work" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cp -r bench/www "$work/www"
doku=$(bench/apps/dokuwiki.sh start "$work")
mkdir "$work/sessions"
ini="-d opcache.validate_timestamps=0 -d session.save_path=$work/sessions"
start() { # name root [flag...] -> port on stdout
  name=$1 root=$2
  shift 2
  p=$(port)
  # shellcheck disable=SC2086
  "$KILN" --listen "127.0.0.1:$p" --docroot "$root" --workers "$WORKERS" --log-level warn $ini "$@" \
    >"$work/$name.log" 2>&1 &
  pids="$pids $!"
  echo "$p"
}
iport=$(port)
diport=$(port)
obs_flags() { # internal port -> the flags of an "on" server
  [ "$OBS" = metrics ] || printf '%s ' --access-log
  [ "$OBS" = log ] || printf '%s ' --internal-addr "127.0.0.1:$1"
}
off=$(start off "$work/www")
# shellcheck disable=SC2046
on=$(start on "$work/www" $(obs_flags "$iport"))
doff=$(start doff "$doku")
# shellcheck disable=SC2046
don=$(start don "$doku" $(obs_flags "$diport"))
sleep 1
while :; do
  for p in $iport $diport; do curl -s -o /dev/null "http://127.0.0.1:$p/metrics"; done
  sleep 1
done &
pids="$pids $!"

measure() { # url conns -> "req/s p99ms"
  wrk -t1 -c"$2" -d"${SECS}s" --timeout 30s --latency "$1" | awk '
    /Requests\/sec/ { rps = $2 }
    / 99%/ { v = $2; if (v ~ /us$/) ms = v / 1000; else if (v ~ /ms$/) ms = v + 0; else ms = v * 1000 }
    END { printf "%d %.2f\n", rps, ms }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "on = $OBS; medians of $ROUNDS alternating runs of $SECS s, $WORKERS PHP workers; p99 in ms"
printf "%-28s %9s %9s %7s %8s %8s\n" case off/s on/s on/off "p99 off" "p99 on"
for c in "hello.php 32 $off $on /hello.php" "DokuWiki page 8 $doff $don /doku.php?id=kiln:deployment"; do
  set -- $c
  name="$1"; [ "$1" = DokuWiki ] && { name="DokuWiki page"; shift; }
  shift
  conns=$1 poff=$2 pon=$3 path=$4
  wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$poff$path" >/dev/null
  wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$pon$path" >/dev/null
  : >"$work/off" ; : >"$work/on"
  for _ in $(seq "$ROUNDS"); do
    measure "http://127.0.0.1:$poff$path" "$conns" >>"$work/off"
    measure "http://127.0.0.1:$pon$path" "$conns" >>"$work/on"
  done
  roff=$(cut -d' ' -f1 "$work/off" | median) ron=$(cut -d' ' -f1 "$work/on" | median)
  poff99=$(cut -d' ' -f2 "$work/off" | median) pon99=$(cut -d' ' -f2 "$work/on" | median)
  printf "%-28s %9d %9d %7.3f %8s %8s\n" "$name" "$roff" "$ron" "$(echo "$ron $roff" | awk '{ print $1 / $2 }')" "$poff99" "$pon99"
done
