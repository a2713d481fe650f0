#!/bin/sh
# The Symfony 5.4 application of tests/apps/symfony/ on Debian's php-symfony-* packages, installed
# into a throw-away directory, for the tests.
#   tests/apps/symfony.sh start WORKDIR   installs it in WORKDIR/symfony (printed on stdout);
#                                         serve WORKDIR/symfony/public, INDEX_FILE=index.php
#   tests/apps/symfony.sh stop WORKDIR    removes that copy
# No composer: the components stay in /usr/share/php, and config/autoload.php loads them with
# Debian's autoloaders. The copy gets its own config/env.php (APP_ENV=prod, a new APP_SECRET;
# APP_TRUSTED_PROXIES=LIST as third argument), var/ writable by the user who runs the server (this
# one), and the container compiled into var/cache/prod by PHP CLI, as `bin/console cache:warmup`
# would do before a deployment. Nothing is started and nothing outside WORKDIR is written.
set -eu
usage() { echo "usage: $0 start WORKDIR [TRUSTED_PROXIES] | stop WORKDIR" >&2; exit 2; }
[ $# -ge 2 ] || usage
root="$2/symfony"
src="$(cd "$(dirname "$0")" && pwd)/symfony"

case "$1" in
start)
  [ $# -le 3 ] || usage
  [ -f /usr/share/php/Symfony/Bundle/FrameworkBundle/autoload.php ] ||
    { echo "$0: Debian's php-symfony-framework-bundle is not installed (make deps)" >&2; exit 1; }
  rm -rf "$root"
  mkdir -p "$2"
  cp -r "$src" "$root"
  mkdir -p "$root/var/cache" "$root/var/log" "$root/var/sessions"
  secret=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
  sed -e "s|'APP_SECRET' => ''|'APP_SECRET' => '$secret'|" \
      -e "s|'APP_TRUSTED_PROXIES' => ''|'APP_TRUSTED_PROXIES' => '${3:-}'|" \
      "$src/config/env.php.dist" >"$root/config/env.php"
  php -d display_errors=stderr -r '
    require $argv[1] . "/config/autoload.php";
    $env = require $argv[1] . "/config/env.php";
    (new App\Kernel($env["APP_ENV"], $env["APP_DEBUG"]))->boot();' "$root"
  chmod -R a+rX "$root"
  chmod -R u+w "$root/var"
  echo "$root"
  ;;
stop)
  [ $# -eq 2 ] || usage
  rm -rf "$root"
  ;;
*) usage ;;
esac
