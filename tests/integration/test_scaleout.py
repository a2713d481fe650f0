"""Scale-out: two Kiln instances behind a real load balancer (nginx; HAProxy for the /ready
health checks), PHP sessions in a real Redis (Debian's redis-server and php8.2-redis). A logged-in
session survives requests landing on either instance, a graceful reload of one, SIGTERM of one
(SHUTDOWN_DELAY) and SIGKILL of one. docs/scaling.md is the guide these tests back."""

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from conftest import KILN_BIN, PHP_SCRIPTS, free_port


@pytest.fixture(scope="module", autouse=True)
def packages():
    """make test installs them (scripts/install-deps.sh): missing ones are a failure, not a skip."""
    missing = [tool for tool in ("redis-server", "nginx", "haproxy")
               if not shutil.which(tool) and not Path("/usr/sbin", tool).exists()]
    if not Path("/etc/php/8.2/embed/conf.d/20-redis.ini").exists():
        missing.append("php8.2-redis")
    assert not missing, f"Debian packages missing: {' '.join(missing)} (scripts/install-deps.sh)"


NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"


def wait_for(what, check, timeout=30, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(step)
    raise AssertionError(f"timed out waiting for {what}")


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


class Daemon:
    """A foreground process started by a test, stopped by its PID."""

    def __init__(self, name, argv, workdir):
        self.name = name
        self.log = open(workdir / f"{name}.log", "w+")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT,
                                     cwd=workdir)

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def daemons():
    started = []

    def start(name, argv, workdir, ready):
        d = Daemon(name, argv, workdir)
        started.append(d)
        try:
            wait_for(name, lambda: d.proc.poll() is None and ready())
        except AssertionError:
            raise AssertionError(f"{name} did not start: {d.output()}")
        return d

    yield start
    for d in reversed(started):
        d.stop()


@pytest.fixture
def redis_port(tmp_path, daemons):
    """A redis-server of the test's own: its port, its directory, nothing saved to disk."""
    port = free_port()
    work = tmp_path / "redis"
    work.mkdir()
    daemons("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir",
                      str(work), "--save", "", "--appendonly", "no", "--daemonize", "no"],
            work, lambda: redis_ping(port))
    return port


def redis_command(port, command):
    """One inline command; the raw reply (short replies only)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(command.encode() + b"\r\n")
        return s.recv(4096)


def redis_ping(port):
    try:
        return redis_command(port, "PING") == b"+PONG\r\n"
    except OSError:
        return False


@pytest.fixture
def app(tmp_path):
    root = tmp_path / "app"
    shutil.copytree(PHP_SCRIPTS / "scaleout", root)
    return root


@pytest.fixture
def instances(app, redis_port, start_kiln):
    """instances(**env) -> Kiln "a" and "b", each with its internal server and 2 workers, their
    sessions in the Redis, and ready (/ready 200)."""

    def start(**env):
        kilns = []
        for name in ("a", "b"):
            internal = free_port()
            k = start_kiln(app, ["--workers", "2", "--internal-addr", f"127.0.0.1:{internal}",
                                 "-d", "session.save_handler=redis",
                                 "-d", f"session.save_path=tcp://127.0.0.1:{redis_port}"],
                           {"KILN_INSTANCE": name, **env})
            k.name, k.internal_port = name, internal
            kilns.append(k)
        for k in kilns:
            wait_for(f"kiln {k.name} ready", lambda k=k: ready_status(k) == 200)
        return kilns

    return start


def ready_status(k):
    try:
        return httpx.get(f"http://127.0.0.1:{k.internal_port}/ready", timeout=2).status_code
    except httpx.HTTPError:
        return None


def nginx_conf(tmp_path, kilns):
    """nginx as the load balancer: round-robin over both, passive health (max_fails,
    fail_timeout), the next upstream on a connection error, a timeout, 502 or 503."""
    prefix = tmp_path / "nginx"
    prefix.mkdir()
    port = free_port()
    user = "user root;" if os.getuid() == 0 else ""
    servers = "\n".join(f"    server 127.0.0.1:{k.port} max_fails=1 fail_timeout=2s;"
                        for k in kilns)
    (prefix / "nginx.conf").write_text(f"""{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log {prefix}/access.log;
  upstream kiln {{
{servers}
    keepalive 16;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://kiln;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 2s;
      proxy_read_timeout 30s;
    }}
  }}
}}
""")
    return prefix, port


@pytest.fixture
def nginx(tmp_path, daemons):
    """nginx(kilns) -> the load balancer's base URL."""

    def start(kilns):
        prefix, port = nginx_conf(tmp_path, kilns)
        daemons("nginx", [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"),
                          "-e", str(prefix / "error.log")], prefix, lambda: accepts(port))
        return f"http://127.0.0.1:{port}"

    return start


@pytest.fixture
def haproxy(tmp_path, daemons):
    """haproxy(kilns) -> (base URL, stats socket path): active health checks on each Kiln's
    /ready (internal port), a server whose /ready is not 200 is out of rotation."""

    def start(kilns):
        work = tmp_path / "haproxy"
        work.mkdir()
        port = free_port()
        sock = work / "stats.sock"
        servers = "\n".join(
            f"  server {k.name} 127.0.0.1:{k.port} check port {k.internal_port} "
            "inter 200ms fall 1 rise 2" for k in kilns)
        (work / "haproxy.cfg").write_text(f"""global
  stats socket {sock} level admin
defaults
  mode http
  timeout connect 2s
  timeout client 30s
  timeout server 30s
  retries 2
  option redispatch
  retry-on conn-failure empty-response
frontend web
  bind 127.0.0.1:{port}
  default_backend kiln
backend kiln
  balance roundrobin
  option httpchk GET /ready
  http-check expect status 200
{servers}
""")
        daemons("haproxy", [HAPROXY, "-db", "-f", str(work / "haproxy.cfg"),
                            "-p", str(work / "haproxy.pid")], work, lambda: accepts(port))
        base = f"http://127.0.0.1:{port}"
        wait_for("both servers up in haproxy",
                 lambda: all(s == "UP" for s in haproxy_status(sock).values()))
        return base, sock

    return start


def haproxy_status(sock):
    """{server: status} of the kiln backend, from the stats socket."""
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(sock))
        s.sendall(b"show stat\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    lines = data.decode().splitlines()
    header = lines[0].lstrip("# ").split(",")
    rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
    return {r["svname"]: r["status"] for r in rows
            if r["pxname"] == "kiln" and r["svname"] not in ("FRONTEND", "BACKEND")}


class Browser:
    """One user: a cookie jar, a login, page views. Each view is recorded (its start and end,
    and what answered) so a test can check what failed and when."""

    def __init__(self, base, user):
        self.client = httpx.Client(base_url=base, timeout=30)
        self.user = user
        self.views = []

    def login(self):
        form = self.client.get("/login.php")
        assert form.status_code == 200 and "<form" in form.text
        r = self.client.post("/login.php", data={"user": self.user})
        assert r.status_code == 303 and r.headers["location"] == "page.php", r.text
        assert "PHPSESSID" in self.client.cookies
        return r.headers["x-kiln-instance"]

    def view(self, ms=0):
        start = time.monotonic()
        try:
            r = self.client.get(f"/page.php?ms={ms}")
            ok = r.status_code == 200
            body = r.json() if ok else {"status": r.status_code, "text": r.text}
        except httpx.HTTPError as e:
            ok, body = False, {"error": repr(e)}
        self.views.append({"start": start, "end": time.monotonic(), "ok": ok, **body})
        return self.views[-1]

    def logout(self):
        assert self.client.get("/logout.php").status_code == 200

    def served(self):
        return [v for v in self.views if v["ok"]]

    def check_session(self, consecutive=True):
        """Every answered view knew the user, and the counter only went up: by one each time,
        or (consecutive=False, a request may have run on a killed instance and been retried on
        the other) at least by one."""
        views = self.served()
        assert views and all(v["user"] == self.user for v in views)
        counts = [v["count"] for v in views]
        steps = {b - a for a, b in zip(counts, counts[1:])}
        if consecutive:
            assert counts == list(range(1, len(counts) + 1)), counts
        else:
            assert counts[0] >= 1 and min(steps, default=1) >= 1, counts

    def close(self):
        self.client.close()


class Load:
    """Browsers viewing their page in a loop, each on its own thread, until stopped."""

    def __init__(self, browsers, ms=0):
        self.browsers, self.ms = browsers, ms
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(b,)) for b in browsers]

    def _run(self, browser):
        while not self.stopping.is_set():
            browser.view(self.ms)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        for t in self.threads:
            t.join(60)

    def views(self):
        return [v for b in self.browsers for v in b.views]

    def wait_views(self, n, since=0.0, instance=None, timeout=30):
        """Waits until n more views have been answered after `since` (by `instance`, if given)."""
        def enough():
            done = [v for v in self.views() if v["ok"] and v["start"] > since
                    and instance in (None, v["instance"])]
            return len(done) >= n
        wait_for(f"{n} views", enough, timeout)


def logged_in(base, users):
    browsers = [Browser(base, u) for u in users]
    for b in browsers:
        b.login()
    return browsers


def descendants(pid):
    """Every process below pid (the php-zygote and the workers of a Kiln)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            todo += children
    return found


def alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def reload_kiln(k):
    r = subprocess.run([KILN_BIN, "--reload", str(k.proc.pid)], capture_output=True, text=True,
                       timeout=150)
    return r.returncode


def metric(k, name):
    text = httpx.get(f"http://127.0.0.1:{k.internal_port}/metrics", timeout=5).text
    m = re.search(rf"^{re.escape(name)} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def test_a_session_lives_on_both_instances(instances, nginx, redis_port):
    kilns = instances()
    base = nginx(kilns)
    alice = Browser(base, "alice")
    alice.login()
    session_key = f"PHPREDIS_SESSION:{alice.client.cookies['PHPSESSID']}"
    assert redis_command(redis_port, f"EXISTS {session_key}") == b":1\r\n"  # the one store
    for _ in range(12):
        assert alice.view()["ok"]
    alice.check_session()
    # round-robin: both instances served the one session, and each took up its count
    assert {v["instance"] for v in alice.views} == {"a", "b"}
    by_instance = {}
    for v in alice.views:
        by_instance.setdefault(v["instance"], []).append(v["count"])
    assert all(len(counts) >= 3 for counts in by_instance.values()), by_instance
    # a second user's session is another one
    bob = Browser(base, "bob")
    bob.login()
    assert bob.view()["count"] == 1
    # logged out on one instance means logged out on both
    alice.logout()
    after = [alice.client.get("/page.php") for _ in range(4)]
    assert [r.status_code for r in after] == [401] * 4
    assert redis_command(redis_port, f"EXISTS {session_key}") == b":0\r\n"
    assert {r.headers["x-kiln-instance"] for r in after} == {"a", "b"}
    assert bob.view()["count"] == 2
    for b in (alice, bob):
        b.close()


def test_a_graceful_reload_of_one_instance_fails_no_request(instances, nginx):
    kilns = instances()
    a = kilns[0]
    browsers = logged_in(nginx(kilns), ["carol", "dave"])
    pids_before = set()
    with Load(browsers, ms=20) as load:
        load.wait_views(10)
        pids_before = {v["pid"] for v in load.views() if v["ok"] and v["instance"] == "a"}
        assert reload_kiln(a) == 0
        reloaded = time.monotonic()
        load.wait_views(10, since=reloaded, instance="a")
    views = load.views()
    assert all(v["ok"] for v in views), [v for v in views if not v["ok"]]
    for b in browsers:
        b.check_session()  # every view counted once: nothing failed, nothing ran twice
    # the new requests on "a" ran on its new workers
    after = {v["pid"] for v in views if v["instance"] == "a" and v["start"] > reloaded}
    assert pids_before and after and not pids_before & after
    assert metric(a, 'kiln_reloads_total{result="ok"}') == 1
    for b in browsers:
        b.close()


def test_sigkill_of_one_instance_loses_at_most_the_requests_in_flight_on_it(instances, nginx):
    kilns = instances()
    a = kilns[0]
    browsers = logged_in(nginx(kilns), ["erin", "frank", "grace"])
    with Load(browsers, ms=50) as load:
        load.wait_views(5, instance="a")
        below = descendants(a.proc.pid)
        assert len(below) >= 3  # the php-zygote and its 2 workers
        a.proc.send_signal(signal.SIGKILL)
        killed = time.monotonic()
        assert a.proc.wait(10) == -signal.SIGKILL
        # nothing of it is left: the zygote and the workers die with it (PR_SET_PDEATHSIG)
        wait_for("the killed instance's processes to end",
                 lambda: not any(alive(p) for p in below), timeout=10)
        load.wait_views(15, since=killed)
        later = [v for v in load.views() if v["start"] > killed]
        assert all(v["ok"] and v["instance"] == "b" for v in later), later
        # the killed instance comes back on its port and gets its share again
        a.start()
        wait_for("kiln a ready again", lambda: ready_status(a) == 200)
        restarted = time.monotonic()
        load.wait_views(5, since=restarted, instance="a")
    failed = [v for v in load.views() if not v["ok"]]
    # at most one request per browser was in flight at the kill, and only those may fail
    assert len(failed) <= len(browsers), failed
    assert all(v["start"] < killed < v["end"] for v in failed), (killed, failed)
    for b in browsers:
        b.check_session(consecutive=False)  # a request cut on "a" may be retried on "b"
        views = b.served()
        assert views[-1]["count"] >= len(views)
        b.close()


def test_sigterm_with_shutdown_delay_fails_no_request_through_nginx(instances, nginx):
    kilns = instances(SHUTDOWN_DELAY="2s", DRAIN_TIMEOUT_SECS="10")
    a = kilns[0]
    browsers = logged_in(nginx(kilns), ["heidi", "ivan"])
    with Load(browsers, ms=20) as load:
        load.wait_views(5, instance="a")
        a.proc.send_signal(signal.SIGTERM)
        # /ready says 503 first, while the instance still accepts and serves
        wait_for("/ready 503", lambda: ready_status(a) == 503, timeout=5)
        assert a.proc.poll() is None and accepts(a.port)
        assert a.proc.wait(30) == 0
        stopped = time.monotonic()
        load.wait_views(10, since=stopped)
    views = load.views()
    assert all(v["ok"] for v in views), [v for v in views if not v["ok"]]
    assert all(v["instance"] == "b" for v in views if v["start"] > stopped)
    for b in browsers:
        b.check_session()
        b.close()


def test_haproxy_takes_an_instance_out_on_ready_503_before_it_stops_listening(instances,
                                                                              haproxy):
    kilns = instances(SHUTDOWN_DELAY="5s", DRAIN_TIMEOUT_SECS="10")
    a = kilns[0]
    base, stats = haproxy(kilns)
    browsers = logged_in(base, ["judy", "mallory"])
    with Load(browsers, ms=20) as load:
        load.wait_views(5, instance="a")
        a.proc.send_signal(signal.SIGTERM)
        # the health check on /ready sees 503 and takes "a" out while it still serves
        wait_for("haproxy marks a DOWN", lambda: haproxy_status(stats)["a"].startswith("DOWN"),
                 timeout=5)
        down = time.monotonic()
        assert a.proc.poll() is None and accepts(a.port)
        assert haproxy_status(stats)["b"] == "UP"
        load.wait_views(10, since=down)
        assert a.proc.wait(30) == 0
    views = load.views()
    assert all(v["ok"] for v in views), [v for v in views if not v["ok"]]
    # once down, haproxy sent nothing new to "a" (a request it had already sent may finish)
    late_on_a = [v for v in views if v["instance"] == "a" and v["start"] > down]
    assert late_on_a == []
    for b in browsers:
        b.check_session()
        b.close()
    # and a new instance is put in rotation only once its /ready says 200
    a.start()
    wait_for("haproxy marks a UP again", lambda: haproxy_status(stats)["a"] == "UP")
    assert ready_status(a) == 200


def test_ready_stays_200_through_a_reload(app, start_kiln):
    """A reload replaces every idle worker at once; the new ones come from a zygote that is
    already up, so a balancer must not take the instance out meanwhile (regression: /ready said
    503 "no workers" while the replacements were being forked)."""
    internal = free_port()
    k = start_kiln(app, ["--workers", "2", "--internal-addr", f"127.0.0.1:{internal}"])
    k.internal_port = internal
    wait_for("kiln ready", lambda: ready_status(k) == 200)
    answers, stopping = [], threading.Event()

    def probe():
        while not stopping.is_set():
            with socket.create_connection(("127.0.0.1", internal), timeout=5) as s:
                s.sendall(b"GET /ready HTTP/1.0\r\n\r\n")
                answers.append(s.recv(4096).split(b"\r\n", 1)[0])

    prober = threading.Thread(target=probe)
    prober.start()
    try:
        for _ in range(5):
            assert reload_kiln(k) == 0
    finally:
        stopping.set()
        prober.join(10)
    assert len(answers) > 0
    assert set(answers) == {b"HTTP/1.1 200 OK"}, {a: answers.count(a) for a in set(answers)}
    assert metric(k, 'kiln_reloads_total{result="ok"}') == 5


SCALING_MD = Path(__file__).resolve().parents[2] / "docs" / "scaling.md"


def doc_blocks(lang):
    return re.findall(rf"^```{lang}\n(.*?)^```", SCALING_MD.read_text(), re.M | re.S)


def kiln_settings():
    text = (Path(__file__).resolve().parents[2] / "src" / "config.c").read_text()
    return set(re.findall(r'\.env = "([A-Z0-9_]+)"', text))


def test_scaling_doc_names_only_settings_that_exist():
    settings = kiln_settings()
    named = set(re.findall(r"`([A-Z][A-Z0-9]*_[A-Z0-9_]+)", SCALING_MD.read_text()))
    assert named and named <= settings, named - settings


def test_scaling_doc_kubernetes_examples_parse_and_fit_together():
    yaml = pytest.importorskip("yaml")
    docs = [d for block in doc_blocks("yaml") for d in yaml.safe_load_all(block)]
    kinds = {d["kind"]: d for d in docs}
    assert set(kinds) == {"Deployment", "Service", "PodMonitor"}
    pod = kinds["Deployment"]["spec"]["template"]["spec"]
    (kiln,) = pod["containers"]
    env = {e["name"]: e.get("value") for e in kiln["env"]}
    assert set(env) - {"REDIS_PASSWORD"} <= kiln_settings()
    ports = {p["name"]: p["containerPort"] for p in kiln["ports"]}
    assert env["INTERNAL_ADDR"].endswith(f":{ports['internal']}")
    assert env["LISTEN_ADDR"].endswith(f":{ports['http']}")
    assert kiln["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "internal"}
    assert kiln["livenessProbe"]["httpGet"] == {"path": "/live", "port": "internal"}
    delay = int(env["SHUTDOWN_DELAY"].rstrip("s"))
    assert pod["terminationGracePeriodSeconds"] > delay + int(env["DRAIN_TIMEOUT_SECS"])
    endpoint = kinds["PodMonitor"]["spec"]["podMetricsEndpoints"][0]
    assert (endpoint["port"], endpoint["path"]) == ("internal", "/metrics")
    annotations = kinds["Deployment"]["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/port"] == str(ports["internal"])


def test_scaling_doc_load_balancer_examples_are_valid(tmp_path):
    (nginx_block,) = doc_blocks("nginx")
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"events {{}}\nhttp {{\n{nginx_block}}}\n")
    r = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf), "-e",
                        str(tmp_path / "error.log")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    (haproxy_block,) = doc_blocks("haproxy")
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(haproxy_block)
    r = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "http-check expect status 200" in haproxy_block
