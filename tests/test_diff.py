"""``render --diff`` says what a change does: reads create nothing, protected resources are
refused, and deleting what holds data loses it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aisinfra.cli import main
from aisinfra.review.diff import diff_renders
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
    assert changes(make_stack, before, after) == [
        "< kubernetes:core/v1:Node  aistore-node-cpu12  (no longer read)",
        "- kubernetes:batch/v1:Job  aistore-preflight-cpu12",
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
