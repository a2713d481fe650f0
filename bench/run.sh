#!/bin/sh
# Kiln beside nginx, same machine, same files, one run. Prints requests/s medians and ratios.
#   bench/run.sh              3 interleaved rounds of 10 s per case
#   ROUNDS=1 SECS=3 bench/run.sh   a quick look
# Cases: a 1 KiB static file (kiln vs nginx) and the HTTP layer alone (kiln's stub executor
# answering hello.php vs nginx serving the same 1 KiB file).
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-10}
CONNS=${CONNS:-32}
KILN=${KILN:-build/release/kiln}

work=$(mktemp -d /tmp/kiln-bench.XXXXXX)
chmod 755 "$work"
cp -r bench/www "$work/www"
chmod -R a+rX "$work/www"
pids=""
cleanup() {
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.05
  done
  echo "bench: nothing listens on port $1" >&2; exit 1
}

kiln_port=$(free_port)
"$KILN" --listen "127.0.0.1:$kiln_port" --docroot "$work/www" --executor stub --log-level warn \
  >"$work/kiln.log" 2>&1 &
pids="$pids $!"

nginx_port=$(free_port)
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$work/nginx.conf" <<NGINX
$user_line
worker_processes auto;
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$nginx_port;
    root $work/www;
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" &
pids="$pids $!"
wait_port "$kiln_port"
wait_port "$nginx_port"

rps() { # url -> requests/s
  wrk -t1 -c"$CONNS" -d"${SECS}s" "$1" | awk '/^Requests\/sec:/ {print $2}'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$work/results"
for round in $(seq "$ROUNDS"); do
  echo "bench: round $round/$ROUNDS" >&2
  echo "static_kiln $(rps "http://127.0.0.1:$kiln_port/1k.txt")" >>"$work/results"
  echo "static_nginx $(rps "http://127.0.0.1:$nginx_port/1k.txt")" >>"$work/results"
  echo "stub_kiln $(rps "http://127.0.0.1:$kiln_port/hello.php")" >>"$work/results"
done

med() { awk -v k="$1" '$1 == k {print $2}' "$work/results" | median; }
sk=$(med static_kiln); sn=$(med static_nginx); stub=$(med stub_kiln)
printf '\nwrk -t1 -c%s -d%ss, median of %s rounds (requests/s)\n' "$CONNS" "$SECS" "$ROUNDS"
printf '%-36s %12s %12s %8s\n' case kiln nginx ratio
row() { awk -v n="$1" -v k="$2" -v g="$3" 'BEGIN { printf "%-36s %12.0f %12.0f %8.2f\n", n, k, g, k / g }'; }
row "1 KiB static file" "$sk" "$sn"
row "stub executor vs nginx static 1 KiB" "$stub" "$sn"
