"""Labelling existing Kubernetes nodes, shared by the proxy and target layers."""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s


def read_node(resource_name: str, node: str, parent: pulumi.Resource) -> k8s.core.v1.Node:
    """Read a Node that must already exist. Read steps run during ``pulumi preview``, so a
    misspelled node fails the preview instead of a server-side-apply patch creating a phantom
    Node (patch creates are upserts and are not previewed against the cluster)."""
    return k8s.core.v1.Node.get(resource_name, node, opts=pulumi.ResourceOptions(parent=parent))


def label_node(
    resource_name: str,
    node: k8s.core.v1.Node,
    node_name: str,
    labels: dict[str, str],
    parent: pulumi.Resource,
) -> k8s.core.v1.NodePatch:
    """Own ``labels`` on one node through server-side apply.

    Each patch resource has a field manager of its own, so a label that another stack or a
    person already owns makes ``pulumi up`` fail with a conflict instead of being taken over:
    ``pulumi.com/patchForce`` is deliberately never set. Dropping a label from the patch, or
    deleting the patch, removes exactly the labels it owned.
    """
    return k8s.core.v1.NodePatch(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaPatchArgs(name=node_name, labels=labels),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[node]),
    )
