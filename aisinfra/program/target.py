"""The target layer: every target node carries ``nvidia.com/ais-target=<fullname>`` and
``aisinfra/cluster=<namespace>.<release>``."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from aisinfra.chart import naming
from aisinfra.program.nodes import label_node


@dataclass(frozen=True)
class TargetLayerArgs:
    release_name: str
    namespace: str
    nodes: list[str]
    node_reads: dict[str, k8s.core.v1.Node]


class TargetLayer(pulumi.ComponentResource):
    patches: dict[str, k8s.core.v1.NodePatch]

    def __init__(self, name: str, args: TargetLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aisinfra:index:TargetLayer", name, None, opts)
        labels = naming.target_node_labels(args.release_name, args.namespace)
        self.patches = {
            node: label_node(f"{name}-{node}", args.node_reads[node], node, labels, parent=self) for node in args.nodes
        }
        self.register_outputs({"nodes": args.nodes, "labels": labels})
