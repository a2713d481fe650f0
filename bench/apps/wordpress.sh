#!/bin/sh
# The benchmark's WordPress site: tests/apps/wordpress.sh (start WORKDIR URL | stop WORKDIR).
exec "$(dirname "$0")/../../tests/apps/wordpress.sh" "$@"
