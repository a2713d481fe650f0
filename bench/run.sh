#!/bin/sh
# Kiln beside nginx (+ php-fpm), same machine, same files, one run: requests/s and p99 latency.
#   bench/run.sh                                   every case, 3 interleaved rounds of 5 s
#   ROUNDS=1 SECS=2 CASES='flush* doku_*' bench/run.sh   a quick look at a few cases
# CASES: shell patterns over the case names in the table below. Other settings: WORKERS (PHP
# workers on both sides), CONNS (wrk connections), APP_CONNS (for DokuWiki, WordPress, Laravel and Symfony, 4 per
# worker), KILN (binary), WP_KILN_ROUTING (Kiln's routing flags for WordPress: try-files mode
# where the binary has it, else framework mode), WP_POST (the post's path).
# What is measured and how: bench/README.md.
set -euf # -f: CASES holds patterns, not file names
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
SECS=${SECS:-5}
CONNS=${CONNS:-32}
KILN=${KILN:-build/release/kiln}
WORKERS=${WORKERS:-2}
APP_CONNS=${APP_CONNS:-$((4 * WORKERS))}
CASES=${CASES:-*}
if [ -z "${WP_KILN_ROUTING:-}" ]; then
  WP_KILN_ROUTING="--index-file index.php"
  if "$KILN" --help 2>&1 | grep -q -- --routing; then WP_KILN_ROUTING="$WP_KILN_ROUTING --routing try-files"; fi
fi
WP_POST=${WP_POST:-/a-longer-read/}
# KILN_OBS=1: every Kiln also writes its access log and runs its internal server, whose /metrics
# is scraped once a second during the runs (the cost of observability, against KILN_OBS=0).
KILN_OBS=${KILN_OBS:-0}

work=$(mktemp -d /tmp/kiln-bench.XXXXXX)
chmod 755 "$work"
pids=""
apps="" # name:workdir of the apps started, stopped by their own script
cleanup() {
  trap '' INT TERM # a second signal must not cut the clean-up short
  for p in $pids; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for app in $apps; do "bench/apps/${app%%:*}.sh" stop "${app#*:}" >/dev/null 2>&1 || true; done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "bench: $*" >&2; exit 1; }

# The cases. client: wrk (-t1 -c$CONNS), wrk1 (-t1 -c1), wrkapp (-t1 -c$APP_CONNS), wrkvisit
# (as wrkapp, every request with the cookies one first visit got: a returning visitor's session,
# instead of a new session per request), h2 (h2load
# -c10 -m10; h2c or TLS by the server), mix (wrk -t1 -c$CONNS on the path while a second wrk
# keeps 1 connection on /slow.php, 200 ms a request: fairness between fast and slow scripts). enc: the Accept-Encoding sent, - for none. kiln, other:
# the servers (see url()) and paths; other path "=" is the kiln path; other "@case" reuses that
# case's nginx side. expect: a string both responses must contain (besides status 200) before
# anything is measured, - for none. label: the rest of the line.
cat >"$work/all-cases" <<CASES
# name     client enc  kiln  path                               other      path    expect        label
static     wrk    -    kstub /1k.txt                            nginx      =       -             1 KiB static file
stub       wrk    -    kstub /hello.php                         nginx      /1k.txt -             stub executor / nginx 1 KiB file
hello      wrk    -    kphp  /hello.php                         nginx      =       Hello,        hello.php
sg         wrk    -    kphp  /superglobals.php?page=2&sort=name nginx      =       "sort":"name" superglobals.php
page50k    wrk    -    kphp  /page50k.php                       nginx      =       </html>       50 KiB PHP page
flush_c1   wrk1   -    kphp  /flush.php                         nginx      =       part4         flush.php, 1 connection
flush      wrk    -    kphp  /flush.php                         nginx      =       part4         flush.php
mix        mix    -    kphp  /hello.php                         nginx      =       Hello,        hello.php beside slow.php (fairness)
gz_static  wrk    gzip kphp  /100k.html                         nginx      =       -             100 KiB static, gzip
br_static  wrk    br   kphp  /100k.html                         @gz_static -       -             100 KiB static, kiln br / nginx gzip
gz_php     wrk    gzip kphp  /page50k.php                       nginx      =       -             50 KiB PHP page, gzip
br_php     wrk    br   kphp  /page50k.php                       @gz_php    -       -             50 KiB PHP page, kiln br / nginx gzip
h2c_static h2     -    kphp  /1k.txt                            nginx_h2c  =       -             h2c 1 KiB static file
h2c_hello  h2     -    kphp  /hello.php                         nginx_h2c  =       Hello,        h2c hello.php
h2c_flush  h2     -    kphp  /flush.php                         nginx_h2c  =       part4         h2c flush.php
tls_static h2     -    ktls  /1k.txt                            nginx_tls  =       -             TLS h2 1 KiB static file
tls_hello  h2     -    ktls  /hello.php                         nginx_tls  =       Hello,        TLS h2 hello.php
doku_start wrkapp -    kdoku /doku.php                          ndoku      =       id="on_call"  DokuWiki start page
doku_page  wrkapp -    kdoku /doku.php?id=kiln:deployment       ndoku      =       id="rolling_back" DokuWiki page kiln:deployment
wp_front   wrkapp -    kwp   /                                  nwp        =       class="home   WordPress front page
wp_post    wrkapp -    kwp   $WP_POST                           nwp        =       single-post   WordPress post $WP_POST
laravel    wrkapp -    klara /                                  nlara      =       Blade         Laravel route, Blade view, session
laravel_json wrkapp - klara /api/status                        nlara      =     "framework":"Laravel Laravel JSON route (api group)
laravel_w  wrkapp -    klaraw /                                 @laravel   -       Blade         Laravel route, Kiln worker mode
laravel_v  wrkvisit -  klara /                                  nlara      =       Blade         Laravel route, returning visitor
laravel_v_w wrkvisit - klaraw /                                 @laravel_v -       Blade         Laravel returning visitor, worker mode
laravel_json_w wrkapp - klaraw /api/status                      @laravel_json - "framework":"Laravel Laravel JSON route, Kiln worker mode
symfony    wrkapp -    ksym  /                                  nsym       =       Twig          Symfony route, Twig view
symfony_w  wrkapp -    ksymw /                                  @symfony   -       Twig          Symfony route, Kiln worker mode
CASES

selected() { # case name -> true when a CASES pattern matches it
  for pat in $CASES; do
    # shellcheck disable=SC2254
    case $1 in $pat) return 0 ;; esac
  done
  return 1
}
has_wp=0
[ -x bench/apps/wordpress.sh ] && has_wp=1
: >"$work/cases"
while read -r name rest; do
  case $name in '#'*) continue ;; esac
  selected "$name" || continue
  case $name in wp_*) [ $has_wp = 1 ] || { echo "bench: bench/apps/wordpress.sh is missing: $name skipped" >&2; continue; } ;; esac
  echo "$name $rest" >>"$work/cases"
done <"$work/all-cases"
[ -s "$work/cases" ] || fail "CASES='$CASES' selects no case; the cases: $(awk '!/^#/ {printf "%s ", $1}' "$work/all-cases")"
uses() { awk -v s="$1" '$4 == s { found = 1 } END { exit !found }' "$work/cases"; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0
    sleep 0.05
  done
  fail "nothing listens on port $1"
}

cp -r bench/www "$work/www"
# 100 KiB of compressible text for the compression cases
awk 'BEGIN { for (i = 0; length(s) < 102400; i++) s = s sprintf("<li class=\"item\">item %d: lorem ipsum dolor sit amet</li>\n", i); printf "%s", substr(s, 1, 102400) }' >"$work/www/100k.html"
chmod -R a+rX "$work/www"
mkdir "$work/sessions"
# The same php.ini overrides on both sides: no stat() per include, and sessions (DokuWiki opens
# one per request) in the throw-away directory instead of /var/lib/php/sessions.
ini="-d opcache.validate_timestamps=0 -d session.save_path=$work/sessions"

obs_ports="" # the internal servers to scrape (KILN_OBS=1)
kiln() { # log-name port docroot [flag...]: one Kiln in the background
  name=$1 port=$2 root=$3
  shift 3
  obs=""
  if [ "$KILN_OBS" = 1 ]; then
    obs_port=$(free_port)
    obs_ports="$obs_ports $obs_port"
    obs="--access-log --internal-addr 127.0.0.1:$obs_port"
  fi
  # shellcheck disable=SC2086
  "$KILN" --listen "127.0.0.1:$port" --docroot "$root" --log-level warn $ini $obs "$@" >"$work/$name.log" 2>&1 &
  pids="$pids $!"
}

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
kstub_port=$(free_port)
kphp_port=$(free_port)
ktls_port=$(free_port)
kiln kiln-stub "$kstub_port" "$work/www" --executor stub
kiln kiln-php "$kphp_port" "$work/www" --workers "$WORKERS"
kiln kiln-tls "$ktls_port" "$work/www" --workers "$WORKERS" --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
kdoku_port="" kwp_port="" ndoku_port="" nwp_port="" klara_port="" nlara_port="" klaraw_port=""
ksym_port="" ksymw_port="" nsym_port=""
if uses kdoku; then
  mkdir "$work/doku"
  apps="$apps dokuwiki:$work/doku"
  doku_root=$(bench/apps/dokuwiki.sh start "$work/doku" 2>"$work/dokuwiki.log") || fail "dokuwiki.sh start: $(cat "$work/dokuwiki.log")"
  kdoku_port=$(free_port)
  ndoku_port=$(free_port)
  kiln kiln-doku "$kdoku_port" "$doku_root" --workers "$WORKERS"
fi
if uses kwp; then
  # One installation, its home and siteurl the Kiln URL; nginx's requests carry that Host header,
  # so WordPress answers both the same way (it redirects any other Host to its siteurl).
  kwp_port=$(free_port)
  nwp_port=$(free_port)
  mkdir "$work/wp"
  apps="$apps wordpress:$work/wp"
  echo "bench: installing WordPress" >&2
  bench/apps/wordpress.sh start "$work/wp" "http://127.0.0.1:$kwp_port" >"$work/wordpress.log" 2>&1 ||
    fail "wordpress.sh start failed: $(tail -5 "$work/wordpress.log")"
  # shellcheck disable=SC2086
  kiln kiln-wp "$kwp_port" "$work/wp/docroot" --workers "$WORKERS" $WP_KILN_ROUTING
fi

if uses klara || uses klaraw; then
  # tests/apps/laravel.sh: the test application on Debian's php-laravel-framework, in $work.
  lara_root=$(tests/apps/laravel.sh start "$work" 2>"$work/laravel.log") || fail "laravel.sh start: $(cat "$work/laravel.log")"
  nlara_port=$(free_port)
  if uses klara; then
    klara_port=$(free_port)
    kiln kiln-laravel "$klara_port" "$lara_root/public" --workers "$WORKERS" --index-file index.php
  fi
  if uses klaraw; then # the runtime in the application's root: it finds the application there
    cp examples/laravel-worker.php "$lara_root/"
    klaraw_port=$(free_port)
    kiln kiln-laravel-w "$klaraw_port" "$lara_root/public" --workers "$WORKERS" --index-file index.php \
      --worker-script "$lara_root/laravel-worker.php"
  fi
fi
if uses ksym || uses ksymw; then
  # tests/apps/symfony.sh: the test application on Debian's php-symfony-*, container compiled.
  sym_root=$(tests/apps/symfony.sh start "$work" 2>"$work/symfony.log") || fail "symfony.sh start: $(cat "$work/symfony.log")"
  nsym_port=$(free_port)
  if uses ksym; then
    ksym_port=$(free_port)
    kiln kiln-symfony "$ksym_port" "$sym_root/public" --workers "$WORKERS" --index-file index.php
  fi
  if uses ksymw; then
    cp examples/symfony-worker.php "$sym_root/"
    ksymw_port=$(free_port)
    kiln kiln-symfony-w "$ksymw_port" "$sym_root/public" --workers "$WORKERS" --index-file index.php \
      --worker-script "$sym_root/symfony-worker.php"
  fi
fi

if [ -n "$obs_ports" ]; then
  while :; do
    for p in $obs_ports; do curl -s -o /dev/null "http://127.0.0.1:$p/metrics"; done
    sleep 1
  done &
  pids="$pids $!"
fi

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
# shellcheck disable=SC2086
php-fpm8.2 -y "$work/fpm.conf" -F -R $ini >/dev/null 2>&1 &
pids="$pids $!"

nginx_port=$(free_port)
nginx_h2c_port=$(free_port)
nginx_tls_port=$(free_port)
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
# One FastCGI connection per request, as Debian's snippet does: with pm = static, kept-alive
# connections would each hold a php-fpm child and stall the others. Debian's fastcgi_params now
# pass HTTP_HOST as $host, without the port; the applications (WordPress compares it with its
# siteurl) get the Host header as sent, as upstream nginx passes it and as Kiln does.
cat >"$work/php.conf" <<PHP
location ~ \\.php\$ {
  include /etc/nginx/fastcgi_params;
  fastcgi_param HTTP_HOST \$http_host;
  fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
  fastcgi_pass unix:$work/fpm.sock;
}
PHP
{
  cat <<NGINX
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
  ssl_certificate $work/cert.pem;
  ssl_certificate_key $work/key.pem;
  server {
    listen 127.0.0.1:$nginx_port;
    listen 127.0.0.1:$nginx_h2c_port http2;
    listen 127.0.0.1:$nginx_tls_port ssl http2;
    root $work/www;
    include $work/php.conf;
  }
NGINX
  [ -z "$ndoku_port" ] || cat <<NGINX
  server { # DokuWiki's rules: nothing under data/, conf/ and the code directories is served
    listen 127.0.0.1:$ndoku_port;
    root $doku_root;
    index doku.php;
    location ~ ^/(data|conf|bin|inc|vendor)/ { deny all; }
    location ~ /\\.ht { deny all; }
    location = /install.php { deny all; }
    include $work/php.conf;
  }
NGINX
  [ -z "$nwp_port" ] || cat <<NGINX
  server { # WordPress's usual pretty-permalink rule
    listen 127.0.0.1:$nwp_port;
    root $work/wp/docroot;
    index index.php;
    location / { try_files \$uri \$uri/ /index.php?\$args; }
    include $work/php.conf;
  }
NGINX
  [ -z "$nlara_port" ] || cat <<NGINX
  server { # Laravel's documented rule
    listen 127.0.0.1:$nlara_port;
    root $lara_root/public;
    index index.php;
    location / { try_files \$uri \$uri/ /index.php?\$query_string; }
    include $work/php.conf;
  }
NGINX
  [ -z "$nsym_port" ] || cat <<NGINX
  server { # Symfony's documented rule
    listen 127.0.0.1:$nsym_port;
    root $sym_root/public;
    location / { try_files \$uri /index.php\$is_args\$args; }
    include $work/php.conf;
  }
NGINX
  echo "}"
} >"$work/nginx.conf"
nginx -c "$work/nginx.conf" -p "$work" &
pids="$pids $!"

url() { # server path -> URL
  case $1 in
  kstub) echo "http://127.0.0.1:$kstub_port$2" ;;
  kphp) echo "http://127.0.0.1:$kphp_port$2" ;;
  ktls) echo "https://127.0.0.1:$ktls_port$2" ;;
  kdoku) echo "http://127.0.0.1:$kdoku_port$2" ;;
  kwp) echo "http://127.0.0.1:$kwp_port$2" ;;
  nginx) echo "http://127.0.0.1:$nginx_port$2" ;;
  nginx_h2c) echo "http://127.0.0.1:$nginx_h2c_port$2" ;;
  nginx_tls) echo "https://127.0.0.1:$nginx_tls_port$2" ;;
  ndoku) echo "http://127.0.0.1:$ndoku_port$2" ;;
  nwp) echo "http://127.0.0.1:$nwp_port$2" ;;
  klara) echo "http://127.0.0.1:$klara_port$2" ;;
  nlara) echo "http://127.0.0.1:$nlara_port$2" ;;
  klaraw) echo "http://127.0.0.1:$klaraw_port$2" ;;
  ksym) echo "http://127.0.0.1:$ksym_port$2" ;;
  ksymw) echo "http://127.0.0.1:$ksymw_port$2" ;;
  nsym) echo "http://127.0.0.1:$nsym_port$2" ;;
  *) fail "unknown server $1" ;;
  esac
}
host_of() { # server -> the Host header its requests carry, empty for the URL's own
  [ "$1" = nwp ] && echo "127.0.0.1:$kwp_port"
  return 0
}

for port in $kstub_port $kphp_port $nginx_port $kdoku_port $ndoku_port $kwp_port $nwp_port $klara_port $nlara_port \
    $klaraw_port $ksym_port $ksymw_port $nsym_port; do
  wait_port "$port"
done
sleep 0.5 # the TLS listener, php-fpm's children
for server in kphp nginx; do
  got=$(curl -s "$(url $server /opcache.php)")
  [ "$got" = "opcache=1 validate_timestamps=0" ] || fail "$server's PHP: '$got', expected OPcache on, validate_timestamps=0"
done

check() { # client enc server path expect -> fails unless status 200 and the body holds expect
  client=$1 enc=$2 exp=$5
  u=$(url "$3" "$4")
  host=$(host_of "$3")
  set -- -s -k -o "$work/body" -w '%{http_code}' "$u"
  [ "$enc" = - ] || set -- -H "Accept-Encoding: $enc" "$@"
  [ -z "$host" ] || set -- -H "Host: $host" "$@"
  case $client in
  h2) case $u in https:*) set -- --http2 "$@" ;; *) set -- --http2-prior-knowledge "$@" ;; esac ;;
  esac
  code=$(curl "$@") || code="curl failed"
  [ "$code" = 200 ] || fail "$u${host:+ (Host: $host)} answered $code, not 200"
  [ "$exp" = - ] || grep -qF -- "$exp" "$work/body" || fail "$u${host:+ (Host: $host)}: the body lacks '$exp'"
}
other_path() { if [ "$1" = = ]; then echo "$2"; else echo "$1"; fi; }
while read -r name client enc ks kp os op expect _; do
  check "$client" "$enc" "$ks" "$kp" "$expect"
  case $os in @*) ;; *) check "$client" "$enc" "$os" "$(other_path "$op" "$kp")" "$expect" ;; esac
done <"$work/cases"
for server in kphp nginx; do wrk -t1 -c"$CONNS" -d1s "$(url $server /hello.php)" >/dev/null; done # warm-up

wrk_summary() { # wrk --latency report -> "req/s p99-ms errors"
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v * 60000 }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { err += $NF }
    /Socket errors:/ { gsub(",", ""); err += $4 + $6 + $8 + $10 }
    END { printf "%s %.3f %d\n", rps, p99, err }'
}
wrk_max() { # wrk report -> the largest latency in ms
  awk 'function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v * 60000 }
    $1 == "Latency" && $2 != "Distribution" { printf "%.3f", ms($4) }'
}
h2_summary() { # h2load report, its --log-file in $work/h2.log -> "req/s p99-ms errors"
  p99=$(cut -f3 "$work/h2.log" | sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99); if (i < NR * 0.99) i++; printf "%.3f", a[i] / 1000 }')
  awk -v p99="$p99" '/^finished in/ { gsub(",", ""); rps = $4 }
    /^requests:/ { gsub(",", ""); err += $10 + $12 + $14 }
    /^status codes:/ { gsub(",", ""); err += $7 + $9 }
    END { printf "%s %s %d\n", rps, p99, err }'
}
measure() { # client enc server path -> "req/s p99-ms errors"
  client=$1 enc=$2 server=$3
  u=$(url "$3" "$4")
  host=$(host_of "$3")
  set -- "$u"
  [ "$enc" = - ] || set -- -H "Accept-Encoding: $enc" "$@"
  [ -z "$host" ] || set -- -H "Host: $host" "$@"
  case $client in
  wrk) wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 30s --latency "$@" | tee "$work/last.out" | wrk_summary ;;
  wrk1) wrk -t1 -c1 -d"${SECS}s" --timeout 30s --latency "$@" | tee "$work/last.out" | wrk_summary ;;
  wrkapp) wrk -t1 -c"$APP_CONNS" -d"${SECS}s" --timeout 30s --latency "$@" | tee "$work/last.out" | wrk_summary ;;
  wrkvisit)
    cookies=$(curl -s -o /dev/null -D - "$@" | tr -d '\r' | sed -n 's/^[Ss]et-[Cc]ookie: *\([^;]*\).*/\1/p' | paste -sd ';' -)
    wrk -t1 -c"$APP_CONNS" -d"${SECS}s" --timeout 30s --latency -H "Cookie: $cookies" "$@" | tee "$work/last.out" | wrk_summary ;;
  mix) # the slow load starts first and outlasts the fast one: every fast request has company
    slow=$(echo "$u" | sed 's|/[^/]*$|/slow.php|')
    wrk -t1 -c1 -d"$((SECS + 2))s" --timeout 30s --latency "$slow" >"$work/slow.out" &
    sleep 1
    wrk -t1 -c"$CONNS" -d"${SECS}s" --timeout 30s --latency "$@" >"$work/fast.out"
    wait $!
    echo "$(wrk_max <"$work/fast.out") $(wrk_max <"$work/slow.out") $(wrk_summary <"$work/fast.out")" >>"$work/mix.$server"
    cp "$work/fast.out" "$work/last.out"
    wrk_summary <"$work/fast.out" ;;
  h2)
    h2load -c10 -m10 -D "$SECS" --log-file="$work/h2.log" "$@" >"$work/h2.out" 2>/dev/null || true
    cp "$work/h2.out" "$work/last.out"
    h2_summary <"$work/h2.out" ;;
  esac
}

# A run with errors keeps its client's report, and the servers' logs are kept at the end, in
# $errdir (the rest of $work goes), so that a WARNING below can be looked into.
errdir=""
record() { # name side round "req/s p99 errors"
  echo "$1 $2 $4" >>"$work/results"
  case $4 in *" 0") return ;; esac
  [ -n "$errdir" ] || errdir=$(mktemp -d /tmp/kiln-bench-errors.XXXXXX)
  cp "$work/last.out" "$errdir/$1-$2-round$3.txt"
}

n=$(awk '{ n += ($6 ~ /^@/) ? 1 : 2 } END { print n }' "$work/cases")
echo "bench: $n runs of ${SECS}s per round, $ROUNDS rounds: about $((n * SECS * ROUNDS / 60 + 1)) min" >&2
: >"$work/results"
for round in $(seq "$ROUNDS"); do
  echo "bench: round $round/$ROUNDS" >&2
  while read -r name client enc ks kp os op _; do
    record "$name" kiln "$round" "$(measure "$client" "$enc" "$ks" "$kp")"
    case $os in @*) ;; *) record "$name" other "$round" "$(measure "$client" "$enc" "$os" "$(other_path "$op" "$kp")")" ;; esac
  done <"$work/cases"
done
if [ -n "$errdir" ]; then
  find "$work" -maxdepth 1 -name "*.log" -exec cp {} "$errdir/" \; # no globbing here (set -f)
  echo "bench: runs with errors: their reports and the servers' logs are in $errdir" >&2
fi

# Medians over the rounds (requests/s and p99 separately), one text table and one markdown table.
awk -v rounds="$ROUNDS" -v secs="$SECS" -v conns="$CONNS" -v app_conns="$APP_CONNS" -v workers="$WORKERS" '
  function median(key,   m, i, j, v, t) {
    m = cnt[key]
    if (m == 0) return ""
    for (i = 1; i <= m; i++) v[i] = val[key, i]
    for (i = 2; i <= m; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return (m % 2) ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
  }
  function num(x, f) { return x == "" ? "-" : sprintf(f, x) }
  FNR == NR { for (f = 3; f <= 5; f++) { k = $1 SUBSEP $2 SUBSEP f; val[k, ++cnt[k]] = $f }; errs[$1, $2] += $5; next }
  {
    label = $9; for (f = 10; f <= NF; f++) label = label " " $f
    other = ($6 ~ /^@/) ? substr($6, 2) : $1
    client = ($2 == "wrk1") ? "wrk -c1" : ($2 == "wrkapp") ? "wrk -c" app_conns : ($2 == "wrkvisit") ? "wrk -c" app_conns " +cookie" : ($2 == "h2") ? "h2load" : "wrk -c" conns
    kr = median($1 SUBSEP "kiln" SUBSEP 3); nr = median(other SUBSEP "other" SUBSEP 3)
    kp = median($1 SUBSEP "kiln" SUBSEP 4); np = median(other SUBSEP "other" SUBSEP 4)
    ratio = (kr != "" && nr != "" && nr > 0) ? sprintf("%.2f", kr / nr) : "-"
    text[++rows] = sprintf("%-38s %-8s %10s %10s %7s %9s %9s", label, client, num(kr, "%.0f"), num(nr, "%.0f"), ratio, num(kp, "%.2f"), num(np, "%.2f"))
    md[rows] = sprintf("| %s (%s) | %s | %s | %s | %s | %s |", label, client, num(kr, "%.0f"), num(nr, "%.0f"), ratio, num(kp, "%.1f"), num(np, "%.1f"))
    if (errs[$1, "kiln"]) warn = warn sprintf("bench: WARNING: %s, kiln: %d errors (non-2xx, socket errors)\n", $1, errs[$1, "kiln"])
    if ($6 !~ /^@/ && errs[$1, "other"]) warn = warn sprintf("bench: WARNING: %s, nginx: %d errors (non-2xx, socket errors)\n", $1, errs[$1, "other"])
  }
  END {
    printf "\nmedians of %d rounds of %d s, %d PHP workers each side; wrk -t1, h2load -c10 -m10; p99 in ms\n", rounds, secs, workers
    printf "%-38s %-8s %10s %10s %7s %9s %9s\n", "case", "client", "kiln/s", "nginx/s", "ratio", "kiln p99", "nginx p99"
    for (i = 1; i <= rows; i++) print text[i]
    printf "\n| case | kiln req/s | nginx(+fpm) req/s | ratio | kiln p99 ms | nginx(+fpm) p99 ms |\n| --- | ---: | ---: | ---: | ---: | ---: |\n"
    for (i = 1; i <= rows; i++) print md[i]
    printf "%s", warn
  }' "$work/results" "$work/cases"

wire_bytes() { # url encoding -> body bytes on the wire
  curl -s -o /dev/null -w '%{size_download}' -H "Accept-Encoding: $2" "$1"
}
if grep -q '^gz_\|^br_' "$work/cases"; then
  printf '\nbytes on the wire      identity      gzip      zstd        br\n'
  for path in /100k.html /page50k.php; do
    printf '%-18s kiln' "$path"
    for enc in identity gzip zstd br; do printf ' %9s' "$(wire_bytes "$(url kphp "$path")" "$enc")"; done
    printf '\n%-18s nginx' ""
    for enc in identity gzip; do printf ' %9s' "$(wire_bytes "$(url nginx "$path")" "$enc")"; done
    printf '\n'
  done
fi
for side in kphp nginx; do
  [ -s "$work/mix.$side" ] || continue
  [ "$side" = kphp ] && printf '\nfairness (mix): hello.php with %s connections beside 1 connection on slow.php (200 ms)\n' "$CONNS" &&
    printf '%-6s %10s %12s %12s %12s %12s\n' side "fast/s" "fast p99 ms" "C/thr ms" "fast max ms" "slow max ms"
  awk -v side="$side" -v c="$CONNS" '{ printf "%-6s %10.0f %12.2f %12.2f %12.2f %12.2f\n", side, $3, $4, c * 1000 / $3, $1, $2 }' "$work/mix.$side"
done
