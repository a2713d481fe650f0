"""PHP through Kiln's SAPI and worker processes: superglobals, output, headers, errors, limits."""

import hashlib
import json
import os
import socket
import subprocess
import threading
import time

import httpx
import pytest

from conftest import recv_all
from httpraw import parse_one
from test_hardening import wait_until

@pytest.fixture
def php(phpsite, start_kiln, tmp_path):
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    return start_kiln(phpsite, ["--workers", "2", "-d", f"session.save_path={sessions}",
                                "-d", "upload_max_filesize=6M", "-d", "post_max_size=8M"])


def dump(k, path="/dump.php", **kw):
    r = httpx.request(kw.pop("method", "GET"), k.url(path), **kw)
    assert r.status_code == 200, r.text
    return r.json()


def test_get_arrays_and_utf8(php):
    d = dump(php, "/dump.php?a[]=1&a[]=2&b[x][y]=3&name=J%C3%BCrgen+M&empty=")
    assert d["get"] == {"a": ["1", "2"], "b": {"x": {"y": "3"}}, "name": "Jürgen M", "empty": ""}
    assert d["sapi"] == "kiln"


def test_post_urlencoded_and_raw_json(php):
    d = dump(php, method="POST", data={"a[]": ["1", "2"], "city": "Zürich"})
    assert d["post"] == {"a": ["1", "2"], "city": "Zürich"}
    body = json.dumps({"k": [1, 2, "ü"]})
    d = dump(php, method="POST", content=body, headers={"Content-Type": "application/json"})
    assert d["input"] == body
    assert d["post"] == []


def test_multipart_upload_of_5_mib(php):
    blob = os.urandom(5 * 1024 * 1024)
    r = httpx.post(php.url("/upload.php"), files={"file": ("blob.bin", blob)},
                   data={"note": "hi"}, timeout=30)
    d = r.json()
    assert d["post"] == {"note": "hi"}
    assert d["files"]["file"]["size"] == len(blob)
    assert d["is_uploaded"] and d["moved"]
    assert d["md5"] == hashlib.md5(blob).hexdigest()


def test_upload_max_filesize_is_honoured(php):
    blob = b"x" * (7 * 1024 * 1024)
    d = httpx.post(php.url("/upload.php"), files={"file": ("big.bin", blob)}, timeout=30).json()
    assert d["files"]["file"]["error"] == 1  # UPLOAD_ERR_INI_SIZE


def test_cookies_with_special_characters(php):
    d = dump(php, headers={"Cookie": "plain=1; enc=a%3Bb%20c; sp=x y"})
    assert d["cookie"] == {"plain": "1", "enc": "a;b c", "sp": "x y"}


def test_response_headers(php):
    r = httpx.get(php.url("/headers.php?case=cookies"))
    cookies = r.headers.get_list("set-cookie")
    assert len(cookies) == 2
    assert cookies[0].startswith("a=one")
    assert cookies[1].startswith("b=two%3B%20with%3Dspecial%20%26%20chars")
    r = httpx.get(php.url("/headers.php?case=multi"))
    assert r.headers.get_list("x-multi") == ["1", "2"]
    assert r.headers.get_list("x-replaced") == ["new"]
    assert "x-removed" not in r.headers
    r = httpx.get(php.url("/headers.php?case=redirect"))
    assert r.status_code == 302 and r.headers["location"] == "/elsewhere"
    assert httpx.get(php.url("/headers.php?case=teapot")).status_code == 418
    assert httpx.get(php.url("/headers.php?case=status-header")).status_code == 404
    r = httpx.get(php.url("/headers.php"))
    assert r.headers["content-type"] == "text/html; charset=UTF-8"


def test_date_and_server_from_php_replace_kilns(php):
    """Symfony and Laravel send Date on every response: one Date, not two (RFC 9110 section
    5.3), and PHP's, as nginx does with a FastCGI answer's Date and Server."""
    data = php.raw(b"GET /headers.php?case=date-server HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = data.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")
    assert [h for h in head if h.startswith(b"date:")] == [b"date: thu, 01 jan 2015 00:00:00 gmt"]
    assert [h for h in head if h.startswith(b"server:")] == [b"server: app/1"]
    out = subprocess.run(["curl", "-s", "-i", "--http2-prior-knowledge",
                          php.url("/headers.php?case=date-server")],
                         capture_output=True, check=True, timeout=30).stdout
    head = out.split(b"\r\n\r\n", 1)[0].lower().split(b"\r\n")
    assert [h for h in head if h.startswith(b"date:")] == [b"date: thu, 01 jan 2015 00:00:00 gmt"]
    assert [h for h in head if h.startswith(b"server:")] == [b"server: app/1"]
    plain = php.raw(b"GET /headers.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert plain.lower().count(b"\r\ndate: ") == 1 and b"\r\nServer: kiln/" in plain


def test_head_has_no_body(php):
    data = php.raw(b"HEAD /headers.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert data.endswith(b"\r\n\r\n") and b"body" not in data
    assert parse_one(data, head_request=True).status == 200


def test_exit_keeps_output_and_fatal_error_is_500(php):
    assert httpx.get(php.url("/exit.php")).text == "before exit\n"
    r = httpx.get(php.url("/fatal.php"))
    assert r.status_code == 500


@pytest.mark.parametrize("query", ["size=10485760", "size=10485760&binary=1", "size=0", "size=65537"])
def test_large_and_binary_output_is_byte_exact(php, query):
    size = int(query.split("&")[0].split("=")[1])
    r = httpx.get(php.url("/big.php?" + query), timeout=30)
    block = bytes(range(256)) if "binary" in query else b"0123456789abcdef" * 16
    expected = (block * (size // 256 + 1))[:size]
    assert len(r.content) == size
    assert r.content == expected


def test_slow_client_gets_every_byte_of_a_large_response(php):
    # The client reads late through a small window, so the worker is paused for back-pressure
    # with the rest of its output (and its end) already received; the resume must send all of
    # it (it once completed the response and dropped the unsent tail).
    for size in (1300 * 1024, 4 * 1024 * 1024 + 3):
        expected = (bytes(range(256)) * (size // 256 + 1))[:size]
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(20)
        s.connect(("127.0.0.1", php.port))
        with s:
            s.sendall(f"GET /big.php?size={size}&binary=1 HTTP/1.1\r\nHost: x\r\n"
                      "Connection: close\r\n\r\n".encode())
            time.sleep(1)
            data = recv_all(s, timeout=20)
        head, _, body = data.partition(b"\r\n\r\n")
        assert b"Transfer-Encoding: chunked" in head
        chunks = []
        while body:
            line, _, rest = body.partition(b"\r\n")
            n = int(line, 16)
            if n == 0:
                break
            chunks.append(rest[:n])
            body = rest[n + 2:]
        assert n == 0, "the response ended without its last chunk"
        assert b"".join(chunks) == expected


def test_flushed_chunks_arrive_before_the_script_ends(php, tmp_path):
    """The script waits for the client to acknowledge each flushed chunk before writing the next:
    only chunks that really reach the client at once let it go on."""
    ack = tmp_path / "ack"
    lines = []
    with httpx.stream("GET", php.url(f"/stream.php?ack={ack}"), timeout=60) as r:
        for line in r.iter_lines():
            if line.strip():
                lines.append(line.strip())
                (tmp_path / f"ack.{len(lines) - 1}").touch()
    assert lines == ["chunk 0", "chunk 1", "chunk 2"]


def test_server_variables(php, phpsite):
    with socket.create_connection(("127.0.0.1", php.port)) as s:
        local_port = s.getsockname()[1]
        s.sendall(b"POST /dump.php/extra/info?x=1&y=2 HTTP/1.1\r\nHost: example.test:8443\r\n"
                  b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 3\r\n"
                  b"X-Custom-Header: custom value\r\nAuthorization: Basic dXNlcjpwYXNz\r\n"
                  b"Connection: close\r\n\r\na=1")
        resp = parse_one(recv_all(s))
    s = json.loads(resp.body)["server"]
    expected = {
        "REQUEST_METHOD": "POST",
        "REQUEST_URI": "/dump.php/extra/info?x=1&y=2",
        "QUERY_STRING": "x=1&y=2",
        "SCRIPT_NAME": "/dump.php",
        "SCRIPT_FILENAME": str(phpsite) + "/dump.php",
        "PATH_INFO": "/extra/info",
        "PHP_SELF": "/dump.php/extra/info",
        "DOCUMENT_ROOT": str(phpsite),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REQUEST_SCHEME": "http",
        "GATEWAY_INTERFACE": "CGI/1.1",
        "SERVER_NAME": "example.test",
        "SERVER_ADDR": "127.0.0.1",
        "SERVER_PORT": str(php.port),
        "REMOTE_ADDR": "127.0.0.1",
        "REMOTE_PORT": str(local_port),
        "CONTENT_TYPE": "application/x-www-form-urlencoded",
        "CONTENT_LENGTH": "3",
        "HTTP_HOST": "example.test:8443",
        "HTTP_X_CUSTOM_HEADER": "custom value",
        "HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz",
        "PHP_AUTH_USER": "user",
        "PHP_AUTH_PW": "pass",
    }
    for key, value in expected.items():
        assert s.get(key) == value, key
    assert s["SERVER_SOFTWARE"].startswith("kiln/")
    assert "HTTPS" not in s
    assert abs(float(s["REQUEST_TIME_FLOAT"]) - time.time()) < 30
    assert int(s["REQUEST_TIME"]) == int(float(s["REQUEST_TIME_FLOAT"]))


def test_framework_mode_server_variables(phpsite, start_kiln):
    k = start_kiln(phpsite / "framework", ["--workers", "1", "--index-file", "index.php"])
    d = httpx.get(k.url("/api/users/7?sort=asc")).json()
    assert d["SCRIPT_NAME"] == "/index.php"
    assert d["SCRIPT_FILENAME"].endswith("/framework/index.php")
    assert d["REQUEST_URI"] == "/api/users/7?sort=asc"
    assert d["QUERY_STRING"] == "sort=asc"
    assert d["PHP_SELF"] == "/index.php"


def test_session_kept_across_requests(php):
    with httpx.Client(base_url=php.base) as client:
        assert client.get("/session.php").text == "1"
        assert client.get("/session.php").text == "2"


def test_opcache_runs_under_the_kiln_sapi(php):
    d = httpx.get(php.url("/opcache.php")).json()
    assert d["enabled"] is True
    assert d["sapi"] == "kiln"


def test_worker_crash_gives_502_and_the_next_request_works(phpsite, start_kiln):
    # ASan would report the deliberate SIGSEGV as its own error; let the worker just die.
    php = start_kiln(phpsite, ["--workers", "2"],
                     env={"ASAN_OPTIONS": "detect_leaks=1:handle_segv=0"})
    r = httpx.get(php.url("/crash.php"))
    assert r.status_code == 502
    for _ in range(4):
        assert httpx.get(php.url("/exit.php")).text == "before exit\n"
    assert "signal 11" in php.log() or "SIGSEGV" in php.log() or "Segmentation" in php.log()


def test_finish_request_answers_before_the_script_ends(php, tmp_path):
    for fn in ("kiln_finish_request", "fastcgi_finish_request", "tokio_finish_request"):
        marker, go = tmp_path / f"marker-{fn}", tmp_path / f"go-{fn}"
        # the script waits for `go` before it ends: this answer came while it still ran
        r = httpx.get(php.url(f"/finish.php?fn={fn}&marker={marker}&go={go}"), timeout=30)
        assert r.text == "answered\n"
        assert not marker.exists()
        go.touch()
        assert wait_until(lambda: marker.exists() and marker.read_text(), timeout=30)
        assert marker.read_text() == "finished in the background"


def test_client_abort_is_seen_by_the_script(php, tmp_path):
    marker = tmp_path / "abort-marker"
    with socket.create_connection(("127.0.0.1", php.port)) as s:
        s.sendall(f"GET /aborted.php?marker={marker} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        s.recv(100)
    deadline = time.monotonic() + 8
    # file_put_contents creates the file before it writes: wait for the text, not the file
    while time.monotonic() < deadline and not (marker.exists() and marker.read_text()):
        time.sleep(0.1)
    assert marker.read_text().startswith("aborted at")


def test_queue_full_gives_503(phpsite, start_kiln):
    k = start_kiln(phpsite, ["--workers", "1", "--queue-capacity", "1"])
    results = []

    def slow():
        results.append(httpx.get(k.url("/sleep.php?ms=1500"), timeout=10).status_code)

    threads = [threading.Thread(target=slow) for _ in range(2)]
    for t in threads:
        t.start()
        time.sleep(0.2)
    r = httpx.get(k.url("/sleep.php?ms=10"), timeout=10)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
    for t in threads:
        t.join()
    assert results == [200, 200]


def test_timeout_gives_504_and_a_fresh_worker_serves_next(phpsite, start_kiln):
    k = start_kiln(phpsite, ["--workers", "1", "--request-timeout", "1s"])
    first = httpx.get(k.url("/runtime/pid.php"), timeout=10).text
    # the script sleeps for a minute: only the deadline answers before the client gives up
    r = httpx.get(k.url("/sleep.php?ms=60000"), timeout=30)
    assert r.status_code == 504
    assert httpx.get(k.url("/runtime/pid.php"), timeout=10).text != first
    assert httpx.get(k.url("/sleep.php?ms=1"), timeout=10).text == "slept 1\n"


def test_heartbeat_extends_the_deadline(phpsite, start_kiln):
    k = start_kiln(phpsite, ["--workers", "1", "--request-timeout", "2s"])
    r = httpx.get(k.url("/heartbeat.php?steps=5"), timeout=10)
    assert r.status_code == 200 and r.text == "done after 5 steps\n"


def test_chunked_body_with_trailers(php):
    body = b"a" * 40000
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 7000]), body[i:i + 7000])
                      for i in range(0, len(body), 7000))
    req = (b"POST /dump.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           b"Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n" + chunks +
           b"0\r\nX-Trailer: one\r\nX-Other: two\r\n\r\n")
    r = parse_one(php.raw(req))
    assert r.status == 200
    d = json.loads(r.body)
    assert d["input"] == body.decode()
    assert "HTTP_X_TRAILER" not in d["server"]  # trailers are not passed on (nginx neither)
