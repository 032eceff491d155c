"""The post-renderer on inputs the chart fixtures do not hold: every kind of pod template,
malformed objects it must leave to the API server, the exact bytes of a changed document,
and every line of what it reports. Written from the post-renderer's rules (its module
docstring), each case holding the defect or oddity it names."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.chart import postrender as postrender_module
from aisinfra.chart.postrender import PostrenderError, main, postrender
from tests.test_postrender import Manifest, StandardStreams, as_yaml, obj, problems_of


def fixed_objects(*objects: Manifest) -> list[Manifest]:
    return [document for document in yaml.safe_load_all(postrender(as_yaml(*objects))) if document is not None]


# -- Fix 1 in every kind of pod template ---------------------------------------------------

BROKEN_POD_SPEC: Manifest = {
    "initContainers": [
        {"name": "init", "image": "busybox", "volumeMounts": [{"name": "env.mount", "mountPath": "/e"}]}
    ],
    "containers": [
        {"name": "main", "image": "busybox", "volumeMounts": [{"name": "fspath.ais.sda", "mountPath": "/d"}]}
    ],
    "volumes": [{"name": "env-mount", "emptyDir": {}}, {"name": "fspath-ais-sda", "emptyDir": {}}],
}
FIXED_MOUNTS = (["env-mount"], ["fspath-ais-sda"])


def holding(kind: str, pod_spec: Manifest) -> Manifest:
    """An object of ``kind`` with ``pod_spec`` where that kind keeps its pod template."""
    template = {"metadata": {"labels": {"app": "x"}}, "spec": pod_spec}
    body: dict[str, Manifest] = {
        "Pod": {"spec": pod_spec},
        "PodTemplate": {"template": template},
        "CronJob": {"spec": {"schedule": "@daily", "jobTemplate": {"spec": {"template": template}}}},
    }
    api = {"Pod": "v1", "PodTemplate": "v1", "ReplicationController": "v1", "CronJob": "batch/v1", "Job": "batch/v1"}
    fields = body.get(kind, {"spec": {"selector": {"matchLabels": {"app": "x"}}, "template": template}})
    return {"apiVersion": api.get(kind, "apps/v1"), "kind": kind, "metadata": {"name": "w"}, **fields}


def pod_spec_in(manifest: Manifest) -> Manifest:
    kind = manifest["kind"]
    if kind == "Pod":
        return manifest["spec"]
    if kind == "PodTemplate":
        return manifest["template"]["spec"]
    if kind == "CronJob":
        return manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return manifest["spec"]["template"]["spec"]


def mount_names(pod_spec: Manifest) -> tuple[list[str], list[str]]:
    return tuple(  # type: ignore[return-value]
        [mount["name"] for container in pod_spec[group] for mount in container["volumeMounts"]]
        for group in ("initContainers", "containers")
    )


@pytest.mark.parametrize(
    "kind",
    [
        "Pod",
        "PodTemplate",
        "CronJob",
        "Job",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
        "ReplicaSet",
        "ReplicationController",
    ],
)
def test_mounts_of_init_and_main_containers_are_fixed_in_every_pod_template(kind: str) -> None:
    raw = holding(kind, BROKEN_POD_SPEC)
    assert mount_names(pod_spec_in(raw)) == (["env.mount"], ["fspath.ais.sda"])
    (fixed,) = fixed_objects(raw)
    assert mount_names(pod_spec_in(fixed)) == FIXED_MOUNTS


def test_a_kind_without_a_pod_template_is_left_alone() -> None:
    lookalike = holding("Deployment", BROKEN_POD_SPEC) | {"apiVersion": "example.com/v1", "kind": "Workload"}
    text = as_yaml(lookalike)
    assert postrender(text) == text


def test_a_mount_may_mean_a_dotted_volume() -> None:
    """Both sides are compared with '.' read as '-': a dashed mount means a dotted volume too."""
    pod_spec = {
        "containers": [
            {"name": "main", "image": "busybox", "volumeMounts": [{"name": "cache-dir", "mountPath": "/c"}]}
        ],
        "volumes": [{"name": "cache.dir", "emptyDir": {}}],
    }
    (fixed,) = fixed_objects(holding("Pod", pod_spec))
    assert fixed["spec"]["containers"][0]["volumeMounts"] == [{"name": "cache.dir", "mountPath": "/c"}]


def test_a_mount_with_no_name_or_a_name_that_is_no_text_is_left_to_the_api_server() -> None:
    pod_spec = {
        "containers": [
            {"name": "main", "image": "busybox", "volumeMounts": [{"name": 7, "mountPath": "/a"}, {"mountPath": "/b"}]}
        ],
        "volumes": [{"name": "7", "emptyDir": {}}],
    }
    text = as_yaml(holding("Pod", pod_spec))
    assert postrender(text) == text


# -- Fix 3: removed APIs, edge cases --------------------------------------------------------


def test_an_empty_document_does_not_stop_the_upgrades_after_it() -> None:
    legacy = {
        "apiVersion": "batch/v1beta1",
        "kind": "CronJob",
        "metadata": {"name": "c"},
        "spec": {"schedule": "@daily"},
    }
    fixed = yaml.safe_load_all(postrender("---\n# nothing here\n" + as_yaml(legacy)))
    assert [document["apiVersion"] for document in fixed if document] == ["batch/v1"]


def test_a_selector_the_old_api_was_given_is_kept() -> None:
    deployment = holding("Deployment", {"containers": []})
    deployment["apiVersion"] = "extensions/v1beta1"
    deployment["spec"]["selector"] = {"matchLabels": {"tier": "web"}}
    deployment["spec"]["template"]["metadata"]["labels"] = {"tier": "web", "version": "1"}
    (fixed,) = fixed_objects(deployment)
    assert (fixed["apiVersion"], fixed["spec"]["selector"]) == ("apps/v1", {"matchLabels": {"tier": "web"}})


def test_an_empty_selector_stops_only_a_pod_disruption_budget() -> None:
    deployment = holding("Deployment", {"containers": []})
    deployment["apiVersion"] = "apps/v1beta2"
    deployment["spec"]["selector"] = {"matchLabels": {}}
    (fixed,) = fixed_objects(deployment)
    assert (fixed["apiVersion"], fixed["spec"]["selector"]) == ("apps/v1", {"matchLabels": {}})


def role(kind: str, name: str, **fields: Any) -> Manifest:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name}, **fields}


def binding(name: str, role_name: str) -> Manifest:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": name, "namespace": "ais"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": role_name},
        "subjects": [{"kind": "ServiceAccount", "name": "sa", "namespace": "ais"}],
    }


def test_only_rules_that_do_nothing_but_use_pod_security_policies_go() -> None:
    use_only = {"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": ["use"]}
    read = {"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": ["get", "use"]}
    use_pods = {"apiGroups": [""], "resources": ["pods", "podsecuritypolicies"], "verbs": ["use"]}
    no_verbs = {"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": []}
    (fixed,) = fixed_objects(
        role("Role", "r", metadata={"name": "r", "namespace": "ais"}, rules=[use_only, read, use_pods, no_verbs])
    )
    assert fixed["rules"] == [read, use_pods, no_verbs]


def test_the_rules_after_a_dropped_one_keep_their_values() -> None:
    """Elements of a shortened list meet the original elements by position: a rule with a field
    (resourceNames) that the dropped rule before it lacked is written anew, value for value."""
    use_only = {"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": ["use"]}
    config_map = {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["ais"], "verbs": ["get"]}
    shortened = role("Role", "r", metadata={"name": "r", "namespace": "ais"}, rules=[use_only, config_map])
    (fixed,) = fixed_objects(shortened)
    assert fixed["rules"] == [config_map]


def test_a_cluster_role_emptied_takes_every_binding_of_it_along() -> None:
    """A ClusterRole has no namespace, even when the chart writes one (the API server ignores
    it), and a RoleBinding may grant a ClusterRole within its namespace: both bindings name the
    ClusterRole that went, so both go."""
    use_only = {"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": ["use"]}
    cluster_role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "psp"}
    objects = [
        role("ClusterRole", "psp", metadata={"name": "psp", "namespace": "ais"}, rules=[use_only]),
        role("ClusterRoleBinding", "psp", roleRef=cluster_role_ref, subjects=[]),
        {**binding("psp", "psp"), "roleRef": cluster_role_ref},
        IDENTITY,
    ]
    assert fixed_objects(*objects) == [IDENTITY]


def test_roles_without_a_rules_list_stay_with_their_bindings() -> None:
    """An aggregated role has no rules of its own; nothing was removed from it."""
    aggregated = role("Role", "aggregated", aggregationRule={"clusterRoleSelectors": []})
    odd = role("Role", "odd", rules="none")
    objects = [aggregated, binding("aggregated", "aggregated"), odd, binding("odd", "odd")]
    assert fixed_objects(*objects) == objects


def test_role_names_and_namespaces_that_are_no_text_match_nothing() -> None:
    """A list where a name belongs is the API server's to refuse; it takes no binding along."""
    use_only = {"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": ["use"]}
    odd_name = {**binding("odd", "psp"), "roleRef": {"kind": "Role", "name": ["psp"]}}
    odd_namespace = {**binding("odd", "psp"), "metadata": {"name": "odd", "namespace": {"a": 1}}}
    emptied = role("Role", "psp", metadata={"name": ["psp"]}, rules=[use_only])
    assert fixed_objects(role("Role", "psp", rules=[use_only]), odd_name, odd_namespace) == [odd_name, odd_namespace]
    assert fixed_objects(emptied, binding("psp", "psp")) == [binding("psp", "psp")]


# -- Fix 4: renames, edge cases ----------------------------------------------------------------

STORAGE_CLASS = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "local-storage"}}
IDENTITY = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "ais", "labels": {"release": "demo"}},
}


def test_a_cluster_scoped_object_without_a_name_is_refused() -> None:
    unnamed = [
        {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": ""}},
    ]
    assert problems_of(as_yaml(IDENTITY, *unnamed, STORAGE_CLASS)) == [
        "a StorageClass has no metadata.name",
        "a ClusterRole has no metadata.name",
    ]


def test_the_release_is_needed_and_every_object_needing_it_is_named() -> None:
    no_release = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "ais"}}
    role_object = role("ClusterRole", "ais-cr", rules=[])
    assert problems_of(as_yaml(no_release, STORAGE_CLASS, role_object)) == [
        "cannot tell the release the manifests belong to: none has a 'release' or 'app.kubernetes.io/instance' "
        "label -- needed to give StorageClass/local-storage, ClusterRole/ais-cr names unique to the release"
    ]


def test_every_source_of_a_disputed_namespace_is_named() -> None:
    subjects = [{"kind": "ServiceAccount", "name": "ais-sa", "namespace": "lab"}, {"kind": "User", "name": "me"}]
    crb = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "ais-crb", "namespace": "ais", "labels": {"release": "demo"}},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ais-cr"},
        "subjects": subjects,
    }
    assert problems_of(as_yaml(IDENTITY, crb)) == [
        "the manifests disagree on their namespace: 'ais' (ConfigMap/c metadata.namespace, ClusterRoleBinding/ais-crb "
        "metadata.namespace); 'lab' (ClusterRoleBinding/ais-crb subject ais-sa) -- needed to give "
        "ClusterRoleBinding/ais-crb names unique to the release"
    ]


def test_a_namespace_that_is_no_dns_label_is_refused() -> None:
    odd = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "Lab_1", "labels": {"release": "demo"}},
    }
    assert problems_of(as_yaml(odd, STORAGE_CLASS)) == [
        "namespace 'Lab_1' is not a DNS label -- needed to give StorageClass/local-storage names unique to the release"
    ]


@pytest.mark.parametrize(("length", "accepted"), [(53, True), (54, False)])
def test_a_release_name_may_have_helms_53_characters(length: int, accepted: bool) -> None:
    release = "r" * length
    labelled = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ais", "labels": {"release": release}},
    }
    if accepted:
        assert fixed_objects(labelled, STORAGE_CLASS)[1]["metadata"]["name"] == f"ais.{release}.local-storage"
    else:
        assert problems_of(as_yaml(labelled, STORAGE_CLASS)) == [
            f"release '{release}' is not a DNS label of at most 53 characters, so it cannot mark cluster-scoped "
            "names unambiguously -- needed to give StorageClass/local-storage names unique to the release"
        ]


def test_objects_whose_metadata_is_no_mapping_give_no_evidence() -> None:
    odd = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": ["c"]}
    fixed = fixed_objects(IDENTITY, odd, STORAGE_CLASS)
    assert [manifest["metadata"] for manifest in fixed[1:]] == [["c"], {"name": "ais.demo.local-storage"}]


def test_only_known_references_follow_a_rename() -> None:
    """A ClusterRole reference outside a binding, references that are not names, and claim
    templates where a kind has none, stay."""
    custom = {
        "apiVersion": "example.com/v1",
        "kind": "AccessGrant",
        "metadata": {"name": "g", "namespace": "ais"},
        "roleRef": {"kind": "ClusterRole", "name": "ais-cr"},
    }
    volume = {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": "pv"},
        "spec": {"storageClassName": {"name": "local-storage"}},
    }
    # Only a StatefulSet stamps out claims from volumeClaimTemplates; a Deployment has no such field.
    deployment = holding("Deployment", {"containers": []})
    claim_template = {"metadata": {"name": "data"}, "spec": {"storageClassName": "local-storage"}}
    deployment["spec"]["volumeClaimTemplates"] = [claim_template]
    fixed = fixed_objects(IDENTITY, role("ClusterRole", "ais-cr", rules=[]), custom, volume, STORAGE_CLASS, deployment)
    assert fixed[2]["roleRef"] == {"kind": "ClusterRole", "name": "ais-cr"}
    assert fixed[3]["spec"] == {"storageClassName": {"name": "local-storage"}}
    assert fixed[4]["metadata"]["name"] == "ais.demo.local-storage"
    assert fixed[5]["spec"]["volumeClaimTemplates"] == [claim_template]


# -- Reading and writing the stream -----------------------------------------------------------


def test_a_document_start_needs_a_blank_or_a_comment_after_the_dashes() -> None:
    assert problems_of("apiVersion: v1\nkind: ConfigMap\n---X\n") == [
        "document 1 (line 3): while scanning a simple key, could not find expected ':'"
    ]
    assert problems_of("apiVersion: v1\nkind: ConfigMap\n---\x0c\nmetadata: {name: a}\n") == [
        'document 1 (line 1): unacceptable character #x000c: special characters are not allowed in "<unicode '
        'string>", position 34'
    ]


def test_a_syntax_error_is_reported_where_the_problem_is_not_where_its_context_began() -> None:
    assert problems_of("apiVersion: v1\nkind: ConfigMap\ndata: [a,\n  b\n") == [
        "document 1 (line 4): while parsing a flow sequence, expected ',' or ']', but got '<stream end>'"
    ]


TAG_MISFIT = "a value does not fit its explicit YAML tag, as !!int on text that is no number"
CONTAINS_ITSELF = "an alias makes the document contain itself, which no Kubernetes object can"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("{x: !!int foo}", f"{TAG_MISFIT} (ValueError: invalid literal for int() with base 10: 'foo')"),
        ("{x: !!bool foo}", f"{TAG_MISFIT} (KeyError: 'foo')"),
        ("{x: !!timestamp 2024}", f"{TAG_MISFIT} (AttributeError: 'NoneType' object has no attribute 'groupdict')"),
        ("&r {x: *r}", CONTAINS_ITSELF),
        ("&r [a, [b, *r]]", CONTAINS_ITSELF),
    ],
)
def test_a_document_the_loader_builds_wrongly_or_endlessly_is_reported(data: str, problem: str) -> None:
    """Reported with its # Source: like any other document that cannot be read, not as a
    traceback, and the documents after it are still read."""
    header = "---\n# Source: ais/templates/c.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    stream = f"{header}data: {data}\n" * 2
    assert problems_of(stream) == [
        f"document 1 (line 1, # Source: ais/templates/c.yaml): {problem}",
        f"document 2 (line 7, # Source: ais/templates/c.yaml): {problem}",
    ]


def test_aliases_to_one_node_twice_are_no_loop() -> None:
    stream = "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\na: &a [x, y]\nb: [*a, *a]\n"
    assert postrender(stream) == stream


def test_unreadable_characters_are_reported_and_later_documents_still_checked() -> None:
    assert problems_of("apiVersion: v1\nkind: Config\x07Map\n---\n- a\n") == [
        'document 1 (line 1): unacceptable character #x0007: special characters are not allowed in "<unicode '
        'string>", position 27',
        "document 2 (line 3): expected a Kubernetes object (a mapping), found a list",
    ]


@pytest.mark.parametrize(
    "fields",
    [
        {"apiVersion": "v1"},
        {"kind": "ConfigMap"},
        {"apiVersion": "", "kind": "ConfigMap"},
        {"apiVersion": "v1", "kind": 7},
    ],
)
def test_an_object_needs_a_text_api_version_and_kind(fields: Manifest) -> None:
    assert problems_of(as_yaml({**fields, "metadata": {"name": "a"}})) == [
        "document 1 (line 1): not a Kubernetes object: apiVersion and kind must be non-empty strings"
    ]


def test_a_changed_document_keeps_its_key_order_and_how_each_scalar_was_written() -> None:
    """Keys as the chart wrote them, block style for collections, every scalar as it was
    written, no line folding, aliases written out, text that is not ASCII as it is; the
    comments before the object stay, those inside go."""
    stream = """\
---
# Source: ais/templates/target-ss.yaml
# second comment
kind: Pod
apiVersion: v1
metadata:
  name: p
  annotations: &notes
    note: "Grüße — a note that is longer than eighty characters and must stay on one single line"
spec:
  containers:
  - name: main   # a comment inside
    image: busybox
    command: ["sh", "-c", "echo one\\necho two\\n"]
    volumeMounts: [{name: a.b, mountPath: /a}]
    env: [{name: K, value: ""}]
  volumes: [{name: a-b, emptyDir: {}}]
  extra: *notes
"""
    fixed = """\
---
# Source: ais/templates/target-ss.yaml
# second comment
kind: Pod
apiVersion: v1
metadata:
  name: p
  annotations:
    note: "Grüße — a note that is longer than eighty characters and must stay on one single line"
spec:
  containers:
  - name: main
    image: busybox
    command:
    - "sh"
    - "-c"
    - "echo one\\necho two\\n"
    volumeMounts:
    - name: a-b
      mountPath: /a
    env:
    - name: K
      value: ""
  volumes:
  - name: a-b
    emptyDir: {}
  extra:
    note: "Grüße — a note that is longer than eighty characters and must stay on one single line"
"""
    assert postrender(stream) == fixed


def test_a_changed_document_writes_no_aliases_and_keeps_quoted_keys() -> None:
    """Two terms fixed to the same hostname key are written out twice, not as an anchor and an
    alias; a key the chart quoted stays quoted."""
    stream = """\
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  labels: {"app": x}
spec:
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: topology.kubernetes.io/node
        labelSelector: {matchLabels: {app: x}}
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 1
        podAffinityTerm:
          topologyKey: topology.kubernetes.io/node
          labelSelector: {matchLabels: {app: x}}
  containers: [{name: c, image: i}]
"""
    fixed = """\
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  labels:
    "app": x
spec:
  affinity:
    podAntiAffinity:
      requiredDuringSchedulingIgnoredDuringExecution:
      - topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            app: x
      preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 1
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              app: x
  containers:
  - name: c
    image: i
"""
    assert postrender(stream) == fixed


def test_a_set_in_a_changed_document_is_written_sorted_and_twice_when_aliased() -> None:
    """The representer writes what the loader made from a !!set: in one order on every run
    (a set's own order changes with Python's string hashing), and an alias to it written out
    in full, as every other alias."""
    stream = """\
---
apiVersion: v1
kind: Pod
metadata:
  name: p
first: &s !!set {zeta, alpha, mid}
second: *s
spec:
  volumes: [{name: a-b, emptyDir: {}}]
  containers: [{name: c, image: i, volumeMounts: [{name: a.b, mountPath: /a}]}]
"""
    written_set = "!!set\n  alpha: null\n  mid: null\n  zeta: null\n"
    fixed = f"""\
---
apiVersion: v1
kind: Pod
metadata:
  name: p
first: {written_set}second: {written_set}spec:
  volumes:
  - name: a-b
    emptyDir: {{}}
  containers:
  - name: c
    image: i
    volumeMounts:
    - name: a-b
      mountPath: /a
"""
    assert postrender(stream) == fixed


# -- Bounds on what one document may stand for (the stack reader's, in the same words) -----------

SOURCE = "---\n# Source: ais/templates/c.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
WHERE = "document 1 (line 1, # Source: ais/templates/c.yaml)"


def expanding_to(values: int) -> str:
    """A ConfigMap whose aliases expand to exactly ``values`` values: every node counts, the
    document's mapping, each key and value, each list and element. Without ``a`` and ``b`` it
    has 9; ``a`` is 1001 (its key, its list, 999 elements), ``b`` two plus 1000 an alias."""
    aliases, scalars = divmod(values - 9 - 1001 - 2, 1000)
    elements = ["*a"] * aliases + ["x"] * scalars
    return f"{SOURCE}a: &a [{', '.join(['x'] * 999)}]\nb: [{', '.join(elements)}]\n"


def test_aliases_may_expand_to_a_million_values_and_no_more() -> None:
    assert postrender(expanding_to(1_000_000)) == expanding_to(1_000_000)
    assert problems_of(expanding_to(1_000_001)) == [f"{WHERE}: aliases expand to more than 1000000 values"]


def alias_bomb(source: str) -> str:
    """About 2 KB standing for 10**25 values."""
    levels = [f"a0: &a0 [{', '.join(['lol'] * 10)}]"]
    levels += [f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]" for level in range(1, 25)]
    return f"---\n# Source: {source}\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: bomb}}\n" + "\n".join(
        f"data{index}: {{{level}}}" for index, level in enumerate(levels)
    )


def test_an_alias_bomb_on_stdin_is_refused_naming_its_document(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused before anything walks it: the old walk took longer than anyone waits."""
    bomb = alias_bomb("ais/templates/bomb.yaml")
    assert 1900 < len(bomb) < 2100
    streams = StandardStreams(monkeypatch, (as_yaml(IDENTITY) + bomb).encode())
    assert main() == 1
    assert streams.written() == b""
    line = 1 + as_yaml(IDENTITY).count("\n")
    assert streams.stderr.getvalue() == (
        f"aisinfra postrender: document 2 (line {line}, # Source: ais/templates/bomb.yaml): "
        "aliases expand to more than 1000000 values\n"
    )


def nested(levels: int) -> str:
    """A ConfigMap whose deepest value is at ``levels``: the document is level 1, ``data`` 2."""
    return f"{SOURCE}data: {'[' * (levels - 2)}x{']' * (levels - 2)}\n"


def test_a_document_may_nest_100_levels_and_no_more() -> None:
    assert postrender(nested(100)) == nested(100)
    assert problems_of(nested(101)) == [f"{WHERE}: nested more than 100 levels deep"]


@pytest.mark.parametrize("levels", [330, 3000, 100_000])
def test_a_document_nested_past_pythons_recursion_is_refused(levels: int) -> None:
    assert problems_of(nested(levels) + as_yaml(IDENTITY)) == [f"{WHERE}: nested more than 100 levels deep"]


def test_aliases_nesting_past_the_bound_are_refused() -> None:
    """Each anchor nests 30 levels as written and holds the one before: 122 once expanded."""
    chain = "".join(
        f"d{level}: &d{level} {'[' * 30}{f'*d{level - 1}' if level else 'x'}{']' * 30}\n" for level in range(4)
    )
    assert problems_of(SOURCE + chain) == [f"{WHERE}: nested more than 100 levels deep"]
    assert postrender(SOURCE + chain[: chain.index("d3:")]) == SOURCE + chain[: chain.index("d3:")]


def test_a_hundred_thousand_aliases_in_a_fixed_document_are_written_out() -> None:
    pod = holding("Pod", BROKEN_POD_SPEC)
    text = as_yaml(pod) + "x: &x {a: 1}\ny: [" + ", ".join(["*x"] * 100_000) + "]\n"
    fixed = postrender(text)
    pod_part, aliases_part = fixed.split("\nx:\n", 1)
    assert mount_names(pod_spec_in(yaml.safe_load(pod_part))) == FIXED_MOUNTS
    assert aliases_part == "  a: 1\ny:\n" + "- a: 1\n" * 100_000


# -- Duplicate keys: refused, as the stack reader refuses them --------------------------------


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ("{a: 1, a: 2}", "the key 'a' is already defined at line 6; write each key once"),
        ("\n  a: 1\n  b: 2\n  'a': 3", "the key 'a' is already defined at line 7; write each key once"),
        # One text, two values to PyYAML, one key to Go's YAML reading and to JSON.
        ("{1: a, '1': b}", "the key '1' is already defined at line 6; write each key once"),
        # Two texts, one value to PyYAML, which would keep only the last.
        ("{0x1F: a, 31: b}", "the key '31' is already defined at line 6; write each key once"),
        ("{yes: a, true: b}", "the key 'true' is already defined at line 6; write each key once"),
        ("[{x: {b: 1, c: 2, b: 3}}]", "the key 'b' is already defined at line 6; write each key once"),
    ],
)
def test_a_key_written_twice_in_one_mapping_is_refused(data: str, problem: str) -> None:
    line = 6 + data.count("\n")
    assert problems_of(f"{SOURCE}data: {data}\n") == [
        f"document 1 (line {line}, # Source: ais/templates/c.yaml): {problem}"
    ]


def test_a_key_written_twice_is_refused_in_a_document_with_aliases_and_merges_too() -> None:
    merged = f"{SOURCE}base: &b {{x: 1}}\ndata: {{<<: *b, y: 2, y: 3}}\n"
    assert problems_of(merged) == [
        "document 1 (line 7, # Source: ais/templates/c.yaml): the key 'y' is already defined at line 7; "
        "write each key once"
    ]


def test_a_key_written_twice_is_found_past_a_key_that_is_a_list() -> None:
    assert problems_of(f"{SOURCE}data: {{[a]: 1, b: 2, b: 3}}\n") == [
        "document 1 (line 6, # Source: ais/templates/c.yaml): the key 'b' is already defined at line 6; "
        "write each key once"
    ]


def test_keys_merged_in_or_repeated_in_other_mappings_are_no_duplicates() -> None:
    stream = f"{SOURCE}base: &b {{x: 1, y: 1}}\ndata: {{<<: *b, y: 2}}\nmore: {{x: 1, data: 2}}\n"
    assert postrender(stream) == stream


# -- Input text in problems: never a control character to the terminal -----------------------


def test_control_characters_of_a_source_line_are_escaped(monkeypatch: pytest.MonkeyPatch) -> None:
    """An escape sequence or a carriage return in a template's path would rewrite the terminal:
    every character Python does not call printable is written as its escape."""
    stream = "---\n# Source: ais/templates/\x1b[2J\rx\u202ey.yaml\napiVersion: v1\nkind: ConfigMap\ndata: [\n"
    streams = StandardStreams(monkeypatch, stream.encode())
    assert main() == 1
    assert streams.stderr.getvalue() == (
        "aisinfra postrender: document 1 (line 1, # Source: ais/templates/\\x1b[2J\\rx\\u202ey.yaml): "
        'unacceptable character #x001b: special characters are not allowed in "<unicode string>", position 28\n'
    )


def test_control_characters_of_names_and_keys_are_escaped() -> None:
    ingress = obj("extensions/v1beta1", "Ingress", "w\\éb\u202e\x85", spec={"backend": {}})
    duplicate = f'{SOURCE}data: {{"a\\eb": 1, "a\\eb": 2}}\n'
    assert problems_of(as_yaml(ingress)) == [
        "Ingress/w\\éb\\u202e\\x85: extensions/v1beta1 Ingress was removed in Kubernetes 1.22 and cannot be upgraded "
        "mechanically: networking.k8s.io/v1 replaced the backend's serviceName/servicePort with service.name/port "
        "and requires a pathType for every path"
    ]
    assert problems_of(duplicate) == [
        "document 1 (line 6, # Source: ais/templates/c.yaml): the key 'a\\x1bb' is already defined at line 6; "
        "write each key once"
    ]


# -- Objects inside a List: fixed like any other, in place --------------------------------------

RBAC_LIST = """\
---
# Source: ais/templates/rbac-list.yaml
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1beta1
  kind: ClusterRole
  metadata:
    name: ais-lister
  rules:
  - apiGroups: [""]
    resources: [pods]
    verbs: [list]
- apiVersion: policy/v1beta1
  kind: PodSecurityPolicy
  metadata:
    name: ais-psp
  spec: {privileged: false}
- apiVersion: rbac.authorization.k8s.io/v1beta1
  kind: Role
  metadata:
    name: ais-psp
    namespace: ais
  rules:
  - {apiGroups: [policy], resources: [podsecuritypolicies], verbs: [use]}
- apiVersion: rbac.authorization.k8s.io/v1beta1
  kind: ClusterRoleBinding
  metadata:
    name: ais-lister
  roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: ais-lister}
  subjects: [{kind: ServiceAccount, name: ais-sa, namespace: ais}]
---
# Source: ais/templates/psp-binding.yaml
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: ais-psp
  namespace: ais
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ais-psp}
subjects: [{kind: ServiceAccount, name: ais-sa, namespace: ais}]
---
# Source: ais/templates/config.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: ais
  namespace: ais
  labels: {release: demo}
"""

FIXED_RBAC_LIST = """\
---
# Source: ais/templates/rbac-list.yaml
apiVersion: v1
kind: List
items:
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    name: ais.demo.ais-lister
  rules:
  - apiGroups:
    - ""
    resources:
    - pods
    verbs:
    - list
- apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRoleBinding
  metadata:
    name: ais.demo.ais-lister
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: ClusterRole
    name: ais.demo.ais-lister
  subjects:
  - kind: ServiceAccount
    name: ais-sa
    namespace: ais
"""


def test_objects_in_a_list_are_upgraded_renamed_and_dropped_like_any_other() -> None:
    """The rbac v1beta1 ClusterRole and its binding move to v1 and take the release's names; the
    PodSecurityPolicy, the Role that only used it and that Role's binding (outside the List) go.
    The List stays one document, rewritten; the ConfigMap no fix touches stays as written."""
    config_map = RBAC_LIST[RBAC_LIST.index("---\n# Source: ais/templates/config.yaml") :]
    assert postrender(RBAC_LIST) == FIXED_RBAC_LIST + config_map


def test_a_list_no_fix_touches_is_copied_byte_for_byte_and_gives_evidence() -> None:
    items = [IDENTITY, holding("Deployment", {"containers": [{"name": "c", "image": "i"}]})]
    listed = as_yaml({"apiVersion": "v1", "kind": "List", "items": items})
    fixed = postrender(listed + as_yaml(STORAGE_CLASS))
    assert fixed.startswith(listed)  # the release's namespace and name come from inside the List
    assert yaml.safe_load(fixed[len(listed) :])["metadata"]["name"] == "ais.demo.local-storage"


def test_pod_templates_inside_nested_lists_are_fixed() -> None:
    inner = {"apiVersion": "v1", "kind": "List", "items": [holding("StatefulSet", BROKEN_POD_SPEC)]}
    (fixed,) = fixed_objects({"apiVersion": "v1", "kind": "List", "items": [inner]})
    assert mount_names(pod_spec_in(fixed["items"][0]["items"][0])) == FIXED_MOUNTS


def test_every_item_around_a_nested_list_is_fixed_too() -> None:
    # Each its own pod spec: as_yaml would write one shared three times as an anchor and aliases.
    inner = {"apiVersion": "v1", "kind": "List", "items": [holding("Pod", copy.deepcopy(BROKEN_POD_SPEC))]}
    listed = [
        holding("Job", copy.deepcopy(BROKEN_POD_SPEC)),
        inner,
        holding("DaemonSet", copy.deepcopy(BROKEN_POD_SPEC)),
    ]
    (fixed,) = fixed_objects({"apiVersion": "v1", "kind": "List", "items": listed})
    job, inner_list, daemon_set = fixed["items"]
    assert [mount_names(pod_spec_in(item)) for item in (job, inner_list["items"][0], daemon_set)] == [FIXED_MOUNTS] * 3


def test_a_list_whose_only_fix_drops_an_item_is_rewritten_without_it() -> None:
    policy = {"apiVersion": "policy/v1beta1", "kind": "PodSecurityPolicy", "metadata": {"name": "p"}, "spec": {}}
    (fixed,) = fixed_objects({"apiVersion": "v1", "kind": "List", "items": [IDENTITY, policy]})
    assert fixed["items"] == [IDENTITY]


def test_items_of_an_object_that_is_no_list_are_its_own_business() -> None:
    """Only a List's items are objects; another kind may have a field of that name, any value."""
    text = as_yaml({**IDENTITY, "items": {"a": 1}}, {**IDENTITY, "items": ["a", {"kind": 7}]})
    assert postrender(text) == text


def test_an_item_of_a_list_inside_a_list_is_named_by_its_path() -> None:
    stream = "---\napiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List, items: [{kind: Pod}]}\n"
    assert problems_of(stream) == [
        "document 1 (line 1): items[0].items[0]: not a Kubernetes object: apiVersion and kind must be non-empty strings"
    ]


@pytest.mark.parametrize(
    ("items", "problem"),
    [
        ("[a]", "items[0]: expected a Kubernetes object (a mapping), found a str"),
        ("[{kind: ConfigMap}]", "items[0]: not a Kubernetes object: apiVersion and kind must be non-empty strings"),
        ("{a: 1}", "a List's items must be a list of Kubernetes objects, found a dict"),
    ],
)
def test_a_list_holding_what_is_no_object_is_refused(items: str, problem: str) -> None:
    stream = f"---\n# Source: ais/templates/l.yaml\napiVersion: v1\nkind: List\nitems: {items}\n"
    assert problems_of(stream) == [f"document 1 (line 1, # Source: ais/templates/l.yaml): {problem}"]


# -- With libyaml or with PyYAML's own code: the same output, the same problems -----------------

# Annotations libyaml's emitter writes otherwise than PyYAML's, each caught by a guard in _dump,
# and some it writes alike.
ANNOTATIONS = [
    '    greeting: "Grüße — ünïcödé"',
    "    emoji: \U0001f600 party",
    '    separator: "one\\u2028two"',
    '    next-line: "one\\x85two"',
    '    lone-surrogate: "\\ud800"',
    "    path: 'C:\\temp'",
    "    ratio: !!float 1",
    "    blob: !!binary aGVsbG8=",
    "    script: |+\n      echo\n",
    '    "": empty key',
    f"    {'k' * 123}: at the length PyYAML starts writing '? key'",
    f"    {'k' * 100}: the longest written alike",
    "    long: a value of many words that runs on for well over eighty characters without any line break",
    '    bang: "!important"',
    '    dots: "..."',
]


def rewritten(*annotations: str) -> str:
    """A Pod whose mount the post-renderer fixes, so the whole document is written anew."""
    return (
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n"
        + "".join(f"{annotation}\n" for annotation in annotations)
        + "spec:\n  volumes: [{name: a-b, emptyDir: {}}]\n"
        "  containers: [{name: c, image: i, volumeMounts: [{name: a.b, mountPath: /a}]}]\n"
    )


needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="this PyYAML has no libyaml: one way only")


def outcome(text: str) -> str | list[str]:
    try:
        return postrender(text)
    except PostrenderError as error:
        return error.problems


def both_ways(monkeypatch: pytest.MonkeyPatch, text: str) -> tuple[str | list[str], str | list[str]]:
    """What the post-renderer makes of ``text`` with libyaml, and with PyYAML's own parser and emitter."""
    with_libyaml = outcome(text)
    monkeypatch.setattr(postrender_module, "_LIBYAML", False)
    return with_libyaml, outcome(text)


@needs_libyaml
@pytest.mark.parametrize("line_break", ["\n", "\r\n"])
def test_a_rewritten_document_is_written_alike_with_libyaml_and_without(
    monkeypatch: pytest.MonkeyPatch, line_break: str
) -> None:
    with_libyaml, without = both_ways(monkeypatch, rewritten(*ANNOTATIONS).replace("\n", line_break))
    assert with_libyaml == without
    assert f"  - name: a-b{line_break}      mountPath: /a{line_break}" in str(without)


@needs_libyaml
@pytest.mark.parametrize("annotation", ANNOTATIONS)
def test_each_value_libyaml_writes_otherwise_is_written_by_pyyaml(
    monkeypatch: pytest.MonkeyPatch, annotation: str
) -> None:
    """One at a time, so each guard in _dump is needed by one of them."""
    with_libyaml, without = both_ways(monkeypatch, rewritten(annotation))
    assert with_libyaml == without


@needs_libyaml
@pytest.mark.parametrize(
    "name", ["release-demo.yaml", "release-demo-in-lab.yaml", "legacy-apis.yaml", "affinity.yaml", "unparseable.yaml"]
)
def test_every_fixture_comes_out_alike_with_libyaml_and_without(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    text = (Path(__file__).parent / "fixtures" / "postrender" / name).read_text()
    with_libyaml, without = both_ways(monkeypatch, text)
    assert with_libyaml == without


@needs_libyaml
def test_a_document_libyaml_refuses_is_read_by_pyyaml(monkeypatch: pytest.MonkeyPatch) -> None:
    """libyaml refuses a byte order mark at the start of a line inside a document; PyYAML reads it
    as part of the key, as the post-renderer always has."""
    stream = f"{SOURCE}\ufeffnote: x\n"
    with_libyaml, without = both_ways(monkeypatch, stream)
    assert with_libyaml == without == stream


# -- How documents are read and written, where no output shows it -----------------------------


def test_a_document_without_aliases_is_built_without_pyyamls_constructor(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*arguments: object) -> None:
        raise AssertionError("PyYAML's constructor built a document without aliases")

    demo = (Path(__file__).parent / "fixtures" / "postrender" / "release-demo.yaml").read_text()
    expected = postrender(demo)
    monkeypatch.setattr(postrender_module._Loader, "construct_document", refuse)
    assert postrender(demo) == expected


DOCUMENT_WITH_EVERY_SCALAR = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: c}
data:
  text: plain
  quoted: 'yes'
  number: 0777
  hex: 0x1F
  float: 1.5
  infinite: .inf
  truth: yes
  nothing: ~
  empty:
  day: 2024-01-02
  moment: 2024-01-02T03:04:05Z
  bytes: !!binary aGVsbG8=
  list: [a, [b, {c: d}], []]
  mapping: {}
"""


def test_what_is_built_directly_is_what_pyyamls_constructor_builds() -> None:
    node = yaml.compose(DOCUMENT_WITH_EVERY_SCALAR, Loader=yaml.SafeLoader)
    assert node is not None
    built = postrender_module._built(node)
    assert built == yaml.safe_load(DOCUMENT_WITH_EVERY_SCALAR)
    assert [type(value).__name__ for value in built["data"].values()] == [
        "str", "str", "int", "int", "float", "float", "bool", "NoneType", "NoneType", "date", "datetime",
        "bytes", "list", "dict",
    ]  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [
        "{<<: {a: 1}, b: 2}",  # a merge
        "{1: a}",  # a key that is no text
        "{a: 1, a: 2}",  # a key written twice
        "!!set {a, b}",
        "!!omap [{a: 1}]",
        "!!str {=: a}",  # PyYAML's 'value' key
        "!!int [1]",
        "!!seq {a: 1}",
        "!custom x",
    ],
)
def test_what_pyyamls_constructor_builds_instead(data: str) -> None:
    node = yaml.compose(f"{SOURCE}data: {data}\n", Loader=yaml.SafeLoader)
    assert node is not None
    with pytest.raises(postrender_module._UnusualNodeError):
        postrender_module._built(node)


def test_an_aliased_value_a_fix_changes_changes_wherever_an_alias_stands() -> None:
    """PyYAML's constructor builds a node that aliases repeat once: the fix applies to all."""
    template = (
        "spec:\n  template: &pod\n    spec:\n"
        "      containers: [{name: c, image: i, volumeMounts: [{name: a.b, mountPath: /a}]}]\n"
        "      volumes: [{name: a-b, emptyDir: {}}]\n"
    )
    stream = f"apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j}}\n{template}copy: *pod\n"
    fixed = yaml.safe_load(postrender(stream))
    assert fixed["copy"] == fixed["spec"]["template"]
    assert fixed["copy"]["spec"]["containers"][0]["volumeMounts"][0]["name"] == "a-b"


def test_a_document_without_aliases_is_never_too_large() -> None:
    """The bound is on what aliases make of a document: written out, a value is what it costs."""
    stream = f"{SOURCE}data: [{', '.join(['x'] * 1_000_000)}]\n"
    assert postrender(stream) == stream


def test_a_tag_for_a_mapping_on_a_scalar_is_reported_in_pyyamls_words() -> None:
    assert problems_of(f"{SOURCE}data: !!set x\n") == [
        "document 1 (line 6, # Source: ais/templates/c.yaml): expected a mapping node, but found scalar"
    ]


def test_a_key_written_twice_does_not_stop_the_reading_of_later_documents() -> None:
    assert problems_of(f"{SOURCE}data: {{a: 1, a: 2}}\n{SOURCE}data: [\n") == [
        "document 1 (line 6, # Source: ais/templates/c.yaml): the key 'a' is already defined at line 6; "
        "write each key once",
        "document 2 (line 12, # Source: ais/templates/c.yaml): while parsing a flow node, expected the node content, "
        "but found '<stream end>'",
    ]


def test_a_changed_first_document_without_a_start_line_is_written_without_one() -> None:
    stream = (
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
        + rewritten().split("metadata:\n  name: p\n  annotations:\n")[1]
    )
    assert postrender(stream).startswith("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n")


def test_only_roles_lose_rules_that_use_pod_security_policies() -> None:
    use_only = {"apiGroups": ["policy"], "resources": ["podsecuritypolicies"], "verbs": ["use"]}
    custom = {"apiVersion": "example.com/v1", "kind": "AccessPolicy", "metadata": {"name": "a"}, "rules": [use_only]}
    assert fixed_objects(custom) == [custom]


def test_a_reference_to_an_object_the_release_does_not_rename_stays() -> None:
    priority = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass", "metadata": {"name": "mine"}}
    pod = holding("Pod", {"containers": [], "priorityClassName": "system-cluster-critical"})
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "c"}}
    claim["spec"] = {"storageClassName": "standard", "volumeName": "pv-1"}
    fixed = fixed_objects(IDENTITY, priority, pod, claim)
    assert fixed[1]["metadata"]["name"] == "ais.demo.mine"
    assert (fixed[2], fixed[3]) == (pod, claim)


@needs_libyaml
def test_libyaml_writes_a_changed_document_it_writes_alike(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keys of 1 and of 100 characters, accented text: libyaml's emitter alone writes them."""
    emitters: list[str] = []

    def recorded(name: str) -> Callable[..., Any]:
        emitter = getattr(postrender_module, name)

        def emit(*arguments: Any) -> Any:
            emitters.append(name)
            return emitter(*arguments)

        return emit

    for name in ("_written_by_libyaml", "_written_by_pyyaml"):
        monkeypatch.setattr(postrender_module, name, recorded(name))
    postrender(rewritten("    a: 1", f"    {'k' * 100}: x", '    greeting: "Grüße"'))
    assert emitters == ["_written_by_libyaml"]
    emitters.clear()
    postrender(rewritten('    "": empty key'))  # known before writing: PyYAML's alone
    assert emitters == ["_written_by_pyyaml"]
    emitters.clear()
    postrender(rewritten("    ratio: !!float 1"))  # libyaml's text has a tag: PyYAML's after all
    assert emitters == ["_written_by_libyaml", "_written_by_pyyaml"]
    emitters.clear()
    postrender(rewritten("    listed: [{'': empty key in a list}]"))
    assert emitters == ["_written_by_pyyaml"]
