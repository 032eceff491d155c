"""The target-node dashboard and the alerting rules on a real Prometheus and node-exporter.

Debian's ``prometheus`` (with ``promtool``) and ``prometheus-node-exporter`` run on free loopback
ports for the length of the module: every panel's PromQL returns series of this machine's real
filesystem, disk, CPU, memory and network; every rule parses, the alerts of a healthy node stay
silent, and ``promtool test rules`` proves each alert fires on the series that should fire it --
with its labels and annotations -- and on no other.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.monitoring.alerts import AlertRule, alert_rules, alerting_rules
from aisinfra.monitoring.dashboards import NODE_VARIABLE, nodes_dashboard
from aisinfra.monitoring.scope import ClusterScope
from aisinfra.worksheet.model import Alerts
from tests.conftest import missing_server
from tests.servers import free_port, stop

APT_LINE = "apt-get install -y prometheus prometheus-node-exporter"
BINARIES = ("prometheus", "promtool", "prometheus-node-exporter")
# This machine as one target node whose one mountpoint is the root filesystem, which exists here.
HERE = ClusterScope(release="demo", namespace="ais", target_nodes=("here",), mountpoints=("/",))
SCRAPE_SECONDS = 1
START_SECONDS = 30


def binaries() -> dict[str, str]:
    found = {name: shutil.which(name) for name in BINARIES}
    missing = [name for name, path in found.items() if path is None]
    if missing:
        missing_server(f"{', '.join(missing)} not installed: `{APT_LINE}` (as root) to run this test")
    return {name: path for name, path in found.items() if path is not None}


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def query(port: int, expr: str) -> dict[str, Any]:
    """Prometheus's answer to an instant query (a refused query answers 400 with the same shape)."""
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        return dict(get(url))
    except urllib.error.HTTPError as error:
        return dict(json.loads(error.read()))


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Prometheus scraping a node-exporter as the subchart's job labels it (``kubernetes_node``),
    with the alerting rules loaded; yields its port once every panel's series have two samples."""
    paths = binaries()
    folder = tmp_path_factory.mktemp("prometheus")
    exporter_port, prometheus_port = free_port(), free_port()
    rules = folder / "alerting_rules.yml"
    rules.write_text(yaml.safe_dump(alerting_rules(HERE, Alerts())))
    config = {
        "global": {"scrape_interval": f"{SCRAPE_SECONDS}s", "evaluation_interval": f"{SCRAPE_SECONDS}s"},
        "rule_files": [str(rules)],
        "scrape_configs": [
            {
                "job_name": "kubernetes-service-endpoints",
                "static_configs": [{"targets": [f"127.0.0.1:{exporter_port}"], "labels": {"kubernetes_node": "here"}}],
            }
        ],
    }
    (folder / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = (folder / "servers.log").open("wb")
    exporter = subprocess.Popen(
        [paths["prometheus-node-exporter"], f"--web.listen-address=127.0.0.1:{exporter_port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = subprocess.Popen(
        [
            paths["prometheus"],
            f"--config.file={folder / 'prometheus.yml'}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                samples = query(prometheus_port, "count_over_time(node_uname_info[1m])")
                if samples["data"]["result"] and float(samples["data"]["result"][0]["value"][1]) >= 3:
                    break
            except (OSError, KeyError):
                pass
            time.sleep(0.5)
        else:
            pytest.fail(f"Prometheus did not scrape node-exporter within {START_SECONDS} s: {folder / 'servers.log'}")
        yield prometheus_port
    finally:
        stop(server)
        stop(exporter)
        log.close()


def panel_queries() -> list[tuple[str, str]]:
    """Every (panel title, PromQL) of the node dashboard, ``$node`` as Grafana's "All" writes it."""
    dashboard = nodes_dashboard(HERE)
    return [
        (panel.title, query.expr.replace(f"${NODE_VARIABLE}", HERE.nodes_regex))
        for panel in dashboard.panels
        for query in panel.queries
    ]


def test_every_panel_of_the_node_dashboard_shows_this_machines_series(prometheus: int) -> None:
    empty = []
    for title, expr in panel_queries():
        answer = query(prometheus, expr)
        assert answer["status"] == "success", (title, answer)
        if not answer["data"]["result"]:
            empty.append(title)
    assert empty == [], f"panels whose query matches nothing: {empty}"


def test_the_node_variable_lists_the_clusters_nodes(prometheus: int) -> None:
    name, expr, all_value = nodes_dashboard(HERE).variables[0]
    selector = re.fullmatch(r"label_values\((.*), kubernetes_node\)", expr)
    assert selector is not None
    answer = query(prometheus, selector.group(1))
    assert [series["metric"]["kubernetes_node"] for series in answer["data"]["result"]] == ["here"]
    assert (name, all_value) == ("node", "here")


def test_the_fullest_mountpoint_panel_names_it_with_its_use(prometheus: int) -> None:
    expr = dict(panel_queries())["Fullest mountpoint"]
    [series] = query(prometheus, expr)["data"]["result"]
    assert (series["metric"]["kubernetes_node"], series["metric"]["mountpoint"]) == ("here", "/")
    usage = shutil.disk_usage("/")
    assert float(series["value"][1]) == pytest.approx(100 * (1 - usage.free / usage.total), abs=1)


def threshold_free(rule: AlertRule) -> str:
    """A threshold rule's expression without its comparison: what it compares returns data here."""
    return re.sub(r" [<>]=? -?[0-9.]+$", "", rule.expr)


def test_every_rule_parses_and_a_healthy_node_fires_none(prometheus: int) -> None:
    for rule in alert_rules(HERE, Alerts()):
        answer = query(prometheus, rule.expr)
        assert answer["status"] == "success", (rule.name, answer)
        # A trend fitted to the few seconds of samples here is noise (the rule's 30-minute `for` is
        # what keeps such noise from alerting, which an instant query does not apply).
        if rule.name != "AisMountpointFillsSoon":
            assert answer["data"]["result"] == [], f"{rule.name} fires on this healthy machine"
        if threshold_free(rule) != rule.expr:
            compared = query(prometheus, threshold_free(rule))
            assert compared["data"]["result"], f"{rule.name}: {threshold_free(rule)} matches nothing here"


def test_promtool_checks_the_rules_file(tmp_path: Path) -> None:
    promtool = binaries()["promtool"]
    rules = tmp_path / "alerting_rules.yml"
    rules.write_text(yaml.safe_dump(alerting_rules(TWO_NODES, Alerts())))
    result = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 7 rules found" in result.stdout


# -- promtool test rules: each alert fires on what should fire it, and on nothing else -------------

TWO_NODES = ClusterScope(
    release="demo", namespace="ais", target_nodes=("n1", "n2"), mountpoints=("/ais/sda", "/ais/sdb")
)
DEVICES = {"/ais/sda": "sda", "/ais/sdb": "sdb"}
ALERTS = Alerts()
NAMES = [rule.name for rule in alert_rules(TWO_NODES, ALERTS)]
FILESYSTEM_ALERTS = (
    "AisMountpointFullWarning",
    "AisMountpointFullCritical",
    "AisMountpointFillsSoon",
    "AisMountpointReadOnly",
)


def healthy(nodes: tuple[str, ...] = ("n1", "n2")) -> dict[tuple[str, str], str]:
    """Series of healthy nodes: up, each mountpoint half full, writable, its disk idle."""
    series = {}
    for node in nodes:
        series[(node, "uname")] = f'node_uname_info{{kubernetes_node="{node}"}}'
        for mountpoint, device in DEVICES.items():
            labels = f'kubernetes_node="{node}",mountpoint="{mountpoint}",device="/dev/{device}"'
            series[(node, f"size {mountpoint}")] = f"node_filesystem_size_bytes{{{labels}}}"
            series[(node, f"avail {mountpoint}")] = f"node_filesystem_avail_bytes{{{labels}}}"
            series[(node, f"readonly {mountpoint}")] = f"node_filesystem_readonly{{{labels}}}"
            series[(node, f"io {mountpoint}")] = (
                f'node_disk_io_time_seconds_total{{kubernetes_node="{node}",device="{device}"}}'
            )
    return series


def values_of(key: str, minutes: int) -> str:
    kind = key.split()[0]
    constant = {"uname": "1", "size": "1000", "avail": "500", "readonly": "0", "io": "0"}[kind]
    return f"{constant}+0x{minutes}"


def input_series(
    minutes: int, changes: dict[tuple[str, str], str | None], nodes: tuple[str, ...] = ("n1", "n2")
) -> list[dict[str, str]]:
    """The healthy series with some changed (a values string) or dropped (None)."""
    entries = []
    for key, name in healthy(nodes).items():
        values = changes.get(key, values_of(key[1], minutes))
        if values is not None:
            entries.append({"series": name, "values": values})
    return entries


def expected(rule_name: str, node: str, mountpoint: str | None = None, value: str = "") -> dict[str, Any]:
    rule = next(rule for rule in alert_rules(TWO_NODES, ALERTS) if rule.name == rule_name)
    labels = {"severity": rule.severity, "aistore_release": "demo", "aistore_namespace": "ais", "kubernetes_node": node}
    if mountpoint is not None:
        labels["mountpoint"] = mountpoint
    # A filesystem's series name its device (/dev/sda); a disk's series name the disk (sda).
    if rule_name in FILESYSTEM_ALERTS:
        labels["device"] = f"/dev/{DEVICES[str(mountpoint)]}"
    if rule_name == "AisDiskSaturated":
        labels["device"] = DEVICES[str(mountpoint)]

    def filled(text: str) -> str:
        text = text.replace("{{ $labels.kubernetes_node }}", node).replace("{{ $value | humanize }}", value)
        return text.replace("{{ $labels.mountpoint }}", mountpoint or "")

    return {
        "exp_labels": labels,
        "exp_annotations": {"summary": filled(rule.summary), "description": filled(rule.action)},
    }


def case(minutes: int, series: list[dict[str, str]], firing: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """One promtool test: at ``minutes``, these alerts fire with these labels, every other is silent."""
    return {
        "interval": "1m",
        "input_series": series,
        "alert_rule_test": [
            {"eval_time": f"{minutes}m", "alertname": name, "exp_alerts": firing.get(name, [])} for name in NAMES
        ],
    }


def rule_tests() -> list[dict[str, Any]]:
    busy = int(ALERTS.disk_busy_minutes) + 10
    return [
        # Healthy nodes: nothing fires.
        case(60, input_series(60, {}), {}),
        # n2's node-exporter is gone: n2 is down, and its mountpoints are not called missing.
        case(
            10,
            input_series(10, {}, nodes=("n1",)),
            {"AisTargetNodeDown": [expected("AisTargetNodeDown", "n2")]},
        ),
        # n1's /ais/sda is 90 % full (warning), its /ais/sdb 97 % (warning and critical).
        case(
            10,
            input_series(10, {("n1", "avail /ais/sda"): "100+0x10", ("n1", "avail /ais/sdb"): "30+0x10"}),
            {
                "AisMountpointFullWarning": [
                    expected("AisMountpointFullWarning", "n1", "/ais/sda", "90"),
                    expected("AisMountpointFullWarning", "n1", "/ais/sdb", "97"),
                ],
                "AisMountpointFullCritical": [expected("AisMountpointFullCritical", "n1", "/ais/sdb", "97")],
            },
        ),
        # n1's /ais/sda loses 1 byte a minute from 500 of 1000: empty in well under 24 h.
        case(
            60,
            input_series(60, {("n1", "avail /ais/sda"): "500-1x60"}),
            {"AisMountpointFillsSoon": [expected("AisMountpointFillsSoon", "n1", "/ais/sda")]},
        ),
        # n2's /ais/sdb turned read-only.
        case(
            10,
            input_series(10, {("n2", "readonly /ais/sdb"): "1+0x10"}),
            {"AisMountpointReadOnly": [expected("AisMountpointReadOnly", "n2", "/ais/sdb")]},
        ),
        # n1 is up but nothing is mounted at /ais/sdb any more.
        case(
            10,
            input_series(
                10,
                {("n1", "size /ais/sdb"): None, ("n1", "avail /ais/sdb"): None, ("n1", "readonly /ais/sdb"): None},
            ),
            {"AisMountpointMissing": [expected("AisMountpointMissing", "n1", "/ais/sdb")]},
        ),
        # n1's sda is busy 57 s a minute (95 %) for longer than diskBusyMinutes; its sdb 10 %.
        case(
            busy,
            input_series(busy, {("n1", "io /ais/sda"): f"0+57x{busy}", ("n1", "io /ais/sdb"): f"0+6x{busy}"}),
            {"AisDiskSaturated": [expected("AisDiskSaturated", "n1", "/ais/sda", "95")]},
        ),
    ]


def test_promtool_proves_each_alert_fires_when_it_should_and_only_then(tmp_path: Path) -> None:
    promtool = binaries()["promtool"]
    (tmp_path / "alerting_rules.yml").write_text(yaml.safe_dump(alerting_rules(TWO_NODES, ALERTS)))
    tests = {"rule_files": ["alerting_rules.yml"], "evaluation_interval": "1m", "tests": rule_tests()}
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    result = subprocess.run(
        [promtool, "test", "rules", "tests.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
