"""What the commands an operator runs cost at scale, each as the operator runs it: a fresh
``python -m aisinfra`` process, with the real chart.

    venv/bin/python bench/commands.py [--sizes 12,2000,10000] [--repeat 3] [--stacks 5] [--chart DIR]

For each size N (bench/run.py's worksheet of N nodes) and each run:

- ``render``: ``render bench --chart DIR --out OUT``;
- ``render --diff``: ``render bench --chart DIR --diff OUT``, OUT being what the render above wrote
  (the deployed cluster, as the docs tell an operator to keep it), the worksheet unchanged;
- ``check``: ``check --chart DIR`` over a directory of ``--stacks`` stacks of N nodes each, every
  one its own cluster (its own release, namespace and nodes), as a site with several clusters has
  (``--stacks 0``: not measured).

Reported per command: CPU seconds (user + system of the command's process and its children: the
post-renderer Helm runs), wall seconds and peak RSS (MiB) of the command's process, each the
median (min-max) over the runs; and ``render --diff`` over ``render``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parent.parent
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

from bench.run import REFERENCE_CHART, STACK_NAME, bench_worksheet, parse_sizes, write_stack  # noqa: E402

DEFAULT_SIZES = (12, 2000)
# A fresh interpreter runs the command and reports what it cost: RUSAGE_CHILDREN of a process
# that ran nothing else is the command's alone (its peak RSS included).
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
wall = time.perf_counter() - started
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "wall": wall, "cpu": use.ru_utime + use.ru_stime, "rss_mib": use.ru_maxrss / 1024}))
"""


def cluster_worksheet(nodes: int, index: int) -> dict[str, Any]:
    """bench/run.py's worksheet as cluster ``index`` of a site: its own release, namespace and nodes."""
    config = json.loads(re.sub(r'"node(?=[{0-9])', f'"c{index}-node', json.dumps(bench_worksheet(nodes))))
    config["aisinfra:releaseName"] = config["aisinfra:namespace"] = f"bench{index}"
    return config


def write_site(directory: Path, nodes: int, stacks: int) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index in range(1, stacks + 1):
        path = directory / f"Pulumi.bench{index}.yaml"
        path.write_text(yaml.safe_dump({"config": cluster_worksheet(nodes, index)}, sort_keys=False))


def measure(arguments: Sequence[str], expected_codes: tuple[int, ...] = (0,)) -> dict[str, float]:
    command = [sys.executable, "-m", "aisinfra", *arguments]
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    measured = json.loads(result.stdout)
    if measured["code"] not in expected_codes:
        raise SystemExit(f"{' '.join(arguments)} exited {measured['code']}, expected one of {expected_codes}")
    return measured


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=parse_sizes, default=list(DEFAULT_SIZES), help="node counts per stack")
    parser.add_argument("--repeat", type=int, default=3, help="runs per command and size; the median is reported")
    parser.add_argument("--stacks", type=int, default=5, help="stacks `check` reviews at once (0: no check)")
    parser.add_argument("--chart", type=Path, default=REFERENCE_CHART, help="the chart (default: the reference's)")
    arguments = parser.parse_args(argv)
    if not (arguments.chart / "Chart.yaml").is_file():
        parser.error(f"--chart {arguments.chart}: no Chart.yaml there")
    chart = str(arguments.chart)
    print(f"{os.cpu_count()} CPUs, load average before: {', '.join(f'{load:.2f}' for load in os.getloadavg())}")
    print("nodes  command  CPU s  wall s  peak RSS MiB")
    for nodes in arguments.sizes:
        with tempfile.TemporaryDirectory(prefix="aisinfra-bench-commands-") as work:
            stacks, site, out = Path(work) / "one", Path(work) / "site", Path(work) / "out"
            stacks.mkdir()
            write_stack(stacks, nodes)
            write_site(site, nodes, arguments.stacks)
            render = ["--stacks-dir", str(stacks), "render", STACK_NAME, "--chart", chart]
            runs: dict[str, list[dict[str, float]]] = {"render": [], "render --diff": []}
            for _ in range(arguments.repeat):
                runs["render"].append(measure([*render, "--out", str(out)]))
                runs["render --diff"].append(measure([*render, "--diff", str(out)]))
                if arguments.stacks:
                    runs.setdefault("check", []).append(measure(["--stacks-dir", str(site), "check", "--chart", chart]))
            for name, measured in runs.items():
                label = f"check of {arguments.stacks} stacks" if name == "check" else name
                print(
                    f"{nodes}  {label}  {summary([m['cpu'] for m in measured])}  "
                    f"{summary([m['wall'] for m in measured])}  {summary([m['rss_mib'] for m in measured])}"
                )
            ratio = statistics.median(m["cpu"] for m in runs["render --diff"]) / statistics.median(
                m["cpu"] for m in runs["render"]
            )
            print(f"{nodes}  render --diff / render (CPU)  {ratio:.2f}")
    print(f"load average after: {', '.join(f'{load:.2f}' for load in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
