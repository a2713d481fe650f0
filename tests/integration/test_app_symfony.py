"""A Symfony 5.4 application (tests/apps/symfony, on Debian's php-symfony-* packages) under Kiln.

A MicroKernelTrait kernel with FrameworkBundle and TwigBundle, in framework mode
(INDEX_FILE=index.php, docroot public/), 2 workers, every route through real HTTP with the cookies
kept: Twig pages, the session, a Form with CSRF protection and validation, the posted data visible
afterwards, JSON both ways, route parameters, the framework's 404, and the URLs Symfony builds
from Kiln's $_SERVER.

Every test runs in both modes: classic (public/index.php boots the kernel for each request) and
worker (examples/symfony-worker.php boots it once per worker, issue 14). The worker-mode tests at
the end use one worker, so that consecutive requests of different clients meet the same booted
kernel: nothing of one request (session, CSRF token, flash messages, state in services) may reach
the next.
"""

import contextlib

import re
import subprocess
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, Kiln

SCRIPT = ROOT / "tests" / "apps" / "symfony.sh"
RUNTIME = ROOT / "examples" / "symfony-worker.php"


@pytest.fixture(scope="module", autouse=True)
def packages():
    """make test installs them (scripts/install-deps.sh): missing is a failure, not a skip."""
    need = {
        "php-symfony-framework-bundle": "Symfony/Bundle/FrameworkBundle/autoload.php",
        "php-symfony-twig-bundle": "Symfony/Bundle/TwigBundle/autoload.php",
        "php-symfony-form": "Symfony/Component/Form/autoload.php",
        "php-symfony-security-csrf": "Symfony/Component/Security/Csrf/autoload.php",
        "php-symfony-validator": "Symfony/Component/Validator/autoload.php",
    }
    missing = [pkg for pkg, f in need.items() if not (Path("/usr/share/php") / f).exists()]
    assert not missing, f"Debian packages missing: {' '.join(missing)} (scripts/install-deps.sh)"


@contextlib.contextmanager
def serve(work, mode, workers):
    """The application installed in work/, served by Kiln in mode "classic" or "worker"."""
    # Kiln is the proxy the application trusts for X-Forwarded-* (docs/frameworks.md).
    subprocess.run([str(SCRIPT), "start", str(work), "127.0.0.1"], check=True, timeout=120,
                   capture_output=True)
    args = ["--index-file", "index.php", "--workers", str(workers)]
    if mode == "worker":
        args += ["--worker-script", str(RUNTIME)]
    k = Kiln(work / "symfony" / "public", args, {"APP_BASE_PATH": str(work / "symfony")}, work)
    k.mode = mode
    k.start()
    yield k
    k.stop()
    # Symfony logs to PHP's stderr, which Kiln logs: 404s are [error], a 500 would be [critical].
    assert not re.search(r"\[(critical|alert|emergency)\]", k.log()), k.log()[-3000:]
    assert "PHP Fatal" not in k.errors() and "Uncaught" not in k.errors(), k.errors()[-3000:]
    subprocess.run([str(SCRIPT), "stop", str(work)], check=True, timeout=60)


@pytest.fixture(scope="module", params=["classic", "worker"])
def app(request, tmp_path_factory):
    with serve(tmp_path_factory.mktemp("symfony"), request.param, 2) as k:
        yield k


@pytest.fixture(scope="module")
def one(tmp_path_factory):
    """Worker mode, one worker: every request meets the same booted kernel."""
    with serve(tmp_path_factory.mktemp("symfony1"), "worker", 1) as k:
        yield k


def client(app):
    return httpx.Client(base_url=app.base, timeout=30, follow_redirects=False)


def form_token(page):
    return re.search(r'name="form\[_token\]" value="([^"]+)"', page).group(1)


def sign(c, token, name, message):
    data = {"form[name]": name, "form[message]": message, "form[sign]": ""}
    if token is not None:
        data["form[_token]"] = token
    return c.post("/guestbook", data=data)


def errors(page):
    return re.findall(r"<li>([^<]*)</li></ul>", page)


def test_home_page_is_a_rendered_template(app):
    with client(app) as c:
        r = c.get("/")
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/html; charset=UTF-8"
        assert "<h1>Symfony on Kiln</h1>" in r.text
        assert "Symfony 5.4." in r.text
        assert "<li>HttpKernel</li>" in r.text  # {% for %}
        # The request's base path, from SCRIPT_NAME and REQUEST_URI: empty at the root.
        assert '<link rel="stylesheet" href="/css/app.css">' in r.text
        assert len(r.headers.get_list("date")) == 1  # Symfony's Date replaces Kiln's
        css = c.get("/css/app.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        head = c.head("/")
        assert head.status_code == 200 and head.content == b""


def test_session_counter_survives_across_requests(app):
    with client(app) as c:
        first = c.get("/counter")
        assert "Visits in this session: 1</p>" in first.text
        cookie = first.headers["set-cookie"].lower()
        assert cookie.startswith("phpsessid=") and "httponly" in cookie and "samesite=lax" in cookie
        assert "secure" not in cookie  # cookie_secure: auto, over plain HTTP
        for n in range(2, 6):
            assert f"Visits in this session: {n}</p>" in c.get("/counter").text
    with client(app) as other:
        assert "Visits in this session: 1</p>" in other.get("/counter").text


def test_post_without_or_with_a_wrong_csrf_token_is_refused(app):
    with client(app) as c:
        form_token(c.get("/guestbook").text)
        for token in (None, "forged"):
            r = sign(c, token, "Mallory", "no valid token")
            assert r.status_code == 422
            assert errors(r.text) == ["The CSRF token is invalid. Please try to resubmit the form."]
        assert "Mallory" not in c.get("/guestbook").text


def test_a_token_from_another_session_is_refused(app):
    with client(app) as victim, client(app) as attacker:
        token = form_token(attacker.get("/guestbook").text)
        victim.get("/guestbook")
        assert sign(victim, token, "Mallory", "cross-site").status_code == 422


def test_validation_errors_are_shown_with_the_input(app):
    with client(app) as c:
        token = form_token(c.get("/guestbook").text)
        r = sign(c, token, "", "x")
        assert r.status_code == 422
        assert errors(r.text) == ["This value should not be blank.",
                                  "This value is too short. It should have 3 characters or more."]
        assert ">x</textarea>" in r.text


def test_valid_post_is_shown_afterwards(app):
    with client(app) as c:
        token = form_token(c.get("/guestbook").text)
        r = sign(c, token, "Ada <Lovelace>", "Signed through Kiln & Symfony.")
        assert (r.status_code, r.headers["location"]) == (302, "/guestbook")
        page = c.get("/guestbook").text
        assert '<p id="status">Thank you, Ada &lt;Lovelace&gt;!</p>' in page  # a flash
        entry = "<li><b>Ada &lt;Lovelace&gt;</b>: Signed through Kiln &amp; Symfony.</li>"
        assert entry in page
        assert 'id="status"' not in c.get("/guestbook").text
    with client(app) as other:
        assert entry in other.get("/guestbook").text


def test_json_get_and_post_round_trip(app):
    with client(app) as c:
        r = c.get("/api/status")
        assert r.status_code == 200 and r.headers["content-type"] == "application/json"
        assert r.json()["framework"].startswith("Symfony 5.4.")
        items = [1, "zwei", {"drei": "é ü 漢字"}, None]
        r = c.post("/api/echo", json={"items": items})
        assert r.status_code == 201
        assert r.json() == {"received": {"items": items}, "content_type": "json", "count": 4}
        chunked = c.post("/api/echo", content=iter([b'{"items":', b'[1,2]}']),
                         headers={"Content-Type": "application/json"})
        assert chunked.status_code == 201 and chunked.json()["count"] == 2
        assert c.post("/api/echo", content=b"not json").status_code == 400


def test_route_parameter(app):
    with client(app) as c:
        r = c.get("/hello/Kiln%20User")
        assert r.status_code == 200 and "<h1>Hello, Kiln User!</h1>" in r.text
        assert c.get("/hello/a.b").status_code == 404  # the route's requirement


def test_not_found_is_the_frameworks_page(app):
    with client(app) as c:
        for path in ["/no/such/page", "/guestbook/extra", "/css/missing.css"]:
            r = c.get(path)
            assert r.status_code == 404, path
            assert "<h1>No such page</h1>" in r.text, path  # templates/bundles/TwigBundle
        assert c.delete("/guestbook").status_code == 405
        assert c.get("/index.php").status_code == 404  # framework mode (docs/routing.md)


def test_urls_built_from_the_request(app):
    with client(app) as c:
        d = c.get("/request?b=2&a=1").json()
        assert d == {"uri": app.url("/request?a=1&b=2"), "path_info": "/request", "base_url": "",
                     "query": {"a": "1", "b": "2"}, "secure": False, "ip": "127.0.0.1",
                     "host": f"127.0.0.1:{app.port}", "route_url": app.url("/guestbook")}
        d = c.get("/request/%7Euser", headers={"Host": "shop.example:8443"})
        assert d.status_code == 404
        d = c.get("/request", headers={"Host": "shop.example:8443"}).json()
        assert d["uri"] == "http://shop.example:8443/request"


def test_forwarded_https_from_a_trusted_proxy(app):
    with client(app) as c:
        d = c.get("/request", headers={"X-Forwarded-Proto": "https",
                                       "X-Forwarded-Host": "www.example.org",
                                       "X-Forwarded-Port": "443",
                                       "X-Forwarded-For": "203.0.113.9"}).json()
        assert (d["secure"], d["ip"]) == (True, "203.0.113.9")
        assert d["uri"] == "https://www.example.org/request"
        assert d["route_url"] == "https://www.example.org/guestbook"


# ---- worker mode, one worker: nothing of one request reaches the next ------------------------

def test_worker_boots_the_kernel_once(one):
    with client(one) as c:
        seen = [c.get("/api/status").json() for _ in range(5)]
    assert {(s["pid"], s["boots"]) for s in seen} == {(seen[0]["pid"], 1)}
    served = [s["served"] for s in seen]
    assert served == list(range(served[0], served[0] + 5))  # one booted kernel served them


def test_interleaved_sessions_never_meet(one):
    with client(one) as a, client(one) as b:
        assert "Visits in this session: 1</p>" in a.get("/counter").text
        assert "Visits in this session: 2</p>" in a.get("/counter").text
        assert "Visits in this session: 1</p>" in b.get("/counter").text
        assert "Visits in this session: 3</p>" in a.get("/counter").text
        assert "Visits in this session: 2</p>" in b.get("/counter").text
        assert a.cookies["PHPSESSID"] != b.cookies["PHPSESSID"]

        token_a = form_token(a.get("/guestbook").text)
        token_b = form_token(b.get("/guestbook").text)
        assert token_a != token_b
        assert sign(b, token_a, "B", "with A's token").status_code == 422
        r = sign(a, token_a, "", "from A")
        assert r.status_code == 422 and ">from A</textarea>" in r.text
        page_b = b.get("/guestbook").text
        assert ">from A</textarea>" not in page_b and not errors(page_b)
        # A flash message is A's: B's next page does not show it, A's does.
        assert sign(a, token_a, "Flash", "for A only").status_code == 302
        assert 'id="status"' not in b.get("/guestbook").text
        assert '<p id="status">Thank you, Flash!</p>' in a.get("/guestbook").text
        # B's token is still B's (Symfony masks it anew on every page: compare by use).
        assert sign(b, form_token(page_b), "B", "B's own entry").status_code == 302
        assert '<p id="status">Thank you, B!</p>' in b.get("/guestbook").text


def test_an_anonymous_client_gets_nothing_of_a_session(one):
    with client(one) as a:
        for _ in range(3):
            a.get("/counter")
        with client(one) as anon:
            r = anon.get("/api/status")  # no session started: no cookie at all
            assert "set-cookie" not in r.headers
            r = anon.get("/counter")
            assert "Visits in this session: 1</p>" in r.text
            assert anon.cookies["PHPSESSID"] != a.cookies["PHPSESSID"]


def test_services_are_reset_between_requests(one):
    """A kernel.reset service (ResetInterface) is emptied before the next request."""
    with client(one) as c:
        assert c.get("/leave-state").json() == {"notes": ["left by a request"]}
        assert c.get("/api/state").json() == {"notes": []}
        assert c.get("/leave-state").json() == {"notes": ["left by a request"]}
