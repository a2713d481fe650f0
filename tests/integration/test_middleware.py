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
