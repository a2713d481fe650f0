"""Packaging: `make install` (DESTDIR, PREFIX), the generated man page kiln(8) against --help,
the systemd unit, and the Dockerfile (linted as text: it cannot be built here)."""

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import KILN_BIN, ROOT

UNIT_SRC = ROOT / "packaging" / "kiln.service"
DOCKERFILE = ROOT / "Dockerfile"


def make(*args):
    # The test may run under `make integration`: its MAKEFLAGS (jobserver) are not ours.
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    return subprocess.run(["make", "--no-print-directory", "-C", str(ROOT), *args], env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def dest(tmp_path_factory):
    root = tmp_path_factory.mktemp("destdir")
    r = make("install", f"DESTDIR={root}", "PREFIX=/usr")
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return root


def help_entries(binary):
    """{flag: (tag, env, default, help)} from --help, the table the man page must follow."""
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    entries = {}
    for i, line in enumerate(lines):
        if not line.startswith("  -"):
            continue
        help_line = lines[i + 1].strip()
        m = re.match(r"^  (\S.*?) +([A-Z0-9_]+), default (.*)$", line)
        if m:
            left, env, default = m.groups()
            entries[left.split("[")[0].split(" ")[0]] = (f"{left}, {env}", env, default, help_line)
        else:
            entries[line.split()[0]] = (line.strip(), None, None, help_line)  # a command
    return entries


def roff_to_text(s):
    return re.sub(r"\\f[BIR]", "", s).replace("\\-", "-").replace("\\e", "\\").replace("\\&", "")


def man_entries(page):
    """{flag: (tag, body)} from the OPTIONS section of the man page source."""
    options = page.split("\n.SH OPTIONS\n", 1)[1].split("\n.SH ", 1)[0]
    entries = {}
    for block in options.split(".TP\n")[1:]:
        tag, body = roff_to_text(block).split("\n", 1)
        entries[tag.split(",")[0].split("[")[0].split(" ")[0]] = (tag, body)
    return entries


def test_install_tree(dest):
    files = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert files == sorted([
        "usr/sbin/kiln",
        "usr/share/man/man8/kiln.8",
        "usr/lib/systemd/system/kiln.service",
        "usr/share/doc/kiln/README.md",
        "usr/share/doc/kiln/LICENSE",
        "usr/share/doc/kiln/operations.md",
        "usr/share/doc/kiln/configuration.md",
        "usr/share/doc/kiln/observability.md",
        "usr/share/doc/kiln/php.md",
        "usr/share/doc/kiln/frameworks.md",
        "usr/share/doc/kiln/examples/laravel-worker.php",
        "usr/share/doc/kiln/examples/symfony-worker.php",
    ])
    assert os.access(dest / "usr/sbin/kiln", os.X_OK)
    assert (dest / "usr/share/man/man8/kiln.8").stat().st_mode & 0o777 == 0o644


def test_installed_binary_runs(dest):
    r = subprocess.run([str(dest / "usr/sbin/kiln"), "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and re.fullmatch(r"kiln \d+\.\d+\.\d+\n", r.stdout), r


def test_man_page_lints_clean(dest):
    page = dest / "usr/share/man/man8/kiln.8"
    if shutil.which("groff"):
        r = subprocess.run(["groff", "-man", "-ww", "-z", str(page)], capture_output=True, text=True)
    elif shutil.which("mandoc"):
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning", str(page)],
                           capture_output=True, text=True)
    else:  # make test installs groff-base (scripts/install-deps.sh): a failure, not a skip
        raise AssertionError("neither groff nor mandoc (scripts/install-deps.sh installs groff-base)")
    assert r.returncode == 0 and r.stdout + r.stderr == "", r.stdout + r.stderr


def test_man_page_has_the_sections(dest):
    page = (dest / "usr/share/man/man8/kiln.8").read_text()
    sections = re.findall(r'^\.SH "?([A-Z ]+)"?$', page, re.M)
    assert sections == ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS", "EXIT STATUS",
                        "ENVIRONMENT", "FILES", "SEE ALSO"]
    assert "@OPTIONS@" not in page and "@VERSION@" not in page
    version = subprocess.run([str(dest / "usr/sbin/kiln"), "--version"], capture_output=True,
                             text=True).stdout.split()[1]
    assert f'.TH KILN 8 "" "kiln {version}"' in page


def test_every_help_option_is_in_the_man_page(dest):
    """The page is generated from the table behind --help: same options, same order, each with
    its variable, default and help line."""
    want = help_entries(str(dest / "usr/sbin/kiln"))
    got = man_entries((dest / "usr/share/man/man8/kiln.8").read_text())
    assert list(got) == list(want)
    assert len(want) > 40
    for flag, (tag, env, default, help_line) in want.items():
        man_tag, body = got[flag]
        assert man_tag == tag, flag
        assert help_line in body.replace("\n", " "), flag
        if env is not None:
            assert f"Default: {default}." in body, flag


def unit_text(dest):
    return (dest / "usr/lib/systemd/system/kiln.service").read_text()


def unit_keys(text):
    keys = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            keys.setdefault(k.strip(), []).append(v.strip())
    return keys


def test_unit_file_has_what_it_needs(dest):
    keys = unit_keys(unit_text(dest))
    one = {k: v[-1] for k, v in keys.items()}
    assert one["Type"] == "notify"
    # Kiln reads the settings file itself, so that a reload sees changes (optional: '-')
    assert one["ExecStart"] == "/usr/sbin/kiln --env-file -/etc/default/kiln"
    assert one["ExecReload"] == "/usr/sbin/kiln --reload $MAINPID"
    assert one["KillSignal"] == "SIGTERM" and one["KillMode"] == "mixed"
    assert one["Restart"] == "on-failure" and one["User"] == "www-data"
    # systemd would read it only at start; Environment= would win over the file
    assert "EnvironmentFile" not in keys and "Environment" not in keys
    for k in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices",
              "ProtectKernelTunables", "ProtectKernelModules", "ProtectKernelLogs",
              "ProtectControlGroups", "RestrictNamespaces", "LockPersonality"):
        assert one[k] == "yes", k
    assert one["ProtectSystem"] == "strict"
    assert one["RestrictAddressFamilies"] == "AF_UNIX AF_INET AF_INET6"
    assert one["AmbientCapabilities"] == "CAP_NET_BIND_SERVICE"
    assert "MemoryDenyWriteExecute" not in keys  # PHP's JIT and PCRE's JIT need W+X memory
    assert "/var/lib/php/sessions" in one["ReadWritePaths"]
    assert int(one["LimitNOFILE"]) >= 65536
    assert "@SBINDIR@" not in unit_text(dest)


def test_unit_stop_timeout_covers_the_drain(dest):
    help_out = subprocess.run([str(dest / "usr/sbin/kiln"), "--help"], capture_output=True,
                              text=True).stdout
    drain = int(re.search(r"DRAIN_TIMEOUT_SECS, default (\d+)", help_out).group(1))
    assert int(unit_keys(unit_text(dest))["TimeoutStopSec"][-1]) > drain


def test_unit_env_file_is_optional(dest, tmp_path):
    """The unit's --env-file -FILE starts without the file (it is created only when needed)."""
    exec_start = unit_keys(unit_text(dest))["ExecStart"][-1].split()
    assert exec_start[1:] == ["--env-file", "-/etc/default/kiln"]
    r = subprocess.run([str(dest / "usr/sbin/kiln"), "--env-file", f"-{tmp_path}/missing",
                        "--docroot", f"{tmp_path}/none"], capture_output=True, text=True)
    assert (r.returncode, r.stderr) == (2, f'kiln: DOCUMENT_ROOT "{tmp_path}/none": no such '
                                           "directory\n")  # the next check: the file was skipped


def test_unit_file_verifies(dest, tmp_path):
    """systemd-analyze verify works offline; it checks that ExecStart is executable, so the
    copy points at the DESTDIR binary."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("no systemd-analyze: the key checks above stand alone")
    unit = tmp_path / "kiln.service"
    unit.write_text(unit_text(dest).replace("/usr/sbin/kiln", str(dest / "usr/sbin/kiln")))
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", str(unit)],
                       capture_output=True, text=True)
    complaints = [l for l in (r.stdout + r.stderr).splitlines() if "kiln.service" in l]
    assert r.returncode == 0 and not complaints, r.stdout + r.stderr


def test_uninstall_removes_everything(tmp_path):
    root = tmp_path / "root"
    assert make("install", f"DESTDIR={root}", "PREFIX=/opt/kiln").returncode == 0
    assert "/opt/kiln/sbin/kiln" in (root / "opt/kiln/lib/systemd/system/kiln.service").read_text()
    r = make("uninstall", f"DESTDIR={root}", "PREFIX=/opt/kiln")
    assert r.returncode == 0, r.stderr
    assert [p for p in root.rglob("*") if p.is_file()] == []


# ---- Dockerfile, as text --------------------------------------------------------------------

def instructions():
    """[(INSTRUCTION, arguments)] with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        if line.lstrip().startswith("#") and not current:
            continue
        if line.rstrip().endswith("\\"):
            current += line.rstrip()[:-1] + " "
            continue
        current += line
        if current.strip():
            word, _, rest = current.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
        current = ""
    return out


def stages():
    result = []
    for word, args in instructions():
        if word == "FROM":
            result.append([])
        result[-1].append((word, args))
    return result


def test_dockerfile_bases_are_pinned_debian_12():
    froms = [args.split()[0] for word, args in instructions() if word == "FROM"]
    assert len(froms) == 2
    for image in froms:
        name, _, tag = image.partition(":")
        assert name == "debian" and tag and tag != "latest", image
        assert tag.startswith(("12", "bookworm")), image


def test_dockerfile_apt_installs_are_lean():
    runs = [args for word, args in instructions() if word == "RUN" and "apt-get install" in args]
    assert len(runs) == 2
    for run in runs:
        assert "apt-get update" in run and "--no-install-recommends" in run, run
        assert "rm -rf /var/lib/apt/lists/*" in run, run


def packages(run):
    words = run.split("--no-install-recommends", 1)[1].split("&&")[0].split()
    return [w for w in words if not w.startswith("-")]


def test_dockerfile_build_stage_uses_install_deps_packages():
    listed = set(re.search(r'PACKAGES="(.*?)"', (ROOT / "scripts/install-deps.sh").read_text(),
                           re.S).group(1).split())
    build_run = next(a for w, a in stages()[0] if w == "RUN" and "apt-get install" in a)
    assert set(packages(build_run)) <= listed
    assert ("RUN", "make all") in stages()[0]


def test_dockerfile_runtime_stage():
    runtime = stages()[1]
    run = next(a for w, a in runtime if w == "RUN" and "apt-get install" in a)
    for pkg in ("libphp8.2-embed", "php8.2-opcache", "libnghttp2-14", "libssl3", "libbrotli1",
                "zlib1g", "libzstd1"):
        assert pkg in packages(run), pkg
    assert not any("-dev" in p for p in packages(run))
    users = [a for w, a in runtime if w == "USER"]
    assert users and users[-1] not in ("root", "0")
    assert ("STOPSIGNAL", "SIGTERM") in runtime
    exposed = " ".join(a for w, a in runtime if w == "EXPOSE").split()
    assert "8080" in exposed and "9090" in exposed
    health = [a for w, a in runtime if w == "HEALTHCHECK"]
    assert len(health) == 1 and "/live" in health[0] and "9090" in health[0]
    env = " ".join(a for w, a in runtime if w == "ENV")
    assert "LISTEN_ADDR=0.0.0.0:8080" in env and "INTERNAL_ADDR=0.0.0.0:9090" in env


def test_dockerfile_env_names_are_settings():
    help_out = subprocess.run([KILN_BIN, "--help"], capture_output=True, text=True).stdout
    env = " ".join(a for w, a in instructions() if w == "ENV")
    for name in re.findall(r"([A-Z_]+)=", env):
        assert f" {name}, default" in help_out, name


def test_dockerfile_copy_sources_exist():
    for word, args in instructions():
        if word != "COPY" or args.startswith("--from"):
            continue
        for src in args.split()[:-1]:
            assert (ROOT / src).exists(), src
