"""``render STACK --diff OTHER`` with the real chart: after the resource-level diff, what the two
Releases install differently, object by object -- rendered by Helm's engine from the chart read in
place, through the Release's post-renderer. The expected lines are written from the chart's
templates (target-ss.yaml, proxy-ss.yaml, _statsd.json) and its inventory with monitoring on
(../shared/reference/ais-chart/inventory-demo-monitoring-on.txt), less what the post-renderer drops
(PodSecurityPolicies and the roles that only use them) and renames (cluster-scoped names)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra import cli as cli_module
from aisinfra.cli import main
from aisinfra.review import chart_render, render
from tests.conftest import worksheet

TARGET = "StatefulSet ais/demo-ais-target"
HEADING = "Objects the Release installs (chart rendered, post-rendered), {other} -> {stack}:"
# A password of its own keeps Grafana off the chart's random one, which differs in every render.
PASSWORD = {"secure": "v1:abc:def"}


def cli(directory: Path, *arguments: str) -> int:
    return main(["--stacks-dir", str(directory), *arguments])


def write(directory: Path, name: str, config: dict[str, Any]) -> None:
    (directory / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


def object_section(output: str, other: str, stack: str) -> list[str]:
    """The lines from the object-level diff's heading on."""
    lines = output.splitlines()
    heading = HEADING.format(other=other, stack=stack)
    start = next(index for index, line in enumerate(lines) if line.startswith(heading))
    return lines[start:]


@pytest.fixture
def calls(monkeypatch: Any) -> dict[str, int]:
    """How often the costly steps of a diff run: the program, Helm's engine, reading a render's resources."""
    counted: dict[str, int] = {}
    for module, name in ((render, "run_program"), (chart_render, "render_release"), (cli_module, "_render_output")):
        function = getattr(module, name)

        def count(*args: Any, _name: str = name, _function: Any = function, **kwargs: Any) -> Any:
            counted[_name] = counted.get(_name, 0) + 1
            return _function(*args, **kwargs)

        monkeypatch.setattr(module, name, count)
    return counted


@pytest.fixture
def stacks(tmp_path: Path, chart_dir: Path) -> Path:
    twelve = worksheet(chart={"path": str(chart_dir)}, grafanaAdminPassword=PASSWORD)
    thirteen = copy.deepcopy(twelve)
    thirteen["aisinfra:targets"]["nodes"] = ["cpu{01..13}"]
    off = worksheet(
        chart={"path": str(chart_dir)}, monitoring={"enabled": False, "externalGraphite": "graphite.example.com:2003"}
    )
    elsewhere = worksheet(chart={"path": "../no-such-chart"}, grafanaAdminPassword=PASSWORD)
    new_aisnode = worksheet(
        chart={"path": str(chart_dir)}, grafanaAdminPassword=PASSWORD, images={"aisnode": "aistore/aisnode:3.5"}
    )
    grafana_memory = {"grafana": {"resources": {"limits": {"memory": "1Gi"}}}}
    grafana_value = worksheet(chart={"path": str(chart_dir), "values": grafana_memory}, grafanaAdminPassword=PASSWORD)
    directory = tmp_path / "stacks"
    directory.mkdir()
    for name, config in (
        ("twelve", twelve),
        ("thirteen", thirteen),
        ("off", off),
        ("elsewhere", elsewhere),
        ("new-aisnode", new_aisnode),
        ("grafana-value", grafana_value),
    ):
        write(directory, name, config)
    return directory


ONE_MORE_TARGET = [
    HEADING.format(other="twelve", stack="thirteen"),
    # 52 objects: the 53 of the chart with monitoring on, less the chart's own Grafana Secret.
    "rendered objects: 0 added, 0 removed, 2 changed, 50 unchanged",
    "~ StatefulSet ais/demo-ais-proxy",
    # The proxies learn the target count from their environment: a new target restarts them all.
    "    ~ restarts 12 proxy pods, one at a time",
    '    spec.template.spec.containers[ais].env[TARGETS].value: "12" -> "13"',
    "~ StatefulSet ais/demo-ais-target",
    "    ~ adds 1 target pod",
    "    spec.replicas: 12 -> 13",
]


def test_one_more_target_node_shows_the_replicas_and_the_proxies_target_count(
    stacks: Path, capsys: Any, calls: dict[str, int]
) -> None:
    assert cli(stacks, "render", "thirteen", "--diff", "twelve") == 0
    output = capsys.readouterr().out
    assert "~ kubernetes:helm.sh/v3:Release  aistore-release" in output  # the resource-level diff comes first
    assert object_section(output, "twelve", "thirteen") == ONE_MORE_TARGET
    assert calls == {"run_program": 2, "render_release": 2}  # each side once


def test_a_directory_written_by_render_out_is_compared_the_same_way(
    stacks: Path, capsys: Any, calls: dict[str, int]
) -> None:
    out = stacks.parent / "out-twelve"
    assert cli(stacks, "render", "twelve", "--out", str(out)) == 0
    capsys.readouterr()
    calls.clear()
    assert cli(stacks, "render", "thirteen", "--diff", str(out)) == 0
    expected = [line.replace("twelve", str(out), 1) if line.startswith("Objects") else line for line in ONE_MORE_TARGET]
    assert object_section(capsys.readouterr().out, str(out), "thirteen") == expected
    # The directory is read, once, never rendered again; this stack runs and renders once.
    assert calls == {"_render_output": 1, "run_program": 1, "render_release": 1}


def test_monitoring_off_removes_the_monitoring_objects_and_points_statsd_at_the_external_graphite(
    stacks: Path, capsys: Any
) -> None:
    assert cli(stacks, "render", "off", "--diff", "twelve") == 0
    prometheus = ["kube-state-metrics", "prometheus-alertmanager", "prometheus-pushgateway", "prometheus-server"]
    assert object_section(capsys.readouterr().out, "twelve", "off") == [
        HEADING.format(other="twelve", stack="off"),
        "rendered objects: 0 added, 39 removed, 1 changed, 12 unchanged",
        "- ClusterRole ais.demo.demo-grafana-clusterrole, "
        + ", ".join(f"ais.demo.demo-{name}" for name in prometheus)
        + " (5 objects)",
        "- ClusterRoleBinding ais.demo.demo-grafana-clusterrolebinding, "
        + ", ".join(f"ais.demo.demo-{name}" for name in prometheus)
        + " (5 objects)",
        "- ConfigMap ais/ais-grafana-graphite-datasource, ais/ais-grafana-prometheus-datasource, ais/demo-grafana, "
        "ais/demo-grafana-test, ais/demo-graphite-configmap, ais/demo-graphite-statsd-configmap, "
        "ais/demo-prometheus-alertmanager, ais/demo-prometheus-server (8 objects)",
        "~ ConfigMap ais/ais-statsd",
        '    data["statsd.json"]: text, 1 lines added, 1 removed',
        '      -\tgraphiteHost: "demo-graphite",',
        '      +\tgraphiteHost: "graphite.example.com",',
        "- DaemonSet ais/demo-prometheus-node-exporter",
        "- Deployment ais/demo-grafana, " + ", ".join(f"ais/demo-{name}" for name in prometheus) + " (5 objects)",
        "- Service ais/demo-grafana, ais/demo-graphite, ais/demo-kube-state-metrics, ais/demo-prometheus-alertmanager, "
        "ais/demo-prometheus-node-exporter, ais/demo-prometheus-pushgateway, ais/demo-prometheus-server (7 objects)",
        "- ServiceAccount ais/demo-grafana, ais/demo-grafana-test, ais/demo-kube-state-metrics, "
        "ais/demo-prometheus-alertmanager, ais/demo-prometheus-node-exporter, ais/demo-prometheus-pushgateway, "
        "ais/demo-prometheus-server (7 objects)",
        "- StatefulSet ais/demo-graphite",
    ]


def test_without_a_chart_on_one_side_it_says_why_and_still_shows_the_resource_diff(stacks: Path, capsys: Any) -> None:
    assert cli(stacks, "render", "elsewhere", "--diff", "twelve") == 0
    output = capsys.readouterr()
    assert "~ kubernetes:helm.sh/v3:Release  aistore-release" in output.out
    assert "Objects the Release installs" not in output.out
    (line,) = object_section(output.err, "twelve", "elsewhere")
    heading = HEADING.format(other="twelve", stack="elsewhere")
    assert line.startswith(f"{heading} not compared: chart.path '../no-such-chart': no chart at ")


def test_a_directory_written_without_the_chart_is_not_compared(stacks: Path, capsys: Any) -> None:
    out = stacks.parent / "out-elsewhere"
    assert cli(stacks, "render", "elsewhere", "--out", str(out)) == 3  # no chart: not reviewed
    capsys.readouterr()
    assert cli(stacks, "render", "elsewhere", "--diff", str(out)) == 0
    (line,) = object_section(capsys.readouterr().err, str(out), "elsewhere")
    assert line.startswith(
        f"{HEADING.format(other=out, stack='elsewhere')} not compared: {out} has no release-objects.yaml "
        "(it was written without the chart); chart.path '../no-such-chart': no chart at "
    )


# -- what each change does -------------------------------------------------------------------------


def test_a_new_aisnode_image_restarts_every_target_and_proxy_pod(stacks: Path, capsys: Any) -> None:
    assert cli(stacks, "render", "new-aisnode", "--diff", "twelve") == 0
    image = '    spec.template.spec.containers[ais].image: "aistore/aisnode:3.4" -> "aistore/aisnode:3.5"'
    assert object_section(capsys.readouterr().out, "twelve", "new-aisnode") == [
        HEADING.format(other="twelve", stack="new-aisnode"),
        "rendered objects: 0 added, 0 removed, 2 changed, 50 unchanged",
        "~ StatefulSet ais/demo-ais-proxy",
        "    ~ restarts 12 proxy pods, one at a time",
        image,
        "~ StatefulSet ais/demo-ais-target",
        "    ~ restarts 12 target pods, one at a time",
        image,
    ]


def test_a_monitoring_value_restarts_no_aistore_pod(stacks: Path, capsys: Any) -> None:
    assert cli(stacks, "render", "grafana-value", "--diff", "twelve") == 0
    assert object_section(capsys.readouterr().out, "twelve", "grafana-value") == [
        HEADING.format(other="twelve", stack="grafana-value"),
        "rendered objects: 0 added, 0 removed, 1 changed, 51 unchanged",
        "~ Deployment ais/demo-grafana",
        "    ~ restarts 1 demo-grafana pod, rolling",
        '    spec.template.spec.containers[grafana].resources.limits: (absent) -> {"memory": "1Gi"}',
    ]


def claim_templates(manifest: dict[str, Any]) -> None:
    manifest["spec"]["volumeClaimTemplates"] = [
        {
            "metadata": {"name": "cache"},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        }
    ]


def selector(manifest: dict[str, Any]) -> None:
    manifest["spec"]["selector"]["matchLabels"]["component"] = "storage"


@pytest.mark.parametrize(
    ("edit", "field"), [(selector, "spec.selector"), (claim_templates, "spec.volumeClaimTemplates")]
)
def test_a_changed_target_selector_or_claim_templates_is_refused_and_fails_the_diff(
    stacks: Path, capsys: Any, edit: Any, field: str
) -> None:
    """The deployed objects as an earlier `render --out` wrote them, then edited as a chart edit or
    a post-renderer would have made them: upgrading to this stack's rendering changes the field."""
    out = stacks.parent / "out-edited"
    assert cli(stacks, "render", "twelve", "--out", str(out)) == 0
    objects = list(yaml.safe_load_all((out / "release-objects.yaml").read_text()))
    target = next(o for o in objects if (o["kind"], o["metadata"]["name"]) == ("StatefulSet", "demo-ais-target"))
    edit(target)
    (out / "release-objects.yaml").write_text(yaml.safe_dump_all(objects))
    capsys.readouterr()
    assert cli(stacks, "render", "twelve", "--diff", str(out)) == 1
    output = capsys.readouterr()
    section = object_section(output.out, str(out), "twelve")
    assert section[1:3] == ["rendered objects: 0 added, 0 removed, 1 changed, 51 unchanged", f"~ {TARGET}"]
    assert section[3].startswith(
        f"    ! refused by the API server: {TARGET} {field} is immutable -- keep it as it was, "
    )
    assert output.err == (
        "error: the API server would refuse 1 object(s) of the Release's upgrade ('! refused' above), failing "
        "`pulumi up`\n"
    )
