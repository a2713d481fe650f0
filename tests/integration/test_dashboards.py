"""The operating files in docs/: the Prometheus scrape config and alert rules (docs/prometheus/) and
the Grafana dashboard (docs/grafana/kiln.json). promtool checks the rules and runs their unit
tests; every metric, label and label value they name must be one a running Kiln exports on
/metrics, so the dashboards cannot drift from src/obs/stats.c."""

import json
import re
import shutil
import subprocess

import httpx
import pytest
import yaml

from conftest import ROOT, free_port

PROMETHEUS = ROOT / "docs" / "prometheus"
DASHBOARD = ROOT / "docs" / "grafana" / "kiln.json"

# Series Prometheus makes itself (not from Kiln's /metrics), and the labels it adds to every series.
PROMETHEUS_SERIES = {"up"}
TARGET_LABELS = {"job", "instance"}
HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")
PROMQL_WORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
                "unless", "bool", "offset", "inf", "nan"}

# What the dashboard must show (docs/observability.md, "Operating it").
DASHBOARD_FAMILIES = {
    "kiln_requests_total", "kiln_responses_total", "kiln_request_duration_seconds",
    "kiln_queue_wait_seconds", "kiln_php_duration_seconds", "kiln_workers", "kiln_workers_busy",
    "kiln_workers_idle", "kiln_queue_depth", "kiln_worker_restarts_total",
    "kiln_active_connections", "kiln_response_bytes_total", "kiln_tls_handshakes_total",
    "kiln_tls_handshake_failures_total", "kiln_timeouts_total", "kiln_rate_limited_total",
    "kiln_dropped_requests_total", "kiln_compression_in_bytes_total",
    "kiln_compression_out_bytes_total", "kiln_opcache_memory_used_bytes",
    "kiln_opcache_memory_free_bytes", "kiln_opcache_hit_ratio", "kiln_sse_active_connections",
    "node_load1", "node_memory_used_bytes", "node_memory_total_bytes",
}
ALERTS = {"KilnDown", "KilnWorkersSaturated", "KilnHigh5xxRate", "KilnQueueWaitHigh",
          "KilnWorkersCrashing", "KilnWorkersKilled", "KilnRequestsDropped"}


# ---- the catalogue, from a running Kiln -------------------------------------------------------

class Catalogue:
    """/metrics as families (name -> type) and, per series name, label -> values seen."""

    def __init__(self, text):
        self.types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
        self.labels = {}
        for name, labels in re.findall(r"^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? \S+$", text, re.M):
            seen = self.labels.setdefault(name, {})
            for label, value in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', labels or ""):
                seen.setdefault(label, set()).add(value)

    def family_of(self, name):
        """The family a series name belongs to (a histogram's _bucket/_sum/_count), or None."""
        if self.types.get(name) in ("counter", "gauge"):
            return name
        for suffix in HISTOGRAM_SUFFIXES:
            base = name[:-len(suffix)]
            if name.endswith(suffix) and self.types.get(base) == "histogram":
                return base
        return None


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory):
    from conftest import Kiln
    tmp = tmp_path_factory.mktemp("dash")
    (tmp / "www").mkdir()
    port = free_port()
    k = Kiln(tmp / "www", ["--executor", "stub", "--internal-addr", f"127.0.0.1:{port}"], tmp=tmp)
    k.start()
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert r.status_code == 200
        yield Catalogue(r.text)
    finally:
        k.stop()


# ---- the expressions: the dashboard's and the alert rules' ------------------------------------

def dashboard():
    return json.loads(DASHBOARD.read_text())


def panels(d):
    return [p for p in d["panels"] if p["type"] != "row"]


def grafana_to_promql(expr):
    """A panel's expression as Prometheus would receive it (Grafana's variables substituted)."""
    return expr.replace("$__rate_interval", "5m").replace("$instance", ".*")


def dashboard_expressions():
    d = dashboard()
    exprs = [t["expr"] for p in panels(d) for t in p["targets"]]
    for var in d["templating"]["list"]:
        if var["type"] == "query":
            m = re.fullmatch(r"label_values\((\w+),\s*\w+\)", var["query"]["query"])
            assert m, var["query"]
            exprs.append(m.group(1))
    return [grafana_to_promql(e) for e in exprs]


def alert_rules():
    return [r for g in yaml.safe_load((PROMETHEUS / "kiln-alerts.yml").read_text())["groups"]
            for r in g["rules"]]


def all_expressions():
    return dashboard_expressions() + [r["expr"] for r in alert_rules()]


MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def selectors(expr):
    """(metric name, [(label, op, value)]) for every series selector of a PromQL expression."""
    found = []
    for name, body in re.findall(r"([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}", expr):
        found.append((name, MATCHER.findall(body)))
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"(?:[^\"\\]|\\.)*\"", " ", expr)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    for m in re.finditer(r"(?<![\w.])([a-zA-Z_:][\w:]*)(?!\s*[\w(:])", bare):
        name = m.group(1)
        if name.lower() not in PROMQL_WORDS and name not in (n for n, _ in found):
            found.append((name, []))
    return found


def grouping_labels(expr):
    return {label.strip() for group in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr)
            for label in group.split(",") if label.strip()}


# ---- tests ------------------------------------------------------------------------------------

def promtool(*args, cwd=PROMETHEUS):
    assert shutil.which("promtool"), "promtool missing: scripts/install-deps.sh installs prometheus"
    return subprocess.run(["promtool", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


def test_alert_rules_pass_promtool():
    check = promtool("check", "rules", "kiln-alerts.yml")
    assert check.returncode == 0, check.stdout + check.stderr
    assert {r["alert"] for r in alert_rules()} == ALERTS


def test_alert_rules_fire_on_their_unit_tests():
    run = promtool("test", "rules", "kiln-alerts.test.yml")
    assert run.returncode == 0, run.stdout + run.stderr


def test_scrape_config_passes_promtool():
    check = promtool("check", "config", "prometheus.yml")
    assert check.returncode == 0, check.stdout + check.stderr
    cfg = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    assert cfg["rule_files"] == ["kiln-alerts.yml"]
    assert [s["job_name"] for s in cfg["scrape_configs"]] == ["kiln"]  # KilnDown's up{job="kiln"}


def test_dashboard_loads_as_is():
    d = dashboard()
    assert isinstance(d["schemaVersion"], int) and d["schemaVersion"] >= 36
    assert d["uid"] and d["title"] and d["id"] is None
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    for p in panels(d):
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
        assert p["targets"], p["title"]
        refs = [t["refId"] for t in p["targets"]]
        assert len(refs) == len(set(refs)), p["title"]
        for t in p["targets"]:
            assert t["datasource"] == p["datasource"], p["title"]
            assert 'instance=~"$instance"' in t["expr"], (p["title"], t["expr"])
        g = p["gridPos"]
        assert g["x"] + g["w"] <= 24, p["title"]


def test_dashboard_panels_do_not_overlap():
    taken = set()
    for p in dashboard()["panels"]:
        g = p["gridPos"]
        cells = {(x, y) for x in range(g["x"], g["x"] + g["w"]) for y in range(g["y"], g["y"] + g["h"])}
        assert not cells & taken, p["title"]
        taken |= cells


def test_dashboard_expressions_are_valid_promql(tmp_path):
    # promtool parses the expressions of recording rules: one per panel target
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"kiln_dashboard:expr{i}", "expr": e}
        for i, e in enumerate(dashboard_expressions())]}]}
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    check = promtool("check", "rules", str(path), cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def test_dashboard_shows_the_operating_metrics(catalogue):
    used = {catalogue.family_of(name) for e in dashboard_expressions() for name, _ in selectors(e)}
    assert DASHBOARD_FAMILIES <= used, DASHBOARD_FAMILIES - used


def test_every_metric_label_and_value_named_is_exported(catalogue):
    for expr in all_expressions():
        names = [name for name, _ in selectors(expr)]
        assert names, expr
        labels_here = set(TARGET_LABELS) | {"le"}
        for name, matchers in selectors(expr):
            if name in PROMETHEUS_SERIES:
                continue
            assert catalogue.family_of(name), f"{name} is not exported by Kiln ({expr})"
            exported = catalogue.labels.get(name, {})
            labels_here |= set(exported)
            for label, op, value in matchers:
                if label in TARGET_LABELS:
                    continue
                assert label in exported, f"{name} has no label {label} ({expr})"
                if op == "=":
                    assert value in exported[label], f"{name}{{{label}={value!r}}} not exported"
        assert grouping_labels(expr) <= labels_here, (grouping_labels(expr) - labels_here, expr)


def test_the_drift_check_sees_a_wrong_name(catalogue):
    # the checks above would pass on nothing: make sure the extraction finds what is there
    expr = 'sum by (status) (rate(kiln_responses_total{status="5xx"}[5m])) / kiln_nope'
    found = dict(selectors(expr))
    assert found["kiln_responses_total"] == [("status", "=", "5xx")]
    assert "kiln_nope" in found and catalogue.family_of("kiln_nope") is None
    assert "rate" not in found and "sum" not in found and "status" not in found
    assert catalogue.family_of("kiln_queue_wait_seconds_bucket") == "kiln_queue_wait_seconds"
    assert catalogue.family_of("kiln_queue_wait_seconds") is None  # a histogram has no plain series
    assert "6xx" not in catalogue.labels["kiln_responses_total"]["status"]
