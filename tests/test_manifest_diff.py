"""The object-level diff of rendered manifests, on objects read in place from the chart's reference
rendering (release demo, namespace ais, monitoring off), each test editing them as a worksheet
change would and stating the lines a reviewer reads."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.review.manifest_diff import DuplicateObjectError, ObjectKey, diff_manifests
from aisinfra.worksheet.stackfile import SECRET_PLACEHOLDER

# The reference leaves namespaces to Helm's --namespace, as the chart's templates do; the objects
# the cluster gets are in the release's namespace.
NAMESPACED_KINDS = {"ConfigMap", "Role", "RoleBinding", "Service", "ServiceAccount", "StatefulSet"}
TARGET = ("StatefulSet", "demo-ais-target")
PROXY = ("StatefulSet", "demo-ais-proxy")

Manifest = dict[str, Any]


def reference_objects(reference_dir: Path) -> list[Manifest]:
    rendering = reference_dir / "rendered-demo-monitoring-off.yaml"
    objects = [document for document in yaml.safe_load_all(rendering.read_text()) if document]
    for manifest in objects:
        if manifest["kind"] in NAMESPACED_KINDS:
            manifest["metadata"]["namespace"] = "ais"
    return objects


@pytest.fixture
def reference(reference_dir: Path) -> list[Manifest]:
    return reference_objects(reference_dir)


@pytest.fixture
def edited(reference_dir: Path) -> list[Manifest]:
    """The same objects, to edit as a worksheet change would."""
    return reference_objects(reference_dir)


def find(objects: list[Manifest], kind_and_name: tuple[str, str]) -> Manifest:
    kind, name = kind_and_name
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def pod_spec(objects: list[Manifest], kind_and_name: tuple[str, str]) -> dict[str, Any]:
    spec: dict[str, Any] = find(objects, kind_and_name)["spec"]["template"]["spec"]
    return spec


def env(container: dict[str, Any], name: str) -> dict[str, Any]:
    return next(variable for variable in container["env"] if variable["name"] == name)


def test_the_same_objects_make_no_diff(reference: list[Manifest], edited: list[Manifest]) -> None:
    assert diff_manifests(reference, edited) == []
    assert diff_manifests(reference, list(reversed(edited))) == []


def test_one_more_target_shows_the_replicas_and_the_proxies_target_count(
    reference: list[Manifest], edited: list[Manifest]
) -> None:
    find(edited, TARGET)["spec"]["replicas"] = 21
    env(pod_spec(edited, PROXY)["containers"][0], "TARGETS")["value"] = "21"
    assert diff_manifests(reference, edited) == [
        "rendered objects: 0 added, 0 removed, 2 changed, 11 unchanged",
        "~ StatefulSet ais/demo-ais-proxy",
        '    spec.template.spec.containers[ais].env[TARGETS].value: "20" -> "21"',
        "~ StatefulSet ais/demo-ais-target",
        "    spec.replicas: 20 -> 21",
    ]


def test_an_inserted_volume_is_one_change_not_every_later_index(
    reference: list[Manifest], edited: list[Manifest]
) -> None:
    spec = pod_spec(edited, TARGET)
    # A mountpoint sorting between sdc and sdd: the chart lists volumes and mounts in order.
    spec["volumes"].insert(8, {"name": "fspath-ais-sdc2", "hostPath": {"path": "/ais/sdc2"}})
    spec["containers"][0]["volumeMounts"].insert(7, {"name": "fspath-ais-sdc2", "mountPath": "/ais/sdc2"})
    assert diff_manifests(reference, edited) == [
        "rendered objects: 0 added, 0 removed, 1 changed, 12 unchanged",
        "~ StatefulSet ais/demo-ais-target",
        '    spec.template.spec.containers[ais].volumeMounts[fspath-ais-sdc2]: (absent) -> {"mountPath": "/ais/sdc2", '
        '"name": "fspath-ais-sdc2"}',
        '    spec.template.spec.volumes[fspath-ais-sdc2]: (absent) -> {"hostPath": {"path": "/ais/sdc2"}, '
        '"name": "fspath-ais-sdc2"}',
    ]


def test_a_removed_volume_and_a_reordered_container_list_are_named(
    reference: list[Manifest], edited: list[Manifest]
) -> None:
    spec = pod_spec(edited, TARGET)
    spec["volumes"] = [volume for volume in spec["volumes"] if volume["name"] != "fspath-ais-sdj"]
    init = spec["initContainers"][0]
    init["volumeMounts"] = list(reversed(init["volumeMounts"]))
    assert diff_manifests(reference, edited) == [
        "rendered objects: 0 added, 0 removed, 1 changed, 12 unchanged",
        "~ StatefulSet ais/demo-ais-target",
        '    spec.template.spec.initContainers[populate-env].volumeMounts: order ["config-template-mount", '
        '"config-mount", "env-mount"] -> ["env-mount", "config-mount", "config-template-mount"]',
        '    spec.template.spec.volumes[fspath-ais-sdj]: {"hostPath": {"path": "/ais/sdj"}, "name": "fspath-ais-sdj"} '
        "-> (absent)",
    ]


def test_lists_without_names_are_aligned_by_content(reference: list[Manifest], edited: list[Manifest]) -> None:
    rules = find(edited, ("Role", "ais-r"))["rules"]
    rules.insert(0, {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["get"]})
    # The post-renderer's anti-affinity repair, in the one term the target has.
    term = pod_spec(edited, TARGET)["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    term["topologyKey"] = "kubernetes.io/hostname"
    assert diff_manifests(reference, edited) == [
        "rendered objects: 0 added, 0 removed, 2 changed, 11 unchanged",
        "~ Role ais/ais-r",
        '    rules[0]: (absent) -> {"apiGroups": ["apps"], "resources": ["statefulsets"], "verbs": ["get"]}',
        "~ StatefulSet ais/demo-ais-target",
        "    spec.template.spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]"
        '.topologyKey: "topology.kubernetes.io/node" -> "kubernetes.io/hostname"',
    ]


def test_added_and_removed_objects_in_kind_namespace_name_order_whatever_the_input_order(
    reference: list[Manifest], edited: list[Manifest]
) -> None:
    # The post-renderer's release-unique names for the cluster-scoped objects.
    for kind, name in (("StorageClass", "local-storage"), ("ClusterRole", "ais-cr"), ("ClusterRoleBinding", "ais-crb")):
        find(edited, (kind, name))["metadata"]["name"] = f"ais.demo.{name}"
    edited = [manifest for manifest in edited if manifest["metadata"]["name"] != "ais-statsd"]
    expected = [
        "rendered objects: 3 added, 4 removed, 0 changed, 9 unchanged",
        # '-' sorts before '.': the old name first.
        "- ClusterRole ais-cr",
        "+ ClusterRole ais.demo.ais-cr",
        "- ClusterRoleBinding ais-crb",
        "+ ClusterRoleBinding ais.demo.ais-crb",
        "- ConfigMap ais/ais-statsd",
        "+ StorageClass ais.demo.local-storage",
        "- StorageClass local-storage",
    ]
    assert diff_manifests(reference, edited) == expected
    random.Random(10).shuffle(edited)
    assert diff_manifests(list(reversed(reference)), edited) == expected


def test_secret_values_never_show(reference: list[Manifest], edited: list[Manifest]) -> None:
    def secret(**fields: Any) -> Manifest:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "demo-grafana", "namespace": "ais"},
            **fields,
        }

    before = [*reference, secret(type="Opaque", data={"admin-user": "YWRtaW4=", "admin-password": "czNjcjN0"})]
    edited.append(
        secret(
            type="kubernetes.io/basic-auth",
            data={"admin-user": "YWRtaW4=", "admin-password": "bjN3LXMzY3IzdA=="},
            stringData={"ldap-toml": "bind_password = 'hunter2'\nhost = 'ldap'"},
        )
    )
    # A value the render redacted outside a Secret (a secure config value in the values).
    env(pod_spec(edited, PROXY)["containers"][0], "AIS_CLUSTER_CIDR")["value"] = "[secret]"
    lines = diff_manifests(before, edited)
    assert lines == [
        "rendered objects: 0 added, 0 removed, 2 changed, 12 unchanged",
        "~ Secret ais/demo-grafana",
        "    data.admin-password: (changed)",
        "    stringData: (added)",
        '    type: "Opaque" -> "kubernetes.io/basic-auth"',
        "~ StatefulSet ais/demo-ais-proxy",
        "    spec.template.spec.containers[ais].env[AIS_CLUSTER_CIDR].value: (changed)",
    ]
    hidden = ("czNjcjN0", "bjN3", "hunter2", "[secret]")
    assert not any(secret_text in "\n".join(lines) for secret_text in hidden)
    added = diff_manifests(reference, edited)
    assert "+ Secret ais/demo-grafana" in added
    assert not any(secret_text in "\n".join(added) for secret_text in ("bjN3", "hunter2"))


def test_a_changed_config_file_shows_the_lines_that_differ(reference: list[Manifest], edited: list[Manifest]) -> None:
    find(reference, ("ConfigMap", "ais-target"))["data"]["ais.json"] = '{\n  "fspaths": {\n    "/ais/sda": {}\n  }\n}'
    find(edited, ("ConfigMap", "ais-target"))["data"]["ais.json"] = (
        '{\n  "fspaths": {\n    "/ais/sda": {},\n    "/ais/sdb": {}\n  }\n}'
    )
    assert diff_manifests(reference, edited) == [
        "rendered objects: 0 added, 0 removed, 1 changed, 12 unchanged",
        "~ ConfigMap ais/ais-target",
        '    data["ais.json"]: text, 2 lines added, 1 removed',
        '      -    "/ais/sda": {}',
        '      +    "/ais/sda": {},',
        '      +    "/ais/sdb": {}',
    ]


# --- a 2000-node stack ------------------------------------------------------------------------


def node(name: str, release: str) -> Manifest:
    labels = {"nvidia.com/ais-target": f"{release}-ais", "nvidia.com/ais-proxy": f"{release}-ais-electable"}
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}


def test_thousands_of_objects_with_the_same_change_take_one_line() -> None:
    names = [f"node{index:04d}" for index in range(1, 2001)]
    before = [node(name, "demo") for name in names[:1990]]
    after = [node(name, "prod") for name in reversed(names)]
    assert diff_manifests(before, after, whole_manifests="build/render/prod") == [
        "rendered objects: 10 added, 0 removed, 1990 changed, 0 unchanged",
        # Groups in the order of their first object.
        "~ Node node0001, node0002, node0003, node0004, node0005, node0006, ... 1982 more ..., node1989, node1990 "
        "(1990 objects; all in build/render/prod)",
        '    metadata.labels["nvidia.com/ais-proxy"]: "demo-ais-electable" -> "prod-ais-electable"',
        '    metadata.labels["nvidia.com/ais-target"]: "demo-ais" -> "prod-ais"',
        "+ Node node1991, node1992, node1993, node1994, node1995, node1996, ... 2 more ..., node1999, node2000 "
        "(10 objects; all in build/render/prod)",
    ]


def test_a_long_list_of_scalars_shows_what_was_added_and_removed(
    reference: list[Manifest], edited: list[Manifest]
) -> None:
    names = [f"node{index:04d}" for index in range(1, 2001)]
    selector = {"key": "kubernetes.io/hostname", "operator": "In"}
    affinity: dict[str, Any] = {
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}}
    }
    terms_before = [{"matchExpressions": [{**selector, "values": names[:1996]}]}]
    terms_after = [{"matchExpressions": [{**selector, "values": [*names[1:2000]]}]}]
    pod_spec(reference, TARGET)["affinity"] = copy.deepcopy(affinity)
    pod_spec(edited, TARGET)["affinity"] = copy.deepcopy(affinity)
    pod_spec(reference, TARGET)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ] = terms_before
    pod_spec(edited, TARGET)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ] = terms_after
    assert diff_manifests(reference, edited) == [
        "rendered objects: 0 added, 0 removed, 1 changed, 12 unchanged",
        "~ StatefulSet ais/demo-ais-target",
        "    spec.template.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0].values: 1996 -> 1999 items; "
        'added 4: "node1997", "node1998", "node1999", "node2000"; removed 1: "node0001"',
    ]


def test_an_object_shows_a_bounded_number_of_lines_and_says_how_many_it_left_out(
    reference: list[Manifest], edited: list[Manifest]
) -> None:
    variables = [{"name": f"EXTRA_{index:02d}", "value": str(index)} for index in range(30)]
    pod_spec(edited, TARGET)["containers"][0]["env"] += variables
    lines = diff_manifests(reference, edited, whole_manifests="build/render/dev")
    assert lines[:3] == [
        "rendered objects: 0 added, 0 removed, 1 changed, 12 unchanged",
        "~ StatefulSet ais/demo-ais-target",
        '    spec.template.spec.containers[ais].env[EXTRA_00]: (absent) -> {"name": "EXTRA_00", "value": "0"}',
    ]
    assert lines[21:] == [
        '    spec.template.spec.containers[ais].env[EXTRA_19]: (absent) -> {"name": "EXTRA_19", "value": "19"}',
        "    ... 10 more lines of changes (see build/render/dev)",
    ]


def test_notes_come_before_the_changes_and_are_never_left_out() -> None:
    names = [f"node{index:04d}" for index in range(1, 4)]
    before = [node(name, "demo") for name in names]
    after = [node(name, "prod") for name in names]
    note = ObjectKey("Node", "", "node0002")
    lines = diff_manifests(before, after, notes={note: [f"~ note {index}" for index in range(25)]})
    changes = [
        '    metadata.labels["nvidia.com/ais-proxy"]: "demo-ais-electable" -> "prod-ais-electable"',
        '    metadata.labels["nvidia.com/ais-target"]: "demo-ais" -> "prod-ais"',
    ]
    # The noted object leaves the group of objects with the same changes.
    assert lines == [
        "rendered objects: 0 added, 0 removed, 3 changed, 0 unchanged",
        "~ Node node0001, node0003 (2 objects)",
        *changes,
        "~ Node node0002",
        *[f"    ~ note {index}" for index in range(25)],
        *changes,
    ]


def test_a_long_value_is_shortened_with_its_length(reference: list[Manifest], edited: list[Manifest]) -> None:
    find(edited, ("ConfigMap", "ais-statsd"))["metadata"]["annotations"] = {"note": "x" * 200}
    assert diff_manifests(reference, edited) == [
        "rendered objects: 0 added, 0 removed, 1 changed, 12 unchanged",
        "~ ConfigMap ais/ais-statsd",
        '    metadata.annotations: (absent) -> {"note": "' + "x" * 70 + "... (212 characters)",
    ]


def test_two_objects_with_one_identity_are_refused(reference: list[Manifest]) -> None:
    with pytest.raises(DuplicateObjectError, match="two rendered objects are StatefulSet ais/demo-ais-target"):
        diff_manifests(reference, [*reference, find(reference, TARGET)])


def test_every_element_removed_from_a_list_without_names_is_shown(
    reference: list[Manifest], edited: list[Manifest]
) -> None:
    """Each removed element of a list without names, in the middle and at the end, is a line."""
    rules = [{"apiGroups": [""], "resources": [resource], "verbs": ["get"]} for resource in "abcd"]
    find(reference, ("Role", "ais-r"))["rules"] = copy.deepcopy(rules)
    find(edited, ("Role", "ais-r"))["rules"] = [rules[0], rules[2]]
    assert diff_manifests(reference, edited)[1:] == [
        "~ Role ais/ais-r",
        '    rules[1]: {"apiGroups": [""], "resources": ["b"], "verbs": ["get"]} -> (absent)',
        '    rules[3]: {"apiGroups": [""], "resources": ["d"], "verbs": ["get"]} -> (absent)',
    ]


def test_an_object_moved_to_another_namespace_is_removed_and_added(
    reference: list[Manifest], edited: list[Manifest]
) -> None:
    """Objects are matched by kind, namespace and name: a move is never shown as an update."""
    find(edited, ("Role", "ais-r"))["metadata"]["namespace"] = "ais2"
    assert diff_manifests(reference, edited)[:3] == [
        "rendered objects: 1 added, 1 removed, 0 changed, 12 unchanged",
        "- Role ais/ais-r",
        "+ Role ais2/ais-r",
    ]


# --- small objects written out (edges the mutation run found unpinned) -----------------------


def config_map(name: str = "c", **fields: Any) -> Manifest:
    return {"kind": "ConfigMap", "metadata": {"name": name, "namespace": "n"}, **fields}


def changed(old: Manifest, new: Manifest) -> list[str]:
    lines = diff_manifests([old], [new])
    assert lines[1] == f"~ {old['kind']} n/{old['metadata']['name']}"
    return [line.removeprefix("    ") for line in lines[2:]]


def test_fields_added_removed_and_changed_in_shape() -> None:
    old = config_map(data={"a": "1"}, items=["a"])
    new = config_map(data={"b": "2"}, binaryData={"x": "y"}, items="b")
    assert changed(old, new) == [
        'binaryData: (absent) -> {"x": "y"}',
        'data.a: "1" -> (absent)',
        'data.b: (absent) -> "2"',
        'items: ["a"] -> "b"',
    ]


def test_secret_values_are_never_shown_nor_a_redacted_value() -> None:
    old = {"kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "data": {"c": "x", "gone": "y"}}
    new = {"kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "data": {"c": "z", "k": "w"}}
    assert changed(old, new) == ["data.c: (changed)", "data.gone: (removed)", "data.k: (added)"]
    assert changed(config_map(data={"p": SECRET_PLACEHOLDER}), config_map(data={"p": "plain"})) == ["data.p: (changed)"]


def test_text_that_gains_or_loses_its_line_breaks_is_diffed_as_text() -> None:
    assert changed(config_map(data={"f": "a\nb\n"}), config_map(data={"f": "a"})) == [
        "data.f: text, 0 lines added, 1 removed",
        "  -b",
    ]
    assert changed(config_map(data={"f": "a"}), config_map(data={"f": "a\nb"})) == [
        "data.f: text, 1 lines added, 0 removed",
        "  +b",
    ]


def test_a_list_that_loses_its_names_is_aligned() -> None:
    assert changed(config_map(l=[{"name": "a"}]), config_map(l=[{"x": 1}])) == [
        'l[0].name: "a" -> (absent)',
        "l[0].x: (absent) -> 1",
    ]


def test_several_elements_changed_in_place_after_an_equal_one() -> None:
    old = config_map(l=[{"v": 0}, {"v": 1}, {"v": 2}])
    new = config_map(l=[{"v": 0}, {"v": 10}, {"v": 20}, {"v": 30}])
    assert changed(old, new) == ["l[1].v: 1 -> 10", "l[2].v: 2 -> 20", 'l[3]: (absent) -> {"v": 30}']


def test_lists_of_scalars_short_and_long() -> None:
    assert changed(config_map(l=["a"]), config_map(l=["a", "b"])) == ['l: ["a"] -> ["a", "b"]']
    exactly = [f"{n:06}" for n in range(10)]  # its JSON is exactly 100 characters
    assert len(json.dumps(exactly)) == 100
    assert changed(config_map(l=exactly[:1]), config_map(l=exactly)) == [
        f"l: {json.dumps(exactly[:1])} -> {json.dumps(exactly)}"
    ]
    long = [f"node{n:03}-with-a-long-name" for n in range(1, 11)]
    assert changed(config_map(l=long), config_map(l=list(reversed(long)))) == ["l: same 10 items, order changed"]
    assert changed(config_map(l=long), config_map(l=[*long, "n10", "n9", "n8", "n7", "n6", "n5"])) == [
        'l: 10 -> 16 items; added 6: "n5", "n6", "n7", "n8", "n9", ... 1 more'
    ]
    assert changed(config_map(l=long), config_map(l=long[:5])) == [
        'l: 10 -> 5 items; removed 5: "node006-with-a-long-name", "node007-with-a-long-name", '
        '"node008-with-a-long-name", "node009-with-a-long-name", "node010-with-a-long-name"'
    ]


def test_a_value_of_exactly_the_longest_shown_length_is_shown_whole() -> None:
    value = "x" * 98  # 100 characters as JSON
    assert changed(config_map(data={"v": "y"}), config_map(data={"v": value})) == [f'data.v: "y" -> "{value}"']


def test_an_object_without_kind_or_name() -> None:
    assert diff_manifests([], [{"metadata": {"namespace": "n"}}]) == [
        "rendered objects: 1 added, 0 removed, 0 changed, 0 unchanged",
        "+  n/",
    ]


def test_twenty_lines_are_shown_whole_and_more_are_cut_with_where_to_look() -> None:
    twenty = config_map(data={f"k{n:02}": "1" for n in range(20)})
    assert len(changed(config_map(data={}), twenty)) == 20
    more = config_map(data={f"k{n:02}": "1" for n in range(21)})
    assert changed(config_map(data={}), more)[-1] == "... 1 more lines of changes (see the manifests written by --out)"


def test_eight_objects_with_one_change_are_named_on_one_line() -> None:
    names = [f"c{n}" for n in range(1, 9)]
    lines = diff_manifests([config_map(name) for name in names], [config_map(name, data={"a": "1"}) for name in names])
    assert lines[1] == f"~ ConfigMap {', '.join(f'n/{name}' for name in names)} (8 objects)"


def test_a_top_level_field_removed_or_not_plain() -> None:
    assert changed(config_map(extra="x"), config_map()) == ['extra: "x" -> (absent)']
    assert changed({**config_map(), "x.y": 1}, {**config_map(), "x.y": 2}) == ['["x.y"]: 1 -> 2']


def test_a_secret_value_nested_deeper_stays_hidden() -> None:
    old = {"kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "data": {"k": {"a": "1"}}}
    new = {"kind": "Secret", "metadata": {"name": "s", "namespace": "n"}, "data": {"k": {"a": "2"}}}
    assert changed(old, new) == ["data.k.a: (changed)"]


def test_a_list_that_becomes_a_long_string_is_one_change() -> None:
    assert changed(config_map(items=["a"]), config_map(items="b" * 120)) == [
        'items: ["a"] -> "' + "b" * 79 + "... (122 characters)"
    ]
