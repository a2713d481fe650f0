"""WORKER_WATCH (issue 14): a change to a .php file below the watched directories reloads the
workers as SIGHUP does (new php-zygote, worker scripts run again); other files never do; a
burst of changes is one reload (or two), not one per file; a bad directory stops start-up."""

import os
import re
import subprocess
import time

import httpx
import pytest

from conftest import KILN_BIN, free_port

VERSION_PHP = "<?php const KILN_TEST_VERSION = '{v}';\n"
CLASSIC_PHP = "<?php require __DIR__ . '/lib/version.php'; echo KILN_TEST_VERSION, ' ', getmypid();\n"
WORKER_PHP = """<?php
require __DIR__ . '/lib/version.php';   // once per worker: only a new worker sees a new version
while (kiln_handle_request(static function () { echo KILN_TEST_VERSION, ' ', getmypid(); })) {
}
"""


@pytest.fixture
def app(tmp_path):
    root = tmp_path / "app"
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "version.php").write_text(VERSION_PHP.format(v="v1"))
    (root / "index.php").write_text(CLASSIC_PHP)
    (root / "worker.php").write_text(WORKER_PHP)
    return root


def start(start_kiln, root, *extra):
    internal = free_port()
    # OPcache never revalidates: only a reload can show new code
    k = start_kiln(root, ["--workers", "1", "--internal-addr", f"127.0.0.1:{internal}",
                          "-d", "opcache.validate_timestamps=0", "-d", "opcache.file_update_protection=0",
                          "--worker-watch", str(root),
                          *extra])
    k.internal_port = internal
    return k


def answer(k):
    """(version, pid) of the PHP response."""
    r = httpx.get(k.url("/index.php"), timeout=20)
    assert r.status_code == 200, r.text
    version, pid = r.text.split()
    return version, int(pid)


def reloads(k):
    text = httpx.get(f"http://127.0.0.1:{k.internal_port}/metrics", timeout=5).text
    m = re.search(r'^kiln_reloads_total\{result="ok"\} (\S+)$', text, re.M)
    return int(float(m.group(1)))


def wait_for(what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = what()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def wait_for_reloads(k, count):
    wait_for(lambda: reloads(k) >= count)
    assert reloads(k) == count


def write_version(root, v):
    (root / "lib" / "version.php").write_text(VERSION_PHP.format(v=v))


def changes_reload(k, root):
    """The included file changes: new code and a new worker, one reload, logged."""
    _, old_pid = answer(k)
    write_version(root, "v2")
    wait_for(lambda: answer(k)[0] == "v2")
    version, pid = answer(k)
    assert pid != old_pid
    assert reloads(k) == 1
    assert f"WORKER_WATCH: {root}/lib/version.php changed" in k.log()


def test_worker_mode_reloads_when_an_included_file_changes(app, start_kiln):
    k = start(start_kiln, app, "--worker-script", "worker.php")
    assert answer(k)[0] == "v1"
    log = k.log()
    assert "WORKER_WATCH is on, a development setting" in log
    assert '"level":"warn"' in next(line for line in log.splitlines() if "WORKER_WATCH is on" in line)
    changes_reload(k, app)


def test_classic_mode_reloads_too(app, start_kiln):
    k = start(start_kiln, app)
    assert answer(k)[0] == "v1"
    changes_reload(k, app)


def test_new_directories_are_watched_and_other_files_never_reload(app, start_kiln):
    k = start(start_kiln, app, "--worker-script", "worker.php")
    (app / "storage.txt").write_text("log line\n")
    (app / "sessions").mkdir()
    (app / "sessions" / "sess_abc").write_text("a|b")
    (app / ".git").mkdir()
    (app / ".git" / "hook.php").write_text("<?php\n")  # hidden directories are not watched
    time.sleep(1.5)  # a moment for the server: longer than a burst's quiet period
    assert reloads(k) == 0
    # a PHP file in a directory made after the start; a .txt written first is not what triggers
    (app / "notes.txt").write_text("x")
    (app / "modules" / "blog").mkdir(parents=True)
    (app / "modules" / "blog" / "routes.php").write_text("<?php\n")
    wait_for_reloads(k, 1)
    log = k.log()
    assert f"WORKER_WATCH: {app}/modules/blog/routes.php changed" in log
    assert "notes.txt" not in log and "storage.txt" not in log and ".git" not in log
    # the new directory stays watched: a change there reloads again
    (app / "modules" / "blog" / "routes.php").write_text("<?php // edited\n")
    wait_for_reloads(k, 2)
    # a deleted PHP file counts too
    (app / "modules" / "blog" / "routes.php").unlink()
    wait_for_reloads(k, 3)


def test_a_burst_of_files_is_one_reload(app, start_kiln):
    k = start(start_kiln, app, "--worker-script", "worker.php")
    (app / "generated").mkdir()
    for i in range(50):
        (app / "generated" / f"f{i}.php").write_text(f"<?php return {i};\n")
    wait_for(lambda: reloads(k) >= 1)
    time.sleep(3)  # room for a second reload, if changes met the first one while it started
    assert 1 <= reloads(k) <= 2
    assert answer(k)[0] == "v1"


def test_the_workers_do_not_inherit_the_inotify_descriptor(app, start_kiln):
    k = start(start_kiln, app, "--worker-script", "worker.php")
    _, pid = answer(k)

    def inotify_fds(p):
        fds = []
        for fd in os.listdir(f"/proc/{p}/fd"):
            try:
                fds.append(os.readlink(f"/proc/{p}/fd/{fd}"))
            except OSError:
                pass
        return [f for f in fds if "inotify" in f]

    assert inotify_fds(k.proc.pid)  # the master holds it
    assert not inotify_fds(pid)
    write_version(app, "v2")
    wait_for(lambda: answer(k)[0] == "v2")
    assert not inotify_fds(answer(k)[1])  # nor a worker of the exec'd reload zygote


@pytest.mark.parametrize("bad", ["missing-dir", "lib/version.php"])
def test_a_bad_directory_stops_start_up(app, bad):
    r = subprocess.run([KILN_BIN, "--docroot", str(app), "--listen", f"127.0.0.1:{free_port()}",
                        "--worker-watch", f"{app},{app}/{bad}"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "WORKER_WATCH" in lines[0] and f"{app}/{bad}" in lines[0], r.stderr
    assert ("no such directory" if bad == "missing-dir" else "not a directory") in lines[0]


def test_a_bad_list_is_refused(app):
    r = subprocess.run([KILN_BIN, "--docroot", str(app), "--listen", f"127.0.0.1:{free_port()}"],
                       env={**os.environ, "WORKER_WATCH": f"{app},,{app}"},
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 2 and r.stderr.startswith('kiln: invalid WORKER_WATCH "'), r.stderr
