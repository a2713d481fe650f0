"""The env file (--env-file, KILN_ENV_FILE): NAME=value lines under the environment and the
flags, read again by a reload, which applies the PHP side's settings and DOCUMENT_ROOT and only
reports the others (they need a restart), without the new php-zygote taking them either."""

import json
import socket
import subprocess

import httpx
import pytest

from conftest import KILN_BIN, Kiln, free_port

SCRIPTS = {
    "mem.php": '<?php echo ini_get("memory_limit");\n',
    "v.php": '<?php echo "v1";\n',
    # sleeps longer than the running REQUEST_TIMEOUT (2s), shorter than the new one (30s)
    "sleep.php": '<?php sleep(4); echo "slept";\n',
    # the worker's own copy of REQUEST_TIMEOUT: 10 s is above 2s, below 30s
    "heartbeat.php": '<?php var_export(kiln_request_heartbeat(10));\n',
}


class FileKiln(Kiln):
    """Kiln with its settings in an env file: no --listen or --docroot, which would win."""

    def __init__(self, env_file, port, args=(), env=None, tmp=None):
        super().__init__("", args, env, tmp)
        self.env_file = env_file
        self.port = port

    def command(self):
        return [KILN_BIN, "--env-file", str(self.env_file), *self.args]


@pytest.fixture
def app(tmp_path):
    root = tmp_path / "app"
    root.mkdir()
    for name, body in SCRIPTS.items():
        (root / name).write_text(body)
    return root


@pytest.fixture
def start_file_kiln(tmp_path):
    started = []

    def start(env_file, port, args=(), env=None):
        k = FileKiln(env_file, port, args, env, tmp_path)
        started.append(k)
        return k.start()

    yield start
    for k in started:
        k.stop()


def write_env(path, **settings):
    path.write_text("# kiln settings\n" + "".join(f"{k}={v}\n" for k, v in settings.items()))


def reload_command(pid):
    r = subprocess.run([KILN_BIN, "--reload", str(pid)], capture_output=True, text=True,
                       timeout=150)
    return r.returncode, r.stderr


def messages(k):
    """The msg of every JSON log line."""
    return [json.loads(line)["msg"] for line in k.log().splitlines() if line.startswith("{")]


def get(k, path):
    return httpx.get(k.url(path), timeout=20)


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def base_settings(app, port, **more):
    return dict(LISTEN_ADDR=f"127.0.0.1:{port}", DOCUMENT_ROOT=app, PHP_WORKERS=1, **more)


def test_reload_applies_php_ini_set_from_the_file(app, tmp_path, start_file_kiln):
    env_file, port = tmp_path / "kiln.env", free_port()
    write_env(env_file, **base_settings(app, port, PHP_INI_SET='"memory_limit=64M"'))
    k = start_file_kiln(env_file, port)
    assert get(k, "/mem.php").text == "64M"
    write_env(env_file, **base_settings(app, port, PHP_INI_SET="'memory_limit=96M'"))
    assert reload_command(k.proc.pid) == (0, "")
    assert get(k, "/mem.php").text == "96M"
    log = messages(k)
    assert "reload: PHP_INI_SET changed" in log
    assert not any("96M" in m for m in log)  # a secret in /config: not logged either
    assert not any("needs a restart" in m for m in log)


def test_reload_applies_a_new_document_root(app, tmp_path, start_file_kiln):
    other = tmp_path / "other"
    other.mkdir()
    (other / "v.php").write_text('<?php echo "v2";\n')
    env_file, port = tmp_path / "kiln.env", free_port()
    write_env(env_file, **base_settings(app, port))
    k = start_file_kiln(env_file, port)
    assert get(k, "/v.php").text == "v1"
    write_env(env_file, **base_settings(other, port))
    assert reload_command(k.proc.pid)[0] == 0
    assert get(k, "/v.php").text == "v2"
    assert f"reload: DOCUMENT_ROOT changed from {app} to {other}" in messages(k)


def test_settings_that_need_a_restart_stay_in_master_and_workers(app, tmp_path,
                                                                  start_file_kiln):
    env_file, port, new_port = tmp_path / "kiln.env", free_port(), free_port()
    write_env(env_file, **base_settings(app, port, REQUEST_TIMEOUT="2s"))
    k = start_file_kiln(env_file, port)
    before = (get(k, "/sleep.php").status_code, get(k, "/heartbeat.php").text)
    assert before == (504, "false")
    write_env(env_file, **base_settings(app, new_port, REQUEST_TIMEOUT="30s"))
    assert reload_command(k.proc.pid) == (0, "")
    log = messages(k)
    assert [m for m in log if "needs a restart" in m] == [
        f"reload: LISTEN_ADDR changed from 127.0.0.1:{port} to 127.0.0.1:{new_port}: "
        "it needs a restart; the running value stays",
        "reload: REQUEST_TIMEOUT changed from 2s to 30s: it needs a restart; "
        "the running value stays"]
    assert "reload complete: new requests run the new code" in log
    assert listening(port) and not listening(new_port)
    # the master's deadline and the new workers' heartbeat limit are both still 2s
    assert (get(k, "/sleep.php").status_code, get(k, "/heartbeat.php").text) == before


def test_a_bad_line_fails_the_reload_and_changes_nothing(app, tmp_path, start_file_kiln):
    env_file, port = tmp_path / "kiln.env", free_port()
    write_env(env_file, **base_settings(app, port, PHP_INI_SET="memory_limit=64M"))
    k = start_file_kiln(env_file, port)
    write_env(env_file, **base_settings(app, port, PHP_INI_SET="memory_limit=96M",
                                        REQUEST_TIMEOUT="5x"))
    rc, err = reload_command(k.proc.pid)
    assert rc == 1 and "failed" in err
    log = messages(k)
    assert (f'reload failed: {env_file}:6: invalid REQUEST_TIMEOUT "5x": expected a duration '
            "such as 30s, 2m, 1h, 1d or off; nothing changed") in log
    assert not any("starting a new php-zygote" in m for m in log)
    assert get(k, "/mem.php").text == "64M"
    write_env(env_file, **base_settings(app, port, PHP_INI_SET="memory_limit=96M"))
    assert reload_command(k.proc.pid)[0] == 0
    assert get(k, "/mem.php").text == "96M"


def run_kiln(*args, env=None):
    return subprocess.run([KILN_BIN, *args], capture_output=True, text=True, timeout=30,
                          env=env)


def test_a_bad_line_at_start_up_is_exit_2_naming_file_and_line(tmp_path):
    env_file = tmp_path / "kiln.env"
    env_file.write_text("# settings\n\nexport PHP_WORKERS=2\nNO_SUCH_SETTING=1\n")
    r = run_kiln("--env-file", str(env_file))
    assert r.returncode == 2
    assert r.stderr == (f'kiln: {env_file}:4: unknown setting "NO_SUCH_SETTING"; '
                        "run kiln --help for the list\n")
    r = run_kiln(env={"KILN_ENV_FILE": str(tmp_path / "missing")})
    assert r.returncode == 2 and f'KILN_ENV_FILE "{tmp_path}/missing": cannot read' in r.stderr


def test_a_leading_dash_makes_the_file_optional(tmp_path, site, start_file_kiln):
    port = free_port()
    k = start_file_kiln(f"-{tmp_path}/missing", port,
                        ["--listen", f"127.0.0.1:{port}", "--docroot", str(site),
                         "--executor", "stub"])
    assert get(k, "/index.html").status_code == 200


def test_precedence_file_then_environment_then_flags(tmp_path, site, start_file_kiln):
    env_file, port, internal = tmp_path / "kiln.env", free_port(), free_port()
    write_env(env_file, LISTEN_ADDR=f"127.0.0.1:{port}", DOCUMENT_ROOT=site, EXECUTOR="stub",
              INTERNAL_ADDR=f"127.0.0.1:{internal}", RATE_WINDOW=11, RATE_LIMIT=5,
              MAX_URI_SIZE="4K")
    k = start_file_kiln(env_file, port, ["--max-uri-size", "1K"],
                        env={"RATE_LIMIT": "7", "MAX_URI_SIZE": "2K"})
    cfg = httpx.get(f"http://127.0.0.1:{internal}/config", timeout=5).json()
    assert (cfg["RATE_WINDOW"], cfg["RATE_LIMIT"], cfg["MAX_URI_SIZE"]) == ("11", "7", "1K")
    assert cfg["KILN_ENV_FILE"] == str(env_file)
