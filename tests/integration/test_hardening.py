"""Hardening kept as tests (issue 12, item 4): Debian's `slowhttptest` slowloris, slow-body and
slow-read runs with a probe that must be served throughout, a PHP `while (true) {}` bounded by
REQUEST_TIMEOUT, and a bounded fork bomb. Each test takes well under 20 s; the probe's median and
worst latency are printed (not asserted) so that they can be reported."""

import os
import re
import shutil
import statistics
import subprocess
import threading
import time

import httpx
import pytest

from test_internal import metric, start_internal

SCRIPTS = {
    "hello.php": "<?php echo 'hello';",
    "pid.php": "<?php echo getmypid();",
    "spin.php": "<?php while (true) {}",
    # at most 20 children that sleep in a loop, then the parent spins until its deadline
    "bomb.php": """<?php
for ($i = 0; $i < 20; $i++) {
    if (pcntl_fork() === 0) {
        file_put_contents($_GET['dir'] . '/' . $i, getmypid());
        while (true) usleep(100000);
    }
}
while (true) {}
""",
}
STATIC = "static.txt"
BIG = "big.bin"  # large enough that a slow reader fills the socket buffers
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture
def hardsite(phpsite):
    for name, code in SCRIPTS.items():
        (phpsite / name).write_text(code)
    (phpsite / STATIC).write_text("static\n")
    (phpsite / BIG).write_bytes(os.urandom(4 << 20))
    return phpsite


class Probe:
    """Plain GETs of a PHP script and a static file, each on a new connection, in a loop on its
    own thread until stopped; keeps every failure and every latency."""

    def __init__(self, k):
        self.k = k
        self.failures = []
        self.count = 0
        self.latencies = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run)

    def run(self):
        paths = ["/hello.php", "/" + STATIC]
        expected = {"/hello.php": "hello", "/" + STATIC: "static\n"}
        while not self.stopping.is_set():
            path = paths[self.count % 2]
            started = time.monotonic()
            try:
                r = httpx.get(self.k.url(path), timeout=15)
                outcome = (r.status_code, r.text == expected[path])
            except httpx.HTTPError as e:
                outcome = repr(e)
            self.latencies.append(time.monotonic() - started)
            self.count += 1
            if outcome != (200, True):
                self.failures.append((path, outcome))
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()


def slowhttptest(*args):
    """Runs slowhttptest and returns its output without colours."""
    assert shutil.which("slowhttptest"), "slowhttptest missing: scripts/install-deps.sh installs it"
    run = subprocess.run(["slowhttptest", *args], capture_output=True, text=True, timeout=60)
    out = ANSI.sub("", run.stdout + run.stderr)
    assert run.returncode == 0, out[-2000:]
    return out


def attack(start_kiln, capsys, site, kiln_args, attack_args, path, kind, connections):
    """Runs one slowhttptest attack with the probe going; returns (timeouts of `kind`, output)."""
    k, base = start_internal(start_kiln, site, ["--workers", "2", *kiln_args])
    series = f'kiln_timeouts_total{{kind="{kind}"}}'
    before = metric(httpx.get(base + "/metrics", timeout=5).text, series)
    with Probe(k) as probe:
        out = slowhttptest(*attack_args, "-c", str(connections), "-r", "50", "-p", "5",
                           "-u", k.url(path))
    cut = metric(httpx.get(base + "/metrics", timeout=5).text, series) - before
    with capsys.disabled():
        print(f"\n[hardening] {attack_args[0]} {kind}: {connections} attack connections, "
              f"{cut:.0f} cut by kiln; probe {probe.count} requests, "
              f"latency median {statistics.median(probe.latencies) * 1000:.1f} ms, "
              f"max {max(probe.latencies) * 1000:.1f} ms")
    assert probe.count > 10, "the probe hardly ran"
    assert probe.failures == [], probe.failures[:5]
    assert "service available:   NO" not in out, out[-2000:]
    return cut, out


def test_slowloris_is_cut_at_the_header_timeout(hardsite, start_kiln, capsys):
    cut, out = attack(start_kiln, capsys, hardsite, ["--header-timeout", "2"],
                      ["-H", "-l", "10", "-i", "1"], "/" + STATIC, "header", 150)
    assert cut >= 150, out[-2000:]
    assert "Exit status: No open connections left" in out, out[-2000:]  # before -l ran out


def test_slow_body_is_cut_below_the_minimum_rate(hardsite, start_kiln, capsys):
    cut, out = attack(start_kiln, capsys, hardsite,
                      ["--idle-timeout", "2", "--body-min-rate", "500"],
                      ["-B", "-l", "10", "-i", "1", "-s", "100000"], "/hello.php", "body", 150)
    assert cut >= 150, out[-2000:]
    assert "Exit status: No open connections left" in out, out[-2000:]  # before -l ran out


def test_slow_read_is_cut_at_the_write_timeout(hardsite, start_kiln, capsys):
    # slowhttptest does not see a connection the server closed while it reads slowly: the
    # write timeouts in /metrics are what shows that kiln cut them
    cut, _ = attack(start_kiln, capsys, hardsite, ["--idle-timeout", "2"],
                    ["-X", "-l", "10", "-k", "3", "-n", "1", "-w", "1", "-y", "64", "-z", "5"],
                    "/" + BIG, "write", 100)
    assert cut >= 100


def test_while_true_is_bounded_by_the_request_timeout(hardsite, start_kiln):
    k, base = start_internal(start_kiln, hardsite, ["--workers", "1", "--request-timeout", "1s"])
    restarts = 'kiln_worker_restarts_total{reason="timed_out"}'
    before = metric(httpx.get(base + "/metrics", timeout=5).text, restarts)
    worker = httpx.get(k.url("/pid.php"), timeout=10).text
    assert httpx.get(k.url("/spin.php"), timeout=15).status_code == 504
    r = httpx.get(k.url("/pid.php"), timeout=15)
    assert r.status_code == 200 and r.text.isdigit() and r.text != worker
    assert metric(httpx.get(base + "/metrics", timeout=5).text, restarts) == before + 1


def alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def descendants(pid):
    """Every live process below `pid`, from /proc."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and alive(entry):
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rpartition(")")[2].split()[1])
            except OSError:
                continue
    found, todo = [], [pid]
    while todo:
        above = todo.pop()
        below = [p for p, parent in parents.items() if parent == above]
        found += below
        todo += below
    return found


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def bombdir(tmp_path):
    """Where each forked child writes its pid."""
    d = tmp_path / "bomb"
    d.mkdir()
    return d


def test_fork_bomb_is_refused_by_default(hardsite, start_kiln, bombdir):
    k = start_kiln(hardsite, ["--workers", "1", "--request-timeout", "5s"])
    r = httpx.get(k.url("/bomb.php"), params={"dir": str(bombdir)}, timeout=15)
    assert r.status_code == 500  # Error: call to undefined function pcntl_fork()
    assert list(bombdir.glob("[0-9]*")) == []
    assert httpx.get(k.url("/hello.php"), timeout=10).text == "hello"


def test_bounded_fork_bomb_ends_with_its_request(hardsite, start_kiln, bombdir):
    k = start_kiln(hardsite, ["--workers", "2", "--request-timeout", "3s",
                              "--php-disable-fork=off"])
    master = k.proc.pid
    assert wait_until(lambda: len(descendants(master)) == 3)  # the zygote and two workers
    served = []
    bomb = threading.Thread(target=lambda: served.append(
        httpx.get(k.url("/bomb.php"), params={"dir": str(bombdir)}, timeout=15).status_code))
    bomb.start()
    children = []
    try:
        assert wait_until(lambda: len([p for p in bombdir.iterdir() if p.read_text()]) == 20)
        children = [int(p.read_text()) for p in bombdir.iterdir()]
        assert all(alive(p) for p in children)
        during = 0
        while bomb.is_alive():  # the other worker keeps serving meanwhile
            assert httpx.get(k.url("/hello.php"), timeout=10).text == "hello"
            during += 1
        assert during > 0
        assert served == [504]
        assert httpx.get(k.url("/hello.php"), timeout=10).text == "hello"
        assert wait_until(lambda: not any(alive(p) for p in children)), \
            [p for p in children if alive(p)]
        # nothing is left below kiln but the zygote and its two workers
        assert wait_until(lambda: len(descendants(master)) == 3), descendants(master)
    finally:
        bomb.join()
        for pid in children:  # a failed test must not leave its sleepers behind
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
