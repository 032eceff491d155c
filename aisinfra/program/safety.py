"""Worksheet edits that would lose data on a deployed cluster, and their acknowledgements.

How the program knows what is deployed: every successful ``pulumi up`` exports the
cluster's shape (``targetNodes``, ``targetCount``, ``mountpoints``, ``proxyNodes``, and the
identity: ``releaseName``, ``namespace``, ``statePath``, ``chartSource``). The next run
reads those outputs back through a StackReference to its own stack (see
``aisinfra.config.read_deployed_state``) and compares them with the worksheet here, before
any other resource is registered. This was chosen over ``protect`` on the per-node
resources because a lowered ``initialCount`` or a removed mountpoint deletes no Pulumi
resource at all -- only the chart's values change -- and because a refusal has to say what
would happen and how to do it safely, which a protect error cannot.

A scale-in goes through only when the worksheet acknowledges it (``targets.decommissioned``,
``targets.scaleInTo``, ``targets.removedMountpoints``); an identity change only with
``identityChange``. Adding nodes, mountpoints or proxies never needs an acknowledgement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aisinfra.chart import naming
from aisinfra.chart.values import chart_source
from aisinfra.worksheet.model import Worksheet, WorksheetError


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

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> DeployedState:
        count = outputs.get("targetCount")
        return cls(
            release_name=outputs.get("releaseName"),
            namespace=outputs.get("namespace"),
            state_path=outputs.get("statePath"),
            chart_source=outputs.get("chartSource"),
            target_nodes=tuple(outputs.get("targetNodes") or ()),
            target_count=int(count) if count is not None else None,
            mountpoints=tuple(outputs.get("mountpoints") or ()),
            proxy_nodes=tuple(outputs.get("proxyNodes") or ()),
        )


def unsafe_changes(deployed: DeployedState, worksheet: Worksheet) -> list[str]:
    return (
        _removed_targets(deployed, worksheet)
        + _lowered_count(deployed, worksheet)
        + _removed_mountpoints(deployed, worksheet)
        + _removed_proxies(deployed, worksheet)
        + _identity_changes(deployed, worksheet)
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
        f"{worksheet.state_path}/{deployed.release_name} behind",
        "namespace": "replaces the Helm release (uninstall, then install) in the new namespace",
        "statePath": "starts every proxy and target with empty state, orphaning the state under the old path",
        "chart": "installs a different chart over the deployed release",
    }
    now = {
        "releaseName": worksheet.release_name,
        "namespace": worksheet.namespace,
        "statePath": worksheet.state_path,
        "chart": chart_source(worksheet).identity,
    }
    before = {
        "releaseName": deployed.release_name,
        "namespace": deployed.namespace,
        "statePath": deployed.state_path,
        "chart": deployed.chart_source,
    }
    acknowledged = worksheet.identity_change.model_dump(by_alias=True)
    problems = []
    for key, value in now.items():
        if before[key] is None or before[key] == value or acknowledged[key] == value:
            continue
        problems.append(
            f"{key}: the deployed cluster has '{before[key]}'; changing it to '{value}' {consequence[key]}. "
            "If that is really wanted, back up first, and with protect on run `pulumi state unprotect` "
            f"for what gets replaced; then set identityChange.{key}: '{value}'"
        )
    return problems
