"""Worksheet edits that would lose data on a deployed cluster, and their acknowledgements.

How the program knows what is deployed: every successful ``pulumi up`` exports the
cluster's shape (``targetNodes``, ``targetCount``, ``mountpoints``, ``proxyNodes``, and the
identity: ``releaseName``, ``namespace``, ``statePath``, ``chartSource``,
``monitoringStorage``). The next run reads those outputs back through a StackReference to
its own stack (see ``aisinfra.program.config.read_deployed_state``) and compares them with
the worksheet here, before
any other resource is registered. This was chosen over ``protect`` on the per-node
resources because a lowered ``initialCount`` or a removed mountpoint deletes no Pulumi
resource at all -- only the chart's values change -- and because a refusal has to say what
would happen and how to do it safely, which a protect error cannot.

A scale-in goes through only when the worksheet acknowledges it (``targets.decommissioned``,
``targets.scaleInTo``, ``targets.removedMountpoints``); an identity change only with
``identityChange``. Adding nodes, mountpoints or proxies never needs an acknowledgement.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aisinfra.chart import naming
from aisinfra.chart.values import MONITORING_SERVICES, chart_source, monitoring_volumes, same_chart
from aisinfra.worksheet.model import Worksheet, WorksheetError, acknowledgement_entries

# What forces a label patch over another owner's value (pulumi-kubernetes): the provider
# option, and the environment variable the provider reads when the option is not set.
PATCH_FORCE_CONFIG_KEY = "kubernetes:enablePatchForce"
PATCH_FORCE_ENVIRONMENT_VARIABLE = "PULUMI_K8S_ENABLE_PATCH_FORCE"


class UnsafeChangeError(WorksheetError):
    subject = "the worksheet would change the deployed cluster unsafely; it has"


@dataclass(frozen=True)
class DeployedState:
    """What the last successful ``pulumi up`` exported; ``None`` where it did not say."""

    release_name: str | None = None
    namespace: str | None = None
    state_path: str | None = None
    chart_source: str | None = None
    target_nodes: tuple[str, ...] = ()
    target_count: int | None = None
    mountpoints: tuple[str, ...] = ()
    proxy_nodes: tuple[str, ...] = ()
    # Per monitoring service, its storage as Storage.identity writes it; None: not exported.
    monitoring_storage: dict[str, str] | None = None
    # Every output as read, exported again when a run is refused (see config.refuse).
    outputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> DeployedState:
        """Raises ``DeployedOutputError`` naming every output not of the shape this program exports."""
        problems = [
            f"{key}: the output is {shown!r}, not {what}; no change can be judged safe against it"
            for key, what in _OUTPUT_SHAPES.items()
            if (shown := outputs.get(key)) is not None and not _SHAPE_TESTS[what](shown)
        ]
        if problems:
            raise DeployedOutputError(problems)
        count = outputs.get("targetCount")
        storage = outputs.get("monitoringStorage")
        return cls(
            release_name=outputs.get("releaseName"),
            namespace=outputs.get("namespace"),
            state_path=outputs.get("statePath"),
            chart_source=outputs.get("chartSource"),
            target_nodes=tuple(outputs.get("targetNodes") or ()),
            target_count=int(count) if count is not None else None,
            mountpoints=tuple(outputs.get("mountpoints") or ()),
            proxy_nodes=tuple(outputs.get("proxyNodes") or ()),
            monitoring_storage=dict(storage) if storage is not None else None,
            outputs=dict(outputs),
        )


class DeployedOutputError(WorksheetError):
    """The stack's last outputs are not what this program exports: what is deployed cannot be
    known, so no change can be judged safe. Each problem names the output (``pulumi stack output``)."""

    subject = (
        "the deployed stack's outputs are not as this program exports them (see `pulumi stack output --json`); it has"
    )


_SHAPE_TESTS = {
    "text": lambda value: isinstance(value, str),
    # JSON numbers reach the program as floats; a whole one is a count.
    "a whole number": lambda value: (
        (isinstance(value, int | float) and not isinstance(value, bool)) and float(value).is_integer() and value >= 0
    ),
    "a list of names": lambda value: isinstance(value, list) and all(isinstance(item, str) for item in value),
    "a mapping of text": lambda value: (
        isinstance(value, dict) and all(isinstance(item, str) for item in value.values())
    ),
}
# The outputs the guard reads, with the shape this program exports them in.
_OUTPUT_SHAPES = {
    "releaseName": "text",
    "namespace": "text",
    "statePath": "text",
    "chartSource": "text",
    "targetNodes": "a list of names",
    "targetCount": "a whole number",
    "mountpoints": "a list of names",
    "proxyNodes": "a list of names",
    "monitoringStorage": "a mapping of text",
}


def monitoring_storage(worksheet: Worksheet) -> dict[str, str]:
    """What each monitoring service keeps its data on, as exported and compared next run."""
    if not worksheet.monitoring.enabled:
        return {}
    return {service: worksheet.storage_identity(service) for service in MONITORING_SERVICES}


def leaving_nodes(deployed: DeployedState, worksheet: Worksheet) -> list[str]:
    """Deployed nodes the worksheet no longer has: their label patches are deleted at the end
    of this update. A node that stays for a monitoring volume is read as such anyway."""
    staying = set(worksheet.target_nodes) | set(worksheet.proxy_nodes)
    staying |= {volume.node for volume in monitoring_volumes(worksheet)}
    deployed_nodes = dict.fromkeys(deployed.target_nodes + deployed.proxy_nodes)
    return [node for node in deployed_nodes if node not in staying]


def forced_patch_problems(stack_config: Mapping[str, str], environment: Mapping[str, str]) -> list[str]:
    """Settings that make the Kubernetes provider force every patch, which would silently take
    a label over from another cluster or a person instead of stopping at the conflict."""
    problems = []
    setting = stack_config.get(PATCH_FORCE_CONFIG_KEY)
    if setting is not None and str(setting).lower() != "false":
        problems.append(
            f"{PATCH_FORCE_CONFIG_KEY}: is '{setting}'; forced patches would take node labels over from "
            f"whoever owns them. Remove it (`pulumi config rm {PATCH_FORCE_CONFIG_KEY}`) and resolve a label "
            "conflict as docs/deploying.md's 'Label ownership is explicit' says"
        )
    variable = environment.get(PATCH_FORCE_ENVIRONMENT_VARIABLE)
    if variable and variable.lower() != "false":
        problems.append(
            f"{PATCH_FORCE_ENVIRONMENT_VARIABLE}: the environment variable is set ('{variable}'); the Kubernetes "
            "provider would force every patch and take node labels over from whoever owns them. Unset it "
            f"(`unset {PATCH_FORCE_ENVIRONMENT_VARIABLE}`) and run again"
        )
    return problems


def unsafe_changes(deployed: DeployedState, worksheet: Worksheet) -> list[str]:
    return (
        _removed_targets(deployed, worksheet)
        + _lowered_count(deployed, worksheet)
        + _removed_mountpoints(deployed, worksheet)
        + _removed_proxies(deployed, worksheet)
        + _identity_changes(deployed, worksheet)
    )


def respelled_chart(deployed: DeployedState, worksheet: Worksheet) -> str | None:
    """A note when the chart path is written otherwise than deployed but names the same directory."""
    now = chart_source(worksheet).identity
    if deployed.chart_source is None or deployed.chart_source == now or not same_chart(deployed.chart_source, now):
        return None
    return (
        f"chart.path: '{now.removeprefix('path ')}' is the deployed '{deployed.chart_source.removeprefix('path ')}' "
        "written otherwise; the Release's chart input changes, so `pulumi up` upgrades it in place with the same chart"
    )


def _pod(worksheet: Worksheet, ordinal: int) -> str:
    return f"{naming.fullname(worksheet.release_name)}-target-{ordinal}"


def _removed_targets(deployed: DeployedState, worksheet: Worksheet) -> list[str]:
    targets = set(worksheet.target_nodes)
    acknowledged = set(worksheet.targets.decommissioned)
    return [
        f"targets.nodes: '{node}' is a deployed target and would lose its label, leaving its "
        "data unreachable. Decommission it first: `ais show cluster` for its node ID, then "
        "`ais cluster add-remove-nodes decommission <NODE_ID>` and wait until `ais show rebalance` "
        f"is done; then add '{node}' to targets.decommissioned"
        for node in deployed.target_nodes
        if node not in targets and node not in acknowledged
    ]


def _lowered_count(deployed: DeployedState, worksheet: Worksheet) -> list[str]:
    count, before = worksheet.expected_targets, deployed.target_count
    if before is None or count >= before or worksheet.targets.scale_in_to == count:
        return []
    pods = ", ".join(_pod(worksheet, ordinal) for ordinal in range(before - 1, count - 1, -1))
    return [
        f"targets.initialCount: the target count would drop from {before} to {count}, and Kubernetes "
        f"would delete pod(s) {pods} (the highest ordinals) on whichever nodes they run, with no "
        f"decommission. First find their nodes (`kubectl -n {worksheet.namespace} get pods -o wide`), "
        "decommission those targets with `ais cluster add-remove-nodes decommission <NODE_ID>` and wait "
        f"until `ais show rebalance` is done; then set targets.scaleInTo: {count}"
    ]


def _removed_mountpoints(deployed: DeployedState, worksheet: Worksheet) -> list[str]:
    mountpoints = set(worksheet.mountpoints)
    acknowledged = set(worksheet.targets.removed_mountpoints)
    return [
        f"targets.mountpoints: '{path}' is a deployed mountpoint; removing it takes its disk away "
        "from every target with the objects on it. Detach it first on each target with "
        f"`ais storage mountpath detach <TARGET_ID> {path}` and wait until `ais show rebalance` is "
        f"done; then add '{path}' to targets.removedMountpoints"
        for path in deployed.mountpoints
        if path not in mountpoints and path not in acknowledged
    ]


def _removed_proxies(deployed: DeployedState, worksheet: Worksheet) -> list[str]:
    if not deployed.proxy_nodes or set(deployed.proxy_nodes) & set(worksheet.proxy_nodes):
        return []
    return [
        "proxies.nodes: no deployed proxy node would remain "
        f"({', '.join(deployed.proxy_nodes)}); the cluster would lose every gateway and its primary. "
        "Add the new proxy nodes first, `pulumi up`, and remove the old ones in a later change"
    ]


def _identity_changes(deployed: DeployedState, worksheet: Worksheet) -> list[str]:
    consequence = {
        "releaseName": "replaces the Helm release (uninstall, then install), relabels every node, recreates "
        "the monitoring volumes and claims under new names, and leaves the host state under "
        f"{deployed.state_path or worksheet.state_path}/{deployed.release_name} behind",
        "namespace": "replaces the Helm release (uninstall, then install) in the new namespace",
        "statePath": "starts every proxy and target with empty state, orphaning the state under the old path",
        "chart": "installs a different chart over the deployed release",
        **{
            service: "moves its data: the protected volume and claim would be replaced or deleted (`pulumi up` stops "
            "at them) and the history on the old volume is left behind; a volume's size cannot change in place"
            for service in MONITORING_SERVICES
        },
    }
    now = {
        "releaseName": worksheet.release_name,
        "namespace": worksheet.namespace,
        "statePath": worksheet.state_path,
        "chart": chart_source(worksheet).identity,
        **{service: worksheet.storage_identity(service) for service in MONITORING_SERVICES},
    }
    deployed_storage = deployed.monitoring_storage
    before = {
        "releaseName": deployed.release_name,
        "namespace": deployed.namespace,
        "statePath": deployed.state_path,
        "chart": deployed.chart_source,
        # A service without deployed storage has no data to lose; one never exported is unknown.
        **{
            service: None if deployed_storage is None else deployed_storage.get(service)
            for service in MONITORING_SERVICES
        },
    }
    written = {service: f"monitoring.{service}" for service in MONITORING_SERVICES}
    acknowledged = acknowledgement_entries(worksheet.identity_change)
    problems = []
    for key, value in now.items():
        same: Callable[[Any, Any], bool] = same_chart if key == "chart" else operator.eq
        if before[key] is None or same(before[key], value) or acknowledged[key] == value:
            continue
        problems.append(
            f"{written.get(key, key)}: the deployed cluster has '{before[key]}'; changing it to '{value}' "
            f"{consequence[key]}. "
            "If that is really wanted, back up first, and with protect on run `pulumi state unprotect` "
            f"for what gets replaced; then set identityChange.{key}: '{value}'"
        )
    return problems
