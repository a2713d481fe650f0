"""The metrics of /metrics move at their call sites: by exactly N after N events, on the real
binary with an internal server (issue 10). Every test reads the counters before and after its
traffic, so only the difference is asserted."""

import gzip
import re
import shutil
import socket
import subprocess
import threading
import time

import httpx
import pytest

from conftest import recv_all
from test_internal import get, start_internal

IDENTITY = {"Accept-Encoding": "identity"}
SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")


def scrape(base):
    """Every series of /metrics: {'kiln_requests_total{method="GET"}': 3.0, ...}."""
    r = get(base, "/metrics")
    assert r.status_code == 200
    values = {}
    for line in r.text.splitlines():
        m = SERIES.match(line)
        if m:
            values[m.group(1)] = float(m.group(2))
    return values


def moved(before, after):
    """The series that changed, by how much."""
    return {k: after[k] - before.get(k, 0) for k in after if after[k] != before.get(k, 0)}


def delta(before, after, series):
    return after[series] - before.get(series, 0)


def wait_for(base, series, value):
    """Polls /metrics until `series` reads `value` (the pool reports a worker's end on its own
    time); returns the last scrape."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        now = scrape(base)
        if now.get(series) == value:
            return now
        time.sleep(0.02)
    raise AssertionError(f"{series} never reached {value}: {now.get(series)}")


def promtool_clean(base):
    assert shutil.which("promtool"), "promtool missing: scripts/install-deps.sh installs prometheus"
    body = get(base, "/metrics").content
    check = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    assert check.returncode == 0, check.stdout + check.stderr


def histogram(values, name, labels=""):
    """(buckets as [(le, count)] in file order, _count, _sum) of one histogram series."""
    sep = "," if labels else ""
    buckets = []
    for key, v in values.items():
        m = re.fullmatch(re.escape(name) + r"_bucket\{" + re.escape(labels + sep) +
                         r'le="([^"]+)"\}', key)
        if m:
            buckets.append((float(m.group(1)), v))
    suffix = "{" + labels + "}" if labels else ""
    return buckets, values[f"{name}_count{suffix}"], values[f"{name}_sum{suffix}"]


def assert_histogram_counts(values, name, labels, n):
    buckets, count, total = histogram(values, name, labels)
    assert buckets and buckets[-1][0] == float("inf")
    counts = [c for _, c in buckets]
    assert counts == sorted(counts), f"{name} buckets are not cumulative: {buckets}"
    assert buckets[-1][1] == count == n
    assert total > 0


@pytest.fixture
def php(phpsite, start_kiln):
    (phpsite / "hello.php").write_text("<?php echo 'hello';\n")
    (phpsite / "page.html").write_text("<p>a static page</p>\n" * 3)
    return start_internal(start_kiln, phpsite, ["--workers", "2"])


def test_requests_responses_and_durations_move_by_exactly_n(php):
    k, base = php
    n = 3
    before = scrape(base)
    c = httpx.Client(base_url=k.base, timeout=10, headers=IDENTITY)
    for _ in range(n):
        assert c.get("/hello.php").status_code == 200
        assert c.post("/hello.php", content=b"x=1").status_code == 200
        assert c.head("/hello.php").status_code == 200
        assert c.request("PROPFIND", "/hello.php").status_code == 200  # OTHER
    assert c.get("/sleep.php?ms=20").status_code == 200  # one request that takes some time
    for _ in range(2):
        assert c.get("/missing.html").status_code == 404
        assert c.get("/fatal.php").status_code == 500
    c.close()
    after = scrape(base)
    requests = {m: delta(before, after, f'kiln_requests_total{{method="{m}"}}')
                for m in ("GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "PATCH", "OTHER")}
    assert requests == {"GET": n + 1 + 4, "POST": n, "HEAD": n, "PUT": 0, "DELETE": 0,
                        "OPTIONS": 0, "PATCH": 0, "OTHER": n}
    total = sum(requests.values())
    responses = {s: delta(before, after, f'kiln_responses_total{{status="{s}"}}')
                 for s in ("2xx", "3xx", "4xx", "5xx")}
    assert responses == {"2xx": 4 * n + 1, "3xx": 0, "4xx": 2, "5xx": 2}
    assert_histogram_counts(after, "kiln_request_duration_seconds", 'protocol="http1"', total)
    assert after['kiln_request_duration_seconds_count{protocol="http2"}'] == 0
    assert after["kiln_response_time_avg_seconds"] > 0
    assert after["kiln_requests_per_second"] > 0
    # every PHP request waited in the queue (maybe 0 s) and ran on a worker, the failed ones too
    php_requests = 4 * n + 1 + 2
    assert delta(before, after, "kiln_queue_wait_seconds_count") == php_requests
    assert delta(before, after, "kiln_php_duration_seconds_count") == php_requests
    assert_histogram_counts(after, "kiln_php_duration_seconds", "", php_requests)
    # the internal server's own requests (these scrapes) are not counted
    again = scrape(base)
    assert not {k: v for k, v in moved(after, again).items()
                if k.startswith(("kiln_requests_total", "kiln_responses_total"))}
    promtool_clean(base)


def test_response_bytes_are_the_body_bytes_sent(php):
    k, base = php
    before = scrape(base)
    sizes = []
    with httpx.Client(base_url=k.base, timeout=10, headers=IDENTITY) as c:
        for path in ("/hello.php", "/page.html", "/big.php?size=70000", "/missing.html"):
            r = c.get(path)
            assert "content-encoding" not in r.headers
            sizes.append(len(r.content))
        assert c.head("/page.html").content == b""  # a HEAD sends no body bytes
        assert c.head("/hello.php").content == b""
    after = scrape(base)
    assert sizes[2] == 70000
    assert delta(before, after, "kiln_response_bytes_total") == sum(sizes)


def test_compression_bytes_move_with_accept_encoding(php):
    k, base = php
    before = scrape(base)
    with httpx.Client(base_url=k.base, timeout=10, headers=IDENTITY) as c:
        plain = c.get("/text.php?lines=2000").content
        raw = []
        for _ in range(2):
            with c.stream("GET", "/text.php?lines=2000",
                          headers={"Accept-Encoding": "gzip"}) as r:
                assert r.headers["content-encoding"] == "gzip"
                raw.append(b"".join(r.iter_raw()))
        assert all(gzip.decompress(b) == plain for b in raw)
    after = scrape(base)
    assert delta(before, after, "kiln_compression_in_bytes_total") == 2 * len(plain)
    assert delta(before, after, "kiln_compression_out_bytes_total") == sum(map(len, raw))
    assert delta(before, after, "kiln_response_bytes_total") == len(plain) + sum(map(len, raw))


def test_compressed_static_files_count_every_response(php, phpsite):
    k, base = php
    css = b"body { color: red; margin: 0 auto; }\n" * 200
    (phpsite / "site.css").write_bytes(css)
    before = scrape(base)
    raw = []
    with httpx.Client(base_url=k.base, timeout=10) as c:
        for _ in range(3):  # compressed once, then from the cache: each response counts
            with c.stream("GET", "/site.css", headers={"Accept-Encoding": "gzip"}) as r:
                assert r.headers["content-encoding"] == "gzip"
                raw.append(b"".join(r.iter_raw()))
        with c.stream("HEAD", "/site.css", headers={"Accept-Encoding": "gzip"}) as r:
            assert r.headers["content-encoding"] == "gzip"
    assert all(gzip.decompress(b) == css for b in raw)
    after = scrape(base)
    assert delta(before, after, "kiln_compression_in_bytes_total") == 3 * len(css)
    assert delta(before, after, "kiln_compression_out_bytes_total") == sum(map(len, raw))


def test_h2c_requests_count_streams_and_http2_durations(php):
    k, base = php
    before = scrape(base)
    paths = ["/hello.php", "/page.html", "/missing.html", "/sleep.php?ms=20"]
    # nghttp sends them as four streams on one connection and prints each one's status
    out = subprocess.run(["nghttp", "-n", "-s", *map(k.url, paths)],
                         capture_output=True, text=True, timeout=20)
    assert out.returncode == 0, out.stderr
    rows = re.findall(r"^\s*\d+\s+\S+\s+\S+\s+\S+\s+(\d{3})\s+\d+\s+(\S+)$", out.stdout, re.M)
    assert {path: code for code, path in rows} == {
        "/hello.php": "200", "/page.html": "200", "/missing.html": "404", "/sleep.php?ms=20": "200"}
    after = scrape(base)
    assert delta(before, after, "kiln_http2_streams_total") == 4
    assert delta(before, after, 'kiln_requests_total{method="GET"}') == 4
    assert_histogram_counts(after, "kiln_request_duration_seconds", 'protocol="http2"', 4)


def test_header_body_and_write_timeouts_are_counted(phpsite, start_kiln):
    (phpsite / "large.bin").write_bytes(b"\0" * (32 << 20))
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1", "--header-timeout", "1",
                                                   "--idle-timeout", "1"])
    kinds = ("header", "body", "request", "sse", "write")
    before = scrape(base)
    with socket.create_connection(("127.0.0.1", k.port), timeout=5) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and never the end of the head
        assert recv_all(s, timeout=5).startswith(b"HTTP/1.1 408 ")
    with socket.create_connection(("127.0.0.1", k.port), timeout=5) as s:
        s.sendall(b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        assert recv_all(s, timeout=5).startswith(b"HTTP/1.1 408 ")
    after = scrape(base)
    assert {kind: delta(before, after, f'kiln_timeouts_total{{kind="{kind}"}}')
            for kind in kinds} == {"header": 1, "body": 1, "request": 0, "sse": 0, "write": 0}
    assert delta(before, after, 'kiln_responses_total{status="4xx"}') == 2
    assert delta(before, after, 'kiln_requests_total{method="GET"}') == 0  # never requests
    assert delta(before, after, 'kiln_requests_total{method="POST"}') == 0
    # a client that asks for 32 MiB and reads nothing
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", k.port))
    s.sendall(b"GET /large.bin HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        wait_for(base, 'kiln_timeouts_total{kind="write"}', 1)
    finally:
        s.close()


def test_rate_limited_requests_are_counted_apart(phpsite, start_kiln):
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1", "--rate-limit", "3",
                                                   "--rate-window", "60"])
    before = scrape(base)
    codes = [httpx.get(k.url("/text.php?lines=1"), timeout=10).status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    after = scrape(base)
    assert delta(before, after, "kiln_rate_limited_total") == 2
    assert delta(before, after, 'kiln_requests_total{method="GET"}') == 3
    assert delta(before, after, 'kiln_responses_total{status="4xx"}') == 2
    assert delta(before, after, 'kiln_responses_total{status="2xx"}') == 3


def test_503_when_the_queue_is_full(phpsite, start_kiln):
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1", "--queue-capacity", "1"])
    wait_for(base, "kiln_workers_idle", 1)
    before = scrape(base)
    results = []

    def sleeper(ms):
        results.append(httpx.get(k.url(f"/sleep.php?ms={ms}"), timeout=20).status_code)

    busy = threading.Thread(target=sleeper, args=(1500,))
    busy.start()
    wait_for(base, "kiln_workers_busy", 1)
    # one worker, busy: at most one job waits for it and one in the queue; the rest get 503
    others = [threading.Thread(target=sleeper, args=(1,)) for _ in range(4)]
    for t in others:
        t.start()
    for t in [busy, *others]:
        t.join()
    after = scrape(base)
    refused = results.count(503)
    assert refused >= 2 and results.count(200) == len(results) - refused
    assert delta(before, after, "kiln_dropped_requests_total") == refused
    assert delta(before, after, 'kiln_responses_total{status="5xx"}') == refused
    assert delta(before, after, 'kiln_requests_total{method="GET"}') == len(results)


def test_worker_restarts_by_reason_and_request_timeouts(phpsite, start_kiln):
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1", "--request-timeout", "1s"])
    wait_for(base, "kiln_workers_idle", 1)
    before = scrape(base)
    assert httpx.get(k.url("/crash.php"), timeout=10).status_code >= 500
    wait_for(base, 'kiln_worker_restarts_total{reason="crashed"}',
             before['kiln_worker_restarts_total{reason="crashed"}'] + 1)
    wait_for(base, "kiln_workers_idle", 1)
    assert httpx.get(k.url("/sleep.php?ms=5000"), timeout=10).status_code == 504
    after = wait_for(base, 'kiln_worker_restarts_total{reason="timed_out"}',
                     before['kiln_worker_restarts_total{reason="timed_out"}'] + 1)
    assert delta(before, after, 'kiln_timeouts_total{kind="request"}') == 1
    assert delta(before, after, 'kiln_worker_restarts_total{reason="crashed"}') == 1
    assert delta(before, after, 'kiln_responses_total{status="5xx"}') == 2
    promtool_clean(base)


def test_workers_shows_a_busy_workers_request(php):
    k, base = php
    t = threading.Thread(target=lambda: httpx.get(k.url("/sleep.php?ms=2000&x=1"), timeout=20))
    t.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            busy = [w for w in get(base, "/workers").json()["workers"] if w["state"] == "busy"]
            if busy and busy[0]["request"] and busy[0]["request"]["method"]:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("no worker was ever seen busy")
        request = busy[0]["request"]
        assert request["method"] == "GET"
        assert request["uri"] == "/sleep.php?ms=2000&x=1"
        assert request["started"] > 1_600_000_000
        assert t.is_alive()
    finally:
        t.join()


def test_a_queued_request_whose_client_left_never_runs(phpsite, start_kiln):
    """The only worker is busy; a second request waits in the queue and its client goes away.
    It is dropped before any worker begins it, and counted."""
    (phpsite / "mark.php").write_text("<?php file_put_contents($_GET['f'], 'ran');\n")
    k, base = start_internal(start_kiln, phpsite, ["--workers", "1"])
    marker = phpsite / "marker"
    before = scrape(base)
    busy = threading.Thread(target=lambda: httpx.get(k.url("/sleep.php?ms=1500"), timeout=20))
    busy.start()
    time.sleep(0.3)
    with socket.create_connection(("127.0.0.1", k.port)) as s:
        s.sendall(f"GET /mark.php?f={marker} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.3)  # queued behind the sleeping request
    busy.join()
    assert httpx.get(k.url("/sleep.php?ms=1"), timeout=10).status_code == 200
    after = scrape(base)
    assert not marker.exists(), "the abandoned request ran"
    assert delta(before, after, "kiln_abandoned_requests_total") == 1
