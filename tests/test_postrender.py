"""The Helm post-renderer: each fix on its own, what it must leave alone, and its launcher.

Fixtures in tests/fixtures/postrender are written in the shape of what the chart renders (the
real chart goes through the post-renderer in test_chart_acceptance.py):
``release-demo.yaml`` is release ``demo`` in namespace ``ais`` (AIStore, grafana- and
prometheus-like objects), ``release-demo-in-lab.yaml`` the same release name in namespace
``lab``, ``legacy-apis.yaml`` objects at APIs that Kubernetes removed.
"""

from __future__ import annotations

import copy
import io
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.chart.postrender import (
    RENAMED_CLUSTER_KINDS,
    PostrenderError,
    ReleaseIdentity,
    _dump,
    cluster_scoped_name,
    main,
    postrender,
)

Manifest = dict[str, Any]
ObjectKey = tuple[str, str]
FIXTURES = Path(__file__).parent / "fixtures" / "postrender"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
LAUNCHER = PROJECT_ROOT / "aisinfra" / "chart" / "bin" / "postrender"
GOOD_FIXTURES = ("release-demo.yaml", "release-demo-in-lab.yaml", "legacy-apis.yaml", "affinity.yaml")


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def manifests(text: str) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(text) if document is not None]


def object_key(manifest: Manifest) -> ObjectKey:
    return (manifest["kind"], manifest["metadata"]["name"])


def by_key(text: str) -> dict[ObjectKey, Manifest]:
    return {object_key(manifest): manifest for manifest in manifests(text)}


def document_texts(text: str) -> dict[ObjectKey, str]:
    """Each object's document as written, cut before its ``---`` line."""
    texts = {}
    for chunk in re.split(r"(?m)^(?=---$)", text):
        manifest = yaml.safe_load(chunk)
        if manifest is not None:
            texts[object_key(manifest)] = chunk
    return texts


def inventory(text: str) -> list[tuple[str, str, str]]:
    return [(manifest["apiVersion"], *object_key(manifest)) for manifest in manifests(text)]


def pod_spec_of(manifest: Manifest) -> Manifest:
    return manifest["spec"]["template"]["spec"]


def problems_of(text: str) -> list[str]:
    with pytest.raises(PostrenderError) as raised:
        postrender(text)
    return raised.value.problems


def as_yaml(*objects: Manifest) -> str:
    return "".join("---\n" + yaml.safe_dump(manifest, sort_keys=False) for manifest in objects)


def obj(api_version: str, kind: str, name: str, **fields: Any) -> Manifest:
    metadata = {"name": name, **fields.pop("metadata", {})}
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


DEMO = fixture("release-demo.yaml")
DEMO_IN_LAB = fixture("release-demo-in-lab.yaml")
LEGACY = fixture("legacy-apis.yaml")
UNPARSEABLE = fixture("unparseable.yaml")
UNPARSEABLE_PROBLEMS = [
    "document 2 (line 13, # Source: ais/templates/broken.yaml): while parsing a flow sequence, expected ',' or "
    "']', but got '<stream end>'",
    "document 3 (line 14, # Source: ais/templates/list.yaml): expected a Kubernetes object (a mapping), found a list",
]


# -- Fix 1: volumeMounts ------------------------------------------------------------------


def test_target_mounts_are_renamed_to_the_volumes_they_meant() -> None:
    target = by_key(postrender(DEMO))[("StatefulSet", "demo-ais-target")]
    assert pod_spec_of(target)["containers"][0]["volumeMounts"] == [
        {"name": "env-mount", "mountPath": "/var/ais_env"},
        {"name": "fspath-ais-sda", "mountPath": "/ais/sda"},
        {"name": "fspath-ais-sdb", "mountPath": "/ais/sdb"},
    ]


def test_a_mount_may_mean_a_volume_claim_template() -> None:
    graphite = by_key(postrender(LEGACY))[("StatefulSet", "demo-graphite")]
    mounts = pod_spec_of(graphite)["containers"][0]["volumeMounts"]
    assert [mount["name"] for mount in mounts] == ["graphite-data", "scratch"]


def test_a_mount_without_exactly_one_intended_volume_is_left_alone() -> None:
    # 'x.y.z' could mean either volume: guessing could mount the wrong disk.
    pod = """\
apiVersion: v1
kind: Pod
metadata:
  name: probe
spec:
  containers:
  - name: main
    image: busybox
    volumeMounts:
    - {name: cache.dir, mountPath: /cache}
    - {name: x.y.z, mountPath: /xyz}
  volumes:
  - {name: x-y.z, emptyDir: {}}
  - {name: x.y-z, emptyDir: {}}
"""
    assert postrender(pod) == pod


# -- Fix 2: topology keys -------------------------------------------------------------------


def test_bogus_topology_keys_become_the_hostname() -> None:
    fixed = by_key(postrender(DEMO))
    proxy_affinity = pod_spec_of(fixed[("StatefulSet", "demo-ais-proxy")])["affinity"]["podAntiAffinity"]
    target_affinity = pod_spec_of(fixed[("StatefulSet", "demo-ais-target")])["affinity"]["podAntiAffinity"]
    required = "requiredDuringSchedulingIgnoredDuringExecution"
    assert [term["topologyKey"] for term in proxy_affinity[required]] == ["kubernetes.io/hostname"]
    assert [term["topologyKey"] for term in target_affinity[required]] == ["kubernetes.io/hostname"]
    preferred = target_affinity["preferredDuringSchedulingIgnoredDuringExecution"]
    assert [term["podAffinityTerm"]["topologyKey"] for term in preferred] == ["kubernetes.io/hostname"]


AFFINITY = fixture("affinity.yaml")
REQUIRED, PREFERRED = (
    "requiredDuringSchedulingIgnoredDuringExecution",
    "preferredDuringSchedulingIgnoredDuringExecution",
)
NODE, HOSTNAME, ZONE = "topology.kubernetes.io/node", "kubernetes.io/hostname", "topology.kubernetes.io/zone"


def topology_keys(manifest: Manifest) -> dict[str, list[str]]:
    """Each pod (anti-)affinity term's topologyKey, by the kind of term it stands in."""
    affinity = pod_spec_of(manifest)["affinity"]
    keys: dict[str, list[str]] = {}
    for kind in ("podAffinity", "podAntiAffinity"):
        for term in affinity.get(kind, {}).get(REQUIRED, []):
            keys.setdefault(f"{kind} required", []).append(term["topologyKey"])
        for weighted in affinity.get(kind, {}).get(PREFERRED, []):
            keys.setdefault(f"{kind} preferred", []).append(weighted["podAffinityTerm"]["topologyKey"])
    return keys


def test_every_kind_of_pod_affinity_term_gets_the_hostname_key() -> None:
    raw, fixed = by_key(AFFINITY), by_key(postrender(AFFINITY))
    proxy, grafana = ("StatefulSet", "demo-ais-proxy"), ("Deployment", "demo-grafana")
    # The defects the fixture holds, beside keys that are right and must stay.
    assert topology_keys(raw[proxy]) == {
        "podAffinity required": [NODE, ZONE],
        "podAffinity preferred": [NODE, HOSTNAME],
        "podAntiAffinity required": [NODE],
        "podAntiAffinity preferred": [NODE],
    }
    assert topology_keys(raw[grafana]) == {"podAffinity preferred": [NODE]}
    assert topology_keys(fixed[proxy]) == {
        "podAffinity required": [HOSTNAME, ZONE],
        "podAffinity preferred": [HOSTNAME, HOSTNAME],
        "podAntiAffinity required": [HOSTNAME],
        "podAntiAffinity preferred": [HOSTNAME],
    }
    assert topology_keys(fixed[grafana]) == {"podAffinity preferred": [HOSTNAME]}


def test_only_the_topology_keys_change() -> None:
    """Selectors, weights and node affinity (a label key there, not a topology key) stay."""
    raw, fixed = by_key(AFFINITY), by_key(postrender(AFFINITY))
    expected = copy.deepcopy(raw[("StatefulSet", "demo-ais-proxy")])
    affinity = pod_spec_of(expected)["affinity"]
    affinity["podAffinity"][REQUIRED][0]["topologyKey"] = HOSTNAME
    affinity["podAffinity"][PREFERRED][0]["podAffinityTerm"]["topologyKey"] = HOSTNAME
    affinity["podAntiAffinity"][REQUIRED][0]["topologyKey"] = HOSTNAME
    affinity["podAntiAffinity"][PREFERRED][0]["podAffinityTerm"]["topologyKey"] = HOSTNAME
    assert fixed[("StatefulSet", "demo-ais-proxy")] == expected
    assert affinity["nodeAffinity"][REQUIRED]["nodeSelectorTerms"][0]["matchExpressions"][0]["key"] == NODE


# -- Fix 3: removed APIs ----------------------------------------------------------------------


def test_pod_security_policies_and_what_only_serves_them_are_dropped() -> None:
    fixed = by_key(postrender(DEMO))
    assert ("PodSecurityPolicy", "demo-grafana") not in fixed
    assert ("Role", "demo-grafana") not in fixed
    assert ("RoleBinding", "demo-grafana") not in fixed
    assert fixed[("ClusterRole", "ais.demo.demo-kube-state-metrics")]["rules"] == [
        {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["list", "watch"]}
    ]
    # A role that never had rules was not emptied by the post-renderer: it stays.
    assert fixed[("ClusterRole", "ais.demo.demo-grafana-clusterrole")]["rules"] == []


def test_rbac_v1beta1_objects_move_to_v1_unchanged_otherwise() -> None:
    expected = copy.deepcopy(by_key(DEMO)[("ClusterRole", "demo-prometheus-server")])
    expected["apiVersion"] = "rbac.authorization.k8s.io/v1"
    expected["metadata"]["name"] = "ais.demo.demo-prometheus-server"
    assert by_key(postrender(DEMO))[("ClusterRole", "ais.demo.demo-prometheus-server")] == expected


RBAC_V1 = "rbac.authorization.k8s.io/v1"


def test_release_output_inventory() -> None:
    assert inventory(postrender(DEMO)) == [
        (RBAC_V1, "ClusterRoleBinding", "ais.demo.ais-crb"),
        (RBAC_V1, "ClusterRole", "ais.demo.ais-cr"),
        (RBAC_V1, "RoleBinding", "ais-rb"),
        (RBAC_V1, "Role", "ais-r"),
        ("v1", "ServiceAccount", "ais-sa"),
        ("storage.k8s.io/v1", "StorageClass", "ais.demo.local-storage"),
        ("v1", "ConfigMap", "ais-proxy"),
        ("apps/v1", "StatefulSet", "demo-ais-proxy"),
        ("v1", "Service", "demo-ais-proxy"),
        ("apps/v1", "StatefulSet", "demo-ais-target"),
        ("v1", "PersistentVolume", "ais.demo.demo-ais-graphite-pv"),
        ("v1", "PersistentVolumeClaim", "ais-graphite-pvc"),
        ("v1", "ServiceAccount", "demo-grafana"),
        (RBAC_V1, "ClusterRole", "ais.demo.demo-grafana-clusterrole"),
        (RBAC_V1, "ClusterRoleBinding", "ais.demo.demo-grafana-clusterrolebinding"),
        ("apps/v1", "Deployment", "demo-grafana"),
        (RBAC_V1, "ClusterRole", "ais.demo.demo-kube-state-metrics"),
        (RBAC_V1, "ClusterRoleBinding", "ais.demo.demo-kube-state-metrics"),
        (RBAC_V1, "ClusterRole", "ais.demo.demo-prometheus-server"),
        (RBAC_V1, "ClusterRoleBinding", "ais.demo.demo-prometheus-server"),
        ("v1", "Service", "demo-prometheus-server"),
    ]


def test_legacy_output_inventory() -> None:
    assert inventory(postrender(LEGACY)) == [
        ("apps/v1", "Deployment", "demo-prometheus-pushgateway"),
        ("scheduling.k8s.io/v1", "PriorityClass", "ais.demo.demo-critical"),
        ("apps/v1", "DaemonSet", "demo-prometheus-node-exporter"),
        ("policy/v1", "PodDisruptionBudget", "demo-prometheus-server"),
        ("networking.k8s.io/v1", "NetworkPolicy", "demo-prometheus-server"),
        ("batch/v1", "CronJob", "demo-cleanup"),
        ("autoscaling/v2", "HorizontalPodAutoscaler", "demo-grafana"),
        ("networking.k8s.io/v1", "IngressClass", "ais.demo.demo-nginx"),
        ("networking.k8s.io/v1", "Ingress", "demo-grafana"),
        ("storage.k8s.io/v1", "StorageClass", "ais.demo.demo-fast"),
        ("apps/v1", "StatefulSet", "demo-graphite"),
        ("v1", "PersistentVolumeClaim", "demo-graphite-extra"),
    ]


def test_workloads_moving_to_apps_v1_get_the_selector_their_old_api_defaulted() -> None:
    fixed = by_key(postrender(LEGACY))
    selectors = [
        fixed[("Deployment", "demo-prometheus-pushgateway")]["spec"]["selector"],
        fixed[("StatefulSet", "demo-graphite")]["spec"]["selector"],
        fixed[("DaemonSet", "demo-prometheus-node-exporter")]["spec"]["selector"],
    ]
    assert selectors == [
        {"matchLabels": {"app": "prometheus", "component": "pushgateway", "release": "demo"}},
        {"matchLabels": {"app": "graphite", "release": "demo"}},
        {"matchLabels": {"component": "node-exporter"}},
    ]


def refusal(where: str, api_version: str, removed_in: str, reason: str) -> str:
    kind = where.split("/")[0]
    return (
        f"{where}: {api_version} {kind} was removed in Kubernetes {removed_in} and cannot be upgraded "
        f"mechanically: {reason}"
    )


INGRESS_REASON = (
    "networking.k8s.io/v1 replaced the backend's serviceName/servicePort with service.name/port "
    "and requires a pathType for every path"
)
OLD_BACKEND = {"backend": {"serviceName": "web", "servicePort": 80}}


@pytest.mark.parametrize(
    ("manifest", "problem"),
    [
        (
            obj("extensions/v1beta1", "Ingress", "web", spec=OLD_BACKEND),
            refusal("Ingress/web", "extensions/v1beta1", "1.22", INGRESS_REASON),
        ),
        (
            obj("networking.k8s.io/v1beta1", "Ingress", "web", spec=OLD_BACKEND),
            refusal("Ingress/web", "networking.k8s.io/v1beta1", "1.22", INGRESS_REASON),
        ),
        (
            obj("policy/v1beta1", "PodDisruptionBudget", "web", spec={"maxUnavailable": 1, "selector": {}}),
            refusal(
                "PodDisruptionBudget/web",
                "policy/v1beta1",
                "1.25",
                "its empty selector matches no pod, but in policy/v1 it matches every pod of the namespace",
            ),
        ),
        (
            obj("autoscaling/v2beta1", "HorizontalPodAutoscaler", "web", spec={"maxReplicas": 2}),
            refusal(
                "HorizontalPodAutoscaler/web",
                "autoscaling/v2beta1",
                "1.25",
                "autoscaling/v2 moved each metric's target under metrics[].*.target",
            ),
        ),
        (
            obj("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition", "things.example.com"),
            refusal(
                "CustomResourceDefinition/things.example.com",
                "apiextensions.k8s.io/v1beta1",
                "1.22",
                "apiextensions.k8s.io/v1 requires a structural schema for every version",
            ),
        ),
        (
            obj("extensions/v1beta1", "Deployment", "web", spec={"template": {"spec": {"containers": []}}}),
            refusal(
                "Deployment/web",
                "extensions/v1beta1",
                "1.16",
                "apps/v1 requires spec.selector, and there are no template labels to default it from",
            ),
        ),
    ],
)
def test_removed_apis_without_a_mechanical_upgrade_are_refused(manifest: Manifest, problem: str) -> None:
    assert problems_of(as_yaml(manifest)) == [problem]


def test_every_refusal_is_reported_on_its_own_line() -> None:
    two_ingresses = as_yaml(
        obj("extensions/v1beta1", "Ingress", "one", spec=OLD_BACKEND),
        obj("extensions/v1beta1", "Ingress", "two", spec=OLD_BACKEND),
    )
    assert problems_of(two_ingresses) == [
        refusal("Ingress/one", "extensions/v1beta1", "1.22", INGRESS_REASON),
        refusal("Ingress/two", "extensions/v1beta1", "1.22", INGRESS_REASON),
    ]


# -- Fix 4: release-unique cluster-scoped names ---------------------------------------------


def test_references_follow_renamed_objects() -> None:
    fixed = by_key(postrender(DEMO))
    grafana_binding = fixed[("ClusterRoleBinding", "ais.demo.demo-grafana-clusterrolebinding")]
    claim = fixed[("PersistentVolumeClaim", "ais-graphite-pvc")]["spec"]
    assert [
        fixed[("ClusterRoleBinding", "ais.demo.ais-crb")]["roleRef"]["name"],
        grafana_binding["roleRef"]["name"],
        fixed[("PersistentVolume", "ais.demo.demo-ais-graphite-pv")]["spec"]["storageClassName"],
        claim["storageClassName"],
        claim["volumeName"],
    ] == [
        "ais.demo.ais-cr",
        "ais.demo.demo-grafana-clusterrole",
        "ais.demo.local-storage",
        "ais.demo.local-storage",
        "ais.demo.demo-ais-graphite-pv",
    ]


def test_references_in_pod_templates_claims_and_ingresses_follow() -> None:
    fixed = by_key(postrender(LEGACY))
    cron_job = fixed[("CronJob", "demo-cleanup")]
    graphite = fixed[("StatefulSet", "demo-graphite")]
    ephemeral_claim = pod_spec_of(graphite)["volumes"][0]["ephemeral"]["volumeClaimTemplate"]
    extra_claim = fixed[("PersistentVolumeClaim", "demo-graphite-extra")]
    assert [
        pod_spec_of(fixed[("Deployment", "demo-prometheus-pushgateway")])["priorityClassName"],
        pod_spec_of(cron_job["spec"]["jobTemplate"])["priorityClassName"],
        fixed[("Ingress", "demo-grafana")]["spec"]["ingressClassName"],
        graphite["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"],
        ephemeral_claim["spec"]["storageClassName"],
        extra_claim["metadata"]["annotations"]["volume.beta.kubernetes.io/storage-class"],
    ] == [
        "ais.demo.demo-critical",
        "ais.demo.demo-critical",
        "ais.demo.demo-nginx",
        "ais.demo.demo-fast",
        "ais.demo.demo-fast",
        "ais.demo.demo-fast",
    ]


def test_two_releases_share_no_cluster_scoped_name() -> None:
    def cluster_scoped(text: str) -> set[ObjectKey]:
        return {key for key in by_key(text) if key[0] in RENAMED_CLUSTER_KINDS}

    assert cluster_scoped(DEMO) & cluster_scoped(DEMO_IN_LAB) == {
        ("ClusterRole", "ais-cr"),
        ("ClusterRoleBinding", "ais-crb"),
        ("StorageClass", "local-storage"),
        ("PersistentVolume", "demo-ais-graphite-pv"),
        ("ClusterRole", "demo-prometheus-server"),
        ("ClusterRoleBinding", "demo-prometheus-server"),
    }
    assert cluster_scoped(postrender(DEMO)) & cluster_scoped(postrender(DEMO_IN_LAB)) == set()
    assert ("StorageClass", "lab.demo.local-storage") in cluster_scoped(postrender(DEMO_IN_LAB))


def test_release_prefixes_cannot_collide_and_are_not_repeated() -> None:
    # Neither a namespace nor a release name holds a dot, so the dots delimit them.
    first, second = ReleaseIdentity("a-b", "c"), ReleaseIdentity("a", "b-c")
    assert cluster_scoped_name(first, "ais-cr") == "a-b.c.ais-cr"
    assert cluster_scoped_name(second, "ais-cr") == "a.b-c.ais-cr"
    assert cluster_scoped_name(first, "a-b.c.ais-cr") == "a-b.c.ais-cr"


STORAGE_CLASS = obj("storage.k8s.io/v1", "StorageClass", "local-storage")
FOR_STORAGE_CLASS = " -- needed to give StorageClass/local-storage names unique to the release"


def config_map(name: str, **metadata: Any) -> Manifest:
    return obj("v1", "ConfigMap", name, metadata=metadata)


def test_cluster_scoped_objects_need_a_namespace() -> None:
    assert problems_of(as_yaml(STORAGE_CLASS)) == [
        "cannot tell the namespace the manifests belong to: none has a ServiceAccount subject's namespace, "
        "K8S_NS env or metadata.namespace" + FOR_STORAGE_CLASS
    ]


def test_cluster_scoped_objects_need_one_namespace() -> None:
    container = {"name": "main", "image": "busybox", "env": [{"name": "K8S_NS", "value": "lab"}]}
    pod = obj("v1", "Pod", "two", spec={"containers": [container]})
    one = config_map("one", namespace="ais", labels={"release": "demo"})
    assert problems_of(as_yaml(STORAGE_CLASS, one, pod)) == [
        "the manifests disagree on their namespace: 'ais' (ConfigMap/one metadata.namespace); "
        "'lab' (Pod/two env K8S_NS)" + FOR_STORAGE_CLASS
    ]


def test_cluster_scoped_objects_need_one_release() -> None:
    labels = {"release": "demo", "app.kubernetes.io/instance": "other"}
    one = config_map("one", namespace="ais", labels=labels)
    assert problems_of(as_yaml(STORAGE_CLASS, one)) == [
        "the manifests disagree on their release: 'demo' (ConfigMap/one label release); "
        "'other' (ConfigMap/one label app.kubernetes.io/instance)" + FOR_STORAGE_CLASS
    ]


def test_a_dotted_release_name_is_refused() -> None:
    one = config_map("one", namespace="ais", labels={"release": "demo.v2"})
    assert problems_of(as_yaml(STORAGE_CLASS, one)) == [
        "release 'demo.v2' is not a DNS label of at most 53 characters, so it cannot mark cluster-scoped "
        "names unambiguously" + FOR_STORAGE_CLASS
    ]


def test_without_cluster_scoped_objects_no_identity_is_needed() -> None:
    two_releases = as_yaml(
        config_map("one", namespace="ais", labels={"release": "a"}),
        config_map("two", namespace="lab", labels={"release": "b"}),
    )
    assert postrender(two_releases) == two_releases


# -- The stream as a whole ------------------------------------------------------------------


CLEAN_DEMO_OBJECTS = [
    ("RoleBinding", "ais-rb"),
    ("Role", "ais-r"),
    ("ServiceAccount", "ais-sa"),
    ("ConfigMap", "ais-proxy"),
    ("Service", "demo-ais-proxy"),
    ("ServiceAccount", "demo-grafana"),
    ("Deployment", "demo-grafana"),
    ("Service", "demo-prometheus-server"),
]


def test_clean_documents_pass_through_byte_for_byte() -> None:
    before, after = document_texts(DEMO), document_texts(postrender(DEMO))
    assert [after[key] for key in CLEAN_DEMO_OBJECTS] == [before[key] for key in CLEAN_DEMO_OBJECTS]


def test_a_clean_stream_is_returned_unchanged() -> None:
    # An empty document, a comment-only one, flow style, comments inside, CRLF, no final newline.
    stream = (
        "---\n---\n# Source: ais/templates/notes.yaml\n"
        "---\n# Source: ais/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: a}  # inline comment\ndata: {enabled: 'y', size: 1e3}\n"
        "--- # trailing comment\r\napiVersion: v1\r\nkind: ServiceAccount\r\nmetadata:\r\n  name: b"
    )
    assert postrender(stream) == stream


def test_a_changed_document_keeps_its_source_comment() -> None:
    target = document_texts(postrender(DEMO))[("StatefulSet", "demo-ais-target")]
    assert target.startswith("---\n# Source: ais/templates/target_statefulset.yaml\napiVersion: apps/v1\n")


def test_new_text_that_go_would_read_as_another_type_is_quoted() -> None:
    assert _dump({"a": "y", "b": "1e3", "c": "0o17", "d": "x"}, None, "\n") == "a: 'y'\nb: '1e3'\nc: '0o17'\nd: x\n"


def test_new_text_of_several_lines_is_written_as_a_block() -> None:
    assert _dump({"script": "echo one\necho two\n", "name": "x"}, None, "\n") == (
        "script: |\n  echo one\n  echo two\nname: x\n"
    )


# Every kind of scalar a rewritten document may hold, written as a chart might write it.
AS_WRITTEN = """\
metadata:
  name: p
  creationTimestamp: 2024-01-02T03:04:05Z
  labels:
    date: 2024-01-02
    enabled: y
    yes-word: yes
    on-word: on
    octal: 0777
    go-octal: 0o17
    hex: 0x1F
    sexagesimal: 1:20
    exponent: 1e3
    float: 1.50
    underscored: 1_000
    tilde: ~
    empty:
    quoted: 'on'
    double: "0777"
    tagged: !!str 12
    literal: |
      two
      lines
"""


def test_a_rewritten_document_keeps_every_scalar_as_written() -> None:
    volumes = "spec:\n  volumes:\n  - name: a-b\n    emptyDir: {}\n"
    containers = (
        "  containers:\n  - name: c\n    image: busybox\n    volumeMounts:\n    - name: a.b\n      mountPath: /a\n"
    )
    fixed = postrender(f"---\napiVersion: v1\nkind: Pod\n{AS_WRITTEN}{volumes}{containers}")
    assert "    - name: a-b\n      mountPath: /a\n" in fixed  # the fix was made
    # An explicitly tagged string keeps its value, written in quotes instead of with its tag.
    assert f"---\napiVersion: v1\nkind: Pod\n{AS_WRITTEN}" in fixed.replace("tagged: '12'", "tagged: !!str 12")


def test_crlf_input_gives_crlf_output() -> None:
    pod = as_yaml(
        obj(
            "v1",
            "Pod",
            "p",
            spec={
                "volumes": [{"name": "a-b", "emptyDir": {}}],
                "containers": [{"name": "c", "image": "i", "volumeMounts": [{"name": "a.b", "mountPath": "/a"}]}],
            },
        )
    )
    clean = as_yaml(obj("v1", "ConfigMap", "c"))
    crlf = (pod + clean).replace("\n", "\r\n")
    fixed = postrender(crlf)
    assert "- name: a-b\r\n" in fixed and "a.b" not in fixed
    assert "\n" not in fixed.replace("\r\n", "")  # no bare line feed anywhere
    assert fixed.endswith(clean.replace("\n", "\r\n"))  # the clean document byte for byte


def test_a_binding_is_dropped_only_with_the_role_it_names_in_its_own_namespace() -> None:
    """Roles are matched on kind, namespace and name: emptying Role psp in namespace a must not
    drop the binding of the same-named Role in namespace b."""
    rbac = "rbac.authorization.k8s.io/v1"
    psp_rule = {"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": ["use"]}
    pods_rule = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "psp"}
    objects = [
        obj(rbac, "Role", "psp", metadata={"namespace": "a"}, rules=[psp_rule]),
        obj(rbac, "Role", "psp", metadata={"namespace": "b"}, rules=[pods_rule]),
        obj(rbac, "RoleBinding", "psp", metadata={"namespace": "a"}, roleRef=role_ref, subjects=[]),
        obj(rbac, "RoleBinding", "psp", metadata={"namespace": "b"}, roleRef=role_ref, subjects=[]),
    ]
    kept = manifests(postrender(as_yaml(*objects)))
    assert [(manifest["kind"], manifest["metadata"]["namespace"]) for manifest in kept] == [
        ("Role", "b"),
        ("RoleBinding", "b"),
    ]


@pytest.mark.parametrize("name", GOOD_FIXTURES)
def test_postrender_is_idempotent(name: str) -> None:
    once = postrender(fixture(name))
    assert postrender(once) == once


def test_unparseable_input_is_reported_one_problem_per_line() -> None:
    with pytest.raises(PostrenderError) as raised:
        postrender(UNPARSEABLE)
    assert raised.value.problems == UNPARSEABLE_PROBLEMS
    assert str(raised.value) == "\n".join(UNPARSEABLE_PROBLEMS)
    assert isinstance(raised.value, ValueError)


def test_a_mapping_that_is_no_kubernetes_object_is_refused() -> None:
    assert problems_of("---\nmetadata: {name: a}\n") == [
        "document 1 (line 1): not a Kubernetes object: apiVersion and kind must be non-empty strings"
    ]


# -- main: what Helm sees --------------------------------------------------------------------


class StandardStreams:
    """Byte streams in place of the process's, as Helm connects them."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, stdin: bytes) -> None:
        self.stdout, self.stderr = io.BytesIO(), io.StringIO()
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(self.stdout))
        monkeypatch.setattr(sys, "stderr", self.stderr)

    def written(self) -> bytes:
        sys.stdout.flush()
        return self.stdout.getvalue()


def test_main_writes_the_fixed_manifests_and_nothing_else(monkeypatch: pytest.MonkeyPatch) -> None:
    streams = StandardStreams(monkeypatch, DEMO.encode())
    assert main() == 0
    assert streams.written() == postrender(DEMO).encode()
    assert streams.stderr.getvalue() == ""


def test_main_reports_each_problem_on_stderr_and_writes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    streams = StandardStreams(monkeypatch, UNPARSEABLE.encode())
    assert main() == 1
    assert streams.written() == b""
    assert streams.stderr.getvalue() == "".join(f"aisinfra postrender: {problem}\n" for problem in UNPARSEABLE_PROBLEMS)


def test_main_refuses_input_that_is_not_utf8(monkeypatch: pytest.MonkeyPatch) -> None:
    streams = StandardStreams(monkeypatch, b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \xff}\n")
    assert main() == 1
    assert streams.written() == b""
    assert streams.stderr.getvalue() == (
        "aisinfra postrender: the input is not UTF-8: 'utf-8' codec can't decode byte 0xff in position 48: "
        "invalid start byte\n"
    )


# -- The launcher Helm runs ---------------------------------------------------------------------


ACTIVATION_VARIABLES = ("VIRTUAL_ENV", "PYTHONPATH")


def environment_without_virtualenv(**overrides: str) -> dict[str, str]:
    """This environment as if no virtualenv had been activated, plus ``overrides``."""
    virtualenv_bins = {os.environ.get("VIRTUAL_ENV", "") + "/bin", str(Path(sys.prefix) / "bin")}
    environment = {name: value for name, value in os.environ.items() if name not in ACTIVATION_VARIABLES}
    path = [entry for entry in environment.get("PATH", "").split(os.pathsep) if entry not in virtualenv_bins]
    environment["PATH"] = os.pathsep.join(path)
    environment.update(overrides)
    return environment


def run_launcher(
    launcher: Path | str, stdin: str, cwd: Path, environment: dict[str, str]
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [str(launcher)], input=stdin.encode(), cwd=cwd, env=environment, capture_output=True, check=False
    )


def test_launcher_is_executable() -> None:
    # Git records 100755 and a checkout keeps the owner's execute bit under any umask; the
    # other bits follow the umask, so they are not asserted.
    assert LAUNCHER.stat().st_mode & stat.S_IXUSR
    assert os.access(LAUNCHER, os.X_OK)


def checkout_with_launcher(project_root: Path) -> Path:
    """A project directory holding the launcher and the package it runs, and no venv."""
    launcher = project_root / "aisinfra" / "chart" / "bin" / "postrender"
    shutil.copytree(PROJECT_ROOT / "aisinfra", project_root / "aisinfra", ignore=shutil.ignore_patterns("__pycache__"))
    assert os.access(launcher, os.X_OK)
    return launcher


def python_with_pyyaml(path: Path) -> Path:
    """An executable at ``path`` that runs this test's Python, which has PyYAML."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    path.chmod(0o755)
    return path


@pytest.fixture
def launcher_in_venv(tmp_path: Path) -> Path:
    """A checkout whose venv/bin/python is where the launcher looks for it."""
    launcher = checkout_with_launcher(tmp_path / "checkout")
    python_with_pyyaml(tmp_path / "checkout" / "venv" / "bin" / "python")
    return launcher


def path_with_only(*directories: Path) -> str:
    """A PATH of ``directories`` and the system's, without any virtualenv's bin directory."""
    return os.pathsep.join([*map(str, directories), *environment_without_virtualenv()["PATH"].split(os.pathsep)])


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_launcher_outputs_exactly_what_postrender_returns(
    launcher_in_venv: Path, tmp_path: Path, hash_seed: str
) -> None:
    result = run_launcher(launcher_in_venv, DEMO, tmp_path, environment_without_virtualenv(PYTHONHASHSEED=hash_seed))
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == postrender(DEMO).encode()


def test_launcher_works_by_the_relative_path_the_release_stores(launcher_in_venv: Path) -> None:
    project_root = launcher_in_venv.parents[3]
    result = run_launcher("./aisinfra/chart/bin/postrender", LEGACY, project_root, environment_without_virtualenv())
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == postrender(LEGACY).encode()


def test_launcher_without_a_venv_uses_python3_on_path(tmp_path: Path) -> None:
    launcher = checkout_with_launcher(tmp_path / "checkout")
    python3 = python_with_pyyaml(tmp_path / "other-bin" / "python3")
    result = run_launcher(launcher, DEMO, tmp_path, {"PATH": path_with_only(python3.parent)})
    assert not (tmp_path / "checkout" / "venv").exists()
    assert (result.returncode, result.stderr) == (0, b"")
    assert result.stdout == postrender(DEMO).encode()


def test_launcher_reports_unparseable_input_on_stderr(launcher_in_venv: Path, tmp_path: Path) -> None:
    result = run_launcher(launcher_in_venv, UNPARSEABLE, tmp_path, environment_without_virtualenv())
    assert (result.returncode, result.stdout) == (1, b"")
    expected = [f"aisinfra postrender: {problem}" for problem in UNPARSEABLE_PROBLEMS]
    assert result.stderr.decode().splitlines() == expected


def copy_of_launcher(project_root: Path) -> Path:
    launcher = project_root / "aisinfra" / "chart" / "bin" / "postrender"
    launcher.parent.mkdir(parents=True)
    shutil.copy2(LAUNCHER, launcher)
    return launcher


FAKE_PYTHON = """\
#!/bin/sh
echo "$0 $*|$PYTHONPATH|$(pwd -P)"
while read -r line; do echo "$line"; done
"""


def test_launcher_prefers_the_project_venv(tmp_path: Path) -> None:
    project_root = tmp_path / "checkout"
    launcher = copy_of_launcher(project_root)
    fake_python = project_root / "venv" / "bin" / "python"
    fake_python.parent.mkdir(parents=True)
    fake_python.write_text(FAKE_PYTHON)
    fake_python.chmod(0o755)
    # A python3 on PATH too, which the launcher must pass over.
    python3 = python_with_pyyaml(tmp_path / "other-bin" / "python3")
    environment = {"PATH": path_with_only(python3.parent), "PYTHONPATH": "/extra"}
    result = run_launcher(launcher, "stdin\n", tmp_path, environment)
    root = os.path.realpath(project_root)
    assert result.stdout.decode().splitlines() == [
        f"{root}/venv/bin/python -m aisinfra.chart.postrender|{root}:/extra|{root}",
        "stdin",
    ]


def test_launcher_without_any_python_says_so(tmp_path: Path) -> None:
    project_root = tmp_path / "checkout"
    launcher = copy_of_launcher(project_root)
    empty_bin = tmp_path / "empty-bin"
    empty_bin.mkdir()
    result = run_launcher(launcher, DEMO, tmp_path, {"PATH": str(empty_bin)})
    root = os.path.realpath(project_root)
    assert (result.returncode, result.stdout) == (127, b"")
    assert result.stderr.decode() == (
        f"aisinfra postrender: no Python found: neither {root}/venv/bin/python nor python3 on PATH\n"
    )
