#!/bin/sh
# Valgrind memcheck of the master (make valgrind; off-CI, not part of make test).
# Runs a non-sanitizer debug build (KILN, default build/vg/kiln) with PHP workers under memcheck,
# drives VG_ROUNDS (40) rounds of a mix: PHP, static, 404, a small POST, a 1 MiB upload (a temp
# file in the master), HTTP/2, a client gone in the middle of a static and of a PHP response;
# then SIGTERM. Twice: plain (HTTP/2 as h2c), then TLS (HTTP/2 by ALPN). Fails on any memcheck error or definite leak of the master. The zygote and the workers
# are forked from the master, so valgrind follows them too; they are PHP's and are not checked
# (--child-silent-after-fork: no report, no exit code of theirs counts).
set -eu
cd "$(dirname "$0")/.."
KILN=${KILN:-build/vg/kiln}
# valgrind 3.19 answers openat2 with ENOSYS: the shim turns it into openat (see its source).
VG_SHIM=${VG_SHIM:-build/vg/openat2-shim.so}
VG_ROUNDS=${VG_ROUNDS:-40}

fail() { echo "valgrind: FAIL: $*" >&2; exit 1; }
for file in "$KILN" "$VG_SHIM"; do [ -f "$file" ] || fail "$file is missing (make valgrind builds it)"; done
for tool in valgrind curl nghttp openssl; do command -v "$tool" >/dev/null || fail "$tool is not installed"; done

work=$(mktemp -d /tmp/kiln-vg.XXXXXX)
kiln_pid=""
cleanup() {
  trap '' INT TERM
  if [ -n "$kiln_pid" ]; then
    kill "$kiln_pid" 2>/dev/null || true
    wait "$kiln_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

mkdir "$work/www"
cp bench/www/hello.php bench/www/1k.txt "$work/www/"
head -c 4194304 /dev/zero >"$work/www/big.bin"
cat >"$work/www/post.php" <<'PHP'
<?php
echo 'posted ', strlen(file_get_contents('php://input')), "\n";
PHP
cat >"$work/www/stream.php" <<'PHP'
<?php
while (ob_get_level() > 0) {
    ob_end_flush();
}
for ($i = 0; $i < 64; $i++) {
    echo str_repeat('s', 65536);
    flush();
}
PHP
chmod -R a+rX "$work"

# The mix, checked response by response: HTTP/1.1 on kept-alive connections (http.client),
# HTTP/2 through nghttp (several streams on one connection: h2c, or ALPN h2 over TLS; curl 7.88
# fails to reuse such a connection), clients gone mid-response on raw sockets.
cat >"$work/drive.py" <<'PY'
import http.client, os, re, socket, ssl, subprocess, sys

port, rounds, work = int(os.environ["VG_PORT"]), int(os.environ["VG_ROUNDS"]), os.environ["VG_WORK"]
tls = os.environ["VG_SCHEME"] == "https"
base = f"{os.environ['VG_SCHEME']}://127.0.0.1:{port}"
context = ssl._create_unverified_context()
count = 0

def connect():
    if tls:
        return http.client.HTTPSConnection("127.0.0.1", port, timeout=120, context=context)
    return http.client.HTTPConnection("127.0.0.1", port, timeout=120)

def expect(conn, method, path, status, body=None, size=None, payload=None):
    global count
    conn.request(method, path, body=payload,
                 headers={"Content-Type": "application/octet-stream"} if payload else {})
    r = conn.getresponse()
    data = r.read()
    if r.status != status or (body is not None and data != body) or (size is not None and len(data) != size):
        sys.exit(f"{method} {path}: {r.status}, {len(data)} bytes: {data[:80]!r}")
    count += 1

def gone_mid_response(path):
    global count
    s = socket.create_connection(("127.0.0.1", port))
    if tls:
        s = context.wrap_socket(s)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: vg\r\n\r\n".encode())
    s.recv(4096)
    s.close()
    count += 1

def h2(paths, want, data=None):
    global count
    cmd = ["nghttp", "-nv"] + (["-d", data] if data else []) + [base + p for p in paths]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    got = sorted(re.findall(r":status: (\d+)", out))
    if got != sorted(want):
        sys.exit(f"h2 {paths}: {got}")
    count += len(paths)

upload = b"u" * (1 << 20)
small = os.path.join(work, "small.txt")
with open(small, "wb") as f:
    f.write(b"h" * 300)
for i in range(rounds):
    conn = connect()
    expect(conn, "GET", "/hello.php", 200, b"Hello, world!\n")
    expect(conn, "GET", "/1k.txt", 200, size=1024)
    expect(conn, "GET", "/vg-missing", 404)
    expect(conn, "POST", "/post.php", 200, b"posted 100\n", payload=b"p" * 100)
    if i % 4 == 0:
        expect(conn, "POST", "/post.php", 200, b"posted %d\n" % len(upload), payload=upload)
    conn.close()
    h2(["/hello.php", "/1k.txt", "/vg-missing", "/hello.php?again"], ["200", "200", "404", "200"])
    h2(["/post.php"], ["200"], data=small)
    if i % 4 == 1:
        gone_mid_response("/big.bin")
        gone_mid_response("/stream.php")
print(f"valgrind: {base}: {count} requests answered as expected")
PY

openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -days 2 \
  -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1 || fail "openssl could not make a certificate"

# One run of the master under memcheck: scheme (http or https), then extra kiln arguments.
memcheck_run() {
  scheme=$1
  shift
  port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  log="$work/memcheck-$scheme.log"
  LD_PRELOAD="$(realpath "$VG_SHIM")" valgrind --leak-check=full --errors-for-leak-kinds=definite \
    --error-exitcode=99 --trace-children=no --child-silent-after-fork=yes --num-callers=30 \
    --log-file="$log" \
    "$KILN" --listen "127.0.0.1:$port" --docroot "$work/www" --workers 2 --log-level warn "$@" \
    >"$work/kiln.log" 2>&1 &
  kiln_pid=$!
  # PHP starts slowly under valgrind.
  for _ in $(seq 600); do
    curl -skf -o /dev/null "$scheme://127.0.0.1:$port/hello.php" && break
    kill -0 "$kiln_pid" 2>/dev/null || fail "kiln exited: $(tail -5 "$work/kiln.log")"
    sleep 0.1
  done
  VG_PORT=$port VG_ROUNDS=$VG_ROUNDS VG_WORK=$work VG_SCHEME=$scheme /usr/bin/python3 "$work/drive.py" ||
    { tail -20 "$work/kiln.log"; fail "a response was wrong"; }

  kill -TERM "$kiln_pid"
  rc=0
  wait "$kiln_pid" || rc=$?
  kiln_pid=""
  # The log is the master's alone (the children are silent): its summaries, and any report.
  grep -E 'in use at exit|definitely lost|indirectly lost|possibly lost|ERROR SUMMARY' "$log" |
    sed "s/^==[0-9]*== */valgrind: $scheme: /"
  if [ "$rc" != 0 ] || ! grep -q 'ERROR SUMMARY: 0 errors' "$log"; then
    cat "$log"
    tail -20 "$work/kiln.log"
    fail "the master exited with $rc under memcheck (99: errors or definite leaks, above)"
  fi
}

memcheck_run http
memcheck_run https --tls-cert "$work/cert.pem" --tls-key "$work/key.pem"
echo "valgrind: ok (no memcheck error, no definite leak in the master, plain and TLS)"
