"""The middleware chain: static cache headers, and (as they land) rate limiting, access log,
error pages and compression."""

import email.utils
import time

import httpx


def test_static_cache_headers_on_static_files_only(kiln):
    r = httpx.get(kiln.url("/style.css"))
    assert r.headers["cache-control"] == "public, max-age=86400"
    expires = email.utils.parsedate_to_datetime(r.headers["expires"]).timestamp()
    assert abs(expires - (time.time() + 86400)) < 60
    r304 = httpx.get(kiln.url("/style.css"), headers={"If-None-Match": r.headers["etag"]})
    assert r304.status_code == 304 and r304.headers["cache-control"] == "public, max-age=86400"
    php = httpx.get(kiln.url("/hello.php"))
    assert "cache-control" not in php.headers and "expires" not in php.headers
    assert "cache-control" not in httpx.get(kiln.url("/missing")).headers


def test_static_cache_ttl_setting(site, start_kiln):
    k = start_kiln(site, ["--executor", "stub", "--static-cache-ttl", "2h"])
    assert httpx.get(k.url("/style.css")).headers["cache-control"] == "public, max-age=7200"
    off = start_kiln(site, ["--executor", "stub", "--static-cache-ttl", "off"])
    r = httpx.get(off.url("/style.css"))
    assert "cache-control" not in r.headers and "expires" not in r.headers
    assert "etag" in r.headers  # validators stay: they are HTTP, not caching policy


# ---- compression ---------------------------------------------------------------------------

import gzip
import socket
import subprocess
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard

from conftest import KILN_BIN


DECODERS = {
    "br": brotli.decompress,
    "zstd": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
    "gzip": gzip.decompress,
}


@pytest.fixture
def php(phpsite, start_kiln):
    root = phpsite
    text = "".join(f"line {i}: the quick brown fox jumps over the lazy dog\n" for i in range(2000))
    (root / "page.html").write_text(text)
    (root / "tiny.css").write_text("a{}\n")
    (root / "photo.png").write_bytes(b"\x89PNG" + b"\x00" * 5000)
    return start_kiln(root, ["--workers", "2"])


@pytest.mark.parametrize("coding", ["br", "zstd", "gzip"])
def test_each_coding_decodes_to_the_original(php, coding):
    original = httpx.get(php.url("/page.html"), headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in original.headers
    with httpx.stream("GET", php.url("/page.html"), headers={"Accept-Encoding": coding}) as r:
        wire = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == coding
        assert r.headers["vary"] == "Accept-Encoding"
        assert r.headers["etag"].startswith('W/"')
    assert len(wire) < len(original.content) / 4
    assert DECODERS[coding](wire) == original.content
    with httpx.stream("GET", php.url("/text.php"), headers={"Accept-Encoding": coding}) as r:
        wire = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == coding
    expected = "".join(f"<p>line {i}: the quick brown fox jumps over the lazy dog</p>\n"
                       for i in range(5000)).encode()
    assert DECODERS[coding](wire) == expected


def test_curl_decodes_what_it_asked_for(php):
    out = subprocess.run(["curl", "-s", "--compressed", php.url("/page.html")],
                         capture_output=True, check=True).stdout
    assert out == (Path(php.docroot) / "page.html").read_bytes()


def test_negotiation_honours_q_values(php):
    def coding(ae):
        with httpx.stream("GET", php.url("/page.html"), headers={"Accept-Encoding": ae}) as r:
            return r.headers.get("content-encoding")
    assert coding("gzip, br") == "br"
    assert coding("br;q=0, gzip") == "gzip"
    assert coding("br;q=0.5, gzip;q=0.9") == "gzip"
    assert coding("*;q=0, identity") is None
    assert coding("gzip;q=0") is None
    assert coding("zstd") == "zstd"
    assert coding("compress, deflate") is None


def test_what_is_not_compressed(php):
    def headers(path, **extra):
        h = {"Accept-Encoding": "br, gzip"}
        h.update(extra)
        with httpx.stream("GET", php.url(path), headers=h) as r:
            return r.status_code, r.headers
    status, h = headers("/tiny.css")
    assert "content-encoding" not in h          # below COMPRESSION_MIN_SIZE
    status, h = headers("/photo.png")
    assert "content-encoding" not in h and "vary" not in h   # not a compressible type
    status, h = headers("/page.html", Range="bytes=0-99")
    assert status == 206 and "content-encoding" not in h


def test_streamed_php_output_is_compressed_and_still_flushed_early(php, tmp_path):
    """Each flushed chunk is compressed and flushed at once: the script waits for the client to
    acknowledge a chunk (a file) before it writes the next one."""
    ack = tmp_path / "ack"
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    seen = []
    with socket.create_connection(("127.0.0.1", php.port), timeout=30) as s:
        s.sendall(f"GET /stream.php?ack={ack} HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                  "Connection: close\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, _, stream = buf.partition(b"\r\n\r\n")
        assert b"Content-Encoding: gzip" in head and b"Transfer-Encoding: chunked" in head
        text = b""
        while True:
            while b"\r\n" in stream:  # decode the complete chunks we have
                line, _, after = stream.partition(b"\r\n")
                n = int(line, 16)
                if len(after) < n + 2:
                    break
                stream = after[n + 2:]
                if n == 0:
                    break
                text += d.decompress(after[:n])
                for part in text.splitlines():
                    if part and part not in seen:
                        seen.append(part)
                        (tmp_path / f"ack.{len(seen) - 1}").touch()
            data = s.recv(65536)
            if not data:
                break
            stream += data
    assert seen == [b"chunk 0", b"chunk 1", b"chunk 2"]


def test_compression_can_be_turned_off(site, start_kiln):
    (site / "page.html").write_text("x" * 5000)
    k = start_kiln(site, ["--executor", "stub", "--compression=off"])
    with httpx.stream("GET", k.url("/page.html"), headers={"Accept-Encoding": "gzip"}) as r:
        assert "content-encoding" not in r.headers


# ---- rate limiting ---------------------------------------------------------------------------

def test_rate_limit_429_after_n_and_reset_after_the_window(site, start_kiln):
    k = start_kiln(site, ["--executor", "stub", "--rate-limit", "3", "--rate-window", "2"])
    with httpx.Client(base_url=k.base) as c:
        statuses = [c.get("/style.css").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        r = c.get("/hello.php")
        assert r.status_code == 429
        assert r.headers["x-ratelimit-limit"] == "3"
        assert r.headers["x-ratelimit-remaining"] == "0"
        assert 1 <= int(r.headers["retry-after"]) <= 2
        time.sleep(2.2)
        ok = c.get("/style.css")
        assert ok.status_code == 200
        assert ok.headers["x-ratelimit-remaining"] == "2"


def test_rate_limit_trusts_forwarded_for_only_from_trusted_proxies(site, start_kiln):
    k = start_kiln(site, ["--executor", "stub", "--rate-limit", "1", "--rate-window", "60",
                          "--trusted-proxies", "127.0.0.1/32"])
    with httpx.Client(base_url=k.base) as c:
        # each forwarded client has its own window behind the trusted proxy
        for ip in ("192.0.2.1", "192.0.2.2", "2001:db8::1"):
            assert c.get("/style.css", headers={"X-Forwarded-For": ip}).status_code == 200
        assert c.get("/style.css", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 429
        # the same /64 is one client
        assert c.get("/style.css", headers={"X-Forwarded-For": "2001:db8::2"}).status_code == 429
    k2 = start_kiln(site, ["--executor", "stub", "--rate-limit", "1", "--rate-window", "60"])
    with httpx.Client(base_url=k2.base) as c:
        assert c.get("/style.css", headers={"X-Forwarded-For": "192.0.2.1"}).status_code == 200
        # without TRUSTED_PROXIES the header is not believed: same peer, same window
        assert c.get("/style.css", headers={"X-Forwarded-For": "192.0.2.9"}).status_code == 429


# ---- access log ------------------------------------------------------------------------------

def test_access_log_lines_are_json(site, start_kiln):
    import json
    k = start_kiln(site, ["--executor", "stub", "--access-log"])
    httpx.get(k.url("/style.css?v=1"), headers={"User-Agent": "kiln-test", "Referer": "http://r/"})
    httpx.get(k.url("/missing"))
    time.sleep(0.3)
    lines = [json.loads(line) for line in k.log().splitlines() if '"type":"access"' in line]
    assert len(lines) == 2
    first = lines[0]
    assert first["level"] == "info" and first["msg"] == "GET /style.css 200"
    d = first["data"]
    assert d["method"] == "GET" and d["path"] == "/style.css" and d["query"] == "v=1"
    assert d["status"] == 200 and d["bytes"] == 21 and d["http"] == "HTTP/1.1"
    assert d["ip"] == "127.0.0.1" and d["ua"] == "kiln-test" and d["referer"] == "http://r/"
    assert d["duration_ms"] >= 0 and d["protocol"] == "http/1.1"
    assert first["ctx"]["service"] == "kiln"
    assert "worker_id" not in d  # a static file: no PHP worker
    assert lines[1]["data"]["status"] == 404


def test_access_log_names_the_php_worker(site, start_kiln):
    import json
    k = start_kiln(site, ["--workers", "1", "--access-log"])
    assert httpx.get(k.url("/hello.php")).status_code == 200
    time.sleep(0.3)
    lines = [json.loads(line) for line in k.log().splitlines() if '"type":"access"' in line]
    assert lines[-1]["data"]["worker_id"] == 0 and lines[-1]["data"]["path"] == "/hello.php"


def test_access_log_has_the_php_times(phpsite, start_kiln):
    import json
    k = start_kiln(phpsite, ["--workers", "1", "--access-log"])
    r = httpx.get(k.url("/sleep.php?ms=200"), timeout=10)
    assert r.status_code == 200
    second = httpx.get(k.url("/headers.php"), timeout=10)  # another PHP request
    assert second.status_code == 200
    time.sleep(0.3)
    lines = [json.loads(line) for line in k.log().splitlines() if '"type":"access"' in line]
    by_id = {e["ctx"]["request_id"]: e for e in lines}
    d = by_id[r.headers["x-request-id"]]["data"]
    assert d["worker_id"] == 0
    assert d["php_ms"] >= 200  # the script slept 200 ms
    assert d["queue_wait_ms"] >= 0 and d["duration_ms"] >= d["php_ms"]
    assert set(by_id[second.headers["x-request-id"]]["data"]) >= {"queue_wait_ms", "php_ms"}


def test_access_log_has_no_php_times_for_other_answers(site, start_kiln):
    import json
    k = start_kiln(site, ["--workers", "1", "--access-log"])
    assert httpx.get(k.url("/style.css")).status_code == 200
    assert httpx.get(k.url("/missing")).status_code == 404
    time.sleep(0.3)
    lines = [json.loads(line) for line in k.log().splitlines() if '"type":"access"' in line]
    assert len(lines) == 2
    for e in lines:
        assert not {"queue_wait_ms", "php_ms", "worker_id", "tls"} & set(e["data"])


# ---- error pages -----------------------------------------------------------------------------

def test_error_pages_for_html_clients_and_reload_on_sighup(tmp_path, site, start_kiln):
    pages = tmp_path / "errors"
    pages.mkdir()
    (pages / "404.html").write_text("<h1>custom not found</h1>\n")
    (site / "empty404.php").write_text("<?php http_response_code(404);")
    k = start_kiln(site, ["--workers", "1", "--error-pages-dir", str(pages)])
    html = {"Accept": "text/html,*/*;q=0.8"}
    r = httpx.get(k.url("/missing"), headers=html)
    assert r.status_code == 404 and r.text == "<h1>custom not found</h1>\n"
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert httpx.get(k.url("/missing"), headers={"Accept": "application/json"}).text == \
        "404 Not Found\n"
    r = httpx.get(k.url("/empty404.php"), headers=html)  # PHP sent no body: the page is used
    assert r.status_code == 404 and "custom not found" in r.text
    (pages / "404.html").write_text("<h1>reloaded</h1>\n")
    # the reload is done when `kiln --reload` returns (a new php-zygote starts first)
    subprocess.run([KILN_BIN, "--reload", str(k.proc.pid)], check=True, timeout=150)
    assert httpx.get(k.url("/missing"), headers=html).text == "<h1>reloaded</h1>\n"


def test_precompressed_siblings_are_served(site, start_kiln):
    original = ("function f(x) { return x * 2; }\n" * 300).encode()
    (site / "app.js").write_bytes(original)
    (site / "app.js.br").write_bytes(brotli.compress(original))
    (site / "app.js.gz").write_bytes(gzip.compress(original))
    k = start_kiln(site, ["--executor", "stub"])

    def fetch(ae, **extra):
        with httpx.stream("GET", k.url("/app.js"), headers={"Accept-Encoding": ae, **extra}) as r:
            return r.status_code, r.headers, b"".join(r.iter_raw())
    status, h, wire = fetch("br, gzip")
    assert h["content-encoding"] == "br" and h["vary"] == "Accept-Encoding"
    assert h["content-type"] == "text/javascript"
    assert wire == (site / "app.js.br").read_bytes()  # the file itself, not compressed again
    assert int(h["content-length"]) == len(wire)
    status, h, wire = fetch("gzip")
    assert h["content-encoding"] == "gzip" and gzip.decompress(wire) == original
    status, h, wire = fetch("identity")
    assert "content-encoding" not in h and wire == original and h["vary"] == "Accept-Encoding"
    status, h, wire = fetch("br", Range="bytes=0-9")
    assert status == 206 and wire == original[:10] and "content-encoding" not in h


def test_compressed_static_files_are_cached_and_follow_changes(site, start_kiln):
    import os
    page = site / "cached.html"
    page.write_text("<p>first version</p>\n" * 400)
    k = start_kiln(site, ["--executor", "stub"])

    def fetch():
        with httpx.stream("GET", k.url("/cached.html"), headers={"Accept-Encoding": "br"}) as r:
            return r.headers, b"".join(r.iter_raw())
    h1, w1 = fetch()
    h2, w2 = fetch()
    assert h1["content-encoding"] == "br" and int(h1["content-length"]) == len(w1)
    assert w1 == w2 and brotli.decompress(w1) == page.read_bytes()
    page.write_text("<p>second version, longer</p>\n" * 400)
    os.utime(page, (time.time() + 5, time.time() + 5))
    time.sleep(1.2)  # the stat cache notices within a second
    h3, w3 = fetch()
    assert brotli.decompress(w3) == page.read_bytes()
    assert h3["etag"] != h1["etag"] and h3["etag"].startswith('W/"')
