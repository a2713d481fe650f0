"""The internal server (INTERNAL_ADDR): /health, /ready, /live, /metrics, /config, and that it
answers on its own, whatever the PHP workers and the document root are doing."""

import json
import re
import shutil
import signal
import subprocess
import threading

import httpx
import pytest

from conftest import free_port

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def start_internal(start_kiln, docroot, args=()):
    """Kiln with an internal server; returns (kiln, base URL of the internal server)."""
    port = free_port()
    k = start_kiln(docroot, ["--internal-addr", f"127.0.0.1:{port}", *args])
    return k, f"http://127.0.0.1:{port}"


def get(base, path, **kw):
    return httpx.get(base + path, timeout=kw.pop("timeout", 5), **kw)


def metric(text, name):
    """The value of one series, e.g. metric(body, 'kiln_workers_busy')."""
    m = re.search(r"^" + re.escape(name) + r" (\S+)$", text, re.M)
    assert m, f"{name} not in /metrics"
    return float(m.group(1))


@pytest.fixture
def stub(site, start_kiln):
    return start_internal(start_kiln, site, ["--executor", "stub"])


def test_health_shape(stub):
    k, base = stub
    httpx.get(k.url("/index.html"), timeout=5)
    r = get(base, "/health")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert list(body) == ["status", "timestamp", "active_connections", "total_requests"]
    assert body["status"] == "ok"
    assert all(isinstance(body[key], int) for key in list(body)[1:])
    assert body["timestamp"] > 1_600_000_000


def test_live_and_ready(stub):
    _, base = stub
    for path, text in (("/live", "ok\n"), ("/ready", "ready\n")):
        r = get(base, path)
        assert r.status_code == 200 and r.text == text
        assert r.headers["content-type"] == "text/plain; charset=utf-8"


def test_metrics_pass_promtool(stub):
    k, base = stub
    httpx.get(k.url("/index.html"), timeout=5)
    r = get(base, "/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"] == METRICS_TYPE
    for family in ("kiln_requests_total", "kiln_responses_total", "kiln_uptime_seconds",
                   "kiln_active_connections", "kiln_request_duration_seconds",
                   "kiln_worker_restarts_total", "kiln_tls_handshakes_total", "node_load1"):
        assert f"\n# TYPE {family} " in "\n" + r.text
    assert metric(r.text, "kiln_uptime_seconds") > 0
    assert shutil.which("promtool"), "promtool missing: scripts/install-deps.sh installs prometheus"
    check = subprocess.run(["promtool", "check", "metrics"], input=r.content, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_config_is_the_effective_configuration(stub, site):
    _, base = stub
    r = get(base, "/config")
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    cfg = r.json()
    assert all(isinstance(v, str) for v in cfg.values())
    assert cfg["DOCUMENT_ROOT"] == str(site.resolve())
    assert cfg["EXECUTOR"] == "stub"
    assert cfg["INTERNAL_ADDR"] == base.removeprefix("http://")
    assert int(cfg["PHP_WORKERS"]) >= 1  # resolved, never 0
    assert cfg["REQUEST_TIMEOUT"] == "2m" and cfg["TLS_KEY"] == ""


def test_unknown_paths_methods_and_the_document_root(stub):
    _, base = stub
    for path in ("/", "/index.html", "/hello.php", "/docs/", "/healthz", "/health/x"):
        r = get(base, path)
        assert r.status_code == 404, path
        assert "home" not in r.text and "docs" not in r.text
    r = httpx.post(base + "/health", timeout=5)
    assert r.status_code == 405 and r.headers["allow"] == "GET, HEAD"
    r = httpx.head(base + "/metrics", timeout=5)
    assert r.status_code == 200 and r.content == b""
    assert get(base, "/health?verbose=1").status_code == 200


def test_h2c_on_the_internal_port_does_not_reach_the_document_root(stub):
    _, base = stub
    out = subprocess.run(["curl", "-s", "--http2-prior-knowledge", "-o", "/dev/null",
                          "-w", "%{http_version} %{http_code}", base + "/index.html"],
                         capture_output=True, text=True, timeout=10)
    assert out.stdout == "2 404"


def test_answers_while_every_worker_sleeps(phpsite, start_kiln):
    k, base = start_internal(start_kiln, phpsite, ["--workers", "2"])
    results = []

    def sleeper():
        results.append(httpx.get(k.url("/sleep.php?ms=3000"), timeout=20).status_code)

    threads = [threading.Thread(target=sleeper) for _ in range(2)]
    for t in threads:
        t.start()
    for _ in range(400):  # until both workers have begun (the scoreboard says so)
        if metric(get(base, "/metrics").text, "kiln_workers_busy") == 2:
            break
    else:
        raise AssertionError("the workers never became busy")
    health = get(base, "/health", timeout=1)
    live = get(base, "/live", timeout=1)
    ready = get(base, "/ready", timeout=1)
    still_sleeping = all(t.is_alive() for t in threads)
    for t in threads:
        t.join()
    assert health.status_code == 200 and live.status_code == 200 and ready.status_code == 200
    assert still_sleeping, "the internal server answered only after the workers were free"
    assert results == [200, 200]


def test_ready_is_503_while_draining(phpsite, start_kiln):
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1", "--drain-timeout", "10"])
    for _ in range(400):  # the worker is up
        if get(base, "/ready").status_code == 200:
            break
    else:
        raise AssertionError("never ready")
    slow = {}
    t = threading.Thread(
        target=lambda: slow.setdefault("r", httpx.get(k.url("/sleep.php?ms=3000"), timeout=20)))
    t.start()
    for _ in range(400):
        if metric(get(base, "/metrics").text, "kiln_workers_busy") == 1:
            break
    k.proc.send_signal(signal.SIGTERM)
    for _ in range(400):
        r = get(base, "/ready")
        if r.status_code == 503:
            break
    assert r.status_code == 503 and r.text == "draining\n"
    assert t.is_alive(), "the slow request had already finished"
    assert get(base, "/live").status_code == 200  # the loop still turns
    t.join()
    assert slow["r"].status_code == 200
    assert k.proc.wait(10) == 0


def test_config_redacts_the_tls_key_and_counts_handshakes(phpsite, start_kiln, tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", tmp_path / "key.pem",
                    "-out", tmp_path / "cert.pem", "-days", "2", "-subj", "/CN=localhost"],
                   check=True, capture_output=True)
    k, base = start_internal(start_kiln, phpsite, [
        "--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem")])
    cfg = get(base, "/config").json()
    assert cfg["TLS_KEY"] == "[redacted]"
    assert cfg["TLS_CERT"] == str(tmp_path / "cert.pem")
    assert "key.pem" not in get(base, "/config").text
    httpx.get(f"https://127.0.0.1:{k.port}/text.php", verify=False, timeout=5)
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{k.port}/text.php", timeout=5)  # plain HTTP to TLS
    text = get(base, "/metrics").text
    assert metric(text, "kiln_tls_handshakes_total") == 1
    assert metric(text, "kiln_tls_handshake_failures_total") == 1


def test_ready_stays_200_while_workers_are_recycled(phpsite, start_kiln):
    """Workers replaced after every request (WORKER_MAX_REQUESTS=1) are briefly starting:
    once Kiln was ready, that must not take it out of a load balancer's rotation."""
    k, base = start_internal(start_kiln, phpsite, ["--workers", "2", "--worker-max-requests", "1"])
    for _ in range(400):
        if get(base, "/ready").status_code == 200:
            break
    else:
        raise AssertionError("never ready")
    stop = threading.Event()

    def load():
        with httpx.Client(timeout=10) as c:
            while not stop.is_set():
                c.get(k.url("/sleep.php?ms=1"))

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    codes = []
    with httpx.Client(timeout=5) as c:
        while len(codes) < 300:
            codes.append(c.get(base + "/ready").status_code)
    stop.set()
    for t in threads:
        t.join()
    restarts = metric(get(base, "/metrics").text, 'kiln_worker_restarts_total{reason="recycled"}')
    assert restarts > 10, "the workers were not recycled"
    assert set(codes) == {200}, f"{codes.count(503)} of {len(codes)} probes said 503"
