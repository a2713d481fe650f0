"""PROFILE: timing headers (X-Profile-*, Server-Timing) on responses, issue 10 item 5."""

import re

import httpx
import pytest

PROFILE_HEADERS = ("x-profile-queue-us", "x-profile-php-us", "x-profile-total-us",
                   "server-timing")


@pytest.fixture
def profiled(phpsite, start_kiln):
    (phpsite / "static.txt").write_text("static\n")
    (phpsite / "timing.php").write_text(
        "<?php header('Server-Timing: db;dur=1.5'); usleep(100000); echo 'ok';\n")
    return start_kiln(phpsite, ["--workers", "1", "--profile"])


def server_timing(r):
    """Kiln's Server-Timing entry as {name: milliseconds}."""
    values = [v for v in r.headers.get_list("server-timing") if "total;" in v]
    assert len(values) == 1, r.headers.get_list("server-timing")
    out = {}
    for metric in values[0].split(","):
        m = re.fullmatch(r"\s*(\w+);dur=(\d+\.\d{3})\s*", metric)
        assert m, values[0]
        out[m.group(1)] = float(m.group(2))
    return out


@pytest.mark.parametrize("h2", [False, True], ids=["http1", "h2"])
def test_php_response_carries_its_times(profiled, h2):
    with httpx.Client(http1=not h2, http2=h2) as c:
        r = c.get(profiled.url("/sleep.php?ms=150"), timeout=10)
    assert r.status_code == 200
    t = server_timing(r)
    assert list(t) == ["queue", "php", "total"]
    assert t["php"] >= 150 and t["total"] >= t["php"] + t["queue"]
    assert int(r.headers["x-profile-queue-us"]) == round(t["queue"] * 1000)
    assert int(r.headers["x-profile-php-us"]) == round(t["php"] * 1000)
    assert int(r.headers["x-profile-total-us"]) == round(t["total"] * 1000)


def test_the_scripts_own_server_timing_stays(profiled):
    r = httpx.get(profiled.url("/timing.php"), timeout=10)
    assert "db;dur=1.5" in r.headers.get_list("server-timing")
    assert server_timing(r)["php"] >= 100


def test_static_files_and_errors_carry_the_total_only(profiled):
    for path, status in [("/static.txt", 200), ("/missing", 404)]:
        r = httpx.get(profiled.url(path), timeout=10)
        assert r.status_code == status
        assert list(server_timing(r)) == ["total"]
        assert "x-profile-total-us" in r.headers
        assert "x-profile-queue-us" not in r.headers and "x-profile-php-us" not in r.headers


def test_streamed_response_has_the_times_so_far(profiled):
    # the head goes out at the first flush(), before the script ends (0.9 s in all)
    r = httpx.get(profiled.url("/stream.php"), timeout=10)
    assert r.text == "chunk 0\nchunk 1\nchunk 2\n"
    assert list(server_timing(r)) == ["queue", "php", "total"]


def test_off_by_default(phpsite, start_kiln):
    k = start_kiln(phpsite, ["--workers", "1"])
    for path in ("/sleep.php?ms=1", "/missing"):
        r = httpx.get(k.url(path), timeout=10)
        assert not set(PROFILE_HEADERS) & set(r.headers), r.headers
