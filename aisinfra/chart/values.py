"""The AIStore chart's values, computed from the worksheet.

``worksheet_values`` maps worksheet items to the chart's value keys (the table in the
chart's reference README); ``release_values`` deep-merges ``chart.values`` on top for
what the worksheet does not cover. A ``chart.values`` key that would overwrite a value the
worksheet sets is a mistake in the worksheet (``override_conflicts``), not a silent win.
"""

from __future__ import annotations

import copy
import posixpath
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aisinfra.chart import naming
from aisinfra.monitoring.chart_values import monitoring_values
from aisinfra.monitoring.scope import cluster_scope

if TYPE_CHECKING:
    from aisinfra.worksheet.model import Worksheet

MONITORING_SERVICES = ("graphite", "grafana")


OCI_SCHEME = "oci://"


@dataclass(frozen=True)
class ChartSource:
    """The Release's chart as the provider takes it: a local path; a name in an HTTP chart
    repository (``repo``); or an OCI reference, which names the chart itself (``oci://host/path/ais``)
    and takes no repository option."""

    chart: str
    version: str | None = None
    repo: str | None = None

    @property
    def remote(self) -> bool:
        return self.repo is not None or self.chart.startswith(OCI_SCHEME)

    @property
    def identity(self) -> str:
        """Where the chart comes from, not its version: an upgrade keeps the identity. A repository
        chart is ``<repo> <name>``, an OCI one too (as the worksheet writes it), a path as written
        (``same_chart`` compares paths by the directory they name)."""
        if self.repo:
            return f"{self.repo} {self.chart}"
        if self.chart.startswith(OCI_SCHEME):
            repository, _, name = self.chart.rpartition("/")
            return f"{repository} {name}"
        return f"path {self.chart}"


def same_chart(identity: str, other: str) -> bool:
    """Whether two chart identities name one chart: ``path chart/`` and ``path ./chart`` do."""
    if identity.startswith("path ") and other.startswith("path "):
        return posixpath.normpath(identity.removeprefix("path ")) == posixpath.normpath(other.removeprefix("path "))
    return identity == other


def chart_source(worksheet: Worksheet) -> ChartSource:
    chart = worksheet.chart
    if chart.path is not None:
        return ChartSource(chart=chart.path)
    # Without a path the worksheet model has required repo, name and version.
    assert chart.name is not None and chart.repo is not None
    if chart.repo.startswith(OCI_SCHEME):
        # Helm pulls an OCI chart by its full reference; a repository option is an HTTP index's.
        return ChartSource(chart=f"{chart.repo.rstrip('/')}/{chart.name}", version=chart.version)
    return ChartSource(chart=chart.name, version=chart.version, repo=chart.repo)


def split_image(image: str) -> dict[str, str]:
    repository, _, tag = image.rpartition(":")
    return {"repository": repository, "tag": tag}


def monitoring_claims(worksheet: Worksheet) -> dict[str, str]:
    """The claim each monitoring service mounts: the user's, or the one this program creates."""
    monitoring = worksheet.monitoring
    if not monitoring.enabled:
        return {}
    claims = {}
    for service in MONITORING_SERVICES:
        storage = getattr(monitoring, service)
        claims[service] = storage.existing_claim or naming.monitoring_claim_name(worksheet.release_name, service)
    return claims


@dataclass(frozen=True)
class MonitoringVolume:
    """A PersistentVolume and its claim that the program creates for a monitoring service."""

    service: str
    volume_name: str
    claim_name: str
    node: str
    path: str
    size: str


def monitoring_volumes(worksheet: Worksheet) -> list[MonitoringVolume]:
    """One per monitoring service that does not use an existing claim."""
    volumes = []
    for service, claim in monitoring_claims(worksheet).items():
        storage = getattr(worksheet.monitoring, service)
        if storage.existing_claim is None:
            volumes.append(
                MonitoringVolume(
                    service=service,
                    volume_name=naming.monitoring_volume_name(worksheet.release_name, worksheet.namespace, service),
                    claim_name=claim,
                    node=storage.node,
                    path=storage.path,
                    size=storage.size,
                )
            )
    return volumes


def required_node_labels(labels: dict[str, str]) -> dict[str, Any]:
    """A pod's required node affinity on exactly these labels. Helm merges it into the chart's
    default ``affinity`` of the role (its pod anti-affinity stays)."""
    expressions = [{"key": key, "operator": "In", "values": [value]} for key, value in labels.items()]
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": expressions}]}
        }
    }


def worksheet_values(worksheet: Worksheet) -> dict[str, Any]:
    release, namespace = worksheet.release_name, worksheet.namespace
    values: dict[str, Any] = {
        "aiscluster": {
            "expected_target_nodes": worksheet.expected_targets,
            "expected_proxy_nodes": len(worksheet.proxy_nodes),
            "hostpathPrefix": worksheet.state_path,
            "image": {
                "aisnode": split_image(worksheet.images.aisnode),
                "kubectl": split_image(worksheet.images.init_container),
            },
            "target": {"mountPaths": worksheet.mountpoints},
        },
        # The chart's nodeSelector alone is its fullname, which another release can share: the
        # pods also require every label of their role, so they start only on this stack's nodes.
        "target": {"affinity": required_node_labels(naming.target_node_labels(release, namespace))},
        "proxy": {"affinity": required_node_labels(naming.proxy_node_labels(release, namespace))},
        # Helm enables a subchart when any of its tags is true, so both are always set.
        "tags": {
            "builtin_monitoring": worksheet.monitoring.enabled,
            "prometheus": worksheet.prometheus_enabled,
        },
    }
    if worksheet.monitoring.enabled:
        for service, claim in monitoring_claims(worksheet).items():
            # An empty ais.pv.path stops the chart from making its own PV and claim.
            values[service] = {
                "persistence": {"enabled": True, "existingClaim": claim},
                "ais": {"pv": {"path": ""}},
            }
        # Works around the graphite subchart's nil-pointer on .Values.graphite.affinity.
        values["graphite"]["graphite"] = {"affinity": {}}
        if worksheet.grafana_admin_password is not None:
            # The password reaches Grafana through a Secret of this program's, so the release
            # values hold no secret and stay readable in `pulumi preview --diff`.
            values["grafana"]["admin"] = {
                "existingSecret": naming.grafana_admin_secret_name(worksheet.release_name),
                "userKey": naming.GRAFANA_ADMIN_USER_KEY,
                "passwordKey": naming.GRAFANA_ADMIN_PASSWORD_KEY,
            }
        values = deep_merge(values, monitoring_values(cluster_scope(worksheet), worksheet.monitoring.alerts))
        # node-exporter listens on each node's own port 9100: only on this cluster's nodes, so
        # that another cluster's node-exporter never finds the port taken.
        cluster = {naming.CLUSTER_LABEL_KEY: naming.cluster_label_value(namespace, release)}
        values["prometheus"]["nodeExporter"]["nodeSelector"] = cluster
    else:
        host, _, port = (worksheet.monitoring.external_graphite or "").rpartition(":")
        values["external_monitoring"] = {"graphite_host": host, "graphite_port": int(port)}
    return values


def override_conflicts(worksheet: Worksheet) -> list[str]:
    """``chart.values`` keys that would overwrite what the worksheet sets."""
    return [
        f"chart.values.{path}: is set from the worksheet; change the worksheet item instead "
        "of overriding it in chart.values"
        for path in _shared_leaves(worksheet_values(worksheet), worksheet.chart.values)
    ]


def _shared_leaves(base: dict[str, Any], override: dict[str, Any], prefix: str = "") -> list[str]:
    shared = []
    for key, value in override.items():
        if key not in base:
            continue
        if isinstance(value, dict) and isinstance(base[key], dict):
            shared += _shared_leaves(base[key], value, f"{prefix}{key}.")
        else:
            shared.append(f"{prefix}{key}")
    return shared


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def release_values(worksheet: Worksheet) -> dict[str, Any]:
    """Everything the Release gets: worksheet values, then ``chart.values`` on top."""
    return deep_merge(worksheet_values(worksheet), worksheet.chart.values)
