"""The refusals of unsafe changes, written out in full from what each must tell the user:
the key, the value, what would happen and what to do. Shared by the tests of the pure rules
(test_safety_rules.py) and of the whole program (test_safety.py)."""

from __future__ import annotations


def removed_target(node: str) -> str:
    return (
        f"targets.nodes: '{node}' is a deployed target and would lose its label, leaving its data unreachable. "
        "Decommission it first: `ais show cluster` for its node ID, then `ais cluster add-remove-nodes "
        f"decommission <NODE_ID>` and wait until `ais show rebalance` is done; then add '{node}' to "
        "targets.decommissioned"
    )


def lowered_count(before: int, after: int, pods: str, namespace: str = "ais") -> str:
    return (
        f"targets.initialCount: the target count would drop from {before} to {after}, and Kubernetes would "
        f"delete pod(s) {pods} (the highest ordinals) on whichever nodes they run, with no decommission. First "
        f"find their nodes (`kubectl -n {namespace} get pods -o wide`), decommission those targets with `ais cluster "
        "add-remove-nodes decommission <NODE_ID>` and wait until `ais show rebalance` is done; then set "
        f"targets.scaleInTo: {after}"
    )


def removed_mountpoint(path: str) -> str:
    return (
        f"targets.mountpoints: '{path}' is a deployed mountpoint; removing it takes its disk away from every "
        f"target with the objects on it. Detach it first on each target with `ais storage mountpath detach "
        f"<TARGET_ID> {path}` and wait until `ais show rebalance` is done; then add '{path}' to "
        "targets.removedMountpoints"
    )


def stale_scale_in_to(acknowledged: int, count: int) -> str:
    return (
        f"targets.scaleInTo: acknowledges a target count of {acknowledged}, but the worksheet's count is {count}; "
        "remove it once its scale-in is done, so that it cannot let a later one through"
    )


def identity_change(key: str, before: str, change: str, acknowledgement: str) -> str:
    return (
        f"{key}: the deployed cluster has {before}; changing it to {change}. If that is really wanted, back up "
        "first, and with protect on run `pulumi state unprotect` for what gets replaced; then set "
        f"identityChange.{key}: '{acknowledgement}'"
    )


def no_proxy_left(deployed: str) -> str:
    return (
        f"proxies.nodes: no deployed proxy node would remain ({deployed}); the cluster would lose every gateway "
        "and its primary. Add the new proxy nodes first, `pulumi up`, and remove the old ones in a later change"
    )


def stale_acknowledgement(key: str, acknowledged: str, current: str) -> str:
    return (
        f"identityChange.{key}: acknowledges '{acknowledged}', but the worksheet's value is '{current}'; remove it "
        "once its change is deployed, so that it cannot let a later one through"
    )
