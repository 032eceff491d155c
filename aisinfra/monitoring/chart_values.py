"""What the chart's subcharts need for the dashboards and alerts: the values ``worksheet_values``
adds when built-in monitoring is on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aisinfra.monitoring.alerts import alerting_rules
from aisinfra.monitoring.scope import ClusterScope

if TYPE_CHECKING:
    from aisinfra.worksheet.model import Alerts

# The label the ais chart gives the grafana subchart's dashboard sidecar (values.yaml).
DASHBOARD_LABEL = "ais_grafana_dashboard"
# Where node-exporter sees the host's root, read-only: it stats the mountpoints through it.
HOST_ROOT_MOUNT = "/host/root"
HOST_ROOT_VOLUME = "root"


def monitoring_values(scope: ClusterScope, alerts: Alerts) -> dict[str, Any]:
    return {
        # The sidecar loads every ConfigMap with the label from the cluster's own namespace only,
        # so another cluster's dashboards never show in this Grafana.
        "grafana": {
            "sidecar": {"dashboards": {"enabled": True, "label": DASHBOARD_LABEL, "searchNamespace": scope.namespace}}
        },
        "prometheus": {
            "nodeExporter": {
                # node-exporter v1.0.1 (the subchart's) reads mounts from /host/proc and stats each
                # through --path.rootfs; without the host's root it cannot see the disks' space.
                "extraHostPathMounts": [
                    {
                        "name": HOST_ROOT_VOLUME,
                        "hostPath": "/",
                        "mountPath": HOST_ROOT_MOUNT,
                        "readOnly": True,
                        # Disks mounted after the pod started show too.
                        "mountPropagation": "HostToContainer",
                    }
                ],
                "extraArgs": {"path.rootfs": HOST_ROOT_MOUNT},
            },
            "serverFiles": {"alerting_rules.yml": alerting_rules(scope, alerts)},
        },
    }
