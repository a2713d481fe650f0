"""DokuWiki (Debian's package) under Kiln: read, log in, create and edit a page, revisions,
search, a media upload; and its data/ and conf/ directories never served.

tests/apps/dokuwiki.sh copies the wiki into a throw-away document root (upstream's layout:
conf/ and data/ beside doku.php). Debian's ACL lets everyone read and logged-in users edit and
upload, so the flows log in as the script's `admin`. Kiln runs in traditional routing mode with
the DENY_PATHS docs/frameworks.md gives for DokuWiki.
"""

import re
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import ROOT, Kiln
from test_app_wordpress import png

SCRIPT = ROOT / "tests" / "apps" / "dokuwiki.sh"
DENY = "/data,/conf,/bin,/inc,/vendor,/install.php"
PAGE = "kiln:smoke"


@pytest.fixture(scope="module")
def wiki(tmp_path_factory):
    assert Path("/usr/share/dokuwiki/doku.php").exists(), \
        "Debian package dokuwiki missing (scripts/install-deps.sh)"
    work = tmp_path_factory.mktemp("dokuwiki")
    root = subprocess.run([str(SCRIPT), "start", str(work)], check=True, timeout=120,
                          capture_output=True, text=True).stdout.strip()
    k = Kiln(root, ["--workers", "2", "--deny-paths", DENY], None, work)
    k.password = (work / "admin-password").read_text().strip()
    k.root = Path(root)
    try:
        k.start()
        yield k
        k.stop()
    finally:
        subprocess.run([str(SCRIPT), "stop", str(work)], check=True, timeout=60)


def client(wiki):
    return httpx.Client(base_url=wiki.base, timeout=60, follow_redirects=False)


def hidden(html, name):
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def log_in(wiki, c):
    form = c.get("/doku.php", params={"do": "login", "id": "start"})
    assert form.status_code == 200 and 'id="dw__login"' in form.text
    r = c.post("/doku.php?id=start", data={
        "u": "admin", "p": wiki.password, "do": "login", "id": "start",
        "sectok": hidden(form.text, "sectok")})
    assert r.status_code == 302, r.text[:2000]
    page = c.get("/doku.php", params={"id": "start"}).text
    assert "Logged in as" in page and "do=logout" in page


def save(c, text, summary):
    """The editor: do=edit gives the form (with its sectok), do[save] stores the page."""
    form = c.get("/doku.php", params={"id": PAGE, "do": "edit"})
    assert form.status_code == 200 and 'id="dw__editform"' in form.text, form.text[:2000]
    fields = {name: hidden(form.text, name)
              for name in ("sectok", "id", "rev", "date", "prefix", "suffix", "changecheck",
                           "target")}
    r = c.post(f"/doku.php?id={PAGE}&do=edit", data={
        **fields, "wikitext": text, "summary": summary, "do[save]": "Save"})
    assert r.status_code in (302, 303), r.text[:2000]
    assert f"id={PAGE}" in r.headers["location"]


def next_second():
    """DokuWiki names a revision by its second (the page file's mtime): a second save within
    the same second replaces the first revision, under any server. Browsers are slower."""
    start = int(time.time())
    while int(time.time()) == start:
        time.sleep(0.05)


def test_start_page(wiki):
    with client(wiki) as c:
        r = c.get("/")                              # index.php sends browsers to doku.php
        assert r.status_code == 302 and r.headers["location"].endswith("/doku.php?id=start")
        start = c.get("/doku.php")
        assert start.status_code == 200
        assert "Team wiki" in start.text and "Welcome to the operations wiki." in start.text
        css = c.get("/lib/tpl/dokuwiki/images/logo.png")
        assert css.status_code == 200 and css.headers["content-type"] == "image/png"


def test_data_and_conf_are_not_served(wiki):
    assert (wiki.root / "data/pages/start.txt").exists()
    hash_ = (wiki.root / "conf/users.auth.php").read_text().split(":")[1]
    for path in ("/data/pages/start.txt", "/data/", "/data", "/conf/users.auth.php",
                 "/conf/local.php", "/conf/acl.auth.php", "/conf/dokuwiki.php",
                 "/data/../conf/users.auth.php", "/inc/init.php", "/bin/indexer.php",
                 "/install.php", "/vendor/autoload.php"):
        r = httpx.get(wiki.url(path), timeout=30)
        assert r.status_code == 404, (path, r.status_code, r.text[:300])
        assert "Welcome to the operations wiki" not in r.text and hash_ not in r.text
    # the same names further down, or as a prefix of another name, are not denied
    assert httpx.get(wiki.url("/lib/exe/css.php"), timeout=30).status_code == 200


def test_create_edit_revisions_search(wiki):
    with client(wiki) as c:
        log_in(wiki, c)
        save(c, "====== Smoke test ======\n\nThe first version mentions zanzibarite.\n",
             "created")
        page = c.get("/doku.php", params={"id": PAGE})
        assert page.status_code == 200 and "The first version mentions zanzibarite." in page.text
        next_second()
        save(c, "====== Smoke test ======\n\nThe second version mentions zanzibarite and "
             "quokkas.\n", "second edit")
        page = c.get("/doku.php", params={"id": PAGE}).text
        assert "The second version mentions zanzibarite and quokkas." in page
        assert "The first version" not in page
        revisions = c.get("/doku.php", params={"id": PAGE, "do": "revisions"}).text
        assert "second edit" in revisions and "created" in revisions
        assert len(re.findall(r'name="rev2\[\]"', revisions)) == 2, revisions[:3000]
        # A browser loads the task runner the page embeds: it indexes the page for search.
        runner = re.search(r'src="(/lib/exe/taskrunner\.php\?[^"]*)"', page).group(1)
        assert c.get(runner.replace("&amp;", "&")).status_code == 200
    # The runner sends its image first and indexes after: the search may have to wait for it.
    deadline = time.monotonic() + 30
    while True:
        found = httpx.get(wiki.url("/doku.php"), params={"do": "search", "q": "quokkas"},
                          timeout=30).text
        if f'href="/doku.php?id={PAGE}&amp;s[]=quokkas"' in found or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert f'href="/doku.php?id={PAGE}&amp;s[]=quokkas"' in found, found[-3000:]


def test_media_upload(wiki):
    image = png()
    with client(wiki) as c:
        log_in(wiki, c)
        form = c.get("/doku.php", params={"id": PAGE, "do": "media", "ns": "kiln",
                                          "tab_files": "upload"}).text
        r = c.post(f"/doku.php?id={PAGE}&tab_files=files&tab_details=view&do=media&ns=kiln",
                   data={"sectok": hidden(form, "sectok"), "ns": "kiln", "mediaid": "dot.png"},
                   files={"upload": ("dot.png", image, "image/png")})
        assert r.status_code in (200, 302, 303), r.text[:2000]
        assert (wiki.root / "data/media/kiln/dot.png").read_bytes() == image
    served = httpx.get(wiki.url("/lib/exe/fetch.php"), params={"media": "kiln:dot.png"},
                       timeout=30)
    assert served.status_code == 200 and served.content == image
    assert served.headers["content-type"] == "image/png"
