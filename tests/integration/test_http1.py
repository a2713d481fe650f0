"""HTTP/1.1 behaviour of the real binary: keep-alive, pipelining, framing, limits, timeouts."""

import socket
import time

import httpx
import pytest

from conftest import recv_all
from httpraw import parse_one, parse_responses


def get(path, host="x"):
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


def test_keep_alive_reuses_the_connection(kiln):
    with socket.create_connection(("127.0.0.1", kiln.port)) as s:
        for _ in range(3):
            s.sendall(get("/style.css"))
            data = s.recv(65536)
            r = parse_one(data)
            assert r.status == 200 and r.body == b"body { color: red; }\n"
            assert r.header("connection") is None


def test_pipelined_responses_come_back_in_order(kiln):
    req = get("/style.css") + get("/missing") + get("/index.html") + get("/hello.php")
    with socket.create_connection(("127.0.0.1", kiln.port)) as s:
        s.sendall(req + b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        responses = parse_responses(recv_all(s))
    assert [r.status for r in responses] == [200, 404, 200, 200, 200]
    assert responses[0].body.startswith(b"body")
    assert responses[2].body == b"<h1>home</h1>\n"
    assert responses[4].header("connection") == "close"


def test_date_and_server_headers(kiln):
    r = httpx.get(kiln.url("/style.css"))
    assert r.headers["server"].startswith("kiln/")
    assert r.headers["date"].endswith(" GMT") and len(r.headers["date"]) == 29


def test_http10_closes_by_default_and_keeps_alive_on_request(kiln):
    data = kiln.raw(b"GET /style.css HTTP/1.0\r\n\r\n")
    r = parse_one(data)
    assert r.status == 200 and r.header("connection") == "close"
    with socket.create_connection(("127.0.0.1", kiln.port)) as s:
        s.sendall(b"GET /style.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        r = parse_one(s.recv(65536))
        assert r.header("connection") == "keep-alive"
        s.sendall(b"GET /index.html HTTP/1.0\r\n\r\n")
        assert parse_one(recv_all(s)).body == b"<h1>home</h1>\n"


def test_head_has_headers_but_no_body(kiln):
    data = kiln.raw(b"HEAD /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r = parse_one(data, head_request=True)
    assert r.status == 200
    assert r.header("content-length") == "21"
    assert data.endswith(b"\r\n\r\n")


def test_connection_close_is_honoured(kiln):
    with socket.create_connection(("127.0.0.1", kiln.port)) as s:
        s.sendall(b"GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = recv_all(s)  # returns only because the server closed
    assert parse_one(data).header("connection") == "close"


def test_chunked_request_body_is_read(kiln):
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    req = (b"POST /hello.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body
           + get("/style.css"))
    with socket.create_connection(("127.0.0.1", kiln.port)) as s:
        s.sendall(req)
        time.sleep(0.3)
        s.shutdown(socket.SHUT_WR)
        responses = parse_responses(recv_all(s))
    assert [r.status for r in responses] == [200, 200]


def test_expect_100_continue(kiln):
    with socket.create_connection(("127.0.0.1", kiln.port), timeout=5) as s:
        s.sendall(b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        interim = s.recv(65536)
        assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
        s.sendall(b"hello")
        assert parse_one(s.recv(65536)).status == 200


def test_unknown_expectation_is_417(kiln):
    r = parse_one(kiln.raw(b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                           b"Expect: something\r\n\r\nx"))
    assert r.status == 417


@pytest.mark.parametrize("request_bytes", [
    # smuggling shapes
    b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
    b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
    b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\nhello",
    b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 5x\r\n\r\nhello",
    b"POST /hello.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    b"POST /hello.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked, identity\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
    # plain garbage
    b"GARBAGE\r\n\r\n",
    b"GET / HTTP/1.x\r\nHost: x\r\n\r\n",  # HTTP/9.9 is well formed: 505 (test_conformance.py)
    b"GET /\x00 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n",
    # HTTP/1.1 without Host, or with two
    b"GET / HTTP/1.1\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET nothing HTTP/1.1\r\nHost: x\r\n\r\n",
])
def test_malformed_requests_get_400_and_close(kiln, request_bytes):
    data = kiln.raw(request_bytes + get("/style.css"))
    responses = parse_responses(data)
    assert [r.status for r in responses] == [400], data[:300]
    assert responses[0].header("connection") == "close"


def test_request_target_over_limit_is_414(kiln):
    r = parse_one(kiln.raw(get("/" + "a" * 8200)))
    assert r.status == 414


def test_header_section_over_limit_is_431(kiln):
    big = b"".join(b"X-Fill-%d: %s\r\n" % (i, b"v" * 1000) for i in range(70))
    r = parse_one(kiln.raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + big + b"\r\n"))
    assert r.status == 431


def test_too_many_header_lines_is_431(kiln):
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(101))
    r = parse_one(kiln.raw(b"GET / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n"))
    assert r.status == 431
    ok = b"".join(b"X-H%d: v\r\n" % i for i in range(98))
    r = parse_one(kiln.raw(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + ok + b"\r\n"))
    assert r.status == 200


def test_body_over_limit_is_413_before_it_is_sent(site, start_kiln):
    k = start_kiln(site, ["--executor", "stub", "--max-body-size", "1K"])
    with socket.create_connection(("127.0.0.1", k.port), timeout=5) as s:
        s.sendall(b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n")
        r = parse_one(recv_all(s))  # answered without a single body byte sent
    assert r.status == 413
    chunked = b"POST /hello.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + \
        b"400\r\n" + b"a" * 1024 + b"\r\n" + b"1\r\nb\r\n0\r\n\r\n"
    assert parse_one(k.raw(chunked)).status == 413
    exact = b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n"
    assert parse_one(k.raw(exact + b"a" * 1024)).status == 200


def test_header_timeout_gives_408(site, start_kiln):
    k = start_kiln(site, ["--executor", "stub", "--header-timeout", "1"])
    with socket.create_connection(("127.0.0.1", k.port), timeout=30) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        data = s.makefile("rb").read()  # until the server closes; the socket timeout fails it
    assert parse_one(data).status == 408


def test_idle_keep_alive_connection_is_closed(site, start_kiln):
    k = start_kiln(site, ["--executor", "stub", "--idle-timeout", "1"])
    with socket.create_connection(("127.0.0.1", k.port), timeout=5) as s:
        s.sendall(get("/style.css"))
        assert parse_one(s.recv(65536)).status == 200
        s.settimeout(5)
        assert s.recv(1) == b""  # closed by the server, without a response


def test_ten_thousand_idle_keep_alive_connections(site, start_kiln):
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 10300:
        pytest.skip(f"hard fd limit {hard} is below 10300")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    k = start_kiln(site, ["--executor", "stub"])
    socks = []
    try:
        for _ in range(10000):
            s = socket.create_connection(("127.0.0.1", k.port), timeout=10)
            socks.append(s)
        for s in socks[::100]:
            s.sendall(get("/style.css"))
            assert parse_one(s.recv(65536)).status == 200
        # the server still answers new connections promptly
        assert httpx.get(k.url("/style.css"), timeout=10).status_code == 200
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def vm_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_idle_keep_alive_connections_cost_little_memory(site, start_kiln):
    """An idle kept-alive connection holds no buffers: the master grows by well under 3 KiB per
    connection (about 1.2 KiB in a release build, ASan's redzones add some; it was 6.5 KiB)."""
    # ASan's quarantine would keep every freed buffer resident; a release build ignores this.
    k = start_kiln(site, ["--executor", "stub"], env={"ASAN_OPTIONS": "quarantine_size_mb=0"})
    n = 2000
    warm = socket.create_connection(("127.0.0.1", k.port), timeout=10)
    warm.sendall(get("/style.css"))
    assert parse_one(warm.recv(65536)).status == 200
    before = vm_rss_kib(k.proc.pid)
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", k.port), timeout=10)
            s.sendall(get("/style.css"))
            socks.append(s)
        for s in socks:
            data = b""
            while b"red" not in data:
                data += s.recv(65536)
            assert parse_one(data).status == 200
        per_conn = (vm_rss_kib(k.proc.pid) - before) * 1024 / n
        assert per_conn < 3072, f"{per_conn:.0f} bytes per idle connection"
    finally:
        for s in socks:
            s.close()
        warm.close()


def test_fd_exhaustion_pauses_accepting_and_recovers(site, start_kiln):
    """With a tiny open-files limit the listener hits EMFILE: Kiln must keep its connections,
    stop accepting for a moment instead of spinning, and accept again once fds free up."""
    import resource
    k = start_kiln(site, ["--executor", "stub"])
    # the running server's soft limit, lowered from outside (prlimit(2) on its pid)
    soft, hard = resource.prlimit(k.proc.pid, resource.RLIMIT_NOFILE)
    resource.prlimit(k.proc.pid, resource.RLIMIT_NOFILE, (40, hard))
    socks = []
    try:
        for _ in range(60):
            socks.append(socket.create_connection(("127.0.0.1", k.port), timeout=5))
        time.sleep(0.5)
        # the connections it did accept still get answers: a file it cannot open now is a
        # 503 to retry, never a 404 (the file exists)
        socks[0].sendall(get("/style.css"))
        r = parse_one(socks[0].recv(65536))
        assert r.status in (200, 503)
        if r.status == 503:
            assert r.header("retry-after") == "1"
    finally:
        for s in socks:
            s.close()
    resource.prlimit(k.proc.pid, resource.RLIMIT_NOFILE, (soft, hard))
    time.sleep(0.5)
    assert httpx.get(k.url("/style.css"), timeout=5).status_code == 200
    assert "pausing new connections" in k.log()
