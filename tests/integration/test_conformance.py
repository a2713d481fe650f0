"""Issue 8: what real clients and hostile ones meet first. TCP_NODELAY on client sockets, the
redirect class (never to another site), HTTP/1.1 edge cases (RFC 9112, RFC 9110), HEAD on PHP,
and the casing of the headers PHP's engine writes."""

import socket

import h2.config
import h2.connection
import h2.events
import httpx
import pytest

from conftest import recv_all
from httpraw import parse_one, parse_responses
from sockinspect import nodelay

PHP = ["--workers", "2"]


@pytest.fixture
def php(phpsite, start_kiln):
    (phpsite / "assets").mkdir()
    (phpsite / "assets" / "app.css").write_text("body{}\n")
    (phpsite / "assets" / "index.html").write_text("assets\n")
    (phpsite / "static.txt").write_text("static\n")
    return start_kiln(phpsite, PHP + ["--header-timeout", "60"])


def raw(k, data, timeout=10):
    """One connection: send, then read until the server closes (or `timeout`)."""
    return k.raw(data, timeout=timeout)


# ---- the flush() stall --------------------------------------------------------------------


def test_client_sockets_have_tcp_nodelay(php):
    with socket.create_connection(("127.0.0.1", php.port)) as s:
        s.sendall(b"GET /static.txt HTTP/1.1\r\nHost: x\r\n\r\n")
        assert s.recv(4096).startswith(b"HTTP/1.1 200")
        assert nodelay(php.proc.pid, php.port, s)


def test_flushing_page_many_times_on_one_connection(php):
    """200 requests of a page flushed in 4 pieces on one kept-alive connection all complete whole."""
    with httpx.Client(base_url=php.base) as c:
        for _ in range(200):
            r = c.get("/pieces.php")
            assert r.status_code == 200 and len(r.content) == 4 * 3072


# ---- redirects never lead to another site ------------------------------------------------

EVIL_TARGETS = [
    b"//evil.example/../assets",
    b"//evil.example/%2e%2e/assets",
    b"/%2Fevil.example/../assets",
    b"/%2F%2Fevil.example/..%2Fassets",
    b"///evil.example/../assets",
    b"//evil.example//..//assets",
    b"/%2F/evil.example%2F%2E%2E/assets",
    b"/./assets",
    b"//assets",
    b"/assets/./",
]


def location_is_local(loc):
    return loc.startswith("/") and not loc.startswith("//") and not loc.startswith("/\\")


def test_trailing_slash_redirect_is_built_from_the_normalised_path(php):
    for target in EVIL_TARGETS:
        if target.endswith(b"/"):
            r = parse_one(raw(php, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
            assert r.status == 200, target
            continue
        r = parse_one(raw(php, b"GET " + target + b"?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        assert r.status == 301, target
        assert r.header("location") == "/assets/?q=1", target


def test_backslashes_never_reach_a_redirect(php):
    for target in (b"/\\evil.example/../assets", b"/%5Cevil.example/../assets"):
        r = parse_one(raw(php, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        assert r.status == 400


def test_redirect_location_is_percent_encoded(php, phpsite):
    (phpsite / "a b%c").mkdir()
    r = parse_one(raw(php, b"GET /a%20b%25c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert r.status == 301
    assert r.header("location") == "/a%20b%25c/"


def h2_request(port, path, method="GET", authority="localhost"):
    """One HTTP/2 request with python-h2; returns (status, headers dict)."""
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                header_encoding="utf-8",
                                                                validate_outbound_headers=False))
    conn.initiate_connection()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(conn.data_to_send())
        conn.send_headers(1, [(":method", method), (":path", path), (":scheme", "http"),
                              (":authority", authority)], end_stream=True)
        s.sendall(conn.data_to_send())
        while True:
            data = s.recv(65536)
            if not data:
                return None, {}
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    headers = dict(event.headers)
                    return int(headers[":status"]), headers
                if isinstance(event, h2.events.StreamReset):
                    return None, {}
            s.sendall(conn.data_to_send())


def test_redirects_over_http2(php):
    for target in [t for t in EVIL_TARGETS if not t.endswith(b"/")]:
        status, headers = h2_request(php.port, target.decode() + "?q=1")
        assert status == 301, target
        assert headers["location"] == "/assets/?q=1", target


# ---- HTTP/1.1 edge cases ------------------------------------------------------------------


def test_unsupported_versions_get_505(php):
    for version in (b"HTTP/2.0", b"HTTP/9.9", b"HTTP/1.2", b"HTTP/0.9", b"HTTP/3.0"):
        out = raw(php, b"GET /static.txt " + version + b"\r\nHost: x\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 505 "), (version, out[:100])


def test_malformed_versions_get_400(php):
    for version in (b"HTTP/1.x", b"HTTP/11", b"HTTPS/1.1", b"http/1.1"):
        out = raw(php, b"GET /static.txt " + version + b"\r\nHost: x\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400 "), (version, out[:100])


def test_http09_request_line_is_refused_at_once(php):
    # The header timeout is 60 s and the read gives up after 10: an answer means "at once".
    for line in (b"GET /static.txt\r\n", b"GET /static.txt\n", b"GET /\r\n"):
        out = raw(php, line)
        assert out.startswith(b"HTTP/1.1 400 "), (line, out[:100])


def test_chunk_size_beyond_63_bits_is_refused_at_once(php):
    for size in (b"8000000000000000", b"ffffffffffffffff", b"1ffffffffffffffff"):
        out = raw(php, b"POST /dump.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  + size + b"\r\nabc")
        assert out.startswith(b"HTTP/1.1 400 "), (size, out[:100])


def test_chunk_larger_than_the_body_limit_is_refused_at_once(phpsite, start_kiln):
    k = start_kiln(phpsite, PHP + ["--max-body-size", "1K"])
    out = raw(k, b"POST /dump.php HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"100000\r\nabc")
    assert out.startswith(b"HTTP/1.1 413 "), out[:100]


VALID_HOSTS = [b"example.com", b"example.com:8080", b"127.0.0.1", b"[::1]", b"[::1]:443",
               b"xn--bcher-kva.example", b"a-b.c_d~e", b"", b"ex%41mple.com", b"[v1.fe80::a+en1]"]
INVALID_HOSTS = [b"exa mple.com", b"example.com:80:80", b"example.com:http", b"[::1", b"[::zz]",
                 b"::1", b"ex/ample", b"ex\\ample", b"user@example.com", b"example.com:999999",
                 b"ex%zzample", b"example.com?", b"example.com#x", b"[::1]x", b"\"quoted\""]


def test_host_must_be_a_valid_authority(php):
    for host in VALID_HOSTS:
        r = parse_one(raw(php, b"GET /static.txt HTTP/1.1\r\nHost: " + host + b"\r\nConnection: close\r\n\r\n"))
        assert r.status == 200, host
    for host in INVALID_HOSTS:
        r = parse_one(raw(php, b"GET /static.txt HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"))
        assert r.status == 400, host


def test_invalid_host_on_http10_gets_400(php):
    r = parse_one(raw(php, b"GET /static.txt HTTP/1.0\r\nHost: a b\r\n\r\n"))
    assert r.status == 400


def test_missing_or_repeated_host(php):
    assert parse_one(raw(php, b"GET /static.txt HTTP/1.1\r\n\r\n")).status == 400
    assert parse_one(raw(php, b"GET /static.txt HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n")).status == 400
    assert parse_one(raw(php, b"GET /static.txt HTTP/1.0\r\n\r\n")).status == 200


def test_invalid_authority_over_http2_gets_400(php):
    assert h2_request(php.port, "/static.txt", authority="exa mple")[0] in (400, None)
    assert h2_request(php.port, "/static.txt", authority="localhost:8080")[0] == 200


def test_unknown_method_on_a_static_file_is_405_and_the_connection_stays(php):
    out = raw(php, b"FOOBAR /static.txt HTTP/1.1\r\nHost: x\r\n\r\n"
                   b"GET /static.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    first, second = parse_responses(out)
    assert first.status == 405
    assert first.header("allow") == "GET, HEAD"
    assert first.header("connection") != "close"
    assert second.status == 200 and second.body == b"static\n"


def test_unknown_method_with_a_body_keeps_the_framing(php):
    out = raw(php, b"BREW /static.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
                   b"GET /static.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    first, second = parse_responses(out)
    assert first.status == 405 and second.status == 200


def test_unknown_method_reaches_php_by_name(php):
    out = raw(php, b"FOOBAR /dump.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    r = parse_one(out)
    assert r.status == 200
    assert b"FOOBAR" in r.body


def test_bad_method_tokens_are_400(php):
    for line in (b"GE(T /static.txt HTTP/1.1", b" GET /static.txt HTTP/1.1", b"G\x01T / HTTP/1.1"):
        out = raw(php, line + b"\r\nHost: x\r\n\r\n")
        assert out.startswith(b"HTTP/1.1 400 "), (line, out[:80])


def test_overlong_method_is_501(php):
    out = raw(php, b"X" * 40 + b" /static.txt HTTP/1.1\r\nHost: x\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 501 "), out[:80]


def test_empty_lines_before_a_request_are_ignored(php):
    r = parse_one(raw(php, b"\r\n\r\nGET /static.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert r.status == 200


# ---- HEAD on PHP --------------------------------------------------------------------------


def test_head_on_php_passes_the_scripts_content_length(php):
    r = parse_one(raw(php, b"HEAD /length.php?set=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
                  head_request=True)
    assert r.status == 200
    assert r.header("content-length") == "1234"
    status, headers = h2_request(php.port, "/length.php?set=1", method="HEAD")
    assert status == 200 and headers.get("content-length") == "1234"


def test_head_on_php_without_a_length_claims_none(php):
    r = parse_one(raw(php, b"HEAD /length.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
                  head_request=True)
    assert r.status == 200
    assert r.header("content-length") != "0"
    assert r.header("transfer-encoding") is None
    status, headers = h2_request(php.port, "/length.php", method="HEAD")
    assert status == 200 and headers.get("content-length") != "0"


def test_head_keeps_the_connection_in_step(php):
    out = raw(php, b"HEAD /length.php HTTP/1.1\r\nHost: x\r\n\r\n"
                   b"GET /length.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    end = out.index(b"\r\n\r\n") + 4
    second = parse_one(out[end:])
    assert second.status == 200 and second.body == b"L" * 1234


# ---- header casing ------------------------------------------------------------------------


def test_php_default_content_type_has_canonical_casing(php):
    out = raw(php, b"GET /length.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    head = out[:out.index(b"\r\n\r\n")]
    assert b"\r\nContent-Type: text/html; charset=UTF-8" in head, head
    assert b"Content-type" not in head
