"""bench/run.py compares like with like: its worksheet passes the program, and its bare program
registers exactly the program's node labels, preflight Jobs and Release, without the program's
reads, components and checks; its `render` measurement runs the real command, every stage it
reports included; and bench/postrender_at_scale.py feeds the post-renderer copies of one release
that each keep their defects under names of their own (no timing here: that is what bench/ is for)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.chart.postrender import postrender
from aisinfra.review.check import check_stacks
from aisinfra.review.render import NODE_PATCH, PREFLIGHT_JOB, RELEASE, Rendering, run_program
from aisinfra.worksheet.patterns import expand
from aisinfra.worksheet.stackfile import read_stack
from bench import commands, postrender_at_scale
from bench.run import (
    KINDS,
    RENDER_STAGES,
    SCHEMA_STAGE,
    bench_worksheet,
    render_child,
    render_stage_names,
    run_kind,
    write_stack,
)

NODES = 3
NODE_NAMES = ["node0001", "node0002", "node0003"]
MOUNTPOINTS = [f"/ais/sd{letter}" for letter in "abcdefghij"]
NODE_READ = "kubernetes:core/v1:Node"

PatchLabels = list[tuple[str, list[tuple[str, str]]]]


@pytest.fixture(scope="module")
def renderings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendering]:
    path = write_stack(tmp_path_factory.mktemp("bench"), NODES)
    return {kind: run_kind(kind, path) for kind in KINDS}


def patch_labels(rendering: Rendering) -> PatchLabels:
    """Every NodePatch as (node, labels), sorted: what the patches do, whatever they are named."""
    return sorted(
        (patch.inputs["metadata"]["name"], sorted(patch.inputs["metadata"]["labels"].items()))
        for patch in rendering.of_type(NODE_PATCH)
    )


def preflight_jobs(rendering: Rendering) -> list[dict[str, Any]]:
    """Every preflight Job's inputs, in the order of the Jobs' names."""
    return sorted(
        (job.inputs for job in rendering.of_type(PREFLIGHT_JOB)), key=lambda inputs: inputs["metadata"]["name"]
    )


def reads_behind(rendering: Rendering, type_: str) -> list[tuple[str, list[str]]]:
    """Every resource of ``type_`` as (the object it names, the nodes whose reads it waits for), sorted."""
    read_ids = {read.urn: str(read.read_id) for read in rendering.of_type(NODE_READ)}
    return sorted(
        (resource.inputs["metadata"]["name"], sorted(read_ids[urn] for urn in resource.dependencies if urn in read_ids))
        for resource in rendering.of_type(type_)
    )


def test_the_worksheet_writes_the_nodes_as_one_pattern() -> None:
    assert bench_worksheet(NODES)["aisinfra:targets"]["nodes"] == ["node{0001..0003}"]
    assert bench_worksheet(NODES)["aisinfra:proxies"]["nodes"] == ["node{0001..0003}"]
    (pattern,) = bench_worksheet(12345)["aisinfra:targets"]["nodes"]
    assert expand(pattern)[0] == "node00001" and expand(pattern)[-1] == "node12345"


def test_the_program_accepts_the_worksheet_and_labels_every_node_with_both_roles(
    renderings: dict[str, Rendering],
) -> None:
    both_roles = {
        "nvidia.com/ais-target": "bench-ais",
        "nvidia.com/ais-proxy": "bench-ais-electable",
        "aisinfra/cluster": "bench.bench",
    }
    expected = {node: dict(both_roles) for node in NODE_NAMES}
    expected["node0001"]["nvidia.com/ais-initial-primary-proxy"] = "bench-ais"
    assert renderings["program"].node_labels() == expected


@pytest.mark.parametrize("kind", ["bare", "bare-reads"])
def test_the_bare_program_registers_the_same_node_patches(renderings: dict[str, Rendering], kind: str) -> None:
    program = patch_labels(renderings["program"])
    assert len(program) == 2 * NODES + 1
    assert patch_labels(renderings[kind]) == program


@pytest.mark.parametrize("kind", ["bare", "bare-reads"])
def test_the_bare_program_registers_the_same_release(renderings: dict[str, Rendering], kind: str) -> None:
    program, bare = renderings["program"].release(), renderings[kind].release()
    cluster = program.inputs["values"]["aiscluster"]
    assert cluster["expected_target_nodes"] == cluster["expected_proxy_nodes"] == NODES
    assert cluster["target"]["mountPaths"] == MOUNTPOINTS
    assert bare.inputs == program.inputs


@pytest.mark.parametrize("kind", ["bare", "bare-reads"])
def test_the_bare_program_registers_the_same_preflight_jobs(renderings: dict[str, Rendering], kind: str) -> None:
    program = preflight_jobs(renderings["program"])
    assert len(program) == NODES
    assert [job["metadata"]["name"].rsplit("-", 1)[0] for job in program] == [f"preflight-{n}" for n in NODE_NAMES]
    assert preflight_jobs(renderings[kind]) == program


def test_the_bare_program_registers_nothing_else(renderings: dict[str, Rendering]) -> None:
    bare = renderings["bare"]
    assert {resource.type for resource in bare.resources} == {NODE_PATCH, PREFLIGHT_JOB, RELEASE}
    assert len(bare.resources) == 3 * NODES + 2
    assert all(not resource.dependencies for resource in bare.resources)


def test_bare_reads_adds_exactly_the_programs_node_reads(renderings: dict[str, Rendering]) -> None:
    program, bare_reads = renderings["program"], renderings["bare-reads"]
    assert sorted(str(read.read_id) for read in bare_reads.of_type(NODE_READ)) == NODE_NAMES
    assert sorted(str(read.read_id) for read in program.of_type(NODE_READ)) == NODE_NAMES
    for type_ in (NODE_PATCH, PREFLIGHT_JOB):
        assert reads_behind(bare_reads, type_) == reads_behind(program, type_)
    assert all(reads == [node] for node, reads in reads_behind(program, NODE_PATCH))
    assert all(
        reads == [job.removeprefix("preflight-").rsplit("-", 1)[0]]
        for job, reads in reads_behind(program, PREFLIGHT_JOB)
    )
    assert {resource.type for resource in bare_reads.resources} == {NODE_PATCH, PREFLIGHT_JOB, RELEASE, NODE_READ}


def test_the_render_measurement_runs_the_command_through_every_stage_it_reports(
    tmp_path: Path, chart_dir: Path
) -> None:
    report = render_child(write_stack(tmp_path, NODES), chart_dir)
    # A stage the command no longer calls through its module would be missing, not zero.
    names = sorted({name for name, _, _ in [*RENDER_STAGES, SCHEMA_STAGE]})
    assert sorted(report["stages"]) == sorted(report["cpu_stages"]) == names
    # The chart with monitoring on, after the post-renderer (which drops the PodSecurityPolicies and
    # the roles that only use them): 12 ConfigMaps (one the dashboard sidecar's provider), 8
    # ServiceAccounts, 9 Services, 6 ClusterRoles, 6 ClusterRoleBindings, 5 Deployments, 3
    # StatefulSets, a DaemonSet, a Role, a RoleBinding, a StorageClass and Grafana's Secret.
    assert report["resources"] == 54
    stages = report["stages"]
    assert stages["schema"] <= stages["validation"]
    assert sum(stages[name] for name in render_stage_names()) <= report["seconds"]


def test_the_post_renderer_benchmark_repeats_one_release_under_names_of_its_own() -> None:
    """Every copy holds the fixture's defects under names no other copy has, and keeps 21 objects."""
    text, copies = postrender_at_scale.manifests_of_size(25_000)
    assert copies == 3 and len(text) >= 25_000
    fixed = [manifest for manifest in yaml.safe_load_all(postrender(text)) if manifest is not None]
    assert len(fixed) == copies * postrender_at_scale.KEPT_PER_COPY
    assert len({(manifest["kind"], manifest["metadata"]["name"]) for manifest in fixed}) == len(fixed)
    assert {manifest["metadata"]["name"] for manifest in fixed if manifest["kind"] == "StorageClass"} == {
        f"ais.demo.local-storage-{index}" for index in range(copies)
    }


def test_the_post_renderer_benchmark_runs_the_launcher(capsys: pytest.CaptureFixture[str]) -> None:
    postrender_at_scale.main(["--sizes", "0.02"])
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == [
        "input",
        "copies",
        "objects",
        "wall",
        "s",
        "CPU",
        "s",
        "peak",
        "RSS",
        "MiB",
        "output",
        "MB",
    ]
    assert row.split()[1:3] == ["2", "48"]


def test_the_site_bench_commands_checks_is_several_valid_clusters_that_share_nothing(tmp_path: Path) -> None:
    """bench/commands.py's `check` measures stacks that pass: distinct releases, namespaces and
    nodes, each as bench/run.py's worksheet."""
    commands.write_site(tmp_path, NODES, 2)
    stacks = [read_stack(tmp_path / f"Pulumi.bench{index}.yaml") for index in (1, 2)]
    assert check_stacks(stacks).problems == []
    first, second = (run_program(stack) for stack in stacks)
    assert sorted(first.node_labels()) == ["c1-node0001", "c1-node0002", "c1-node0003"]
    assert sorted(second.node_labels()) == ["c2-node0001", "c2-node0002", "c2-node0003"]
    assert [first.release().inputs["name"], second.release().inputs["name"]] == ["bench1", "bench2"]
    assert [first.release().inputs["namespace"], second.release().inputs["namespace"]] == ["bench1", "bench2"]
