"""Graceful reload (SIGHUP, `kiln --reload PID`): a new php-zygote with fresh php.ini and
OPcache, new requests on new workers only, old workers finish what they run, nothing fails."""

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time

import httpx
import pytest

from conftest import KILN_BIN, free_port

VERSION_PHP = '<?php echo "{v} ", getmypid(), "\\n";\n'
SLEEP_PHP = '<?php usleep((int)($_GET["ms"] ?? 0) * 1000); echo "{v} slept\\n";\n'


def release(path, version):
    """A release directory: v.php says which version runs, sleep.php too after a pause."""
    path.mkdir(parents=True, exist_ok=True)
    (path / "v.php").write_text(VERSION_PHP.format(v=version))
    (path / "sleep.php").write_text(SLEEP_PHP.format(v=version))
    (path / "hello.php").write_text("<?php echo 'hello';\n")
    return path


def reload_command(pid):
    """`kiln --reload PID`: returns its exit status and stderr."""
    r = subprocess.run([KILN_BIN, "--reload", str(pid)], capture_output=True, text=True,
                       timeout=150)
    return r.returncode, r.stderr


def versions(k, n=8):
    """The versions n requests answer with (both workers get some)."""
    with httpx.Client(timeout=10) as c:
        return {c.get(k.url("/v.php")).text.split()[0] for _ in range(n)}


def metric(k, name):
    text = httpx.get(f"http://127.0.0.1:{k.internal_port}/metrics", timeout=5).text
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


@pytest.fixture
def deploy(tmp_path):
    """releases/r1 and a `current` symlink to it."""
    base = tmp_path / "deploy"
    release(base / "r1", "v1")
    (base / "current").symlink_to(base / "r1")
    return base


def start(start_kiln, root, *extra):
    internal = free_port()
    k = start_kiln(root, ["--workers", "2", "--internal-addr", f"127.0.0.1:{internal}",
                          "-d", "opcache.validate_timestamps=0",
                          "-d", "opcache.file_update_protection=0", *extra])
    k.internal_port = internal
    return k


def test_reload_runs_new_code_although_opcache_never_revalidates(tmp_path, start_kiln):
    root = release(tmp_path / "app", "v1")
    k = start(start_kiln, root)
    assert versions(k) == {"v1"}
    (root / "v.php").write_text(VERSION_PHP.format(v="v2"))
    assert versions(k) == {"v1"}  # validate_timestamps=0: the cached script stays
    old_pids = {httpx.get(k.url("/v.php")).text.split()[1] for _ in range(4)}
    assert reload_command(k.proc.pid) == (0, "")
    assert versions(k) == {"v2"}  # the first request after the reload already runs it
    new_pids = {httpx.get(k.url("/v.php")).text.split()[1] for _ in range(4)}
    assert not old_pids & new_pids
    assert metric(k, 'kiln_reloads_total{result="ok"}') == 1
    log = k.log()
    assert "reload complete" in log


def test_symlink_deploy_is_resolved_again(deploy, start_kiln):
    k = start(start_kiln, deploy / "current")
    assert versions(k) == {"v1"}
    release(deploy / "r2", "v2")
    (deploy / "next").symlink_to(deploy / "r2")
    os.replace(deploy / "next", deploy / "current")  # the atomic swap deploy tools do
    assert versions(k) == {"v1"}  # still the resolved r1 until the reload
    assert reload_command(k.proc.pid)[0] == 0
    assert versions(k) == {"v2"}
    info = json.loads(httpx.get(f"http://127.0.0.1:{k.internal_port}/config").text)
    assert json.dumps(info).count(str(deploy / "r2")) >= 1
    # static files come from the new release too
    (deploy / "r2" / "page.html").write_text("r2 page")
    assert httpx.get(k.url("/page.html")).text == "r2 page"


def test_plain_sighup_reloads_without_answering_the_sender(tmp_path, start_kiln):
    """kill -HUP from a shell gets no SIGUSR1 (it would end the shell): only --reload asks."""
    root = release(tmp_path / "app", "v1")
    k = start(start_kiln, root)
    got = []
    old = signal.signal(signal.SIGUSR1, lambda *a: got.append(1))
    try:
        (root / "v.php").write_text(VERSION_PHP.format(v="v2"))
        os.kill(k.proc.pid, signal.SIGHUP)
        deadline = time.monotonic() + 30
        while "reload complete" not in k.log():
            assert time.monotonic() < deadline, k.log()
            time.sleep(0.05)
        assert versions(k) == {"v2"}
        time.sleep(0.2)
        assert got == []
    finally:
        signal.signal(signal.SIGUSR1, old)


def test_request_running_during_reload_finishes_on_the_old_worker(tmp_path, start_kiln):
    root = release(tmp_path / "app", "v1")
    k = start(start_kiln, root)
    result = {}

    def slow():
        result["r"] = httpx.get(k.url("/sleep.php?ms=1500"), timeout=20)

    t = threading.Thread(target=slow)
    t.start()
    time.sleep(0.4)  # it runs now (no assertion on time: only the order matters)
    (root / "sleep.php").write_text(SLEEP_PHP.format(v="v2"))
    (root / "v.php").write_text(VERSION_PHP.format(v="v2"))
    assert reload_command(k.proc.pid)[0] == 0
    assert versions(k, 4) == {"v2"}  # new requests on new workers while the old one works
    t.join()
    assert result["r"].status_code == 200 and result["r"].text == "v1 slept\n"
    assert httpx.get(k.url("/sleep.php?ms=0")).text == "v2 slept\n"
    deadline = time.monotonic() + 20
    while "the retired php-zygote has exited" not in k.log():
        assert time.monotonic() < deadline, k.log()
        time.sleep(0.05)


def test_failed_reload_keeps_the_old_workers(tmp_path, start_kiln):
    """A deploy that breaks PHP's start-up (a preload script with a parse error) is refused: the
    running workers serve on, the log says why, and --reload exits 1."""
    root = release(tmp_path / "app", "v1")
    ini = tmp_path / "php.ini"
    ini.write_text("opcache.enable=1\n")
    k = start(start_kiln, root, "--php-ini", str(ini))
    pids = {httpx.get(k.url("/v.php")).text.split()[1] for _ in range(4)}
    (root / "preload.php").write_text("<?php this is not php\n")
    ini.write_text(f"opcache.enable=1\nopcache.preload={root}/preload.php\n"
                   "opcache.preload_user=root\n")
    code, err = reload_command(k.proc.pid)
    assert code == 1 and "failed" in err
    assert "reload failed" in k.log()
    assert metric(k, 'kiln_reloads_total{result="failed"}') == 1
    after = {httpx.get(k.url("/v.php")).text.split()[1] for _ in range(4)}
    assert after <= pids  # the same worker processes
    ini.write_text("opcache.enable=1\n")  # fixed: the next reload goes through
    assert reload_command(k.proc.pid)[0] == 0
    assert not {httpx.get(k.url("/v.php")).text.split()[1] for _ in range(4)} & pids


def test_missing_document_root_fails_the_reload(deploy, start_kiln):
    k = start(start_kiln, deploy / "current")
    (deploy / "current").unlink()
    code, _ = reload_command(k.proc.pid)
    assert code == 1
    assert "DOCUMENT_ROOT" in k.log()
    assert versions(k) == {"v1"}  # served from the root resolved before


def test_reload_command_errors():
    r = subprocess.run([KILN_BIN, "--reload", "nope"], capture_output=True, text=True)
    assert r.returncode == 2 and "--reload" in r.stderr
    r = subprocess.run([KILN_BIN, "--reload", "999999999"], capture_output=True, text=True)
    assert r.returncode == 1 and "cannot signal" in r.stderr


def wrk_summary(out):
    """(requests, non-2xx/3xx responses, socket errors) from wrk's report."""
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(int(x) for x in m.groups()) if m else 0
    return requests, bad, errors


def test_reloads_under_load_lose_nothing(tmp_path, start_kiln):
    """wrk on a PHP page (keep-alive connections) during five reloads: every request answered
    200, no socket error, and each reload reported as done."""
    root = release(tmp_path / "app", "v1")
    k = start(start_kiln, root)
    wrk = subprocess.Popen(["wrk", "-t2", "-c16", "-d8s", "--timeout", "10s",
                            k.url("/sleep.php?ms=2")], stdout=subprocess.PIPE, text=True)
    time.sleep(1)
    for i in range(5):
        (root / "v.php").write_text(VERSION_PHP.format(v=f"v{i + 2}"))
        assert reload_command(k.proc.pid) == (0, "")
        assert versions(k, 2) == {f"v{i + 2}"}
    out, _ = wrk.communicate(timeout=60)
    requests, bad, errors = wrk_summary(out)
    assert requests > 0 and bad == 0 and errors == 0, out
    assert metric(k, 'kiln_reloads_total{result="ok"}') == 5
    assert "is gone" not in k.log()  # no worker was lost or cut: each was replaced quietly


def make_cert(directory, name):
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(directory / "key.pem"),
                    "-out", str(directory / "cert.pem"), "-days", "2", "-subj", f"/CN={name}"],
                   check=True, capture_output=True)
    return directory


def served_cert_name(port):
    """The CN of the certificate a new TLS connection gets."""
    out = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                          "-servername", "localhost"], input="", capture_output=True, text=True,
                         timeout=20).stdout
    return re.search(r"subject=CN ?= ?(\S+)", out).group(1)


def test_reload_takes_a_renewed_certificate(tmp_path, start_kiln):
    root = release(tmp_path / "app", "v1")
    live = make_cert(tmp_path / "live", "first")
    k = start(start_kiln, root, "--tls-cert", str(live / "cert.pem"), "--tls-key",
              str(live / "key.pem"))
    assert served_cert_name(k.port) == "first"
    renewed = make_cert(tmp_path / "renewed", "second")
    shutil.copy(renewed / "key.pem", live / "key.pem")
    shutil.copy(renewed / "cert.pem", live / "cert.pem")
    assert reload_command(k.proc.pid)[0] == 0
    assert served_cert_name(k.port) == "second"
    # a broken renewal keeps the certificate in use; PHP's reload still goes through
    (live / "cert.pem").write_text("not a certificate")
    assert reload_command(k.proc.pid)[0] == 0
    assert "TLS certificate stays" in k.log()
    assert served_cert_name(k.port) == "second"


def test_reload_asked_during_a_reload_is_answered_after_its_own(tmp_path, start_kiln):
    """A --reload that arrives while another reload is starting waits for the reload run for it
    (the one started may have read php.ini before the change the asker made)."""
    root = release(tmp_path / "app", "v1")
    k = start(start_kiln, root)
    os.kill(k.proc.pid, signal.SIGHUP)  # starts a new php-zygote, which takes a while
    assert reload_command(k.proc.pid)[0] == 0
    assert k.log().count("reload complete") == 2


def test_connections_stay_open_across_a_reload(tmp_path, start_kiln):
    """A kept-alive HTTP/1.1 connection and an h2c connection both carry requests before and
    after the reload: the same sockets, the new code on the second request."""
    import http.client
    import socket as sock_mod
    import h2.connection
    import h2.events
    root = release(tmp_path / "app", "v1")
    k = start(start_kiln, root)
    h1 = http.client.HTTPConnection("127.0.0.1", k.port, timeout=10)
    h1.request("GET", "/v.php")
    assert h1.getresponse().read().startswith(b"v1 ")
    s = sock_mod.create_connection(("127.0.0.1", k.port), timeout=10)
    conn = h2.connection.H2Connection()
    conn.initiate_connection()
    s.sendall(conn.data_to_send())

    def h2_get(stream_id):
        conn.send_headers(stream_id, [(":method", "GET"), (":path", "/v.php"),
                                      (":scheme", "http"), (":authority", "localhost")],
                          end_stream=True)
        s.sendall(conn.data_to_send())
        body = b""
        while True:
            data = s.recv(65536)
            assert data, "the h2c connection closed"
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.DataReceived) and ev.stream_id == stream_id:
                    body += ev.data
                    conn.acknowledge_received_data(ev.flow_controlled_length, stream_id)
                if isinstance(ev, h2.events.StreamEnded) and ev.stream_id == stream_id:
                    s.sendall(conn.data_to_send())
                    return body
            s.sendall(conn.data_to_send())

    assert h2_get(1).startswith(b"v1 ")
    (root / "v.php").write_text(VERSION_PHP.format(v="v2"))
    assert reload_command(k.proc.pid)[0] == 0
    h1.request("GET", "/v.php")
    assert h1.getresponse().read().startswith(b"v2 ")  # same connection, new code
    assert h2_get(3).startswith(b"v2 ")
    h1.close()
    s.close()
