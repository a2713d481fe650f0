"""A Laravel 8 application (tests/apps/laravel, on Debian's php-laravel-framework) under Kiln.

Framework mode (INDEX_FILE=index.php, docroot public/), 2 workers, every route through real HTTP
with the cookies kept: Blade views, the session, CSRF (419 without the token), validation errors
and old input after the redirect back, the posted data visible afterwards, JSON both ways, route
parameters, the framework's 404, and the URLs Laravel builds from Kiln's $_SERVER.

Every test runs in both modes: classic (public/index.php boots Laravel for each request) and worker
(examples/laravel-worker.php boots it once per worker, issue 14). The worker-mode tests at the end
use one worker, so that consecutive requests of different clients meet the same booted
application: nothing of one request (session, CSRF token, flashed errors and old input, view
data, queued cookies, locale, configuration) may reach the next.
"""

import contextlib

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest

from conftest import ROOT, Kiln

SCRIPT = ROOT / "tests" / "apps" / "laravel.sh"
RUNTIME = ROOT / "examples" / "laravel-worker.php"


@pytest.fixture(scope="module", autouse=True)
def packages():
    """make test installs it (scripts/install-deps.sh): missing is a failure, not a skip."""
    assert Path("/usr/share/php/Illuminate/autoload.php").exists(), \
        "Debian package missing: php-laravel-framework (scripts/install-deps.sh)"


@contextlib.contextmanager
def serve(work, mode, workers):
    """The application installed in work/, served by Kiln in mode "classic" or "worker"."""
    args = ["--index-file", "index.php", "--workers", str(workers)]
    if mode == "worker":
        args += ["--worker-script", str(RUNTIME)]
    k = Kiln(work / "laravel" / "public", args, {"APP_BASE_PATH": str(work / "laravel")}, work)
    subprocess.run([str(SCRIPT), "start", str(work), k.base], check=True, timeout=60,
                   capture_output=True)
    # Kiln is the proxy the application trusts for X-Forwarded-* (docs/frameworks.md).
    with open(work / "laravel" / ".env", "a") as env:
        env.write("APP_TRUSTED_PROXIES=127.0.0.1\n")
    k.mode = mode
    k.start()
    k.storage = work / "laravel" / "storage"
    yield k
    log = k.storage / "logs" / "laravel.log"
    k.stop()
    assert not log.exists(), log.read_text()[:3000]  # no exception was logged
    assert "PHP Fatal" not in k.errors() and "Uncaught" not in k.errors(), k.errors()[-3000:]
    subprocess.run([str(SCRIPT), "stop", str(work)], check=True, timeout=60)


@pytest.fixture(scope="module", params=["classic", "worker"])
def app(request, tmp_path_factory):
    with serve(tmp_path_factory.mktemp("laravel"), request.param, 2) as k:
        yield k


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    """Worker mode, one worker: every request meets the same booted application."""
    with serve(tmp_path_factory.mktemp("laravel1"), "worker", 1) as k:
        yield k


def client(app):
    return httpx.Client(base_url=app.base, timeout=30, follow_redirects=False)


def csrf_token(page):
    return re.search(r'name="_token" value="([^"]+)"', page).group(1)


def test_home_page_is_a_rendered_view(app):
    with client(app) as c:
        r = c.get("/")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/html; charset=UTF-8"
        assert "<h1>Laravel on Kiln</h1>" in r.text
        assert "Laravel 8.83." in r.text
        assert "<li>sessions</li>" in r.text  # @foreach
        assert f'<link rel="stylesheet" href="{app.base}/css/app.css">' in r.text  # asset()
        assert {"XSRF-TOKEN", "laravel_session"} <= set(c.cookies)
        assert len(r.headers.get_list("date")) == 1  # Symfony's Date replaces Kiln's
        css = c.get("/css/app.css")  # a file in public/ is served by Kiln, not by Laravel
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert "laravel_session" not in css.headers.get("set-cookie", "")
        head = c.head("/")
        assert head.status_code == 200 and head.content == b""


def test_session_counter_survives_across_requests(app):
    with client(app) as c:
        for n in range(1, 6):  # two workers: the session is in storage/, not in a process
            assert f"Visits in this session: {n}</p>" in c.get("/counter").text
    with client(app) as other:
        assert "Visits in this session: 1</p>" in other.get("/counter").text


def test_post_without_csrf_token_is_refused_with_419(app):
    with client(app) as c:
        c.get("/guestbook")
        r = c.post("/guestbook", data={"name": "Mallory", "message": "no token"})
        assert r.status_code == 419
        assert "Mallory" not in c.get("/guestbook").text


def test_failed_validation_redirects_back_with_errors_and_old_input(app):
    with client(app) as c:
        token = csrf_token(c.get("/guestbook").text)
        r = c.post("/guestbook", data={"_token": token, "name": "", "message": "kept"})
        assert r.status_code == 302
        assert r.headers["location"] == app.url("/guestbook")  # back, from the session
        page = c.get("/guestbook").text
        assert '<li class="error">The name field is required.</li>' in page
        assert ">kept</textarea>" in page  # old('message')
        again = c.get("/guestbook").text  # errors are flashed: gone on the next request
        assert 'id="errors"' not in again


def test_valid_post_is_shown_afterwards(app):
    with client(app) as c:
        token = csrf_token(c.get("/guestbook").text)
        r = c.post("/guestbook", data={"_token": token, "name": "Ada <Lovelace>",
                                       "message": "Signed through Kiln & Laravel."})
        assert r.status_code == 302 and r.headers["location"] == app.url("/guestbook")
        page = c.get("/guestbook").text
        assert '<p id="status">Thank you, Ada &lt;Lovelace&gt;!</p>' in page
        entry = "<li><b>Ada &lt;Lovelace&gt;</b>: Signed through Kiln &amp; Laravel.</li>"
        assert entry in page
    with client(app) as other:  # another session, maybe another worker: the data is stored
        page = other.get("/guestbook").text
        assert entry in page and 'id="status"' not in page


def test_ajax_post_with_the_xsrf_cookie_header(app):
    """What axios does: the XSRF-TOKEN cookie sent back as X-XSRF-TOKEN, errors as JSON."""
    with client(app) as c:
        c.get("/guestbook")
        headers = {"X-XSRF-TOKEN": unquote(c.cookies["XSRF-TOKEN"]), "Accept": "application/json"}
        r = c.post("/guestbook", json={"name": "Grace"}, headers=headers)
        assert r.status_code == 422
        assert r.json()["errors"] == {"message": ["The message field is required."]}
        r = c.post("/guestbook", json={"name": "Grace", "message": "via JSON"}, headers=headers)
        assert r.status_code == 302
        assert "<li><b>Grace</b>: via JSON</li>" in c.get("/guestbook").text


def test_json_get_and_post_round_trip(app):
    with client(app) as c:
        r = c.get("/api/status")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json()["app"] == "Kiln Laravel"
        assert r.json()["framework"].startswith("Laravel 8.83.")
        items = [1, "zwei", {"drei": "é ü 漢字"}, None]
        r = c.post("/api/echo", json={"items": items})
        assert r.status_code == 201
        assert r.json() == {"received": {"items": items}, "is_json": True, "count": 4}
        chunked = c.post("/api/echo", content=iter([b'{"items":', b'[1,2]}']),
                         headers={"Content-Type": "application/json"})
        assert chunked.status_code == 201 and chunked.json()["count"] == 2
        bad = c.post("/api/echo", json={}, headers={"Accept": "application/json"})
        assert bad.status_code == 422
        assert bad.json()["errors"] == {"items": ["The items field is required."]}


def test_route_parameter(app):
    with client(app) as c:
        r = c.get("/hello/Kiln%20User")
        assert r.status_code == 200 and "<h1>Hello, Kiln User!</h1>" in r.text
        assert c.get("/hello/a.b").status_code == 404  # the route's where() constraint


def test_not_found_is_the_frameworks_page(app):
    with client(app) as c:
        for path in ["/no/such/page", "/guestbook/extra", "/css/missing.css"]:
            r = c.get(path)
            assert r.status_code == 404, path
            assert "<h1>No such page</h1>" in r.text, path  # resources/views/errors/404
        assert c.put("/guestbook").status_code == 405
        # The front controller itself is not a URL in framework mode (docs/routing.md).
        assert c.get("/index.php").status_code == 404


def test_urls_and_redirects_built_from_the_request(app):
    with client(app) as c:
        d = c.get("/request?b=2&a=1").json()
        assert d["url"] == app.url("/request")
        assert d["full_url"] == app.url("/request?a=1&b=2")  # Laravel sorts the query
        assert (d["path"], d["query"], d["secure"], d["ip"]) == \
            ("request", {"a": "1", "b": "2"}, False, "127.0.0.1")
        assert d["route_url"] == app.url("/guestbook")
        d = c.get("/request", headers={"Host": "shop.example:8443"}).json()
        assert d["url"] == "http://shop.example:8443/request"
        r = c.get("/go-home")
        assert (r.status_code, r.headers["location"]) == (302, app.base)


def test_forwarded_https_from_a_trusted_proxy(app):
    """Behind a TLS-terminating proxy: Laravel's TrustProxies reads X-Forwarded-*."""
    with client(app) as c:
        d = c.get("/request", headers={"X-Forwarded-Proto": "https",
                                       "X-Forwarded-Host": "www.example.org",
                                       "X-Forwarded-Port": "443",
                                       "X-Forwarded-For": "203.0.113.9"}).json()
        assert d["secure"] is True
        assert d["url"] == "https://www.example.org/request"
        assert d["ip"] == "203.0.113.9"


# ---- worker mode, one worker: nothing of one request reaches the next ------------------------

def test_worker_boots_laravel_once(one):
    with client(one) as c:
        seen = [c.get("/api/status").json() for _ in range(5)]
    assert {(s["pid"], s["boots"]) for s in seen} == {(seen[0]["pid"], 1)}
    served = [s["served"] for s in seen]
    assert served == list(range(served[0], served[0] + 5))  # one booted application served them


def test_interleaved_sessions_never_meet(one):
    with client(one) as a, client(one) as b:
        assert "Visits in this session: 1</p>" in a.get("/counter").text
        assert "Visits in this session: 2</p>" in a.get("/counter").text
        assert "Visits in this session: 1</p>" in b.get("/counter").text
        assert "Visits in this session: 3</p>" in a.get("/counter").text
        assert "Visits in this session: 2</p>" in b.get("/counter").text
        assert a.cookies["laravel_session"] != b.cookies["laravel_session"]

        token_a = csrf_token(a.get("/guestbook").text)
        token_b = csrf_token(b.get("/guestbook").text)
        assert token_a != token_b
        r = a.post("/guestbook", data={"_token": token_a, "name": "", "message": "from A"})
        assert r.status_code == 302
        page_b = b.get("/guestbook").text  # right after A's failed post, on the same worker
        assert 'id="errors"' not in page_b and "from A" not in page_b
        assert csrf_token(page_b) == token_b
        page_a = a.get("/guestbook").text
        assert '<li class="error">The name field is required.</li>' in page_a
        assert ">from A</textarea>" in page_a and csrf_token(page_a) == token_a
        # A's token is A's: B cannot post with it.
        r = b.post("/guestbook", data={"_token": token_a, "name": "B", "message": "with A's token"})
        assert r.status_code == 419


def test_view_errors_and_flash_stay_with_their_session(one):
    with client(one) as a, client(one) as b:
        token = csrf_token(a.get("/guestbook").text)
        a.post("/guestbook", data={"_token": token, "name": "", "message": "x"})
        assert '<ul id="errors">' in a.get("/guestbook").text  # shares $errors with the view
        # A route outside the web group (no ShareErrorsFromSession) renders with the boot's data.
        state = b.get("/api/state").json()
        assert state["errors"] == [] and state["shared"] == ["__env", "app"]
        token = csrf_token(a.get("/guestbook").text)
        a.post("/guestbook", data={"_token": token, "name": "Flash", "message": "for A only"})
        assert 'id="status"' not in b.get("/guestbook").text
        assert '<p id="status">Thank you, Flash!</p>' in a.get("/guestbook").text


def test_an_anonymous_client_gets_nothing_of_a_session(one):
    with client(one) as a:
        for _ in range(3):
            a.get("/counter")
        session_a = a.cookies["laravel_session"]
        with client(one) as anon:
            r = anon.get("/api/status")  # the api group has no session: no cookie at all
            assert "set-cookie" not in r.headers
            r = anon.get("/counter")
            assert "Visits in this session: 1</p>" in r.text
            assert anon.cookies["laravel_session"] != session_a


def test_state_a_request_changes_is_gone_for_the_next(one):
    with client(one) as c:
        left = c.get("/leave-state").json()
        assert "leaked" in left["shared"]
    with client(one) as c:
        r = c.get("/api/state")
        assert r.json() == {"app": "Kiln Laravel", "locale": "en", "shared": ["__env", "app"],
                            "errors": [], "queued_cookies": 0}
        assert "set-cookie" not in r.headers  # the cookie queued by /leave-state
        assert "<title>Home - Kiln Laravel</title>" in c.get("/").text
