"""Server-Sent Events: every flush() reaches the client at once over HTTP/1.1 and HTTP/2,
SSE_TIMEOUT instead of REQUEST_TIMEOUT, a client that leaves frees the worker, and a browser's
EventSource receives the events."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import pytest

PHP_ARGS = ["--executor", "php", "--workers", "1"]


def sse_events(lines):
    """Parses text/event-stream lines into dicts (event, id, data), one per blank-line block."""
    events, cur = [], {}
    for line in lines:
        if not line:
            if cur:
                events.append(cur)
                cur = {}
            continue
        name, _, value = line.partition(":")
        cur[name] = value[1:] if value.startswith(" ") else value
    return events


def read_acked_events(url, ack, headers):
    """Reads the stream line by line; each event is acknowledged as soon as it is complete."""
    events, block = [], []
    with httpx.stream("GET", url, headers=headers, timeout=30) as r:
        assert r.status_code == 200
        ctype = r.headers["content-type"]
        encoding = r.headers.get("content-encoding")
        for line in r.iter_lines():
            line = line.rstrip("\r\n")  # older httpx keeps the line ends
            if line:
                block.append(line)
                continue
            events += sse_events(block + [""])
            block = []
            tick = [e for e in events if e.get("event") == "tick"]
            if events[-1].get("event") == "tick":
                Path(f"{ack}.{len(tick) - 1}").touch()
    return ctype, encoding, events


@pytest.mark.parametrize("how", ["accept", "script"])
@pytest.mark.parametrize("coding", [None, "gzip, br, zstd"])
def test_events_arrive_one_by_one_over_http1(phpsite, start_kiln, tmp_path, how, coding):
    k = start_kiln(phpsite, PHP_ARGS)
    headers = {"Accept": "text/event-stream"} if how == "accept" else {}
    headers["Accept-Encoding"] = coding or "identity"
    query = "count=3&ack=" + str(tmp_path / "ack") + ("&ctype=1" if how == "script" else "")
    ctype, encoding, events = read_acked_events(k.url("/sse.php?" + query), tmp_path / "ack",
                                                headers)
    assert ctype.startswith("text/event-stream")
    assert encoding is None, "an event stream is never compressed"
    assert [e["event"] for e in events] == ["tick", "tick", "tick", "end"]
    stamps = [json.loads(e["data"])["t"] for e in events[:3]]
    assert stamps == sorted(stamps)


def h2_sse(port, path, on_event, headers=()):
    """One HTTP/2 stream (h2c prior knowledge): calls on_event(block) for each event, returns
    (response headers, events)."""
    import h2.config
    import h2.connection
    import h2.events
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True,
                                                                header_encoding="utf-8"))
    conn.initiate_connection()
    resp, events, text = {}, [], ""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(conn.data_to_send())
        conn.send_headers(1, [(":method", "GET"), (":path", path), (":scheme", "http"),
                              (":authority", "localhost"), *headers], end_stream=True)
        s.sendall(conn.data_to_send())
        done = False
        while not done:
            data = s.recv(65536)
            if not data:
                break
            for ev in conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    resp = dict(ev.headers)
                elif isinstance(ev, h2.events.DataReceived):
                    conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    text += ev.data.decode()
                    while "\n\n" in text:
                        block, text = text.split("\n\n", 1)
                        events += sse_events(block.split("\n") + [""])
                        on_event(events)
                elif isinstance(ev, h2.events.StreamEnded):
                    done = True
            s.sendall(conn.data_to_send())
    return resp, events


def test_events_arrive_one_by_one_over_http2(phpsite, start_kiln, tmp_path):
    k = start_kiln(phpsite, PHP_ARGS)
    ack = tmp_path / "ack"

    def acknowledge(events):
        if events[-1].get("event") == "tick":
            Path(f"{ack}.{len(events) - 1}").touch()

    resp, events = h2_sse(k.port, f"/sse.php?count=3&ack={ack}", acknowledge,
                          [("accept", "text/event-stream"), ("accept-encoding", "gzip, br")])
    assert resp[":status"] == "200"
    assert resp["content-type"].startswith("text/event-stream")
    assert "content-encoding" not in resp
    assert [e["event"] for e in events] == ["tick", "tick", "tick", "end"]


def get_events(url, headers):
    """The events of a stream that may be cut off (a broken chunked body) before its end."""
    lines = []
    try:
        with httpx.stream("GET", url, headers=headers, timeout=30) as r:
            for line in r.iter_lines():
                lines.append(line.rstrip("\r\n"))
    except httpx.RemoteProtocolError:
        pass
    return [e["event"] for e in sse_events(lines + [""])]


def test_sse_timeout_replaces_request_timeout(phpsite, start_kiln):
    k = start_kiln(phpsite, PHP_ARGS + ["--request-timeout", "1s", "--sse-timeout", "30s"])
    # 3 events 800 ms apart: longer than REQUEST_TIMEOUT, well within SSE_TIMEOUT
    events = get_events(k.url("/sse.php?count=3&delay=800"), {"Accept": "text/event-stream"})
    assert events == ["tick"] * 3 + ["end"]
    # a plain request still has REQUEST_TIMEOUT
    assert httpx.get(k.url("/sleep.php?ms=3000"), timeout=30).status_code == 504


def test_sse_timeout_cuts_a_stream_and_heartbeats_extend_it(phpsite, start_kiln):
    from test_internal import metric
    from conftest import free_port
    port = free_port()
    k = start_kiln(phpsite, PHP_ARGS + ["--request-timeout", "30s", "--sse-timeout", "1s",
                                        "--internal-addr", f"127.0.0.1:{port}"])
    hdr = {"Accept": "text/event-stream"}
    names = get_events(k.url("/sse.php?count=4&delay=700"), hdr)
    assert "end" not in names and 1 <= names.count("tick") < 4, names
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert metric(body, 'kiln_timeouts_total{kind="sse"}') == 1
    assert metric(body, 'kiln_timeouts_total{kind="request"}') == 0
    names = get_events(k.url("/sse.php?count=4&delay=700&heartbeat=1"), hdr)
    assert names == ["tick"] * 4 + ["end"]
    assert httpx.get(k.url("/sleep.php?ms=1"), timeout=10).text == "slept 1\n"


def test_disconnect_frees_the_worker(phpsite, start_kiln, tmp_path):
    """An endless stream on the only worker: once the client leaves, the script sees
    connection_aborted() at its next output and the worker serves the next request."""
    k = start_kiln(phpsite, PHP_ARGS)
    marker = tmp_path / "marker"
    with socket.create_connection(("127.0.0.1", k.port)) as s:
        s.sendall(f"GET /sse.php?count=0&delay=100&marker={marker} HTTP/1.1\r\nHost: x\r\n"
                  "Accept: text/event-stream\r\n\r\n".encode())
        assert b"event: tick" in s.recv(65536)
    # the worker is free again long before the stream's 60 s would end
    r = httpx.get(k.url("/sleep.php?ms=1"), timeout=10)
    assert r.text == "slept 1\n"
    assert marker.read_text().startswith("aborted at")


def test_http2_reset_frees_the_worker(phpsite, start_kiln, tmp_path):
    import h2.config
    import h2.connection
    import h2.errors
    k = start_kiln(phpsite, PHP_ARGS)
    marker = tmp_path / "marker"
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    with socket.create_connection(("127.0.0.1", k.port), timeout=10) as s:
        s.sendall(conn.data_to_send())
        conn.send_headers(1, [(":method", "GET"), (":path", f"/sse.php?count=0&delay=100&marker={marker}"),
                              (":scheme", "http"), (":authority", "x"),
                              ("accept", "text/event-stream")], end_stream=True)
        s.sendall(conn.data_to_send())
        got = b""
        while b"tick" not in got:
            for ev in conn.receive_data(s.recv(65536)):
                got += getattr(ev, "data", b"") or b""
        conn.reset_stream(1, h2.errors.ErrorCodes.CANCEL)
        s.sendall(conn.data_to_send())
        r = httpx.get(k.url("/sleep.php?ms=1"), timeout=10)
        assert r.text == "slept 1\n"
    assert marker.read_text().startswith("aborted at")


def test_browser_eventsource_receives_three_events(phpsite, start_kiln, tmp_path):
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is installed by scripts/install-deps.sh"
    k = start_kiln(phpsite, PHP_ARGS[:2] + ["--workers", "2"])
    result = phpsite / "sse_result.json"
    profile = tempfile.mkdtemp(dir=tmp_path)
    proc = subprocess.Popen([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                             "--no-first-run", f"--user-data-dir={profile}",
                             k.url("/sse_page.html")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (result.exists() and result.read_text()):
            time.sleep(0.2)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    got = json.loads(result.read_text())
    assert isinstance(got, list), f"the EventSource failed after {got} events"
    assert [e["i"] for e in got] == [0, 1, 2]


def test_sse_metrics_move(phpsite, start_kiln):
    from test_internal import metric
    from conftest import free_port
    port = free_port()
    k = start_kiln(phpsite, PHP_ARGS + ["--internal-addr", f"127.0.0.1:{port}"])
    r = httpx.get(k.url("/sse.php?count=3"), headers={"Accept": "text/event-stream"}, timeout=30)
    assert r.status_code == 200
    httpx.get(k.url("/sleep.php?ms=1"), timeout=10)  # not a stream: no SSE metric moves
    body = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    assert metric(body, "kiln_sse_connections_total") == 1
    assert metric(body, "kiln_sse_active_connections") == 0
    assert metric(body, "kiln_sse_bytes_total") == len(r.content)
    assert metric(body, "kiln_sse_chunks_total") >= 3


def test_sse_active_gauge_follows_open_streams(phpsite, start_kiln):
    from test_internal import metric
    from conftest import free_port
    port = free_port()
    k = start_kiln(phpsite, ["--executor", "php", "--workers", "2",
                             "--internal-addr", f"127.0.0.1:{port}"])
    scrape = lambda: httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    with socket.create_connection(("127.0.0.1", k.port)) as s:
        s.sendall(b"GET /sse.php?count=0&delay=100 HTTP/1.1\r\nHost: x\r\n"
                  b"Accept: text/event-stream\r\n\r\n")
        assert b"event: tick" in s.recv(65536)
        assert metric(scrape(), "kiln_sse_active_connections") == 1
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and metric(scrape(), "kiln_sse_active_connections") != 0:
        time.sleep(0.1)
    assert metric(scrape(), "kiln_sse_active_connections") == 0
