"""The AIStore chart's naming rules, in one place.

Everything the chart derives from the release name -- its ``fullname``, the node label
values its pods select on, the proxy service -- is computed here and nowhere else, so
the labels this program puts on nodes always match the chart's nodeSelectors.
"""

from __future__ import annotations

import hashlib

from aisinfra.worksheet.k8s import MAX_LABEL_VALUE

TARGET_LABEL_KEY = "nvidia.com/ais-target"
PROXY_LABEL_KEY = "nvidia.com/ais-proxy"
INITIAL_PRIMARY_LABEL_KEY = "nvidia.com/ais-initial-primary-proxy"
# Not the chart's: this program's own label, which the target and proxy pods also require
# (``cluster_label_value``).
CLUSTER_LABEL_KEY = "aisinfra/cluster"
PROXY_PORT = 51080


def fullname(release_name: str) -> str:
    """The chart's ``ais.fullname`` template: the release name if it contains "ais",
    else ``<release>-ais``; then ``trunc 63 | trimSuffix "-"`` (one dash, as sprig does)."""
    name = release_name if "ais" in release_name else f"{release_name}-ais"
    return name[:MAX_LABEL_VALUE].removesuffix("-")


def _subchart_fullname(release_name: str, chart: str) -> str:
    """The graphite and grafana subcharts' ``<chart>.fullname``: as ``ais.fullname``, with their own name."""
    name = release_name if chart in release_name else f"{release_name}-{chart}"
    return name[:MAX_LABEL_VALUE].removesuffix("-")


def graphite_fullname(release_name: str) -> str:
    """The graphite subchart's StatefulSet and Service."""
    return _subchart_fullname(release_name, "graphite")


def graphite_address(release_name: str) -> str:
    """Where the chart sends AIStore's stats and points Grafana: ``{{ .Release.Name }}-graphite``,
    written out, not through the subchart's ``graphite.fullname``."""
    return f"{release_name}-graphite"


def prometheus_server_fullname(release_name: str) -> str:
    """The prometheus subchart's ``prometheus.server.fullname`` (its server's Service)."""
    name = f"{release_name}-server" if "prometheus" in release_name else f"{release_name}-prometheus-server"
    return name[:MAX_LABEL_VALUE].removesuffix("-")


def prometheus_server_address(release_name: str) -> str:
    """Where the chart points Grafana's Prometheus datasource: ``{{ .Release.Name }}-prometheus-server``."""
    return f"{release_name}-prometheus-server"


def statefulset_names(release_name: str, monitoring: bool) -> dict[str, str]:
    """The StatefulSets the chart names after the release, by what they run."""
    names = {"target": f"{fullname(release_name)}-target", "proxy": f"{fullname(release_name)}-proxy"}
    if monitoring:
        names["Graphite"] = graphite_fullname(release_name)
    return names


def service_names(release_name: str) -> list[str]:
    """The AIStore chart's own Services (the per-target ``-target-<n>`` ones extend ``-target``)."""
    return [f"{fullname(release_name)}-{suffix}" for suffix in ("proxy", "proxy-external", "target")]


def target_label_value(release_name: str) -> str:
    return fullname(release_name)


def proxy_label_value(release_name: str) -> str:
    return f"{fullname(release_name)}-electable"


def initial_primary_label_value(release_name: str) -> str:
    return fullname(release_name)


def cluster_label_value(namespace: str, release_name: str) -> str:
    """Which AIStore cluster a node belongs to, unique in a Kubernetes cluster: Helm release
    names are unique per namespace, and neither part can contain a dot.

    The chart's own label values are only its ``fullname``, which two releases can share
    (``demo`` and ``demo-ais``): pods that also require this label never start on another
    cluster's nodes. ``<namespace>.<release>`` when it fits a label value; otherwise cut, with
    a digest of the whole after it so that it stays unique."""
    identity = f"{namespace}.{release_name}"
    if len(identity) <= MAX_LABEL_VALUE:
        return identity
    digest = hashlib.sha256(identity.encode()).hexdigest()[:10]
    return f"{identity[: MAX_LABEL_VALUE - len(digest) - 1]}-{digest}"


def mountpoint_volume_name(mountpoint: str) -> str:
    """The chart names each mountpoint's hostPath volume ``fspath{{ replace "/" "-" }}``."""
    return "fspath" + mountpoint.replace("/", "-")


def host_state_directory(state_path: str, release_name: str, role: str) -> str:
    """The host directory the chart keeps a node's AIStore state in: ``hostpathPrefix/<release>/<role>``
    (roles ``target``, ``proxy``, ``proxy_env``) -- keyed by release name, not namespace."""
    return f"{state_path}/{release_name}/{role}"


def proxy_endpoint(release_name: str, namespace: str) -> str:
    return f"http://{fullname(release_name)}-proxy.{namespace}:{PROXY_PORT}"


def cluster_scoped_prefix(namespace: str, release_name: str) -> str:
    """What makes a cluster-scoped name unique to one release: neither a namespace nor a
    release name can contain a dot, so the first two dots separate them unambiguously."""
    return f"{namespace}.{release_name}."


def monitoring_volume_name(release_name: str, namespace: str, service: str) -> str:
    """PersistentVolumes are cluster-scoped, so they carry the release's cluster-scoped prefix."""
    return f"{cluster_scoped_prefix(namespace, release_name)}{fullname(release_name)}-{service}"


def monitoring_claim_name(release_name: str, service: str) -> str:
    return f"{fullname(release_name)}-{service}"


GRAFANA_ADMIN_USER_KEY = "admin-user"
GRAFANA_ADMIN_PASSWORD_KEY = "admin-password"


def grafana_admin_secret_name(release_name: str) -> str:
    return f"{fullname(release_name)}-grafana-admin"


def target_node_labels(release_name: str, namespace: str) -> dict[str, str]:
    """What every target node carries: the chart's nodeSelector, and the cluster it belongs to."""
    return {
        TARGET_LABEL_KEY: target_label_value(release_name),
        CLUSTER_LABEL_KEY: cluster_label_value(namespace, release_name),
    }


def proxy_node_labels(release_name: str, namespace: str) -> dict[str, str]:
    """What every proxy node carries: the chart's nodeSelector, and the cluster it belongs to."""
    return {
        PROXY_LABEL_KEY: proxy_label_value(release_name),
        CLUSTER_LABEL_KEY: cluster_label_value(namespace, release_name),
    }


def label_selectors(release_name: str, namespace: str) -> dict[str, str]:
    """``kubectl get nodes -l ...`` selectors for each role's nodes, and for all of them."""

    def selector(labels: dict[str, str]) -> str:
        return ",".join(f"{key}={value}" for key, value in labels.items())

    return {
        "target": selector(target_node_labels(release_name, namespace)),
        "proxy": selector(proxy_node_labels(release_name, namespace)),
        "initialPrimary": f"{INITIAL_PRIMARY_LABEL_KEY}={initial_primary_label_value(release_name)}",
        "cluster": f"{CLUSTER_LABEL_KEY}={cluster_label_value(namespace, release_name)}",
    }
