"""The operator commands: init, check, render --diff, labels."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from aisinfra.cli import main
from aisinfra.review import render
from aisinfra.review.diff import diff_renders
from aisinfra.review.render import resource_documents, run_program
from aisinfra.worksheet.stackfile import PROJECT_DIR
from tests.conftest import WORKSHEET_EXAMPLE, not_reviewed, worksheet
from tests.refusals import lowered_count, removed_target

TARGETS = WORKSHEET_EXAMPLE["aisinfra:targets"]
PROXIES = WORKSHEET_EXAMPLE["aisinfra:proxies"]


def write(directory: Path, name: str, config: dict[str, Any]) -> None:
    (directory / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))


def cli(directory: Path, *arguments: str) -> int:
    return main(["--stacks-dir", str(directory), *arguments])


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
    both, context = (
        "Pulumi.a.yaml and Pulumi.b.yaml",
        "if both run in the same kubectl context (neither names kubernetes:context)",
    )
    assert lines == [
        f"{both}: releaseName: both use the release name 'demo' {context}",
        f"{both}: namespace: both use the namespace 'ais' {context}",
        f"{both}: targets.nodes: both use the target node 'cpu12' {context}",
        f"{both}: monitoring: both use 2 PersistentVolume names, ais.demo.demo-ais-graphite, "
        f"ais.demo.demo-ais-grafana, {context}",
        f"{both}: monitoring.graphite.path: '/data/graphite' is the same directory as Pulumi.b.yaml's "
        f"monitoring.graphite.path '/data/graphite' on node 'cpu01', {context}; give each stack directories of its own",
        f"{both}: monitoring.grafana.path: '/data/grafana' is the same directory as Pulumi.b.yaml's "
        f"monitoring.grafana.path '/data/grafana' on node 'cpu01', {context}; give each stack directories of its own",
        f"checked 2 stack(s): 6 problem(s){not_reviewed('Pulumi.a.yaml', 'Pulumi.b.yaml')}",
    ]


def test_many_shared_nodes_are_one_line_of_ranges(tmp_path: Path, capsys: Any) -> None:
    nodes = {**TARGETS, "nodes": ["cpu{001..400}", "gpu{1..9}"]}
    write(tmp_path, "a", {**worksheet(targets=nodes), "kubernetes:context": "lab"})
    other = worksheet(
        releaseName="other",
        namespace="other",
        targets={**TARGETS, "nodes": ["cpu{101..500}", "gpu{3..12}"]},
        proxies={"nodes": ["gpu20"]},
        monitoring={"enabled": False, "externalGraphite": "g.example.com:2003"},
    )
    write(tmp_path, "b", {**other, "kubernetes:context": "lab"})
    assert cli(tmp_path, "check") == 1
    assert capsys.readouterr().out.splitlines() == [
        "Pulumi.a.yaml and Pulumi.b.yaml: targets.nodes: both use 307 target nodes, cpu{101..400}, gpu{3..9}, "
        "in Kubernetes context lab",
        f"checked 2 stack(s): 1 problem(s){not_reviewed('Pulumi.a.yaml', 'Pulumi.b.yaml')}",
    ]


def test_a_stack_without_a_context_is_compared_with_one_that_names_it(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "east", {**WORKSHEET_EXAMPLE, "kubernetes:context": "east"})
    write(tmp_path, "west", {**WORKSHEET_EXAMPLE, "kubernetes:context": "west"})
    write(
        tmp_path,
        "x",
        worksheet(
            releaseName="x",
            namespace="x",
            proxies={"nodes": ["n1"]},
            targets={**TARGETS, "nodes": ["cpu01"]},
            monitoring={
                "graphite": {"node": "n1", "path": "/data/graphite", "size": "1Gi"},
                "grafana": {"node": "n1", "path": "/data/grafana", "size": "1Gi"},
            },
        ),
    )
    assert cli(tmp_path, "check") == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "Pulumi.east.yaml and Pulumi.x.yaml: targets.nodes: both use the target node 'cpu01' "
        "if Pulumi.x.yaml runs in context east (it names no kubernetes:context)",
        "Pulumi.west.yaml and Pulumi.x.yaml: targets.nodes: both use the target node 'cpu01' "
        "if Pulumi.x.yaml runs in context west (it names no kubernetes:context)",
        f"checked 3 stack(s): 2 problem(s){not_reviewed('Pulumi.east.yaml', 'Pulumi.west.yaml', 'Pulumi.x.yaml')}",
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
        "if both run in the same kubectl context (neither names kubernetes:context)"
    )


def test_check_refuses_two_releases_that_make_one_fullname(tmp_path: Path, capsys: Any) -> None:
    """Release demo and release demo-ais both label their nodes nvidia.com/ais-target=demo-ais."""
    write(tmp_path, "a", {**WORKSHEET_EXAMPLE, "kubernetes:context": "lab"})
    other = worksheet(
        releaseName="demo-ais",
        namespace="ais2",
        targets={**TARGETS, "nodes": ["gpu{1..4}"]},
        proxies={"nodes": ["gpu{1..4}"], "initialPrimary": "gpu1"},
        monitoring={"enabled": False, "externalGraphite": "g.example.com:2003"},
    )
    write(tmp_path, "b", {**other, "kubernetes:context": "lab"})
    assert cli(tmp_path, "check") == 1
    assert capsys.readouterr().out.splitlines() == [
        "Pulumi.a.yaml and Pulumi.b.yaml: releaseName: 'demo' and 'demo-ais' both make the chart fullname "
        "'demo-ais', the value of their nodes' nvidia.com/ais-target and nvidia.com/ais-proxy labels, in Kubernetes "
        "context lab; give one of them a release name that makes another fullname",
        f"checked 2 stack(s): 1 problem(s){not_reviewed('Pulumi.a.yaml', 'Pulumi.b.yaml')}",
    ]


def test_check_refuses_a_node_in_two_clusters_in_different_roles(tmp_path: Path, capsys: Any) -> None:
    """A target node of one cluster that is a proxy node of another would carry two values of the
    aisinfra/cluster label; a node in the same role of both is reported as such, once."""
    write(tmp_path, "a", WORKSHEET_EXAMPLE)
    other = worksheet(
        releaseName="lab",
        namespace="lab",
        targets={**TARGETS, "nodes": ["gpu1", "cpu03"]},
        proxies={"nodes": ["cpu{01..02}"], "initialPrimary": "cpu01"},
        monitoring={"enabled": False, "externalGraphite": "g.example.com:2003"},
    )
    write(tmp_path, "b", other)
    assert cli(tmp_path, "check", "a", "b") == 1
    both, context = "Pulumi.a.yaml and Pulumi.b.yaml", "if both run in the same kubectl context (neither names " \
        "kubernetes:context)"  # fmt: skip
    assert capsys.readouterr().out.splitlines() == [
        f"{both}: targets.nodes: both use the target node 'cpu03' {context}",
        f"{both}: proxies.nodes: both use 2 proxy nodes, cpu01, cpu02, {context}",
        f"checked 2 stack(s): 2 problem(s){not_reviewed('Pulumi.a.yaml', 'Pulumi.b.yaml')}",
    ]
    # gpu2 is a target of a and a proxy of b; gpu1 the other way round.
    crossed_a = worksheet(
        targets={**TARGETS, "nodes": ["cpu{01..12}", "gpu2"]}, proxies={**PROXIES, "nodes": ["cpu{01..12}", "gpu1"]}
    )
    crossed_b = {**other, "aisinfra:targets": {**TARGETS, "nodes": ["gpu1"]}}
    crossed_b["aisinfra:proxies"] = {"nodes": ["gpu2"], "initialPrimary": "gpu2"}
    write(tmp_path, "a", crossed_a)
    write(tmp_path, "b", crossed_b)
    assert cli(tmp_path, "check", "a", "b") == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{both}: targets.nodes, proxies.nodes: both use 2 nodes, gpu2, gpu1, in different roles {context}; a "
        "node serves one AIStore cluster (it carries one aisinfra/cluster label)",
        f"checked 2 stack(s): 1 problem(s){not_reviewed('Pulumi.a.yaml', 'Pulumi.b.yaml')}",
    ]


def test_stacks_in_different_kubernetes_clusters_may_share_names(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "east", {**WORKSHEET_EXAMPLE, "kubernetes:context": "east"})
    write(tmp_path, "west", {**WORKSHEET_EXAMPLE, "kubernetes:context": "west"})
    # No problem found, but without the chart the objects were not reviewed: exit 3, not a clean 0.
    assert cli(tmp_path, "check") == 3
    assert capsys.readouterr().out == (
        f"checked 2 stack(s): no problems{not_reviewed('Pulumi.east.yaml', 'Pulumi.west.yaml')}\n"
    )


def test_check_reports_each_stacks_own_mistakes_by_file_and_key(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "bad", worksheet(targets={**TARGETS, "mountPoints": []}))
    assert cli(tmp_path, "check") == 1
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .startswith("Pulumi.bad.yaml: targets.mountPoints: unknown key (did you mean 'mountpoints'?)")
    )


def test_check_reports_what_the_program_refuses_before_the_rules_once_one_line_each(
    tmp_path: Path, capsys: Any, monkeypatch: Any
) -> None:
    """A key in a near miss of the aisinfra namespace and forced patches are refused by the program
    itself, not by the worksheet's rules: check printed the first twice (its own line, then the
    program's refusal from the chart's review) and the second only as the program's refusal, over
    two lines."""
    monkeypatch.delenv("PULUMI_K8S_ENABLE_PATCH_FORCE", raising=False)
    write(tmp_path, "s", {**WORKSHEET_EXAMPLE, "aisinfr:statePath": "/etc/ais", "kubernetes:enablePatchForce": "true"})
    assert cli(tmp_path, "check") == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "Pulumi.s.yaml: aisinfr:statePath: the namespace 'aisinfr' is not 'aisinfra', so nothing reads this key; "
        "did you mean 'aisinfra:statePath'?",
        "Pulumi.s.yaml: kubernetes:enablePatchForce: is 'true'; forced patches would take node labels over from "
        "whoever owns them. Remove it (`pulumi config rm kubernetes:enablePatchForce`) and resolve a label conflict "
        "as docs/deploying.md's 'Label ownership is explicit' says",
        "checked 1 stack(s): 2 problem(s)",
    ]
    assert captured.err == ""


def test_a_command_ends_with_its_own_output_and_nothing_after(tmp_path: Path) -> None:
    """Issue 22: after a correct refusal, some runs printed "Exception ignored in
    BaseEventLoop.__del__ ... ValueError: Invalid file descriptor: -1". The SDK's event loops (the
    main thread's, and then one per worker thread the mock monitor answered in) were left open, for the
    interpreter's shutdown to collect in whatever order; one collected after its own socket failed
    to close. Open loops are what made it; Python warns of each (ResourceWarning) as it collects it,
    in every run, so the test asks for those warnings."""
    write(tmp_path, "refused", {**WORKSHEET_EXAMPLE, "aisinfr:statePath": "/etc/ais"})
    write(tmp_path, "good", worksheet(chart={"path": "../no-chart-here"}))  # the same whether a chart is here or not
    problem = (
        "  - aisinfr:statePath: the namespace 'aisinfr' is not 'aisinfra', so nothing reads this key; did you mean "
        "'aisinfra:statePath'?"
    )
    for command, status, expected in [
        (["render", "refused"], 1, ["error: the worksheet (stack config) has a problem:", problem]),
        (["check", "refused"], 1, []),
        (["render", "good"], 3, []),
        (["check", "good"], 3, None),
    ]:
        result = subprocess.run(
            [
                sys.executable,
                "-W",
                "always::ResourceWarning",
                "-m",
                "aisinfra",
                "--stacks-dir",
                str(tmp_path),
                *command,
            ],
            cwd=PROJECT_DIR,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == status, (command, result.stderr)
        for noise in ("unclosed event loop", "Exception ignored", "Traceback"):
            assert noise not in result.stderr, (command, result.stderr)
        if expected is not None:
            assert result.stderr.splitlines() == expected, command
        else:  # only why the chart's objects were not reviewed
            assert result.stderr.startswith("Pulumi.good.yaml: objects not rendered: chart.path '../no-chart-here'")
            assert len(result.stderr.splitlines()) == 1


def test_check_usage_errors_exit_2(tmp_path: Path, capsys: Any) -> None:
    assert cli(tmp_path, "check") == 2
    assert cli(tmp_path, "check", "missing") == 2
    assert "no stack file Pulumi.missing.yaml" in capsys.readouterr().err


# --- labels -------------------------------------------------------------------------------


def test_labels_prints_the_equivalent_kubectl_commands(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "s", worksheet(targets={**TARGETS, "nodes": ["n{1..2}"]}, proxies={"nodes": ["n2", "n3"]}))
    assert cli(tmp_path, "labels", "s") == 0
    assert capsys.readouterr().out.splitlines() == [
        "kubectl label node n1 nvidia.com/ais-target=demo-ais aisinfra/cluster=ais.demo",
        "kubectl label node n2 nvidia.com/ais-target=demo-ais nvidia.com/ais-proxy=demo-ais-electable "
        "aisinfra/cluster=ais.demo nvidia.com/ais-initial-primary-proxy=demo-ais",
        "kubectl label node n3 nvidia.com/ais-proxy=demo-ais-electable aisinfra/cluster=ais.demo",
    ]
    assert cli(tmp_path, "labels", "s", "--remove") == 0
    assert capsys.readouterr().out.splitlines() == [
        "kubectl label node n1 nvidia.com/ais-target- aisinfra/cluster-",
        "kubectl label node n2 nvidia.com/ais-target- nvidia.com/ais-proxy- aisinfra/cluster- "
        "nvidia.com/ais-initial-primary-proxy-",
        "kubectl label node n3 nvidia.com/ais-proxy- aisinfra/cluster-",
    ]


# --- render --diff and the one-node change ------------------------------------------------


def test_render_diff_against_an_earlier_render_directory(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "s", WORKSHEET_EXAMPLE)
    assert cli(tmp_path, "render", "s", "--out", str(tmp_path / "before")) == 3  # no chart here
    write(tmp_path, "s", worksheet(images={"aisnode": "aistore/aisnode:3.5"}))
    capsys.readouterr()
    assert cli(tmp_path, "render", "s", "--diff", str(tmp_path / "before")) == 0
    assert capsys.readouterr().out.splitlines() == [
        "~ kubernetes:helm.sh/v3:Release  aistore-release",
        '    inputs.values.aiscluster.image.aisnode.tag: "3.4" -> "3.5"',
    ]


def test_render_runs_with_the_collector_off_and_leaves_it_as_it_was(tmp_path: Path, monkeypatch: Any) -> None:
    """The collector is off while render runs (why: render.collector_paused), so only the
    program's run's explicit, whole collection happens (before it: sdk.collect_quietly), and the
    garbage made after it waits, handed to the oldest generation rather than counted as new (it
    would all be walked at the next allocation). The caller's collector after it, on or off,
    whether render succeeds or fails."""
    collections: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    def summary(rendering: Any) -> str:
        assert not gc.isenabled() and collections.count(2) == 1  # the program's run's
        garbage = []
        for _ in range(100_000):  # enough to start collections, were the collector on
            cycle: list[Any] = []
            cycle.append(cycle)
            garbage.append(cycle)
        return ""

    monkeypatch.setattr(render, "summary_text", summary)
    write(tmp_path, "s", WORKSHEET_EXAMPLE)
    assert gc.isenabled()
    gc.callbacks.append(note)
    try:
        assert cli(tmp_path, "render", "s") == 3  # no chart here: not reviewed
        assert collections.count(2) == 1 and gc.isenabled()  # and none but young ones around the command
        young, threshold = gc.get_count()[0], gc.get_threshold()[0]
        assert young < threshold and gc.get_freeze_count() == 0
        write(tmp_path, "s", worksheet(releaseName="Bad_Name"))
        collections.clear()
        assert cli(tmp_path, "render", "s") == 1  # the program refuses the worksheet
        assert collections.count(2) >= 1 and gc.isenabled()
        gc.disable()
        assert cli(tmp_path, "render", "s") == 1
        assert not gc.isenabled()
    finally:
        gc.callbacks.remove(note)
        gc.enable()


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


def keys_of(lines: list[str]) -> list[str]:
    """A diff with each changed value shown by its key only (a dashboard's or the rules' text is long)."""
    return [line.split(": ", 1)[0] if line.startswith("    ") else line for line in lines]


def test_adding_one_node_changes_only_that_nodes_resources_and_what_monitors_it(make_stack: Any) -> None:
    fixed_count = {**TARGETS, "initialCount": 12}
    before = worksheet(targets={**fixed_count, "nodes": ["cpu{01..12}"]})
    after = worksheet(targets={**fixed_count, "nodes": ["cpu{01..13}"]})
    # The node dashboard and the alerting rules select the target nodes by name: both gain cpu13.
    assert keys_of(changed_resources(make_stack, before, after)) == [
        "~ kubernetes:core/v1:ConfigMap  aistore-monitoring-dashboard-nodes",
        "    inputs.data.ais-nodes-9de97218f5383f7654c4.json",
        "> kubernetes:core/v1:Node  aistore-node-cpu13  (read: must exist, nothing is created)",
        "+ kubernetes:batch/v1:Job  aistore-preflight-cpu13",
        "~ kubernetes:helm.sh/v3:Release  aistore-release",
        "    inputs.values.prometheus.serverFiles.alerting_rules.yml.groups",
        "+ kubernetes:core/v1:NodePatch  aistore-targets-cpu13",
    ]


def test_the_release_changes_only_when_a_chart_value_does(make_stack: Any) -> None:
    # initialCount 0: the target count follows the node list, so a value really changes.
    before = worksheet(targets={**TARGETS, "nodes": ["cpu{01..12}"]})
    after = worksheet(targets={**TARGETS, "nodes": ["cpu{01..12}", "gpu01"]})
    assert keys_of(changed_resources(make_stack, before, after)) == [
        "~ kubernetes:core/v1:ConfigMap  aistore-monitoring-dashboard-nodes",
        "    inputs.data.ais-nodes-9de97218f5383f7654c4.json",
        "> kubernetes:core/v1:Node  aistore-node-gpu01  (read: must exist, nothing is created)",
        "+ kubernetes:batch/v1:Job  aistore-preflight-gpu01",
        "~ kubernetes:helm.sh/v3:Release  aistore-release",
        "    inputs.values.aiscluster.expected_target_nodes",
        "    inputs.values.prometheus.serverFiles.alerting_rules.yml.groups",
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
    assert lines[1] == f"checked 2 stack(s): 1 problem(s){not_reviewed('Pulumi.good.yaml')}"


def test_render_of_a_bad_worksheet_exits_1_naming_the_key(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "s", worksheet(targets={**TARGETS, "mountPoints": ["/x"]}))
    assert cli(tmp_path, "render", "s", "--out", str(tmp_path / "out")) == 1
    error = capsys.readouterr().err
    assert "targets.mountPoints: unknown key (did you mean 'mountpoints'?)" in error
    assert not (tmp_path / "out").exists()


def test_check_and_render_report_independent_mistakes_in_one_run(tmp_path: Path, capsys: Any) -> None:
    write(
        tmp_path,
        "s",
        worksheet(
            namespace="kube-ais",  # a field rule
            targets={**TARGETS, "initialCount": 20, "mountpoints": ["/ais/sda", "/ais/sda/x"]},  # two rules across keys
            proxies={**PROXIES, "initialPrimary": "gpu01", "nodes": "cpu01"},  # a wrong type; its rule waits
            monitoring={"enabled": "maybe"},  # a wrong value; the monitoring rules wait
        ),
    )
    keys = [
        "namespace:",
        "proxies.nodes: must be a list, not the text 'cpu01'",
        "monitoring.enabled: must be true or false, not the text 'maybe'",
        "targets.mountpoints[1]: '/ais/sda/x' is inside '/ais/sda'",
        "targets.initialCount: 20 is more than the 12 target nodes",
    ]
    assert cli(tmp_path, "check") == 1
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == (
        "Pulumi.s.yaml: checked once the problems above are fixed: the rules that compare proxies.nodes, "
        "monitoring.enabled with other keys"
    )
    problems = [line.removeprefix("Pulumi.s.yaml: ") for line in out[:-2]]
    assert len(problems) == len(keys)
    assert all(any(problem.startswith(key) for problem in problems) for key in keys), problems
    assert out[-1] == "checked 1 stack(s): 5 problem(s)"
    assert cli(tmp_path, "render", "s") == 1
    error = capsys.readouterr().err
    assert all(f"  - {key}" in error for key in keys)
    assert (
        "(checked once the problems above are fixed: the rules that compare proxies.nodes, monitoring.enabled" in error
    )


def test_render_diff_against_a_render_shows_what_the_guard_will_refuse(tmp_path: Path, capsys: Any) -> None:
    """A render directory stands for the deployed cluster: a scale-in without its acknowledgements
    is flagged before the diff, with the acknowledgement each refusal needs, and exits 1."""
    write(tmp_path, "s", WORKSHEET_EXAMPLE)
    before = tmp_path / "before"
    assert cli(tmp_path, "render", "s", "--out", str(before)) == 3  # no chart here: not reviewed
    write(tmp_path, "s", worksheet(targets={**TARGETS, "nodes": ["cpu{01..11}"]}))
    capsys.readouterr()
    assert cli(tmp_path, "render", "s", "--diff", str(before)) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert lines[:3] == [
        f"! `pulumi up` will refuse this change, with {before} as what is deployed: the worksheet would change the "
        "deployed cluster unsafely; it has 2 problems:",
        f"  - {removed_target('cpu12')}",
        f"  - {lowered_count(12, 11, 'demo-ais-target-11')}",
    ]
    assert "- kubernetes:core/v1:NodePatch  aistore-targets-cpu12" in captured.out  # the diff still follows
    assert "error: `pulumi up` will refuse this change ('! `pulumi up` will refuse' above)" in captured.err
    # Acknowledged, the same change goes through: no refusal, exit 0.
    write(
        tmp_path,
        "s",
        worksheet(targets={**TARGETS, "nodes": ["cpu{01..11}"], "decommissioned": ["cpu12"], "scaleInTo": 11}),
    )
    assert cli(tmp_path, "render", "s", "--diff", str(before)) == 0
    assert "will refuse" not in capsys.readouterr().out


def test_render_diff_against_another_stack_is_no_deployment_and_runs_no_guard(tmp_path: Path, capsys: Any) -> None:
    write(tmp_path, "a", WORKSHEET_EXAMPLE)
    write(tmp_path, "b", worksheet(releaseName="other", namespace="other"))
    assert cli(tmp_path, "render", "b", "--diff", "a") == 0
    assert "will refuse" not in capsys.readouterr().out
