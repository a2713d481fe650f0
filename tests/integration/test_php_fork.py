"""Processes a PHP script starts (issue 11, item 2): a pcntl_fork() child never answers for its
parent, children are reaped, nothing a script starts outlives its worker or kiln, and
PHP_DISABLE_FORK removes pcntl_fork() and its friends while exec() and proc_open() keep working."""

import os
import time

import httpx
import pytest

FORKS_ON = {"PHP_DISABLE_FORK": "off"}

SCRIPTS = {
    # the script, with the child's headers and log line that must go nowhere
    "fork.php": """<?php
echo 'par';
$p = pcntl_fork();
if ($p === 0) { header('X-Child: 1'); echo 'CHILD'; error_log('child says hi'); exit(0); }
pcntl_waitpid($p, $s);
echo 'ent';
""",
    # a child that outlives the request; `how` = fork | setsid (leaves the process group) |
    # shell (an exec'd program that leaves the group through setsid, without PHP's at-fork)
    "linger.php": """<?php
$file = $_GET['file'];
if ($_GET['how'] === 'shell') {
    exec('setsid sh -c ' . escapeshellarg('echo $$ > ' . $file . '; exec sleep 30')
         . ' > /dev/null 2>&1 &');
} else {
    $p = pcntl_fork();
    if ($p === 0) {
        if ($_GET['how'] === 'setsid') posix_setsid();
        file_put_contents($file, getmypid());
        sleep(30);
        exit(0);
    }
}
echo getmypid();
usleep((int)($_GET['then_ms'] ?? 0) * 1000);
""",
    # children that exit at once and that nobody waits for
    "forget.php": """<?php
$p = pcntl_fork();
if ($p === 0) exit(0);
echo 'forked';
""",
    "bomb.php": """<?php
for ($i = 0; $i < 10; $i++) {
    if (pcntl_fork() === 0) {
        file_put_contents($_GET['dir'] . '/' . $i, getmypid());
        sleep(30);
        exit(0);
    }
}
echo 'bombed';
""",
    "spawn.php": """<?php
$p = proc_open(['sh', '-c', 'cat; echo there'], [['pipe', 'r'], ['pipe', 'w']], $pipes);
fwrite($pipes[0], 'hi ');
fclose($pipes[0]);
$out = stream_get_contents($pipes[1]);
fclose($pipes[1]);
echo json_encode([
    'exec' => exec('echo hi'),
    'shell_exec' => shell_exec('echo hi'),
    'system' => (function () { ob_start(); system('echo hi'); return ob_get_clean(); })(),
    'passthru' => (function () { ob_start(); passthru('echo hi'); return ob_get_clean(); })(),
    'popen' => fread(popen('echo hi', 'r'), 100),
    'proc_open' => $out,
    'proc_close' => proc_close($p),
]);
""",
    "has_fork.php": """<?php
$out = [];
foreach (['pcntl_fork', 'pcntl_exec', 'pcntl_unshare', 'pcntl_waitpid', 'proc_open'] as $f)
    $out[$f] = function_exists($f);
try { pcntl_fork(); $out['call'] = 'returned'; } catch (Error $e) { $out['call'] = get_class($e); }
echo json_encode($out);
""",
    "pid.php": "<?php echo getmypid();",
}


@pytest.fixture
def forksite(phpsite):
    for name, code in SCRIPTS.items():
        (phpsite / name).write_text(code)
    return phpsite


def alive(pid):
    """True while `pid` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def wait_until(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not predicate():
        time.sleep(0.05)
    return predicate()


def read_pid(path):
    assert wait_until(lambda: path.exists() and path.read_text().strip()), f"{path} not written"
    return int(path.read_text())


def kill_leftovers(pids):
    """A failed test must not leave its sleepers behind."""
    for pid in pids:
        try:
            os.kill(pid, 9)
        except ProcessLookupError:
            pass


def children(pid):
    """(pid, state) of every process whose parent is `pid`."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append((int(entry), fields[0]))
    return out


def get(k, path, **params):
    r = httpx.get(k.url(path), params=params, timeout=30)
    assert r.status_code == 200, (r.status_code, r.text)
    return r


def test_fork_child_never_answers_for_its_parent(forksite, start_kiln):
    k = start_kiln(forksite, ["--workers", "1"], env=FORKS_ON)
    for _ in range(3):
        r = get(k, "/fork.php")
        assert r.text == "parent"
        assert "x-child" not in r.headers
    assert get(k, "/pid.php").text.isdigit()  # the worker is still in step with the master
    assert wait_until(lambda: "child says hi" in k.errors())  # the child's log: stderr


@pytest.mark.parametrize("how", ["fork", "setsid", "shell"])
def test_child_does_not_outlive_its_recycled_worker(forksite, start_kiln, tmp_path, how):
    k = start_kiln(forksite, ["--workers", "1", "--worker-max-requests", "1"], env=FORKS_ON)
    pidfile = tmp_path / f"child-{how}"
    worker = int(get(k, "/linger.php", file=str(pidfile), how=how).text)
    child = read_pid(pidfile)
    try:
        assert wait_until(lambda: not alive(worker))
        assert wait_until(lambda: not alive(child)), f"{how} child {child} outlived its worker"
        assert get(k, "/pid.php").text.isdigit()
    finally:
        kill_leftovers([child])


def test_child_does_not_outlive_a_worker_killed_at_its_deadline(forksite, start_kiln, tmp_path):
    k = start_kiln(forksite, ["--workers", "1", "--request-timeout", "1s"], env=FORKS_ON)
    pidfile = tmp_path / "child"
    r = httpx.get(k.url("/linger.php"), params={"file": str(pidfile), "how": "fork",
                                               "then_ms": "20000"}, timeout=30)
    assert r.status_code == 504
    child = read_pid(pidfile)
    try:
        assert wait_until(lambda: not alive(child)), f"child {child} outlived its killed worker"
    finally:
        kill_leftovers([child])


@pytest.mark.parametrize("how", ["fork", "shell"])
def test_child_does_not_outlive_kiln(forksite, start_kiln, tmp_path, how):
    k = start_kiln(forksite, ["--workers", "1"], env=FORKS_ON)
    pidfile = tmp_path / f"child-{how}"
    get(k, "/linger.php", file=str(pidfile), how=how)
    child = read_pid(pidfile)
    try:
        k.stop()
        assert wait_until(lambda: not alive(child)), f"{how} child {child} outlived kiln"
    finally:
        kill_leftovers([child])


def test_a_bounded_fork_bomb_leaves_nothing_after_kiln_stops(forksite, start_kiln, tmp_path):
    k = start_kiln(forksite, ["--workers", "2"], env=FORKS_ON)
    pids = []
    try:
        for n in range(2):
            d = tmp_path / f"bomb{n}"
            d.mkdir()
            assert get(k, "/bomb.php", dir=str(d)).text == "bombed"
            pids += [read_pid(d / str(i)) for i in range(10)]
        k.stop()
        assert wait_until(lambda: not any(alive(p) for p in pids)), \
            [p for p in pids if alive(p)]
    finally:
        kill_leftovers(pids)


def test_children_nobody_waits_for_are_reaped(forksite, start_kiln):
    k = start_kiln(forksite, ["--workers", "1"], env=FORKS_ON)
    worker = int(get(k, "/pid.php").text)
    for _ in range(10):
        assert get(k, "/forget.php").text == "forked"
    # The children end on their own time (slowly under ASan, whose leak check runs at exit):
    # wait until every one has exited, then one more request ends with the worker's reaping.
    assert wait_until(lambda: all(state == "Z" for _, state in children(worker)))
    assert int(get(k, "/pid.php").text) == worker
    assert wait_until(lambda: not children(worker)), children(worker)


@pytest.mark.parametrize("env", [{}, FORKS_ON], ids=["default", "forks-on"])
def test_exec_shell_exec_and_proc_open_keep_working(forksite, start_kiln, env):
    k = start_kiln(forksite, ["--workers", "1"], env=env)
    worker = int(get(k, "/pid.php").text)
    for _ in range(3):
        assert get(k, "/spawn.php").json() == {
            "exec": "hi", "shell_exec": "hi\n", "system": "hi\n", "passthru": "hi\n",
            "popen": "hi\n", "proc_open": "hi there\n", "proc_close": 0}
    assert int(get(k, "/pid.php").text) == worker


def test_fork_functions_are_disabled_by_default(forksite, start_kiln):
    k = start_kiln(forksite, ["--workers", "1"])
    assert get(k, "/has_fork.php").json() == {
        "pcntl_fork": False, "pcntl_exec": False, "pcntl_unshare": False,
        "pcntl_waitpid": True, "proc_open": True, "call": "Error"}


def test_php_disable_fork_off_keeps_them(forksite, start_kiln):
    k = start_kiln(forksite, ["--workers", "1", "--php-disable-fork=off"])
    got = get(k, "/has_fork.php").json()
    assert got["pcntl_fork"] and got["pcntl_exec"] and got["pcntl_unshare"]
