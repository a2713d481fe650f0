#!/bin/sh
# A throw-away WordPress site on its own MariaDB, for the benchmark and the tests.
#
#   tests/apps/wordpress.sh start WORKDIR URL   site in WORKDIR/docroot, installed, served at URL
#   tests/apps/wordpress.sh prepare WORKDIR     the same files and database, not installed: the
#                                               web installer (wp-admin/install.php) is next
#   tests/apps/wordpress.sh stop WORKDIR        stops that site's MariaDB
# bench/apps/wordpress.sh runs this script (bench/run.sh uses start).
#
# start copies Debian's wordpress package into WORKDIR/docroot with symlinks dereferenced (Kiln
# opens nothing outside the document root), writes its own wp-config.php, starts a private
# mariadbd (socket only, no TCP) on WORKDIR/mysql, installs WordPress through PHP CLI with
# siteurl = home = URL and /%postname%/ permalinks, and adds posts and a comment. Everything
# from an earlier start in WORKDIR is stopped and replaced first. The admin is `admin`, with the
# password in WORKDIR/admin-password; the MariaDB PID is in WORKDIR/mysql.pid.
# Needs: wordpress wordpress-theme-twentytwentythree mariadb-server php8.2-mysql php8.2-cli
# (scripts/install-deps.sh).
set -eu

WP_SRC=/usr/share/wordpress
DB_NAME=wordpress
DB_USER=wordpress

usage() {
    echo "usage: $0 start WORKDIR URL | prepare WORKDIR | stop WORKDIR" >&2
    exit 2
}

# stop WORKDIR: SIGTERM to the PID in mysql.pid, then wait until it is gone.
stop_db() {
    pidfile=$1/mysql.pid
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile")
    if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
        i=0
        while kill -0 "$pid" 2>/dev/null; do
            i=$((i + 1))
            if [ "$i" -gt 300 ]; then
                echo "wordpress.sh: mariadbd $pid did not stop in 30 s" >&2
                return 1
            fi
            sleep 0.1
        done
    fi
    rm -f "$pidfile"
}

random_text() {
    head -c "$1" /dev/urandom | od -An -tx1 | tr -d ' \n'
}

copy_wordpress() {
    rm -rf "$WORK/docroot"
    mkdir -p "$WORK/docroot"
    # Every entry but .htaccess (Apache's, and hidden from Kiln anyway).
    for entry in "$WP_SRC"/*; do
        cp -rL "$entry" "$WORK/docroot/"
    done
    mkdir -p "$WORK/docroot/wp-content/uploads"
}

write_wp_config() {
    keys=""
    for k in AUTH_KEY SECURE_AUTH_KEY LOGGED_IN_KEY NONCE_KEY AUTH_SALT SECURE_AUTH_SALT \
             LOGGED_IN_SALT NONCE_SALT; do
        keys="${keys}define('$k', '$(random_text 32)');
"
    done
    cat > "$WORK/docroot/wp-config.php" <<EOF
<?php
/* Written by tests/apps/wordpress.sh: a throw-away site on a private MariaDB socket. */
define('DB_NAME', '$DB_NAME');
define('DB_USER', '$DB_USER');
define('DB_PASSWORD', '$DB_PASSWORD');
define('DB_HOST', 'localhost:$WORK/mysql.sock');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
$keys\$table_prefix = 'wp_';
define('WP_DEBUG', false);
/* No background HTTP requests to itself, no update checks: runs are reproducible. */
define('DISABLE_WP_CRON', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
if (!defined('ABSPATH'))
    define('ABSPATH', __DIR__ . '/');
require_once ABSPATH . 'wp-settings.php';
EOF
}

start_db() {
    rm -rf "$WORK/mysql"
    mkdir -p "$WORK/mysql"
    user_opt=""
    if [ "$(id -u)" = 0 ]; then user_opt="--user=root"; fi
    # shellcheck disable=SC2086
    mariadb-install-db --no-defaults --datadir="$WORK/mysql" $user_opt \
        --auth-root-authentication-method=socket --skip-test-db \
        > "$WORK/mysql-install.log" 2>&1 ||
        { cat "$WORK/mysql-install.log" >&2; return 1; }
    # Durability traded for speed: the data is thrown away after the run.
    # shellcheck disable=SC2086
    mariadbd --no-defaults --datadir="$WORK/mysql" --socket="$WORK/mysql.sock" \
        --pid-file="$WORK/mysql.pid" --skip-networking $user_opt \
        --innodb-flush-log-at-trx-commit=0 --innodb-buffer-pool-size=64M --skip-log-bin \
        --log-error="$WORK/mysql.err" < /dev/null > /dev/null 2>&1 &
    i=0
    while ! db -e 'SELECT 1' > /dev/null 2>&1; do
        i=$((i + 1))
        if [ "$i" -gt 300 ] || ! kill -0 $! 2>/dev/null; then
            echo "wordpress.sh: mariadbd did not start, see $WORK/mysql.err" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "$!" > "$WORK/mysql.pid"
    db -e "CREATE DATABASE $DB_NAME CHARACTER SET utf8mb4;
           CREATE USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
           GRANT ALL ON $DB_NAME.* TO '$DB_USER'@'localhost';"
}

# The MariaDB client as the current OS user: mariadb-install-db gave that account socket auth.
db() {
    mariadb --no-defaults --socket="$WORK/mysql.sock" --user="$(id -un)" "$@"
}

install_wordpress() {
    php -d display_errors=stderr -d error_reporting=E_ALL\&~E_DEPRECATED \
        "$(dirname "$0")/wordpress-install.php" "$WORK/docroot" "$URL" "$ADMIN_PASSWORD"
}

[ $# -ge 2 ] || usage
case $1 in
start)
    [ $# -eq 3 ] || usage
    mkdir -p "$2"
    WORK=$(cd "$2" && pwd)
    URL=${3%/}
    stop_db "$WORK"
    trap 'stop_db "$WORK"' EXIT # a failed start leaves no server behind
    DB_PASSWORD=$(random_text 12)
    ADMIN_PASSWORD=$(random_text 12)
    copy_wordpress
    write_wp_config
    start_db
    install_wordpress
    printf '%s\n' "$ADMIN_PASSWORD" > "$WORK/admin-password"
    trap - EXIT
    ;;
prepare)
    [ $# -eq 2 ] || usage
    mkdir -p "$2"
    WORK=$(cd "$2" && pwd)
    stop_db "$WORK"
    trap 'stop_db "$WORK"' EXIT
    DB_PASSWORD=$(random_text 12)
    copy_wordpress
    write_wp_config
    start_db
    trap - EXIT
    ;;
stop)
    [ $# -eq 2 ] || usage
    stop_db "$(cd "$2" && pwd)"
    ;;
*)
    usage
    ;;
esac
