"""Graceful shutdown: requests in flight finish, idle connections close, HTTP/2 gets GOAWAY."""

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
    assert idle.recv(1) == b""  # the idle keep-alive connection is closed at once
    t.join()
    assert results["r"].status_code == 200 and results["r"].text == "slept 1500\n"
    assert php.proc.wait(10) == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", php.port), timeout=2)


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
