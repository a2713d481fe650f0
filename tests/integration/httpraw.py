"""A tiny HTTP/1.1 response reader for tests that need raw sockets (pipelining, malformed input)."""


class Response:
    def __init__(self, status, headers, body, head):
        self.status = status
        self.headers = headers  # lower-case name -> list of values
        self.body = body
        self.head = head

    def header(self, name):
        values = self.headers.get(name.lower())
        return values[0] if values else None


def parse_responses(data, head_request=False):
    """Splits `data` into consecutive responses framed by Content-Length (or ending at EOF)."""
    out = []
    while data:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            raise ValueError(f"incomplete head: {data[:200]!r}")
        head = data[:end].decode("latin-1")
        data = data[end + 4:]
        lines = head.split("\r\n")
        version, status = lines[0].split(" ")[:2]
        assert version == "HTTP/1.1", lines[0]
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.setdefault(name.strip().lower(), []).append(value.strip())
        status = int(status)
        if status < 200 or status in (204, 304) or head_request:
            length = 0
        elif "content-length" in headers:
            length = int(headers["content-length"][0])
        else:
            length = len(data)
        out.append(Response(status, headers, data[:length], head))
        data = data[length:]
    return out


def parse_one(data, head_request=False):
    responses = parse_responses(data, head_request)
    assert len(responses) == 1, [r.status for r in responses]
    return responses[0]
