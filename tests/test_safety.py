"""Scale-in and identity changes of a deployed cluster: refused with the safe procedure,
accepted once acknowledged. The previous deployment is simulated as the program reads it:
the stack outputs of an earlier run, handed back through the stack's self-reference."""

from __future__ import annotations

from typing import Any

import pytest

from aisinfra.review.render import STACK_REFERENCE, ProgramError, Rendering, run_program
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

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


def test_the_self_reference_names_this_stack(make_stack: Any) -> None:
    reference = run_program(make_stack(WORKSHEET_EXAMPLE)).of_type(STACK_REFERENCE)[0]
    assert reference.read_id == "organization/aisinfra/test"
    assert reference.inputs["name"] == "organization/aisinfra/test"


def test_scale_out_needs_no_acknowledgement(preview: Any) -> None:
    rendering = preview(
        worksheet(
            targets={**TARGETS, "nodes": ["cpu{01..14}"], "mountpoints": ["/ais/sd[a-k]"]},
            proxies={**PROXIES, "nodes": ["cpu{01..14}"]},
        )
    )
    assert rendering.release().inputs["values"]["aiscluster"]["expected_target_nodes"] == 14


def test_removing_a_target_node_is_refused_with_the_decommission_steps(preview: Any) -> None:
    error = refusal(preview, worksheet(targets={**TARGETS, "nodes": ["cpu{01..11}"]}))
    first, second = problems(error)
    assert str(error).startswith("the worksheet would change the deployed cluster unsafely; it has 2 problems:")
    assert first.startswith("targets.nodes: 'cpu12' is a deployed target and would lose its label")
    assert "`ais cluster add-remove-nodes decommission <NODE_ID>`" in first
    assert first.endswith("then add 'cpu12' to targets.decommissioned")
    # With initialCount 0 the count follows the node list, so the StatefulSet shrinks too.
    assert second.startswith("targets.initialCount: the target count would drop from 12 to 11")
    assert "pod(s) demo-ais-target-11 (the highest ordinals)" in second
    assert second.endswith("then set targets.scaleInTo: 11")


def test_removing_a_target_node_goes_through_once_acknowledged(preview: Any) -> None:
    rendering = preview(
        worksheet(targets={**TARGETS, "nodes": ["cpu{01..11}"], "decommissioned": ["cpu12"], "scaleInTo": 11})
    )
    # cpu12 stays a proxy; only its target label goes.
    assert rendering.node_labels()["cpu12"] == {"nvidia.com/ais-proxy": "demo-ais-electable"}
    assert rendering.release().inputs["values"]["aiscluster"]["expected_target_nodes"] == 11


def test_lowering_the_count_is_refused_naming_the_pods_that_would_go(preview: Any) -> None:
    error = refusal(preview, worksheet(targets={**TARGETS, "initialCount": 10}))
    (problem,) = problems(error)
    assert "drop from 12 to 10" in problem
    assert "pod(s) demo-ais-target-11, demo-ais-target-10 (the highest ordinals)" in problem
    assert "`kubectl -n ais get pods -o wide`" in problem


def test_a_count_acknowledgement_must_name_the_new_count(preview: Any) -> None:
    rendering = preview(worksheet(targets={**TARGETS, "initialCount": 10, "scaleInTo": 10}))
    assert rendering.release().inputs["values"]["aiscluster"]["expected_target_nodes"] == 10
    with pytest.raises(ProgramError) as failure:
        preview(worksheet(targets={**TARGETS, "initialCount": 10, "scaleInTo": 9}))
    assert problems(failure.value) == [
        "targets.scaleInTo: acknowledges a target count of 9, but the worksheet's count is 10; remove it once "
        "its scale-in is done, so that it cannot let a later one through"
    ]


def test_a_stale_count_acknowledgement_cannot_wave_a_later_scale_in_through(make_stack: Any) -> None:
    """12 -> 10 acknowledged and deployed, back to 12: the old scaleInTo must go before that."""
    scaled_in = run_program(make_stack(worksheet(targets={**TARGETS, "initialCount": 10, "scaleInTo": 10}))).outputs
    with pytest.raises(ProgramError) as failure:
        run_program(
            make_stack(worksheet(targets={**TARGETS, "initialCount": 12, "scaleInTo": 10})), deployed_outputs=scaled_in
        )
    assert problems(failure.value)[0].startswith("targets.scaleInTo: acknowledges a target count of 10")


def test_removing_a_mountpoint_is_refused_then_acknowledged(preview: Any) -> None:
    error = refusal(preview, worksheet(targets={**TARGETS, "mountpoints": ["/ais/sd[a-i]"]}))
    (problem,) = problems(error)
    assert problem.startswith("targets.mountpoints: '/ais/sdj' is a deployed mountpoint")
    assert "`ais storage mountpath detach <TARGET_ID> /ais/sdj`" in problem
    rendering = preview(
        worksheet(targets={**TARGETS, "mountpoints": ["/ais/sd[a-i]"], "removedMountpoints": ["/ais/sdj"]})
    )
    assert rendering.release().inputs["values"]["aiscluster"]["target"]["mountPaths"][-1] == "/ais/sdi"


def test_removing_some_proxies_is_allowed_but_not_every_deployed_one(preview: Any) -> None:
    rendering = preview(worksheet(proxies={"nodes": ["cpu{01..03}"]}))
    assert rendering.release().inputs["values"]["aiscluster"]["expected_proxy_nodes"] == 3
    error = refusal(preview, worksheet(proxies={"nodes": ["gpu01"]}))
    (problem,) = problems(error)
    assert problem.startswith("proxies.nodes: no deployed proxy node would remain")


@pytest.mark.parametrize(
    ("key", "value", "acknowledged", "consequence"),
    [
        ("releaseName", "demo2", "demo2", "replaces the Helm release (uninstall, then install)"),
        ("namespace", "ais2", "ais2", "replaces the Helm release (uninstall, then install) in the new namespace"),
        ("statePath", "/var/ais", "/var/ais", "starts every proxy and target with empty state"),
        (
            "chart",
            {"repo": "https://charts.example.com", "name": "ais", "version": "0.1.0"},
            "https://charts.example.com ais",
            "installs a different chart over the deployed release",
        ),
    ],
)
def test_identity_changes_are_refused_until_deliberately_acknowledged(
    preview: Any, key: str, value: Any, acknowledged: str, consequence: str
) -> None:
    error = refusal(preview, worksheet(**{key: value}))
    (problem,) = problems(error)
    assert problem.startswith(f"{key}: the deployed cluster has ")
    assert consequence in problem
    assert problem.endswith(f"then set identityChange.{key}: '{acknowledged}'")
    preview(worksheet(**{key: value, "identityChange": {key: acknowledged}}))


def test_a_chart_version_upgrade_is_not_an_identity_change(make_stack: Any) -> None:
    remote = {"repo": "https://charts.example.com", "name": "ais", "version": "0.1.0"}
    deployed = run_program(make_stack(worksheet(chart=remote))).outputs
    run_program(make_stack(worksheet(chart={**remote, "version": "0.1.1"})), deployed_outputs=deployed)


def test_acknowledgements_cannot_contradict_the_worksheet(make_stack: Any) -> None:
    config = worksheet(targets={**TARGETS, "decommissioned": ["cpu03"], "removedMountpoints": ["/ais/sda"]})
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(config))
    assert problems(failure.value) == [
        "targets.decommissioned[0]: 'cpu03' is still listed in targets.nodes; "
        "a decommissioned node cannot also be a target",
        "targets.removedMountpoints[0]: '/ais/sda' is still listed in targets.mountpoints",
    ]


def test_release_namespace_and_monitoring_volumes_are_protected_by_default(make_stack: Any) -> None:
    rendering = run_program(make_stack(WORKSHEET_EXAMPLE))
    protected = sorted(resource.name for resource in rendering.resources if resource.protect)
    assert protected == [
        "aistore-monitoring-grafana-pv",
        "aistore-monitoring-grafana-pvc",
        "aistore-monitoring-graphite-pv",
        "aistore-monitoring-graphite-pvc",
        "aistore-namespace",
        "aistore-release",
    ]
    unprotected = run_program(make_stack(worksheet(protect=False)))
    assert [resource.name for resource in unprotected.resources if resource.protect] == []
