"""Fixtures that start the real kiln binary on a free port of 127.0.0.1 and talk to it."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KILN_BIN = os.environ.get("KILN_BIN", str(ROOT / "build" / "asan" / "kiln"))
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Kiln:
    """One kiln process. Output goes to files so a chatty server never blocks on a pipe."""

    def __init__(self, docroot, args=(), env=None, tmp=None):
        self.port = free_port()
        self.docroot = str(docroot)
        self.args = list(args)
        self.env = dict(os.environ)
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.env.setdefault("LSAN_OPTIONS", f"suppressions={ROOT / 'tests' / 'lsan.supp'}")
        self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        self.env.update(env or {})
        self.tmp = Path(tmp)
        self.proc = None

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    def url(self, path):
        return self.base + path

    def command(self):
        return [KILN_BIN, "--listen", f"127.0.0.1:{self.port}", "--docroot", self.docroot, *self.args]

    def start(self, timeout=15):
        self.stdout = open(self.tmp / f"kiln-{self.port}.out", "w+")
        self.stderr = open(self.tmp / f"kiln-{self.port}.err", "w+")
        self.proc = subprocess.Popen(self.command(), env=self.env, stdout=self.stdout,
                                     stderr=self.stderr)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"kiln exited with {self.proc.returncode}: {self.errors()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("kiln did not start listening")

    def log(self):
        self.stdout.flush()
        self.stdout.seek(0)
        return self.stdout.read()

    def errors(self):
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read()

    def stop(self, timeout=20):
        """SIGTERM, wait for a clean exit, and fail on any sanitizer report."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("kiln did not exit after SIGTERM")
        err = self.errors()
        code = self.proc.returncode
        self.proc = None
        assert not any(m in err for m in SANITIZER_MARKERS), err
        assert code == 0, f"kiln exited with {code}: {err[-3000:]}"

    def raw(self, data, timeout=5, read_until_close=True):
        """Sends raw bytes on a new connection and returns everything read until close/timeout."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
            s.sendall(data)
            return recv_all(s, timeout) if read_until_close else s.recv(65536)


def recv_all(sock, timeout=5):
    sock.settimeout(timeout)
    chunks = []
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    except socket.timeout:
        pass
    return b"".join(chunks)


@pytest.fixture
def site(tmp_path):
    """A small document root; tests add what they need."""
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("<h1>home</h1>\n")
    (root / "hello.php").write_text("<?php echo 'hello';\n")
    (root / "style.css").write_text("body { color: red; }\n")
    (root / "docs").mkdir()
    (root / "docs" / "index.html").write_text("<h1>docs</h1>\n")
    return root


PHP_SCRIPTS = Path(__file__).parent / "php"


@pytest.fixture
def phpsite(tmp_path):
    """A copy of tests/integration/php: the PHP scripts the tests run."""
    import shutil
    root = tmp_path / "phpwww"
    shutil.copytree(PHP_SCRIPTS, root)
    return root


@pytest.fixture
def start_kiln(tmp_path):
    """start_kiln(docroot, args=[...], env={...}) -> a running Kiln, stopped after the test."""
    started = []

    def start(docroot, args=(), env=None):
        k = Kiln(docroot, args, env, tmp_path)
        started.append(k)
        return k.start()

    yield start
    for k in started:
        k.stop()


@pytest.fixture
def kiln(site, start_kiln):
    """Kiln on the `site` document root with the stub executor."""
    return start_kiln(site, ["--executor", "stub"])
