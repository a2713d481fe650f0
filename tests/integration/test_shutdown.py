"""Graceful shutdown: requests in flight finish, idle connections close, HTTP/2 gets GOAWAY."""

import http.client
import signal
import socket
import threading
import time

import subprocess

import httpx
import pytest

from conftest import recv_all


@pytest.fixture
def php(phpsite, start_kiln):
    return start_kiln(phpsite, ["--workers", "2", "--drain-timeout", "10"])


def test_sigterm_lets_requests_in_flight_finish(php):
    results = {}

    def slow():
        results["r"] = httpx.get(php.url("/sleep.php?ms=1500"), timeout=10)

    idle = socket.create_connection(("127.0.0.1", php.port))
    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.5)
    php.proc.send_signal(signal.SIGTERM)
    idle.settimeout(5)
    assert idle.recv(1) == b""  # the idle keep-alive connection is closed after a short grace
    t.join()
    assert results["r"].status_code == 200 and results["r"].text == "slept 1500\n"
    assert php.proc.wait(10) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", php.port), timeout=2)


def wait_until_not_listening(port):
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
        except OSError:
            return
        time.sleep(0.01)
    raise AssertionError("the listener is still open")


def test_requests_on_idle_keep_alive_connections_during_drain_are_answered(php):
    """A request that the client sent on a kept-alive connection as the drain began (it could
    not know) gets a whole response with Connection: close, not an EOF."""
    conns = []
    for _ in range(8):
        c = http.client.HTTPConnection("127.0.0.1", php.port, timeout=10)
        c.request("GET", "/sleep.php?ms=0")
        r = c.getresponse()
        assert r.read() == b"slept 0\n" and not r.will_close
        conns.append(c)
    php.proc.send_signal(signal.SIGTERM)
    wait_until_not_listening(php.port)  # the drain has begun
    for c in conns:
        c.request("GET", "/sleep.php?ms=0")
    for c in conns:
        r = c.getresponse()
        assert r.status == 200 and r.read() == b"slept 0\n"
        assert r.getheader("Connection") == "close"
        c.close()
    assert php.proc.wait(10) == 0


def test_no_request_on_a_busy_keep_alive_connection_is_lost_across_sigterm(php):
    """Clients loop on kept-alive connections while SIGTERM arrives: every request sent gets a
    whole response; each connection ends after one that says Connection: close."""
    failures, answered = [], []

    def client():
        c = http.client.HTTPConnection("127.0.0.1", php.port, timeout=10)
        try:
            while True:
                c.request("GET", "/sleep.php?ms=0")
                r = c.getresponse()
                body = r.read()
                if r.status != 200 or body != b"slept 0\n":
                    failures.append((r.status, body))
                answered.append(1)
                if r.will_close:
                    return
        except (OSError, http.client.HTTPException) as e:
            failures.append(repr(e))
        finally:
            c.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    php.proc.send_signal(signal.SIGTERM)
    for t in threads:
        t.join(20)
    assert failures == [] and len(answered) > 8
    assert php.proc.wait(10) == 0


def test_sigterm_sends_goaway_and_finishes_open_streams(php):
    client = subprocess.Popen(["nghttp", "-v", php.url("/sleep.php?ms=1500")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    time.sleep(0.5)
    php.proc.send_signal(signal.SIGTERM)
    out, _ = client.communicate(timeout=15)
    assert "recv GOAWAY frame" in out
    assert ":status: 200" in out and "slept 1500" in out
    assert client.returncode == 0
    assert php.proc.wait(10) == 0


def test_tls_handshake_is_bounded_by_the_header_timeout(tmp_path, start_kiln):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", tmp_path / "k.pem",
                    "-out", tmp_path / "c.pem", "-days", "1", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    root = tmp_path / "www"
    root.mkdir()
    k = start_kiln(root, ["--executor", "stub", "--header-timeout", "1", "--tls-cert",
                          str(tmp_path / "c.pem"), "--tls-key", str(tmp_path / "k.pem")])
    with socket.create_connection(("127.0.0.1", k.port), timeout=5) as s:
        start = time.monotonic()
        s.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and then nothing
        assert recv_all(s, timeout=5) == b""
        assert time.monotonic() - start < 4
