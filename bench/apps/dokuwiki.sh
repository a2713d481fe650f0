#!/bin/sh
# The benchmark's DokuWiki: tests/apps/dokuwiki.sh (start WORKDIR | stop WORKDIR).
exec "$(dirname "$0")/../../tests/apps/dokuwiki.sh" "$@"
