"""The proxy layer: every proxy node carries ``nvidia.com/ais-proxy=<fullname>-electable`` and
``aisinfra/cluster=<namespace>.<release>``;
the initial primary also carries ``nvidia.com/ais-initial-primary-proxy=<fullname>``."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from aisinfra.chart import naming
from aisinfra.program.nodes import label_node


@dataclass(frozen=True)
class ProxyLayerArgs:
    release_name: str
    namespace: str
    nodes: list[str]
    node_reads: dict[str, k8s.core.v1.Node]
    initial_primary: str
    # False once the cluster is up: the worksheet says the label can then go.
    initial_primary_label: bool


class ProxyLayer(pulumi.ComponentResource):
    patches: dict[str, k8s.core.v1.NodePatch]
    initial_primary_patch: k8s.core.v1.NodePatch | None

    def __init__(self, name: str, args: ProxyLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aisinfra:index:ProxyLayer", name, None, opts)
        labels = naming.proxy_node_labels(args.release_name, args.namespace)
        self.patches = {
            node: label_node(f"{name}-{node}", args.node_reads[node], node, labels, parent=self) for node in args.nodes
        }
        # A patch of its own, so the bootstrap label is dropped by deleting this one
        # resource while the electable labels stay untouched.
        self.initial_primary_patch = None
        if args.initial_primary_label:
            self.initial_primary_patch = label_node(
                f"{name}-initial-primary",
                args.node_reads[args.initial_primary],
                args.initial_primary,
                {naming.INITIAL_PRIMARY_LABEL_KEY: naming.initial_primary_label_value(args.release_name)},
                parent=self,
            )
        self.register_outputs({"nodes": args.nodes, "labels": labels, "initialPrimary": args.initial_primary})
