"""Acceptance: the real chart (ais 0.1.0 with its graphite, grafana 5.5.7 and prometheus 11.12.1
subcharts, read in place), rendered with Helm's engine and the Release's own post-renderer, gives
objects the checks find no problem in -- for the example stack (Pulumi.dev.yaml itself), a second
AIStore cluster in the same Kubernetes cluster, monitoring off, and existing claims. Each check fires
on rendered objects that break it, naming the object and the worksheet key.

Expectations come from the chart's documented rules (../shared/reference/ais-chart/README.md and
its inventory of the objects rendered for release demo), written out here, never computed with the
program's naming code.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from itertools import combinations
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from aisinfra.review import chart_render
from aisinfra.review.object_checks import (
    Deployment,
    Problem,
    claim_problems,
    cluster_scoped_collisions,
    deployment_of,
    deployment_problems,
    host_path_problems,
    node_selector_problems,
    pod_affinity_problems,
    reference_problems,
    schema_problems,
    topology_problems,
    volume_mount_problems,
)
from aisinfra.worksheet.stackfile import PROJECT_DIR, read_stack
from tests.conftest import worksheet

Manifest = dict[str, Any]
WHERE = "in Kubernetes context lab-cluster"  # how check says two stacks share a cluster

STACKS: dict[str, dict[str, Any]] = {
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
    "existing-claims": worksheet(
        releaseName="edge",
        namespace="ais-edge",
        existingNamespace=True,
        statePath="/var/lib/ais",
        targets={"initialCount": 0, "nodes": ["edge{1..3}"], "mountpoints": ["/data/d1"]},
        proxies={"nodes": ["edge1"]},
        monitoring={
            "enabled": True,
            "graphite": {"existingClaim": "edge-graphite-data"},
            "grafana": {"existingClaim": "edge-grafana-data"},
        },
        grafanaAdminPassword={"secure": "v1:abc:def"},
    ),
}


@pytest.fixture(scope="module")
def deployments(chart_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Deployment]:
    """The four stacks, the example stack read from Pulumi.dev.yaml."""
    stacks = {"example": read_stack(PROJECT_DIR / "Pulumi.dev.yaml")}
    directory = tmp_path_factory.mktemp("stacks")
    for name, config in STACKS.items():
        path = directory / f"Pulumi.{name}.yaml"
        path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
        stacks[name] = read_stack(path)
    return {name: deployment_of(stack, chart_dir) for name, stack in stacks.items()}


@pytest.fixture(scope="module")
def reference_inventory(reference_dir: Path) -> str:
    """The reference rendering's list of objects for release demo, monitoring on."""
    return (reference_dir / "inventory-demo-monitoring-on.txt").read_text()


def objects(deployment: Deployment) -> dict[tuple[str, str], Manifest]:
    return {(rendered.kind, rendered.name): rendered.manifest for rendered in deployment.chart.objects}


def pod_spec(manifest: Manifest) -> Manifest:
    spec: Manifest = manifest["spec"]["template"]["spec"]
    return spec


def host_paths(manifest: Manifest) -> list[str]:
    return [volume["hostPath"]["path"] for volume in pod_spec(manifest)["volumes"] if "hostPath" in volume]


def claims(deployment: Deployment) -> dict[str, str]:
    """Claim mounted by each monitoring workload of the chart."""
    mounted = {}
    for rendered in deployment.chart.objects:
        if rendered.kind in ("Deployment", "StatefulSet"):
            for volume in pod_spec(rendered.manifest).get("volumes") or []:
                if "persistentVolumeClaim" in volume:
                    mounted[rendered.name] = volume["persistentVolumeClaim"]["claimName"]
    return mounted


# -- zero problems for the four stacks ---------------------------------------------------------


@pytest.mark.parametrize("stack", ["example", *STACKS])
def test_every_rendered_object_passes_every_check(deployments: dict[str, Deployment], stack: str) -> None:
    assert deployment_problems(deployments[stack]) == []


def test_four_clusters_in_one_kubernetes_context_share_no_cluster_scoped_object(
    deployments: dict[str, Deployment],
) -> None:
    pairs = combinations(deployments.values(), 2)
    assert [problem for a, b in pairs for problem in cluster_scoped_collisions(a, b, WHERE)] == []
    cluster_scoped = {
        name: sorted(
            rendered.name for rendered in deployment.chart.objects if "namespace" not in rendered.manifest["metadata"]
        )
        for name, deployment in deployments.items()
    }
    assert cluster_scoped["example"][:3] == ["ais.demo.ais-cr", "ais.demo.ais-crb", "ais.demo.demo-grafana-clusterrole"]
    assert cluster_scoped["monitoring-off"] == [
        "ais-lab.lab.ais-cr",
        "ais-lab.lab.ais-crb",
        "ais-lab.lab.local-storage",
    ]
    assert all(name.startswith("ais-prod.prod-aistore.") for name in cluster_scoped["second-cluster"])


# What the chart's README says each stack's AIStore pods get: fullname, node selectors, replicas,
# host directories <statePath>/<release>/target and the mountpoints.
AIS_PODS = {
    "example": (
        ("demo-ais-target", {"nvidia.com/ais-target": "demo-ais"}, 12),
        ("demo-ais-proxy", {"nvidia.com/ais-proxy": "demo-ais-electable"}, 12),
        ["/etc/ais/demo/target"] + [f"/ais/sd{disk}" for disk in "abcdefghij"],
    ),
    "second-cluster": (
        ("prod-aistore-target", {"nvidia.com/ais-target": "prod-aistore"}, 8),
        ("prod-aistore-proxy", {"nvidia.com/ais-proxy": "prod-aistore-electable"}, 3),
        ["/etc/ais/prod-aistore/target", "/mnt/nvme0n1", "/mnt/nvme1n1", "/mnt/nvme2n1", "/mnt/nvme3n1"],
    ),
    "monitoring-off": (
        ("lab-ais-target", {"nvidia.com/ais-target": "lab-ais"}, 3),
        ("lab-ais-proxy", {"nvidia.com/ais-proxy": "lab-ais-electable"}, 2),
        ["/etc/ais/lab/target", "/ais/nvme0", "/ais/nvme1"],
    ),
    "existing-claims": (
        ("edge-ais-target", {"nvidia.com/ais-target": "edge-ais"}, 3),
        ("edge-ais-proxy", {"nvidia.com/ais-proxy": "edge-ais-electable"}, 1),
        ["/var/lib/ais/edge/target", "/data/d1"],
    ),
}


@pytest.mark.parametrize("stack", list(AIS_PODS))
def test_aistore_pods_are_what_the_charts_rules_say(deployments: dict[str, Deployment], stack: str) -> None:
    target, proxy, target_paths = AIS_PODS[stack]
    rendered = objects(deployments[stack])
    for name, selector, replicas in (target, proxy):
        statefulset = rendered["StatefulSet", name]
        assert (pod_spec(statefulset)["nodeSelector"], statefulset["spec"]["replicas"]) == (selector, replicas)
    assert sorted(set(host_paths(rendered["StatefulSet", target[0]]))) == sorted(target_paths)


def test_monitoring_mounts_the_programs_claims_or_the_worksheets(deployments: dict[str, Deployment]) -> None:
    assert claims(deployments["example"]) == {"demo-grafana": "demo-ais-grafana", "demo-graphite": "demo-ais-graphite"}
    assert claims(deployments["existing-claims"]) == {
        "edge-grafana": "edge-grafana-data",
        "edge-graphite": "edge-graphite-data",
    }
    assert claims(deployments["monitoring-off"]) == {}
    # An existing namespace is only read and the claims are the user's: the program creates
    # only the dashboards' ConfigMaps, the Secret that hands Grafana its admin password, and the
    # preflight Jobs.
    created = [(rendered.kind, rendered.name) for rendered in deployments["existing-claims"].program_objects()]
    assert created[:3] == [
        ("ConfigMap", "edge-dashboard-cluster"),
        ("ConfigMap", "edge-dashboard-nodes"),
        ("Secret", "edge-ais-grafana-admin"),
    ]
    assert [(kind, name.rsplit("-", 1)[0]) for kind, name in created[3:]] == [
        ("Job", "preflight-edge1"),
        ("Job", "preflight-edge2"),
        ("Job", "preflight-edge3"),
    ]


def test_the_preflight_jobs_are_checked_like_every_other_object(deployments: dict[str, Deployment]) -> None:
    example = copy.deepcopy(deployments["example"])
    jobs = [rendered for rendered in example.program_objects() if rendered.kind == "Job"]
    assert len(jobs) == 12
    assert {rendered.manifest["apiVersion"] for rendered in jobs} == {"batch/v1"}
    assert schema_problems(example) == []
    # A Deployment makes its objects once: the edited registrations are another Deployment.
    edited = copy.deepcopy(example.rendering)
    first = next(resource for resource in edited.resources if resource.type == "kubernetes:batch/v1:Job")
    first.inputs["spec"]["backoffLimit"] = "none"
    broken = dataclasses.replace(example, rendering=edited)
    assert [problem.object for problem in schema_problems(broken)] == [f"Job ais/{jobs[0].name}"]


def test_the_charts_objects_before_post_rendering_are_the_reference_inventory(
    deployments: dict[str, Deployment], reference_inventory: str
) -> None:
    """The engine renders what the reference rendering lists for release demo, less the chart's
    own PVs and claims, which the program turns off (empty ais.pv.path), plus the provider
    configuration of the Grafana dashboard sidecar, which the program turns on."""
    listed = [line.split() for line in reference_inventory.splitlines() if not line.startswith("#")]
    expected = sorted(
        [(api, kind, name) for api, kind, name in listed if kind not in ("PersistentVolume", "PersistentVolumeClaim")]
        + [("v1", "ConfigMap", "demo-grafana-config-dashboards")]
    )
    raw = raw_deployment(deployments["example"])
    rendered = [rendered.manifest for rendered in raw.chart.objects] + [hook.manifest for hook in raw.chart.hooks]
    assert sorted((m["apiVersion"], m["kind"], m["metadata"]["name"]) for m in rendered) == expected


# -- the chart's known defects, found in its output before the post-renderer ---------------------


def raw_deployment(deployment: Deployment) -> Deployment:
    """The deployment as it would be without the post-renderer."""
    stream, hooks = chart_render.helm_manifests(deployment.chart.chart_dir, deployment.chart.release)
    namespace = deployment.chart.release.namespace
    raw = [
        chart_render.RenderedObject(chart_render.in_namespace(rendered.manifest, namespace), rendered.source)
        for rendered in chart_render.parse_stream(stream)
    ]
    return dataclasses.replace(deployment, chart=dataclasses.replace(deployment.chart, objects=raw, hooks=hooks))


REMOVED_APIS = [  # what the chart's README lists as defect 4, by the inventory's names
    ("ClusterRole demo-kube-state-metrics", "ClusterRole", "rbac.authorization.k8s.io/v1beta1"),
    ("ClusterRole demo-prometheus-alertmanager", "ClusterRole", "rbac.authorization.k8s.io/v1beta1"),
    ("ClusterRole demo-prometheus-pushgateway", "ClusterRole", "rbac.authorization.k8s.io/v1beta1"),
    ("ClusterRole demo-prometheus-server", "ClusterRole", "rbac.authorization.k8s.io/v1beta1"),
    ("ClusterRoleBinding demo-kube-state-metrics", "ClusterRoleBinding", "rbac.authorization.k8s.io/v1beta1"),
    ("ClusterRoleBinding demo-prometheus-alertmanager", "ClusterRoleBinding", "rbac.authorization.k8s.io/v1beta1"),
    ("ClusterRoleBinding demo-prometheus-pushgateway", "ClusterRoleBinding", "rbac.authorization.k8s.io/v1beta1"),
    ("ClusterRoleBinding demo-prometheus-server", "ClusterRoleBinding", "rbac.authorization.k8s.io/v1beta1"),
    ("PodSecurityPolicy demo-grafana", "PodSecurityPolicy", "policy/v1beta1"),
    ("PodSecurityPolicy demo-grafana-test", "PodSecurityPolicy", "policy/v1beta1"),
    ("Role ais/demo-grafana", "Role", "rbac.authorization.k8s.io/v1beta1"),
    ("RoleBinding ais/demo-grafana", "RoleBinding", "rbac.authorization.k8s.io/v1beta1"),
]


def test_the_raw_chart_has_exactly_its_documented_defects(deployments: dict[str, Deployment]) -> None:
    raw = raw_deployment(deployments["example"])
    removed = [
        Problem(what, "chart.path", f"Kubernetes 1.30 does not serve {kind} in {api} (a removed or unknown API)")
        for what, kind, api in REMOVED_APIS
    ]
    spread = [
        Problem(
            f"StatefulSet ais/demo-ais-{role}",
            "chart.path",
            "podAntiAffinity spreads over the node label 'topology.kubernetes.io/node', which nodes do not carry "
            "(use kubernetes.io/hostname)",
        )
        for role in ("proxy", "target")
    ]
    mounts = [
        Problem(
            "StatefulSet ais/demo-ais-target",
            "targets.mountpoints",
            f"container ais mounts 'fspath.ais.sd{disk}' at /ais/sd{disk}, but the pod has no volume of that name",
        )
        for disk in "abcdefghij"
    ]
    assert deployment_problems(raw) == sorted(removed + spread + mounts)


def test_two_raw_releases_collide_on_the_charts_fixed_cluster_scoped_names(
    deployments: dict[str, Deployment],
) -> None:
    first, second = raw_deployment(deployments["example"]), raw_deployment(deployments["second-cluster"])
    both = "Pulumi.dev.yaml and Pulumi.second-cluster.yaml both create it in Kubernetes context lab-cluster"
    assert cluster_scoped_collisions(first, second, WHERE) == [
        Problem(what, "releaseName, namespace", both)
        for what in ("ClusterRole ais-cr", "ClusterRoleBinding ais-crb", "StorageClass local-storage")
    ]


# -- each check fires on objects that break it -----------------------------------------------------


def mutated(deployment: Deployment, kind: str, name: str, change: Callable[[Manifest], Any]) -> Deployment:
    """The deployment with one rendered object changed (``change`` returning False drops it)."""
    changed = []
    for rendered in deployment.chart.objects:
        manifest = copy.deepcopy(rendered.manifest)
        if (rendered.kind, rendered.name) == (kind, name) and change(manifest) is False:
            continue
        changed.append(chart_render.RenderedObject(manifest, rendered.source))
    return dataclasses.replace(deployment, chart=dataclasses.replace(deployment.chart, objects=changed))


TARGET = "StatefulSet ais/demo-ais-target"


def test_schema_check_names_the_field_and_the_worksheet_key(deployments: dict[str, Deployment]) -> None:
    example = deployments["example"]
    broken = mutated(example, "StatefulSet", "demo-ais-target", lambda m: m["spec"].update(replicas="twelve"))
    assert schema_problems(broken) == [
        Problem(TARGET, "targets.initialCount", "spec.replicas: 'twelve' is not of type 'integer', 'null'")
    ]

    def misspell(manifest: Manifest) -> None:
        pod_spec(manifest)["containers"][0]["imagePullPolicyy"] = "Always"

    problems = schema_problems(mutated(example, "StatefulSet", "demo-ais-proxy", misspell))
    assert [(p.object, p.key) for p in problems] == [("StatefulSet ais/demo-ais-proxy", "chart.path")]
    assert "'imagePullPolicyy' was unexpected" in problems[0].message


def test_schema_check_refuses_an_api_the_cluster_version_removed(deployments: dict[str, Deployment]) -> None:
    def downgrade(manifest: Manifest) -> None:
        manifest["apiVersion"] = "rbac.authorization.k8s.io/v1beta1"

    broken = mutated(deployments["example"], "ClusterRole", "ais.demo.ais-cr", downgrade)
    assert schema_problems(broken) == [
        Problem(
            "ClusterRole ais.demo.ais-cr",
            "chart.path",
            "Kubernetes 1.30 does not serve ClusterRole in rbac.authorization.k8s.io/v1beta1 "
            "(a removed or unknown API)",
        )
    ]


@pytest.mark.parametrize("version", ["1.12", "1.99"])
def test_schema_check_names_kubernetes_version_when_it_has_no_schemas(
    deployments: dict[str, Deployment], version: str
) -> None:
    example = deployments["example"]
    unknown = dataclasses.replace(
        example, worksheet=example.worksheet.model_copy(update={"kubernetes_version": version})
    )
    # The lowest and highest minor version of the schema folders kubernetes-validate installs (v1.25.0-local, ...).
    folders = (Path(kubernetes_validate.__file__).parent / "kubernetes-json-schema").glob("v*")
    minors = sorted({tuple(map(int, folder.name[1:].split("-")[0].split(".")[:2])) for folder in folders})
    first, last = (f"{major}.{minor}" for major, minor in (minors[0], minors[-1]))
    assert schema_problems(unknown) == [
        Problem(
            "(every object)",
            "kubernetesVersion",
            f"cannot validate for Kubernetes {version}: the schemas here cover {first} to {last}",
        )
    ]


def test_node_selector_check_counts_the_nodes_the_program_labels(deployments: dict[str, Deployment]) -> None:
    example = deployments["example"]
    # What the pods require besides their nodeSelector: the role's labels, through node affinity.
    target_affinity = "nvidia.com/ais-target=demo-ais, aisinfra/cluster=ais.demo"
    proxy_affinity = "nvidia.com/ais-proxy=demo-ais-electable, aisinfra/cluster=ais.demo"

    def select(value: str) -> Callable[[Manifest], None]:
        return lambda manifest: pod_spec(manifest)["nodeSelector"].update({"nvidia.com/ais-target": value})

    assert node_selector_problems(mutated(example, "StatefulSet", "demo-ais-target", select("demo"))) == [
        Problem(TARGET, "targets.nodes", "12 replicas, but only 0 of the nodes the program labels carry "
                f"nvidia.com/ais-target=demo and {target_affinity}")
    ]  # fmt: skip
    more = mutated(example, "StatefulSet", "demo-ais-target", lambda m: m["spec"].update(replicas=13))
    assert node_selector_problems(more) == [
        Problem(TARGET, "targets.nodes", "13 replicas, but only 12 of the nodes the program labels carry "
                f"nvidia.com/ais-target=demo-ais and {target_affinity}")
    ]  # fmt: skip
    pinned = mutated(example, "StatefulSet", "demo-ais-proxy", lambda m: pod_spec(m)["nodeSelector"].update(
        {"kubernetes.io/hostname": "cpu03"}))  # fmt: skip
    assert node_selector_problems(pinned) == [
        Problem("StatefulSet ais/demo-ais-proxy", "proxies.nodes", "12 replicas, but only 1 of the nodes the program "
                "labels carry kubernetes.io/hostname=cpu03, nvidia.com/ais-proxy=demo-ais-electable and "
                f"{proxy_affinity}")
    ]  # fmt: skip

    def unconstrained(manifest: Manifest) -> None:
        pod_spec(manifest).pop("nodeSelector")
        pod_spec(manifest)["affinity"].pop("nodeAffinity")

    anywhere = mutated(example, "StatefulSet", "demo-ais-proxy", unconstrained)
    assert node_selector_problems(anywhere) == [
        Problem(
            "StatefulSet ais/demo-ais-proxy",
            "proxies.nodes",
            "no nodeSelector or required node affinity: its proxy pods may run on any node",
        )
    ]
    gone = mutated(example, "StatefulSet", "demo-ais-target", lambda m: False)
    assert node_selector_problems(gone) == [Problem(TARGET, "chart.path", "the chart renders no target StatefulSet")]


def test_node_selector_check_requires_the_pods_to_stay_on_this_clusters_nodes(
    deployments: dict[str, Deployment],
) -> None:
    """Release demo-ais in another namespace labels its nodes nvidia.com/ais-target=demo-ais too: a
    target that selects only that label could start there and open the other cluster's disks."""
    example = deployments["example"]
    assert node_selector_problems(example) == []
    chart_only = mutated(
        example, "StatefulSet", "demo-ais-target", lambda m: pod_spec(m)["affinity"].pop("nodeAffinity")
    )
    assert node_selector_problems(chart_only) == [
        Problem(TARGET, "chart.path", "its target pods do not require aisinfra/cluster=ais.demo, so they may start "
                "on the nodes of another AIStore cluster whose release has the same fullname 'demo-ais'")
    ]  # fmt: skip

    def any_cluster(manifest: Manifest) -> None:
        terms = pod_spec(manifest)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        terms["nodeSelectorTerms"][0]["matchExpressions"][1] = {"key": "aisinfra/cluster", "operator": "Exists"}

    assert node_selector_problems(mutated(example, "StatefulSet", "demo-ais-proxy", any_cluster)) == [
        Problem("StatefulSet ais/demo-ais-proxy", "chart.path", "its proxy pods do not require "
                "aisinfra/cluster=ais.demo, so they may start on the nodes of another AIStore cluster whose release "
                "has the same fullname 'demo-ais'")
    ]  # fmt: skip


def test_a_required_pod_affinity_must_find_pods_of_the_cluster(deployments: dict[str, Deployment]) -> None:
    """As chart.values could set it on Grafana: beside pods no object of the cluster makes, it never schedules."""
    example = deployments["example"]
    assert pod_affinity_problems(example) == []

    def beside(selector: dict[str, Any]) -> Callable[[Manifest], None]:
        term = {"labelSelector": selector, "topologyKey": "kubernetes.io/hostname"}
        return lambda manifest: pod_spec(manifest).update(
            affinity={"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [term]}}
        )

    nowhere = mutated(example, "Deployment", "demo-grafana", beside({"matchLabels": {"app": "cache"}}))
    assert pod_affinity_problems(nowhere) == [
        Problem("Deployment ais/demo-grafana", "chart.path", "requires to run beside pods labelled app=cache, which no "
                "pod of this cluster carries: its pods would never be scheduled")
    ]  # fmt: skip
    expression = {"matchExpressions": [{"key": "component", "operator": "In", "values": ["gateway", "cache"]}]}
    assert [
        problem.message
        for problem in pod_affinity_problems(mutated(example, "Deployment", "demo-grafana", beside(expression)))
    ] == [
        "requires to run beside pods labelled component in (gateway, cache), which no pod of this cluster carries: "
        "its pods would never be scheduled"
    ]
    # Beside the targets (component: target, the chart's own label): found, no problem.
    targets = {"matchLabels": {"component": "target"}}
    assert pod_affinity_problems(mutated(example, "Deployment", "demo-grafana", beside(targets))) == []


def test_volume_mount_check_finds_a_mount_without_its_volume(deployments: dict[str, Deployment]) -> None:
    def rename(manifest: Manifest) -> None:
        pod_spec(manifest)["volumes"][-1]["name"] = "fspath-ais-sdz"

    assert volume_mount_problems(mutated(deployments["example"], "StatefulSet", "demo-ais-target", rename)) == [
        Problem(TARGET, "targets.mountpoints", "container ais mounts 'fspath-ais-sdj' at /ais/sdj, but the pod has "
                "no volume of that name")
    ]  # fmt: skip


def test_claim_check_finds_a_claim_nobody_creates(deployments: dict[str, Deployment]) -> None:
    def other_claim(manifest: Manifest) -> None:
        for volume in pod_spec(manifest)["volumes"]:
            if "persistentVolumeClaim" in volume:
                volume["persistentVolumeClaim"]["claimName"] = "demo-grafana-old"

    for stack, name in (("example", "demo-grafana"), ("existing-claims", "edge-grafana")):
        namespace = deployments[stack].worksheet.namespace
        assert claim_problems(mutated(deployments[stack], "Deployment", name, other_claim)) == [
            Problem(f"Deployment {namespace}/{name}", "monitoring.grafana", "volume storage mounts the claim "
                    "'demo-grafana-old', which neither the program creates nor the worksheet names")
        ]  # fmt: skip


def test_host_path_check_holds_the_target_to_the_worksheets_paths(deployments: dict[str, Deployment]) -> None:
    def move(old: str, new: str) -> Callable[[Manifest], None]:
        def change(manifest: Manifest) -> None:
            for volume in pod_spec(manifest)["volumes"]:
                if volume.get("hostPath", {}).get("path") == old:
                    volume["hostPath"]["path"] = new

        return change

    example = deployments["example"]
    # The first, a middle and the last of the worksheet's mountpoints (/ais/sda .. /ais/sdj).
    for mountpoint in ("/ais/sda", "/ais/sdc", "/ais/sdj"):
        disk = mutated(example, "StatefulSet", "demo-ais-target", move(mountpoint, "/ais/sdz"))
        assert host_path_problems(disk) == [
            Problem(TARGET, "targets.mountpoints", "mounts the host path /ais/sdz, which is not the worksheet's"),
            Problem(TARGET, "targets.mountpoints", f"does not mount the mountpoint {mountpoint} from the host"),
        ]
    state = mutated(example, "StatefulSet", "demo-ais-target", move("/etc/ais/demo/target", "/etc/ais/demo-ais/target"))
    assert host_path_problems(state) == [
        Problem(TARGET, "statePath", "mounts the host path /etc/ais/demo-ais/target, which is not the worksheet's"),
        Problem(TARGET, "statePath", "does not keep its state in /etc/ais/demo/target on the host"),
    ]


def test_topology_check_finds_a_label_no_node_carries(deployments: dict[str, Deployment]) -> None:
    def bogus(manifest: Manifest) -> None:
        for term in pod_spec(manifest)["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]:
            term["topologyKey"] = "topology.kubernetes.io/node"

    assert topology_problems(mutated(deployments["second-cluster"], "StatefulSet", "prod-aistore-proxy", bogus)) == [
        Problem("StatefulSet ais-prod/prod-aistore-proxy", "chart.path", "podAntiAffinity spreads over the node label "
                "'topology.kubernetes.io/node', which nodes do not carry (use kubernetes.io/hostname)")
    ]  # fmt: skip


def test_collision_check_finds_one_shared_cluster_scoped_name(deployments: dict[str, Deployment]) -> None:
    def take_demos_name(manifest: Manifest) -> None:
        manifest["metadata"]["name"] = "ais.demo.local-storage"

    lab = mutated(deployments["monitoring-off"], "StorageClass", "ais-lab.lab.local-storage", take_demos_name)
    assert cluster_scoped_collisions(deployments["example"], lab, WHERE) == [
        Problem(
            "StorageClass ais.demo.local-storage",
            "releaseName, namespace",
            "Pulumi.dev.yaml and Pulumi.monitoring-off.yaml both create it in Kubernetes context lab-cluster",
        )
    ]


def test_reference_check_finds_what_pods_and_bindings_miss(deployments: dict[str, Deployment]) -> None:
    example = deployments["example"]
    without_account = mutated(example, "ServiceAccount", "ais-sa", lambda m: False)
    assert reference_problems(without_account) == [
        Problem(f"StatefulSet ais/demo-ais-{role}", "chart.path", "its pods run as ServiceAccount 'ais-sa', which "
                "neither the chart nor the program creates")
        for role in ("proxy", "target")
    ]  # fmt: skip
    without_config = mutated(example, "ConfigMap", "ais-statsd", lambda m: False)
    assert [(p.object, p.message) for p in reference_problems(without_config)] == [
        (f"StatefulSet ais/demo-ais-{role}", "volume statsd-config needs ConfigMap 'ais-statsd', which neither the "
         "chart nor the program creates")
        for role in ("proxy", "target")
    ]  # fmt: skip

    def unrenamed(manifest: Manifest) -> None:
        manifest["metadata"]["name"] = "ais-cr"

    assert reference_problems(mutated(example, "ClusterRole", "ais.demo.ais-cr", unrenamed)) == [
        Problem("ClusterRoleBinding ais.demo.ais-crb", "chart.path", "its roleRef names ClusterRole 'ais.demo.ais-cr', "
                "which neither the chart nor the program creates")
    ]  # fmt: skip


def test_schema_check_traces_an_aistore_pods_field_to_its_worksheet_item(deployments: dict[str, Deployment]) -> None:
    """Each field below is computed from one worksheet item; a value the API refuses there names it."""

    def set_field(change: Callable[[Manifest], None]) -> list[tuple[str, str]]:
        broken = mutated(deployments["example"], "StatefulSet", "demo-ais-target", change)
        return [(problem.key, problem.message.split(":")[0]) for problem in schema_problems(broken)]

    def volume(name: str) -> Callable[[Manifest], None]:
        def change(manifest: Manifest) -> None:
            next(v for v in pod_spec(manifest)["volumes"] if v["name"] == name)["hostPath"]["path"] = 5

        return change

    assert set_field(lambda m: pod_spec(m)["containers"][0].update(image=5)) == [
        ("images.aisnode", "spec.template.spec.containers[0].image")
    ]
    assert set_field(lambda m: pod_spec(m)["initContainers"][0].update(image=5)) == [
        ("images.initContainer", "spec.template.spec.initContainers[0].image")
    ]
    assert set_field(lambda m: pod_spec(m)["nodeSelector"].update({"nvidia.com/ais-target": 5})) == [
        ("releaseName", "spec.template.spec.nodeSelector.nvidia.com/ais-target")
    ]
    assert set_field(volume("fspath-ais-sdc")) == [
        ("targets.mountpoints", "spec.template.spec.volumes[7].hostPath.path")
    ]
    assert set_field(volume("state-mount")) == [("statePath", "spec.template.spec.volumes[3].hostPath.path")]
