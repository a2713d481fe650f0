"""REQUEST_TIMEOUT is a hard limit (issue 12, item 3): a PHP script blocked inside the C library
(a socket read with no PHP timeout, flock(), usleep()) is killed by the master at its deadline,
the client gets 504, the worker is replaced and the request never runs again. And each timeout
moves its own kiln_timeouts_total series, no other.

Nothing here measures time: a deadline that never fires makes the client's generous timeout
expire, and the test fails that way."""

import contextlib
import fcntl
import select
import socket
import threading

import httpx
import pytest

from conftest import recv_all
from test_internal import start_internal
from test_metrics import delta, scrape, wait_for
from test_slow_clients import trickle_until_answered

KINDS = ("header", "body", "request", "sse", "write")
TIMED_OUT = 'kiln_worker_restarts_total{reason="timed_out"}'
CLIENT_TIMEOUT = 30  # far beyond every deadline below: reaching it is the failure


def timeouts_moved(before, after):
    """{kind: how much kiln_timeouts_total{kind} moved} for every kind."""
    return {kind: delta(before, after, f'kiln_timeouts_total{{kind="{kind}"}}') for kind in KINDS}


def only(kind):
    return {k: (1 if k == kind else 0) for k in KINDS}


class SilentPeer:
    """A TCP listener on 127.0.0.1 that accepts connections and never sends a byte."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.accepted = []
        self.thread = threading.Thread(target=self.accept, daemon=True)

    def accept(self):
        try:
            while True:
                self.accepted.append(self.listener.accept()[0])
        except OSError:  # the listener was closed
            pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.listener.shutdown(socket.SHUT_RDWR)
        self.listener.close()
        self.thread.join(CLIENT_TIMEOUT)
        for conn in self.accepted:
            conn.close()


@contextlib.contextmanager
def locked(path):
    """Holds an exclusive flock() on `path` for the block."""
    with open(path, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


@pytest.fixture
def one_worker(phpsite, start_kiln):
    """Kiln with one PHP worker, a 1 s REQUEST_TIMEOUT and an internal server; (kiln, base)."""
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1", "--request-timeout", "1s"])
    wait_for(base, "kiln_workers_idle", 1)
    return k, base


def worker_pid(k):
    r = httpx.get(k.url("/runtime/pid.php"), timeout=CLIENT_TIMEOUT)
    assert r.status_code == 200 and r.text.isdigit(), r.text
    return r.text


@pytest.mark.parametrize("how", ["socket", "flock", "sleep"])
def test_a_script_blocked_in_c_is_killed_at_the_request_timeout(one_worker, tmp_path, how):
    k, base = one_worker
    marker = tmp_path / "marker"
    params = {"how": how, "marker": str(marker)}
    first = worker_pid(k)
    with contextlib.ExitStack() as held:
        if how == "socket":
            peer = held.enter_context(SilentPeer())
            params["port"] = peer.port
        elif how == "flock":
            params["file"] = str(tmp_path / "lock")
            held.enter_context(locked(tmp_path / "lock"))
        before = scrape(base)
        r = httpx.get(k.url("/timeouts/block.php"), params=params, timeout=CLIENT_TIMEOUT)
        assert r.status_code == 504
        after = wait_for(base, TIMED_OUT, before[TIMED_OUT] + 1)
        if how == "socket":
            # the script did connect and block on its read; the kill closed its end
            assert len(peer.accepted) == 1
            peer.accepted[0].settimeout(CLIENT_TIMEOUT)
            assert peer.accepted[0].recv(1) == b""
    assert timeouts_moved(before, after) == only("request")
    # a fresh worker serves the next request
    assert worker_pid(k) != first
    # the blocked script ran once, in the worker that was killed, and never again
    assert marker.read_text() == f"{first}\n"
    assert delta(before, scrape(base), TIMED_OUT) == 1


def test_a_slow_body_and_a_client_that_does_not_read_each_move_their_own_counter(phpsite,
                                                                                  start_kiln):
    """The header, idle-body, request and SSE timeouts are checked one kind at a time in
    test_metrics.py, test_sse.py and above; these are the two left: BODY_MIN_RATE counts as
    `body` (and nothing else), a client that stops reading counts as `write`."""
    (phpsite / "large.bin").write_bytes(b"\0" * (32 << 20))
    k, base = start_internal(start_kiln, phpsite, ["--executor", "stub", "--idle-timeout", "1",
                                                   "--body-min-rate", "100"])
    before = scrape(base)
    with socket.create_connection(("127.0.0.1", k.port), timeout=CLIENT_TIMEOUT) as s:
        s.sendall(b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n")
        sent = trickle_until_answered(lambda: s.sendall(b"a"),
                                      lambda: select.select([s], [], [], 0)[0])
        assert sent < 40
        assert recv_all(s, timeout=CLIENT_TIMEOUT).startswith(b"HTTP/1.1 408 ")
    middle = scrape(base)
    assert timeouts_moved(before, middle) == only("body")

    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", k.port))
    s.sendall(b"GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n")  # and read nothing
    try:
        after = wait_for(base, 'kiln_timeouts_total{kind="write"}',
                         middle['kiln_timeouts_total{kind="write"}'] + 1)
    finally:
        s.close()
    assert timeouts_moved(middle, after) == only("write")
