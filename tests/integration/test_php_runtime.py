"""PHP runtime behaviour around the SAPI: worker recycling and deaths, php.ini sources, OPcache,
JIT and preload, logging, getenv(), the kiln_* functions, flush(), clients that go away."""

import json
import os
import pwd
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from pathlib import Path

import h2.config
import h2.connection
import h2.events
import httpx
import pytest

from conftest import KILN_BIN, free_port, recv_all

SCRIPTS = Path(__file__).parent / "php" / "runtime"


@pytest.fixture
def rt_site(tmp_path):
    root = tmp_path / "rtwww"
    shutil.copytree(SCRIPTS, root)
    return root


def log_lines(k):
    """Kiln's log as parsed JSON objects; every line must be one JSON object."""
    return [json.loads(line) for line in k.log().splitlines() if line.strip()]


def wait_for(predicate, timeout=10.0, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


def get_pid(k):
    r = httpx.get(k.url("/pid.php"), timeout=10)
    assert r.status_code == 200, r.text
    return int(r.text)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def read_chunked(data):
    """Splits a raw HTTP/1.1 response; returns (head, body, complete)."""
    head, _, rest = data.partition(b"\r\n\r\n")
    chunks = []
    while rest:
        line, _, rest = rest.partition(b"\r\n")
        n = int(line, 16)
        if n == 0:
            return head, b"".join(chunks), True
        chunks.append(rest[:n])
        rest = rest[n + 2:]
    return head, b"".join(chunks), False


# ---- 1. WORKER_MAX_REQUESTS -------------------------------------------------------------------

def test_worker_max_requests_recycles_the_worker(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1", "--worker-max-requests", "2"])
    pids = [get_pid(k) for _ in range(6)]
    assert pids[0] == pids[1] and pids[2] == pids[3] and pids[4] == pids[5], pids
    assert len({pids[0], pids[2], pids[4]}) == 3, pids
    # a worker that retires is not reported as lost
    assert not [l for l in log_lines(k) if l["level"] in ("warn", "error")], k.log()


def test_worker_max_requests_under_concurrency_loses_nothing(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "2", "--worker-max-requests", "3"])
    results = []
    lock = threading.Lock()

    def client():
        with httpx.Client(base_url=k.base, timeout=20) as c:
            for _ in range(6):
                r = c.get("/pid.php")
                with lock:
                    results.append((r.status_code, r.text))

    threads = [threading.Thread(target=client) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [200] * 24
    per_pid = {}
    for _, pid in results:
        per_pid[pid] = per_pid.get(pid, 0) + 1
    assert max(per_pid.values()) <= 3, per_pid
    assert len(per_pid) >= 8, per_pid


def test_worker_max_requests_default_keeps_the_worker(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1"])
    assert len({get_pid(k) for _ in range(5)}) == 1


@pytest.mark.parametrize("kib", [1300, 3873])
def test_slow_client_of_a_retiring_worker_gets_the_whole_response(rt_site, start_kiln, kib):
    # The worker sends everything, then END, and exits (WORKER_MAX_REQUESTS=1) while the master
    # holds the rest of its output unread for a slow client: the exit report must not cut the
    # response short.
    big = rt_site / "bin.php"
    big.write_text("<?php\n$b = implode('', array_map('chr', range(0, 255)));\n"
                   f"for ($i = 0; $i < {kib * 4}; $i++) {{ echo $b; }}\n")
    expected = bytes(range(256)) * (kib * 4)
    k = start_kiln(rt_site, ["--workers", "1", "--worker-max-requests", "1"])
    for _ in range(2):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(20)
        s.connect(("127.0.0.1", k.port))
        with s:
            s.sendall(b"GET /bin.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            time.sleep(1.5)  # the worker writes what it can and may exit meanwhile
            head, body, complete = read_chunked(recv_all(s, timeout=20))
        assert head.startswith(b"HTTP/1.1 200 ")
        assert complete, "the response ended without its last chunk"
        assert body == expected
    assert len({get_pid(k) for _ in range(2)}) == 2


def test_worker_exit_while_its_output_is_held_back_loses_nothing(rt_site, start_kiln, tmp_path):
    # HTTP/2 flow control holds the response in the master (the client grants no window), so
    # the master pauses the worker with the end of its output still unread; the worker has
    # written everything, sent END and exited (WORKER_MAX_REQUESTS=1). The exit report must not
    # drop that unread output: once the client opens its window, every byte arrives.
    k = start_kiln(rt_site, ["--workers", "1", "--worker-max-requests", "1",
                             "--log-level", "debug"])
    kib = 1024 + 64 + 96  # past the master's 1 MiB pause threshold, within a socket buffer
    marker = tmp_path / "held-back-pid"
    sock = socket.create_connection(("127.0.0.1", k.port), timeout=20)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock.sendall(conn.data_to_send())
    sid = conn.get_next_available_stream_id()
    conn.send_headers(sid, [(":method", "GET"), (":scheme", "http"), (":authority", "x"),
                            (":path", f"/pid_then_output.php?kib={kib}&marker={marker}")],
                      end_stream=True)
    sock.sendall(conn.data_to_send())
    body = bytearray()
    ended = reset = False

    def pump(grant):
        nonlocal ended, reset
        data = sock.recv(65536)
        assert data, "connection closed"
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.DataReceived):
                body.extend(ev.data)
                if grant:
                    conn.acknowledge_received_data(ev.flow_controlled_length, sid)
            elif isinstance(ev, h2.events.StreamEnded):
                ended = True
            elif isinstance(ev, h2.events.StreamReset):
                reset = True
        sock.sendall(conn.data_to_send())

    with sock:
        assert wait_for(marker.exists)
        pid = int(marker.read_text())
        # the worker exits once its output is written, and the master hears of it
        assert wait_for(lambda: f"worker 0 (pid {pid}) exited" in k.log()), k.log()
        sock.settimeout(0.5)
        try:
            while True:
                pump(False)  # what the initial window allows, nothing more
        except socket.timeout:
            pass
        assert not ended and not reset
        conn.increment_flow_control_window(64 * 1024 * 1024)
        conn.increment_flow_control_window(64 * 1024 * 1024, sid)
        sock.sendall(conn.data_to_send())
        sock.settimeout(20)
        while not ended and not reset:
            pump(True)
    assert not reset, "the response was reset"
    assert bytes(body) == bytes(range(256)) * (kib * 4)
    assert f"(pid {pid}) is gone" not in k.log()


# ---- 2. php.ini ---------------------------------------------------------------------------------

def ini_of(k, **kw):
    r = httpx.request(kw.pop("method", "GET"), k.url(kw.pop("path", "/ini.php")), timeout=10, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def test_php_ini_file_is_loaded(rt_site, start_kiln, tmp_path):
    ini = tmp_path / "custom.ini"
    ini.write_text("memory_limit = 77M\ndisplay_errors = Off\nhtml_errors = Off\n"
                   "default_charset = \"ISO-8859-1\"\n")
    k = start_kiln(rt_site, ["--workers", "1", "--php-ini", str(ini)])
    d = ini_of(k)
    assert d["ini"]["memory_limit"] == "77M"
    assert d["ini"]["default_charset"] == "ISO-8859-1"
    # the scan directory is still read: OPcache (a conf.d entry) is loaded
    assert httpx.get(k.url("/jit.php"), timeout=20).json()["opcache_enabled"] is True


def test_php_ini_from_the_environment(rt_site, start_kiln, tmp_path):
    ini = tmp_path / "env.ini"
    ini.write_text("memory_limit = 66M\n")
    k = start_kiln(rt_site, ["--workers", "1"], env={"PHP_INI": str(ini)})
    assert ini_of(k)["ini"]["memory_limit"] == "66M"


def test_default_php_ini_is_debians_embed_ini(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1"])
    d = ini_of(k)
    assert d["ini"]["memory_limit"] == "128M"
    assert d["ini"]["post_max_size"] == "8M"
    assert d["ini"]["display_errors"] in ("", "0", "Off")


def test_php_ini_set_applies_every_entry(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1"],
                   env={"PHP_INI_SET": "memory_limit=99M;max_input_vars=5"})
    d = ini_of(k)
    assert d["ini"]["memory_limit"] == "99M"
    assert d["ini"]["max_input_vars"] == "5"


def test_d_flags_win_over_php_ini_set_and_the_file(rt_site, start_kiln, tmp_path):
    ini = tmp_path / "custom.ini"
    ini.write_text("memory_limit = 77M\nmax_input_vars = 9\npost_max_size = 3M\n")
    k = start_kiln(rt_site, ["--workers", "1", "--php-ini", str(ini),
                             "-d", "memory_limit=55M", "-d", "max_input_vars=4"],
                   env={"PHP_INI_SET": "memory_limit=99M;max_input_vars=5;post_max_size=2M"})
    d = ini_of(k)
    assert d["ini"]["memory_limit"] == "55M"      # -d over PHP_INI_SET over the file
    assert d["ini"]["max_input_vars"] == "4"
    assert d["ini"]["post_max_size"] == "2M"      # PHP_INI_SET over the file


def test_repeated_d_flag_last_one_wins(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1", "-d", "memory_limit=40M", "-d", "memory_limit=41M"])
    assert ini_of(k)["ini"]["memory_limit"] == "41M"


@pytest.mark.parametrize("how", ["flag", "env"])
def test_missing_php_ini_is_a_clean_startup_error(rt_site, tmp_path, how):
    missing = tmp_path / "does-not-exist.ini"
    args = [KILN_BIN, "--listen", f"127.0.0.1:{free_port()}", "--docroot", str(rt_site)]
    env = dict(os.environ)
    if how == "flag":
        args += ["--php-ini", str(missing)]
    else:
        env["PHP_INI"] = str(missing)
    p = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    lines = p.stderr.splitlines()
    assert len(lines) == 1, p.stderr
    assert "PHP_INI" in lines[0] and str(missing) in lines[0], lines[0]
    assert p.stdout == ""


def test_max_input_vars_is_honoured(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1", "-d", "max_input_vars=5"])
    pairs = [(f"v{i}", str(i)) for i in range(12)]
    d = ini_of(k, path="/ini.php?" + "&".join(f"{a}={b}" for a, b in pairs))
    assert d["get_count"] == 5
    # multipart: PHP's rfc1867 parser keeps exactly max_input_vars
    d = ini_of(k, method="POST", files={"f": ("a.txt", b"x")}, data=dict(pairs))
    assert d["post_count"] == 5
    # urlencoded: PHP's own post parser (main/php_variables.c) checks the count after adding
    # a variable, so it keeps max_input_vars + 1, exactly as under PHP-FPM
    d = ini_of(k, method="POST", data=dict(pairs))
    assert d["post_count"] == 6
    warnings = [l for l in log_lines(k) if "Input variables exceeded 5" in l["msg"]]
    assert len(warnings) == 3, k.log()
    assert all(l["level"] == "warn" for l in warnings)


def test_post_max_size_is_honoured(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1", "-d", "post_max_size=1K"])
    small = {"a": "x" * 100}
    d = ini_of(k, method="POST", data=small)
    assert d["post_count"] == 1
    big = {"a": "x" * 3000, "b": "y"}
    d = ini_of(k, method="POST", data=big)
    assert d["post_count"] == 0
    # as PHP does under every SAPI, php://input still reads the raw body
    assert d["input_length"] == len("a=" + "x" * 3000 + "&b=y")
    d = ini_of(k, method="POST", files={"f": ("big.bin", b"z" * 3000)})
    assert d["files_count"] == 0 and d["post_count"] == 0
    too_big = [l for l in log_lines(k) if "exceeds the limit of 1024 bytes" in l["msg"]]
    assert len(too_big) == 2 and all(l["level"] == "warn" for l in too_big), k.log()
    # the worker is fine afterwards
    assert ini_of(k, method="POST", data=small)["post_count"] == 1


# ---- 3. OPcache, JIT, preload -------------------------------------------------------------------

def test_jit_is_enabled_and_compiles(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1", "-d", "opcache.jit=tracing",
                             "-d", "opcache.jit_buffer_size=16M"])
    for _ in range(3):  # hot enough for the tracing JIT's counters
        d = httpx.get(k.url("/jit.php"), timeout=30).json()
        assert d["sum"] == sum((i * 7) % 13 for i in range(200000))
        assert d["fib"] == 17711
    assert d["opcache_enabled"] is True
    assert d["ini_jit"] == "tracing"
    jit = d["jit"]
    assert jit["enabled"] is True and jit["on"] is True
    assert 15 * 1024 * 1024 < jit["buffer_size"] <= 16 * 1024 * 1024
    assert jit["buffer_free"] < jit["buffer_size"], "the JIT emitted no code"


def test_jit_is_off_without_a_buffer(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1"])
    d = httpx.get(k.url("/jit.php"), timeout=30).json()
    assert d["opcache_enabled"] is True
    assert d["jit"]["on"] is False


def test_opcache_preload(rt_site, start_kiln):
    lib = rt_site / "preload_lib.php"
    user = pwd.getpwuid(os.geteuid()).pw_name
    k = start_kiln(rt_site, ["--workers", "2", "-d", f"opcache.preload={lib}",
                             "-d", f"opcache.preload_user={user}"])
    for _ in range(6):
        d = httpx.get(k.url("/preloaded.php"), timeout=10).json()
        assert d["function_exists"] is True and d["class_exists"] is True
        assert d["greeting"] == "hello kiln from preload"
        assert d["twice"] == 42 and d["answer"] == 42
        assert d["included"] == ["preloaded.php"]
        assert d["stats"]["functions"] == ["kiln_preloaded_greeting"]
        assert d["stats"]["classes"] == ["KilnPreloaded"]
    assert not [l for l in log_lines(k) if l["level"] in ("warn", "error")], k.log()


@pytest.mark.parametrize("case", ["parse-error", "no-preload-user"])
def test_opcache_preload_failure_stops_startup(rt_site, tmp_path, case):
    script = tmp_path / "broken_preload.php"
    script.write_text("<?php\nthis is not php;\n" if case == "parse-error" else "<?php\n")
    user = pwd.getpwuid(os.geteuid()).pw_name
    args = [KILN_BIN, "--listen", f"127.0.0.1:{free_port()}", "--docroot", str(rt_site),
            "-d", f"opcache.preload={script}"]
    if case == "parse-error":
        args += ["-d", f"opcache.preload_user={user}"]
    elif os.geteuid() != 0:
        pytest.skip("opcache.preload_user is required only as root")
    p = subprocess.run(args, capture_output=True, text=True, timeout=30)
    assert p.returncode == 2
    lines = p.stderr.splitlines()
    assert lines[-1].startswith("kiln: ") and "start-up" in lines[-1], p.stderr
    # PHP's own message names the problem
    expected = "syntax error" if case == "parse-error" else "opcache.preload_user"
    assert any(expected in line for line in lines[:-1]), p.stderr
    assert "Sanitizer" not in p.stderr, p.stderr


# ---- 4. error_log() and getenv() --------------------------------------------------------------

def test_error_log_reaches_kilns_log(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1"])
    msg = 'kiln-test "quoted" \\ back ü ' + os.urandom(4).hex()
    r = httpx.get(k.url("/log.php"), params={"msg": msg, "warn": "1"}, timeout=10)
    assert r.text == "logged\n"
    lines = wait_for(lambda: [l for l in log_lines(k) if msg in l["msg"]])
    assert len(lines) == 1, k.log()
    assert lines[0]["msg"] == msg and lines[0]["type"] == "php"
    assert lines[0]["level"] == "info"
    warn = [l for l in log_lines(k) if "undefined_variable_for_kiln" in l["msg"]]
    assert len(warn) == 1 and warn[0]["level"] == "warn", k.log()
    assert warn[0]["data"]["php_level"] == "E_WARNING"
    assert warn[0]["data"]["file"].endswith("/log.php") and warn[0]["data"]["line"] == 5


def test_long_and_binary_error_log_messages(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1"])
    pid = get_pid(k)
    # 3 MiB: above the protocol's largest frame; the message is cut, the request unharmed
    r = httpx.get(k.url("/log.php"), params={"msg": "long-", "repeat": str(600000)}, timeout=30)
    assert r.text == "logged\n"
    r = httpx.get(k.url("/log.php?msg=bin%FF%FE%01-end"), timeout=10)  # not UTF-8
    assert r.text == "logged\n"
    lines = log_lines(k)  # still one JSON object per line
    long_lines = [l for l in lines if l["msg"].startswith("long-long-")]
    assert len(long_lines) == 1 and 1000 < len(long_lines[0]["msg"]) < 3000  # cut: one write
    assert [l for l in lines if l["msg"] == "bin\ufffd\ufffd\x01-end"], k.log()
    assert get_pid(k) == pid


def test_stray_stdout_never_breaks_the_json_log(rt_site, start_kiln):
    lib = rt_site / "preload_noisy.php"
    user = pwd.getpwuid(os.geteuid()).pw_name
    k = start_kiln(rt_site, ["--workers", "1", "-d", f"opcache.preload={lib}",
                             "-d", f"opcache.preload_user={user}"])
    assert httpx.get(k.url("/stray_output.php"), timeout=10).text == "ok\n"
    stdout = k.log()
    for line in stdout.splitlines():
        json.loads(line)
    assert "from a worker" not in stdout and "noisy preload output" not in stdout
    errors = k.errors()
    assert "stray stdout line from a worker" in errors
    assert "stray stderr line from a worker" in errors
    assert "noisy preload output" in errors


def test_getenv_sees_the_process_and_the_request(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1"], env={"KILN_TEST_ENV": "from-env"})
    names = "PATH,KILN_TEST_ENV,REQUEST_METHOD,QUERY_STRING,HTTP_X_PROBE,SCRIPT_NAME,NOPE_NOT_SET"
    r = httpx.post(k.url("/env.php"), params={"names": names}, headers={"X-Probe": "p1"},
                   content=b"", timeout=10)
    d = r.json()
    assert d["PATH"] == os.environ["PATH"]
    assert d["_local_only_PATH"] == os.environ["PATH"]
    assert d["KILN_TEST_ENV"] == "from-env"
    assert d["REQUEST_METHOD"] == "POST"
    assert d["QUERY_STRING"] == r.request.url.query.decode()
    assert d["HTTP_X_PROBE"] == "p1"
    assert d["SCRIPT_NAME"] == "/env.php"
    assert d["NOPE_NOT_SET"] is False
    # the next request on the same worker does not see the previous request's variables
    d = httpx.get(k.url("/env.php"), params={"names": "REQUEST_METHOD,HTTP_X_PROBE"}).json()
    assert d["REQUEST_METHOD"] == "GET"
    assert d["HTTP_X_PROBE"] is False


# ---- 5. kiln_request_heartbeat(), fastcgi_finish_request() --------------------------------------

def test_heartbeat_return_values(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1", "--request-timeout", "10s"])
    d = httpx.get(k.url("/heartbeat_values.php?limit=10"), timeout=10).json()
    assert d == {"zero": False, "negative": False, "min_int": False, "above": False,
                 "huge": False, "one": True, "limit": True, "default": True,
                 "alias_ok": True, "alias_zero": False, "alias_above": False}


def test_heartbeat_is_false_without_request_timeout(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1", "--request-timeout", "off"])
    d = httpx.get(k.url("/heartbeat_values.php?limit=10"), timeout=10).json()
    assert set(d.values()) == {False}


def test_heartbeat_alias_extends_the_deadline(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1", "--request-timeout", "2s"])
    r = httpx.get(k.url("/heartbeat_alias.php?steps=5"), timeout=15)
    assert r.status_code == 200
    assert r.text == "alias kept it alive for 5 steps\n"


def test_finish_request_then_output_is_dropped(rt_site, start_kiln, tmp_path):
    k = start_kiln(rt_site, ["--workers", "1"])
    for n in range(2):
        marker = tmp_path / f"finish-{n}.json"
        r = httpx.get(k.url("/finish_drop.php"), params={"marker": str(marker)}, timeout=10)
        assert r.status_code == 200
        assert r.text == "visible\n"
        assert r.headers["x-before"] == "yes"
        assert "x-after" not in r.headers
        assert wait_for(marker.exists)
        assert json.loads(marker.read_text()) == {"first": True, "second": False}


# ---- 6. exit() in a shutdown function, a worker killed from outside ----------------------------

def test_exit_in_shutdown_function_keeps_output_and_worker(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1"])
    pid = get_pid(k)
    for code in (0, 3):
        r = httpx.get(k.url(f"/shutdown_exit.php?code={code}"), timeout=10)
        assert r.status_code == 200
        assert r.text == "main output\nend of script\nshutdown output\n"
    assert get_pid(k) == pid, "the worker was replaced"
    assert not [l for l in log_lines(k) if l["level"] in ("warn", "error")], k.log()


def start_kill_request(k, marker, extra=""):
    """Starts kill_me.php on a raw connection; returns the socket and the worker's pid."""
    s = socket.create_connection(("127.0.0.1", k.port), timeout=20)
    s.sendall(f"GET /kill_me.php?marker={marker}{extra} HTTP/1.1\r\nHost: x\r\n"
              "Connection: close\r\n\r\n".encode())
    assert wait_for(marker.exists), "the script did not start"
    return s, int(marker.read_text())


def test_worker_killed_by_sigkill_gives_502(rt_site, start_kiln, tmp_path):
    k = start_kiln(rt_site, ["--workers", "1"])
    pid = get_pid(k)
    marker = tmp_path / "kill-marker"
    s, running = start_kill_request(k, marker)
    with s:
        assert running == pid
        os.kill(pid, signal.SIGKILL)
        data = recv_all(s, timeout=10)
    assert data.startswith(b"HTTP/1.1 502 "), data[:200]
    assert b"not killed" not in data
    assert wait_for(lambda: [l for l in log_lines(k) if f"(pid {pid})" in l["msg"]
                             and "signal 9" in l["msg"]]), k.log()
    new_pid = get_pid(k)
    assert new_pid != pid
    assert httpx.get(k.url("/pid.php"), timeout=10).status_code == 200


@pytest.mark.parametrize("workers", [1, 2])
def test_idle_worker_killed_from_outside_costs_no_request(rt_site, start_kiln, workers):
    # The request reaches a worker that is dying (killed while idle) before the master knows:
    # it never read the request, so the request goes to another worker instead of failing.
    k = start_kiln(rt_site, ["--workers", str(workers)])
    statuses = []
    for _ in range(12):
        pid = get_pid(k)
        with socket.create_connection(("127.0.0.1", k.port), timeout=20) as s:
            os.kill(pid, signal.SIGKILL)
            s.sendall(b"GET /pid.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = recv_all(s, timeout=20)
        statuses.append(data[:12])
        assert data.partition(b"\r\n\r\n")[2] != str(pid).encode()
    assert statuses == [b"HTTP/1.1 200"] * 12
    assert wait_for(lambda: len([l for l in log_lines(k) if "signal 9" in l["msg"]]) == 12)


def test_worker_killed_after_output_ends_the_response_abnormally(rt_site, start_kiln, tmp_path):
    k = start_kiln(rt_site, ["--workers", "1"])
    marker = tmp_path / "kill-marker-sent"
    s, pid = start_kill_request(k, marker, "&sent=1")
    with s:
        os.kill(pid, signal.SIGKILL)
        data = recv_all(s, timeout=10)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    assert b"Transfer-Encoding: chunked" in head
    assert b"partial output\n" in body
    assert not body.endswith(b"0\r\n\r\n"), "a killed response must not look complete"
    assert get_pid(k) != pid


# ---- 7. clients that go away ------------------------------------------------------------------

def send_and_close(k, request, reset=False, read_first=0):
    s = socket.create_connection(("127.0.0.1", k.port), timeout=10)
    s.sendall(request)
    if read_first:
        s.recv(read_first)
    if reset:  # RST instead of FIN
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


def test_clients_that_close_early_leave_the_server_healthy(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "2", "--queue-capacity", "100"])
    get_pid(k)
    get_pid(k)
    master = k.proc.pid
    fds_before = fd_count(master)
    quick = b"GET /pid.php HTTP/1.1\r\nHost: x\r\n\r\n"
    slow = b"GET /slow.php?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n"
    body = b"a=" + b"x" * 200000
    post = (b"POST /ini.php HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
            b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
    for i in range(6):
        reset = i % 2 == 1
        send_and_close(k, quick, reset)
        send_and_close(k, slow, reset)       # both workers busy: later ones wait in the queue
        send_and_close(k, slow, reset)
        send_and_close(k, slow, reset)       # closed while queued
        send_and_close(k, post, reset)
        send_and_close(k, b"GET /pid.php HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc",
                       reset)                # closed in the middle of its body
    # every worker comes back and serves normally
    pids = set()
    for _ in range(6):
        pids.add(get_pid(k))
    assert 1 <= len(pids) <= 2
    assert wait_for(lambda: fd_count(master) <= fds_before, timeout=15), \
        f"master fds: {fds_before} before, {fd_count(master)} after"
    assert not [l for l in log_lines(k) if l["level"] == "error"], k.log()


def test_client_gone_during_a_large_response(rt_site, start_kiln, tmp_path):
    big = tmp_path / "rtwww" / "big.php"
    big.write_text("<?php\nfor ($i = 0; $i < 4096; $i++) { echo str_repeat('z', 8192); }\n")
    k = start_kiln(rt_site, ["--workers", "1"])
    pid = get_pid(k)
    for reset in (False, True):
        send_and_close(k, b"GET /big.php HTTP/1.1\r\nHost: x\r\n\r\n", reset, read_first=1000)
    r = httpx.get(k.url("/big.php"), timeout=30)
    assert len(r.content) == 4096 * 8192
    assert get_pid(k) == pid, "the worker should survive a client that went away"


def test_client_gone_while_its_request_runs_under_finish_request(rt_site, start_kiln, tmp_path):
    k = start_kiln(rt_site, ["--workers", "1"])
    marker = tmp_path / "finish-gone.json"
    send_and_close(k, f"GET /finish_drop.php?marker={marker} HTTP/1.1\r\nHost: x\r\n\r\n"
                      .encode(), read_first=10)
    assert wait_for(marker.exists)
    assert json.loads(marker.read_text()) == {"first": True, "second": False}
    assert httpx.get(k.url("/pid.php"), timeout=10).status_code == 200


# ---- flush() ------------------------------------------------------------------------------------

@pytest.mark.parametrize("output_buffering,query",
                         [("4096", ""), ("0", ""), ("4096", "&replace=1")])
def test_flush_never_empties_a_buffer_the_script_opened(rt_site, start_kiln, tmp_path,
                                                         output_buffering, query):
    k = start_kiln(rt_site, ["--workers", "1", "-d", f"output_buffering={output_buffering}"])
    go = tmp_path / "go"
    with socket.create_connection(("127.0.0.1", k.port), timeout=10) as s:
        s.sendall(f"GET /flush_ob.php?go={go}{query} HTTP/1.1\r\nHost: x\r\n"
                  "Connection: close\r\n\r\n".encode())
        data = b""
        while b"first\n" not in data:
            chunk = s.recv(4096)
            assert chunk, data
            data += chunk
        s.settimeout(1.0)
        try:
            more = s.recv(4096)
        except socket.timeout:
            more = b""
        assert b"second" not in data + more
        go.write_text("go")
        data += more + recv_all(s, timeout=10)
    head, body, complete = read_chunked(data)
    assert complete and body == b"first\nsecond\nthird\n"


# ---- the executor alias -----------------------------------------------------------

def test_executor_php_is_an_alias_of_ext(rt_site, start_kiln):
    k = start_kiln(rt_site, ["--workers", "1", "--executor", "php"])
    assert get_pid(k) != k.proc.pid
    r = httpx.get(k.url("/env.php?names=REQUEST_METHOD"), timeout=10)
    assert r.json()["REQUEST_METHOD"] == "GET"
    assert "executor: ext" in k.log()
