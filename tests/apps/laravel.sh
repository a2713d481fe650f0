#!/bin/sh
# The Laravel 8 application of tests/apps/laravel/ on Debian's php-laravel-framework, installed
# into a throw-away directory, for the tests and bench/run.sh.
#   tests/apps/laravel.sh start WORKDIR [URL]   installs it in WORKDIR/laravel (printed on stdout);
#                                               serve WORKDIR/laravel/public, INDEX_FILE=index.php
#   tests/apps/laravel.sh stop WORKDIR          removes that copy
# No composer: the framework stays in /usr/share/php, and bootstrap/autoload.php loads it with
# Debian's autoloader. The copy gets what `composer create-project` and `php artisan key:generate`
# would give: storage/ and bootstrap/cache/ writable by the user who runs the server (this one),
# and a .env with a new APP_KEY and APP_URL=URL (default http://localhost).
# Nothing is started and nothing outside WORKDIR is written.
set -eu
usage() { echo "usage: $0 start WORKDIR [URL] | stop WORKDIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
root="$2/laravel"
src="$(cd "$(dirname "$0")" && pwd)/laravel"

case "$1" in
start)
  [ $# -le 3 ] || usage
  [ -f /usr/share/php/Illuminate/autoload.php ] ||
    { echo "$0: Debian's php-laravel-framework is not installed (make deps)" >&2; exit 1; }
  rm -rf "$root"
  mkdir -p "$2"
  cp -r "$src" "$root"
  mkdir -p "$root/storage/app" "$root/storage/logs" "$root/bootstrap/cache" \
           "$root/storage/framework/sessions" "$root/storage/framework/views" \
           "$root/storage/framework/cache"
  key=$(head -c 32 /dev/urandom | base64)
  sed -e "s|^APP_KEY=.*|APP_KEY=base64:$key|" -e "s|^APP_URL=.*|APP_URL=${3:-http://localhost}|" \
    "$src/.env.example" >"$root/.env"
  chmod -R a+rX "$root"
  chmod -R u+w "$root/storage" "$root/bootstrap/cache"
  echo "$root"
  ;;
stop)
  [ $# -eq 2 ] || usage
  rm -rf "$root"
  ;;
*) usage ;;
esac
