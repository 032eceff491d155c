"""The dashboards and alerting rules a worksheet gets: per cluster, provisioned with the Release,
with thresholds from the worksheet. (tests/test_monitoring_prometheus.py and
tests/test_monitoring_graphite.py run them on real servers.)"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.cli import main
from aisinfra.monitoring.alerts import alerting_rules
from aisinfra.monitoring.dashboards import build_dashboard, dashboard_files, dashboard_specs
from aisinfra.monitoring.scope import MAX_UID, ClusterScope, cluster_scope
from aisinfra.review.check import check_rendered_stacks, check_stacks
from aisinfra.review.object_checks import Deployment, deployment_of, deployment_problems
from aisinfra.review.render import monitoring_text
from aisinfra.worksheet.model import Alerts, Worksheet, WorksheetError, parse_worksheet
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

# A second cluster in the same Kubernetes cluster: its own release, namespace and nodes.
OTHER = worksheet(
    releaseName="lab",
    namespace="ais-lab",
    targets={"initialCount": 0, "nodes": ["gpu{1..3}"], "mountpoints": ["/ais/nvme[0-1]"]},
    proxies={"nodes": ["gpu{1..3}"], "initialPrimary": "gpu1"},
    monitoring={
        "enabled": True,
        "graphite": {"node": "gpu1", "path": "/data/graphite", "size": "10Gi"},
        "grafana": {"node": "gpu1", "path": "/data/grafana", "size": "10Gi"},
    },
)


def parsed(config: dict[str, Any]) -> Worksheet:
    return parse_worksheet({key.removeprefix("aisinfra:"): value for key, value in config.items()})


def with_alerts(**alerts: Any) -> dict[str, Any]:
    monitoring = {**WORKSHEET_EXAMPLE["aisinfra:monitoring"], "alerts": alerts}
    return worksheet(monitoring=monitoring)


# -- thresholds ---------------------------------------------------------------------------------


def test_thresholds_default_to_the_documented_values() -> None:
    alerts = parsed(WORKSHEET_EXAMPLE).monitoring.alerts
    assert (alerts.disk_warning_percent, alerts.disk_critical_percent, alerts.fill_within_hours) == (85, 95, 24)


@pytest.mark.parametrize(
    ("alerts", "message"),
    [
        ({"diskWarningPercent": 100}, "monitoring.alerts.diskWarningPercent: must be 99 or less"),
        ({"diskCriticalPercent": 0}, "monitoring.alerts.diskCriticalPercent: must be 1 or more"),
        ({"fillWithinHours": "24"}, "monitoring.alerts.fillWithinHours: must be a whole number"),
        ({"diskBusyMinutes": 2000}, "monitoring.alerts.diskBusyMinutes: must be 1440 or less"),
        (
            {"diskWarningPercent": 95, "diskCriticalPercent": 90},
            "diskWarningPercent (95) must be below diskCriticalPercent (90)",
        ),
        ({"diskWarningPercnt": 80}, "monitoring.alerts.diskWarningPercnt"),
    ],
)
def test_a_threshold_out_of_range_is_refused_naming_its_key(alerts: dict[str, Any], message: str) -> None:
    with pytest.raises(WorksheetError) as error:
        parsed(with_alerts(**alerts))
    assert message in str(error.value)


def test_the_thresholds_reach_the_rules() -> None:
    sheet = parsed(with_alerts(diskWarningPercent=70, diskCriticalPercent=80, fillWithinHours=48, nodeDownMinutes=2))
    rules = {
        rule["alert"]: rule
        for rule in alerting_rules(cluster_scope(sheet), sheet.monitoring.alerts)["groups"][0]["rules"]
    }
    assert rules["AisMountpointFullWarning"]["expr"].endswith(" > 70")
    assert rules["AisMountpointFullCritical"]["expr"].endswith(" > 80")
    assert "48 * 3600" in rules["AisMountpointFillsSoon"]["expr"]
    assert rules["AisTargetNodeDown"]["for"] == "2m"
    assert "monitoring.alerts.diskWarningPercent" in rules["AisMountpointFullWarning"]["annotations"]["description"]


# -- one cluster's names and series -----------------------------------------------------------------


def test_dashboards_are_deterministic_and_name_their_cluster() -> None:
    first, second = dashboard_files(parsed(WORKSHEET_EXAMPLE)), dashboard_files(parsed(WORKSHEET_EXAMPLE))
    assert [file.text for file in first] == [file.text for file in second]
    titles = [json.loads(file.text)["title"] for file in first]
    assert titles == ["AIStore cluster demo in ais", "AIStore target nodes demo in ais"]


def test_a_uid_fits_grafanas_40_characters_whatever_the_names() -> None:
    scope = ClusterScope("r" * 53, "n" * 63, ("node",), ("/ais/sda",))
    assert len(scope.uid("cluster")) <= MAX_UID and len(scope.uid("nodes")) <= MAX_UID
    assert scope.uid("cluster") != scope.uid("nodes")


def test_the_node_dashboard_selects_only_the_worksheets_nodes_and_mountpoints() -> None:
    [_, nodes] = dashboard_specs(parsed(OTHER))
    assert nodes.variables == (
        ("node", 'label_values(node_uname_info{kubernetes_node=~"gpu1|gpu2|gpu3"}, kubernetes_node)', "gpu1|gpu2|gpu3"),
    )
    for panel in nodes.panels:
        for query in panel.queries:
            assert 'kubernetes_node=~"$node"' in query.expr, panel.title
            if "filesystem" in query.expr:
                assert 'mountpoint=~"/ais/nvme0|/ais/nvme1"' in query.expr, panel.title


def test_every_panel_names_the_datasource_the_chart_provisions() -> None:
    for spec in dashboard_specs(parsed(WORKSHEET_EXAMPLE)):
        document = build_dashboard(spec)
        panels = [panel for panel in document["panels"] if panel["type"] != "row"]
        assert {panel["datasource"] for panel in panels} == {spec.datasource}
        assert [panel["id"] for panel in document["panels"]] == list(range(1, len(document["panels"]) + 1))


def test_two_clusters_never_share_a_dashboard_uid_title_configmap_or_rule_group() -> None:
    clusters = [parsed(WORKSHEET_EXAMPLE), parsed(OTHER)]
    files = [file for sheet in clusters for file in dashboard_files(sheet)]
    for key in ("title", "uid"):
        values = [json.loads(file.text)[key] for file in files]
        assert len(set(values)) == len(values), key
    configmaps = [(sheet.namespace, file.configmap_name) for sheet in clusters for file in dashboard_files(sheet)]
    assert len(set(configmaps)) == len(configmaps)
    groups = [alerting_rules(cluster_scope(sheet), sheet.monitoring.alerts)["groups"][0]["name"] for sheet in clusters]
    assert groups == ["aistore-ais-demo", "aistore-ais-lab-lab"]


def test_check_finds_no_clash_between_two_monitored_clusters(make_stack: Any, chart_dir: Path) -> None:
    stacks = [make_stack(WORKSHEET_EXAMPLE, "one"), make_stack(OTHER, "two")]
    assert check_stacks(stacks).problems == []
    assert check_rendered_stacks(stacks, chart_dir).problems == []


# -- monitoring off --------------------------------------------------------------------------------


def test_monitoring_off_provisions_nothing_and_render_out_writes_the_dashboards(
    make_stack: Any, render_stack: Any, tmp_path: Path, capsys: Any
) -> None:
    config = worksheet(monitoring={"enabled": False, "externalGraphite": "graphite.example.com:2003"})
    rendering = render_stack(config)
    assert rendering.of_type("kubernetes:core/v1:ConfigMap") == []
    assert "prometheus" not in rendering.release().inputs["values"]
    assert "none loaded: monitoring is off; `render --out DIR` writes them" in monitoring_text(rendering)
    stack_file = tmp_path / "Pulumi.off.yaml"
    stack_file.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    # Exit 3: the stack's chart is not here, so its objects are not reviewed; the files are written.
    assert main(["--stacks-dir", str(tmp_path), "render", "off", "--out", str(tmp_path / "out")]) == 3
    written = sorted(path.name for path in (tmp_path / "out" / "dashboards").iterdir())
    expected = sorted(file.file_name for file in dashboard_files(parsed(config)))
    assert written == expected
    cluster = json.loads(next((tmp_path / "out" / "dashboards").glob("ais-cluster-*.json")).read_text())
    # One Graphite may hold other clusters' series too: the dashboard says so.
    assert "no per-cluster prefix" in cluster["description"]


# -- provisioned with the Release: the real chart ----------------------------------------------------------


@pytest.fixture(scope="module")
def example(chart_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    from aisinfra.worksheet.stackfile import PROJECT_DIR, read_stack

    return deployment_of(read_stack(PROJECT_DIR / "Pulumi.dev.yaml"), chart_dir)


def chart_object(deployment: Deployment, kind: str, name: str) -> dict[str, Any]:
    return next(
        o.manifest
        for o in deployment.chart_objects()
        if (o.manifest["kind"], o.manifest["metadata"]["name"]) == (kind, name)
    )


def test_grafanas_sidecar_loads_the_dashboard_configmaps_of_the_namespace(example: Deployment) -> None:
    grafana = chart_object(example, "Deployment", "demo-grafana")
    containers = {c["name"]: c for c in grafana["spec"]["template"]["spec"]["containers"]}
    env = {e["name"]: e.get("value") for e in containers["grafana-sc-dashboard"]["env"]}
    assert (env["LABEL"], env["NAMESPACE"]) == ("ais_grafana_dashboard", "ais")
    configmaps = [o.manifest for o in example.program_objects() if o.manifest["kind"] == "ConfigMap"]
    assert [(c["metadata"]["namespace"], c["metadata"]["name"], c["metadata"]["labels"]) for c in configmaps] == [
        ("ais", "demo-dashboard-cluster", {"ais_grafana_dashboard": "1"}),
        ("ais", "demo-dashboard-nodes", {"ais_grafana_dashboard": "1"}),
    ]


def test_prometheus_reads_the_rules_where_the_chart_mounts_them(example: Deployment) -> None:
    config = chart_object(example, "ConfigMap", "demo-prometheus-server")["data"]
    assert "/etc/config/alerting_rules.yml" in yaml.safe_load(config["prometheus.yml"])["rule_files"]
    rules = yaml.safe_load(config["alerting_rules.yml"])
    assert rules == alerting_rules(cluster_scope(example.worksheet), Alerts())
    server = chart_object(example, "Deployment", "demo-prometheus-server")
    mounts = [m for c in server["spec"]["template"]["spec"]["containers"] for m in c.get("volumeMounts", [])]
    assert {"name": "config-volume", "mountPath": "/etc/config"} in mounts


def test_node_exporter_sees_the_hosts_disks_on_this_clusters_nodes_only(example: Deployment) -> None:
    exporter = chart_object(example, "DaemonSet", "demo-prometheus-node-exporter")
    pod = exporter["spec"]["template"]["spec"]
    [container] = pod["containers"]
    assert "--path.rootfs=/host/root" in container["args"]
    assert {
        "name": "root",
        "mountPath": "/host/root",
        "readOnly": True,
        "mountPropagation": "HostToContainer",
    } in container["volumeMounts"]
    assert {"name": "root", "hostPath": {"path": "/"}} in pod["volumes"]
    assert pod["nodeSelector"] == {"aisinfra/cluster": "ais.demo"}


def test_the_object_review_accepts_all_of_it(example: Deployment) -> None:
    assert deployment_problems(example) == []
