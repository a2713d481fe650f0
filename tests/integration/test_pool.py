"""Worker-pool correctness under faults (issue 11): a request runs at most once, a crashing
script does not starve the pool, and a job sent ahead never waits behind a slow script."""

import threading
import time

import httpx
import pytest


@pytest.fixture
def pool_site(phpsite):
    """The scripts of tests/integration/php/pool, in the copy conftest's phpsite makes."""
    return phpsite / "pool"


class Load:
    """Background clients looping on one URL until stopped; counts answers by status."""

    def __init__(self, url, clients):
        self.url = url
        self.stop_flag = threading.Event()
        self.statuses = {}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run) for _ in range(clients)]

    def run(self):
        with httpx.Client(timeout=30) as c:
            while not self.stop_flag.is_set():
                try:
                    status = c.get(self.url).status_code
                except httpx.HTTPError as e:
                    status = f"error: {e!r}"
                with self.lock:
                    self.statuses[status] = self.statuses.get(status, 0) + 1

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        for t in self.threads:
            t.join()


def test_a_request_that_crashes_its_worker_runs_exactly_once(pool_site, start_kiln, tmp_path):
    """The side effect of a crashing request happens once per request, also under load, when
    jobs are sent ahead to busy workers."""
    k = start_kiln(pool_site, ["--workers", "2"])
    log = tmp_path / "charges"
    log.write_text("")
    with Load(k.url("/fast.php"), 4):
        with httpx.Client(timeout=30) as c:
            for _ in range(10):
                assert c.get(k.url(f"/charge.php?log={log}")).status_code == 502
    assert len(log.read_text()) == 10


def test_a_crashing_script_does_not_take_the_pool_down(pool_site, start_kiln, tmp_path):
    """A worker whose request crashed is replaced at once (it had begun a request); the 1 s
    back-off is only for workers that die before beginning any. Other scripts keep being
    served meanwhile. The pool logs its decision at debug level."""
    prepend = tmp_path / "boom.php"  # a broken app: every request crashes, even fast.php's
    prepend.write_text("<?php if (isset($_GET['boom'])) posix_kill(getmypid(), SIGSEGV);")
    k = start_kiln(pool_site, ["--workers", "2", "--log-level", "debug",
                               "-d", f"auto_prepend_file={prepend}"])
    with Load(k.url("/crash.php"), 2) as crashes:
        with httpx.Client(timeout=30) as c:
            for _ in range(30):
                assert c.get(k.url("/fast.php")).status_code == 200
                assert c.get(k.url("/fast.php?boom=1")).status_code == 502
    assert set(crashes.statuses) == {502}, crashes.statuses
    log = k.log()
    assert "replacing it at once" in log
    assert "replacing it in" not in log


def warm_up(k):
    """Both workers serve quick requests first: their recent times are short, which is when
    the pool sends a job ahead to a busy worker."""
    with httpx.Client(timeout=30) as c:
        for _ in range(100):
            c.get(k.url("/fast.php"))


def test_fast_requests_are_served_by_the_free_worker(pool_site, start_kiln, tmp_path):
    """A slow script starts while fast requests keep both workers busy. Every fast request
    issued after it started, during the first half of it, is served by the other worker: none
    was sent ahead to the slow worker and left waiting behind it. Three rounds: whether a job
    is sent ahead at the slow one's start depends on the moment."""
    k = start_kiln(pool_site, ["--workers", "2"])
    warm_up(k)
    for round_ in range(3):
        mark = tmp_path / f"slow-started-{round_}"
        served_by = []
        lock = threading.Lock()
        window = threading.Event()

        def fast_client():
            with httpx.Client(timeout=30) as c:
                while not window.is_set():
                    issued_while_slow_runs = mark.exists()
                    pid = c.get(k.url("/fast.php")).text
                    if issued_while_slow_runs:
                        with lock:
                            served_by.append(pid)

        clients = [threading.Thread(target=fast_client) for _ in range(8)]
        for c in clients:
            c.start()
        time.sleep(0.3)  # load running: the slow request is dispatched among fast ones
        slow = {}
        t = threading.Thread(target=lambda: slow.update(
            pid=httpx.get(k.url(f"/slow.php?ms=3000&mark={mark}"), timeout=30).text))
        t.start()
        time.sleep(1.2)
        window.set()  # fast requests stop being issued long before the slow one can end
        for c in clients:
            c.join()
        t.join()
        assert len(served_by) > 10
        assert slow["pid"] not in served_by, f"round {round_}"


def test_the_job_behind_a_runaway_is_not_lost_with_it(pool_site, start_kiln):
    """A runaway starts among fast requests and is killed at REQUEST_TIMEOUT; the requests that
    arrived meanwhile are served by the other worker, none gets the runaway's 504."""
    k = start_kiln(pool_site, ["--workers", "2", "--request-timeout", "1"])
    warm_up(k)
    for _ in range(3):
        with Load(k.url("/fast.php"), 8) as load:
            time.sleep(0.3)
            assert httpx.get(k.url("/spin.php"), timeout=30).status_code == 504
        assert set(load.statuses) == {200}, load.statuses
