"""Whole-manifest checks shared by the tests: why rendered objects would not deploy cleanly on
Kubernetes 1.30 beside another release."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from aisinfra.chart import naming

Manifest = dict[str, Any]
ObjectKey = tuple[str, str]


def manifests(text: str) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(text) if document is not None]


def object_key(manifest: Manifest) -> ObjectKey:
    return (manifest["kind"], manifest["metadata"]["name"])


# Group-versions Kubernetes 1.30 serves no kind of, and kinds it no longer serves in
# group-versions that still serve others.
UNSERVED_GROUP_VERSIONS_1_30 = {
    "extensions/v1beta1",
    "apps/v1beta1",
    "apps/v1beta2",
    "rbac.authorization.k8s.io/v1beta1",
    "policy/v1beta1",
    "batch/v1beta1",
    "networking.k8s.io/v1beta1",
    "storage.k8s.io/v1beta1",
    "scheduling.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
}
UNSERVED_KINDS_1_30 = {
    ("admissionregistration.k8s.io/v1beta1", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io/v1beta1", "ValidatingWebhookConfiguration"),
}
CLUSTER_SCOPED_KINDS = {
    "ClusterRole",
    "ClusterRoleBinding",
    "IngressClass",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "StorageClass",
}
NODE_TOPOLOGY_KEYS = {"kubernetes.io/hostname", "topology.kubernetes.io/zone"}


def pod_template_spec(manifest: Manifest) -> Manifest | None:
    kind = manifest["kind"]
    if kind == "Pod":
        return manifest.get("spec")
    if kind == "CronJob":
        return manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}:
        return manifest["spec"]["template"]["spec"]
    return None


def affinity_terms(pod_spec: Manifest) -> list[Manifest]:
    terms = []
    for affinity in pod_spec.get("affinity", {}).values():
        terms += affinity.get("requiredDuringSchedulingIgnoredDuringExecution", [])
        preferred = affinity.get("preferredDuringSchedulingIgnoredDuringExecution", [])
        terms += [weighted["podAffinityTerm"] for weighted in preferred]
    return terms


def pod_problems(manifest: Manifest, release: str) -> list[str]:
    spec = pod_template_spec(manifest)
    if spec is None:
        return []
    where = "/".join(object_key(manifest))
    problems = []
    volumes = {volume["name"] for volume in spec.get("volumes", [])}
    volumes |= {claim["metadata"]["name"] for claim in manifest["spec"].get("volumeClaimTemplates", [])}
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        for mount in container.get("volumeMounts", []):
            if mount["name"] not in volumes:
                problems.append(f"{where}: volumeMount {mount['name']} names no volume")
    for term in affinity_terms(spec):
        if term.get("topologyKey") not in NODE_TOPOLOGY_KEYS:
            problems.append(f"{where}: topologyKey {term.get('topologyKey')} is no node label")
    node_labels = {
        naming.TARGET_LABEL_KEY: naming.target_label_value(release),
        naming.PROXY_LABEL_KEY: naming.proxy_label_value(release),
    }
    for key, value in spec.get("nodeSelector", {}).items():
        if key in node_labels and value != node_labels[key]:
            problems.append(f"{where}: nodeSelector {key}={value}, but the nodes get {node_labels[key]}")
    return problems


def manifest_problems(
    release_manifests: list[Manifest], release: str, other_release_manifests: Sequence[Manifest] = ()
) -> list[str]:
    """Why the release's manifests would not deploy cleanly on Kubernetes 1.30 beside another
    release: removed APIs, mounts and role bindings that resolve to nothing, pods that cannot
    spread or land on the nodes labelled for them, cluster-scoped names both releases use."""
    problems = []
    cluster_roles = {name for kind, name in map(object_key, release_manifests) if kind == "ClusterRole"}
    for manifest in release_manifests:
        api_version, (kind, name) = manifest["apiVersion"], object_key(manifest)
        if api_version in UNSERVED_GROUP_VERSIONS_1_30 or (api_version, kind) in UNSERVED_KINDS_1_30:
            problems.append(f"{kind}/{name}: {api_version} is not served by Kubernetes 1.30")
        role = manifest.get("roleRef", {}).get("name")
        if kind == "ClusterRoleBinding" and role not in cluster_roles:
            problems.append(f"{kind}/{name}: roleRef names a missing ClusterRole {role}")
        problems += pod_problems(manifest, release)
    others = {key for key in map(object_key, other_release_manifests) if key[0] in CLUSTER_SCOPED_KINDS}
    for kind, name in map(object_key, release_manifests):
        if (kind, name) in others:
            problems.append(f"{kind}/{name}: the other release has it too")
    return problems
