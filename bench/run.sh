#!/bin/sh
# Kiln beside nginx, same machine, same files, one run. Prints requests/s medians and ratios.
#   bench/run.sh              3 interleaved rounds of 10 s per case
#   ROUNDS=1 SECS=3 bench/run.sh   a quick look;  WORKERS=3 bench/run.sh   PHP worker count
# Cases: a 1 KiB static file (kiln vs nginx); the HTTP layer alone (kiln's stub executor
# answering hello.php vs nginx serving the 1 KiB file); hello.php and superglobals.php through
# PHP (kiln's workers vs nginx + php-fpm with pm = static and the same worker count). OPcache is
# on for both PHPs with the same settings (Debian's conf.d), validate_timestamps included.
# HTTP/2 (h2load -c10 -m10 for SECS): the 1 KiB file and hello.php over h2c and over TLS,
# kiln against nginx (http2 on, same certificate) + the same php-fpm.
set -eu
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-10}
CONNS=${CONNS:-32}
KILN=${KILN:-build/release/kiln}
WORKERS=${WORKERS:-2}

work=$(mktemp -d /tmp/kiln-bench.XXXXXX)
chmod 755 "$work"
cp -r bench/www "$work/www"
# 100 KiB of compressible text for the compression cases
awk 'BEGIN { for (i = 0; length(s) < 102400; i++) s = s sprintf("<li class=\"item\">item %d: lorem ipsum dolor sit amet</li>\n", i); printf "%s", substr(s, 1, 102400) }' >"$work/www/100k.html"
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

php_port=$(free_port)
"$KILN" --listen "127.0.0.1:$php_port" --docroot "$work/www" --workers "$WORKERS" --log-level warn \
  >"$work/kiln-php.log" 2>&1 &
pids="$pids $!"

cat >"$work/fpm.conf" <<FPM
[global]
pid = $work/fpm.pid
error_log = $work/fpm.log
daemonize = no
[bench]
listen = $work/fpm.sock
pm = static
pm.max_children = $WORKERS
FPM
php-fpm8.2 -y "$work/fpm.conf" -F -R >/dev/null 2>&1 &
pids="$pids $!"

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
tls_port=$(free_port)
"$KILN" --listen "127.0.0.1:$tls_port" --docroot "$work/www" --workers "$WORKERS" --log-level warn \
  --tls-cert "$work/cert.pem" --tls-key "$work/key.pem" >"$work/kiln-tls.log" 2>&1 &
pids="$pids $!"

nginx_port=$(free_port)
nginx_h2c_port=$(free_port)
nginx_tls_port=$(free_port)
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
  gzip on;
  gzip_comp_level 6;
  gzip_min_length 256;
  gzip_types text/css application/javascript application/json image/svg+xml;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  # one FastCGI connection per request, as Debian's snippet does: with pm = static, kept-alive
  # connections would each hold a php-fpm child and stall the others
  upstream fpm { server unix:$work/fpm.sock; }
  ssl_certificate $work/cert.pem;
  ssl_certificate_key $work/key.pem;
  server {
    listen 127.0.0.1:$nginx_port;
    listen 127.0.0.1:$nginx_h2c_port http2;
    listen 127.0.0.1:$nginx_tls_port ssl http2;
    root $work/www;
    location ~ \\.php\$ {
      include /etc/nginx/fastcgi_params;
      fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
      fastcgi_pass fpm;
    }
  }
}
NGINX
nginx -c "$work/nginx.conf" -p "$work" &
pids="$pids $!"
wait_port "$kiln_port"
wait_port "$php_port"
wait_port "$nginx_port"
sleep 0.5 # the TLS listener
for url in "http://127.0.0.1:$php_port/hello.php" "http://127.0.0.1:$nginx_port/hello.php"; do
  [ "$(curl -s "$url")" = "Hello, world!" ] || { echo "bench: $url does not answer" >&2; exit 1; }
  wrk -t1 -c"$CONNS" -d2s "$url" >/dev/null   # warm-up: OPcache, workers
done

rps() { # url [Accept-Encoding] -> requests/s
  wrk -t1 -c"$CONNS" -d"${SECS}s" ${2:+-H "Accept-Encoding: $2"} "$1" | awk '/^Requests\/sec:/ {print $2}'
}
wire_bytes() { # url encoding -> body bytes on the wire
  curl -s -o /dev/null -w '%{size_download}' -H "Accept-Encoding: $2" "$1"
}
h2rps() { # url -> requests/s over HTTP/2 (h2c or TLS by the scheme)
  h2load -c10 -m10 -D "$SECS" "$1" 2>/dev/null | awk '/^finished in/ {gsub(",", ""); print $4}'
}
median() { sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$work/results"
for round in $(seq "$ROUNDS"); do
  echo "bench: round $round/$ROUNDS" >&2
  echo "static_kiln $(rps "http://127.0.0.1:$kiln_port/1k.txt")" >>"$work/results"
  echo "static_nginx $(rps "http://127.0.0.1:$nginx_port/1k.txt")" >>"$work/results"
  echo "stub_kiln $(rps "http://127.0.0.1:$kiln_port/hello.php")" >>"$work/results"
  echo "hello_kiln $(rps "http://127.0.0.1:$php_port/hello.php")" >>"$work/results"
  echo "hello_fpm $(rps "http://127.0.0.1:$nginx_port/hello.php")" >>"$work/results"
  echo "sg_kiln $(rps "http://127.0.0.1:$php_port/superglobals.php?page=2&sort=name")" >>"$work/results"
  echo "sg_fpm $(rps "http://127.0.0.1:$nginx_port/superglobals.php?page=2&sort=name")" >>"$work/results"
  echo "gz_static_kiln $(rps "http://127.0.0.1:$php_port/100k.html" gzip)" >>"$work/results"
  echo "gz_static_nginx $(rps "http://127.0.0.1:$nginx_port/100k.html" gzip)" >>"$work/results"
  echo "br_static_kiln $(rps "http://127.0.0.1:$php_port/100k.html" br)" >>"$work/results"
  echo "gz_php_kiln $(rps "http://127.0.0.1:$php_port/page50k.php" gzip)" >>"$work/results"
  echo "gz_php_fpm $(rps "http://127.0.0.1:$nginx_port/page50k.php" gzip)" >>"$work/results"
  echo "br_php_kiln $(rps "http://127.0.0.1:$php_port/page50k.php" br)" >>"$work/results"
  echo "h2c_static_kiln $(h2rps "http://127.0.0.1:$php_port/1k.txt")" >>"$work/results"
  echo "h2c_static_nginx $(h2rps "http://127.0.0.1:$nginx_h2c_port/1k.txt")" >>"$work/results"
  echo "h2c_hello_kiln $(h2rps "http://127.0.0.1:$php_port/hello.php")" >>"$work/results"
  echo "h2c_hello_fpm $(h2rps "http://127.0.0.1:$nginx_h2c_port/hello.php")" >>"$work/results"
  echo "tls_static_kiln $(h2rps "https://127.0.0.1:$tls_port/1k.txt")" >>"$work/results"
  echo "tls_static_nginx $(h2rps "https://127.0.0.1:$nginx_tls_port/1k.txt")" >>"$work/results"
  echo "tls_hello_kiln $(h2rps "https://127.0.0.1:$tls_port/hello.php")" >>"$work/results"
  echo "tls_hello_fpm $(h2rps "https://127.0.0.1:$nginx_tls_port/hello.php")" >>"$work/results"
done

med() { awk -v k="$1" '$1 == k {print $2}' "$work/results" | median; }
sk=$(med static_kiln); sn=$(med static_nginx); stub=$(med stub_kiln)
printf '\nwrk -t1 -c%s -d%ss, median of %s rounds (requests/s)\n' "$CONNS" "$SECS" "$ROUNDS"
printf '%-36s %12s %12s %8s\n' case kiln nginx ratio
row() { awk -v n="$1" -v k="$2" -v g="$3" 'BEGIN { printf "%-36s %12.0f %12.0f %8.2f\n", n, k, g, k / g }'; }
row "1 KiB static file" "$sk" "$sn"
row "stub executor vs nginx static 1 KiB" "$stub" "$sn"
printf '%-36s %12s %12s %8s\n' "PHP, $WORKERS workers" kiln nginx+fpm ratio
row "hello.php" "$(med hello_kiln)" "$(med hello_fpm)"
row "superglobals.php" "$(med sg_kiln)" "$(med sg_fpm)"
printf '%-36s %12s %12s %8s\n' "compressed (nginx: gzip only)" kiln nginx ratio
row "100 KiB static, gzip" "$(med gz_static_kiln)" "$(med gz_static_nginx)"
row "100 KiB static, kiln br / nginx gzip" "$(med br_static_kiln)" "$(med gz_static_nginx)"
row "50 KiB PHP page, gzip" "$(med gz_php_kiln)" "$(med gz_php_fpm)"
row "50 KiB PHP page, kiln br / nginx gzip" "$(med br_php_kiln)" "$(med gz_php_fpm)"
printf '\nbytes on the wire      identity      gzip      zstd        br\n'
for path in 100k.html page50k.php; do
  printf '%-18s kiln' "$path"
  for enc in identity gzip zstd br; do printf ' %9s' "$(wire_bytes "http://127.0.0.1:$php_port/$path" "$enc")"; done
  printf '\n%-18s nginx' ""
  for enc in identity gzip; do printf ' %9s' "$(wire_bytes "http://127.0.0.1:$nginx_port/$path" "$enc")"; done
  printf '\n'
done
printf '%-36s %12s %12s %8s\n' "HTTP/2, h2load -c10 -m10" kiln nginx ratio
row "h2c 1 KiB static file" "$(med h2c_static_kiln)" "$(med h2c_static_nginx)"
row "h2c hello.php (nginx: + php-fpm)" "$(med h2c_hello_kiln)" "$(med h2c_hello_fpm)"
row "TLS h2 1 KiB static file" "$(med tls_static_kiln)" "$(med tls_static_nginx)"
row "TLS h2 hello.php (nginx: + php-fpm)" "$(med tls_hello_kiln)" "$(med tls_hello_fpm)"
