"""One AIStore cluster: its namespace, the proxy, target and monitoring layers, and the
Helm release of the AIStore chart, installed once the nodes carry their labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

import pulumi
import pulumi_kubernetes as k8s

from aisinfra.chart import naming
from aisinfra.chart.fingerprint import POSTRENDER_LAUNCHER, release_description
from aisinfra.chart.values import chart_source, monitoring_volumes, release_values
from aisinfra.monitoring.dashboards import dashboard_files
from aisinfra.program.monitoring import GrafanaAdmin, MonitoringLayer, MonitoringLayerArgs
from aisinfra.program.nodes import read_node
from aisinfra.program.preflight import PreflightLayer, PreflightLayerArgs, node_checks
from aisinfra.program.proxy import ProxyLayer, ProxyLayerArgs
from aisinfra.program.target import TargetLayer, TargetLayerArgs
from aisinfra.worksheet.model import Worksheet
from aisinfra.worksheet.stackfile import PROJECT_DIR

# Helm runs the post-renderer by path with no arguments, from the provider's working
# directory, which is the project directory. A relative path keeps the value stored in the
# Release identical on every machine that runs the stack.
POSTRENDER_COMMAND = f"./{POSTRENDER_LAUNCHER}"
NODE_GONE_RUNBOOK = "docs/deploying.md, Runbook: 'A node that no longer exists'"
T = TypeVar("T")


@dataclass(frozen=True)
class AisClusterArgs:
    worksheet: Worksheet
    # Deployed nodes the worksheet no longer has (their label patches go in this update).
    leaving_nodes: list[str] = field(default_factory=list)


# The grafana subchart writes `randAlphaNum 40` as the admin password whenever none is
# given, so each render -- every `helm upgrade` -- makes a new one and restarts Grafana.
UNSET_GRAFANA_PASSWORD_WARNING = (
    "monitoring is on without grafanaAdminPassword: the grafana chart makes up a new admin password at every "
    "install and upgrade of the release, and each upgrade restarts Grafana with it; set one with "
    "`pulumi config set --secret grafanaAdminPassword`"
)


def grafana_admin(worksheet: Worksheet) -> GrafanaAdmin | None:
    if not worksheet.monitoring.enabled:
        return None
    if worksheet.grafana_admin_password is None:
        pulumi.log.warn(UNSET_GRAFANA_PASSWORD_WARNING)
        return None
    return GrafanaAdmin(
        secret_name=naming.grafana_admin_secret_name(worksheet.release_name),
        password=pulumi.Output.secret(worksheet.grafana_admin_password.get_secret_value()),
    )


def nodes_to_read(worksheet: Worksheet) -> list[str]:
    """Every node the program depends on, once each, in worksheet order."""
    nodes = worksheet.target_nodes + worksheet.proxy_nodes
    nodes += [volume.node for volume in monitoring_volumes(worksheet)]
    return list(dict.fromkeys(nodes))


# Output.all unions the resources of its inputs one after the other, so waiting on n URNs at once
# copies sets of 1, 2, ... n resources (quadratic: seconds at 2000 nodes). Waited on in groups,
# no set copied grows past what a group holds.
URNS_PER_GROUP = 64


def every_urn(resources: list[pulumi.Resource]) -> pulumi.Output[Any]:
    """One Output that resolves once every resource's URN has: grouped URNs, then groups. A group
    resolves to None, not to its URNs: the SDK looks through whatever an Output resolves to for
    Outputs within, and lists of lists of every URN were looked through once per level."""
    outputs: list[pulumi.Output[Any]] = [resource.urn for resource in resources]
    while len(outputs) > URNS_PER_GROUP:
        outputs = [
            pulumi.Output.all(*outputs[start : start + URNS_PER_GROUP]).apply(_nothing)
            for start in range(0, len(outputs), URNS_PER_GROUP)
        ]
    return pulumi.Output.all(*outputs)


def _nothing(_: Any) -> None:
    return None


class AisCluster(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    proxies: ProxyLayer
    targets: TargetLayer
    monitoring: MonitoringLayer
    preflight: PreflightLayer | None
    release: k8s.helm.v3.Release
    # Every custom resource this stack registers (reads included), and their URNs, each
    # resolved only once its resource is in place; see once_deployed.
    resources: list[pulumi.Resource]
    in_place: pulumi.Output[Any]

    def __init__(self, name: str, args: AisClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aisinfra:index:AisCluster", name, None, opts)
        worksheet = args.worksheet
        keep = worksheet.protect
        if worksheet.existing_namespace:
            # Read, never owned: `pulumi destroy` leaves it and whatever else lives in it.
            self.namespace = k8s.core.v1.Namespace.get(
                f"{name}-namespace", worksheet.namespace, opts=pulumi.ResourceOptions(parent=self)
            )
        else:
            self.namespace = k8s.core.v1.Namespace(
                f"{name}-namespace",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=worksheet.namespace),
                opts=pulumi.ResourceOptions(parent=self, protect=keep),
            )
        node_reads = {node: read_node(f"{name}-node-{node}", node, parent=self) for node in nodes_to_read(worksheet)}
        leaving_reads = [self._check_leaving_node(name, node) for node in args.leaving_nodes]
        self.proxies = ProxyLayer(
            f"{name}-proxies",
            ProxyLayerArgs(
                release_name=worksheet.release_name,
                namespace=worksheet.namespace,
                nodes=worksheet.proxy_nodes,
                node_reads=node_reads,
                initial_primary=worksheet.initial_primary,
                initial_primary_label=worksheet.proxies.initial_primary_label,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.targets = TargetLayer(
            f"{name}-targets",
            TargetLayerArgs(
                release_name=worksheet.release_name,
                namespace=worksheet.namespace,
                nodes=worksheet.target_nodes,
                node_reads=node_reads,
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.monitoring = MonitoringLayer(
            f"{name}-monitoring",
            MonitoringLayerArgs(
                namespace=self.namespace.metadata.name,
                volumes=monitoring_volumes(worksheet),
                node_reads=node_reads,
                protect=keep,
                grafana_admin=grafana_admin(worksheet),
                dashboards=dashboard_files(worksheet) if worksheet.monitoring.enabled else [],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.preflight = None
        if worksheet.preflight.enabled:
            self.preflight = PreflightLayer(
                f"{name}-preflight",
                PreflightLayerArgs(
                    namespace=self.namespace.metadata.name,
                    release_name=worksheet.release_name,
                    checks=node_checks(worksheet),
                    node_reads=node_reads,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        layers: list[pulumi.Resource] = [self.proxies, self.targets, self.monitoring]
        # AIStore installs or upgrades only once every target node's disks passed.
        layers += [self.preflight] if self.preflight is not None else []
        source = chart_source(worksheet)
        self.release = k8s.helm.v3.Release(
            f"{name}-release",
            k8s.helm.v3.ReleaseArgs(
                name=worksheet.release_name,
                namespace=self.namespace.metadata.name,
                chart=source.chart,
                version=source.version,
                repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=source.repo) if source.repo else None,
                dependency_update=worksheet.chart.dependency_update,
                values=release_values(worksheet),
                postrender=POSTRENDER_COMMAND,
                # Changes exactly when the post-renderer's code or the chart's files do, so
                # that a repair or a chart edit shows in the diff and upgrades the release.
                description=release_description(source, PROJECT_DIR),
                timeout=worksheet.chart.timeout_seconds,
                # A rollback on a timeout would delete a cluster's pods mid-bootstrap; a
                # timed-out release stays as it is and the next `pulumi up` upgrades it.
                atomic=False,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=layers, protect=keep),
        )
        self.resources = [
            self.namespace,
            *node_reads.values(),
            *leaving_reads,
            *self.proxies.patches.values(),
            *([self.proxies.initial_primary_patch] if self.proxies.initial_primary_patch is not None else []),
            *self.targets.patches.values(),
            *self.monitoring.volumes.values(),
            *self.monitoring.claims.values(),
            *([self.monitoring.grafana_admin_secret] if self.monitoring.grafana_admin_secret is not None else []),
            *(self.preflight.jobs.values() if self.preflight is not None else []),
            self.release,
        ]
        self.in_place = every_urn(self.resources)
        self.register_outputs({"releaseStatus": self.release.status.status})

    def once_deployed(self, value: T) -> pulumi.Output[T]:
        """``value``, resolved only once every resource of this update has been created, updated
        or read. The deployed-state guard reads the stack's last outputs as what is deployed;
        the SDK sends the stack's outputs only when every exported value resolved, and the
        engine keeps the old outputs after a failed update except those the failed run sent.
        Exported through this, a failure of any resource -- after the Release was upgraded too
        -- sends none of them, so the record never runs ahead of what was deployed. (Deleting
        the patches of nodes that left happens after the program ends, where no output can
        wait for it: docs/deploying.md, Runbook, 'After a failed up'.)"""
        return self.in_place.apply(lambda _: value)

    def _check_leaving_node(self, name: str, node: str) -> k8s.core.v1.Node:
        """Deleting a label patch applies to its Node, and creates an empty Node if the node is
        gone from Kubernetes. Reading the node first fails the preview instead, before any
        delete, under a name that says why."""
        read = read_node(f"{name}-leaving-node-{node}", node, parent=self)
        pulumi.log.warn(
            f"node '{node}' leaves this cluster: its label patches are deleted by this update. If the read "
            f"'{name}-leaving-node-{node}' fails because '{node}' no longer exists in Kubernetes, first "
            f"take the patches of '{node}' out of the state (`python -m aisinfra teardown-check`, "
            f"{NODE_GONE_RUNBOOK}), then run again",
            # On the component, not the read: the SDK attaches a log to a resource in a task that
            # waits for its URN, and when the read fails -- the case this warns of -- that task's
            # error is never retrieved and is printed as a traceback after the run's own error.
            resource=self,
        )
        return read
