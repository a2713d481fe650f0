#!/bin/sh
# The layering rules of docs/architecture.md, checked over the #include lines (make check-layers,
# run first by make test). Prints one line per broken rule; exits 1 if a hard rule is broken.
#
#   1. Nothing outside src/php/ includes a PHP header (php.h, php_*.h, zend*.h, SAPI.h, TSRM,
#      main/..., ext/..., Zend/...). Hard.
#   2. Nothing in src/ outside src/php/ includes a php/ header, except main.c's php/zygote.h
#      (zygote_main, the one entry point the master links). Hard.
#   3. src/config.*, src/net/ and src/obs/ include nothing above them: http/, middleware/,
#      pool/, php/, server.h, and for net/ and obs/ config.h as well (design.md section 8).
#      Hard.
#   4. src/http/ includes nothing from src/middleware/: it reaches the chain through the hooks
#      on its server (struct http_chain), which main.c fills, and compression is a filter the
#      middleware installs on the exchange. Hard.
set -u
cd "$(dirname "$0")/.." || exit 2

fail=0

# `grep -n` over the files given, as "file:line:text"; empty when there are none.
includes() {
  [ $# -gt 0 ] || return 0
  grep -Hn '^[[:space:]]*#[[:space:]]*include' "$@" 2>/dev/null
}

php_header='[<"](php\.h|php_[^">]*\.h|zend[^">]*\.h|SAPI\.h|TSRM[/.][^">]*|main/[^">]*|ext/[^">]*|Zend/[^">]*)[">]'
outside_php=$(find src tests -name '*.[ch]' ! -path 'src/php/*' | sort)
# shellcheck disable=SC2086 # one word per path: no path has spaces
hits=$(includes $outside_php | grep -E "$php_header")
if [ -n "$hits" ]; then
  printf '%s\n' "$hits" | sed 's/^/check-layers: FAIL: PHP header outside src\/php\/: /'
  fail=1
fi

master=$(find src -name '*.[ch]' ! -path 'src/php/*' | sort)
# shellcheck disable=SC2086
hits=$(includes $master | grep -E '"php/' | grep -v '^src/main\.c:[0-9]*:#include "php/zygote\.h"')
if [ -n "$hits" ]; then
  printf '%s\n' "$hits" | sed 's/^/check-layers: FAIL: php\/ header in the master: /'
  fail=1
fi

lower=$(find src/config.c src/config.h src/net src/obs -name '*.[ch]' | sort)
# shellcheck disable=SC2086
hits=$( (includes $lower | grep -E '"(http/|middleware/|pool/|php/|server\.h)'
  includes $lower | grep -E '^src/(net|obs)/[^:]*:[0-9]*:#include "config\.h"') | sort)
if [ -n "$hits" ]; then
  printf '%s\n' "$hits" | sed 's/^/check-layers: FAIL: config\/net\/obs include a layer above them: /'
  fail=1
fi

http=$(find src/http -name '*.[ch]' | sort)
# shellcheck disable=SC2086
hits=$(includes $http | grep -E '"middleware/')
if [ -n "$hits" ]; then
  printf '%s\n' "$hits" | sed 's/^/check-layers: FAIL: http\/ includes middleware\/: /'
  fail=1
fi

[ "$fail" = 0 ] && echo "check-layers: PHP boundary, bottom layer and http/ below middleware/ kept"
exit "$fail"
