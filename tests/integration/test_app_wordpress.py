"""WordPress (Debian's package, on a private MariaDB) under Kiln, the whole life of a site.

tests/apps/wordpress.sh prepares the files and the database; the rest goes through HTTP as a
browser would: the web installer, login (cookies), a media upload (multipart, then served as a
static file), publishing, a visitor's comment approved by the admin, XML-RPC, logout.
Everything runs twice:
  pretty  ROUTING=try-files INDEX_FILE=index.php, permalinks /%postname%/ (and, as the web
          installer chooses them, /%year%/%monthnum%/%day%/%postname%/)
  plain   traditional routing, permalinks ?p=N (and, as the installer chooses them,
          /index.php/%year%/... through PATH_INFO)
"""

import re
import struct
import subprocess
import zlib
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, Kiln

SCRIPT = ROOT / "tests" / "apps" / "wordpress.sh"
PASSWORD = "kiln-test-password-1"
MODES = {
    "pretty": ["--index-file", "index.php", "--routing", "try-files"],
    "plain": [],
}


def missing_packages():
    need = {
        "wordpress": Path("/usr/share/wordpress/wp-load.php"),
        "wordpress-theme-twentytwentythree":
            Path("/usr/share/wordpress/wp-content/themes/twentytwentythree"),
        "php8.2-mysql": Path("/etc/php/8.2/embed/conf.d/20-mysqli.ini"),
        "mariadb-server": Path("/usr/sbin/mariadbd"),
    }
    return [pkg for pkg, path in need.items() if not path.exists()]


@pytest.fixture(scope="module", autouse=True)
def packages():
    """make test installs them (scripts/install-deps.sh): missing ones are a failure, not a skip."""
    missing = missing_packages()
    assert not missing, f"Debian packages missing: {' '.join(missing)} (scripts/install-deps.sh)"


def png(width=3, height=2):
    """A small valid PNG (RGB, one colour)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))
    rows = b"".join(b"\x00" + b"\xd0\x60\x20" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def client(wp):
    return httpx.Client(base_url=wp.base, timeout=60, follow_redirects=False)


def location(wp, r):
    """The redirect target of `r` as an absolute URL (Kiln's own redirects are relative)."""
    return str(httpx.URL(wp.url("/")).join(r.headers["location"]))


def unescape(url):
    return url.replace("&amp;", "&").replace("&#038;", "&")


def log_in(wp, c):
    assert 'id="loginform"' in c.get("/wp-login.php").text  # also sets the test cookie
    r = c.post("/wp-login.php", data={
        "log": "admin", "pwd": PASSWORD, "wp-submit": "Log In",
        "redirect_to": wp.url("/wp-admin/"), "testcookie": "1"})
    assert r.status_code == 302, r.text[:2000]
    assert r.headers["location"] == wp.url("/wp-admin/")
    assert any(name.startswith("wordpress_logged_in_") for name in c.cookies)


def form_nonce(html, field="_wpnonce"):
    return re.search(rf'name="{field}" value="([0-9a-f]{{10}})"', html).group(1)


def web_install(wp):
    """wp-admin/install.php, step 1 (the form) and step 2 (the install), as a browser does."""
    with client(wp) as c:
        r = c.get("/")
        assert r.status_code == 302 and location(wp, r) == wp.url("/wp-admin/install.php")
        form = c.get("/wp-admin/install.php")
        assert form.status_code == 200 and 'name="weblog_title"' in form.text, form.text[:2000]
        r = c.post("/wp-admin/install.php?step=2", data={
            "weblog_title": "Kiln on WordPress", "user_name": "admin",
            "admin_password": PASSWORD, "admin_password2": PASSWORD, "pw_weak": "on",
            "admin_email": "admin@example.com", "blog_public": "0", "language": "",
            "Submit": "Install WordPress"})
        assert r.status_code == 200 and "<h1>Success!</h1>" in r.text, r.text[-3000:]


def set_permalinks(wp, structure):
    """Settings > Permalinks: "" is plain (?p=N), anything else a custom structure."""
    with client(wp) as c:
        log_in(wp, c)
        page = c.get("/wp-admin/options-permalink.php")
        assert page.status_code == 200
        r = c.post("/wp-admin/options-permalink.php", data={
            "_wpnonce": form_nonce(page.text), "_wp_http_referer": "/wp-admin/options-permalink.php",
            "selection": "custom" if structure else "", "permalink_structure": structure,
            "category_base": "", "tag_base": "", "submit": "Save Changes"})
        assert r.status_code == 302, r.text[:2000]
        assert "settings-updated=true" in r.headers["location"]
        # The page the browser is sent to flushes the rewrite rules (set_permalink_structure
        # itself does not).
        assert c.get(location(wp, r)).status_code == 200


def post_link(wp, html, slug, post_id):
    """The link WordPress prints for a post in this mode."""
    if wp.mode == "pretty":
        return wp.url(f"/{slug}/")
    return wp.url(f"/?p={post_id}")


@pytest.fixture(scope="module", params=list(MODES))
def wp(request, tmp_path_factory):
    mode = request.param
    work = tmp_path_factory.mktemp(f"wordpress-{mode}")
    subprocess.run([str(SCRIPT), "prepare", str(work)], check=True, timeout=120,
                   capture_output=True)
    k = Kiln(work / "docroot", [*MODES[mode], "--workers", "2"], None, work)
    k.mode = mode
    try:
        k.start()
        web_install(k)
        # The installer probes for pretty permalinks with a request to the site itself: the
        # rewritten form works under try-files, PATH_INFO's /index.php/... in traditional mode.
        home = httpx.get(k.url("/"), timeout=60).text
        chosen = re.search(r'href="' + re.escape(k.base) + r'(/[^"]*)hello-world/"', home)
        assert chosen, home[:3000]
        expected = r"/\d{4}/\d\d/\d\d/" if mode == "pretty" else r"/index\.php/\d{4}/\d\d/\d\d/"
        assert re.fullmatch(expected, chosen.group(1)), chosen.group(1)
        set_permalinks(k, "/%postname%/" if mode == "pretty" else "")
        k.state = {}
        yield k
        k.stop()
    finally:
        subprocess.run([str(SCRIPT), "stop", str(work)], check=True, timeout=60)


def test_front_page_and_post(wp):
    with client(wp) as c:
        home = c.get("/")
        assert home.status_code == 200
        assert "<title>Kiln on WordPress" in home.text
        link = post_link(wp, home.text, "hello-world", 1)
        assert f'href="{link}"' in home.text
        post = c.get(link)
        assert post.status_code == 200
        assert "<title>Hello world!" in post.text
        assert "Welcome to WordPress." in post.text
        assert "To get started with moderating, editing, and deleting comments" in post.text
        if wp.mode == "pretty":
            r = c.get("/hello-world")                  # WordPress's own canonical redirect
            assert (r.status_code, r.headers["location"]) == (301, wp.url("/hello-world/"))
            missing = c.get("/no-such-post/")          # WordPress's 404, from index.php
        else:
            assert "<title>Hello world!" in c.get("/?name=hello-world").text
            missing = c.get("/?p=999999")
            assert c.get("/no-such-post/").status_code == 404  # no front controller: Kiln's 404
        assert missing.status_code == 404 and "Page not found" in missing.text
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


def test_upload_media(wp):
    image = png()
    with client(wp) as c:
        log_in(wp, c)
        page = c.get("/wp-admin/media-new.php")
        assert page.status_code == 200
        r = c.post("/wp-admin/async-upload.php",
                   data={"action": "upload-attachment", "name": "kiln-dot.png",
                         "_wpnonce": form_nonce(page.text)},
                   files={"async-upload": ("kiln-dot.png", image, "image/png")})
        assert r.status_code == 200, r.text[:2000]
        reply = r.json()
        assert reply["success"], reply
        url = reply["data"]["url"]
        assert re.fullmatch(re.escape(wp.base) + r"/wp-content/uploads/\d{4}/\d\d/kiln-dot\.png",
                            url), url
        wp.state["media_url"] = url
    served = httpx.get(url, timeout=30)         # a static file now, not PHP
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content == image
    assert "etag" in served.headers or "last-modified" in served.headers


def test_publish_post_with_media(wp):
    media = wp.state["media_url"]
    route = "/wp-json/wp/v2/posts" if wp.mode == "pretty" else "/?rest_route=/wp/v2/posts"
    with client(wp) as c:
        log_in(wp, c)
        dash = c.get("/wp-admin/")
        assert dash.status_code == 200 and "<title>Dashboard" in dash.text
        nonce = c.get("/wp-admin/admin-ajax.php", params={"action": "rest-nonce"})
        assert nonce.status_code == 200 and re.fullmatch(r"[0-9a-f]{10}", nonce.text)
        r = c.post(route, headers={"X-WP-Nonce": nonce.text}, json={
            "title": "Published through Kiln", "status": "publish",
            "content": f'<p>Written by test_app_wordpress.py.</p><img src="{media}" alt="dot">'})
        assert r.status_code == 201, r.text[:2000]
        post = r.json()
        link = post_link(wp, "", "published-through-kiln", post["id"])
        assert post["link"] == link
        wp.state["post"] = (post["id"], link)
    with client(wp) as c:
        home = c.get("/").text
        assert "Published through Kiln" in home and f'href="{link}"' in home
        page = c.get(link)
        assert page.status_code == 200
        assert "Written by test_app_wordpress.py." in page.text
        assert f'src="{media}"' in page.text


def test_comment_is_moderated_then_approved(wp):
    post_id, link = wp.state["post"]
    text = "A comment sent by the Kiln integration tests."
    with client(wp) as c:
        page = c.get(link).text
        assert re.search(rf"name='comment_post_ID' value='{post_id}'", page)
        r = c.post("/wp-comments-post.php", data={
            "comment_post_ID": str(post_id), "author": "Test Visitor",
            "email": "visitor@example.com", "url": "", "comment": text,
            "submit": "Post Comment"})
        assert r.status_code == 302, r.text[:2000]
        target = r.headers["location"]
        comment_id = re.search(r"#comment-(\d+)$", target).group(1)
        assert "unapproved=" + comment_id in target  # a first-time author waits for moderation
    assert text not in httpx.get(link, timeout=30).text
    with client(wp) as c:
        log_in(wp, c)
        listing = c.get("/wp-admin/edit-comments.php", params={"comment_status": "moderated"})
        assert listing.status_code == 200 and text in listing.text
        amp = "(?:&amp;|&#038;)"
        approve = re.search(rf'href="(comment\.php\?c={comment_id}{amp}action=approvecomment'
                            rf'{amp}_wpnonce=[0-9a-f]{{10}})"', listing.text).group(1)
        r = c.get("/wp-admin/" + unescape(approve))
        assert r.status_code == 302, r.text[:2000]
    public = httpx.get(link, timeout=30).text
    assert text in public and "Test Visitor" in public


def test_log_out(wp):
    with client(wp) as c:
        log_in(wp, c)
        dash = c.get("/wp-admin/").text
        logout = re.search(r'href="([^"]*wp-login\.php\?action=logout(?:&amp;|&#038;)'
                           r'_wpnonce=[0-9a-f]{10})"', dash).group(1)
        r = c.get(unescape(logout))
        assert r.status_code == 302, r.text[:2000]
        assert location(wp, r).startswith(wp.url("/wp-login.php?loggedout=true"))
        assert not any(name.startswith("wordpress_logged_in_") for name in c.cookies)
        r = c.get("/wp-admin/")
        assert r.status_code == 302
        assert r.headers["location"].startswith(wp.url("/wp-login.php?"))
        assert c.get("/wp-admin/admin-ajax.php", params={"action": "rest-nonce"}).text == "0"


def test_xmlrpc(wp):
    body = ('<?xml version="1.0"?><methodCall><methodName>system.listMethods</methodName>'
            '<params></params></methodCall>')
    r = httpx.post(wp.url("/xmlrpc.php"), content=body, timeout=30,
                   headers={"Content-Type": "text/xml"})
    assert r.status_code == 200
    assert "<methodResponse>" in r.text and "<string>wp.getUsersBlogs</string>" in r.text
