"""Every class of worksheet mistake: one message per mistake, naming the key as written,
reported before the program registers anything."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from aisinfra.chart.rules import load_worksheet
from aisinfra.review.render import STACK_REFERENCE, ProgramError, run_program
from aisinfra.worksheet.model import Worksheet, WorksheetError, section_type
from aisinfra.worksheet.stackfile import project_defaults, read_stack
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

TARGETS = WORKSHEET_EXAMPLE["aisinfra:targets"]
PROXIES = WORKSHEET_EXAMPLE["aisinfra:proxies"]
GRAPHITE = {"node": "cpu01", "path": "/data/graphite", "size": "250Gi"}
GRAFANA = {"node": "cpu01", "path": "/data/grafana", "size": "50Gi"}

BAD_WORKSHEETS: list[tuple[str, dict[str, Any], list[str]]] = [
    (
        "unknown nested key (typo)",
        worksheet(targets={**TARGETS, "mountPoints": ["/x"]}),
        ["targets.mountPoints: unknown key (did you mean 'mountpoints'?)"],
    ),
    ("unknown top-level key", {**worksheet(), "aisinfra:relaseName": "x"}, ["relaseName: unknown key"]),
    ("missing required key", worksheet(namespace=None), ["namespace: required, but not set"]),
    ("bad release name", worksheet(releaseName="Demo_1"), ["releaseName: 'Demo_1' is not a DNS label"]),
    (
        "release name too long for the target StatefulSet's pods",
        worksheet(releaseName="r" * 50),
        [f"releaseName: '{'r' * 50}' makes the target StatefulSet '{'r' * 50}-ais-target' (61 characters)"],
    ),
    ("bad namespace", worksheet(namespace="ais.prod"), ["namespace: 'ais.prod' is not a DNS label"]),
    (
        "a namespace Kubernetes uses itself",
        worksheet(namespace="kube-system"),
        ["namespace: 'kube-system' is a namespace Kubernetes uses itself"],
    ),
    (
        "an existing claim in a namespace the program would create",
        worksheet(monitoring={"graphite": GRAPHITE, "grafana": {"existingClaim": "site-grafana"}}),
        ["monitoring.grafana.existingClaim: a claim lives in the cluster's namespace, so that namespace must exist"],
    ),
    (
        "a secret the program would pass on in plain text",
        worksheet(chart={"path": "./charts", "values": {"admin": {"token": {"secure": "v1:abc"}}}}),
        ["chart: is stored as a secret, but only grafanaAdminPassword is handled as one"],
    ),
    (
        "two mountpoints that make one volume name",
        worksheet(targets={**TARGETS, "mountpoints": ["/ais/sd-a", "/ais-sd/a"]}),
        ["targets.mountpoints[1]: '/ais-sd/a' and '/ais/sd-a' (targets.mountpoints[0]) both make the chart's volume"],
    ),
    (
        "a preflight image by digest",
        worksheet(preflight={"image": "busybox@sha256:" + "0" * 64}),
        ["preflight.image: 'busybox@sha256:" + "0" * 64 + "': the chart renders images as repository:tag"],
    ),
    (
        "a misspelled preflight switch",
        worksheet(preflight={"enable": False}),
        ["preflight.enable: unknown key (did you mean 'enabled'?)"],
    ),
    (
        "a mountpoint holding the state path",
        worksheet(statePath="/ais/sda/state"),
        ["targets.mountpoints: '/ais/sda' and statePath '/ais/sda/state' lie one inside the other"],
    ),
    (
        "a chart version that is a range",
        worksheet(chart={"repo": "https://charts.example.com", "name": "ais", "version": ">=0.1"}),
        ["chart.version: '>=0.1' is not a pinned chart version"],
    ),
    ("a count that is no number", worksheet(targets={**TARGETS, "initialCount": True}), ["targets.initialCount:"]),
    (
        "an image repository in capitals",
        worksheet(images={"aisnode": "Registry.example.com/AIS/aisnode:1"}),
        ["images.aisnode: 'Registry.example.com/AIS/aisnode:1': image repository paths are lowercase"],
    ),
    (
        "an image repository in capitals without a registry",
        worksheet(images={"initContainer": "AIStore/ais-init:1"}),
        ["images.initContainer: 'AIStore/ais-init:1': image repository paths are lowercase"],
    ),
    (
        "bad node name",
        worksheet(targets={**TARGETS, "nodes": ["cpu01", "CPU_02"]}),
        ["targets.nodes[1]: 'CPU_02' is not a valid node name"],
    ),
    (
        "bad node name inside a pattern",
        worksheet(proxies={**PROXIES, "nodes": ["cpu{01..02}", "gpu_{1..2}"]}),
        ["proxies.nodes[1]: the node name 'gpu_1' from pattern 'gpu_{1..2}'"],
    ),
    (
        "unbalanced pattern",
        worksheet(targets={**TARGETS, "nodes": ["cpu{01..12"]}),
        ["targets.nodes[0]: bad pattern 'cpu{01..12': '{' at position 4 is never closed by '}'"],
    ),
    (
        "duplicate after expansion",
        worksheet(targets={**TARGETS, "nodes": ["cpu{01..12}", "cpu07"]}),
        ["targets.nodes[1]: 'cpu07' is already listed at targets.nodes[0]"],
    ),
    (
        "primary that is not a proxy",
        worksheet(proxies={**PROXIES, "initialPrimary": "cpu13"}),
        ["proxies.initialPrimary: 'cpu13' is not one of proxies.nodes"],
    ),
    (
        "count larger than the node list",
        worksheet(targets={**TARGETS, "initialCount": 13}),
        ["targets.initialCount: 13 is more than the 12 target nodes"],
    ),
    (
        "negative count",
        worksheet(targets={**TARGETS, "initialCount": -1}),
        ["targets.initialCount: must be 0 or more, not the number -1"],
    ),
    (
        "relative mountpoint",
        worksheet(targets={**TARGETS, "mountpoints": ["/ais/sda", "ais/sdb"]}),
        ["targets.mountpoints[1]: 'ais/sdb' is not an absolute path"],
    ),
    (
        "mountpoint not normalized",
        worksheet(targets={**TARGETS, "mountpoints": ["/ais//sda/"]}),
        ["targets.mountpoints[0]: '/ais//sda/' is not a normalized path below '/'; write '/ais/sda'"],
    ),
    (
        "mountpoint the chart cannot name a volume after",
        worksheet(targets={**TARGETS, "mountpoints": ["/mnt/disk_{1..2}"]}),
        [
            "targets.mountpoints[0]: the mountpoint '/mnt/disk_1' from pattern '/mnt/disk_{1..2}': "
            "'/mnt/disk_1' would make the chart's volume name 'fspath-mnt-disk_1', which Kubernetes refuses"
        ],
    ),
    (
        "nested mountpoint",
        worksheet(targets={**TARGETS, "mountpoints": ["/ais/sd[a-b]", "/ais/sda/cache"]}),
        ["targets.mountpoints[1]: '/ais/sda/cache' is inside '/ais/sda' (targets.mountpoints[0])"],
    ),
    (
        "repeated mountpoint",
        worksheet(targets={**TARGETS, "mountpoints": ["/ais/sd[a-c]", "/ais/sdb"]}),
        ["targets.mountpoints[1]: '/ais/sdb' is already listed at targets.mountpoints[0]"],
    ),
    (
        "monitoring storage that is neither a claim nor node+path+size",
        worksheet(monitoring={"graphite": {"node": "cpu01", "path": "/data/graphite"}, "grafana": GRAFANA}),
        ["monitoring.graphite: give either existingClaim (a claim in the cluster's namespace) or node + path + size"],
    ),
    (
        "monitoring storage given both ways",
        worksheet(monitoring={"graphite": {**GRAPHITE, "existingClaim": "mine"}, "grafana": GRAFANA}),
        ["monitoring.graphite: give either existingClaim or node + path + size, not both"],
    ),
    (
        "monitoring storage missing",
        worksheet(monitoring={"graphite": GRAPHITE}),
        ["monitoring.grafana: required while monitoring.enabled is true"],
    ),
    (
        "size that is not a quantity",
        worksheet(monitoring={"graphite": {**GRAPHITE, "size": "250GB"}, "grafana": GRAFANA}),
        ["monitoring.graphite.size: '250GB' is not a Kubernetes quantity such as 250Gi; did you mean '250Gi'?"],
    ),
    (
        "chart given two ways",
        worksheet(chart={"path": "./charts", "repo": "https://charts.example.com", "name": "ais", "version": "0.1.0"}),
        ["chart: give the chart either as path or as repo + name + version, not both"],
    ),
    (
        "chart without a version",
        worksheet(chart={"repo": "https://charts.example.com", "name": "ais"}),
        ["chart: give the chart as path (a local checkout of ais-k8s helm/ais/charts) or as repo + name + a pinned"],
    ),
    (
        "chart.values overriding a worksheet value",
        worksheet(chart={"path": "./charts", "values": {"aiscluster": {"expected_proxy_nodes": 3}}}),
        ["chart.values.aiscluster.expected_proxy_nodes: is set from the worksheet"],
    ),
    (
        "image with a digest",
        worksheet(images={"aisnode": "aistore/aisnode@sha256:" + "0" * 64}),
        ["images.aisnode: 'aistore/aisnode@sha256:"],
    ),
    (
        "monitoring off without a Graphite for stats",
        worksheet(monitoring={"enabled": False}),
        ["monitoring.externalGraphite: required while monitoring.enabled is false"],
    ),
    (
        "prometheus off while the chart would install it",
        worksheet(monitoring={"prometheus": False, "graphite": GRAPHITE, "grafana": GRAFANA}),
        ["monitoring.prometheus: the chart installs Prometheus whenever monitoring.enabled is true"],
    ),
]


@pytest.mark.parametrize(
    ("config", "expected"), [case[1:] for case in BAD_WORKSHEETS], ids=[c[0] for c in BAD_WORKSHEETS]
)
def test_each_mistake_is_reported_under_its_key_before_anything_is_registered(
    make_stack: Any, config: dict[str, Any], expected: list[str]
) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(config))
    problems = [line.removeprefix("  - ") for line in str(failure.value).splitlines()[1:] if line.startswith("  - ")]
    assert len(problems) == len(expected), problems
    for problem, start in zip(problems, expected, strict=True):
        assert problem.startswith(start), problem
    # Only the read of the stack's own outputs (the deployed state) happened; nothing touched the cluster.
    assert [resource.type for resource in failure.value.registered] == [STACK_REFERENCE]


def test_all_mistakes_are_reported_together(make_stack: Any) -> None:
    config = worksheet(
        releaseName="Bad_Name",
        targets={**TARGETS, "mountPoints": [], "nodes": ["cpu{1..2"]},
        monitoring={"graphite": {**GRAPHITE, "size": "1TB"}, "grafana": GRAFANA},
    )
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(config))
    message = str(failure.value)
    assert message.startswith("the worksheet (stack config) has 4 problems:")
    for key in ("releaseName:", "targets.nodes[0]:", "targets.mountPoints:", "monitoring.graphite.size:"):
        assert f"  - {key}" in message


def test_plaintext_grafana_password_is_refused(make_stack: Any) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(worksheet(grafanaAdminPassword="hunter2")))
    assert "grafanaAdminPassword: is stored in plain text" in str(failure.value)
    assert "pulumi config set --secret grafanaAdminPassword" in str(failure.value)
    assert "hunter2" not in str(failure.value)
    # Only the read of the stack's own outputs (the deployed state) happened; nothing touched the cluster.
    assert [resource.type for resource in failure.value.registered] == [STACK_REFERENCE]


def test_field_mistakes_and_rules_across_keys_are_reported_in_one_run(make_stack: Any) -> None:
    config = worksheet(
        targets={**TARGETS, "initialCount": 13, "mountpoints": ["ais/sda"]},
        proxies={**PROXIES, "initialPrimary": "gpu01"},
        monitoring={"graphite": GRAPHITE, "grafana": {"existingClaim": "site-grafana"}},
        images={"aisnode": "aistore/aisnode"},
    )
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(config))
    lines = str(failure.value).splitlines()
    assert lines[0] == "the worksheet (stack config) has 5 problems:"
    assert [line.split(":")[0] for line in lines[1:6]] == [
        "  - images.aisnode",
        "  - targets.mountpoints[0]",
        "  - targets.initialCount",
        "  - proxies.initialPrimary",
        "  - monitoring.grafana.existingClaim",
    ]
    # The rules that use the broken mountpoints wait for them, and say so.
    assert lines[6:] == [
        "  (checked once the problems above are fixed: the rules that compare targets.mountpoints with other keys)"
    ]
    assert [resource.type for resource in failure.value.registered] == [STACK_REFERENCE]


def test_a_rule_across_keys_waits_only_for_the_keys_it_uses(make_stack: Any) -> None:
    # The count cannot be compared with a node list that does not expand; the nested
    # mountpoints are found all the same.
    config = worksheet(targets={**TARGETS, "initialCount": 13, "nodes": ["cpu{01..12"], "mountpoints": ["/a", "/a/b"]})
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(config))
    message = str(failure.value)
    assert "  - targets.nodes[0]: bad pattern" in message
    assert "  - targets.mountpoints[1]: '/a/b' is inside '/a'" in message
    assert "targets.initialCount:" not in message
    assert "the rules that compare targets.nodes with other keys" in message


PYDANTIC_WORDING = ("Input should", "Field required", "valid dictionary", "instance of", "Value error", "Extra inputs")
WRONG_VALUES: list[Any] = [None, 7, -3, 2.5, True, "text", "", [], [7], ["x", None], {}, {"x": 1}]


def every_key(section: Any, prefix: str = "") -> list[str]:
    """Every key of the worksheet model, nested ones as ``targets.nodes``."""
    keys = []
    for info in section.model_fields.values():
        key = f"{prefix}{info.alias}"
        keys.append(key)
        inner = section_type(info.annotation)
        if inner is not None:
            keys += every_key(inner, f"{key}.")
    return keys


def with_value(key: str, value: Any) -> dict[str, Any]:
    config = {name.removeprefix("aisinfra:"): copy.deepcopy(item) for name, item in WORKSHEET_EXAMPLE.items()}
    *path, last = key.split(".")
    target = config
    for part in path:
        target = target.setdefault(part, {}) if isinstance(target.get(part, {}), dict) else {}
    target[last] = value
    return config


@pytest.mark.parametrize("key", every_key(Worksheet))
def test_no_wrong_value_gets_pydantic_wording(key: str) -> None:
    for value in WRONG_VALUES:
        try:
            load_worksheet(with_value(key, value))
        except WorksheetError as error:
            message = str(error)
            assert not any(phrase in message for phrase in PYDANTIC_WORDING), (key, value, message)
            # Every error type these values produce has a plain message of its own.
            assert "is not a value this key takes" not in message, (key, value, message)


def test_pulumi_yaml_declares_the_models_own_defaults() -> None:
    """The CLI fills in Pulumi.yaml's defaults; the program fills in the model's. They must agree."""
    model_defaults = {str(field.alias): field.default for field in Worksheet.model_fields.values()}
    declared = {key.removeprefix("aisinfra:"): value for key, value in project_defaults().items()}
    assert declared == {"statePath": "/etc/ais", "protect": True, "kubernetesVersion": "1.30"}
    assert {key: model_defaults[key] for key in declared} == declared


def test_the_models_own_defaults_without_pulumi_yaml() -> None:
    """Only what the worksheet requires is given: everything else is the model's default."""
    required = {key.removeprefix("aisinfra:"): value for key, value in worksheet(monitoring=None).items()}
    required["monitoring"] = {"graphite": GRAPHITE, "grafana": GRAFANA}
    required["targets"] = {"nodes": TARGETS["nodes"], "mountpoints": TARGETS["mountpoints"]}
    required["proxies"] = {"nodes": PROXIES["nodes"]}
    loaded = load_worksheet(
        {key: value if isinstance(value, str) else json.dumps(value) for key, value in required.items()}
    )
    assert (loaded.protect, loaded.state_path, loaded.existing_namespace) == (True, "/etc/ais", False)
    assert (loaded.images.init_container, loaded.images.aisnode) == ("aistore/ais-init:latest", "aistore/aisnode:3.4")
    assert (loaded.chart.dependency_update, loaded.chart.timeout_seconds, loaded.chart.values) == (False, 1800, {})
    assert (loaded.targets.initial_count, loaded.expected_targets) == (0, 12)
    assert (loaded.targets.decommissioned, loaded.targets.scale_in_to, loaded.targets.removed_mountpoints) == (
        [],
        None,
        [],
    )
    assert (loaded.proxies.initial_primary, loaded.initial_primary, loaded.proxies.initial_primary_label) == (
        None,
        "cpu01",
        True,
    )
    assert (loaded.monitoring.enabled, loaded.monitoring.prometheus, loaded.prometheus_enabled) == (True, None, True)
    assert loaded.monitoring.external_graphite is None
    assert loaded.grafana_admin_password is None
    assert loaded.identity_change.model_dump(by_alias=True) == {
        "releaseName": None,
        "namespace": None,
        "statePath": None,
        "chart": None,
        "graphite": None,
        "grafana": None,
    }


def test_kubernetes_version_is_a_minor_version(tmp_path: Path) -> None:
    def load(version: str) -> Worksheet:
        config = {key.removeprefix("aisinfra:"): value for key, value in worksheet(kubernetesVersion=version).items()}
        return load_worksheet(config)

    assert load("1.29").kubernetes_version == "1.29"
    with pytest.raises(WorksheetError) as error:
        load("1.3")
    assert [str(problem) for problem in error.value.problems] == [
        "kubernetesVersion: '1.3' is not a Kubernetes minor version such as \"1.30\": 1. and the minor number, "
        "as `kubectl version` shows it"
    ]
    # The Pulumi CLI hands a top-level value over as written: an unquoted 1.30 stays 1.30.
    path = tmp_path / "Pulumi.k8s.yaml"
    path.write_text("config:\n  aisinfra:kubernetesVersion: 1.30\n")
    assert read_stack(path).values["aisinfra:kubernetesVersion"] == "1.30"
