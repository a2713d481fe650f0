"""W3C trace context and request ids as a PHP script sees them ($_SERVER), issue 10 item 4."""

import re

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
