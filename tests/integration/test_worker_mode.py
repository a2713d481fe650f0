"""Worker mode (issue 14): WORKER_SCRIPT boots once per worker and serves requests through
kiln_handle_request(); nothing of one request is seen by the next, failures answer 500 at once.
The scripts are in tests/integration/php/worker; app.php's handler picks a case from ?t=."""

import signal
import subprocess
import threading
import time

import httpx
import pytest

from conftest import KILN_BIN, free_port
from test_internal import get, metric, start_internal

APP = "/worker/index.php"


@pytest.fixture
def wk(phpsite, start_kiln, tmp_path):
    """Kiln with one worker (so consecutive requests meet the same PHP process) in worker mode."""
    sessions = tmp_path / "sessions"
    sessions.mkdir()

    def start(script="worker/app.php", args=(), env=None):
        return start_kiln(phpsite, ["--workers", "1", "--worker-script", script,
                                    "-d", f"session.save_path={sessions}", *args], env=env)

    return start


# PHP's allocator off: ASan then sees a use-after-free or a double free in PHP's heap (worker
# mode keeps one PHP request alive across many of ours). Not with fatal errors: a bailout leaves
# to PHP's allocator what it does not free itself, and memory_limit needs it. Leak reports off:
# PHP leaves its persistent allocations to the end of the process.
ASAN_SEES_PHP_HEAP = {"USE_ZEND_ALLOC": "0", "ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0"}


def info(k, **kw):
    r = httpx.get(k.url(APP), params={"t": "info"}, timeout=20, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def test_worker_script_boots_once_and_serves_with_superglobals(wk):
    k = wk()
    a = info(k, headers={"X-Test": "yes"})
    b = info(k)
    assert a["pid"] == a["boot_pid"] == b["pid"]      # one boot, the same process
    assert b["served"] == a["served"] + 1             # the script's own state persists
    assert a["server"]["HTTP_X_TEST"] == "yes" and "HTTP_X_TEST" not in b["server"]
    assert a["filter_x_test"] == "yes" and b["filter_x_test"] is None  # ext/filter's own copy
    assert a["server"]["SCRIPT_FILENAME"].endswith("/worker/index.php")
    assert a["server"]["REQUEST_URI"] == "/worker/index.php?t=info"
    assert a["serialize_precision"] == "10"           # ini_set() at boot persists
    post = httpx.post(k.url(APP + "?t=info"), data={"a": "b"}, auth=("u", "p")).json()
    assert post["post"] == {"a": "b"} and post["input"] == "a=b"
    assert post["request"] == {"t": "info", "a": "b"}
    assert post["server"]["PHP_AUTH_USER"] == "u" and post["server"]["PHP_AUTH_PW"] == "p"
    after = info(k)
    assert after["post"] == [] and after["input"] == "" and after["request"] == {"t": "info"}
    assert post["server"]["HTTP_AUTHORIZATION"].startswith("Basic ")
    assert post["all_headers"]["authorization"].startswith("Basic ")
    assert "PHP_AUTH_USER" not in after["server"] and "HTTP_AUTHORIZATION" not in after["server"]
    assert "authorization" not in after["all_headers"]
    assert after["pid"] == a["pid"]


def test_relative_worker_script_must_exist(phpsite, tmp_path):
    r = subprocess.run([KILN_BIN, "--docroot", str(phpsite), "--worker-script", "worker/nope.php",
                        "--listen", f"127.0.0.1:{free_port()}"], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2 and "WORKER_SCRIPT" in r.stderr and "nope.php" in r.stderr


def test_frankenphp_alias_and_classic_mode_unchanged(phpsite, start_kiln):
    k = start_kiln(phpsite, ["--workers", "1"])
    assert httpx.get(k.url(APP)).text == "classic mode ran index.php"
    r = httpx.get(k.url("/worker/boot_return.php"))  # no worker mode: a plain script
    assert r.status_code == 200


def test_nothing_leaks_into_the_next_request(wk):
    """One request changes everything it can; the next one sees none of it."""
    k = wk(env=ASAN_SEES_PHP_HEAP)
    with httpx.Client(timeout=20) as c:
        c.cookies.set("c", "1")
        r = c.get(k.url(APP), params={"t": "pollute"})
        dirty = r.json() if "\n" not in r.text else __import__("json").loads(r.text.split("\n")[0])
        assert r.status_code == 201
        assert r.headers["X-Leak"] == "1" and r.headers["X-Callback"] == "leak"
        assert "PHPSESSID" in r.headers.get("set-cookie", "")
        assert r.text.endswith("\nopen-buffer")         # a buffer left open belongs to its response
        assert dirty["session"] == {"secret": "leak"} and dirty["env"] == "leak"
        assert dirty["precision"] == "5" and dirty["last_error"]["message"] == "leaked warning"
        assert dirty["env_array"] == {"KILN_BOOT": "boot", "KILN_LEAK": "leak"}
        assert dirty["max_execution_time"] == "1000"
        assert dirty["libxml"]["errors"] > 0 and dirty["libxml"]["internal"] is True
        assert dirty["libxml"]["loader_called"] is True
    r = httpx.get(k.url(APP), params={"t": "info"})
    clean = r.json()
    assert clean["pid"] == dirty["pid"]                 # the same worker, not a new one
    assert r.status_code == 200
    assert "x-leak" not in r.headers and "x-callback" not in r.headers
    assert "set-cookie" not in r.headers                # no session, no cookie
    assert clean["get"] == {"t": "info"} and clean["request"] == {"t": "info"}
    assert clean["cookie"] == [] and "POLLUTED" not in clean["server"]
    assert clean["headers"] == [] and clean["code"] == 200 and clean["ob_level"] == 1
    assert clean["last_error"] is None
    assert clean["session_status"] == 1 and clean["session_id"] == "" and clean["session"] is None
    assert clean["precision"] == "14" and clean["serialize_precision"] == "10"
    assert clean["env"] is False
    assert clean["env_array"] == {"KILN_BOOT": "boot"}  # the boot's $_ENV, not the request's
    assert clean["max_execution_time"] == "30"                # php.ini's, not set_time_limit()'s
    assert clean["libxml"] == {"errors": 0, "internal": False, "loader_called": False}


def test_uploads_are_isolated_and_their_files_removed(wk, tmp_path):
    k = wk()
    r = httpx.post(k.url(APP + "?t=upload"), files={"f": ("up.txt", b"hello")}, data={"x": "1"})
    up = r.json()
    tmp = up["files"]["f"]["tmp"]
    assert up["files"]["f"]["there"] and up["post"] == {"x": "1"}
    clean = info(k)
    assert clean["pid"] == up["pid"] and clean["files"] == [] and clean["post"] == []
    deadline = time.monotonic() + 5
    import os
    while os.path.exists(tmp):
        assert time.monotonic() < deadline, f"{tmp} left behind"
        time.sleep(0.05)


@pytest.mark.parametrize("case", ["throw", "fatal"])
def test_exception_or_fatal_error_answers_500_and_replaces_the_worker(wk, case):
    k = wk()
    before = info(k)
    r = httpx.get(k.url(APP), params={"t": case}, timeout=20)
    assert r.status_code == 500
    after = info(k)
    assert after["pid"] != before["pid"] and after["served"] == 1
    text = "boom from the handler" if case == "throw" else "Allowed memory size"
    deadline = time.monotonic() + 5
    while text not in k.log():
        assert time.monotonic() < deadline, k.log()
        time.sleep(0.05)
    assert "Couldn't execute" not in k.log()  # nothing of PHP is called after a fatal error


def test_exit_in_the_handler_ends_the_request_only(wk):
    k = wk()
    before = info(k)
    r = httpx.get(k.url(APP), params={"t": "exit"})
    assert r.status_code == 200 and r.text == "before exit"
    assert info(k)["pid"] == before["pid"]


@pytest.mark.parametrize("script", ["worker/boot_fatal.php", "worker/boot_return.php"])
def test_a_worker_script_that_cannot_boot_answers_500_at_once_without_a_fork_loop(wk, script):
    k = wk(script)
    statuses = [httpx.get(k.url(APP), timeout=10).status_code for _ in range(5)]
    assert statuses == [500] * 5
    time.sleep(1.5)
    boots = k.errors().count("ended before it served a request")
    assert 1 <= boots <= 6, k.errors()  # about one boot a second, not one per request burst
    if script.endswith("boot_fatal.php"):
        assert "the application cannot boot" in k.errors()


def test_worker_max_requests_recycles_between_requests(wk):
    k = wk(args=["--worker-max-requests", "2"])
    a, b, c = info(k), info(k), info(k)
    assert a["pid"] == b["pid"] != c["pid"] and c["served"] == 1


def test_request_timeout_kills_a_worker_stuck_in_the_handler(wk):
    k = wk(args=["--request-timeout", "1s"])
    r = httpx.get(k.url(APP), params={"t": "sleep", "s": "30"}, timeout=20)
    assert r.status_code == 504
    assert info(k)["served"] == 1  # a new worker booted


def test_reload_replaces_worker_mode_workers_without_failed_requests(wk):
    k = wk()
    first = info(k)["pid"]
    stop = threading.Event()
    statuses = {}

    def load():
        with httpx.Client(timeout=20) as c:
            while not stop.is_set():
                s = c.get(k.url(APP), params={"t": "info"}).status_code
                statuses[s] = statuses.get(s, 0) + 1

    t = threading.Thread(target=load)
    t.start()
    try:
        r = subprocess.run([KILN_BIN, "--reload", str(k.proc.pid)], capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        deadline = time.monotonic() + 20
        while info(k)["pid"] == first:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        stop.set()
        t.join()
    assert set(statuses) == {200}, statuses


def test_shutdown_functions_of_a_request_run_after_it_once(wk, tmp_path):
    k = wk()
    marks = tmp_path / "shutdown-marks"
    r = httpx.get(k.url(APP), params={"t": "shutdown", "f": str(marks)}, timeout=20)
    assert r.status_code == 200 and r.text == "handler done\nshutdown ran"  # in its response
    assert marks.read_text() == f"{info(k)['pid']}\n"  # already ran when the response ended
    clean = info(k)
    assert clean["env"] is False                          # putenv() in a shutdown function
    for _ in range(3):
        info(k)
    assert len(marks.read_text().splitlines()) == 1       # never again


def test_a_fatal_error_in_a_shutdown_function_replaces_the_worker(wk):
    k = wk()
    before = info(k)
    r = httpx.get(k.url(APP), params={"t": "shutdown_fatal"}, timeout=20)
    assert r.text.startswith("handler done")
    after = info(k)
    assert after["pid"] != before["pid"] and after["served"] == 1
    assert "undefined_function_from_shutdown" in k.log() + k.errors()


def test_set_time_limit_counts_for_its_request_only(wk):
    k = wk()
    r = httpx.get(k.url(APP), params={"t": "spin", "s": "30", "limit": "1"}, timeout=40)
    assert r.status_code == 500                           # max_execution_time: a fatal error
    assert "Maximum execution time of 1 second" in k.log() + k.errors()
    r = httpx.get(k.url(APP), params={"t": "spin", "s": "1.5"}, timeout=40)
    assert r.status_code == 200 and r.text == "spun"      # the next request has php.ini's limit


def test_http_response_header_stays_in_the_requests_scope(wk, phpsite):
    (phpsite / "worker" / "fetched.txt").write_text("fetched")
    k = wk()
    r = httpx.get(k.url(APP), params={"t": "fetch", "url": k.url("/worker/fetched.txt")}, timeout=20)
    assert r.json() == {"body": "fetched", "headers": True}
    assert info(k)["http_response_header"] is False


def workers_doc(base):
    return get(base, "/workers").json()["workers"]


def test_workers_and_metrics_show_the_mode(phpsite, start_kiln):
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1", "--worker-script",
                                                   "worker/app.php"])
    pid = info(k)["pid"]
    [w] = workers_doc(base)
    assert w["pid"] == pid and w["mode"] == "worker"
    assert 0 < w["private_bytes"] <= w["rss_bytes"]
    body = get(base, "/metrics").text
    assert metric(body, 'kiln_php_mode{mode="worker"}') == 1
    assert metric(body, 'kiln_php_mode{mode="classic"}') == 0


def test_classic_mode_is_shown_as_classic(phpsite, start_kiln):
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1"])
    assert httpx.get(k.url(APP)).status_code == 200
    assert [w["mode"] for w in workers_doc(base)] == ["classic"]
    assert metric(get(base, "/metrics").text, 'kiln_php_mode{mode="classic"}') == 1


def test_worker_max_memory_recycles_a_worker_that_grew(phpsite, start_kiln):
    """The script keeps 32 MiB more at each request; the limit is 48 MiB above its start."""
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1", "--worker-script",
                                                   "worker/app.php"])
    info(k)
    baseline = workers_doc(base)[0]["private_bytes"]
    k.stop()
    limit = baseline + (48 << 20)
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1", "--worker-script",
                                                   "worker/app.php", "--worker-max-memory",
                                                   str(limit)])
    first = httpx.get(k.url(APP), params={"t": "hog", "mib": "32"}, timeout=20).json()
    second = httpx.get(k.url(APP), params={"t": "hog", "mib": "32"}, timeout=20).json()
    assert first["pid"] == second["pid"]          # under the limit after the first
    after = info(k)                               # over it after the second: replaced
    assert after["pid"] != second["pid"] and after["served"] == 1
    assert "over WORKER_MAX_MEMORY" in k.errors() + k.log()
    restarts = metric(get(base, "/metrics").text, 'kiln_worker_restarts_total{reason="recycled"}')
    assert restarts == 1


def test_worker_max_memory_is_a_size(phpsite):
    r = subprocess.run([KILN_BIN, "--docroot", str(phpsite), "--worker-max-memory", "lots",
                        "--listen", f"127.0.0.1:{free_port()}"], capture_output=True, text=True,
                       timeout=20)
    assert r.returncode == 2 and "--worker-max-memory \"lots\"" in r.stderr


def test_sigterm_lets_the_handler_finish_and_the_worker_script_end(wk, tmp_path):
    import os
    ended, began = tmp_path / "ended", tmp_path / "began"
    k = wk(args=["--drain-timeout", "20"], env={**os.environ, "KILN_WORKER_END_FILE": str(ended)})
    pid = info(k)["pid"]
    result = {}

    def slow():
        result["r"] = httpx.get(k.url(APP), params={"t": "sleep", "s": "2", "f": str(began)},
                                timeout=30)

    t = threading.Thread(target=slow)
    t.start()
    deadline = time.monotonic() + 10
    while not began.exists():
        assert time.monotonic() < deadline
        time.sleep(0.02)
    k.proc.send_signal(signal.SIGTERM)
    t.join()
    assert result["r"].status_code == 200 and result["r"].text == "slept"
    assert k.proc.wait(30) == 0
    assert ended.read_text() == f"{pid}\n"  # kiln_handle_request() returned false, the script ended


@pytest.mark.parametrize("content_type", ["text/plain", "application/json",
                                          "application/x-www-form-urlencoded"])
def test_request_bodies_of_every_type_one_after_the_other(wk, content_type):
    """PHP frees the request's content type at its deactivation without forgetting it: the
    worker must (a double free crashed the worker at the second raw-body request)."""
    k = wk(env=ASAN_SEES_PHP_HEAP)
    pid = info(k)["pid"]
    for body in ["a=1", "b=22", "c=333"]:
        r = httpx.post(k.url(APP + "?t=info"), content=body, headers={"Content-Type": content_type},
                       timeout=20)
        assert r.status_code == 200, r.text
        assert r.json()["input"] == body and r.json()["pid"] == pid


def test_a_reload_lets_the_old_worker_script_end(wk, tmp_path):
    import os
    ended = tmp_path / "ended"
    k = wk(env={**os.environ, "KILN_WORKER_END_FILE": str(ended)})
    old = info(k)["pid"]
    r = subprocess.run([KILN_BIN, "--reload", str(k.proc.pid)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert info(k)["pid"] != old
    deadline = time.monotonic() + 10
    while not (ended.exists() and ended.read_text().endswith("\n")):
        assert time.monotonic() < deadline, "the old worker script did not end"
        time.sleep(0.05)
    assert ended.read_text() == f"{old}\n"


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_requests_leave_nothing_in_the_worker_scripts_heap(wk, method):
    """Hundreds of requests (headers, a query, a form body) do not grow the script's memory: each
    request's state is freed, not only at the script's end (ext/filter's copy of $_SERVER
    was kept once per request: 3.6 KiB each, a worker at memory_limit after 35,000 requests)."""
    k = wk()
    with httpx.Client(timeout=20) as c:
        def memory():
            r = c.request(method, k.url(APP), params={"t": "memory", "q": "x" * 100},
                          data={"a": "b" * 100} if method == "POST" else None,
                          headers={"X-Test": "y" * 100, "Cookie": "c=" + "z" * 100})
            return int(r.text)
        for _ in range(20):
            memory()
        before = memory()
        for _ in range(300):
            after = memory()
    assert after - before < 300 * 64, (before, after)  # not a kilobyte per request


def test_php_input_kept_past_its_request_is_closed_with_it(wk):
    k = wk(env=ASAN_SEES_PHP_HEAP)
    r = httpx.post(k.url(APP + "?t=keep_input"), content="the body",
                   headers={"Content-Type": "text/plain"}, timeout=20)
    assert r.text == "the body"
    r = httpx.get(k.url(APP), params={"t": "kept_input"}, timeout=20)
    assert r.status_code == 200 and r.json() is False  # closed, as at PHP's request end


def test_a_symlink_deploy_reloads_the_new_releases_worker_script(start_kiln, tmp_path):
    """WORKER_SCRIPT relative to a DOCUMENT_ROOT that is a `current` symlink: after the swap and
    a reload, the workers run the new release's script (not the old one's, resolved at start),
    and the reload does not report WORKER_SCRIPT as changed."""
    import os
    for release in ("r1", "r2"):
        root = tmp_path / release
        root.mkdir()
        (root / "index.php").write_text("<?php\n")
        (root / "worker.php").write_text(
            "<?php\nwhile (kiln_handle_request(function () { echo '%s'; })) {\n}\n" % release)
    (tmp_path / "current").symlink_to(tmp_path / "r1")
    k = start_kiln(tmp_path / "current", ["--workers", "1", "--index-file", "index.php",
                                          "--worker-script", "worker.php"])
    assert httpx.get(k.url("/")).text == "r1"
    (tmp_path / "next").symlink_to(tmp_path / "r2")
    os.replace(tmp_path / "next", tmp_path / "current")
    r = subprocess.run([KILN_BIN, "--reload", str(k.proc.pid)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert httpx.get(k.url("/")).text == "r2"
    assert "WORKER_SCRIPT changed" not in k.log() + k.errors()
