"""``teardown-check``: the label patches in a stack's state whose node is gone from Kubernetes.

Deleting a ``NodePatch`` relinquishes its labels with an apply that names only the Node, and
the API server creates a Node of that name if none exists: an empty, phantom Node. ``pulumi
up`` reads every node first (``Node.get``), so a vanished node fails it before any delete;
``pulumi destroy`` does not run the program (unless ``--run-program``), and a failed update
that had already recorded a node as gone no longer reads it. Before either, such patches must
leave the state without touching the cluster. ``pulumi state delete`` refuses them: the
Release depends on every patch (its ``depends_on`` names the layers, which the SDK expands to
their resources). So this writes the stack's exported state without them, and without the
references to them, for ``pulumi stack import``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

NODE_PATCH = "kubernetes:core/v1:NodePatch"


@dataclass(frozen=True)
class VanishedPatch:
    urn: str
    node: str


def node_names(listing: str) -> set[str]:
    """The nodes in ``kubectl get nodes -o name`` output (``node/NAME``), or one name a line."""
    names = set()
    for line in listing.splitlines():
        name = line.strip().removeprefix("node/")
        if name:
            names.add(name)
    return names


def _resources(export: dict[str, Any]) -> list[dict[str, Any]]:
    deployment = export.get("deployment")
    if not isinstance(deployment, dict) or not isinstance(deployment.get("resources", []), list):
        raise ValueError("not a `pulumi stack export` result: no deployment.resources")
    return list(deployment.get("resources") or [])


def _patched_node(resource: dict[str, Any]) -> str | None:
    for side in ("inputs", "outputs"):
        metadata = (resource.get(side) or {}).get("metadata") or {}
        if isinstance(metadata.get("name"), str):
            return str(metadata["name"])
    return None


def vanished_patches(export: dict[str, Any], nodes: set[str]) -> list[VanishedPatch]:
    """Every label patch of the exported state whose node is not among ``nodes``, in state order."""
    vanished = []
    for resource in _resources(export):
        if resource.get("type") != NODE_PATCH or resource.get("delete"):
            continue
        node = _patched_node(resource)
        if node is not None and node not in nodes:
            vanished.append(VanishedPatch(str(resource["urn"]), node))
    return vanished


def without_resources(export: dict[str, Any], urns: set[str]) -> dict[str, Any]:
    """The exported state without the resources ``urns`` nor any reference to them (the
    dependencies, property dependencies and ``deletedWith`` of the others)."""
    repaired = copy.deepcopy(export)
    kept = []
    for resource in _resources(repaired):
        if resource.get("urn") in urns:
            continue
        if isinstance(resource.get("dependencies"), list):
            resource["dependencies"] = [urn for urn in resource["dependencies"] if urn not in urns]
        for name, dependencies in (resource.get("propertyDependencies") or {}).items():
            resource["propertyDependencies"][name] = [urn for urn in dependencies if urn not in urns]
        if resource.get("deletedWith") in urns:
            del resource["deletedWith"]
        kept.append(resource)
    repaired["deployment"]["resources"] = kept
    return repaired


def dependents(export: dict[str, Any], urns: set[str]) -> list[str]:
    """The resources that depend on one of ``urns``: why ``pulumi state delete`` refuses them."""
    return [
        str(resource["urn"])
        for resource in _resources(export)
        if resource.get("urn") not in urns and urns & set(resource.get("dependencies") or [])
    ]
