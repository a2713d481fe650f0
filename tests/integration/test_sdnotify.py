"""systemd's Type=notify without systemd: the real binary with NOTIFY_SOCKET pointing at a
datagram socket this test binds, as the service manager would (src/net/sdnotify.c)."""

import os
import signal
import socket
import subprocess
import time

import httpx
import pytest

from conftest import Kiln


def receive(sock, timeout=20):
    sock.settimeout(timeout)
    return sock.recv(4096).decode()


def launch(k):
    """Starts `k` without waiting for its listener: READY=1 is what says it is up."""
    k.stdout = open(k.tmp / f"kiln-{k.port}.out", "w+")
    k.stderr = open(k.tmp / f"kiln-{k.port}.err", "w+")
    k.proc = subprocess.Popen(k.command(), env=k.env, stdout=k.stdout, stderr=k.stderr)
    return k


@pytest.fixture(params=["path", "abstract"])
def notify(request, tmp_path):
    """(receiving socket, NOTIFY_SOCKET value) for a path and for an abstract name."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if request.param == "path":
        name = str(tmp_path / "notify")
        sock.bind(name)
    else:
        name = f"@kiln-test-notify-{os.getpid()}-{time.monotonic_ns()}"
        sock.bind("\0" + name[1:])
    yield sock, name
    sock.close()


def test_ready_after_the_server_answers_and_stopping_on_sigterm(site, tmp_path, notify):
    sock, name = notify
    k = launch(Kiln(site, ["--workers", "1"], {"NOTIFY_SOCKET": name}, tmp_path))
    try:
        ready = receive(sock)
        assert ready.startswith("READY=1\nSTATUS=serving on 127.0.0.1:")
        assert "STATUS=" in ready and "\n" not in ready.split("STATUS=", 1)[1]
        # READY=1 came after start-up: a PHP request is answered at once, and the start-up
        # line is already in the log
        r = httpx.get(k.url("/hello.php"), timeout=10)
        assert r.status_code == 200 and r.text == "hello"
        assert "listening on http://" in k.log()

        k.proc.send_signal(signal.SIGTERM)
        assert receive(sock) == "STOPPING=1"
        assert k.proc.wait(20) == 0
    finally:
        k.stop()
    sock.settimeout(0.2)
    with pytest.raises(socket.timeout):
        sock.recv(4096)  # nothing more: one READY, one STOPPING


def test_without_notify_socket_nothing_changes(kiln):
    assert httpx.get(kiln.url("/"), timeout=5).status_code == 200
    assert "NOTIFY_SOCKET" not in kiln.log()


def test_a_receiver_that_is_gone_only_warns(site, tmp_path):
    k = Kiln(site, ["--executor", "stub"], {"NOTIFY_SOCKET": str(tmp_path / "nobody")}, tmp_path)
    k.start()
    try:
        assert httpx.get(k.url("/"), timeout=5).status_code == 200
        assert "cannot notify the service manager" in k.log()
    finally:
        k.stop()


def test_reload_says_reloading_then_ready(site, tmp_path, notify):
    """systemd's reload protocol: RELOADING=1 (with MONOTONIC_USEC) when a reload begins, READY=1
    once it is over; `kiln --reload` returns after both."""
    from conftest import KILN_BIN
    sock, name = notify
    k = launch(Kiln(site, ["--workers", "1"], {"NOTIFY_SOCKET": name}, tmp_path))
    try:
        assert receive(sock).startswith("READY=1")
        r = subprocess.run([KILN_BIN, "--reload", str(k.proc.pid)], timeout=150)
        assert r.returncode == 0
        reloading = receive(sock)
        assert reloading.startswith("RELOADING=1\nMONOTONIC_USEC=")
        assert receive(sock).startswith("READY=1\nSTATUS=serving on ")
    finally:
        k.stop()
