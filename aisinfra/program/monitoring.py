"""The monitoring layer: for Graphite and Grafana, a PersistentVolume on the nominated node
and a claim bound to it in the cluster's namespace -- unless the worksheet names an existing
claim. The chart is then handed the claims (see ``aisinfra.values``). When the stack sets
a Grafana admin password, a Secret holds it for the chart's ``grafana.admin.existingSecret``.
Each of the cluster's dashboards is a ConfigMap with the label the chart's Grafana sidecar loads."""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from aisinfra.chart import naming
from aisinfra.chart.values import MonitoringVolume
from aisinfra.monitoring.chart_values import DASHBOARD_LABEL
from aisinfra.monitoring.dashboards import DashboardFile


@dataclass(frozen=True)
class GrafanaAdmin:
    secret_name: str
    password: pulumi.Input[str]  # a secret Output


@dataclass(frozen=True)
class MonitoringLayerArgs:
    namespace: pulumi.Input[str]
    volumes: list[MonitoringVolume]
    node_reads: dict[str, k8s.core.v1.Node]
    protect: bool
    grafana_admin: GrafanaAdmin | None = None
    # Empty with monitoring off: there is no Grafana of the chart's to load them.
    dashboards: list[DashboardFile] = field(default_factory=list)


class MonitoringLayer(pulumi.ComponentResource):
    volumes: dict[str, k8s.core.v1.PersistentVolume]
    claims: dict[str, k8s.core.v1.PersistentVolumeClaim]
    grafana_admin_secret: k8s.core.v1.Secret | None
    dashboards: dict[str, k8s.core.v1.ConfigMap]

    def __init__(self, name: str, args: MonitoringLayerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("aisinfra:index:MonitoringLayer", name, None, opts)
        self.volumes, self.claims = {}, {}
        for volume in args.volumes:
            self.volumes[volume.service] = self._volume(name, volume, args)
            self.claims[volume.service] = self._claim(name, volume, args)
        self.grafana_admin_secret = None
        if args.grafana_admin is not None:
            self.grafana_admin_secret = k8s.core.v1.Secret(
                f"{name}-grafana-admin",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=args.grafana_admin.secret_name, namespace=args.namespace),
                string_data={
                    naming.GRAFANA_ADMIN_USER_KEY: "admin",
                    naming.GRAFANA_ADMIN_PASSWORD_KEY: args.grafana_admin.password,
                },
                opts=pulumi.ResourceOptions(parent=self),
            )
        self.dashboards = {
            dashboard.configmap_name: self._dashboard(name, dashboard, args) for dashboard in args.dashboards
        }
        self.register_outputs(
            {
                "claims": {volume.service: volume.claim_name for volume in args.volumes},
                "dashboards": [dashboard.title for dashboard in args.dashboards],
            }
        )

    def _dashboard(self, name: str, dashboard: DashboardFile, args: MonitoringLayerArgs) -> k8s.core.v1.ConfigMap:
        return k8s.core.v1.ConfigMap(
            f"{name}-dashboard-{dashboard.key}",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=dashboard.configmap_name, namespace=args.namespace, labels={DASHBOARD_LABEL: "1"}
            ),
            data={dashboard.file_name: dashboard.text},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _volume(self, name: str, volume: MonitoringVolume, args: MonitoringLayerArgs) -> k8s.core.v1.PersistentVolume:
        return k8s.core.v1.PersistentVolume(
            f"{name}-{volume.service}-pv",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=volume.volume_name),
            spec=k8s.core.v1.PersistentVolumeSpecArgs(
                capacity={"storage": volume.size},
                access_modes=["ReadWriteOnce"],
                # Monitoring history outlives the claim: deleting the claim never wipes the disk.
                persistent_volume_reclaim_policy="Retain",
                # No storage class: the claim binds to this volume by name, nothing is provisioned.
                storage_class_name="",
                local=k8s.core.v1.LocalVolumeSourceArgs(path=volume.path),
                node_affinity=k8s.core.v1.VolumeNodeAffinityArgs(
                    required=k8s.core.v1.NodeSelectorArgs(
                        node_selector_terms=[
                            k8s.core.v1.NodeSelectorTermArgs(
                                match_expressions=[
                                    k8s.core.v1.NodeSelectorRequirementArgs(
                                        key="kubernetes.io/hostname", operator="In", values=[volume.node]
                                    )
                                ]
                            )
                        ]
                    )
                ),
                claim_ref=k8s.core.v1.ObjectReferenceArgs(namespace=args.namespace, name=volume.claim_name),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.node_reads[volume.node]], protect=args.protect),
        )

    def _claim(
        self, name: str, volume: MonitoringVolume, args: MonitoringLayerArgs
    ) -> k8s.core.v1.PersistentVolumeClaim:
        return k8s.core.v1.PersistentVolumeClaim(
            f"{name}-{volume.service}-pvc",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=volume.claim_name, namespace=args.namespace),
            spec=k8s.core.v1.PersistentVolumeClaimSpecArgs(
                access_modes=["ReadWriteOnce"],
                storage_class_name="",
                volume_name=volume.volume_name,
                resources=k8s.core.v1.VolumeResourceRequirementsArgs(requests={"storage": volume.size}),
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.volumes[volume.service]], protect=args.protect),
        )
