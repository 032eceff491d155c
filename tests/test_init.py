"""``init``: each answer judged at its prompt, re-asked, going back, Ctrl-C, and flags."""

from __future__ import annotations

import builtins
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from aisinfra.cli import main, stack_judge
from aisinfra.worksheet.questionnaire import QUESTIONS, AnswerError, ask_all, stack_config
from aisinfra.worksheet.stackfile import PROJECT_DIR

INIT_FLAGS = [
    "--release-name", "lab", "--namespace", "ais-lab", "--existing-namespace", "yes", "--target-nodes", "lab{1..3}",
    "--mountpoints", "/ais/nvme[0-1]", "--graphite", "lab1:/data/graphite:100Gi", "--grafana", "claim:lab-grafana",
]  # fmt: skip
JUDGE = stack_judge(PROJECT_DIR / "Pulumi.init-test.yaml")


def cli(directory: Path, *arguments: str) -> int:
    return main(["--stacks-dir", str(directory), *arguments])


def scripted(answers: list[str], prompts: list[str]) -> Any:
    """A prompt function that records each prompt and gives the next scripted answer."""
    replies: Iterator[str] = iter(answers)

    def ask(prompt: str) -> str:
        prompts.append(prompt)
        return next(replies)

    return ask


def labels(prompts: list[str]) -> list[str]:
    return [prompt.split(":")[0].split(" [")[0].split(" (")[0] for prompt in prompts]


# The answers that reach the targets' questions, all defaults where there are any.
UP_TO_TARGETS = ["lab", "ais-lab", "", "", "", ""]
# From the proxies on: defaults, monitoring off, local chart, defaults to the end.
AFTER_MOUNTPOINTS = ["", "", "no", "graphite.example.com:2003", "", "", "", "", ""]


# --- with flags -----------------------------------------------------------------------------


def test_init_with_flags_writes_a_stack_that_check_and_render_accept(tmp_path: Path, capsys: Any) -> None:
    assert cli(tmp_path, "init", "lab", "--no-input", *INIT_FLAGS) == 0
    text = (tmp_path / "Pulumi.lab.yaml").read_text()
    # The first line points editors at the stack file's schema, by a path from where the file is.
    first_line = text.splitlines()[0]
    assert first_line.startswith("# yaml-language-server: $schema=")
    schema_path = tmp_path / first_line.split("$schema=", 1)[1]
    assert schema_path.resolve() == PROJECT_DIR / "docs" / "stack-file.schema.json"
    jsonschema.validate(yaml.safe_load(text), json.loads(schema_path.read_text()))
    config = yaml.safe_load(text)["config"]
    assert config == {
        "aisinfra:releaseName": "lab",
        "aisinfra:namespace": "ais-lab",
        "aisinfra:existingNamespace": True,
        "aisinfra:statePath": "/etc/ais",
        "aisinfra:images": {"initContainer": "aistore/ais-init:latest", "aisnode": "aistore/aisnode:3.4"},
        "aisinfra:targets": {"initialCount": 0, "nodes": ["lab{1..3}"], "mountpoints": ["/ais/nvme[0-1]"]},
        "aisinfra:proxies": {"nodes": ["lab{1..3}"], "initialPrimary": "lab1", "initialPrimaryLabel": True},
        "aisinfra:monitoring": {
            "enabled": True,
            "graphite": {"node": "lab1", "path": "/data/graphite", "size": "100Gi"},
            "grafana": {"existingClaim": "lab-grafana"},
        },
        "aisinfra:chart": {"path": "../ais-k8s/helm/ais/charts"},
        "aisinfra:protect": True,
        "aisinfra:kubernetesVersion": "1.30",
    }
    # Accepted; the chart init offers is not checked out here, so its objects are not reviewed (exit 3).
    assert cli(tmp_path, "check") == 3
    assert cli(tmp_path, "render", "lab") == 3
    table = capsys.readouterr().out.split("Node labels:\n")[1].split("\n\n")[0]
    assert [line.split() for line in table.splitlines()[1:]] == [
        ["lab1", "lab-ais", "lab-ais-electable", "ais-lab.lab", "lab-ais"],
        ["lab2", "lab-ais", "lab-ais-electable", "ais-lab.lab", "-"],
        ["lab3", "lab-ais", "lab-ais-electable", "ais-lab.lab", "-"],
    ]


def test_init_flags_reach_every_worksheet_key_the_readme_documents(tmp_path: Path) -> None:
    flags = [
        "--release-name", "lab", "--namespace", "ais-lab", "--target-nodes", "lab{1..3}", "--mountpoints", "/ais/a",
        "--initial-targets", "2", "--proxy-nodes", "lab1", "--initial-primary-label", "no",
        "--monitoring", "no", "--external-graphite", "graphite.example.com:2003", "--prometheus", "yes",
        "--chart-repo", "https://charts.example.com", "--chart-name", "aistore", "--chart-version", "0.1.0",
        "--chart-dependency-update", "no", "--chart-values", "{aiscluster: {skipHostIP: true}}",
        "--chart-timeout-seconds", "3600", "--preflight", "no", "--preflight-image", "registry.example.com/busybox:1",
        "--protect", "no", "--kubernetes-context", "lab-cluster", "--kubernetes-version", "1.29",
        "--state-path", "/var/ais",
        "--init-image", "registry.example.com/ais-init:1", "--aisnode-image", "registry.example.com/aisnode:1",
    ]  # fmt: skip
    assert cli(tmp_path, "init", "lab", "--no-input", *flags) == 0
    assert yaml.safe_load((tmp_path / "Pulumi.lab.yaml").read_text())["config"] == {
        "aisinfra:releaseName": "lab",
        "aisinfra:namespace": "ais-lab",
        "aisinfra:existingNamespace": False,
        "aisinfra:statePath": "/var/ais",
        "aisinfra:images": {
            "initContainer": "registry.example.com/ais-init:1",
            "aisnode": "registry.example.com/aisnode:1",
        },
        "aisinfra:targets": {"initialCount": 2, "nodes": ["lab{1..3}"], "mountpoints": ["/ais/a"]},
        "aisinfra:proxies": {"nodes": ["lab1"], "initialPrimary": "lab1", "initialPrimaryLabel": False},
        "aisinfra:monitoring": {"enabled": False, "externalGraphite": "graphite.example.com:2003", "prometheus": True},
        "aisinfra:chart": {
            "repo": "https://charts.example.com",
            "name": "aistore",
            "version": "0.1.0",
            "dependencyUpdate": False,
            "values": {"aiscluster": {"skipHostIP": True}},
            "timeoutSeconds": 3600,
        },
        "aisinfra:preflight": {"enabled": False, "image": "registry.example.com/busybox:1"},
        "aisinfra:protect": False,
        "kubernetes:context": "lab-cluster",
        "aisinfra:kubernetesVersion": "1.29",
    }


def test_init_refuses_to_overwrite_without_force(tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "Pulumi.lab.yaml").write_text("config: {aisinfra:releaseName: keep-me}\n")
    assert cli(tmp_path, "init", "lab", "--no-input", *INIT_FLAGS) == 2
    assert "Pulumi.lab.yaml exists; use --force" in capsys.readouterr().err
    assert "keep-me" in (tmp_path / "Pulumi.lab.yaml").read_text()
    assert cli(tmp_path, "init", "lab", "--no-input", "--force", *INIT_FLAGS) == 0
    assert "keep-me" not in (tmp_path / "Pulumi.lab.yaml").read_text()


def test_init_without_a_terminal_names_the_missing_flag(tmp_path: Path, capsys: Any) -> None:
    assert cli(tmp_path, "init", "lab", "--no-input", "--release-name", "lab") == 1
    assert "--namespace: required" in capsys.readouterr().err
    assert not (tmp_path / "Pulumi.lab.yaml").exists()


def test_without_a_terminal_every_bad_flag_is_reported_in_one_run(tmp_path: Path, capsys: Any) -> None:
    flags = [
        "--release-name", "lab", "--namespace", "kube-lab", "--initial-targets", "4", "--target-nodes", "lab{1..3}",
        "--mountpoints", "/ais/a /ais/a/b", "--initial-primary", "lab9", "--graphite", "lab1:/data:100GB",
        "--grafana", "claim:lab-grafana", "--external-graphite", "g.example.com:2003",
        "--chart-repo", "https://charts.example.com", "--chart-path", "./charts",
    ]  # fmt: skip
    assert cli(tmp_path, "init", "lab", "--no-input", *flags) == 1
    assert capsys.readouterr().err.splitlines() == [
        "error: --namespace (namespace): 'kube-lab' is a namespace Kubernetes uses itself; give the AIStore cluster "
        "its own",
        "--graphite (monitoring.graphite): '100GB' is not a Kubernetes quantity such as 250Gi; did you mean '100Gi'?",
        "--external-graphite: only used with --monitoring no; remove it",
        "--chart-version: required (Chart version (one exact version, e.g. 0.1.0))",
        "--chart-path: only used without --chart-repo; remove it",
        "--mountpoints (targets.mountpoints[1]): '/ais/a/b' is inside '/ais/a' (targets.mountpoints[0]); each "
        "mountpoint must be a filesystem of its own, not a directory of another",
        "--initial-targets (targets.initialCount): 4 is more than the 3 target nodes listed in targets.nodes; lower "
        "it or add nodes (0 means all)",
        "--initial-primary (proxies.initialPrimary): 'lab9' is not one of proxies.nodes; the initial primary must be "
        "a proxy node",
        "--grafana (monitoring.grafana.existingClaim): a claim lives in the cluster's namespace, so that namespace "
        "must exist before the release installs; create both, then set existingNamespace: true",
    ]
    assert not (tmp_path / "Pulumi.lab.yaml").exists()


def test_init_checks_the_stack_name_and_directory_before_the_first_question(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", lambda prompt: pytest.fail(f"asked {prompt!r}"))
    assert cli(tmp_path, "init", "lab prod") == 2
    assert "'lab prod' is not a Pulumi stack name" in capsys.readouterr().err
    assert cli(tmp_path, "init", "org/lab") == 2
    assert "without organization or project" in capsys.readouterr().err
    assert cli(tmp_path / "missing", "init", "lab") == 2
    assert f"--stacks-dir {tmp_path / 'missing'}: no such directory" in capsys.readouterr().err


def test_the_closing_hint_names_the_command_as_the_user_can_run_it(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(PROJECT_DIR)
    assert cli(tmp_path, "init", "lab", "--no-input", *INIT_FLAGS) == 0
    out = capsys.readouterr().out
    assert f"  venv/bin/python -m aisinfra --stacks-dir {tmp_path} check\n" in out
    assert f"  venv/bin/python -m aisinfra --stacks-dir {tmp_path} render lab\n" in out
    assert f"then move Pulumi.lab.yaml to {PROJECT_DIR}, where Pulumi reads it" in out
    assert "pulumi config set --secret grafanaAdminPassword --stack lab" in out
    monkeypatch.chdir(tmp_path)
    assert cli(tmp_path, "init", "lab", "--no-input", "--force", *INIT_FLAGS) == 0
    assert (
        f"  cd {PROJECT_DIR} && venv/bin/python -m aisinfra --stacks-dir {tmp_path} check\n" in capsys.readouterr().out
    )


# --- at the prompt ----------------------------------------------------------------------------


def test_interactive_init_asks_in_worksheet_order_and_re_asks_a_bad_answer(capsys: Any) -> None:
    prompts: list[str] = []
    answers = [
        "lab",  # release name
        "Bad_NS",  # namespace: refused on the spot
        "kube-system",  # namespace: Kubernetes' own, refused
        "ais-lab",  # namespace again
        "",  # existing namespace: default (no)
        "",  # state path: default
        "",  # init image: default
        "registry.example.com/ais/aisnode:1.2",  # aisnode image
        "x",  # initial targets: refused on the spot
        "2",  # initial targets
        "lab1",  # target nodes: fewer than the initial targets, refused
        "lab{1..4}",  # target nodes
        "/ais/sd[a-b], /ais/sda/cache",  # mountpoints: one inside another, refused
        "/ais/sd[a-b], /ais/nvme0",  # mountpoints
        "",  # proxy nodes: default (the target nodes)
        "lab2",  # initial primary
        "no",  # monitoring
        "graphite.example.com:2003",  # external graphite
        "",  # chart repository: none
        "",  # chart path: default
        "",  # protect: default (yes)
        "",  # kubernetes context: none
        "",  # kubernetes version: default
    ]
    config = stack_config(ask_all({}, scripted(answers, prompts), JUDGE))
    assert labels(prompts) == [
        "Release name",
        "K8s namespace for the deployment",
        "K8s namespace for the deployment",
        "K8s namespace for the deployment",
        "Does that namespace exist already, e.g. holding an image pull secret or the monitoring claims",
        "AIStore state path prefix",
        "initContainer image",
        "Aisnode image",
        "Initial number of targets",
        "Initial number of targets",
        "Target nodes, separated by spaces or commas, e.g. cpu{01..12}",
        "Target nodes, separated by spaces or commas, e.g. cpu{01..12}",
        "Mountpoints on each target node, separate filesystems, separated by spaces or commas, e.g. /ais/sd[a-j]",
        "Mountpoints on each target node, separate filesystems, separated by spaces or commas, e.g. /ais/sd[a-j]",
        "Proxy nodes, separated by spaces or commas",
        "Initial primary node",
        "Deploy Prometheus, Graphite and Grafana with the chart",
        "Graphite that receives AIStore's stats, host",
        "AIStore chart from a Helm chart repository",
        "AIStore chart",
        "Protect the release, namespace and monitoring volumes from deletion",
        "Kubernetes context",
        "Kubernetes version of that cluster, major.minor",
    ]
    assert "[/etc/ais]" in prompts[5] and "[lab{1..4}]" in prompts[14] and "[lab1]" in prompts[15]
    shown = capsys.readouterr().out.splitlines()
    assert "  namespace (asked as \"K8s namespace for the deployment\"): 'Bad_NS' is not a DNS label" in shown[0]
    assert "'kube-system' is a namespace Kubernetes uses itself" in shown[1]
    assert "  targets.initialCount (asked as \"Initial number of targets\"): 'x' is not a whole number" in shown[2]
    assert shown[3:] == [
        '  targets.initialCount (asked as "Initial number of targets"): 2 is more than the 1 target nodes listed in '
        "targets.nodes; lower it or add nodes (0 means all)",
        "  change this answer, or type < to go back and change an earlier one",
        '  targets.mountpoints[1] (asked as "Mountpoints on each target node, separate filesystems, separated by '
        "spaces or commas, e.g. /ais/sd[a-j]\"): '/ais/sda/cache' is inside '/ais/sda' (targets.mountpoints[0]); "
        "each mountpoint must be a filesystem of its own, not a directory of another",
        "  change this answer, or type < to go back and change an earlier one",
    ]
    assert config["aisinfra:targets"] == {
        "initialCount": 2,
        "nodes": ["lab{1..4}"],
        "mountpoints": ["/ais/sd[a-b]", "/ais/nvme0"],
    }
    assert config["aisinfra:images"]["aisnode"] == "registry.example.com/ais/aisnode:1.2"
    assert config["aisinfra:monitoring"] == {"enabled": False, "externalGraphite": "graphite.example.com:2003"}
    assert config["aisinfra:proxies"] == {"nodes": ["lab{1..4}"], "initialPrimary": "lab2", "initialPrimaryLabel": True}
    assert config["aisinfra:chart"] == {"path": "../ais-k8s/helm/ais/charts"}
    assert "kubernetes:context" not in config


def test_going_back_to_lower_a_count_the_node_list_cannot_meet(capsys: Any) -> None:
    prompts: list[str] = []
    answers = [
        *UP_TO_TARGETS,
        "5",  # initial targets
        "lab{1..3}",  # target nodes: only three, refused for the count
        "<",  # back to the count, which the node list cannot meet
        "3",  # initial targets, lowered
        "lab{1..3}",  # target nodes again
        "/ais/a",  # mountpoints
        *AFTER_MOUNTPOINTS,
    ]
    config = stack_config(ask_all({}, scripted(answers, prompts), JUDGE))
    assert labels(prompts)[6:11] == [
        "Initial number of targets",
        "Target nodes, separated by spaces or commas, e.g. cpu{01..12}",
        "Target nodes, separated by spaces or commas, e.g. cpu{01..12}",
        "Initial number of targets",
        "Target nodes, separated by spaces or commas, e.g. cpu{01..12}",
    ]
    assert prompts[9].endswith("[5]: ")  # what was typed before is the default
    assert "type < to go back" in capsys.readouterr().out
    assert config["aisinfra:targets"] == {"initialCount": 3, "nodes": ["lab{1..3}"], "mountpoints": ["/ais/a"]}


def test_going_back_before_the_first_question_stays_there(capsys: Any) -> None:
    prompts: list[str] = []
    answers = ["<", "lab", "<", "lab2", "ais-lab", "", "", "", "", "0", "lab1", "/ais/a", *AFTER_MOUNTPOINTS]
    config = stack_config(ask_all({}, scripted(answers, prompts), JUDGE))
    namespace = "K8s namespace for the deployment"
    assert labels(prompts)[:5] == ["Release name", "Release name", namespace, "Release name", namespace]
    assert prompts[3].endswith("[lab]: ")
    assert "this is the first question" in capsys.readouterr().out
    assert config["aisinfra:releaseName"] == "lab2"


def test_a_claim_needing_an_existing_namespace_is_judged_at_its_prompt(capsys: Any) -> None:
    prompts: list[str] = []
    answers = [
        *UP_TO_TARGETS, "0", "lab1", "/ais/a", "", "", "yes", "lab1:/data/graphite:10Gi",
        "claim:site-grafana",  # refused: the program would create the namespace the claim lives in
        "lab1:/data/grafana:10Gi", "", "", "", "", "",
    ]  # fmt: skip
    config = stack_config(ask_all({}, scripted(answers, prompts), JUDGE))
    out = capsys.readouterr().out
    assert 'monitoring.grafana.existingClaim (asked as "Grafana storage"): a claim lives in the cluster\'s' in out
    assert config["aisinfra:monitoring"]["grafana"] == {"node": "lab1", "path": "/data/grafana", "size": "10Gi"}


def test_a_bad_flag_given_with_a_terminal_is_asked_again(capsys: Any) -> None:
    prompts: list[str] = []
    answers = ["lab", "ais-lab", "", "", "", "", "0", "lab1", "/ais/a", *AFTER_MOUNTPOINTS]
    config = stack_config(ask_all({"namespace": "Bad"}, scripted(answers, prompts), JUDGE))
    assert config["aisinfra:namespace"] == "ais-lab"
    assert labels(prompts)[:2] == ["Release name", "K8s namespace for the deployment"]
    assert "'Bad' is not a DNS label" in capsys.readouterr().out


def test_interactive_init_ending_early_is_an_error_not_a_traceback() -> None:
    def closed(prompt: str) -> str:
        raise EOFError

    with pytest.raises(AnswerError, match="input ended before an answer to: Release name"):
        ask_all({}, closed, JUDGE)


def test_ctrl_c_at_a_prompt_exits_130_writing_nothing(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    replies = iter(["lab", "ais-lab"])

    def typed(prompt: str) -> str:
        reply = next(replies, None)
        if reply is None:
            raise KeyboardInterrupt
        return reply

    monkeypatch.setattr(sys.stdin, "isatty", lambda: True)
    monkeypatch.setattr(builtins, "input", typed)
    assert cli(tmp_path, "init", "lab") == 130
    captured = capsys.readouterr()
    assert captured.err == "\ninterrupted\n"
    assert "Traceback" not in captured.out + captured.err
    assert list(tmp_path.iterdir()) == []


def test_every_question_has_its_own_flag_and_key() -> None:
    assert len({question.flag for question in QUESTIONS}) == len(QUESTIONS)
    assert len({question.key for question in QUESTIONS}) == len(QUESTIONS)


def test_going_back_visits_only_the_questions_asked(capsys: Any) -> None:
    """A question a flag answered, or one not asked at all (the initial-primary label), is never
    shown by '<': it goes to the previous question that was asked at a prompt."""
    prompts: list[str] = []
    answers = [
        "lab",  # release name; the namespace is a flag
        "<",  # at "does the namespace exist": back over the flag's question to the release name
        "lab2",
        "", "", "", "", "0", "lab1", "/ais/a", "",
        "lab1",  # initial primary; the initial-primary label is not asked
        "<",  # at monitoring: back to the initial primary, not to the label
        "",
        "no", "graphite.example.com:2003", "", "", "", "", "",
    ]  # fmt: skip
    config = stack_config(ask_all({"namespace": "ais-lab"}, scripted(answers, prompts), JUDGE))
    asked = labels(prompts)
    assert asked[:3] == ["Release name", "Does that namespace exist already, e.g. holding an image pull secret or the "
                         "monitoring claims", "Release name"]  # fmt: skip
    assert asked[12:15] == [
        "Deploy Prometheus, Graphite and Grafana with the chart",
        "Initial primary node",
        "Deploy Prometheus, Graphite and Grafana with the chart",
    ]
    assert prompts[13].endswith("[lab1]: ")  # what was typed is the default
    assert "K8s namespace for the deployment" not in asked
    assert config["aisinfra:releaseName"] == "lab2"
    assert config["aisinfra:namespace"] == "ais-lab"
    assert config["aisinfra:proxies"] == {"nodes": ["lab1"], "initialPrimary": "lab1", "initialPrimaryLabel": True}


def test_a_refusal_across_keys_names_the_question_to_go_back_to(capsys: Any) -> None:
    """An existing claim needs an existing namespace, asked eleven questions earlier: '<existingNamespace'
    goes straight there, and the questions after it are asked again with what was typed as defaults."""
    prompts: list[str] = []
    answers = [
        *UP_TO_TARGETS, "0", "lab1", "/ais/a", "", "", "yes", "lab1:/data/graphite:10Gi",
        "claim:site-grafana",  # refused: the program would create the namespace the claim lives in
        "<existingNamespace",
        "yes",  # the namespace exists
        "", "", "", "", "", "", "", "", "", "",  # state path .. graphite: what was typed before
        "claim:site-grafana",
        "", "", "", "", "",
    ]  # fmt: skip
    config = stack_config(ask_all({}, scripted(answers, prompts), JUDGE))
    out = capsys.readouterr().out
    assert (
        "  change this answer, or type < to go back and change an earlier one, or <existingNamespace to go back to "
        "that question"
    ) in out.splitlines()
    existing = "Does that namespace exist already, e.g. holding an image pull secret or the monitoring claims"
    assert labels(prompts)[14:16] == ["Grafana storage", existing]
    assert prompts[15].endswith("[no]: ")
    assert prompts[20].endswith("[lab1]: ") and prompts[24].endswith("[yes]: ")
    assert config["aisinfra:existingNamespace"] is True
    assert config["aisinfra:monitoring"]["grafana"] == {"existingClaim": "site-grafana"}


def test_going_back_to_a_key_not_asked_says_so_and_stays() -> None:
    prompts: list[str] = []
    answers = ["lab", "<chart.path", "ais-lab", *UP_TO_TARGETS[2:], "0", "lab1", "/ais/a", *AFTER_MOUNTPOINTS]
    ask_all({}, scripted(answers, prompts), JUDGE)
    assert labels(prompts)[1:3] == ["K8s namespace for the deployment", "K8s namespace for the deployment"]


def test_init_without_a_terminal_needs_no_input_and_reads_no_pipe(
    tmp_path: Path, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stdin, "isatty", lambda: False)
    assert cli(tmp_path, "init", "lab", *INIT_FLAGS) == 2
    assert capsys.readouterr().err == (
        "error: standard input is not a terminal, so init cannot ask its questions; give the answers as flags with "
        "--no-input (init lab --no-input --release-name ... ; `init --help` lists them)\n"
    )
    assert list(tmp_path.iterdir()) == []
    assert cli(tmp_path, "init", "lab", "--no-input", *INIT_FLAGS) == 0
