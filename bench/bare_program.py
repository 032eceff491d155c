"""The baseline for ``bench/run.py``: a bare Pulumi program that registers what ``__main__.py``
registers for the bench worksheet's labels and chart, and nothing else.

One ``NodePatch`` per node and role (target, proxy, initial primary) with the same names and
labels, one preflight ``batch.v1.Job`` per target node with the same name and spec (built by the
program's own functions), and one ``helm.v3.Release`` with the same values. No worksheet model, no validation, no
safety check, no components, no node reads, no namespace, volumes or outputs. It understands only
the bench worksheet's shape (chart from a path, built-in monitoring on volumes the program
creates) and trusts it. ``bench/run.py`` runs it through ``aisinfra.review.render.run_program`` in place
of ``__main__.py``, so both go through the same mock runtime and recording monitor.

With ``bench:nodeReads`` set to true it also reads every node once (``Node.get``, named as the
program names its reads) and makes each patch and Job depend on its node's read, as the program does:
that variant tells how much of the program's extra time is the guard alone.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from aisinfra.chart import naming
from aisinfra.chart.fingerprint import release_description
from aisinfra.chart.values import ChartSource, required_node_labels
from aisinfra.monitoring.chart_values import monitoring_values
from aisinfra.monitoring.scope import ClusterScope
from aisinfra.program.preflight import NodeCheck, job_metadata, job_spec
from aisinfra.worksheet.model import DEFAULT_PREFLIGHT_IMAGE, Alerts
from aisinfra.worksheet.patterns import expand
from aisinfra.worksheet.stackfile import PROJECT_DIR

DEFAULT_STATE_PATH = "/etc/ais"
DEFAULT_INIT_IMAGE = "aistore/ais-init:latest"
DEFAULT_AISNODE_IMAGE = "aistore/aisnode:3.4"
POSTRENDER_COMMAND = "./aisinfra/chart/bin/postrender"
RELEASE_TIMEOUT_SECONDS = 1800
# The program's resource names start with its cluster component's name; the same names keep
# the URNs (and so the work of building and recording them) alike.
NAME = "aistore"
MONITORING_SERVICES = ("graphite", "grafana")


def _names(patterns: list[str]) -> list[str]:
    return [name for pattern in patterns for name in expand(pattern)]


def _image(image: str) -> dict[str, str]:
    repository, _, tag = image.rpartition(":")
    return {"repository": repository, "tag": tag}


def bare_values(
    release_name: str,
    namespace: str,
    state_path: str,
    target_count: int,
    proxy_count: int,
    mountpoints: list[str],
    images: dict[str, str],
    target_nodes: list[str],
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "aiscluster": {
            "expected_target_nodes": target_count,
            "expected_proxy_nodes": proxy_count,
            "hostpathPrefix": state_path,
            "image": {
                "aisnode": _image(images.get("aisnode", DEFAULT_AISNODE_IMAGE)),
                "kubectl": _image(images.get("initContainer", DEFAULT_INIT_IMAGE)),
            },
            "target": {"mountPaths": mountpoints},
        },
        "target": {"affinity": required_node_labels(naming.target_node_labels(release_name, namespace))},
        "proxy": {"affinity": required_node_labels(naming.proxy_node_labels(release_name, namespace))},
        "tags": {"builtin_monitoring": True, "prometheus": True},
    }
    for service in MONITORING_SERVICES:
        values[service] = {
            "persistence": {"enabled": True, "existingClaim": naming.monitoring_claim_name(release_name, service)},
            "ais": {"pv": {"path": ""}},
        }
    values["graphite"]["graphite"] = {"affinity": {}}
    # The dashboards' sidecar, node-exporter's view of the disks and the alerting rules, with the
    # default thresholds (the bench worksheet sets none).
    scope = ClusterScope(release_name, namespace, tuple(target_nodes), tuple(mountpoints))
    monitoring = monitoring_values(scope, Alerts())
    values["grafana"]["sidecar"] = monitoring["grafana"]["sidecar"]
    values["prometheus"] = monitoring["prometheus"]
    values["prometheus"]["nodeExporter"]["nodeSelector"] = {
        naming.CLUSTER_LABEL_KEY: naming.cluster_label_value(namespace, release_name)
    }
    return values


def _patch(
    resource_name: str, node: str, labels: dict[str, str], read: k8s.core.v1.Node | None
) -> k8s.core.v1.NodePatch:
    return k8s.core.v1.NodePatch(
        resource_name,
        metadata=k8s.meta.v1.ObjectMetaPatchArgs(name=node, labels=labels),
        opts=pulumi.ResourceOptions(depends_on=[read]) if read is not None else None,
    )


def _preflight_job(check: NodeCheck, namespace: str, release_name: str, read: k8s.core.v1.Node | None) -> None:
    k8s.batch.v1.Job(
        f"{NAME}-preflight-{check.node}",
        metadata=job_metadata(check, namespace, release_name),
        spec=job_spec(check),
        opts=pulumi.ResourceOptions(depends_on=[read]) if read is not None else None,
    )


def main() -> None:
    config = pulumi.Config("aisinfra")
    release_name = config.require("releaseName")
    namespace = config.require("namespace")
    targets: dict[str, Any] = config.require_object("targets")
    proxies: dict[str, Any] = config.require_object("proxies")
    chart: dict[str, Any] = config.require_object("chart")
    target_nodes, proxy_nodes = _names(targets["nodes"]), _names(proxies["nodes"])
    initial_primary = proxies.get("initialPrimary") or proxy_nodes[0]
    reads: dict[str, k8s.core.v1.Node] = {}
    if pulumi.Config("bench").get_bool("nodeReads"):
        reads = {
            node: k8s.core.v1.Node.get(f"{NAME}-node-{node}", node)
            for node in dict.fromkeys(target_nodes + proxy_nodes)
        }

    target_labels = naming.target_node_labels(release_name, namespace)
    proxy_labels = naming.proxy_node_labels(release_name, namespace)
    for node in target_nodes:
        _patch(f"{NAME}-targets-{node}", node, target_labels, reads.get(node))
    for node in proxy_nodes:
        _patch(f"{NAME}-proxies-{node}", node, proxy_labels, reads.get(node))
    _patch(
        f"{NAME}-proxies-initial-primary",
        initial_primary,
        {naming.INITIAL_PRIMARY_LABEL_KEY: naming.initial_primary_label_value(release_name)},
        reads.get(initial_primary),
    )

    state_path = config.get("statePath") or DEFAULT_STATE_PATH
    mountpoints = _names(targets["mountpoints"])
    preflight: dict[str, Any] = config.get_object("preflight") or {}
    if preflight.get("enabled", True):
        image = preflight.get("image", DEFAULT_PREFLIGHT_IMAGE)
        for node in target_nodes:
            check = NodeCheck(node=node, mountpoints=tuple(mountpoints), state_path=state_path, image=image)
            _preflight_job(check, namespace, release_name, reads.get(node))

    values = bare_values(
        release_name,
        namespace,
        state_path,
        targets.get("initialCount") or len(target_nodes),
        len(proxy_nodes),
        mountpoints,
        config.get_object("images") or {},
        target_nodes,
    )
    k8s.helm.v3.Release(
        f"{NAME}-release",
        k8s.helm.v3.ReleaseArgs(
            name=release_name,
            namespace=namespace,
            chart=chart["path"],
            dependency_update=chart.get("dependencyUpdate", False),
            values=values,
            postrender=POSTRENDER_COMMAND,
            description=release_description(ChartSource(chart=chart["path"]), PROJECT_DIR),
            timeout=chart.get("timeoutSeconds", RELEASE_TIMEOUT_SECONDS),
            atomic=False,
        ),
    )


if __name__ == "__main__":
    main()
