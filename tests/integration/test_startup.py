"""Command line, configuration errors and start-up checks of the real binary."""

import socket
import subprocess

from conftest import KILN_BIN


def run(args, env=None, timeout=10):
    import os
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([KILN_BIN, *args], capture_output=True, text=True, timeout=timeout, env=e)


def test_help_and_version():
    r = run(["--help"])
    assert r.returncode == 0
    for flag in ("--listen", "--docroot", "--workers", "--index-file", "--max-body-size"):
        assert flag in r.stdout
    r = run(["--version"])
    assert r.returncode == 0 and r.stdout.startswith("kiln ")


def assert_one_line_error(r, *needles):
    assert r.returncode == 2, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    for n in needles:
        assert n in lines[0], lines[0]


def test_bad_values_stop_startup_with_one_line(site):
    assert_one_line_error(run(["--docroot", str(site), "--workers", "lots"]), "--workers", "lots")
    assert_one_line_error(run(["--docroot", str(site)], {"REQUEST_TIMEOUT": "5x"}),
                          "REQUEST_TIMEOUT", "5x")
    assert_one_line_error(run(["--docroot", str(site)], {"LISTEN_ADDR": "nowhere"}),
                          "LISTEN_ADDR", "nowhere")
    assert_one_line_error(run(["--docroot", str(site), "--no-such-flag"]), "--no-such-flag")
    assert_one_line_error(run(["--docroot", str(site)], {"ROUTING": "nginx"}), "ROUTING", "nginx")
    assert_one_line_error(run(["--docroot", str(site), "--routing", "try-files"]),
                          "try-files needs INDEX_FILE")


def test_missing_document_root_and_index_file(site, tmp_path):
    assert_one_line_error(run(["--docroot", str(tmp_path / "nope")]), "DOCUMENT_ROOT")
    assert_one_line_error(run(["--docroot", str(site), "--index-file", "app.php"]),
                          "INDEX_FILE", "app.php")


def test_port_in_use(site):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = run(["--docroot", str(site), "--listen", f"127.0.0.1:{port}"])
    assert_one_line_error(r, "LISTEN_ADDR", str(port))


def test_document_root_that_cannot_be_searched(tmp_path):
    """A root the user cannot search (no x bit) is named, with the reason and the user."""
    import os
    import shutil
    import tempfile
    # Root ignores permissions: run Kiln as nobody, in a directory nobody can reach.
    base = tempfile.mkdtemp(prefix="kiln-perm-", dir="/tmp")
    try:
        os.chmod(base, 0o755)
        root = os.path.join(base, "www")
        os.mkdir(root)
        with open(os.path.join(root, "index.html"), "w") as f:
            f.write("hi\n")
        os.chmod(root, 0o644)  # readable, not searchable
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                            KILN_BIN, "--docroot", root, "--listen", f"127.0.0.1:{port}"],
                           capture_output=True, text=True, timeout=10)
        assert_one_line_error(r, "DOCUMENT_ROOT", root, "Permission denied", "nobody")
    finally:
        os.chmod(os.path.join(base, "www"), 0o755)
        shutil.rmtree(base)
