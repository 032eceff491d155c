"""``render --diff`` says what a change does: reads create nothing, protected resources are
refused, and deleting what holds data loses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aisinfra.cli import main
from aisinfra.review.diff import _without_own_name, diff_renders
from aisinfra.review.render import resource_documents, run_program
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

TARGETS = WORKSHEET_EXAMPLE["aisinfra:targets"]
MONITORING = WORKSHEET_EXAMPLE["aisinfra:monitoring"]
REFUSED = (
    "    ! pulumi up refuses this: the resource is protected; it goes only after a backup and "
    "`pulumi state unprotect` of it"
)


def changes(make_stack: Any, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return diff_renders(
        resource_documents(run_program(make_stack(before))), resource_documents(run_program(make_stack(after)))
    )


def test_a_removed_node_is_a_read_no_longer_made_not_a_deletion(make_stack: Any) -> None:
    fixed_count = {**TARGETS, "initialCount": 11}
    before = worksheet(targets={**fixed_count, "nodes": ["cpu{01..12}"]}, proxies={"nodes": ["cpu01"]})
    after = worksheet(targets={**fixed_count, "nodes": ["cpu{01..11}"]}, proxies={"nodes": ["cpu01"]})
    # The node dashboard and the alerting rules no longer select cpu12.
    assert [
        line.split(": ", 1)[0] if line.startswith("    ") else line for line in changes(make_stack, before, after)
    ] == [
        "~ kubernetes:core/v1:ConfigMap  aistore-monitoring-dashboard-nodes",
        "    inputs.data.ais-nodes-9de97218f5383f7654c4.json",
        "< kubernetes:core/v1:Node  aistore-node-cpu12  (no longer read)",
        "- kubernetes:batch/v1:Job  aistore-preflight-cpu12",
        "~ kubernetes:helm.sh/v3:Release  aistore-release",
        "    inputs.values.prometheus.serverFiles.alerting_rules.yml.groups",
        "- kubernetes:core/v1:NodePatch  aistore-targets-cpu12",
    ]


def test_deleting_a_protected_volume_is_flagged_as_refused_and_losing_data(make_stack: Any) -> None:
    after = worksheet(existingNamespace=True, monitoring={**MONITORING, "graphite": {"existingClaim": "site-graphite"}})
    lines = changes(make_stack, WORKSHEET_EXAMPLE, after)
    volume = lines.index("- kubernetes:core/v1:PersistentVolume  aistore-monitoring-graphite-pv")
    assert lines[volume + 1 : volume + 3] == [
        REFUSED,
        "    ! loses data: the Graphite/Grafana volume is unbound from its data (the directory stays on the node, "
        "reclaim policy Retain); back it up first",
    ]
    claim = lines.index("- kubernetes:core/v1:PersistentVolumeClaim  aistore-monitoring-graphite-pvc")
    assert lines[claim + 1 : claim + 3] == [
        REFUSED,
        "    ! loses data: the Graphite/Grafana claim goes, and with it the monitoring history it holds; back it up "
        "first",
    ]
    # The namespace this stack created is now only read: Pulumi lets go of it, deleting nothing.
    assert (
        "> kubernetes:core/v1:Namespace  aistore-namespace  (read from now on: Pulumi stops managing it, "
        "nothing is deleted)"
    ) in lines


def test_reading_another_namespace_than_the_one_created_deletes_it(make_stack: Any) -> None:
    lines = changes(make_stack, WORKSHEET_EXAMPLE, worksheet(namespace="ais2", existingNamespace=True))
    namespace = lines.index(
        ">> kubernetes:core/v1:Namespace  aistore-namespace  (read instead: the one this stack created is deleted)"
    )
    assert lines[namespace + 1 : namespace + 3] == [
        REFUSED,
        "    ! loses data: deleting the namespace deletes everything in it, the monitoring claims included",
    ]


def test_replacing_the_release_says_it_takes_the_cluster_down(make_stack: Any) -> None:
    lines = changes(make_stack, worksheet(protect=False), worksheet(protect=False, namespace="ais2"))
    release = lines.index("+- kubernetes:helm.sh/v3:Release  aistore-release  (replaced: inputs.namespace changes)")
    assert lines[release + 1] == (
        "    ! takes the AIStore cluster down: Helm uninstalls it (pods, services, config); the objects on the "
        "mountpoints and the state under statePath stay on the hosts"
    )
    assert REFUSED not in lines  # not protected in either stack


def test_two_stacks_alike_but_for_their_names_show_no_difference(tmp_path: Path, capsys: Any) -> None:
    for stack in ("east", "west"):
        (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump({"config": WORKSHEET_EXAMPLE}))
    assert main(["--stacks-dir", str(tmp_path), "render", "west", "--diff", "east"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "no differences between east and west"


def test_a_namespaced_resource_moved_to_another_namespace_is_replaced_not_updated(make_stack: Any) -> None:
    """metadata.namespace is part of a Kubernetes object's identity: the provider replaces it."""
    lines = changes(make_stack, worksheet(protect=False), worksheet(protect=False, namespace="ais2"))
    claim = lines.index(
        "+- kubernetes:core/v1:PersistentVolumeClaim  aistore-monitoring-graphite-pvc  "
        "(replaced: inputs.metadata.namespace changes)"
    )
    assert lines[claim + 1] == (
        "    ! loses data: the Graphite/Grafana claim goes, and with it the monitoring history it holds; "
        "back it up first"
    )
    assert "+- kubernetes:batch/v1:Job  aistore-preflight-cpu01  (replaced: inputs.metadata.namespace changes)" in lines
    # Only the node labels, which name the namespace, are updated in place.
    assert {line.split()[1] for line in lines if line.startswith("~ ")} == {"kubernetes:core/v1:NodePatch"}


# --- diff_renders on documents written out (edges the mutation run found untested) ---------

CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
NODE = "kubernetes:core/v1:Node"
REFERENCE = "pulumi:pulumi:StackReference"


def document(type_: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"type": type_, "name": name, **fields}


def test_an_update_shows_each_changed_added_and_removed_field() -> None:
    before = [document(CONFIG_MAP, "c", inputs={"data": {"k": "v", "gone": 1, "shape": {"x": 1}}})]
    after = [document(CONFIG_MAP, "c", inputs={"data": {"k": "w", "new": {"z": 1, "a": 2}, "shape": "s"}})]
    assert diff_renders(before, after) == [
        f"~ {CONFIG_MAP}  c",
        "    inputs.data.gone: 1 -> (absent)",
        '    inputs.data.k: "v" -> "w"',
        '    inputs.data.new: (absent) -> {"a": 2, "z": 1}',
        '    inputs.data.shape: {"x": 1} -> "s"',
    ]


def test_new_resources_and_reads_in_name_then_type_order() -> None:
    after = [
        document("b:index:T", "x"),
        document("a:index:T", "x"),
        document(NODE, "n", reads="n"),
        document(CONFIG_MAP, "m"),
    ]
    assert diff_renders([], after) == [
        f"+ {CONFIG_MAP}  m",
        f"> {NODE}  n  (read: must exist, nothing is created)",
        "+ a:index:T  x",
        "+ b:index:T  x",
    ]


def test_a_read_that_becomes_a_resource_of_this_stack() -> None:
    before = [document(NODE, "n", reads="n")]
    after = [document(NODE, "n", inputs={"metadata": {"name": "n"}})]
    assert diff_renders(before, after) == [f"+ {NODE}  n  (was read; now created by this stack)"]


def test_every_field_that_replaces_is_named() -> None:
    read_before = document(NODE, "r", reads="a", inputs={"metadata": {"name": "a"}})
    read_after = document(NODE, "r", reads="b", inputs={"metadata": {"name": "b"}})
    made_before = document(CONFIG_MAP, "m", inputs={"metadata": {"name": "a", "namespace": "x"}})
    made_after = document(CONFIG_MAP, "m", inputs={"metadata": {"name": "b", "namespace": "y"}})
    assert diff_renders([read_before, made_before], [read_after, made_after]) == [
        f"+- {CONFIG_MAP}  m  (replaced: inputs.metadata.name, inputs.metadata.namespace changes)",
        f">> {NODE}  r  (read again: inputs.metadata.name, reads changes)",
    ]


def test_a_resource_now_read_names_its_namespace_or_has_no_inputs() -> None:
    managed = document(CONFIG_MAP, "c", inputs={"metadata": {"namespace": "ns", "name": "n"}})
    assert diff_renders([managed], [document(CONFIG_MAP, "c", reads="ns/n")]) == [
        f"> {CONFIG_MAP}  c  (read from now on: Pulumi stops managing it, nothing is deleted)"
    ]
    assert diff_renders([document(CONFIG_MAP, "c")], [document(CONFIG_MAP, "c", reads="n")]) == [
        f">> {CONFIG_MAP}  c  (read instead: the one this stack created is deleted)"
    ]


def test_only_the_stacks_reference_to_itself_loses_its_name() -> None:
    # A read that happens to be named like what it reads is no stack reference.
    assert diff_renders([document(NODE, "cpu01", reads="cpu01", inputs={"name": "cpu01"})], []) == [
        f"< {NODE}  cpu01  (no longer read)"
    ]
    # A reference named after another stack, or without inputs, is compared as it is.
    assert diff_renders([], [document(REFERENCE, "other-deployed", reads="east", inputs={"name": "east"})]) == [
        f"> {REFERENCE}  other-deployed  (read: must exist, nothing is created)"
    ]
    assert diff_renders([], [document(REFERENCE, "east-deployed", reads="east")]) == [
        f"> {REFERENCE}  east-deployed  (read: must exist, nothing is created)"
    ]


def test_the_reference_to_itself_keeps_the_organization_and_project() -> None:
    def reference(name: str) -> dict[str, Any]:
        return document(REFERENCE, f"{name.rpartition('/')[2]}-deployed", reads=name, inputs={"name": name})

    assert diff_renders([reference("org/aisinfra/east")], [reference("org/aisinfra/west")]) == []
    assert diff_renders([reference("org1/aisinfra/east")], [reference("org2/aisinfra/west")]) == [
        f">> {REFERENCE}  (this stack)-deployed  (read again: inputs.name, reads changes)"
    ]


def test_a_bare_stack_name_becomes_this_stack_alone() -> None:
    """A local backend names the stack bare: no organization to keep, no leading '/'."""
    bare = document(REFERENCE, "east-deployed", reads="east", inputs={"name": "east"})
    assert _without_own_name(bare) == document(
        REFERENCE, "(this stack)-deployed", reads="(this stack)", inputs={"name": "(this stack)"}
    )


def test_resources_of_one_name_are_listed_by_type_on_every_run() -> None:
    """Sorted by name, then type: resources of different types may share a name, and in the
    order of a set their lines would change from run to run."""
    types = [f"kubernetes:core/v1:{kind}" for kind in ("Secret", "ConfigMap", "Service", "Pod", "Namespace", "Node")]
    after = [{"type": type_, "name": "shared", "inputs": {}} for type_ in types]
    assert diff_renders([], after) == [f"+ {type_}  shared" for type_ in sorted(types)]
