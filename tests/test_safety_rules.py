"""The refusals of unsafe changes as pure functions: a deployed state, a worksheet, the
problems. The whole program's side (refusing before anything is registered, what reaches
the Release once acknowledged) is in test_safety.py."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from aisinfra.chart.rules import load_worksheet
from aisinfra.program.safety import (
    DeployedOutputError,
    DeployedState,
    UnsafeChangeError,
    forced_patch_problems,
    leaving_nodes,
    monitoring_storage,
    respelled_chart,
    unsafe_changes,
)
from aisinfra.worksheet.model import IdentityChange, Worksheet
from aisinfra.worksheet.stackfile import stack_from_document
from tests.conftest import WORKSHEET_EXAMPLE, worksheet
from tests.refusals import (
    identity_change,
    lowered_count,
    no_proxy_left,
    removed_mountpoint,
    removed_target,
)

TARGETS = WORKSHEET_EXAMPLE["aisinfra:targets"]
CPUS = tuple(f"cpu{number:02d}" for number in range(1, 13))
MOUNTPOINTS = tuple(f"/ais/sd{letter}" for letter in "abcdefghij")
DEPLOYED = DeployedState(
    release_name="demo",
    namespace="ais",
    state_path="/etc/ais",
    chart_source="path ../ais-k8s/helm/ais/charts",
    target_nodes=CPUS,
    target_count=12,
    mountpoints=MOUNTPOINTS,
    proxy_nodes=CPUS,
)
# What `pulumi up` of the worksheet example exports, as a StackReference hands it back
# (numbers come through the engine as floats).
OUTPUTS: dict[str, Any] = {
    "releaseName": "demo",
    "namespace": "ais",
    "statePath": "/etc/ais",
    "chartSource": "path ../ais-k8s/helm/ais/charts",
    "targetNodes": list(CPUS),
    "targetCount": 12.0,
    "mountpoints": list(MOUNTPOINTS),
    "proxyNodes": list(CPUS),
    "fullname": "demo-ais",
}


def load(config: dict[str, Any]) -> Worksheet:
    """A stack file's config as the program reads it (Pulumi.yaml's defaults merged)."""
    stack = stack_from_document({"config": config}, Path("Pulumi.test.yaml"))
    return load_worksheet(stack.project_values(), stack.project_secret_keys())


def targets(**changes: Any) -> Worksheet:
    return load(worksheet(targets={**TARGETS, **changes}))


def test_the_deployed_state_is_read_from_the_stack_outputs() -> None:
    state = DeployedState.from_outputs(OUTPUTS)
    assert replace(state, outputs={}) == DEPLOYED
    assert type(state.target_count) is int
    assert state.outputs == OUTPUTS
    storage = {"graphite": "cpu01:/data/graphite:250Gi", "grafana": "claim:grafana-data"}
    assert DeployedState.from_outputs({"monitoringStorage": storage}).monitoring_storage == storage


def test_a_stack_never_deployed_has_no_deployed_state() -> None:
    assert DeployedState.from_outputs({}) == DeployedState(
        release_name=None,
        namespace=None,
        state_path=None,
        chart_source=None,
        target_nodes=(),
        target_count=None,
        mountpoints=(),
        proxy_nodes=(),
        monitoring_storage=None,
        outputs={},
    )
    empty_lists = {"targetNodes": None, "mountpoints": None, "proxyNodes": None, "targetCount": None}
    assert replace(DeployedState.from_outputs(empty_lists), outputs={}) == DeployedState()
    # A count of zero is a count, not a missing output.
    assert DeployedState.from_outputs({"targetCount": 0}).target_count == 0


def test_nothing_is_refused_for_a_stack_never_deployed() -> None:
    shrunk = load(
        worksheet(
            releaseName="other",
            namespace="lab",
            statePath="/var/ais",
            targets={"initialCount": 1, "nodes": ["gpu01"], "mountpoints": ["/data/a"]},
            proxies={"nodes": ["gpu01"]},
        )
    )
    assert unsafe_changes(DeployedState(), shrunk) == []


def test_the_deployed_worksheet_itself_is_safe() -> None:
    assert unsafe_changes(DEPLOYED, load(WORKSHEET_EXAMPLE)) == []


def test_growing_is_safe() -> None:
    grown = load(
        worksheet(
            targets={**TARGETS, "nodes": ["cpu{01..14}"], "mountpoints": ["/ais/sd[a-k]"]},
            proxies={"nodes": ["cpu{01..14}"]},
        )
    )
    assert unsafe_changes(DEPLOYED, grown) == []


def test_every_removed_target_is_named_unless_acknowledged() -> None:
    shrunk = targets(nodes=["cpu{01..09}"], initialCount=9)
    assert unsafe_changes(DEPLOYED, shrunk) == [
        removed_target("cpu10"),
        removed_target("cpu11"),
        removed_target("cpu12"),
        lowered_count(12, 9, "demo-ais-target-11, demo-ais-target-10, demo-ais-target-9"),
    ]
    partly = targets(nodes=["cpu{01..09}"], decommissioned=["cpu10", "cpu12"], scaleInTo=9)
    assert unsafe_changes(DEPLOYED, partly) == [removed_target("cpu11")]
    acknowledged = targets(nodes=["cpu{01..09}"], decommissioned=["cpu10", "cpu11", "cpu12"], scaleInTo=9)
    assert unsafe_changes(DEPLOYED, acknowledged) == []


def test_a_removed_target_is_refused_even_when_the_count_stays() -> None:
    swapped = targets(nodes=["gpu01", "cpu{02..12}"])
    assert unsafe_changes(DEPLOYED, swapped) == [removed_target("cpu01")]


@pytest.mark.parametrize(
    ("deployed_count", "initial_count", "expected"),
    [
        (None, 3, []),  # deployed by a version that did not export the count
        (12, 12, []),
        (11, 12, []),
        (12, 11, [lowered_count(12, 11, "demo-ais-target-11")]),
        (3, 1, [lowered_count(3, 1, "demo-ais-target-2, demo-ais-target-1")]),
    ],
)
def test_a_lower_count_is_refused_naming_the_pods_that_go(
    deployed_count: int | None, initial_count: int, expected: list[str]
) -> None:
    deployed = DeployedState(target_nodes=CPUS, target_count=deployed_count)
    assert unsafe_changes(deployed, targets(initialCount=initial_count)) == expected


def test_a_lower_count_goes_through_when_scale_in_to_names_it() -> None:
    assert unsafe_changes(DEPLOYED, targets(initialCount=10, scaleInTo=10)) == []


def test_the_pods_and_namespace_follow_the_release() -> None:
    deployed = DeployedState(target_nodes=CPUS, target_count=12)
    prod = load(worksheet(releaseName="prod-aistore", namespace="prod", targets={**TARGETS, "initialCount": 11}))
    assert unsafe_changes(deployed, prod) == [lowered_count(12, 11, "prod-aistore-target-11", namespace="prod")]


def test_every_removed_mountpoint_is_named_unless_acknowledged() -> None:
    assert unsafe_changes(DEPLOYED, targets(mountpoints=["/ais/sd[a-h]"])) == [
        removed_mountpoint("/ais/sdi"),
        removed_mountpoint("/ais/sdj"),
    ]
    partly = targets(mountpoints=["/ais/sd[a-h]"], removedMountpoints=["/ais/sdj"])
    assert unsafe_changes(DEPLOYED, partly) == [removed_mountpoint("/ais/sdi")]
    acknowledged = targets(mountpoints=["/ais/sd[a-h]"], removedMountpoints=["/ais/sdi", "/ais/sdj"])
    assert unsafe_changes(DEPLOYED, acknowledged) == []


@pytest.mark.parametrize(
    ("deployed_proxies", "proxies", "expected"),
    [
        ((), ["gpu01"], []),
        (CPUS, ["cpu12"], []),
        (CPUS, ["gpu01", "cpu03"], []),
        (("cpu01", "cpu02"), ["gpu01", "gpu02"], [no_proxy_left("cpu01, cpu02")]),
    ],
)
def test_some_deployed_proxy_must_remain(
    deployed_proxies: tuple[str, ...], proxies: list[str], expected: list[str]
) -> None:
    deployed = DeployedState(proxy_nodes=deployed_proxies)
    assert unsafe_changes(deployed, load(worksheet(proxies={"nodes": proxies}))) == expected


RELEASE_CHANGE = (
    "'demo2' replaces the Helm release (uninstall, then install), relabels every node, recreates the monitoring "
    "volumes and claims under new names, and leaves the host state under /etc/ais/demo behind"
)


@pytest.mark.parametrize(
    ("key", "value", "before", "change", "acknowledgement"),
    [
        ("releaseName", "demo2", "'demo'", RELEASE_CHANGE, "demo2"),
        (
            "namespace",
            "lab",
            "'ais'",
            "'lab' replaces the Helm release (uninstall, then install) in the new namespace",
            "lab",
        ),
        (
            "statePath",
            "/var/ais",
            "'/etc/ais'",
            "'/var/ais' starts every proxy and target with empty state, orphaning the state under the old path",
            "/var/ais",
        ),
        (
            "chart",
            {"path": "./charts"},
            "'path ../ais-k8s/helm/ais/charts'",
            "'path ./charts' installs a different chart over the deployed release",
            "path ./charts",
        ),
    ],
)
def test_an_identity_change_needs_its_exact_new_value_acknowledged(
    key: str, value: Any, before: str, change: str, acknowledgement: str
) -> None:
    refused = [identity_change(key, before, change, acknowledgement)]
    changed = load(worksheet(**{key: value}))
    assert unsafe_changes(DEPLOYED, changed) == refused
    # The worksheet's own rules refuse an identityChange that is not the worksheet's value
    # (test_safety.py); this rule does not lean on that.
    for wrong in (acknowledgement + "x", before.strip("'"), acknowledgement.upper()):
        wrongly_acknowledged = changed.model_copy(
            update={"identity_change": IdentityChange.model_validate({key: wrong})}
        )
        assert unsafe_changes(DEPLOYED, wrongly_acknowledged) == refused
    acknowledged = load(worksheet(**{key: value, "identityChange": {key: acknowledgement}}))
    assert unsafe_changes(DEPLOYED, acknowledged) == []


def test_an_identity_the_deployment_did_not_export_is_not_compared() -> None:
    changed = load(worksheet(releaseName="demo2", namespace="lab", statePath="/var/ais", chart={"path": "./charts"}))
    deployed = DeployedState(target_nodes=CPUS, target_count=12, mountpoints=MOUNTPOINTS, proxy_nodes=CPUS)
    assert unsafe_changes(deployed, changed) == []


def test_every_kind_of_problem_is_reported_in_one_run_in_worksheet_order() -> None:
    everything = load(
        worksheet(
            releaseName="demo2",
            targets={**TARGETS, "nodes": ["cpu{01..11}"], "mountpoints": ["/ais/sd[a-i]"]},
            proxies={"nodes": ["gpu01"]},
        )
    )
    assert unsafe_changes(DEPLOYED, everything) == [
        removed_target("cpu12"),
        lowered_count(12, 11, "demo2-ais-target-11"),
        removed_mountpoint("/ais/sdj"),
        no_proxy_left(", ".join(CPUS)),
        identity_change("releaseName", "'demo'", RELEASE_CHANGE, "demo2"),
    ]


def test_the_refusal_names_its_subject_and_counts_the_problems() -> None:
    assert str(UnsafeChangeError(["a", "b"])) == (
        "the worksheet would change the deployed cluster unsafely; it has 2 problems:\n  - a\n  - b"
    )
    assert (
        str(UnsafeChangeError(["a"]))
        == "the worksheet would change the deployed cluster unsafely; it has a problem:\n  - a"
    )


STORAGE = {"graphite": "cpu01:/data/graphite:250Gi", "grafana": "cpu01:/data/grafana:50Gi"}
MOVES_DATA = (
    "moves its data: the protected volume and claim would be replaced or deleted (`pulumi up` stops at them) and "
    "the history on the old volume is left behind; a volume's size cannot change in place"
)


def test_a_monitoring_volume_moved_is_refused_until_acknowledged() -> None:
    deployed = replace(DEPLOYED, monitoring_storage=STORAGE)
    moved = {"enabled": True, "graphite": {"node": "cpu02", "path": "/data/graphite", "size": "250Gi"}}
    monitoring = {**moved, "grafana": {"node": "cpu01", "path": "/data/grafana", "size": "50Gi"}}
    assert unsafe_changes(deployed, load(worksheet(monitoring=monitoring))) == [
        "monitoring.graphite: the deployed cluster has 'cpu01:/data/graphite:250Gi'; changing it to "
        f"'cpu02:/data/graphite:250Gi' {MOVES_DATA}. If that is really wanted, back up first, and with protect on run "
        "`pulumi state unprotect` for what gets replaced; then set identityChange.graphite: "
        "'cpu02:/data/graphite:250Gi'"
    ]
    acknowledged = worksheet(monitoring=monitoring, identityChange={"graphite": "cpu02:/data/graphite:250Gi"})
    assert unsafe_changes(deployed, load(acknowledged)) == []
    # Deployed by a version that did not export the storage: nothing to compare.
    assert unsafe_changes(DEPLOYED, load(worksheet(monitoring=monitoring))) == []


def test_the_monitoring_storage_exported_for_the_next_run() -> None:
    assert monitoring_storage(load(WORKSHEET_EXAMPLE)) == STORAGE
    external = {"enabled": False, "externalGraphite": "graphite.example.com:2003"}
    assert monitoring_storage(load(worksheet(monitoring=external))) == {}


def test_settings_that_force_patches_are_refused() -> None:
    assert forced_patch_problems({"kubernetes:enablePatchForce": "true"}, {"PULUMI_K8S_ENABLE_PATCH_FORCE": "1"}) == [
        "kubernetes:enablePatchForce: is 'true'; forced patches would take node labels over from whoever owns them. "
        "Remove it (`pulumi config rm kubernetes:enablePatchForce`) and resolve a label conflict as "
        "docs/deploying.md's 'Label ownership is explicit' says",
        "PULUMI_K8S_ENABLE_PATCH_FORCE: the environment variable is set ('1'); the Kubernetes provider would force "
        "every patch and take node labels over from whoever owns them. Unset it (`unset "
        "PULUMI_K8S_ENABLE_PATCH_FORCE`) and run again",
    ]
    assert (
        forced_patch_problems({"kubernetes:enablePatchForce": "False"}, {"PULUMI_K8S_ENABLE_PATCH_FORCE": "false"})
        == []
    )
    assert forced_patch_problems({}, {"PULUMI_K8S_ENABLE_PATCH_FORCE": ""}) == []


def test_nodes_in_no_role_any_more_are_leaving() -> None:
    shrunk = worksheet(
        targets={**TARGETS, "nodes": ["cpu{01..10}"], "decommissioned": ["cpu11", "cpu12"], "scaleInTo": 10},
        proxies={"nodes": ["cpu{02..11}"]},
    )
    assert leaving_nodes(DEPLOYED, load(shrunk)) == ["cpu12"]
    assert leaving_nodes(DEPLOYED, load(WORKSHEET_EXAMPLE)) == []


def test_a_new_release_name_names_the_host_state_it_leaves_under_the_deployed_state_path() -> None:
    changed = load(worksheet(releaseName="demo2", statePath="/var/ais"))
    release_problem = next(problem for problem in unsafe_changes(DEPLOYED, changed) if problem.startswith("release"))
    assert "leaves the host state under /etc/ais/demo behind" in release_problem


def test_outputs_of_another_shape_name_each_output_and_its_shape() -> None:
    outputs = {**OUTPUTS, "targetCount": "four", "proxyNodes": "cpu01", "statePath": None}
    with pytest.raises(DeployedOutputError) as raised:
        DeployedState.from_outputs(outputs)
    # In the order the outputs are read; an output that is not there (None) is not judged.
    assert [str(problem) for problem in raised.value.problems] == [
        "targetCount: the output is 'four', not a whole number; no change can be judged safe against it",
        "proxyNodes: the output is 'cpu01', not a list of names; no change can be judged safe against it",
    ]
    assert str(raised.value).startswith(
        "the deployed stack's outputs are not as this program exports them (see `pulumi stack output --json`); it "
        "has 2 problems:\n"
    )
    # A whole float is a count (JSON numbers arrive as floats); a negative or fractional one is not.
    assert DeployedState.from_outputs({"targetCount": 3.0}).target_count == 3
    for count in (-1.0, 2.5, True):
        with pytest.raises(DeployedOutputError):
            DeployedState.from_outputs({"targetCount": count})


@pytest.mark.parametrize(
    ("written", "note"),
    [
        (
            "../ais-k8s/helm/ais/charts/",
            "chart.path: '../ais-k8s/helm/ais/charts/' is the deployed '../ais-k8s/helm/ais/charts' written "
            "otherwise; the Release's chart input changes, so `pulumi up` upgrades it in place with the same chart",
        ),
        ("../ais-k8s/helm/ais/charts", None),  # as deployed
        ("../ais-k8s/helm/ais/other", None),  # another chart: an identity change, refused elsewhere
    ],
)
def test_a_chart_path_written_otherwise_is_the_same_chart_with_a_note(written: str, note: str | None) -> None:
    changed = load(worksheet(chart={"path": written}))
    assert respelled_chart(DEPLOYED, changed) == note
    assert respelled_chart(DeployedState(), changed) is None  # never deployed: nothing to compare
    if note is not None:
        assert unsafe_changes(DEPLOYED, changed) == []
