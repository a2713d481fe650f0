"""Per-directory .user.ini files (docs/php.md, section 5): what is read, in which order, the
per-worker cache, what PHP refuses there, and that the limits apply to the request's own body."""

import json

import httpx

INFO_PHP = r"""<?php
$names = ['precision', 'default_charset', 'memory_limit', 'post_max_size', 'upload_max_filesize',
          'output_buffering', 'allow_url_fopen', 'disable_functions', 'max_input_time'];
$ini = [];
foreach ($names as $n) {
    $ini[$n] = ini_get($n);
}
$e = error_get_last();
header('Content-Type: application/json');
echo json_encode([
    'ini' => $ini,
    'post' => $_POST,
    'files' => array_map(fn($f) => $f['error'], $_FILES),
    'error' => $e ? $e['message'] : null,
    'ob_level' => ob_get_level(),
]);
"""


def make_site(tmp_path, dirs=("",)):
    """A throw-away document root with info.php in each of `dirs` (relative, "" = the root)."""
    root = tmp_path / "uiwww"
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
        (root / d / "info.php").write_text(INFO_PHP)
    return root


def info(k, path="/info.php", method="GET", **kw):
    r = httpx.request(method, k.url(path), timeout=10, **kw)
    assert r.status_code == 200, r.text
    return r.json()


def log_lines(k):
    return [json.loads(line) for line in k.log().splitlines() if line.strip()]


def problems(k):
    """Warnings and errors in Kiln's log (PHP's among them)."""
    return [l for l in log_lines(k) if l.get("level") in ("warn", "error")]


def test_perdir_and_user_directives_apply(tmp_path, start_kiln):
    root = make_site(tmp_path)
    (root / ".user.ini").write_text(
        "; a hosting guide's file\n"
        "upload_max_filesize = 64M\n"      # PHP_INI_PERDIR
        "post_max_size = 65M\n"            # PHP_INI_PERDIR
        "output_buffering = 0\n"           # PHP_INI_PERDIR, read while the request starts
        "precision = 7\n"                  # PHP_INI_ALL
        "default_charset = \"ISO-8859-1\"\n")
    k = start_kiln(root, ["--workers", "1"])
    d = info(k)
    assert d["ini"]["upload_max_filesize"] == "64M"
    assert d["ini"]["post_max_size"] == "65M"
    assert d["ini"]["precision"] == "7"
    assert d["ini"]["default_charset"] == "ISO-8859-1"
    # Debian's php.ini opens a 4096-byte buffer; the .user.ini came before it
    assert d["ini"]["output_buffering"] == "0" and d["ob_level"] == 0
    assert problems(k) == [], k.log()


def test_nearer_directory_wins_and_siblings_are_unaffected(tmp_path, start_kiln):
    root = make_site(tmp_path, ["", "app", "app/deep", "other"])
    (root / ".user.ini").write_text("precision = 7\nmemory_limit = 70M\n")
    (root / "app" / ".user.ini").write_text("precision = 9\n")
    k = start_kiln(root, ["--workers", "1"])
    top = info(k)["ini"]
    assert (top["precision"], top["memory_limit"]) == ("7", "70M")
    app = info(k, "/app/info.php")["ini"]
    assert (app["precision"], app["memory_limit"]) == ("9", "70M")
    deep = info(k, "/app/deep/info.php")["ini"]  # no file of its own: its parents' apply
    assert (deep["precision"], deep["memory_limit"]) == ("9", "70M")
    other = info(k, "/other/info.php")["ini"]
    assert (other["precision"], other["memory_limit"]) == ("7", "70M")
    # and nothing leaks from one request into the next in the same worker
    assert info(k)["ini"]["precision"] == "7"


def test_nothing_above_the_document_root_is_read(tmp_path, start_kiln):
    root = make_site(tmp_path)
    (tmp_path / ".user.ini").write_text("precision = 5\n")  # the document root's parent
    (root / ".user.ini").write_text("memory_limit = 70M\n")
    k = start_kiln(root, ["--workers", "1"])
    d = info(k)
    assert (d["ini"]["precision"], d["ini"]["memory_limit"]) == ("14", "70M")


def test_cache_ttl_zero_sees_a_change_at_once(tmp_path, start_kiln):
    root = make_site(tmp_path, ["", "sub"])
    k = start_kiln(root, ["--workers", "1", "-d", "user_ini.cache_ttl=0"])
    assert info(k, "/sub/info.php")["ini"]["precision"] == "14"
    (root / "sub" / ".user.ini").write_text("precision = 8\n")
    assert info(k, "/sub/info.php")["ini"]["precision"] == "8"
    (root / "sub" / ".user.ini").write_text("precision = 6\n")
    assert info(k, "/sub/info.php")["ini"]["precision"] == "6"
    (root / "sub" / ".user.ini").unlink()
    assert info(k, "/sub/info.php")["ini"]["precision"] == "14"


def test_large_cache_ttl_keeps_what_the_worker_read(tmp_path, start_kiln):
    root = make_site(tmp_path, ["", "sub"])
    (root / ".user.ini").write_text("precision = 8\n")
    k = start_kiln(root, ["--workers", "1", "-d", "user_ini.cache_ttl=3600"])
    assert info(k, "/sub/info.php")["ini"]["precision"] == "8"
    (root / ".user.ini").write_text("precision = 6\n")
    (root / "sub" / ".user.ini").write_text("precision = 5\n")  # a directory known to have none
    for path in ("/info.php", "/sub/info.php"):
        assert info(k, path)["ini"]["precision"] == "8"


def test_system_directives_are_ignored_quietly(tmp_path, start_kiln):
    root = make_site(tmp_path)
    (root / ".user.ini").write_text(
        "allow_url_fopen = Off\n"            # PHP_INI_SYSTEM
        "disable_functions = phpinfo\n"      # PHP_INI_SYSTEM
        "user_ini.cache_ttl = 1\n"           # PHP_INI_SYSTEM
        "no_such.directive = 1\n"
        "precision = 7\n")
    k = start_kiln(root, ["--workers", "1"])
    d = info(k)
    assert d["ini"]["allow_url_fopen"] == "1"
    assert d["ini"]["disable_functions"] == ""
    assert d["ini"]["precision"] == "7"          # the rest of the file still applies
    assert d["error"] is None
    assert problems(k) == [], k.log()


def test_a_broken_file_is_a_php_warning_not_a_failure(tmp_path, start_kiln):
    root = make_site(tmp_path)
    (root / ".user.ini").write_text("precision = 7\nthis is = not ( valid\n")
    k = start_kiln(root, ["--workers", "1"])
    d = info(k)
    assert "syntax error" in d["error"] and ".user.ini" in d["error"], d
    assert d["ini"]["precision"] == "7"
    assert info(k)["ini"]["precision"] == "7"  # the worker is fine


def test_post_max_size_applies_to_the_request_body(tmp_path, start_kiln):
    root = make_site(tmp_path, ["", "limited"])
    (root / "limited" / ".user.ini").write_text("post_max_size = 1K\n")
    k = start_kiln(root, ["--workers", "1"])
    body = {"a": "x" * 2048, "b": "y"}
    d = info(k, "/limited/info.php", method="POST", data=body)
    assert d["ini"]["post_max_size"] == "1K"
    assert d["post"] == []
    assert "POST Content-Length of" in d["error"] and "exceeds the limit of 1024" in d["error"]
    small = info(k, "/limited/info.php", method="POST", data={"a": "x" * 100})
    assert small["post"] == {"a": "x" * 100} and small["error"] is None
    # the same body where no .user.ini applies
    assert info(k, method="POST", data=body)["post"] == body


def test_upload_max_filesize_limits_an_upload(tmp_path, start_kiln):
    root = make_site(tmp_path, ["", "limited"])
    (root / "limited" / ".user.ini").write_text("upload_max_filesize = 1K\n")
    k = start_kiln(root, ["--workers", "1"])
    files = {"big": ("big.bin", b"z" * 2048), "small": ("small.bin", b"z" * 100)}
    d = info(k, "/limited/info.php", method="POST", files=files)
    assert d["files"] == {"big": 1, "small": 0}   # UPLOAD_ERR_INI_SIZE, UPLOAD_ERR_OK
    d = info(k, method="POST", files=files)
    assert d["files"] == {"big": 0, "small": 0}


def test_user_ini_filename_names_another_file(tmp_path, start_kiln):
    root = make_site(tmp_path)
    (root / ".user.ini").write_text("precision = 7\n")
    (root / ".kiln.ini").write_text("memory_limit = 90M\n")
    k = start_kiln(root, ["--workers", "1", "-d", "user_ini.filename=.kiln.ini"])
    d = info(k)
    assert d["ini"]["memory_limit"] == "90M"
    assert d["ini"]["precision"] == "14"


def test_empty_user_ini_filename_disables_the_feature(tmp_path, start_kiln):
    root = make_site(tmp_path)
    (root / ".user.ini").write_text("precision = 7\n")
    assert info(start_kiln(root, ["--workers", "1"]))["ini"]["precision"] == "7"
    k = start_kiln(root, ["--workers", "1", "-d", "user_ini.filename="])
    assert info(k)["ini"]["precision"] == "14"


def test_a_symlink_out_of_the_document_root_is_not_read(tmp_path, start_kiln):
    root = make_site(tmp_path, ["", "out", "in"])
    outside = tmp_path / "outside.ini"
    outside.write_text("precision = 5\n")
    (root / "out" / ".user.ini").symlink_to(outside)
    (root / "shared.ini").write_text("precision = 9\n")
    (root / "in" / ".user.ini").symlink_to("../shared.ini")  # stays inside: read
    k = start_kiln(root, ["--workers", "1", "-d", "user_ini.cache_ttl=0"])
    assert info(k, "/out/info.php")["ini"]["precision"] == "14"
    assert info(k, "/in/info.php")["ini"]["precision"] == "9"
    assert problems(k) == [], k.log()
