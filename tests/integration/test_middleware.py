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
import shutil
import socket
import subprocess
import zlib
from pathlib import Path

import brotli
import pytest
import zstandard

from conftest import recv_all

SCRIPTS = Path(__file__).parent / "php"
DECODERS = {
    "br": brotli.decompress,
    "zstd": lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b),
    "gzip": gzip.decompress,
}


@pytest.fixture
def php(tmp_path, start_kiln):
    root = tmp_path / "phpwww"
    shutil.copytree(SCRIPTS, root)
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


def test_streamed_php_output_is_compressed_and_still_flushed_early(php):
    start = time.monotonic()
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    arrivals = []
    with socket.create_connection(("127.0.0.1", php.port), timeout=10) as s:
        s.sendall(b"GET /stream.php HTTP/1.1\r\nHost: x\r\nAccept-Encoding: gzip\r\n"
                  b"Connection: close\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += s.recv(65536)
        head, _, rest = buf.partition(b"\r\n\r\n")
        assert b"Content-Encoding: gzip" in head and b"Transfer-Encoding: chunked" in head
        stream = rest
        text = b""
        while True:
            # decode whatever complete chunks we have
            while b"\r\n" in stream:
                line, _, after = stream.partition(b"\r\n")
                n = int(line, 16)
                if len(after) < n + 2:
                    break
                if n == 0:
                    stream = b""
                    break
                text += d.decompress(after[:n])
                stream = after[n + 2:]
                for line in text.splitlines():
                    if line and line not in [a[0] for a in arrivals]:
                        arrivals.append((line, time.monotonic() - start))
            data = s.recv(65536)
            if not data:
                break
            stream += data
    assert [a[0] for a in arrivals] == [b"chunk 0", b"chunk 1", b"chunk 2"]
    assert arrivals[0][1] < 0.25 and arrivals[2][1] > 0.5


def test_compression_can_be_turned_off(site, start_kiln):
    (site / "page.html").write_text("x" * 5000)
    k = start_kiln(site, ["--executor", "stub", "--compression=off"])
    with httpx.stream("GET", k.url("/page.html"), headers={"Accept-Encoding": "gzip"}) as r:
        assert "content-encoding" not in r.headers
