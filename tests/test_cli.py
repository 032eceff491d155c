"""The operator commands: init, check, render --diff, labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.cli import main
from aisinfra.review.diff import diff_renders
from aisinfra.review.render import resource_documents, run_program
from aisinfra.worksheet.questionnaire import AnswerError, ask_all, stack_config
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

TARGETS = WORKSHEET_EXAMPLE["aisinfra:targets"]
PROXIES = WORKSHEET_EXAMPLE["aisinfra:proxies"]
INIT_FLAGS = [
    "--release-name", "lab", "--namespace", "ais-lab", "--existing-namespace", "yes", "--target-nodes", "lab{1..3}",
    "--mountpoints", "/ais/nvme[0-1]", "--graphite", "lab1:/data/graphite:100Gi", "--grafana", "claim:lab-grafana",
]  # fmt: skip


def write(directory: Path, name: str, config: dict[str, Any]) -> None:
    (directory / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


def cli(directory: Path, *arguments: str) -> int:
    return main(["--stacks-dir", str(directory), *arguments])


# --- init ---------------------------------------------------------------------------------


def test_init_with_flags_writes_a_stack_that_check_and_render_accept(tmp_path: Path, capsys: Any) -> None:
    assert cli(tmp_path, "init", "lab", "--no-input", *INIT_FLAGS) == 0
    config = yaml.safe_load((tmp_path / "Pulumi.lab.yaml").read_text())["config"]
    assert config == {
        "aisinfra:releaseName": "lab",
        "aisinfra:namespace": "ais-lab",
        "aisinfra:existingNamespace": True,
        "aisinfra:statePath": "/etc/ais",
        "aisinfra:chart": {"path": "../ais-k8s/helm/ais/charts"},
        "aisinfra:images": {"initContainer": "aistore/ais-init:latest", "aisnode": "aistore/aisnode:3.4"},
        "aisinfra:targets": {"initialCount": 0, "nodes": ["lab{1..3}"], "mountpoints": ["/ais/nvme[0-1]"]},
        "aisinfra:proxies": {"nodes": ["lab{1..3}"], "initialPrimary": "lab1"},
        "aisinfra:monitoring": {
            "enabled": True,
            "graphite": {"node": "lab1", "path": "/data/graphite", "size": "100Gi"},
            "grafana": {"existingClaim": "lab-grafana"},
        },
    }
    assert cli(tmp_path, "check") == 0
    assert cli(tmp_path, "render", "lab") == 0
    table = capsys.readouterr().out.split("Node labels:\n")[1].split("\n\n")[0]
    assert [line.split() for line in table.splitlines()[1:]] == [
        ["lab1", "lab-ais", "lab-ais-electable", "lab-ais"],
        ["lab2", "lab-ais", "lab-ais-electable", "-"],
        ["lab3", "lab-ais", "lab-ais-electable", "-"],
    ]


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "lab", {"aisinfra:releaseName": "keep-me"})
    assert cli(tmp_path, "init", "lab", "--no-input", *INIT_FLAGS) == 2
    assert "Pulumi.lab.yaml exists; use --force" in capsys.readouterr().err
    assert "keep-me" in (tmp_path / "Pulumi.lab.yaml").read_text()
    assert cli(tmp_path, "init", "lab", "--no-input", "--force", *INIT_FLAGS) == 0
    assert "keep-me" not in (tmp_path / "Pulumi.lab.yaml").read_text()


def test_init_without_a_terminal_names_the_missing_flag(tmp_path: Path, capsys: Any) -> None:
    assert cli(tmp_path, "init", "lab", "--no-input", "--release-name", "lab") == 1
    assert "--namespace: required" in capsys.readouterr().err
    assert not (tmp_path / "Pulumi.lab.yaml").exists()


def test_init_rejects_a_bad_flag_value_with_the_model_rule(tmp_path: Path, capsys: Any) -> None:
    flags = [*INIT_FLAGS, "--initial-primary", "lab9"]
    assert cli(tmp_path, "init", "lab", "--no-input", *flags) == 1
    assert "--initial-primary: 'lab9' is not one of the proxy nodes" in capsys.readouterr().err


def scripted(answers: list[str], prompts: list[str]) -> Any:
    replies: Iterator[str] = iter(answers)

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(replies)

    return ask


def test_interactive_init_asks_in_worksheet_order_and_re_asks_a_bad_answer(capsys: Any) -> None:
    prompts: list[str] = []
    answers = [
        "lab",  # release name
        "Bad_NS",  # namespace: refused on the spot
        "ais-lab",  # namespace again
        "",  # existing namespace: default (no)
        "",  # state path: default
        "",  # init image: default
        "registry.example.com/ais/aisnode:1.2",  # aisnode image
        "x",  # initial targets: refused on the spot
        "2",  # initial targets
        "lab1",  # target nodes: fewer than the initial targets, refused
        "lab{1..4}",  # target nodes
        "/ais/sd[a-b], /ais/nvme0",  # mountpoints
        "",  # proxy nodes: default (the target nodes)
        "lab2",  # initial primary
        "no",  # monitoring
        "graphite.example.com:2003",  # external graphite
        "",  # chart path: default
    ]
    config = stack_config(ask_all({}, scripted(answers, prompts)))
    assert [prompt.split(":")[0].split(" [")[0] for prompt in prompts] == [
        "Release name",
        "K8s namespace for the deployment (one AIStore cluster per namespace)",
        "K8s namespace for the deployment (one AIStore cluster per namespace)",
        "Does that namespace exist already, e.g. holding an image pull secret or the monitoring claims (yes/no)",
        "AIStore state path prefix",
        "initContainer image",
        "Aisnode image",
        "Initial number of targets (0",
        "Initial number of targets (0",
        "Target nodes, e.g. cpu{01..12}",
        "Target nodes, e.g. cpu{01..12}",
        "Mountpoints on each target node, separate filesystems, e.g. /ais/sd[a-j]",
        "Proxy nodes (at least three advised for HA)",
        "Initial primary node (must be a proxy node)",
        "Deploy Prometheus, Graphite and Grafana with the chart (yes/no)",
        "Graphite that receives AIStore's stats, host",
        "AIStore chart",
    ]
    assert "[/etc/ais]" in prompts[4] and "[lab{1..4}]" in prompts[12] and "[lab1]" in prompts[13]
    shown = capsys.readouterr().out
    assert "'Bad_NS' is not a DNS label" in shown
    assert "'x' is not a whole number" in shown
    assert "the initial number of targets (2) is more than these 1 nodes" in shown
    assert config["aisinfra:targets"] == {
        "initialCount": 2,
        "nodes": ["lab{1..4}"],
        "mountpoints": ["/ais/sd[a-b]", "/ais/nvme0"],
    }
    assert config["aisinfra:images"]["aisnode"] == "registry.example.com/ais/aisnode:1.2"
    assert config["aisinfra:monitoring"] == {"enabled": False, "externalGraphite": "graphite.example.com:2003"}
    assert config["aisinfra:proxies"] == {"nodes": ["lab{1..4}"], "initialPrimary": "lab2"}


def test_a_flag_given_with_a_prompt_is_not_asked_again() -> None:
    prompts: list[str] = []
    with pytest.raises(AnswerError, match="--namespace: 'Bad' is not a DNS label"):
        ask_all({"namespace": "Bad"}, scripted(["lab"], prompts))
    assert len(prompts) == 1


# --- check --------------------------------------------------------------------------------


def test_check_names_both_stacks_for_each_shared_thing(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "a", WORKSHEET_EXAMPLE)
    write(
        tmp_path,
        "b",
        worksheet(targets={**TARGETS, "nodes": ["cpu12", "gpu{1..2}"]}, proxies={"nodes": ["gpu{1..2}"]}),
    )
    assert cli(tmp_path, "check") == 1
    lines = capsys.readouterr().out.splitlines()
    both, context = "Pulumi.a.yaml and Pulumi.b.yaml", "in Kubernetes context (current kubectl context)"
    assert lines == [
        f"{both}: releaseName: both use the release name 'demo' {context}",
        f"{both}: namespace: both use the namespace 'ais' {context}",
        f"{both}: targets.nodes: both use the target node 'cpu12' {context}",
        f"{both}: monitoring: both use the PersistentVolume name 'ais.demo.demo-ais-graphite' {context}",
        f"{both}: monitoring: both use the PersistentVolume name 'ais.demo.demo-ais-grafana' {context}",
        "checked 2 stack(s): 5 problem(s)",
    ]


def test_check_flags_a_shared_proxy_node(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "a", WORKSHEET_EXAMPLE)
    other = worksheet(
        releaseName="lab",
        namespace="lab",
        targets={**TARGETS, "nodes": ["gpu1"]},
        proxies={"nodes": ["gpu1", "cpu05"]},
        monitoring={"enabled": False, "externalGraphite": "g.example.com:2003"},
    )
    write(tmp_path, "b", other)
    assert cli(tmp_path, "check", "a", "b") == 1
    assert capsys.readouterr().out.splitlines()[0] == (
        "Pulumi.a.yaml and Pulumi.b.yaml: proxies.nodes: both use the proxy node 'cpu05' "
        "in Kubernetes context (current kubectl context)"
    )


def test_stacks_in_different_kubernetes_clusters_may_share_names(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "east", {**WORKSHEET_EXAMPLE, "kubernetes:context": "east"})
    write(tmp_path, "west", {**WORKSHEET_EXAMPLE, "kubernetes:context": "west"})
    assert cli(tmp_path, "check") == 0
    assert capsys.readouterr().out == "checked 2 stack(s): no problems\n"


def test_check_reports_each_stacks_own_mistakes_by_file_and_key(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "bad", worksheet(targets={**TARGETS, "mountPoints": []}))
    assert cli(tmp_path, "check") == 1
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .startswith("Pulumi.bad.yaml: targets.mountPoints: unknown key (did you mean 'mountpoints'?)")
    )


def test_check_usage_errors_exit_2(tmp_path: Path, capsys: Any) -> None:
    assert cli(tmp_path, "check") == 2
    assert cli(tmp_path, "check", "missing") == 2
    assert "no stack file Pulumi.missing.yaml" in capsys.readouterr().err


# --- labels -------------------------------------------------------------------------------


def test_labels_prints_the_equivalent_kubectl_commands(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "s", worksheet(targets={**TARGETS, "nodes": ["n{1..2}"]}, proxies={"nodes": ["n2", "n3"]}))
    assert cli(tmp_path, "labels", "s") == 0
    assert capsys.readouterr().out.splitlines() == [
        "kubectl label node n1 nvidia.com/ais-target=demo-ais",
        "kubectl label node n2 nvidia.com/ais-target=demo-ais nvidia.com/ais-proxy=demo-ais-electable "
        "nvidia.com/ais-initial-primary-proxy=demo-ais",
        "kubectl label node n3 nvidia.com/ais-proxy=demo-ais-electable",
    ]
    assert cli(tmp_path, "labels", "s", "--remove") == 0
    assert capsys.readouterr().out.splitlines() == [
        "kubectl label node n1 nvidia.com/ais-target-",
        "kubectl label node n2 nvidia.com/ais-target- nvidia.com/ais-proxy- nvidia.com/ais-initial-primary-proxy-",
        "kubectl label node n3 nvidia.com/ais-proxy-",
    ]


# --- render --diff and the one-node change ------------------------------------------------


def test_render_diff_against_an_earlier_render_directory(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "s", WORKSHEET_EXAMPLE)
    assert cli(tmp_path, "render", "s", "--out", str(tmp_path / "before")) == 0
    write(tmp_path, "s", worksheet(images={"aisnode": "aistore/aisnode:3.5"}))
    capsys.readouterr()
    assert cli(tmp_path, "render", "s", "--diff", str(tmp_path / "before")) == 0
    assert capsys.readouterr().out.splitlines() == [
        "~ kubernetes:helm.sh/v3:Release  aistore-release",
        '    inputs.values.aiscluster.image.aisnode.tag: "3.4" -> "3.5"',
    ]


def test_render_diff_against_another_stack(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "a", WORKSHEET_EXAMPLE)
    write(tmp_path, "b", worksheet(protect=False))
    assert cli(tmp_path, "render", "b", "--diff", "a") == 0
    out = capsys.readouterr().out.splitlines()
    assert "~ kubernetes:core/v1:Namespace  aistore-namespace" in out
    assert "    protect: true -> false" in out


def changed_resources(make_stack: Any, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    return diff_renders(
        resource_documents(run_program(make_stack(before))), resource_documents(run_program(make_stack(after)))
    )


def test_adding_one_node_changes_only_that_nodes_resources(make_stack: Any) -> None:
    fixed_count = {**TARGETS, "initialCount": 12}
    before = worksheet(targets={**fixed_count, "nodes": ["cpu{01..12}"]})
    after = worksheet(targets={**fixed_count, "nodes": ["cpu{01..13}"]})
    assert changed_resources(make_stack, before, after) == [
        "+ kubernetes:core/v1:Node  aistore-node-cpu13",
        "+ kubernetes:core/v1:NodePatch  aistore-targets-cpu13",
    ]


def test_the_release_changes_only_when_a_chart_value_does(make_stack: Any) -> None:
    # initialCount 0: the target count follows the node list, so a value really changes.
    before = worksheet(targets={**TARGETS, "nodes": ["cpu{01..12}"]})
    after = worksheet(targets={**TARGETS, "nodes": ["cpu{01..12}", "gpu01"]})
    assert changed_resources(make_stack, before, after) == [
        "+ kubernetes:core/v1:Node  aistore-node-gpu01",
        "~ kubernetes:helm.sh/v3:Release  aistore-release",
        "    inputs.values.aiscluster.expected_target_nodes: 12 -> 13",
        "+ kubernetes:core/v1:NodePatch  aistore-targets-gpu01",
    ]


def test_moving_one_proxy_changes_only_the_two_nodes_patches(make_stack: Any) -> None:
    before = worksheet(proxies={"nodes": ["cpu{01..03}"]}, targets={**TARGETS, "nodes": ["cpu{01..04}"]})
    after = worksheet(proxies={"nodes": ["cpu01", "cpu02", "cpu04"]}, targets={**TARGETS, "nodes": ["cpu{01..04}"]})
    assert changed_resources(make_stack, before, after) == [
        "- kubernetes:core/v1:NodePatch  aistore-proxies-cpu03",
        "+ kubernetes:core/v1:NodePatch  aistore-proxies-cpu04",
    ]


def test_dropping_the_initial_primary_label_touches_no_other_label(make_stack: Any) -> None:
    after = worksheet(proxies={**PROXIES, "initialPrimaryLabel": False})
    assert changed_resources(make_stack, WORKSHEET_EXAMPLE, after) == [
        "- kubernetes:core/v1:NodePatch  aistore-proxies-initial-primary",
    ]


def test_a_rename_shows_as_a_replacement(make_stack: Any) -> None:
    lines = changed_resources(make_stack, WORKSHEET_EXAMPLE, worksheet(namespace="ais2", protect=False))
    assert "+- kubernetes:core/v1:Namespace  aistore-namespace  (replaced: inputs.metadata.name changes)" in lines
    assert "+- kubernetes:helm.sh/v3:Release  aistore-release  (replaced: inputs.namespace changes)" in lines


def test_check_reports_a_malformed_stack_file_and_goes_on(tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "Pulumi.broken.yaml").write_text("config: [not, a, mapping]\n")
    write(tmp_path, "good", WORKSHEET_EXAMPLE)
    assert cli(tmp_path, "check") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].endswith("Pulumi.broken.yaml: a stack file is a mapping with a 'config:' mapping inside")
    assert lines[1] == "checked 2 stack(s): 1 problem(s)"


def test_interactive_init_ending_early_is_an_error_not_a_traceback() -> None:
    def closed(prompt: str) -> str:
        raise EOFError

    with pytest.raises(AnswerError, match="input ended before an answer to: Release name"):
        ask_all({}, closed)


def test_render_of_a_bad_worksheet_exits_1_naming_the_key(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "s", worksheet(targets={**TARGETS, "mountPoints": ["/x"]}))
    assert cli(tmp_path, "render", "s", "--out", str(tmp_path / "out")) == 1
    error = capsys.readouterr().err
    assert "targets.mountPoints: unknown key (did you mean 'mountpoints'?)" in error
    assert not (tmp_path / "out").exists()
