"""Scale-in and identity changes of a deployed cluster: refused with the safe procedure,
accepted once acknowledged. The previous deployment is simulated as the program reads it:
the stack outputs of an earlier run, handed back through the stack's self-reference."""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.chart import rules
from aisinfra.program import cluster
from aisinfra.review.render import (
    NODE_PATCH,
    NOT_RESOLVED,
    STACK_REFERENCE,
    ProgramError,
    Rendering,
    resource_documents,
    run_program,
)
from aisinfra.worksheet import model
from aisinfra.worksheet.stackfile import PROJECT_DIR, StackConfig, project_defaults, stack_from_document
from tests.conftest import WORKSHEET_EXAMPLE, worksheet
from tests.refusals import (
    identity_change,
    lowered_count,
    no_proxy_left,
    removed_mountpoint,
    removed_target,
    stale_acknowledgement,
    stale_scale_in_to,
)

TARGETS = WORKSHEET_EXAMPLE["aisinfra:targets"]
PROXIES = WORKSHEET_EXAMPLE["aisinfra:proxies"]


@pytest.fixture
def deployed(make_stack: Any) -> dict[str, Any]:
    """What `pulumi up` of the worksheet example exported."""
    return run_program(make_stack(WORKSHEET_EXAMPLE)).outputs


@pytest.fixture
def preview(make_stack: Any, deployed: dict[str, Any]) -> Any:
    def run(config: dict[str, Any]) -> Rendering:
        return run_program(make_stack(config), deployed_outputs=deployed)

    return run


def refusal(preview: Any, config: dict[str, Any]) -> ProgramError:
    with pytest.raises(ProgramError) as failure:
        preview(config)
    # Only the read of the stack's own outputs happened; nothing touched the cluster.
    assert [resource.type for resource in failure.value.registered] == [STACK_REFERENCE]
    return failure.value


def problems(error: ProgramError) -> list[str]:
    return [line.removeprefix("  - ") for line in str(error).splitlines()[1:]]


def test_the_self_reference_uses_the_bare_stack_name_on_a_local_backend(make_stack: Any) -> None:
    """A file backend in its legacy layout rejects a name with '/'; the bare name works in both layouts."""
    reference = run_program(make_stack(WORKSHEET_EXAMPLE)).of_type(STACK_REFERENCE)[0]
    assert reference.read_id == "test"
    assert reference.inputs["name"] == "test"


def test_the_self_reference_uses_the_full_name_on_pulumi_cloud(make_stack: Any) -> None:
    reference = run_program(make_stack(WORKSHEET_EXAMPLE), organization="acme").of_type(STACK_REFERENCE)[0]
    assert reference.read_id == "acme/aisinfra/test"
    assert reference.inputs["name"] == "acme/aisinfra/test"


def release_values(rendering: Rendering) -> dict[str, Any]:
    values: dict[str, Any] = rendering.release().inputs["values"]
    return values


def test_scale_out_needs_no_acknowledgement(preview: Any) -> None:
    rendering = preview(
        worksheet(
            targets={**TARGETS, "nodes": ["cpu{01..14}"], "mountpoints": ["/ais/sd[a-k]"]},
            proxies={**PROXIES, "nodes": ["cpu{01..14}"]},
        )
    )
    values = release_values(rendering)["aiscluster"]
    assert (values["expected_target_nodes"], values["expected_proxy_nodes"]) == (14, 14)
    assert values["target"]["mountPaths"] == [f"/ais/sd{letter}" for letter in "abcdefghijk"]
    assert rendering.node_labels()["cpu14"] == {
        "nvidia.com/ais-target": "demo-ais",
        "aisinfra/cluster": "ais.demo",
        "nvidia.com/ais-proxy": "demo-ais-electable",
    }


def test_an_unchanged_worksheet_goes_through(preview: Any) -> None:
    """The same count, nodes and mountpoints as deployed need no acknowledgement."""
    rendering = preview(WORKSHEET_EXAMPLE)
    assert release_values(rendering)["aiscluster"]["expected_target_nodes"] == 12


def test_removing_a_target_node_is_refused_with_the_decommission_steps(preview: Any) -> None:
    error = refusal(preview, worksheet(targets={**TARGETS, "nodes": ["cpu{01..11}"]}))
    assert str(error).startswith("the worksheet would change the deployed cluster unsafely; it has 2 problems:\n")
    # With initialCount 0 the count follows the node list, so the StatefulSet shrinks too.
    assert problems(error) == [removed_target("cpu12"), lowered_count(12, 11, "demo-ais-target-11")]


def test_removing_a_target_node_goes_through_once_acknowledged(preview: Any) -> None:
    rendering = preview(
        worksheet(targets={**TARGETS, "nodes": ["cpu{01..11}"], "decommissioned": ["cpu12"], "scaleInTo": 11})
    )
    # cpu12 stays a proxy; only its target label goes (the proxy patch still owns the cluster label).
    assert rendering.node_labels()["cpu12"] == {
        "nvidia.com/ais-proxy": "demo-ais-electable",
        "aisinfra/cluster": "ais.demo",
    }
    assert [patch.name for patch in rendering.of_type(NODE_PATCH) if patch.name.startswith("aistore-targets-")] == [
        f"aistore-targets-cpu{number:02d}" for number in range(1, 12)
    ]
    assert release_values(rendering)["aiscluster"]["expected_target_nodes"] == 11
    assert rendering.outputs["targetNodes"] == [f"cpu{number:02d}" for number in range(1, 12)]
    assert rendering.outputs["targetCount"] == 11


def test_each_removed_target_needs_its_own_acknowledgement(preview: Any) -> None:
    """Two targets removed, one decommissioned: the other is still refused, by name."""
    error = refusal(
        preview,
        worksheet(targets={**TARGETS, "nodes": ["cpu{01..10}"], "decommissioned": ["cpu12"], "scaleInTo": 10}),
    )
    assert problems(error) == [removed_target("cpu11")]


def test_decommissioning_a_node_that_was_never_deployed_excuses_nothing(preview: Any) -> None:
    error = refusal(
        preview,
        worksheet(targets={**TARGETS, "nodes": ["cpu{01..11}"], "decommissioned": ["gpu01"], "scaleInTo": 11}),
    )
    assert problems(error) == [removed_target("cpu12")]


def test_replacing_a_target_node_is_a_removal(preview: Any) -> None:
    """Same count, one node swapped: the deployed one still loses its label and its data."""
    error = refusal(preview, worksheet(targets={**TARGETS, "nodes": ["cpu{01..11}", "gpu01"]}))
    assert problems(error) == [removed_target("cpu12")]


def test_lowering_the_count_is_refused_naming_the_pods_that_would_go(preview: Any) -> None:
    error = refusal(preview, worksheet(targets={**TARGETS, "initialCount": 10}))
    assert problems(error) == [lowered_count(12, 10, "demo-ais-target-11, demo-ais-target-10")]


def test_a_count_acknowledgement_must_name_the_new_count(preview: Any) -> None:
    rendering = preview(worksheet(targets={**TARGETS, "initialCount": 10, "scaleInTo": 10}))
    assert release_values(rendering)["aiscluster"]["expected_target_nodes"] == 10
    assert rendering.outputs["targetCount"] == 10
    for wrong in (9, 11, 12, 0):
        with pytest.raises(ProgramError) as failure:
            preview(worksheet(targets={**TARGETS, "initialCount": 10, "scaleInTo": wrong}))
        assert problems(failure.value) == [stale_scale_in_to(wrong, 10)]


def test_removed_nodes_need_the_count_acknowledged_too(preview: Any) -> None:
    """Decommissioning names the nodes, scaleInTo the count: one without the other is refused."""
    error = refusal(
        preview, worksheet(targets={**TARGETS, "nodes": ["cpu{01..10}"], "decommissioned": ["cpu11", "cpu12"]})
    )
    assert problems(error) == [lowered_count(12, 10, "demo-ais-target-11, demo-ais-target-10")]


def test_a_stale_count_acknowledgement_cannot_wave_a_later_scale_in_through(make_stack: Any) -> None:
    """12 -> 10 acknowledged and deployed, back to 12: the old scaleInTo must go before that."""
    scaled_in = run_program(make_stack(worksheet(targets={**TARGETS, "initialCount": 10, "scaleInTo": 10}))).outputs
    assert scaled_in["targetCount"] == 10
    with pytest.raises(ProgramError) as failure:
        run_program(
            make_stack(worksheet(targets={**TARGETS, "initialCount": 12, "scaleInTo": 10})), deployed_outputs=scaled_in
        )
    assert problems(failure.value) == [stale_scale_in_to(10, 12)]
    # Without it, growing back needs no acknowledgement, and a later scale-in needs a new one.
    grown = run_program(make_stack(worksheet(targets={**TARGETS, "initialCount": 12})), deployed_outputs=scaled_in)
    assert grown.outputs["targetCount"] == 12
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(worksheet(targets={**TARGETS, "initialCount": 11})), deployed_outputs=grown.outputs)
    assert problems(failure.value) == [lowered_count(12, 11, "demo-ais-target-11")]


def test_removing_a_mountpoint_is_refused_then_acknowledged(preview: Any) -> None:
    error = refusal(preview, worksheet(targets={**TARGETS, "mountpoints": ["/ais/sd[a-i]"]}))
    assert problems(error) == [removed_mountpoint("/ais/sdj")]
    rendering = preview(
        worksheet(targets={**TARGETS, "mountpoints": ["/ais/sd[a-i]"], "removedMountpoints": ["/ais/sdj"]})
    )
    assert release_values(rendering)["aiscluster"]["target"]["mountPaths"] == [
        f"/ais/sd{letter}" for letter in "abcdefghi"
    ]
    assert rendering.outputs["mountpoints"] == [f"/ais/sd{letter}" for letter in "abcdefghi"]


def test_each_removed_mountpoint_needs_its_own_acknowledgement(preview: Any) -> None:
    error = refusal(
        preview, worksheet(targets={**TARGETS, "mountpoints": ["/ais/sd[a-h]"], "removedMountpoints": ["/ais/sdj"]})
    )
    assert problems(error) == [removed_mountpoint("/ais/sdi")]


def test_removing_some_proxies_is_allowed_but_not_every_deployed_one(preview: Any) -> None:
    rendering = preview(worksheet(proxies={"nodes": ["cpu{01..03}"]}))
    assert release_values(rendering)["aiscluster"]["expected_proxy_nodes"] == 3
    assert rendering.outputs["proxyNodes"] == ["cpu01", "cpu02", "cpu03"]
    # One deployed proxy staying is enough, even among new ones.
    assert preview(worksheet(proxies={"nodes": ["gpu01", "cpu12"]})).outputs["proxyNodes"] == ["gpu01", "cpu12"]
    error = refusal(preview, worksheet(proxies={"nodes": ["gpu01"]}))
    assert problems(error) == [no_proxy_left(", ".join(f"cpu{number:02d}" for number in range(1, 13)))]


IDENTITY_CHANGES: list[tuple[str, Any, str, str, str]] = [
    (
        "releaseName",
        "demo2",
        "'demo'",
        "'demo2' replaces the Helm release (uninstall, then install), relabels every node, recreates the "
        "monitoring volumes and claims under new names, and leaves the host state under /etc/ais/demo behind",
        "demo2",
    ),
    (
        "namespace",
        "ais2",
        "'ais'",
        "'ais2' replaces the Helm release (uninstall, then install) in the new namespace",
        "ais2",
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
        {"repo": "https://charts.example.com", "name": "ais", "version": "0.1.0"},
        "'path ../ais-k8s/helm/ais/charts'",
        "'https://charts.example.com ais' installs a different chart over the deployed release",
        "https://charts.example.com ais",
    ),
]


@pytest.mark.parametrize(("key", "value", "before", "change", "acknowledgement"), IDENTITY_CHANGES)
def test_identity_changes_are_refused_until_deliberately_acknowledged(
    preview: Any, key: str, value: Any, before: str, change: str, acknowledgement: str
) -> None:
    error = refusal(preview, worksheet(**{key: value}))
    assert problems(error) == [identity_change(key, before, change, acknowledgement)]
    rendering = preview(worksheet(**{key: value, "identityChange": {key: acknowledgement}}))
    release = rendering.release().inputs
    expected = {
        "releaseName": ("name", "demo2"),
        "namespace": ("namespace", "ais2"),
        "statePath": ("hostpathPrefix", "/var/ais"),
        "chart": ("repositoryOpts", {"repo": "https://charts.example.com"}),
    }[key]
    reached = release_values(rendering)["aiscluster"] if key == "statePath" else release
    assert reached[expected[0]] == expected[1]


@pytest.mark.parametrize(("key", "value", "before", "change", "acknowledgement"), IDENTITY_CHANGES)
def test_an_identity_acknowledgement_must_name_the_new_value(
    preview: Any, key: str, value: Any, before: str, change: str, acknowledgement: str
) -> None:
    """Neither another value, nor the deployed one, nor another key's acknowledgement lets it
    through: each is refused as an acknowledgement that is not the worksheet's value."""
    for wrong in (acknowledgement + "x", before.strip("'")):
        error = refusal(preview, worksheet(**{key: value, "identityChange": {key: wrong}}))
        assert problems(error) == [stale_acknowledgement(key, wrong, acknowledgement)]
    other_key = "namespace" if key == "releaseName" else "releaseName"
    current = {"namespace": "ais", "releaseName": "demo"}[other_key]
    error = refusal(preview, worksheet(**{key: value, "identityChange": {other_key: acknowledgement}}))
    assert problems(error) == [stale_acknowledgement(other_key, acknowledgement, current)]


@pytest.mark.parametrize(("key", "value", "before", "change", "acknowledgement"), IDENTITY_CHANGES)
def test_the_deployed_state_guard_holds_without_the_worksheets_own_rule(
    preview: Any, monkeypatch: pytest.MonkeyPatch, key: str, value: Any, before: str, change: str, acknowledgement: str
) -> None:
    """Defence in depth: the worksheet refuses an acknowledgement that is not its value before the
    guard runs; with that rule taken out, the guard alone still lets no wrong one through."""
    monkeypatch.setattr(model, "stale_identity_acknowledgements", lambda acknowledged, values: [])
    monkeypatch.setattr(rules, "stale_identity_acknowledgements", lambda acknowledged, values: [])
    error = refusal(preview, worksheet(**{key: value, "identityChange": {key: acknowledgement + "x"}}))
    assert problems(error) == [identity_change(key, before, change, acknowledgement)]


def test_a_stale_identity_acknowledgement_cannot_wave_a_later_change_through(make_stack: Any) -> None:
    """demo -> demo2 acknowledged and deployed; the acknowledgement left in place does not let demo3 through."""
    renamed = run_program(make_stack(worksheet(releaseName="demo2", identityChange={"releaseName": "demo2"})))
    assert renamed.outputs["releaseName"] == "demo2"
    with pytest.raises(ProgramError) as failure:
        run_program(
            make_stack(worksheet(releaseName="demo3", identityChange={"releaseName": "demo2"})),
            deployed_outputs=renamed.outputs,
        )
    assert problems(failure.value) == [stale_acknowledgement("releaseName", "demo2", "demo3")]


def test_a_chart_version_upgrade_is_not_an_identity_change(make_stack: Any) -> None:
    remote = {"repo": "https://charts.example.com", "name": "ais", "version": "0.1.0"}
    deployed = run_program(make_stack(worksheet(chart=remote))).outputs
    upgraded = run_program(make_stack(worksheet(chart={**remote, "version": "0.1.1"})), deployed_outputs=deployed)
    assert (upgraded.release().inputs["chart"], upgraded.release().inputs["version"]) == ("ais", "0.1.1")


def test_acknowledgements_cannot_contradict_the_worksheet(make_stack: Any) -> None:
    config = worksheet(targets={**TARGETS, "decommissioned": ["cpu03"], "removedMountpoints": ["/ais/sda"]})
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(config))
    assert problems(failure.value) == [
        "targets.decommissioned[0]: 'cpu03' is still listed in targets.nodes; "
        "a decommissioned node cannot also be a target",
        "targets.removedMountpoints[0]: '/ais/sda' is still listed in targets.mountpoints",
    ]


PROTECTED = [
    "aistore-monitoring-grafana-pv",
    "aistore-monitoring-grafana-pvc",
    "aistore-monitoring-graphite-pv",
    "aistore-monitoring-graphite-pvc",
    "aistore-namespace",
    "aistore-release",
]


@pytest.fixture
def make_bare_stack(tmp_path: Path) -> Any:
    """A stack as a CLI would hand it over from a Pulumi.yaml that declares no defaults: what
    the program itself does for a key the stack file leaves out."""
    project = tmp_path / "bare-project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text("name: aisinfra\nruntime: python\n")

    def make(config: dict[str, Any]) -> StackConfig:
        return stack_from_document({"config": config}, project / "Pulumi.test.yaml", project)

    return make


def protected(rendering: Rendering) -> list[str]:
    return sorted(resource.name for resource in rendering.resources if resource.protect)


def test_release_namespace_and_monitoring_volumes_are_protected_by_default(make_stack: Any) -> None:
    assert protected(run_program(make_stack(WORKSHEET_EXAMPLE))) == PROTECTED
    unprotected = run_program(make_stack(worksheet(protect=False)))
    assert protected(unprotected) == []


def test_the_program_protects_even_without_the_project_defaults(make_bare_stack: Any) -> None:
    """Pulumi.yaml's defaults are the CLI's; the program's own must keep the data safe too."""
    stack = make_bare_stack(WORKSHEET_EXAMPLE)
    assert "aisinfra:protect" not in stack.values
    assert "aisinfra:statePath" not in stack.values
    rendering = run_program(stack)
    assert protected(rendering) == PROTECTED
    assert release_values(rendering)["aiscluster"]["hostpathPrefix"] == "/etc/ais"
    assert rendering.outputs["statePath"] == "/etc/ais"
    assert protected(run_program(make_bare_stack(worksheet(protect=False)))) == []
    assert protected(run_program(make_bare_stack(worksheet(protect=True)))) == PROTECTED


def test_the_project_defaults_change_nothing_the_program_would_not_do_itself(
    make_stack: Any, make_bare_stack: Any
) -> None:
    """Whether or not the CLI fills in Pulumi.yaml's defaults, the same resources are registered."""
    declared = project_defaults()
    assert sorted(declared) == ["aisinfra:kubernetesVersion", "aisinfra:protect", "aisinfra:statePath"]
    merged, bare = run_program(make_stack(WORKSHEET_EXAMPLE)), run_program(make_bare_stack(WORKSHEET_EXAMPLE))
    assert resource_documents(merged) == resource_documents(bare)
    assert merged.outputs == bare.outputs


# --- the guard survives a refused run -------------------------------------------------------


def test_a_refused_change_exports_the_deployed_outputs_again(preview: Any, deployed: dict[str, Any]) -> None:
    """A CLI older than 3.112 saves what a failed run exported: the guard must not come back empty."""
    error = refusal(preview, worksheet(targets={**TARGETS, "nodes": ["cpu{01..11}"]}))
    assert error.outputs == deployed


def test_a_refused_worksheet_exports_the_deployed_outputs_again(preview: Any, deployed: dict[str, Any]) -> None:
    error = refusal(preview, worksheet(releaseName="Bad_Name"))
    assert problems(error)[0].startswith("releaseName: 'Bad_Name' is not a DNS label")
    assert error.outputs == deployed


def test_the_project_requires_a_cli_that_keeps_outputs_of_a_failed_update() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    assert project["requiredPulumiVersion"] == ">=3.112.0"


# --- monitoring volumes are guarded like identity -------------------------------------------

GRAPHITE = WORKSHEET_EXAMPLE["aisinfra:monitoring"]["graphite"]
GRAFANA = WORKSHEET_EXAMPLE["aisinfra:monitoring"]["grafana"]


@pytest.mark.parametrize(
    ("graphite", "identity"),
    [
        ({**GRAPHITE, "node": "cpu02"}, "cpu02:/data/graphite:250Gi"),
        ({**GRAPHITE, "path": "/data/graphite2"}, "cpu01:/data/graphite2:250Gi"),
        ({**GRAPHITE, "size": "500Gi"}, "cpu01:/data/graphite:500Gi"),
    ],
    ids=["node", "path", "size"],
)
def test_moving_a_deployed_monitoring_volume_is_refused_until_acknowledged(
    preview: Any, graphite: dict[str, str], identity: str
) -> None:
    monitoring = {"enabled": True, "graphite": graphite, "grafana": GRAFANA}
    error = refusal(preview, worksheet(monitoring=monitoring))
    (problem,) = problems(error)
    assert problem.startswith(
        f"monitoring.graphite: the deployed cluster has 'cpu01:/data/graphite:250Gi'; changing it to '{identity}' "
        "moves its data"
    )
    assert problem.endswith(f"then set identityChange.graphite: '{identity}'")
    rendering = preview(worksheet(monitoring=monitoring, identityChange={"graphite": identity}))
    assert rendering.by_name("aistore-monitoring-graphite-pv").inputs["spec"]["local"]["path"] == graphite["path"]


def test_switching_a_deployed_volume_to_an_existing_claim_is_refused(preview: Any) -> None:
    monitoring = {"enabled": True, "graphite": GRAPHITE, "grafana": {"existingClaim": "grafana-data"}}
    error = refusal(preview, worksheet(monitoring=monitoring, existingNamespace=True))
    (problem,) = problems(error)
    assert problem.startswith("monitoring.grafana: the deployed cluster has 'cpu01:/data/grafana:50Gi'; ")
    assert problem.endswith("then set identityChange.grafana: 'claim:grafana-data'")


def test_turning_monitoring_off_needs_both_volumes_acknowledged(preview: Any) -> None:
    monitoring = {"enabled": False, "externalGraphite": "graphite.example.com:2003"}
    error = refusal(preview, worksheet(monitoring=monitoring))
    assert [problem.split(":")[0] for problem in problems(error)] == ["monitoring.graphite", "monitoring.grafana"]
    preview(worksheet(monitoring=monitoring, identityChange={"graphite": "none", "grafana": "none"}))


def test_a_stack_deployed_before_storage_was_exported_is_not_refused(make_stack: Any, deployed: dict) -> None:
    older = {key: value for key, value in deployed.items() if key != "monitoringStorage"}
    moved = {"enabled": True, "graphite": {**GRAPHITE, "node": "cpu02"}, "grafana": GRAFANA}
    run_program(make_stack(worksheet(monitoring=moved)), deployed_outputs=older)


# --- stale identity acknowledgements --------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "acknowledged", "current"),
    [
        ("releaseName", "demo2", "demo"),
        ("namespace", "ais2", "ais"),
        ("statePath", "/var/ais", "/etc/ais"),
        ("chart", "https://charts.example.com ais", "path ../ais-k8s/helm/ais/charts"),
        ("graphite", "cpu02:/data/graphite:250Gi", "cpu01:/data/graphite:250Gi"),
        ("grafana", "claim:grafana-data", "cpu01:/data/grafana:50Gi"),
    ],
)
def test_an_acknowledgement_that_is_not_the_worksheets_value_is_refused(
    make_stack: Any, key: str, acknowledged: str, current: str
) -> None:
    """Left in the stack file after its change, it would let a later change of the key through."""
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(worksheet(identityChange={key: acknowledged})))
    assert problems(failure.value) == [stale_acknowledgement(key, acknowledged, current)]


# --- nodes leaving the worksheet ------------------------------------------------------------


def test_a_leaving_node_is_read_first_under_a_name_that_says_why(preview: Any) -> None:
    """Deleting its patches would create an empty Node if it is gone; a failed read stops that in preview."""
    rendering = preview(
        worksheet(
            targets={**TARGETS, "nodes": ["cpu{01..11}"], "decommissioned": ["cpu12"], "scaleInTo": 11},
            proxies={**PROXIES, "nodes": ["cpu{01..11}"]},
        )
    )
    read = rendering.by_name("aistore-leaving-node-cpu12")
    assert (read.type, read.read_id, read.parent) == (
        "kubernetes:core/v1:Node",
        "cpu12",
        rendering.by_name("aistore").urn,
    )
    assert "cpu12" not in rendering.node_labels()
    assert leaving_warnings(rendering) == [
        "node 'cpu12' leaves this cluster: its label patches are deleted by this update. If the read "
        "'aistore-leaving-node-cpu12' fails because 'cpu12' no longer exists in Kubernetes, first take the patches "
        "of 'cpu12' out of the state (`python -m aisinfra teardown-check`, docs/deploying.md, Runbook: 'A node that no "
        "longer exists'), then run again"
    ]


def test_a_node_that_stays_for_a_monitoring_volume_is_not_leaving(make_stack: Any) -> None:
    monitoring = {"enabled": True, "graphite": {**GRAPHITE, "node": "gpu01"}, "grafana": GRAFANA}
    identity = {"graphite": "gpu01:/data/graphite:250Gi"}
    deployed = run_program(make_stack(worksheet(monitoring=monitoring, identityChange=identity))).outputs
    deployed["proxyNodes"] = [*deployed["proxyNodes"], "gpu01"]
    rendering = run_program(make_stack(worksheet(monitoring=monitoring, identityChange=identity)), deployed)
    assert rendering.by_name("aistore-node-gpu01").read_id == "gpu01"
    assert [resource.name for resource in rendering.resources if "leaving" in resource.name] == []


def test_a_node_that_stays_in_another_role_is_not_leaving(preview: Any) -> None:
    rendering = preview(
        worksheet(targets={**TARGETS, "nodes": ["cpu{01..11}"], "decommissioned": ["cpu12"], "scaleInTo": 11})
    )
    assert [resource.name for resource in rendering.resources if "leaving" in resource.name] == []
    assert leaving_warnings(rendering) == []


def test_a_vanished_leaving_node_fails_the_run_once_with_no_traceback_after_it(
    make_stack: Any, deployed: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """The read of a leaving node fails when the node is gone: the run's error says so, and
    nothing else is left to print a traceback later (the warning about it is the component's,
    not the failed read's; asyncio logs a task error nobody retrieved when the task is freed)."""
    stack = make_stack(LEAVING)
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        with pytest.raises(ProgramError) as raised:
            run_program(stack, deployed_outputs=deployed, failing=frozenset({"aistore-leaving-node-cpu12"}))
        run_program(stack, deployed_outputs=deployed)  # the loop runs again, freeing what the failed run left
        gc.collect()
    assert "aistore-leaving-node-cpu12" in str(raised.value)
    assert [record.getMessage() for record in caplog.records if record.name == "asyncio"] == []


def leaving_warnings(rendering: Rendering) -> list[str]:
    """The warnings about nodes leaving (monitoring without a Grafana password warns too)."""
    return [warning for warning in rendering.warnings if "leaves this cluster" in warning]


# --- forced patches stay off ----------------------------------------------------------------


@pytest.mark.parametrize("value", ["true", "True"])
def test_the_provider_option_that_forces_patches_is_refused(make_stack: Any, value: str) -> None:
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack({**WORKSHEET_EXAMPLE, "kubernetes:enablePatchForce": value}))
    (problem,) = problems(failure.value)
    assert problem.startswith(f"kubernetes:enablePatchForce: is '{value}'; forced patches would take node labels")
    assert "`pulumi config rm kubernetes:enablePatchForce`" in problem
    assert [resource.type for resource in failure.value.registered] == [STACK_REFERENCE]


def test_the_provider_option_set_to_false_is_fine(make_stack: Any) -> None:
    run_program(make_stack({**WORKSHEET_EXAMPLE, "kubernetes:enablePatchForce": False}))


def test_the_environment_variable_that_forces_patches_is_refused(make_stack: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("PULUMI_K8S_ENABLE_PATCH_FORCE", "true")
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(WORKSHEET_EXAMPLE))
    (problem,) = problems(failure.value)
    assert problem.startswith("PULUMI_K8S_ENABLE_PATCH_FORCE: the environment variable is set ('true')")
    assert "`unset PULUMI_K8S_ENABLE_PATCH_FORCE`" in problem
    monkeypatch.setenv("PULUMI_K8S_ENABLE_PATCH_FORCE", "false")
    run_program(make_stack(WORKSHEET_EXAMPLE))


def test_no_patch_carries_the_force_annotation(make_stack: Any) -> None:
    patches = run_program(make_stack(WORKSHEET_EXAMPLE)).of_type(NODE_PATCH)
    assert len(patches) == 25
    assert all(set(patch.inputs["metadata"]) == {"name", "labels"} for patch in patches)


# -- issue 22: no false alarm, no bare Python error ---------------------------------------------


@pytest.mark.parametrize(
    "written", ["../ais-k8s/helm/ais/charts/", "./../ais-k8s/helm/ais/charts", "../ais-k8s/helm//ais/charts"]
)
def test_the_deployed_chart_path_written_otherwise_is_the_same_chart_with_a_note(preview: Any, written: str) -> None:
    rendering = preview(worksheet(chart={"path": written}))
    assert rendering.release().inputs["chart"] == written
    assert (
        f"chart.path: '{written}' is the deployed '../ais-k8s/helm/ais/charts' written otherwise; the Release's chart "
        "input changes, so `pulumi up` upgrades it in place with the same chart"
    ) in rendering.warnings


def test_another_chart_directory_is_still_an_identity_change(preview: Any) -> None:
    error = refusal(preview, worksheet(chart={"path": "../ais-k8s/helm/ais/charts/../other"}))
    assert problems(error)[0].startswith(
        "chart: the deployed cluster has 'path ../ais-k8s/helm/ais/charts'; changing it to "
        "'path ../ais-k8s/helm/ais/charts/../other' installs a different chart over the deployed release."
    )


@pytest.mark.parametrize(
    ("outputs", "expected"),
    [
        (
            {"targetCount": "four"},
            ["targetCount: the output is 'four', not a whole number; no change can be judged safe against it"],
        ),
        (
            {"targetNodes": "cpu01", "monitoringStorage": ["cpu01:/data:1Gi"], "releaseName": 7},
            [
                # Numbers reach the program as JSON's, floats.
                "releaseName: the output is 7.0, not text; no change can be judged safe against it",
                "targetNodes: the output is 'cpu01', not a list of names; no change can be judged safe against it",
                "monitoringStorage: the output is ['cpu01:/data:1Gi'], not a mapping of text; no change can be "
                "judged safe against it",
            ],
        ),
        (
            {"targetCount": 12.5, "mountpoints": ["/ais/sda", 3]},
            [
                "targetCount: the output is 12.5, not a whole number; no change can be judged safe against it",
                "mountpoints: the output is ['/ais/sda', 3.0], not a list of names; no change can be judged safe "
                "against it",
            ],
        ),
    ],
)
def test_deployed_outputs_of_another_shape_are_refused_naming_each(
    make_stack: Any, outputs: dict[str, Any], expected: list[str]
) -> None:
    deployed = {**run_program(make_stack(WORKSHEET_EXAMPLE)).outputs, **outputs}
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(WORKSHEET_EXAMPLE), deployed_outputs=deployed)
    assert str(failure.value).splitlines()[0] == (
        "the deployed stack's outputs are not as this program exports them (see `pulumi stack output --json`); it "
        f"has {'a problem' if len(expected) == 1 else f'{len(expected)} problems'}:"
    )
    assert problems(failure.value) == expected
    # Refused before anything but the self-reference; the outputs as read are exported again.
    assert [resource.type for resource in failure.value.registered] == [STACK_REFERENCE]
    assert failure.value.outputs == deployed


# --- a failed update never records its worksheet as deployed -------------------------------

LEAVING = worksheet(
    targets={**TARGETS, "nodes": ["cpu{01..11}"], "decommissioned": ["cpu12"], "scaleInTo": 11},
    proxies={**PROXIES, "nodes": ["cpu{01..11}"]},
)


def test_a_successful_update_sends_the_new_worksheet_as_deployed(make_stack: Any, deployed: dict) -> None:
    sent = run_program(make_stack(LEAVING), deployed_outputs=deployed).outputs
    assert "cpu12" not in sent["targetNodes"]
    assert sent["targetCount"] == 11


@pytest.mark.parametrize(
    "failing",
    [
        "aistore-leaving-node-cpu12",  # nothing waits for it: it fails after the Release is upgraded
        "aistore-release",
        "aistore-targets-cpu01",
        "aistore-monitoring-graphite-pvc",
        "aistore-preflight-cpu03",
    ],
)
def test_a_failed_update_sends_no_outputs_so_the_engine_keeps_the_deployed_ones(
    make_stack: Any, deployed: dict[str, Any], failing: str
) -> None:
    """The engine overwrites the last outputs with whatever a failed run sent: had it sent the new
    worksheet, the guard would take cpu12 as gone and the next run would no longer read it before
    deleting its patches (an empty Node, if cpu12 had vanished)."""
    with pytest.raises(ProgramError) as raised:
        run_program(make_stack(LEAVING), deployed_outputs=deployed, failing=frozenset({failing}))
    assert failing in str(raised.value)
    assert raised.value.sent_outputs is None
    assert {name for name, value in raised.value.outputs.items() if value != NOT_RESOLVED} == set()


def test_every_resource_of_the_update_holds_back_the_outputs(
    make_stack: Any, deployed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The URNs are waited on in groups of 64, more than this stack has: in groups of 3, with
    groups of groups of groups, each resource still holds back every output."""
    monkeypatch.setattr(cluster, "URNS_PER_GROUP", 3)
    rendering = run_program(make_stack(LEAVING), deployed_outputs=deployed)
    custom = {resource.name for resource in rendering.resources if not resource.is_component}
    custom -= {resource.name for resource in rendering.of_type(STACK_REFERENCE)}
    for name in sorted(custom):
        with pytest.raises(ProgramError) as raised:
            run_program(make_stack(LEAVING), deployed_outputs=deployed, failing=frozenset({name}))
        assert raised.value.sent_outputs is None, name
