#!/bin/sh
# Soak: SOAK_REQUESTS (1,000,000) requests of a mix against one release Kiln, in chunks of
# SOAK_CHUNK (100,000); after each chunk the master's RSS and open fds. Fails when the master
# grows, leaks fds, or a response is not the one expected. What and why: bench/README.md, "Soak".
#   scripts/soak.sh                      (make soak)
#   SOAK_REQUESTS=200000 scripts/soak.sh a quick look
# Settings: KILN (build/release/kiln), SOAK_REQUESTS, SOAK_CHUNK, SOAK_CONNS (wrk connections, 16),
# SOAK_RSS_MAX_KB (the allowed RSS growth from the 200k mark to the end, 2048).
set -eu
cd "$(dirname "$0")/.."
KILN=${KILN:-build/release/kiln}
SOAK_REQUESTS=${SOAK_REQUESTS:-1000000}
SOAK_CHUNK=${SOAK_CHUNK:-100000}
SOAK_CONNS=${SOAK_CONNS:-16}
SOAK_RSS_MAX_KB=${SOAK_RSS_MAX_KB:-2048}
# The mark after which the master must stay flat: the first chunks warm up the allocator's
# arenas and the connection and buffer pools, which then are reused.
WARM=200000
POST_BYTES=64

fail() { echo "soak: FAIL: $*" >&2; exit 1; }
[ -x "$KILN" ] || fail "$KILN is missing (make all)"
for tool in wrk h2load curl; do command -v "$tool" >/dev/null || fail "$tool is not installed"; done
[ "$SOAK_REQUESTS" -ge $((WARM + SOAK_CHUNK)) ] || fail "SOAK_REQUESTS must be at least $((WARM + SOAK_CHUNK))"
# Each chunk: 4/5 over HTTP/1.1 (wrk: PHP, static, 404 and POST in turn), 1/5 over h2c (h2load).
H2_N=$((SOAK_CHUNK / 5))
H1_N=$((SOAK_CHUNK - H2_N))

work=$(mktemp -d /tmp/kiln-soak.XXXXXX)
kiln_pid="" wrk_pid=""
cleanup() {
  trap '' INT TERM
  [ -z "$wrk_pid" ] || kill "$wrk_pid" 2>/dev/null || true
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
cat >"$work/www/post.php" <<'PHP'
<?php
echo 'posted ', strlen(file_get_contents('php://input')), "\n";
PHP
chmod -R a+rX "$work"

# The wrk side: requests in turn, every response checked against what its request must get
# (wrk answers in order on each connection, but one thread has several: so the body tells which
# script answered). After the chunk's count of responses the thread stops and leaves a marker
# file; wrk itself runs out its -d unless interrupted, which h1_run does once the marker is there.
cat >"$work/mix.lua" <<LUA
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args)
  limit, marker = tonumber(args[1]), args[2]
  seen, hello, static, missing, posted, bad = 0, 0, 0, 0, 0, 0
  first_bad = ""
  local body = string.rep("p", $POST_BYTES)
  reqs = {
    wrk.format("GET", "/hello.php"),
    wrk.format("GET", "/1k.txt"),
    wrk.format("GET", "/soak-missing"),
    wrk.format("POST", "/post.php", { ["Content-Type"] = "application/octet-stream" }, body),
  }
  n = 0
end
function request()
  n = n + 1
  return reqs[(n - 1) % #reqs + 1]
end
function response(status, headers, body)
  seen = seen + 1
  if status == 404 then missing = missing + 1
  elseif status == 200 and body == "Hello, world!\n" then hello = hello + 1
  elseif status == 200 and body == "posted $POST_BYTES\n" then posted = posted + 1
  elseif status == 200 and #body == 1024 then static = static + 1
  else
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body, 1, 80) end
  end
  if seen == limit then
    wrk.thread:stop()
    io.open(marker, "w"):close()
  end
end
function done(summary, latency, requests)
  local t = threads[1]
  local e = summary.errors
  io.write(string.format("MIX %d %d %d %d %d %d %d %d %d %d %d\n", t:get("seen"), t:get("hello"),
    t:get("static"), t:get("missing"), t:get("posted"), t:get("bad"),
    e.connect, e.read, e.write, e.status, e.timeout))
  if t:get("first_bad") ~= "" then io.write("FIRSTBAD " .. t:get("first_bad") .. "\n") end
end
LUA

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
iport=$(free_port)
"$KILN" --listen "127.0.0.1:$port" --internal-addr "127.0.0.1:$iport" --docroot "$work/www" \
  --workers 2 --log-level warn >"$work/kiln.log" 2>&1 &
kiln_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -sf -o /dev/null "$base/hello.php" && break
  kill -0 "$kiln_pid" 2>/dev/null || fail "kiln exited: $(tail -5 "$work/kiln.log")"
  sleep 0.05
done
[ "$(curl -s "$base/hello.php")" = "Hello, world!" ] || fail "hello.php does not answer"
[ "$(curl -s --http2-prior-knowledge "$base/1k.txt" | wc -c)" = 1024 ] || fail "no h2c"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/soak-missing")" = 404 ] || fail "the missing path does not answer 404"
[ "$(curl -s --data-binary "$(printf '%*s' $POST_BYTES '')" "$base/post.php")" = "posted $POST_BYTES" ] || fail "post.php does not answer"

metric() { # name -> its value (the sum of its series) from the internal server's /metrics
  curl -s "http://127.0.0.1:$iport/metrics" | awk -v m="$1" '$1 == m || index($1, m "{") == 1 { s += $NF } END { printf "%d", s }'
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$kiln_pid/status"; }
fd_count() { find "/proc/$kiln_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
# The clients have closed their connections when a run ends, but the master may not have seen
# every close yet: wait until no connection is open and the fd count holds still.
settle() {
  prev=-1
  for _ in $(seq 50); do
    now=$(fd_count)
    [ "$now" = "$prev" ] && [ "$(metric kiln_active_connections)" = 0 ] && return 0
    prev=$now
    sleep 0.1
  done
}

h1_run() { # count -> $work/h1: "seen hello static missing posted bad connect read write status timeout"
  rm -f "$work/wrk.done"
  wrk -t1 -c"$SOAK_CONNS" -d600s --timeout 30s -s "$work/mix.lua" "$base" -- "$1" "$work/wrk.done" >"$work/wrk.out" 2>&1 &
  wrk_pid=$!
  while kill -0 "$wrk_pid" 2>/dev/null; do
    # SIGINT ends wrk's run early (it prints its report); sent again in case the thread that
    # caught it was not the one sleeping out the duration.
    [ -e "$work/wrk.done" ] && kill -INT "$wrk_pid" 2>/dev/null
    sleep 0.2
  done
  wait "$wrk_pid" || fail "wrk failed: $(tail -3 "$work/wrk.out")"
  grep -q '^MIX ' "$work/wrk.out" || fail "wrk printed no counts: $(tail -3 "$work/wrk.out")"
  if grep -q '^FIRSTBAD ' "$work/wrk.out"; then echo "soak: first unexpected response: $(sed -n 's/^FIRSTBAD //p' "$work/wrk.out")" >&2; fi
  wrk_pid=""
  sed -n 's/^MIX //p' "$work/wrk.out" >"$work/h1"
}
h2_run() { # count -> $work/h2: "done succeeded failed errored timeout 2xx 3xx 4xx 5xx"
  h2load -n "$1" -c4 -m10 "$base/hello.php" "$base/1k.txt" >"$work/h2.out" 2>&1 ||
    fail "h2load failed: $(tail -3 "$work/h2.out")"
  awk '/^requests:/ { d = $6; s = $8; f = $10; e = $12; t = $14 }
       /^status codes:/ { c2 = $3; c3 = $5; c4 = $7; c5 = $9 }
       END { print d + 0, s + 0, f + 0, e + 0, t + 0, c2 + 0, c3 + 0, c4 + 0, c5 + 0 }' "$work/h2.out" >"$work/h2"
}

# A kind of the wrk mix may be off its quarter by the requests in flight when wrk stops.
near() { [ "$1" -ge $(($2 - SOAK_CONNS)) ] && [ "$1" -le $(($2 + SOAK_CONNS)) ]; }

echo "soak: kiln pid $kiln_pid on $base, $SOAK_REQUESTS requests in chunks of $SOAK_CHUNK ($H1_N HTTP/1.1 via wrk -c$SOAK_CONNS: hello.php, 1k.txt, 404, POST $POST_BYTES B; $H2_N h2c via h2load -c4 -m10: hello.php, 1k.txt)"
settle
echo "soak: at start: RSS $(rss_kb) kB, $(fd_count) fds"
printf '%9s %9s %7s %5s %7s %7s %7s %7s %6s\n' requests rss_kB d_kB fds h1_err h1_bad h2_err h2_bad 404s
total=0 prev_rss=$(rss_kb) rss_warm="" fd_first="" bad_chunks=0
while [ "$total" -lt "$SOAK_REQUESTS" ]; do
  chunk_ok=1
  h1_run "$H1_N"
  # shellcheck disable=SC2046
  set -- $(cat "$work/h1")
  seen=$1 hello=$2 static=$3 missing=$4 posted=$5 bad=$6
  h1_err=$(($7 + $8 + $9 + ${11})) # connect, read, write, timeout; status errors are checked below
  quarter=$((seen / 4))
  if [ "$bad" != 0 ] || ! near "$hello" "$quarter" || ! near "$static" "$quarter" || ! near "$missing" "$quarter" || ! near "$posted" "$quarter"; then
    echo "soak: wrk mix off: $seen responses, hello $hello, static $static, 404 $missing, POST $posted, unexpected $bad" >&2
    chunk_ok=0
  fi
  [ "$h1_err" = 0 ] || { echo "soak: wrk socket errors: connect $7 read $8 write $9 timeout ${11}" >&2; chunk_ok=0; }
  h2_run "$H2_N"
  # shellcheck disable=SC2046
  set -- $(cat "$work/h2")
  h2_err=$(($1 < H2_N ? H2_N - $1 + $4 + $5 : $4 + $5)) # not done, errored, timed out
  h2_bad=$((H2_N - $6))                               # done but not 2xx
  if [ "$h2_err" != 0 ] || [ "$h2_bad" != 0 ]; then
    echo "soak: h2load: $1 done, $2 succeeded, $3 failed, $4 errored, $5 timeout; status $6 2xx $7 3xx $8 4xx $9 5xx" >&2
    chunk_ok=0
  fi
  [ "$chunk_ok" = 1 ] || bad_chunks=$((bad_chunks + 1))
  total=$((total + seen + H2_N))
  kill -0 "$kiln_pid" 2>/dev/null || fail "kiln exited: $(tail -5 "$work/kiln.log")"
  settle
  rss=$(rss_kb) fds=$(fd_count)
  printf '%9d %9d %+7d %5d %7d %7d %7d %7d %6d\n' "$total" "$rss" $((rss - prev_rss)) "$fds" "$h1_err" "$bad" "$h2_err" "$h2_bad" "$missing"
  prev_rss=$rss
  [ -n "$fd_first" ] || fd_first=$fds
  [ -n "$rss_warm" ] || [ "$total" -lt "$WARM" ] || rss_warm=$rss
done

echo "soak: kiln counted $(metric kiln_requests_total) requests; $(grep -c . "$work/kiln.log" || true) log lines"
status=0
[ "$bad_chunks" = 0 ] || { echo "soak: FAIL: $bad_chunks chunk(s) with unexpected responses or socket errors (above)" >&2; status=1; }
growth=$((rss - rss_warm))
if [ "$growth" -gt "$SOAK_RSS_MAX_KB" ]; then
  echo "soak: FAIL: master RSS grew $growth kB from the 200k mark ($rss_warm kB) to the end ($rss kB); the bound is $SOAK_RSS_MAX_KB kB" >&2
  status=1
fi
if [ "$fds" != "$fd_first" ]; then
  echo "soak: FAIL: the master holds $fds fds at the end, $fd_first after the first chunk" >&2
  ls -l "/proc/$kiln_pid/fd" >&2
  status=1
fi
[ "$status" = 0 ] && echo "soak: OK: $total requests; master RSS $rss_warm -> $rss kB after the 200k mark (bound +$SOAK_RSS_MAX_KB kB), fds $fd_first -> $fds"
exit "$status"
