"""The worksheet's and ``check``'s rules at scale: no rule may be quadratic in a way a large
legitimate worksheet notices.

    venv/bin/python bench/rules_at_scale.py

Times, once each, reading a stack file, ``load_worksheet`` (the worksheet's and the chart's
rules) and ``check`` of two stacks in one Kubernetes context, for 2000 nodes x 24 disks (nodes
as one pattern, and listed one by one) and at the expansion caps (20000 nodes x 1000
mountpoints). No Pulumi runtime is involved. The numbers are in docs/performance.md.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aisinfra.chart.rules import load_worksheet
from aisinfra.review.check import check_stacks
from aisinfra.worksheet.stackfile import StackConfig, read_stack


def worksheet(release: str, nodes: list[str], mountpoints: str) -> dict[str, Any]:
    storage = {"node": nodes[0].replace("{", "").split("..")[0], "size": "1Gi"}
    return {
        "config": {
            "aisinfra:releaseName": release,
            "aisinfra:namespace": release,
            "aisinfra:chart": {"path": "../ais-k8s/helm/ais/charts"},
            "aisinfra:targets": {"nodes": nodes, "mountpoints": [mountpoints]},
            "aisinfra:proxies": {"nodes": nodes},
            "aisinfra:monitoring": {
                "graphite": {**storage, "path": "/data/graphite"},
                "grafana": {**storage, "path": "/data/grafana"},
            },
            "kubernetes:context": "lab",
        }
    }


def timed(what: str, run: Callable[[], Any]) -> Any:
    start = time.perf_counter()
    result = run()
    print(f"{what:<60} {time.perf_counter() - start:7.3f} s")
    return result


def main() -> None:
    cases = {
        "2000 nodes as one pattern x 24 disks": (["{0}{{0001..2000}}"], "/ais/nvme{{0..23}}"),
        "2000 nodes listed one by one x 24 disks": (
            [f"{{0}}{index:04d}" for index in range(1, 2001)],
            "/ais/nvme{{0..23}}",
        ),
        "at the caps: 20000 nodes x 1000 mountpoints": (["{0}{{00001..20000}}"], "/ais/d{{0001..1000}}"),
    }
    with tempfile.TemporaryDirectory() as directory:
        for case, (nodes, mountpoints) in cases.items():
            stacks: list[StackConfig] = []
            for release, prefix in (("one", "a"), ("two", "b")):
                path = Path(directory) / f"Pulumi.{release}.yaml"
                config = worksheet(release, [node.format(prefix) for node in nodes], mountpoints.format())
                path.write_text(yaml.safe_dump(config, sort_keys=False))
                stacks.append(timed(f"{case}: read the stack file", partial(read_stack, path)))
            first = stacks[0].project_values()
            timed(f"{case}: load_worksheet", partial(load_worksheet, first))
            report = timed(f"{case}: check two stacks", partial(check_stacks, stacks))
            assert not report.problems, report.problems


if __name__ == "__main__":
    main()
