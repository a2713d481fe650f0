#!/bin/sh
# DokuWiki from Debian's package in a throw-away document root, for the tests and bench/run.sh
# (through bench/apps/dokuwiki.sh).
#   tests/apps/dokuwiki.sh start WORKDIR   copies it to WORKDIR/dokuwiki (printed on stdout)
#   tests/apps/dokuwiki.sh stop WORKDIR    removes that copy
# Debian splits DokuWiki over /usr/share/dokuwiki (code, with symlinks into /var/lib/dokuwiki),
# /etc/dokuwiki (configuration) and /var/lib/dokuwiki/data, and its inc/preload.php points the
# configuration at /etc/dokuwiki. Kiln serves nothing outside its document root, so the copy puts
# everything under one directory, links dereferenced, laid out as upstream DokuWiki ships:
# conf/ and data/ beside doku.php. DokuWiki's code is not changed; the copy only drops Debian's
# preload.php (the relocation) and sets savedir back to upstream's ./data. The one user, `admin`
# (groups admin,user), gets a fresh password, written to WORKDIR/admin-password (Debian's ACL lets
# @ALL read and @user edit and upload). The pages in tests/apps/dokuwiki-pages/ (the start page and kiln:deployment) go into data/pages.
# Nothing is started and nothing outside WORKDIR is written.
set -eu
usage() { echo "usage: $0 start|stop WORKDIR" >&2; exit 2; }
[ $# = 2 ] || usage
root="$2/dokuwiki"
pages="$(cd "$(dirname "$0")" && pwd)/dokuwiki-pages"

case "$1" in
start)
  [ -d /usr/share/dokuwiki ] || { echo "$0: Debian's dokuwiki package is not installed (make deps)" >&2; exit 1; }
  rm -rf "$root"
  cp -rL /usr/share/dokuwiki "$root"
  cp -rL /etc/dokuwiki "$root/conf"
  cp -rL /var/lib/dokuwiki/data "$root/data"
  rm "$root/inc/preload.php"
  printf "\$conf['savedir'] = './data';\n" >>"$root/conf/local.php"
  cp -r "$pages/." "$root/data/pages/"
  password=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
  hash=$(php -r 'echo password_hash($argv[1], PASSWORD_BCRYPT);' "$password")
  sed '/^admin:/d' "$root/conf/users.auth.php" >"$root/conf/users.auth.php.new"
  printf 'admin:%s:Kiln Admin:admin@example.com:admin,user\n' "$hash" >>"$root/conf/users.auth.php.new"
  mv "$root/conf/users.auth.php.new" "$root/conf/users.auth.php"
  printf '%s\n' "$password" >"$2/admin-password"
  chmod -R u+w,a+rX "$root"
  echo "$root"
  ;;
stop)
  rm -rf "$root" "$2/admin-password"
  ;;
*) usage ;;
esac
