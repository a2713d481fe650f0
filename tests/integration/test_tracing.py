"""W3C trace context and request ids as a PHP script sees them ($_SERVER), issue 10 item 4."""

import re
import time

import httpx
import pytest

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
VALID = f"00-{TRACE}-{PARENT}-01"

SERVER_SCRIPT = """<?php
header('Content-Type: application/json');
$names = ['TRACE_ID', 'SPAN_ID', 'PARENT_SPAN_ID', 'REQUEST_ID', 'HTTP_TRACEPARENT', 'HTTP_X_REQUEST_ID'];
$out = [];
foreach ($names as $n) { $out[$n] = $_SERVER[$n] ?? null; }
echo json_encode($out);
"""


@pytest.fixture
def php(tmp_path, start_kiln):
    root = tmp_path / "trace"
    root.mkdir()
    (root / "server.php").write_text(SERVER_SCRIPT)
    return start_kiln(root, ["--workers", "1"])


def seen(k, headers=None):
    r = httpx.get(k.url("/server.php"), headers=headers or {}, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def assert_new_trace(v):
    assert re.fullmatch(r"[0-9a-f]{32}", v["TRACE_ID"]) and v["TRACE_ID"] != TRACE
    assert re.fullmatch(r"[0-9a-f]{16}", v["SPAN_ID"])
    assert v["PARENT_SPAN_ID"] is None


def test_valid_traceparent_continues_the_trace(php):
    v = seen(php, {"traceparent": VALID})
    assert v["TRACE_ID"] == TRACE
    assert v["PARENT_SPAN_ID"] == PARENT
    assert re.fullmatch(r"[0-9a-f]{16}", v["SPAN_ID"]) and v["SPAN_ID"] != PARENT
    assert v["HTTP_TRACEPARENT"] == VALID  # as received
    # no X-Request-ID: the short id <trace id[0..12]>-<span id[0..4]>
    assert v["REQUEST_ID"] == f"{TRACE[:12]}-{v['SPAN_ID'][:4]}"


def test_future_version_with_extra_fields_is_accepted(php):
    # W3C: a higher version is parsed as far as version 00 goes; what follows starts with "-"
    v = seen(php, {"traceparent": f"cc-{TRACE}-{PARENT}-01-what-the-future-holds"})
    assert v["TRACE_ID"] == TRACE and v["PARENT_SPAN_ID"] == PARENT


@pytest.mark.parametrize("value", [
    f"00-{TRACE.upper()}-{PARENT}-01",           # uppercase hex
    f"00-{TRACE}-{PARENT.upper()}-01",
    f"00-{'0' * 32}-{PARENT}-01",                # all-zero trace id
    f"00-{TRACE}-{'0' * 16}-01",                 # all-zero parent id
    f"00-{TRACE[:-1]}-{PARENT}-01",              # 31-digit trace id
    f"00-{TRACE}-{PARENT}0-01",                  # 17-digit parent id
    f"00-{TRACE}-{PARENT}-1",                    # 1-digit flags
    f"00-{TRACE}-{PARENT}-01-extra",             # version 00 is exactly 55 characters
    f"ff-{TRACE}-{PARENT}-01",                   # version ff is invalid
    f"cc-{TRACE}-{PARENT}-01extra",              # a future version's extra must follow a "-"
    "garbage",
])
def test_invalid_traceparent_starts_a_new_trace(php, value):
    v = seen(php, {"traceparent": value})
    assert_new_trace(v)
    assert v["HTTP_TRACEPARENT"] == value  # PHP still sees what was sent


def test_no_traceparent(php):
    a, b = seen(php), seen(php)
    assert_new_trace(a)
    assert_new_trace(b)
    assert a["TRACE_ID"] != b["TRACE_ID"] and a["SPAN_ID"] != b["SPAN_ID"]
    assert a["HTTP_TRACEPARENT"] is None


def test_each_request_gets_a_fresh_span(php):
    spans = {seen(php, {"traceparent": VALID})["SPAN_ID"] for _ in range(5)}
    assert len(spans) == 5


@pytest.mark.parametrize("incoming", [
    "f47ac10b-58cc-4372-a567-0e02b2c3d479", "01ARZ3NDEKTSV4RRFFQ69G5FAV", "req:1/a+b=@~_.",
])
def test_valid_x_request_id_is_kept(php, incoming):
    v = seen(php, {"X-Request-ID": incoming, "traceparent": VALID})
    assert v["REQUEST_ID"] == incoming
    assert v["TRACE_ID"] == TRACE


@pytest.mark.parametrize("incoming", ["has space", "quote\"d", "x" * 129, "caf\u00e9"])
def test_invalid_x_request_id_is_replaced(php, incoming):
    v = seen(php, {"X-Request-ID": incoming.encode()})
    assert v["REQUEST_ID"] == f"{v['TRACE_ID'][:12]}-{v['SPAN_ID'][:4]}"


def test_http2_sees_the_same_variables(php):
    with httpx.Client(http1=False, http2=True) as c:
        r = c.get(php.url("/server.php"), headers={"traceparent": VALID, "x-request-id": "h2-id"},
                  timeout=10)
    assert r.http_version == "HTTP/2"
    v = r.json()
    assert v["TRACE_ID"] == TRACE and v["PARENT_SPAN_ID"] == PARENT and v["REQUEST_ID"] == "h2-id"


# ---- on the response, and in the access log (issue 10 item 4, response side) ------------------

OWN_ID_SCRIPT = "<?php header('X-Request-ID: set-by-php'); echo 'ok';\n"
TRACEPARENT_RE = r"00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})"


@pytest.fixture
def logged(tmp_path, start_kiln):
    root = tmp_path / "logged"
    root.mkdir()
    (root / "server.php").write_text(SERVER_SCRIPT)
    (root / "own_id.php").write_text(OWN_ID_SCRIPT)
    (root / "static.txt").write_text("static\n")
    return start_kiln(root, ["--workers", "1", "--access-log"])


def get(k, path, headers=None, h2=False):
    with httpx.Client(http1=not h2, http2=h2) as c:
        r = c.get(k.url(path), headers=headers or {}, timeout=10)
    assert r.http_version == ("HTTP/2" if h2 else "HTTP/1.1")
    return r


def response_trace(r):
    m = re.fullmatch(TRACEPARENT_RE, r.headers["traceparent"])
    assert m, r.headers["traceparent"]
    return m.group(1), m.group(2), m.group(3)


def access_line(k, request_id, timeout=5):
    """The access-log line of the request whose X-Request-ID is `request_id`."""
    import json
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in k.log().splitlines():
            if '"type":"access"' in line:
                entry = json.loads(line)
                if entry["ctx"]["request_id"] == request_id:
                    return entry
        time.sleep(0.05)
    raise AssertionError(f"no access-log line for {request_id}")


@pytest.mark.parametrize("h2", [False, True], ids=["http1", "h2"])
def test_response_continues_the_incoming_trace(logged, h2):
    r = get(logged, "/server.php", {"traceparent": VALID}, h2)
    trace_id, span_id, flags = response_trace(r)
    v = r.json()
    assert trace_id == TRACE and flags == "01"
    assert span_id != PARENT and span_id == v["SPAN_ID"]  # this request's span, as PHP saw it
    assert r.headers["x-request-id"] == v["REQUEST_ID"] == f"{TRACE[:12]}-{span_id[:4]}"
    ctx = access_line(logged, v["REQUEST_ID"])["ctx"]
    assert ctx["trace_id"] == TRACE and ctx["span_id"] == span_id


@pytest.mark.parametrize("h2", [False, True], ids=["http1", "h2"])
@pytest.mark.parametrize("value", [f"00-{TRACE.upper()}-{PARENT}-01", f"00-{'0' * 32}-{PARENT}-01",
                                   "garbage"])
def test_bad_traceparent_gets_a_fresh_trace_on_the_response(logged, h2, value):
    r = get(logged, "/server.php", {"traceparent": value}, h2)
    trace_id, span_id, flags = response_trace(r)
    v = r.json()
    assert trace_id != TRACE and trace_id == v["TRACE_ID"] and span_id == v["SPAN_ID"]
    assert flags == "01"
    ctx = access_line(logged, r.headers["x-request-id"])["ctx"]
    assert (ctx["trace_id"], ctx["span_id"]) == (trace_id, span_id)


@pytest.mark.parametrize("h2", [False, True], ids=["http1", "h2"])
def test_x_request_id_kept_or_replaced_on_the_response(logged, h2):
    r = get(logged, "/server.php", {"X-Request-ID": "f47ac10b-58cc-4372-a567-0e02b2c3d479"}, h2)
    assert r.headers["x-request-id"] == "f47ac10b-58cc-4372-a567-0e02b2c3d479"
    assert r.json()["REQUEST_ID"] == r.headers["x-request-id"]
    r = get(logged, "/server.php", {"X-Request-ID": "has space"}, h2)
    trace_id, span_id, _ = response_trace(r)
    assert r.headers["x-request-id"] == f"{trace_id[:12]}-{span_id[:4]}"
    assert r.headers.get_list("x-request-id") == [r.headers["x-request-id"]]


@pytest.mark.parametrize("h2", [False, True], ids=["http1", "h2"])
def test_x_request_id_set_by_php_is_kept(logged, h2):
    r = get(logged, "/own_id.php", {"X-Request-ID": "from-client"}, h2)
    assert r.headers.get_list("x-request-id") == ["set-by-php"]
    assert re.fullmatch(TRACEPARENT_RE, r.headers["traceparent"])
    access_line(logged, "from-client")  # the log keeps the request's id


def test_every_answer_of_the_main_server_carries_the_ids(logged):
    for path, status in [("/static.txt", 200), ("/missing", 404), ("/.hidden", 404)]:
        r = get(logged, path, {"traceparent": VALID})
        assert r.status_code == status
        trace_id, span_id, _ = response_trace(r)
        assert trace_id == TRACE
        assert r.headers["x-request-id"] == f"{TRACE[:12]}-{span_id[:4]}"
        entry = access_line(logged, r.headers["x-request-id"])
        assert entry["data"]["status"] == status and entry["ctx"]["span_id"] == span_id


def test_the_internal_server_answers_without_ids(tmp_path, start_kiln):
    from conftest import free_port
    port = free_port()
    root = tmp_path / "int"
    root.mkdir()
    start_kiln(root, ["--executor", "stub", "--internal-addr", f"127.0.0.1:{port}"])
    r = httpx.get(f"http://127.0.0.1:{port}/live", headers={"traceparent": VALID}, timeout=10)
    assert r.status_code == 200
    assert "traceparent" not in r.headers and "x-request-id" not in r.headers
