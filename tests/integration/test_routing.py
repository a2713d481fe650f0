"""Routing modes, path normalisation and confinement to the document root."""

import os
import time

import httpx
import pytest

from httpraw import parse_one

STUB = b"Hello from the Kiln stub executor"


def get(k, path, **kw):
    return httpx.get(k.url(path), **kw)


def test_traditional_mode(kiln, site):
    (site / "admin").mkdir()
    (site / "admin" / "index.php").write_text("<?php echo 1;")
    (site / "index.php").write_text("<?php echo 1;")
    assert STUB in get(kiln, "/").content             # index.php wins over index.html
    assert STUB in get(kiln, "/admin/").content
    assert STUB in get(kiln, "/hello.php").content
    assert STUB in get(kiln, "/hello.php/extra/path").content  # PATH_INFO form
    assert get(kiln, "/style.css").text.startswith("body")
    assert get(kiln, "/nope.php").status_code == 404
    assert get(kiln, "/nope").status_code == 404


def test_php_extension_is_case_insensitive(kiln, site):
    (site / "upper.PHP").write_text("<?php echo 'secret source';")
    r = get(kiln, "/upper.PHP")
    assert b"secret source" not in r.content
    assert STUB in r.content


def test_framework_mode(site, start_kiln):
    (site / "index.php").write_text("<?php echo 1;")
    k = start_kiln(site, ["--executor", "stub", "--index-file", "index.php"])
    assert STUB in get(k, "/").content
    assert STUB in get(k, "/api/users/42").content      # missing → front controller
    assert STUB in get(k, "/docs/").content              # directories too
    assert get(k, "/style.css").text.startswith("body")  # existing static files are served
    assert get(k, "/index.php").status_code == 404       # direct access to the index file
    assert get(k, "/index.php/x").status_code == 404
    assert get(k, "/hello.php").status_code == 404       # every *.php URL
    assert get(k, "/missing.php").status_code == 404


def test_spa_mode(site, start_kiln):
    k = start_kiln(site, ["--executor", "stub", "--index-file", "index.html"])
    assert get(k, "/").text == "<h1>home</h1>\n"
    assert get(k, "/some/client/route").text == "<h1>home</h1>\n"
    assert get(k, "/missing.php").text == "<h1>home</h1>\n"
    assert STUB in get(k, "/hello.php").content           # PHP still runs
    assert get(k, "/style.css").text.startswith("body")
    assert get(k, "/index.html").status_code == 404


@pytest.mark.parametrize("path,expected", [
    ("/docs/../style.css", 200),
    ("/./style.css", 200),
    ("//style.css", 200),
    ("/docs/./../style.css", 200),
    ("/%73tyle.css", 200),
    ("/docs/%2e%2e/style.css", 200),
    ("/../style.css", 400),
    ("/docs/../../etc/passwd", 400),
    ("/%2e%2e/%2e%2e/etc/passwd", 400),
    ("/style.css%00.php", 400),
    ("/docs\\..\\style.css", 400),
    ("/docs%5c..%5cstyle.css", 400),
    ("/bad%zzescape", 400),
])
def test_path_normalisation(kiln, path, expected):
    r = parse_one(kiln.raw(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()))
    assert r.status == expected, path


def test_hidden_files_are_not_served(kiln, site):
    (site / ".env").write_text("SECRET=1\n")
    (site / ".git").mkdir()
    (site / ".git" / "config").write_text("[core]\n")
    (site / "docs" / ".htaccess").write_text("deny\n")
    (site / ".well-known").mkdir()
    (site / ".well-known" / "security.txt").write_text("Contact: x\n")
    for path in ("/.env", "/.git/config", "/docs/.htaccess", "/%2eenv"):
        r = get(kiln, path)
        assert r.status_code == 404, path
        assert b"SECRET" not in r.content
    assert get(kiln, "/.well-known/security.txt").text == "Contact: x\n"


def test_symlinks_cannot_leave_the_document_root(kiln, site, tmp_path):
    outside = tmp_path / "outside.txt"
    outside.write_text("outside secret\n")
    os.symlink(outside, site / "escape.txt")
    os.symlink("/etc", site / "etc")
    os.symlink(site / "style.css", site / "inside.css")
    assert get(kiln, "/escape.txt").status_code == 404
    assert get(kiln, "/etc/passwd").status_code == 404
    assert get(kiln, "/inside.css").text.startswith("body")


def test_new_and_deleted_files_are_noticed_within_a_second(kiln, site):
    assert get(kiln, "/later.txt").status_code == 404
    (site / "later.txt").write_text("now here\n")
    time.sleep(1.2)
    assert get(kiln, "/later.txt").text == "now here\n"
    (site / "later.txt").unlink()
    time.sleep(1.2)
    assert get(kiln, "/later.txt").status_code == 404


def test_stub_executor_answers_php_routes(kiln):
    r = get(kiln, "/hello.php")
    assert r.status_code == 200
    assert r.headers["content-type"] == "text/html; charset=UTF-8"
    assert STUB in r.content


def test_try_files_mode(phpsite, start_kiln):
    root = phpsite / "framework"
    dump = (root / "index.php").read_text()
    (root / "other.php").write_text(dump)
    (root / "sub").mkdir()
    (root / "sub" / "index.php").write_text(dump)
    (root / "empty").mkdir()
    (root / "style.css").write_text("body{}\n")
    (root / ".env").write_text("SECRET=1\n")
    k = start_kiln(root, ["--workers", "1", "--index-file", "index.php", "--routing", "try-files"])

    d = get(k, "/2024/hello-world/?sort=asc").json()        # missing: the front controller
    assert d["SCRIPT_NAME"] == "/index.php"
    assert d["REQUEST_URI"] == "/2024/hello-world/?sort=asc"
    assert d["QUERY_STRING"] == "sort=asc"
    assert d.get("PATH_INFO", "") == ""
    d = get(k, "/other.php?x=1").json()                      # an existing script runs
    assert (d["SCRIPT_NAME"], d["QUERY_STRING"]) == ("/other.php", "x=1")
    d = get(k, "/other.php/extra/path").json()               # with PATH_INFO
    assert (d["SCRIPT_NAME"], d["PATH_INFO"]) == ("/other.php", "/extra/path")
    assert get(k, "/sub/").json()["SCRIPT_NAME"] == "/sub/index.php"
    r = get(k, "/sub?q=1")                                   # directory with index: 301 first
    assert r.status_code == 301
    assert r.headers["location"].endswith("/sub/?q=1")
    assert get(k, "/empty/").json()["SCRIPT_NAME"] == "/index.php"
    assert get(k, "/missing.php").json()["SCRIPT_NAME"] == "/index.php"
    assert get(k, "/style.css").text == "body{}\n"
    assert get(k, "/.env").status_code == 404
    r = parse_one(k.raw(b"GET /../index.php HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
    assert r.status == 400

