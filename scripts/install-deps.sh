#!/bin/sh
# Installs every Debian package Kiln needs to build, test and benchmark.
# Idempotent: packages already present are skipped; apt-get runs only when something is missing.
set -eu

PACKAGES="
  build-essential clang libclang-rt-14-dev pkg-config
  node-llhttp
  libphp8.2-embed php8.2-dev php8.2-opcache php8.2-cli
  libnghttp2-dev libssl-dev libbrotli-dev zlib1g-dev libzstd-dev
  libcmocka-dev
  python3 python3-pytest python3-httpx python3-h2 python3-brotli python3-zstandard python3-yaml
  curl nghttp2-client wrk nginx php8.2-fpm openssl slowhttptest groff-base valgrind
  wordpress wordpress-theme-twentytwentythree mariadb-server php8.2-mysql
  dokuwiki
  php-laravel-framework
  php-symfony-framework-bundle php-symfony-twig-bundle php-symfony-form php-symfony-security-csrf
  php-symfony-validator
  prometheus chromium
  redis-server php8.2-redis haproxy
"

missing=""
for pkg in $PACKAGES; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed"; then
    missing="$missing $pkg"
  fi
done

if [ -z "$missing" ]; then
  exit 0
fi

echo "install-deps: installing:$missing"
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
# nginx, php-fpm and mariadb are only used by bench/ and the tests, which start their own
# instances: keep the packages' init scripts from starting system-wide services.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  added_policy=1
fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
if [ "$added_policy" = 1 ]; then $SUDO rm -f "$policy"; fi
