"""``teardown-check``: before ``pulumi destroy`` (which does not run the program, so reads no
node), the label patches whose node is gone are found and taken out of the state, since
deleting one would create an empty Node of its name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aisinfra.cli import main
from aisinfra.review.render import run_program
from aisinfra.review.teardown import dependents, node_names, vanished_patches, without_resources
from tests.conftest import WORKSHEET_EXAMPLE

NODES = "".join(f"node/cpu{index:02}\n" for index in range(1, 12))  # cpu12 is gone


@pytest.fixture
def export(make_stack: Any) -> dict[str, Any]:
    """The state `pulumi stack export` gives after the example's `up`: every resource, its
    inputs and what it depends on, as the program registered them."""
    rendering = run_program(make_stack(WORKSHEET_EXAMPLE, "prod"))
    resources = [
        {
            "urn": resource.urn,
            "type": resource.type,
            "inputs": resource.inputs,
            "outputs": resource.inputs,
            "parent": resource.parent,
            "dependencies": resource.dependencies,
            "propertyDependencies": {"metadata": resource.dependencies},
        }
        for resource in rendering.resources
    ]
    return {"version": 3, "deployment": {"manifest": {}, "resources": resources}}


def urn_of(export: dict[str, Any], name: str) -> str:
    return next(resource["urn"] for resource in export["deployment"]["resources"] if resource["urn"].endswith(name))


def test_node_names_from_kubectl_or_one_a_line() -> None:
    assert node_names("node/cpu01\nnode/cpu02\n\n  cpu03 \n") == {"cpu01", "cpu02", "cpu03"}


def test_the_patches_of_a_vanished_node_are_found_and_the_release_depends_on_them(export: dict[str, Any]) -> None:
    vanished = vanished_patches(export, node_names(NODES))
    assert [(patch.node, patch.urn.rpartition("::")[2]) for patch in vanished] == [
        ("cpu12", "aistore-proxies-cpu12"),
        ("cpu12", "aistore-targets-cpu12"),
    ]
    urns = {patch.urn for patch in vanished}
    assert [urn.rpartition("::")[2] for urn in dependents(export, urns)] == ["aistore-release"]
    assert vanished_patches(export, node_names(NODES + "node/cpu12\n")) == []


def test_the_repaired_state_has_neither_the_patches_nor_a_reference_to_them(export: dict[str, Any]) -> None:
    urns = {patch.urn for patch in vanished_patches(export, node_names(NODES))}
    repaired = without_resources(export, urns)
    text = json.dumps(repaired)
    assert not [urn for urn in urns if urn in text]
    assert len(repaired["deployment"]["resources"]) == len(export["deployment"]["resources"]) - 2
    release = urn_of(repaired, "aistore-release")
    assert urn_of(export, "aistore-targets-cpu11") in next(
        resource["dependencies"] for resource in repaired["deployment"]["resources"] if resource["urn"] == release
    )
    assert export["deployment"]["resources"] != repaired["deployment"]["resources"]  # the export is left alone


def test_the_command_lists_them_and_writes_the_state_to_import(
    export: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    (tmp_path / "state.json").write_text(json.dumps(export))
    (tmp_path / "nodes.txt").write_text(NODES)
    arguments = [
        "teardown-check",
        "prod",
        "--state",
        str(tmp_path / "state.json"),
        "--nodes",
        str(tmp_path / "nodes.txt"),
    ]
    assert main(arguments) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "2 label patch(es) in the state of prod name a node that no longer exists; deleting them (`pulumi destroy`, "
        "or an `up` once the node left the worksheet) would create an empty Node of that name:"
    )
    assert lines[1] == f"  cpu12  {urn_of(export, 'aistore-proxies-cpu12')}"
    assert lines[3:] == [
        "`pulumi state delete` refuses them: aistore-release depend(s) on them.",
        "Run again with --out FILE to write the state without them (nothing in the cluster changes).",
    ]
    assert main([*arguments, "--out", str(tmp_path / "repaired.json")]) == 1
    assert capsys.readouterr().out.splitlines()[-2] == (
        f"  pulumi stack import --stack prod --file {tmp_path / 'repaired.json'}"
    )
    repaired = json.loads((tmp_path / "repaired.json").read_text())
    assert vanished_patches(repaired, node_names(NODES)) == []
    (tmp_path / "state.json").write_text(json.dumps(repaired))
    assert main(arguments) == 0
    assert capsys.readouterr().out == (
        "every label patch in the state of prod names a node that exists: deleting them creates no Node\n"
    )


def test_a_file_that_is_no_export_is_a_usage_error(tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "state.json").write_text("[]")
    (tmp_path / "nodes.txt").write_text(NODES)
    assert (
        main(
            ["teardown-check", "prod", "--state", str(tmp_path / "state.json"), "--nodes", str(tmp_path / "nodes.txt")]
        )
        == 2
    )
    assert "not a `pulumi stack export` result" in capsys.readouterr().err
