"""Static files: sendfile bodies, MIME types, validators, conditional and range requests."""

import os

import httpx


def test_mime_types(kiln, site):
    (site / "app.js").write_text("let a = 1;\n")
    (site / "data.json").write_text("{}\n")
    (site / "pic.png").write_bytes(b"\x89PNG....")
    (site / "blob.unknownext").write_bytes(b"\x00\x01")
    expected = {
        "/style.css": "text/css",
        "/app.js": "text/javascript",
        "/data.json": "application/json",
        "/pic.png": "image/png",
        "/index.html": "text/html",
        "/blob.unknownext": "application/octet-stream",
    }
    for path, mime in expected.items():
        r = httpx.get(kiln.url(path))
        assert r.status_code == 200, path
        assert r.headers["content-type"].split(";")[0] == mime, path


def test_large_file_is_byte_exact(kiln, site):
    blob = os.urandom(5 * 1024 * 1024 + 7)
    (site / "big.bin").write_bytes(blob)
    r = httpx.get(kiln.url("/big.bin"))
    assert r.status_code == 200
    assert int(r.headers["content-length"]) == len(blob)
    assert r.content == blob


def test_etag_and_last_modified_give_304(kiln, site):
    os.utime(site / "style.css", (1705322445, 1705322445))
    r = httpx.get(kiln.url("/style.css"))
    assert r.headers["etag"] == '"15-65a527cd"'
    assert r.headers["last-modified"] == "Mon, 15 Jan 2024 12:40:45 GMT"
    r2 = httpx.get(kiln.url("/style.css"), headers={"If-None-Match": r.headers["etag"]})
    assert r2.status_code == 304 and r2.content == b""
    assert r2.headers["etag"] == r.headers["etag"]
    r3 = httpx.get(kiln.url("/style.css"), headers={"If-None-Match": '"other", W/"15-65a527cd"'})
    assert r3.status_code == 304
    r4 = httpx.get(kiln.url("/style.css"), headers={"If-Modified-Since": r.headers["last-modified"]})
    assert r4.status_code == 304
    r5 = httpx.get(kiln.url("/style.css"),
                   headers={"If-Modified-Since": "Mon, 15 Jan 2024 12:40:44 GMT"})
    assert r5.status_code == 200
    r6 = httpx.get(kiln.url("/style.css"), headers={"If-None-Match": '"nope"',
                                                    "If-Modified-Since": r.headers["last-modified"]})
    assert r6.status_code == 200  # If-None-Match decides alone


def test_single_range_requests(kiln, site):
    (site / "digits.txt").write_bytes(b"0123456789")
    r = httpx.get(kiln.url("/digits.txt"), headers={"Range": "bytes=2-5"})
    assert r.status_code == 206
    assert r.content == b"2345"
    assert r.headers["content-range"] == "bytes 2-5/10"
    assert httpx.get(kiln.url("/digits.txt"), headers={"Range": "bytes=-3"}).content == b"789"
    assert httpx.get(kiln.url("/digits.txt"), headers={"Range": "bytes=7-"}).content == b"789"
    r = httpx.get(kiln.url("/digits.txt"), headers={"Range": "bytes=20-30"})
    assert r.status_code == 416
    assert r.headers["content-range"] == "bytes */10"
    r = httpx.get(kiln.url("/digits.txt"), headers={"Range": "bytes=0-1,4-5"})
    assert r.status_code == 200 and r.content == b"0123456789"
    etag = r.headers["etag"]
    r = httpx.get(kiln.url("/digits.txt"), headers={"Range": "bytes=0-0", "If-Range": etag})
    assert r.status_code == 206 and r.content == b"0"
    r = httpx.get(kiln.url("/digits.txt"), headers={"Range": "bytes=0-0", "If-Range": '"old"'})
    assert r.status_code == 200 and r.content == b"0123456789"


def test_directory_index_and_trailing_slash_redirect(kiln, site):
    r = httpx.get(kiln.url("/docs/"))
    assert r.status_code == 200 and r.text == "<h1>docs</h1>\n"
    r = httpx.get(kiln.url("/docs?x=1"))
    assert r.status_code == 301
    assert r.headers["location"] == "/docs/?x=1"
    (site / "empty").mkdir()
    assert httpx.get(kiln.url("/empty/")).status_code == 404


def test_other_methods_on_static_files_get_405_with_allow(kiln):
    for method in ("POST", "PUT", "DELETE", "PATCH", "OPTIONS"):
        r = httpx.request(method, kiln.url("/style.css"))
        assert r.status_code == 405, method
        assert r.headers["allow"] == "GET, HEAD"
