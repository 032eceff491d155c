"""The program's cost at scale, against a bare Pulumi program that registers the same labels,
preflight Jobs and Release (``bench/bare_program.py``), both under the same mock runtime.

    venv/bin/python bench/run.py [--sizes 12,100,500,2000] [--repeat 3] [--markdown] [--profile]

For each size N it writes an N-node worksheet as a stack file and runs, each time in a fresh
subprocess so that peak memory is per run, (a) ``program``: ``run_program(read_stack(path))`` --
what ``python -m aisinfra render`` does minus printing -- and (b) ``bare``: the bare program
through the same ``run_program`` harness, plus (c) ``bare-reads``: the bare program with the
program's node reads: the program's floor, everything it must register and nothing else.
Reported: median wall time of the run, median wall time of the whole child process (interpreter
start and imports included), peak RSS, resources registered, the ratios, and time per node. No
Pulumi engine, provider or network is involved: the SDK's mock monitor answers every
registration in-process.

``--profile`` skips the timing and prints cProfile's top functions of one run of each kind at
the largest size.

``--render`` measures instead what ``python -m aisinfra render STACK --chart DIR --out OUT``
costs with the real chart (default: the reference chart next to the project), at 12, 500 and
2000 nodes unless ``--sizes`` says otherwise: the whole command, in a fresh subprocess per run,
broken down into the program under mocks, Helm's engine, the post-renderer (a subprocess, as
Helm runs it), validation (and its schema part), the printed summary and the --out files, each
timed around the very functions the command calls, in wall time and in CPU time (which a busy
machine changes far less; the load average is reported with the figures). With ``--profile`` it
profiles one render at the largest size.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import json
import os
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from unittest import mock

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    # Run as ``python bench/run.py``, only bench/ is on the path, not the project.
    sys.path.insert(0, str(PROJECT_DIR))

from aisinfra import cli  # noqa: E402
from aisinfra.review import chart_render, manifests, object_checks, render  # noqa: E402
from aisinfra.worksheet.stackfile import read_stack  # noqa: E402

SCRIPT = Path(__file__).resolve()
BARE_PROGRAM = SCRIPT.parent / "bare_program.py"
STACK_NAME = "bench"
KINDS = ("program", "bare", "bare-reads")
DEFAULT_SIZES = (12, 100, 500, 2000)
MOUNTPOINTS = "/ais/sd[a-j]"
PROFILE_LINES = 25
RENDER_SIZES = (12, 500, 2000)
# Issue 21's aims: the program's run against its floor, and render's CPU seconds by size.
PROGRAM_TO_FLOOR_AIM = 1.1
RENDER_CPU_AIMS = {2000: 15.0, 10000: 60.0}
REFERENCE_CHART = PROJECT_DIR.parent / "shared" / "reference" / "ais-chart" / "chart"
# The stages of `render` with the chart: (name, module, function the command calls through it).
RENDER_STAGES: tuple[tuple[str, Any, str], ...] = (
    ("program", render, "run_program"),
    ("helm", chart_render, "helm_manifests"),
    ("post-renderer", chart_render, "run_postrenderer"),
    ("validation", object_checks, "deployment_problems"),
    ("summary", render, "summary_text"),
    ("summary", manifests, "summary_text"),
    ("writing", render, "write_outputs"),
    ("writing", manifests, "write_release_objects"),
)
# Part of validation: the Kubernetes schemas (the rest is the checks against the worksheet).
SCHEMA_STAGE = ("schema", object_checks, "schema_problems")


# --- the worksheet ----------------------------------------------------------------------------


def node_name(index: int, nodes: int) -> str:
    return f"node{index:0{max(4, len(str(nodes)))}d}"


def bench_worksheet(nodes: int) -> dict[str, Any]:
    """N nodes written as one pattern, each a proxy and a target with ten disks, monitoring on
    the first node: the worksheet's own example, scaled."""
    first, last = node_name(1, nodes), node_name(nodes, nodes)
    pattern = f"node{{{first.removeprefix('node')}..{last.removeprefix('node')}}}"
    return {
        "aisinfra:releaseName": "bench",
        "aisinfra:namespace": "bench",
        "aisinfra:chart": {"path": "../ais-k8s/helm/ais/charts"},
        "aisinfra:targets": {"initialCount": 0, "nodes": [pattern], "mountpoints": [MOUNTPOINTS]},
        "aisinfra:proxies": {"nodes": [pattern], "initialPrimary": first},
        "aisinfra:monitoring": {
            "enabled": True,
            "graphite": {"node": first, "path": "/data/graphite", "size": "250Gi"},
            "grafana": {"node": first, "path": "/data/grafana", "size": "50Gi"},
        },
    }


def write_stack(directory: Path, nodes: int) -> Path:
    path = directory / f"Pulumi.{STACK_NAME}.yaml"
    path.write_text(yaml.safe_dump({"config": bench_worksheet(nodes)}, sort_keys=False))
    return path


# --- one run, in the child --------------------------------------------------------------------


def run_kind(kind: str, stack_path: Path) -> render.Rendering:
    """``program``: the project's ``__main__.py``; ``bare`` and ``bare-reads``: the baseline,
    through the very same ``run_program`` harness (mock runtime, recording monitor, tree order,
    outputs)."""
    stack = read_stack(stack_path)
    if kind == "program":
        return render.run_program(stack)
    if kind == "bare-reads":
        # A key outside the aisinfra: namespace, which only the bare program looks at.
        stack = replace(stack, values={**stack.values, "bench:nodeReads": "true"})
    with mock.patch.object(render, "PROGRAM", BARE_PROGRAM):
        return render.run_program(stack)


def child(kind: str, stack_path: Path, profile: bool) -> dict[str, Any]:
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    rendering = run_kind(kind, stack_path)
    if profiler is not None:
        profiler.disable()
    seconds = time.perf_counter() - started
    if profiler is not None:
        print(profile_text(profiler), file=sys.stderr)
    by_type = Counter(
        f"{registration.type} (read)" if registration.read_id is not None else registration.type
        for registration in rendering.resources
    )
    return {
        "kind": kind,
        "seconds": seconds,
        # Linux reports ru_maxrss in KiB.
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "resources": len(rendering.resources),
        "by_type": dict(sorted(by_type.items())),
    }


def profile_text(profiler: cProfile.Profile) -> str:
    text = io.StringIO()
    stats = pstats.Stats(profiler, stream=text).strip_dirs()
    for order in ("tottime", "cumulative"):
        text.write(f"=== top {PROFILE_LINES} by {order} ===\n")
        stats.sort_stats(order).print_stats(PROFILE_LINES)
    return text.getvalue()


# --- render with the chart, in the child -----------------------------------------------------


def cpu_seconds() -> float:
    """CPU time of this process (every thread: Helm's engine runs in it) and of its finished
    children (the post-renderer): what a busy machine changes far less than wall time."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


@contextlib.contextmanager
def stopwatch(stages: Sequence[tuple[str, Any, str]], wall: dict[str, float], cpu: dict[str, float]) -> Iterator[None]:
    """Adds to ``wall[name]`` and ``cpu[name]`` the time spent in each stage's function while
    the block runs."""

    def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            started, started_cpu = time.perf_counter(), cpu_seconds()
            try:
                return function(*args, **kwargs)
            finally:
                wall[name] = wall.get(name, 0.0) + time.perf_counter() - started
                cpu[name] = cpu.get(name, 0.0) + cpu_seconds() - started_cpu

        return run

    with contextlib.ExitStack() as patches:
        for name, module, attribute in stages:
            patches.enter_context(mock.patch.object(module, attribute, timed(name, getattr(module, attribute))))
        yield


def render_child(stack_path: Path, chart_dir: Path, profile: bool = False) -> dict[str, Any]:
    """``render STACK --chart DIR --out OUT`` as the CLI runs it, its output discarded."""
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    profiler = cProfile.Profile() if profile else None
    with tempfile.TemporaryDirectory(prefix="aisinfra-bench-out-") as out:
        arguments = ["--stacks-dir", str(stack_path.parent), "render", STACK_NAME, "--chart", str(chart_dir)]
        printed = io.StringIO()
        started, started_cpu = time.perf_counter(), cpu_seconds()
        with stopwatch([*RENDER_STAGES, SCHEMA_STAGE], wall, cpu), contextlib.redirect_stdout(printed):
            if profiler is not None:
                profiler.enable()
            status = cli.main([*arguments, "--out", out])
            if profiler is not None:
                profiler.disable()
        total, total_cpu = time.perf_counter() - started, cpu_seconds() - started_cpu
        objects = len(manifests.read_release_objects(Path(out)))
    if profiler is not None:
        print(profile_text(profiler), file=sys.stderr)
    if status != 0:
        raise SystemExit(f"render failed for {stack_path} (exit {status})")
    return {
        "kind": "render",
        "seconds": total,
        "cpu_seconds": total_cpu,
        "stages": wall,
        "cpu_stages": cpu,
        "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "resources": objects,
        "by_type": {},
    }


# --- the parent -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    seconds: float
    process_seconds: float
    max_rss_kib: int
    resources: int
    by_type: dict[str, int]
    stages: dict[str, float] = field(default_factory=dict)
    cpu_seconds: float = 0.0
    cpu_stages: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Measurement:
    nodes: int
    samples: dict[str, list[Sample]]

    def median(self, kind: str, metric: str) -> float:
        return statistics.median(getattr(sample, metric) for sample in self.samples[kind])

    def spread(self, kind: str, metric: str) -> tuple[float, float]:
        values = [getattr(sample, metric) for sample in self.samples[kind]]
        return min(values), max(values)

    def ratio(self, metric: str, baseline: str = "bare") -> float:
        return self.median("program", metric) / self.median(baseline, metric)

    def resources(self, kind: str) -> int:
        return self.samples[kind][0].resources

    def stage(self, kind: str, name: str, clock: str = "stages") -> float:
        return statistics.median(getattr(sample, clock).get(name, 0.0) for sample in self.samples[kind])


def spawn(kind: str, stack_path: Path, profile: bool = False, chart_dir: Path | None = None) -> Sample:
    command = [sys.executable, str(SCRIPT), "--child", kind, "--stack", str(stack_path)]
    if profile:
        command.append("--profile")
    if chart_dir is not None:
        command += ["--chart", str(chart_dir)]
    started = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, check=False, cwd=PROJECT_DIR)
    process_seconds = time.perf_counter() - started
    if completed.returncode != 0:
        raise SystemExit(f"the {kind} child failed for {stack_path}:\n{completed.stderr}")
    if profile:
        print(f"##### {kind}: {stack_path}\n{completed.stderr}")
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    return Sample(
        seconds=report["seconds"],
        process_seconds=process_seconds,
        max_rss_kib=report["max_rss_kib"],
        resources=report["resources"],
        by_type=report["by_type"],
        stages=report.get("stages", {}),
        cpu_seconds=report.get("cpu_seconds", 0.0),
        cpu_stages=report.get("cpu_stages", {}),
    )


def measure(nodes: int, repeat: int, directory: Path) -> Measurement:
    stack_path = write_stack(directory, nodes)
    samples: dict[str, list[Sample]] = {kind: [] for kind in KINDS}
    # Interleaved, so a slow spell of the machine hits every kind alike.
    for _ in range(repeat):
        for kind in KINDS:
            samples[kind].append(spawn(kind, stack_path))
            print(f"  {nodes:>5} nodes  {kind:<10}  {samples[kind][-1].seconds:8.3f} s", file=sys.stderr)
    return Measurement(nodes=nodes, samples=samples)


def measure_render(nodes: int, repeat: int, directory: Path, chart_dir: Path) -> Measurement:
    stack_path = write_stack(directory, nodes)
    samples = [spawn("render", stack_path, chart_dir=chart_dir) for _ in range(repeat)]
    for sample in samples:
        print(f"  {nodes:>5} nodes  render      {sample.seconds:8.3f} s", file=sys.stderr)
    return Measurement(nodes=nodes, samples={"render": samples})


Table = tuple[str, list[str], list[list[str]]]


def _seconds(m: Measurement, kind: str, metric: str) -> str:
    low, high = m.spread(kind, metric)
    return f"{m.median(kind, metric):.3f} ({low:.2f}-{high:.2f})"


def _mib(kib: float) -> str:
    return f"{kib / 1024:.0f}"


def tables(measurements: list[Measurement]) -> list[Table]:
    run = [
        [
            str(m.nodes),
            *(_seconds(m, kind, "seconds") for kind in KINDS),
            f"{m.ratio('seconds'):.2f}",
            f"{m.ratio('seconds', 'bare-reads'):.2f}",
        ]
        for m in measurements
    ]
    process = [
        [str(m.nodes), *(_seconds(m, kind, "process_seconds") for kind in KINDS), f"{m.ratio('process_seconds'):.2f}"]
        for m in measurements
    ]
    memory = [
        [
            str(m.nodes),
            *(_mib(m.median(kind, "max_rss_kib")) for kind in KINDS),
            f"{m.ratio('max_rss_kib'):.2f}",
            *(str(m.resources(kind)) for kind in KINDS),
        ]
        for m in measurements
    ]
    growth = []
    previous: Measurement | None = None
    for m in measurements:
        row = [str(m.nodes)]
        row += [f"{1000 * m.median(kind, 'seconds') / m.nodes:.2f}" for kind in KINDS]
        for kind in KINDS:
            if previous is None:
                row.append("-")
            else:
                added = m.median(kind, "seconds") - previous.median(kind, "seconds")
                row.append(f"{1000 * added / (m.nodes - previous.nodes):.2f}")
        growth.append(row)
        previous = m
    return [
        (
            "Run wall time (s): median (min-max) of run_program, imports of the program's modules included",
            ["nodes", "program", "bare", "bare-reads", "program / bare", "program / bare-reads"],
            run,
        ),
        (
            "Child process wall time (s): median (min-max), interpreter start and imports included",
            ["nodes", "program", "bare", "bare-reads", "program / bare"],
            process,
        ),
        (
            "Peak RSS of the child (MiB, median) and resources registered (the Stack itself not counted)",
            [
                "nodes",
                "program RSS",
                "bare RSS",
                "bare-reads RSS",
                "program / bare RSS",
                "program resources",
                "bare resources",
                "bare-reads resources",
            ],
            memory,
        ),
        (
            "Run time per node (ms): median run time / N; marginal: added time / nodes added since the previous size",
            ["nodes", *(f"{kind} / N" for kind in KINDS), *(f"{kind} marginal" for kind in KINDS)],
            growth,
        ),
    ]


def render_stage_names() -> list[str]:
    return list(dict.fromkeys(name for name, _, _ in RENDER_STAGES))


def render_tables(measurements: list[Measurement]) -> list[Table]:
    stage_names = render_stage_names()
    tables = []
    for total, clock, title in (
        ("seconds", "stages", "Wall time"),
        ("cpu_seconds", "cpu_stages", "CPU time (this process's threads and the post-renderer's process)"),
    ):
        rows = []
        for m in measurements:
            stages = [m.stage("render", name, clock) for name in stage_names]
            whole = m.median("render", total)
            rest = statistics.median(
                getattr(sample, total) - sum(getattr(sample, clock).get(name, 0.0) for name in stage_names)
                for sample in m.samples["render"]
            )
            row = [
                str(m.nodes),
                _seconds(m, "render", total),
                *(f"{seconds:.3f} ({100 * seconds / whole:.0f}%)" for seconds in stages),
                f"{m.stage('render', SCHEMA_STAGE[0], clock):.3f}",
                f"{rest:.3f}",
            ]
            if clock == "stages":
                row += [
                    _seconds(m, "render", "process_seconds"),
                    str(m.resources("render")),
                    _mib(m.median("render", "max_rss_kib")),
                ]
            rows.append(row)
        headers = ["nodes", "render", *stage_names, "of which schema", "rest"]
        if clock == "stages":
            headers += ["child process", "objects", "RSS"]
        tables.append(
            (
                f"{title} of `render STACK --chart DIR --out OUT` (s): the command's median (min-max); each "
                "stage's median and its share of the command's median (summary: the text printed; writing: the "
                "files of --out); the schema part of validation; the rest (median over runs of the command less "
                "its stages)"
                + (
                    "; the whole child process; objects the Release installs; peak RSS (MiB)"
                    if clock == "stages"
                    else ""
                ),
                headers,
                rows,
            )
        )
    return tables


def format_table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---:|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=True)]
    return "\n".join(
        "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)) for row in [headers, *rows]
    )


def report(measurements: list[Measurement], repeat: int, markdown: bool) -> str:
    largest = measurements[-1]
    registered = "\n".join(
        f"- {kind}: " + ", ".join(f"{count} {type_}" for type_, count in largest.samples[kind][0].by_type.items())
        for kind in KINDS
    )
    parts = [f"{repeat} runs per kind and size (--repeat {repeat}), each in a fresh subprocess, kinds interleaved."]
    for title, headers, rows in tables(measurements):
        parts.append(f"{title}\n\n{format_table(headers, rows, markdown)}")
    parts.append(
        f"Registered at {largest.nodes} nodes:\n\n{registered}\n\n"
        "The program also reads every node it labels (Node.get: the guard that fails the preview on a "
        "misspelled node instead of patching a phantom Node into existence), and registers its components, "
        "the Namespace, the monitoring volumes and claims, and the StackReference of its safety check. The "
        "bare program registers none of these; bare-reads adds the node reads and nothing else."
    )
    parts.append(
        "Aim (issue 21): program run <= "
        f"{PROGRAM_TO_FLOOR_AIM}x its floor (bare-reads) at 2000 nodes and more: "
        + "; ".join(
            f"{m.nodes} nodes {m.ratio('seconds', 'bare-reads'):.2f}x, "
            + ("met" if m.ratio("seconds", "bare-reads") <= PROGRAM_TO_FLOOR_AIM else "not met")
            for m in measurements
            if m.nodes >= 2000
        )
        + "."
    )
    return "\n\n".join(parts)


def render_report(
    measurements: list[Measurement],
    repeat: int,
    chart_dir: Path,
    loads: tuple[tuple[float, ...], tuple[float, ...]],
    markdown: bool,
) -> str:
    before, after = (", ".join(f"{load:.2f}" for load in averages) for averages in loads)
    parts = [
        f"{repeat} runs per size (--repeat {repeat}), each in a fresh subprocess; chart {chart_dir}. "
        f"Load average (1, 5, 15 min) on {os.cpu_count()} CPUs: {before} before, {after} after."
    ]
    parts += [
        f"{title}\n\n{format_table(headers, rows, markdown)}" for title, headers, rows in render_tables(measurements)
    ]
    aims = [
        f"{m.nodes} nodes {m.median('render', 'cpu_seconds'):.1f} s, "
        + ("met" if m.median("render", "cpu_seconds") <= RENDER_CPU_AIMS[m.nodes] else "not met")
        + f" (aim {RENDER_CPU_AIMS[m.nodes]:.0f} s)"
        for m in measurements
        if m.nodes in RENDER_CPU_AIMS
    ]
    if aims:
        parts.append("Aim (issue 21), CPU time of the command, quiet machine: " + "; ".join(aims) + ".")
    return "\n\n".join(parts)


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        sizes = []
    if not sizes or sizes[0] < 1:
        raise argparse.ArgumentTypeError("sizes are positive node counts, e.g. 12,100,500,2000")
    return sizes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--sizes",
        type=parse_sizes,
        help="node counts, comma-separated (default: 12,100,500,2000; with --render 12,500,2000)",
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per kind and size; the median is reported")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument(
        "--profile",
        action="store_true",
        help="cProfile one run of each kind (with --render: of render) at the largest size",
    )
    parser.add_argument(
        "--render", action="store_true", help="measure `render` with the chart, stage by stage, instead"
    )
    parser.add_argument(
        "--chart",
        type=Path,
        default=REFERENCE_CHART,
        help=f"the chart --render renders (default: {REFERENCE_CHART})",
    )
    parser.add_argument("--child", choices=[*KINDS, "render"], help=argparse.SUPPRESS)
    parser.add_argument("--stack", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args(argv)

    if arguments.child is not None:
        if arguments.stack is None:
            parser.error("--child needs --stack")
        if arguments.child == "render":
            print(json.dumps(render_child(arguments.stack, arguments.chart, arguments.profile)))
        else:
            print(json.dumps(child(arguments.child, arguments.stack, arguments.profile)))
        return 0
    if arguments.repeat < 1:
        parser.error("--repeat must be at least 1")
    if arguments.sizes is None:
        arguments.sizes = list(RENDER_SIZES if arguments.render else DEFAULT_SIZES)

    if arguments.render:
        if not (arguments.chart / "Chart.yaml").is_file():
            parser.error(f"--chart {arguments.chart}: no Chart.yaml there")
        with tempfile.TemporaryDirectory(prefix="aisinfra-bench-") as directory:
            if arguments.profile:
                stack_path = write_stack(Path(directory), arguments.sizes[-1])
                spawn("render", stack_path, profile=True, chart_dir=arguments.chart)
                return 0
            load_before = os.getloadavg()
            measured = [
                measure_render(nodes, arguments.repeat, Path(directory), arguments.chart) for nodes in arguments.sizes
            ]
        loads = (load_before, os.getloadavg())
        print(render_report(measured, arguments.repeat, arguments.chart, loads, arguments.markdown))
        return 0

    with tempfile.TemporaryDirectory(prefix="aisinfra-bench-") as directory:
        if arguments.profile:
            stack_path = write_stack(Path(directory), arguments.sizes[-1])
            for kind in KINDS:
                spawn(kind, stack_path, profile=True)
            return 0
        measurements = [measure(nodes, arguments.repeat, Path(directory)) for nodes in arguments.sizes]
    print(report(measurements, arguments.repeat, arguments.markdown))
    return 0


if __name__ == "__main__":
    sys.exit(main())
