"""WordPress with pretty permalinks under Kiln's try-files routing (ROUTING=try-files).

The site comes from bench/apps/wordpress.sh (Debian's wordpress package, a private MariaDB);
the flows are the ones framework mode breaks: wp-login.php, wp-admin/, publishing, comments and
XML-RPC, next to the permalinks that need the front controller.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, Kiln

SCRIPT = ROOT / "bench" / "apps" / "wordpress.sh"
POST_SLUG = "kiln-serves-wordpress"


def missing_packages():
    need = {
        "wordpress": Path("/usr/share/wordpress/wp-load.php"),
        "wordpress-theme-twentytwentythree":
            Path("/usr/share/wordpress/wp-content/themes/twentytwentythree"),
        "php8.2-mysql": Path("/etc/php/8.2/embed/conf.d/20-mysqli.ini"),
        "mariadb-server": Path("/usr/sbin/mariadbd"),
        "php8.2-cli": Path("/usr/bin/php"),
    }
    return [pkg for pkg, path in need.items() if not path.exists()]


@pytest.fixture(scope="module", autouse=True)
def packages():
    """make test installs them (scripts/install-deps.sh): missing ones are a failure, not a skip."""
    missing = missing_packages()
    assert not missing, f"Debian packages missing: {' '.join(missing)} (scripts/install-deps.sh)"


@pytest.fixture(scope="module")
def wp(tmp_path_factory):
    work = tmp_path_factory.mktemp("wordpress")
    k = Kiln(work / "docroot", ["--index-file", "index.php", "--routing", "try-files",
                                "--workers", "2"], None, work)
    subprocess.run([str(SCRIPT), "start", str(work), k.base], check=True, timeout=120,
                   capture_output=True)
    try:
        k.start()
        k.password = (work / "admin-password").read_text().strip()
        yield k
        k.stop()
    finally:
        subprocess.run([str(SCRIPT), "stop", str(work)], check=True, timeout=60)


def client(wp):
    return httpx.Client(base_url=wp.base, timeout=30, follow_redirects=False)


def location(wp, r):
    """The redirect target of `r` as an absolute URL (Kiln's own redirects are relative)."""
    return str(httpx.URL(wp.url("/")).join(r.headers["location"]))


def log_in(wp, c):
    assert 'id="loginform"' in c.get("/wp-login.php").text  # also sets the test cookie
    r = c.post("/wp-login.php", data={
        "log": "admin", "pwd": wp.password, "wp-submit": "Log In",
        "redirect_to": wp.url("/wp-admin/"), "testcookie": "1"})
    assert r.status_code == 302, r.text[:2000]
    assert r.headers["location"] == wp.url("/wp-admin/")


def test_front_page_and_permalink(wp):
    with client(wp) as c:
        home = c.get("/")
        assert home.status_code == 200
        assert "Kiln serves WordPress" in home.text
        assert f'href="{wp.url("/" + POST_SLUG + "/")}"' in home.text
        post = c.get(f"/{POST_SLUG}/")
        assert post.status_code == 200
        assert "<title>Kiln serves WordPress" in post.text
        assert "This post is rendered by WordPress" in post.text
        assert "Nice to see WordPress running on a new server." in post.text  # the comment
        r = c.get(f"/{POST_SLUG}")                 # WordPress's own canonical redirect
        assert (r.status_code, r.headers["location"]) == (301, wp.url(f"/{POST_SLUG}/"))
        assert c.get("/no-such-post/").status_code == 404  # WordPress's 404, from index.php
        assert "Page not found" in c.get("/no-such-post/").text
        css = c.get("/wp-includes/css/dashicons.min.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        assert c.get("/wp-config.php").text == ""  # runs (and prints nothing), never shown


def test_admin_needs_login_and_does_not_loop(wp):
    with client(wp) as c:
        r = c.get("/wp-admin")
        assert (r.status_code, location(wp, r)) == (301, wp.url("/wp-admin/"))
        r = c.get("/wp-admin/")
        assert r.status_code == 302
        assert r.headers["location"].startswith(wp.url("/wp-login.php?"))
        login = c.get("/wp-login.php")
        assert login.status_code == 200
        assert 'id="loginform"' in login.text and 'name="pwd"' in login.text


def test_login_dashboard_and_publish(wp):
    with client(wp) as c:
        log_in(wp, c)
        dash = c.get("/wp-admin/")
        assert dash.status_code == 200
        assert "<title>Dashboard" in dash.text
        nonce = c.get("/wp-admin/admin-ajax.php", params={"action": "rest-nonce"})
        assert nonce.status_code == 200 and re.fullmatch(r"[0-9a-f]{10}", nonce.text)
        r = c.post("/wp-json/wp/v2/posts", headers={"X-WP-Nonce": nonce.text}, json={
            "title": "Published through the REST API", "status": "publish",
            "content": "<p>Written by test_wordpress.py.</p>"})
        assert r.status_code == 201, r.text[:2000]
        link = r.json()["link"]
        assert link == wp.url("/published-through-the-rest-api/")
    page = httpx.get(link, timeout=30)
    assert page.status_code == 200
    assert "Written by test_wordpress.py." in page.text


def test_comment_is_accepted(wp):
    with client(wp) as c:
        post = c.get(f"/{POST_SLUG}/").text
        post_id = re.search(r"name='comment_post_ID' value='(\d+)'", post).group(1)
        r = c.post("/wp-comments-post.php", data={
            "comment_post_ID": post_id, "author": "Test Visitor",
            "email": "visitor@example.com", "url": "",
            "comment": "A comment sent by the Kiln integration tests.", "submit": "Post Comment"})
        assert r.status_code == 302, r.text[:2000]
        assert re.search(r"#comment-\d+$", r.headers["location"]), r.headers["location"]
        assert r.headers["location"].startswith(wp.url(f"/{POST_SLUG}/"))


def test_xmlrpc(wp):
    body = ('<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName>'
            '<params></params></methodCall>')
    r = httpx.post(wp.url("/xmlrpc.php"), content=body, timeout=30,
                   headers={"Content-Type": "text/xml"})
    assert r.status_code == 200
    assert "<methodResponse>" in r.text and "<string>wp.getUsersBlogs</string>" in r.text
