"""JSON log lines: PHP's warnings, notices, fatals and error_log() with the request's ids and the
script, and the start-up line (issue 10 item 3)."""

import json
import re
import subprocess
import time

import httpx
import pytest

SCRIPTS = {
    "warn.php": "<?php\necho $undefined_for_the_log;\necho 'ok';\n",
    "notice.php": "<?php\ntrigger_error('a user notice', E_USER_NOTICE);\necho 'ok';\n",
    "errlog.php": "<?php\nerror_log('hello from error_log');\necho 'ok';\n",
    "silenced.php": "<?php\n$a = [];\necho @$a['missing'];\necho 'ok';\n",
    "fatal.php": "<?php\nfunction f() {\n    no_such_function();\n}\nf();\n",
    "inc.php": "<?php\nrequire __DIR__ . '/lib/helper.php';\nhelper();\necho 'ok';\n",
    "lib/helper.php": "<?php\nfunction helper() {\n    echo $in_the_helper;\n}\n",
}


@pytest.fixture
def root(tmp_path):
    d = tmp_path / "logs"
    for name, text in SCRIPTS.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(text)
    return d


@pytest.fixture
def php(root, start_kiln):
    return start_kiln(root, ["--workers", "1"])


def lines(k):
    out = k.log().splitlines()
    return [json.loads(line) for line in out]  # every line is one JSON object


def php_lines(k, script, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [l for l in lines(k) if l["type"] == "php" and l["data"]["script"].endswith(script)]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no php line for {script}: {k.log()}")


def get(k, path, request_id=None):
    headers = {"X-Request-ID": request_id} if request_id else {}
    return httpx.get(k.url(path), headers=headers, timeout=10)


def test_warning_is_a_json_line_with_the_request_id(php, root):
    r = get(php, "/warn.php", "warn-req-1")
    assert r.text == "ok"
    [line] = php_lines(php, "/warn.php")
    assert line["level"] == "warn"
    assert line["msg"] == "Undefined variable $undefined_for_the_log"
    assert line["ctx"]["service"] == "kiln"
    assert line["ctx"]["request_id"] == "warn-req-1"
    assert re.fullmatch(r"[0-9a-f]{32}", line["ctx"]["trace_id"])
    assert re.fullmatch(r"[0-9a-f]{16}", line["ctx"]["span_id"])
    assert line["data"] == {"script": str(root / "warn.php"), "php_level": "E_WARNING",
                            "file": str(root / "warn.php"), "line": 2}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"])


def test_generated_request_id_matches_the_trace(php):
    assert get(php, "/warn.php").text == "ok"
    [line] = php_lines(php, "/warn.php")
    ctx = line["ctx"]
    assert ctx["request_id"] == f"{ctx['trace_id'][:12]}-{ctx['span_id'][:4]}"


def test_error_in_an_included_file_names_that_file(php, root):
    assert get(php, "/inc.php").text == "ok"
    [line] = php_lines(php, "/inc.php")
    assert line["data"]["script"] == str(root / "inc.php")
    assert line["data"]["file"] == str(root / "lib" / "helper.php")
    assert line["data"]["line"] == 3


def test_notice(php):
    assert get(php, "/notice.php", "n-1").text == "ok"
    [line] = php_lines(php, "/notice.php")
    assert line["level"] == "info" and line["msg"] == "a user notice"
    assert line["data"]["php_level"] == "E_USER_NOTICE" and line["data"]["line"] == 2
    assert line["ctx"]["request_id"] == "n-1"


def test_error_log_call(php, root):
    assert get(php, "/errlog.php", "e-1").text == "ok"
    [line] = php_lines(php, "/errlog.php")
    assert line["msg"] == "hello from error_log" and line["level"] == "info"
    assert line["ctx"]["request_id"] == "e-1"
    # not an error: no PHP level, but where error_log() was called
    assert line["data"] == {"script": str(root / "errlog.php"), "file": str(root / "errlog.php"),
                            "line": 2}


def test_fatal_error(php, root):
    r = get(php, "/fatal.php", "f-1")
    assert r.status_code == 500
    [line] = php_lines(php, "/fatal.php")
    assert line["level"] == "error"
    assert line["msg"].startswith("Uncaught Error: Call to undefined function no_such_function()")
    assert line["data"]["php_level"] == "E_ERROR" and line["data"]["line"] == 3
    assert line["ctx"]["request_id"] == "f-1"
    # the worker carries on, and a later error_log() is not taken for the fatal
    assert get(php, "/errlog.php").text == "ok"
    [after] = php_lines(php, "/errlog.php")
    assert "php_level" not in after["data"]


def test_silenced_error_is_not_logged(php):
    assert get(php, "/silenced.php").text == "ok"
    get(php, "/errlog.php")  # a marker: lines arrive in order
    php_lines(php, "/errlog.php")
    assert not [l for l in lines(php)
                if l["type"] == "php" and l["data"]["script"].endswith("/silenced.php")]


def test_log_level_error_drops_php_warnings(root, start_kiln):
    k = start_kiln(root, ["--workers", "1"], env={"LOG_LEVEL": "error"})
    assert get(k, "/warn.php").text == "ok"
    assert get(k, "/fatal.php").status_code == 500
    php_lines(k, "/fatal.php")
    assert not [l for l in lines(k) if l["type"] == "php" and l["level"] != "error"]


def test_service_name_in_php_lines(root, start_kiln):
    k = start_kiln(root, ["--workers", "1"], env={"SERVICE_NAME": "shop"})
    get(k, "/warn.php")
    [line] = php_lines(k, "/warn.php")
    assert line["ctx"]["service"] == "shop"


def php_version():
    return subprocess.run(["php-config8.2", "--version"], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_start_up_line(php):
    [line] = [l for l in lines(php) if l["msg"].startswith("kiln ") and "data" in l]
    d = line["data"]
    assert line["level"] == "info" and line["type"] == "app"
    assert re.fullmatch(r"\d+\.\d+\.\d+", d["version"])
    assert d["listen"] == f"127.0.0.1:{php.port}"
    assert d["tls"] is False
    assert "redirect" not in d and "internal" not in d
    assert d["executor"] == "ext" and d["workers"] == 1
    assert d["php_version"] == php_version()
    assert d["opcache"] is True
    assert d["jit"] is False  # Debian's embed php.ini has no JIT buffer


def test_start_up_line_with_jit_and_addresses(root, start_kiln):
    from conftest import free_port
    internal = f"127.0.0.1:{free_port()}"
    k = start_kiln(root, ["--workers", "2", "-d", "opcache.jit_buffer_size=8M",
                          "-d", "opcache.jit=tracing", "--internal-addr", internal])
    [line] = [l for l in lines(k) if l["msg"].startswith("kiln ") and "data" in l]
    assert line["data"]["workers"] == 2
    assert line["data"]["internal"] == internal
    assert line["data"]["opcache"] is True and line["data"]["jit"] is True


def test_start_up_line_of_the_stub_executor_has_no_php(kiln):
    [line] = [l for l in lines(kiln) if l["msg"].startswith("kiln ") and "data" in l]
    assert line["data"]["executor"] == "stub"
    assert "php_version" not in line["data"] and "opcache" not in line["data"]
