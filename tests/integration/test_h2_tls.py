"""HTTP/2 (h2c and ALPN over TLS) and TLS, with real clients: curl, nghttp, h2load, httpx, openssl."""

import asyncio
import hashlib
import os
import socket
import subprocess
import time

import httpx
import pytest

from conftest import KILN_BIN, free_port

@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    """A throw-away self-signed certificate for localhost / 127.0.0.1, and a second unrelated key."""
    d = tmp_path_factory.mktemp("certs")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", d / "key.pem",
                    "-out", d / "cert.pem", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    subprocess.run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-out", d / "other.pem"],
                   check=True, capture_output=True)
    return d


@pytest.fixture
def phpsite(phpsite):
    (phpsite / "static.txt").write_bytes(b"s" * 1024)
    return phpsite


PHP_ARGS = ["--workers", "2", "-d", "post_max_size=64M", "-d", "upload_max_filesize=64M"]


@pytest.fixture
def tls(phpsite, certs, start_kiln):
    return start_kiln(phpsite, PHP_ARGS + ["--tls-cert", str(certs / "cert.pem"),
                                           "--tls-key", str(certs / "key.pem")])


@pytest.fixture
def h2c(phpsite, start_kiln):
    return start_kiln(phpsite, PHP_ARGS)


def https(k, path):
    return f"https://127.0.0.1:{k.port}{path}"


def curl(*args):
    r = subprocess.run(["curl", "-s", "-S", *args], capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_h2c_prior_knowledge_with_curl(h2c):
    out = curl("--http2-prior-knowledge", "-w", "\n%{http_version}", h2c.url("/exit.php"))
    assert out == b"before exit\n\n2"
    out = curl("--http2-prior-knowledge", "-w", "%{http_version}", h2c.url("/static.txt"))
    assert out == b"s" * 1024 + b"2"
    # the same port still speaks HTTP/1.1
    assert curl("-w", "%{http_version}", h2c.url("/exit.php")) == b"before exit\n1.1"


def test_tls_with_curl_negotiates_h2_and_http11(tls):
    assert curl("-k", "--http2", "-w", "%{http_version}", https(tls, "/exit.php")) == b"before exit\n2"
    assert curl("-k", "--http1.1", "-w", "%{http_version}", https(tls, "/exit.php")) == \
        b"before exit\n1.1"


def test_https_server_variables(tls):
    d = httpx.get(https(tls, "/dump.php"), verify=False).json()["server"]
    assert d["HTTPS"] == "on"
    assert d["REQUEST_SCHEME"] == "https"
    assert d["SERVER_PROTOCOL"] == "HTTP/1.1"
    with httpx.Client(http2=True, verify=False) as c:
        r = c.get(https(tls, "/dump.php?x=1"))
        assert r.http_version == "HTTP/2"
        s = r.json()["server"]
        assert s["SERVER_PROTOCOL"] == "HTTP/2.0"
        assert s["HTTP_HOST"] == f"127.0.0.1:{tls.port}"
        assert s["QUERY_STRING"] == "x=1"


def test_nghttp_client(h2c):
    r = subprocess.run(["nghttp", "-n", "-s", h2c.url("/static.txt"), h2c.url("/exit.php")],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("/static.txt") == 1 and r.stdout.count("/exit.php") == 1


def test_two_slow_streams_on_one_connection_run_in_parallel(tls, tmp_path):
    # each stream's script waits for the other's to begin: they meet only if both run at once
    async def run():
        async with httpx.AsyncClient(http2=True, verify=False, timeout=30) as c:
            return await asyncio.gather(
                *(c.get(https(tls, f"/rendezvous.php?dir={tmp_path}&me={me}&other={other}"))
                  for me, other in (("a", "b"), ("b", "a"))))
    rs = asyncio.run(run())
    assert [r.status_code for r in rs] == [200, 200]
    assert all(r.http_version == "HTTP/2" for r in rs)
    assert [r.text for r in rs] == ["met\n", "met\n"]


def test_20_mib_response_and_upload_over_h2(tls, phpsite):
    size = 20 * 1024 * 1024
    with httpx.Client(http2=True, verify=False, timeout=60) as c:
        block = bytes(range(256))
        for _ in range(3):  # the tail of a paused-and-resumed response was once lost, by timing
            r = c.get(https(tls, f"/big.php?size={size}&binary=1"))
            assert r.http_version == "HTTP/2"
            assert r.content == block * (size // 256)
        blob = os.urandom(size)
        r = c.post(https(tls, "/upload.php"), files={"file": ("blob.bin", blob)})
        d = r.json()
        assert d["md5"] == hashlib.md5(blob).hexdigest()
        assert d["size"] == size


def test_static_file_over_h2_is_byte_exact(h2c, phpsite):
    blob = os.urandom(3 * 1024 * 1024 + 5)
    (phpsite / "blob.bin").write_bytes(blob)
    out = curl("--http2-prior-knowledge", h2c.url("/blob.bin"))
    assert out == blob


@pytest.mark.parametrize("path", ["/static.txt", "/exit.php"])
def test_h2load_without_errors(h2c, path):
    r = subprocess.run(["h2load", "-n", "100000", "-c", "10", "-m", "10", h2c.url(path)],
                       capture_output=True, text=True, timeout=300)
    assert "100000 succeeded, 0 failed, 0 errored, 0 timeout" in r.stdout, r.stdout
    assert "100000 2xx" in r.stdout, r.stdout


def test_tls_versions(tls):
    def s_client(*args):
        return subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{tls.port}", *args],
                              input=b"", capture_output=True, timeout=20)
    r = s_client("-tls1_3", "-alpn", "h2,http/1.1")
    assert r.returncode == 0
    assert b"TLSv1.3" in r.stdout and b"ALPN protocol: h2" in r.stdout
    r = s_client("-tls1_2")
    assert r.returncode == 0 and b"TLSv1.2" in r.stdout
    r = s_client("-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0")
    assert r.returncode != 0


def raw_h2_status(port, path, extra_headers, end_stream=True, method="GET"):
    """Sends one request with python-h2, which does not police header sizes, and returns :status."""
    import h2.config
    import h2.connection
    import h2.events
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                header_encoding="utf-8"))
    conn.initiate_connection()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(conn.data_to_send())
        headers = [(":method", method), (":path", path), (":scheme", "http"),
                   (":authority", "localhost")] + extra_headers
        conn.send_headers(1, headers, end_stream=end_stream)
        s.sendall(conn.data_to_send())
        while True:
            data = s.recv(65536)
            if not data:
                return None
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    return int(dict(event.headers)[":status"])
            s.sendall(conn.data_to_send())


def test_h2_limits_give_the_http1_statuses(h2c):
    long_path = "/" + "a" * 9000
    assert curl("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code}",
                h2c.url(long_path)) == b"414"
    # curl keeps to the SETTINGS_MAX_HEADER_LIST_SIZE we announce; a raw client does not
    big = [(f"x-big-{i}", "v" * 25000) for i in range(3)]
    assert raw_h2_status(h2c.port, "/exit.php", big) == 431
    many = [(f"x-many-{i}", "v") for i in range(120)]
    assert raw_h2_status(h2c.port, "/exit.php", many) == 431
    assert raw_h2_status(h2c.port, "/exit.php", many[:90]) == 200
    # a body announced larger than MAX_BODY_SIZE is refused before any of it is sent
    assert raw_h2_status(h2c.port, "/dump.php", [("content-length", "999999999999")],
                         end_stream=False, method="POST") == 413


def test_http_redirect_listener(phpsite, certs, start_kiln):
    plain = free_port()
    k = start_kiln(phpsite, PHP_ARGS + ["--tls-cert", str(certs / "cert.pem"),
                                        "--tls-key", str(certs / "key.pem"),
                                        "--http-redirect-addr", f"127.0.0.1:{plain}"])
    r = httpx.get(f"http://127.0.0.1:{plain}/dump.php?a=1", headers={"Host": "example.test:80"})
    assert r.status_code == 301
    assert r.headers["location"] == f"https://example.test:{k.port}/dump.php?a=1"


def test_http_redirect_listener_answers_h2c_with_the_same_301(phpsite, certs, start_kiln):
    # h2c with prior knowledge on HTTP_REDIRECT_ADDR: the same 301, built from the normalised
    # path, never the document root (the review found dump.php served here)
    plain = free_port()
    k = start_kiln(phpsite, PHP_ARGS + ["--tls-cert", str(certs / "cert.pem"),
                                        "--tls-key", str(certs / "key.pem"),
                                        "--http-redirect-addr", f"127.0.0.1:{plain}"])
    head = curl("--http2-prior-knowledge", "--path-as-is", "-D", "-", "-o", "/dev/null",
                "-H", "Host: example.test:80",
                f"http://127.0.0.1:{plain}//evil.example/../dump.php?a=1").decode()
    lines = head.splitlines()
    assert lines[0].strip() == "HTTP/2 301", head
    assert f"location: https://example.test:{k.port}/dump.php?a=1" in lines, head


def run_kiln(args):
    return subprocess.run([KILN_BIN, *args], capture_output=True, text=True, timeout=30)


def test_bad_certificates_stop_startup(phpsite, certs, tmp_path):
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    base = ["--docroot", str(phpsite), "--executor", "stub", "--listen", f"127.0.0.1:{free_port()}"]
    cases = [
        (["--tls-cert", str(tmp_path / "garbage.pem"), "--tls-key", str(certs / "key.pem")], "TLS_CERT"),
        (["--tls-cert", str(certs / "cert.pem"), "--tls-key", str(tmp_path / "garbage.pem")], "TLS_KEY"),
        (["--tls-cert", str(certs / "cert.pem"), "--tls-key", str(certs / "other.pem")], "does not match"),
        (["--tls-cert", str(tmp_path / "missing.pem"), "--tls-key", str(certs / "key.pem")], "TLS_CERT"),
        (["--tls-cert", str(certs / "cert.pem")], "TLS_KEY"),
    ]
    for extra, needle in cases:
        r = run_kiln(base + extra)
        assert r.returncode == 2, (extra, r.stderr)
        lines = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and needle in lines[0], r.stderr


def test_tls_client_sockets_have_tcp_nodelay(tls):
    import ssl
    from sockinspect import nodelay
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", tls.port)) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as s:
            s.sendall(b"GET /static.txt HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200")
            assert nodelay(tls.proc.pid, tls.port, s)


def test_access_log_names_the_tls_version(phpsite, certs, start_kiln):
    import json
    k = start_kiln(phpsite, PHP_ARGS + ["--access-log", "--tls-cert", str(certs / "cert.pem"),
                                        "--tls-key", str(certs / "key.pem")])
    curl("-k", "--http1.1", "-H", "X-Request-ID: tls13-h1", https(k, "/static.txt"))
    curl("-k", "--http2", "-H", "X-Request-ID: tls13-h2", https(k, "/exit.php"))
    curl("-k", "--http1.1", "--tls-max", "1.2", "-H", "X-Request-ID: tls12",
         https(k, "/static.txt"))
    plain = start_kiln(phpsite, PHP_ARGS + ["--access-log"])
    curl("-H", "X-Request-ID: plain", plain.url("/static.txt"))
    time.sleep(0.3)

    def data(kiln, request_id):
        for line in kiln.log().splitlines():
            if '"type":"access"' in line and json.loads(line)["ctx"]["request_id"] == request_id:
                return json.loads(line)["data"]
        raise AssertionError(f"no access-log line for {request_id}")

    assert data(k, "tls13-h1")["tls"] == "TLSv1.3"
    assert data(k, "tls13-h2")["tls"] == "TLSv1.3" and data(k, "tls13-h2")["protocol"] == "h2"
    assert data(k, "tls12")["tls"] == "TLSv1.2"
    assert "tls" not in data(plain, "plain")
