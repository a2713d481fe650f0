"""Slow and stuck clients: request bodies that stall or trickle (HTTP/1 and HTTP/2), and clients
that open too many connections. Each is cut in the master, answered where an answer is possible,
and counted in /metrics."""

import select
import socket
import time

import h2.config
import h2.connection
import h2.events

from conftest import recv_all
from test_internal import metric, start_internal

BODY_TIMEOUTS = 'kiln_timeouts_total{kind="body"}'


class H2Client:
    """A raw HTTP/2 (h2c) client on one connection, stream by stream."""

    def __init__(self, port):
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(
            client_side=True, header_encoding="utf-8"))
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn.initiate_connection()
        self.flush()
        self.outcomes = {}

    def flush(self):
        self.sock.sendall(self.conn.data_to_send())

    def request(self, stream_id, method, path, headers=(), end_stream=True):
        self.conn.send_headers(stream_id, [(":method", method), (":path", path),
                                           (":scheme", "http"), (":authority", "localhost"),
                                           *headers], end_stream=end_stream)
        self.flush()

    def data(self, stream_id, payload):
        self.conn.send_data(stream_id, payload)
        self.flush()

    def poll(self):
        """Reads once and notes each stream's :status, or "reset" if it is reset first."""
        data = self.sock.recv(65536)
        assert data, "connection closed"
        for event in self.conn.receive_data(data):
            if isinstance(event, h2.events.ResponseReceived):
                self.outcomes.setdefault(event.stream_id, int(dict(event.headers)[":status"]))
            elif isinstance(event, h2.events.StreamReset):
                self.outcomes.setdefault(event.stream_id, "reset")
        self.flush()

    def outcome(self, stream_id):
        while stream_id not in self.outcomes:
            self.poll()
        return self.outcomes[stream_id]

    def closed_by_server(self):
        try:
            while self.sock.recv(65536):
                pass
        except TimeoutError:
            return False
        return True

    def close(self):
        self.sock.close()


def test_h2_stalled_request_body_gets_408_and_other_streams_go_on(site, start_kiln):
    k, base = start_internal(start_kiln, site, ["--executor", "stub", "--idle-timeout", "1"])
    before = metric(get_metrics(base), BODY_TIMEOUTS)
    c = H2Client(k.port)
    try:
        c.request(1, "POST", "/hello.php", [("content-length", "10")], end_stream=False)
        c.data(1, b"ab")  # and never the rest
        c.request(3, "POST", "/hello.php", [("content-length", "10")], end_stream=False)
        assert c.outcome(1) in (408, "reset")
        # the stream that never sent a byte of its body stalled as well
        assert c.outcome(3) in (408, "reset")
        c.request(5, "GET", "/index.html")
        assert c.outcome(5) == 200
        # the cut streams are over: the connection idles out like any other
        assert c.closed_by_server()
    finally:
        c.close()
    assert metric(get_metrics(base), BODY_TIMEOUTS) - before == 2


def get_metrics(base):
    import httpx
    return httpx.get(base + "/metrics", timeout=5).text


def trickle_until_answered(send, readable, budget=40):
    """Sends one body byte every 0.2 s (never idle for a whole IDLE_TIMEOUT_SECS) until the server
    answers; returns how many bytes went out (the server answers before the body is complete)."""
    for sent in range(budget):
        if readable():
            return sent
        send()
        time.sleep(0.2)
    return budget


def test_http1_body_slower_than_the_minimum_rate_gets_408(site, start_kiln):
    k, base = start_internal(start_kiln, site, ["--executor", "stub", "--idle-timeout", "1",
                                                "--body-min-rate", "100"])
    before = metric(get_metrics(base), BODY_TIMEOUTS)
    with socket.create_connection(("127.0.0.1", k.port), timeout=5) as s:
        s.sendall(b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\n\r\n")
        sent = trickle_until_answered(lambda: s.sendall(b"a"),
                                      lambda: select.select([s], [], [], 0)[0])
        assert sent < 40
        assert recv_all(s, timeout=5).startswith(b"HTTP/1.1 408 ")
    assert metric(get_metrics(base), BODY_TIMEOUTS) - before == 1
    # a body that arrives at once is served
    with socket.create_connection(("127.0.0.1", k.port), timeout=5) as s:
        s.sendall(b"POST /hello.php HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
                  b"Connection: close\r\n\r\nabcd")
        assert recv_all(s, timeout=5).startswith(b"HTTP/1.1 200 ")


def test_h2_body_slower_than_the_minimum_rate_gets_408(site, start_kiln):
    k, base = start_internal(start_kiln, site, ["--executor", "stub", "--idle-timeout", "1",
                                                "--body-min-rate", "100"])
    before = metric(get_metrics(base), BODY_TIMEOUTS)
    c = H2Client(k.port)
    try:
        c.request(1, "POST", "/hello.php", [("content-length", "40")], end_stream=False)
        c.request(3, "POST", "/hello.php", [("content-length", "4")], end_stream=False)
        c.data(3, b"abcd")
        c.conn.end_stream(3)
        c.flush()
        assert c.outcome(3) == 200

        def answered():
            if select.select([c.sock], [], [], 0)[0]:
                c.poll()
            return 1 in c.outcomes
        sent = trickle_until_answered(lambda: c.data(1, b"a"), answered)
        assert sent < 40
        assert c.outcome(1) == 408
    finally:
        c.close()
    assert metric(get_metrics(base), BODY_TIMEOUTS) - before == 1


def test_connections_over_the_per_ip_limit_are_closed_at_accept(site, start_kiln):
    k, base = start_internal(start_kiln, site, ["--executor", "stub",
                                                "--max-connections-per-ip", "3"])
    refused = 'kiln_connections_refused_total{reason="per_ip"}'
    before = metric(get_metrics(base), refused)
    held = [socket.create_connection(("127.0.0.1", k.port), timeout=5) for _ in range(3)]
    try:
        for s in held:  # served: the three are open and counted before the fourth comes
            s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
            assert s.recv(65536).startswith(b"HTTP/1.1 200 ")
        with socket.create_connection(("127.0.0.1", k.port), timeout=5) as s:
            s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                assert s.recv(65536) == b""
            except ConnectionResetError:
                pass
        assert metric(get_metrics(base), refused) - before == 1
        held.pop().close()
        # one slot free again (the close is seen before the next accept, or soon after)
        for _ in range(50):
            with socket.create_connection(("127.0.0.1", k.port), timeout=5) as s:
                s.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                try:
                    if recv_all(s, timeout=5).startswith(b"HTTP/1.1 200 "):
                        break
                except ConnectionResetError:
                    pass
            time.sleep(0.05)
        else:
            raise AssertionError("a freed slot was never given again")
    finally:
        for s in held:
            s.close()
