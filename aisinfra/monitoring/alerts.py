"""Prometheus alerting rules of one cluster's target nodes and mountpoints.

They go to the prometheus subchart as ``serverFiles."alerting_rules.yml"``, which its server reads
from ``/etc/config/alerting_rules.yml``. Every alert carries the node (``kubernetes_node``) and,
for a disk, the mountpoint in its labels, and says in its annotations what to do. Thresholds are
the worksheet's ``monitoring.alerts`` keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aisinfra.monitoring import metrics, queries
from aisinfra.monitoring.scope import ClusterScope

if TYPE_CHECKING:
    from aisinfra.worksheet.model import Alerts

# The window predict_linear fits a mountpoint's free space over.
FILL_TREND_WINDOW = "6h"
# How long a full or read-only mountpoint must stay so before it alerts (a scrape's hiccup never does).
DISK_STATE_FOR = "5m"
FILL_TREND_FOR = "30m"
NODE = f"{{{{ $labels.{metrics.NODE_LABEL} }}}}"
MOUNTPOINT = f"{{{{ $labels.{metrics.MOUNTPOINT_LABEL} }}}}"
VALUE = "{{ $value | humanize }}"


def rule_group_name(scope: ClusterScope) -> str:
    return f"aistore-{scope.namespace}-{scope.release}"


@dataclass(frozen=True)
class AlertRule:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    action: str

    def document(self, scope: ClusterScope) -> dict[str, Any]:
        return {
            "alert": self.name,
            "expr": self.expr,
            "for": self.for_,
            "labels": {
                "severity": self.severity,
                "aistore_release": scope.release,
                "aistore_namespace": scope.namespace,
            },
            "annotations": {"summary": self.summary, "description": self.action},
        }


def alert_rules(scope: ClusterScope, alerts: Alerts) -> list[AlertRule]:
    cluster = f"AIStore {scope.label}"
    nodes, mountpoints = scope.nodes_regex, scope.mountpoints_regex
    fs = queries.filesystem_selector(nodes, mountpoints)
    used = queries.used_percent(nodes, mountpoints)
    return [
        AlertRule(
            name="AisTargetNodeDown",
            expr=queries.node_down(scope.target_nodes),
            for_=f"{alerts.node_down_minutes}m",
            severity="critical",
            summary=f"{cluster}: target node {NODE} reports no metrics",
            action=(
                f"Prometheus has not scraped node-exporter on {NODE} for {alerts.node_down_minutes} minutes: "
                f"the node is down or its node-exporter pod is gone. Check `kubectl get node {NODE}` and the "
                "node-exporter pod on it; the target on that node serves no data meanwhile."
            ),
        ),
        AlertRule(
            name="AisMountpointFullWarning",
            expr=f"{used} > {alerts.disk_warning_percent}",
            for_=DISK_STATE_FOR,
            severity="warning",
            summary=f"{cluster}: {MOUNTPOINT} on {NODE} is {VALUE}% full",
            action=(
                f"{MOUNTPOINT} on {NODE} is above {alerts.disk_warning_percent}% "
                "(monitoring.alerts.diskWarningPercent). Delete or evict objects, or add disks or target "
                "nodes before it reaches the critical threshold."
            ),
        ),
        AlertRule(
            name="AisMountpointFullCritical",
            expr=f"{used} > {alerts.disk_critical_percent}",
            for_=DISK_STATE_FOR,
            severity="critical",
            summary=f"{cluster}: {MOUNTPOINT} on {NODE} is {VALUE}% full",
            action=(
                f"{MOUNTPOINT} on {NODE} is above {alerts.disk_critical_percent}% "
                "(monitoring.alerts.diskCriticalPercent): PUTs to it fail soon. Free space now (delete "
                "objects, evict cached ones) or add capacity."
            ),
        ),
        AlertRule(
            name="AisMountpointFillsSoon",
            expr=(
                f"predict_linear({metrics.FILESYSTEM_AVAILABLE}{{{fs}}}[{FILL_TREND_WINDOW}], "
                f"{alerts.fill_within_hours} * 3600) < 0"
            ),
            for_=FILL_TREND_FOR,
            severity="warning",
            summary=f"{cluster}: {MOUNTPOINT} on {NODE} fills within {alerts.fill_within_hours} h",
            action=(
                f"At the rate of the last {FILL_TREND_WINDOW}, {MOUNTPOINT} on {NODE} is full within "
                f"{alerts.fill_within_hours} hours (monitoring.alerts.fillWithinHours). Find what writes "
                "(PUT rate, rebalance) and free or add space."
            ),
        ),
        AlertRule(
            name="AisMountpointReadOnly",
            expr=f"{metrics.FILESYSTEM_READONLY}{{{fs}}} == 1",
            for_=DISK_STATE_FOR,
            severity="critical",
            summary=f"{cluster}: {MOUNTPOINT} on {NODE} is read-only",
            action=(
                f"The filesystem at {MOUNTPOINT} on {NODE} turned read-only, usually after disk errors. "
                "Check the kernel log (dmesg) of the node; AIStore disables the mountpath. Replace the "
                "disk, then re-enable the mountpath."
            ),
        ),
        AlertRule(
            name="AisMountpointMissing",
            expr=queries.mountpoint_missing(nodes, scope.mountpoints, mountpoints),
            for_=DISK_STATE_FOR,
            severity="critical",
            summary=f"{cluster}: nothing is mounted at {MOUNTPOINT} on {NODE}",
            action=(
                f"{NODE} is up but has no filesystem at {MOUNTPOINT}: the disk dropped or was never "
                "mounted, and the target writes to the node's root disk instead. Check the disk "
                "(lsblk, dmesg), mount it again and restart the target pod."
            ),
        ),
        AlertRule(
            name="AisDiskSaturated",
            expr=f"100 * {queries.disk_rate(metrics.DISK_IO_TIME, nodes, mountpoints)} > {alerts.disk_busy_percent}",
            for_=f"{alerts.disk_busy_minutes}m",
            severity="warning",
            summary=f"{cluster}: the disk of {MOUNTPOINT} on {NODE} is {VALUE}% busy",
            action=(
                f"The disk of {MOUNTPOINT} on {NODE} was busy more than {alerts.disk_busy_percent}% of the "
                f"time for {alerts.disk_busy_minutes} minutes (monitoring.alerts.diskBusyPercent, "
                "diskBusyMinutes). A disk slower than its peers may be failing (check SMART); if all are "
                "busy, the cluster needs more disks or targets."
            ),
        ),
    ]


def alerting_rules(scope: ClusterScope, alerts: Alerts) -> dict[str, Any]:
    """The subchart's ``alerting_rules.yml``: one rule group, named after the cluster."""
    rules = [rule.document(scope) for rule in alert_rules(scope, alerts)]
    return {"groups": [{"name": rule_group_name(scope), "rules": rules}]}
