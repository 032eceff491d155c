"""Acceptance: what the program deploys, through the chart and the post-renderer, is accepted by
Kubernetes 1.30 -- for the worksheet's example, a second AIStore cluster in the same Kubernetes
cluster, and a stack with monitoring off.

No Helm and no chart templates here: ``tests/chart_standin.py`` stands in for the chart (written
from its reference rendering, not the chart itself) and renders the Release values the program
computes under mocks. The post-renderer's output must validate against Kubernetes 1.30.0's
schemas (strict), resolve every volume mount and volume source, land the AIStore pods on nodes
the program labels, keep no removed API, and share no cluster-scoped name with the other cluster.
The raw stand-in output must fail those checks, so the post-renderer is what makes them pass.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from aisinfra.chart import naming
from aisinfra.chart.postrender import postrender
from aisinfra.review.render import Rendering, manifest_documents, run_program
from aisinfra.worksheet.stackfile import read_stack
from tests.chart_standin import ChartRenderError, render_chart
from tests.conftest import worksheet
from tests.manifest_checks import (
    CLUSTER_SCOPED_KINDS,
    Manifest,
    ObjectKey,
    manifest_problems,
    manifests,
    object_key,
    pod_problems,
    pod_template_spec,
)

KUBERNETES_VERSION = "1.30.0"
RBAC_V1BETA1 = "rbac.authorization.k8s.io/v1beta1"
# The prometheus subchart's ClusterRole + ClusterRoleBinding pairs, by name suffix.
PROMETHEUS_RBAC = ("kube-state-metrics", "prometheus-alertmanager", "prometheus-pushgateway", "prometheus-server")

STACKS: dict[str, dict[str, Any]] = {
    # Release demo in namespace ais, twelve nodes, monitoring volumes on cpu01.
    "example": worksheet(),
    "second-cluster": worksheet(
        releaseName="prod-aistore",
        namespace="ais-prod",
        targets={"initialCount": 0, "nodes": ["gpu{01..08}"], "mountpoints": ["/mnt/nvme{0..3}n1"]},
        proxies={"nodes": ["gpu{01..03}"], "initialPrimary": "gpu02"},
        monitoring={
            "enabled": True,
            "graphite": {"node": "gpu08", "path": "/data/prod/graphite", "size": "100Gi"},
            "grafana": {"node": "gpu08", "path": "/data/prod/grafana", "size": "20Gi"},
        },
    ),
    "monitoring-off": worksheet(
        releaseName="lab",
        namespace="ais-lab",
        targets={"initialCount": 3, "nodes": ["lab{1..4}"], "mountpoints": ["/ais/nvme[0-1]"]},
        proxies={"nodes": ["lab{1..2}"]},
        monitoring={"enabled": False, "externalGraphite": "graphite.lab.example.com:2003"},
    ),
}
# These two stacks deploy into one Kubernetes cluster.
SAME_KUBERNETES_CLUSTER = ("example", "second-cluster")
# Namespaces are cluster-scoped too; Nodes are not created, only labelled.
CLUSTER_SCOPED = CLUSTER_SCOPED_KINDS | {"Namespace"}


@dataclass(frozen=True)
class Deployment:
    rendering: Rendering
    release: str
    values: dict[str, Any]
    raw: list[Manifest]  # the stand-in's output, as Helm hands it to the post-renderer
    chart: list[Manifest]  # after the post-renderer
    program: list[Manifest]  # the objects the program applies itself (namespace, volumes, claims)

    @property
    def fullname(self) -> str:
        return naming.fullname(self.release)


@pytest.fixture(scope="module")
def deployments(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Deployment]:
    directory = tmp_path_factory.mktemp("stacks")
    deployed: dict[str, Deployment] = {}
    for name, config in STACKS.items():
        stack_file = Path(directory, f"Pulumi.{name}.yaml")
        stack_file.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
        rendering = run_program(read_stack(stack_file))
        inputs = rendering.release().inputs
        raw = render_chart(inputs["name"], inputs["namespace"], inputs["values"])
        deployed[name] = Deployment(
            rendering=rendering,
            release=inputs["name"],
            values=inputs["values"],
            raw=manifests(raw),
            chart=manifests(postrender(raw)),
            program=[document for document in manifest_documents(rendering) if document["kind"] != "Node"],
        )
    return deployed


# -- Checks ---------------------------------------------------------------------------------------


def where(manifest: Manifest) -> str:
    return "/".join(object_key(manifest))


def schema_failures(objects: list[Manifest]) -> list[str]:
    failures = []
    for manifest in objects:
        try:
            kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            failures.append(f"{where(manifest)}: Kubernetes {KUBERNETES_VERSION} has no {manifest['apiVersion']}")
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.path)
            failures.append(f"{where(manifest)}: {path}: {error.message}")
    return failures


def unresolved_sources(objects: list[Manifest]) -> list[str]:
    """Pod volumes and service accounts naming objects that neither the chart nor the program makes."""
    present = {object_key(manifest) for manifest in objects}
    unresolved = []
    for manifest in objects:
        spec = pod_template_spec(manifest)
        if spec is None:
            continue
        account = spec.get("serviceAccountName") or spec.get("serviceAccount")
        wanted = [("ServiceAccount", account)] if account else []
        for volume in spec.get("volumes", []):
            if "configMap" in volume:
                wanted.append(("ConfigMap", volume["configMap"]["name"]))
            if "persistentVolumeClaim" in volume:
                wanted.append(("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]))
        unresolved += [f"{where(manifest)}: no {kind} {name}" for kind, name in wanted if (kind, name) not in present]
    return unresolved


def ais_statefulsets(deployment: Deployment, objects: list[Manifest]) -> dict[str, Manifest]:
    names = {f"{deployment.fullname}-{role}": role for role in ("proxy", "target")}
    return {
        names[manifest["metadata"]["name"]]: manifest
        for manifest in objects
        if manifest["kind"] == "StatefulSet" and manifest["metadata"]["name"] in names
    }


def node_selector_problems(deployment: Deployment, objects: list[Manifest]) -> list[str]:
    """Each AIStore pod needs a node carrying its selector's labels; its required anti-affinity
    on the hostname needs one such node per replica."""
    labels = deployment.rendering.node_labels()
    problems = []
    for statefulset in ais_statefulsets(deployment, objects).values():
        selector = statefulset["spec"]["template"]["spec"]["nodeSelector"]
        nodes = [node for node, node_labels in labels.items() if selector.items() <= node_labels.items()]
        if len(nodes) < statefulset["spec"]["replicas"]:
            problems.append(
                f"{where(statefulset)}: {statefulset['spec']['replicas']} replicas, but only {len(nodes)} "
                f"nodes carry {selector}"
            )
    return problems


def cluster_scoped_names(objects: list[Manifest]) -> list[ObjectKey]:
    return [object_key(manifest) for manifest in objects if manifest["kind"] in CLUSTER_SCOPED]


def shared_cluster_scoped_names(*object_lists: list[Manifest]) -> list[ObjectKey]:
    counts = Counter(key for objects in object_lists for key in set(cluster_scoped_names(objects)))
    return sorted(key for key, count in counts.items() if count > 1)


def all_problems(deployment: Deployment, objects: list[Manifest]) -> list[str]:
    """Everything that would stop this deployment from applying and running on Kubernetes 1.30."""
    everything = objects + deployment.program
    return (
        schema_failures(everything)
        + manifest_problems(objects, deployment.release)
        + unresolved_sources(everything)
        + node_selector_problems(deployment, objects)
    )


# -- After the post-renderer: zero problems ----------------------------------------------------------

stacks = pytest.mark.parametrize("stack", list(STACKS))


@stacks
def test_every_object_validates_against_kubernetes_1_30(deployments: dict[str, Deployment], stack: str) -> None:
    deployment = deployments[stack]
    assert schema_failures(deployment.chart + deployment.program) == []


@stacks
def test_every_pod_template_resolves_its_mounts_volumes_and_topology(
    deployments: dict[str, Deployment], stack: str
) -> None:
    deployment = deployments[stack]
    assert [problem for manifest in deployment.chart for problem in pod_problems(manifest, deployment.release)] == []
    assert unresolved_sources(deployment.chart + deployment.program) == []


@stacks
def test_aistore_pods_select_nodes_the_program_labels(deployments: dict[str, Deployment], stack: str) -> None:
    deployment = deployments[stack]
    statefulsets = ais_statefulsets(deployment, deployment.chart)
    assert sorted(statefulsets) == ["proxy", "target"]
    assert node_selector_problems(deployment, deployment.chart) == []


@stacks
def test_no_removed_api_or_pod_security_policy_remains(deployments: dict[str, Deployment], stack: str) -> None:
    deployment = deployments[stack]
    assert [where(manifest) for manifest in deployment.chart if manifest["kind"] == "PodSecurityPolicy"] == []
    assert manifest_problems(deployment.chart, deployment.release) == []


@stacks
def test_post_rendered_deployment_has_no_problem_at_all(deployments: dict[str, Deployment], stack: str) -> None:
    deployment = deployments[stack]
    assert all_problems(deployment, deployment.chart) == []


def test_two_clusters_in_one_kubernetes_cluster_share_no_cluster_scoped_name(
    deployments: dict[str, Deployment],
) -> None:
    first, second = (deployments[stack] for stack in SAME_KUBERNETES_CLUSTER)
    objects = [first.chart + first.program, second.chart + second.program]
    assert shared_cluster_scoped_names(*objects) == []
    assert manifest_problems(first.chart, first.release, second.chart) == []
    assert manifest_problems(second.chart, second.release, first.chart) == []


# -- Before the post-renderer: the chart's known defects, exactly ------------------------------------


def removed_apis(release: str) -> list[tuple[str, str]]:
    """What grafana 5.5.7 and prometheus 11.12.1 render at APIs Kubernetes 1.30 does not serve."""
    return (
        [(f"PodSecurityPolicy/{release}-grafana{test}", "policy/v1beta1") for test in ("", "-test")]
        + [(f"{kind}/{release}-grafana", RBAC_V1BETA1) for kind in ("Role", "RoleBinding")]
        + [
            (f"{kind}/{release}-{name}", RBAC_V1BETA1)
            for name in PROMETHEUS_RBAC
            for kind in ("ClusterRole", "ClusterRoleBinding")
        ]
    )


def known_chart_defects(deployment: Deployment, monitoring: bool) -> list[str]:
    """The problems the chart's own output has (see the chart reference's known defects)."""
    defects = []
    for removed, api_version in removed_apis(deployment.release) if monitoring else []:
        defects.append(f"{removed}: Kubernetes {KUBERNETES_VERSION} has no {api_version}")
        defects.append(f"{removed}: {api_version} is not served by Kubernetes 1.30")
    for role in ("proxy", "target"):
        defects.append(
            f"StatefulSet/{deployment.fullname}-{role}: topologyKey topology.kubernetes.io/node is no node label"
        )
    defects += [
        f"StatefulSet/{deployment.fullname}-target: volumeMount fspath{path.replace('/', '.')} names no volume"
        for path in deployment.values["aiscluster"]["target"]["mountPaths"]
    ]
    return sorted(defects)


@pytest.mark.parametrize(("stack", "count"), [("example", 36), ("second-cluster", 30), ("monitoring-off", 4)])
def test_raw_chart_output_has_exactly_the_charts_known_defects(
    deployments: dict[str, Deployment], stack: str, count: int
) -> None:
    deployment = deployments[stack]
    problems = sorted(all_problems(deployment, deployment.raw))
    monitoring = deployment.values["tags"]["builtin_monitoring"]
    assert (problems, len(problems)) == (known_chart_defects(deployment, monitoring), count)


def test_raw_chart_outputs_of_two_clusters_share_cluster_scoped_names(deployments: dict[str, Deployment]) -> None:
    first, second = (deployments[stack] for stack in SAME_KUBERNETES_CLUSTER)
    assert shared_cluster_scoped_names(first.raw, second.raw) == [
        ("ClusterRole", "ais-cr"),
        ("ClusterRoleBinding", "ais-crb"),
        ("StorageClass", "local-storage"),
    ]


# -- The stand-in follows the chart where the reference shows it --------------------------------------


def test_stand_in_renders_every_cluster_scoped_object_of_the_inventory(deployments: dict[str, Deployment]) -> None:
    assert sorted(cluster_scoped_names(deployments["example"].raw)) == sorted(
        [("ClusterRole", "ais-cr"), ("ClusterRoleBinding", "ais-crb"), ("StorageClass", "local-storage")]
        + [("ClusterRole", "demo-grafana-clusterrole"), ("ClusterRoleBinding", "demo-grafana-clusterrolebinding")]
        + [("PodSecurityPolicy", "demo-grafana"), ("PodSecurityPolicy", "demo-grafana-test")]
        + [(kind, f"demo-{name}") for name in PROMETHEUS_RBAC for kind in ("ClusterRole", "ClusterRoleBinding")]
    )


def test_the_program_turns_the_charts_own_volumes_off(deployments: dict[str, Deployment]) -> None:
    deployment = deployments["example"]
    kinds = {"PersistentVolume", "PersistentVolumeClaim"}
    assert [where(manifest) for manifest in deployment.raw if manifest["kind"] in kinds] == []
    values = copy.deepcopy(deployment.values)
    values["graphite"]["ais"]["pv"]["path"] = "/stats/graphite"
    chart_volumes = [
        manifest for manifest in manifests(render_chart("demo", "ais", values)) if manifest["kind"] in kinds
    ]
    assert [(where(manifest), manifest["spec"]["storageClassName"]) for manifest in chart_volumes] == [
        ("PersistentVolume/demo-ais-graphite-pv", "local-storage"),
        ("PersistentVolumeClaim/ais-graphite-pvc", "local-storage"),
    ]


def test_without_the_programs_graphite_affinity_the_chart_does_not_render(deployments: dict[str, Deployment]) -> None:
    values = copy.deepcopy(deployments["example"].values)
    del values["graphite"]["graphite"]
    with pytest.raises(ChartRenderError, match=r"nil pointer evaluating interface \{\}\.affinity"):
        render_chart("demo", "ais", values)
