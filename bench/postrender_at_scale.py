"""The post-renderer at scale: time and memory in proportion to the manifests it reads.

    venv/bin/python bench/postrender_at_scale.py [--sizes 5,50] [--project DIR] [--profile]

For each size (in MB) it writes ``tests/fixtures/postrender/release-demo.yaml`` (release ``demo``
in namespace ``ais``: 24 objects, of which a fix changes 13 and drops 3) over and over, every name in
each copy made distinct (``ais-cr-7``), up to that size, and runs the launcher Helm runs
(``aisinfra/chart/bin/postrender``, of ``--project``, this checkout by default) on it as Helm does,
once per size, smallest first: wall time, the CPU time of the post-renderer's process and its peak
RSS (``getrusage`` of the children; the sizes grow, so the peak is the last run's). The output is
checked: exit status 0, and the 21 objects a copy keeps, for every copy.

``--profile`` runs ``postrender`` in this process under cProfile on the largest size instead and
prints the top functions. The numbers are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
if str(PROJECT_DIR) not in sys.path:
    sys.path.insert(0, str(PROJECT_DIR))

FIXTURE = PROJECT_DIR / "tests" / "fixtures" / "postrender" / "release-demo.yaml"
LAUNCHER = Path("aisinfra") / "chart" / "bin" / "postrender"
MB = 1_000_000
# Every name the fixture gives an object, a volume, a claim or a reference to one; not K8S_NS,
# the env variable the release's namespace is read from.
_NAME = re.compile(r"(\b(?:name|storageClassName|volumeName|claimName): )(?!K8S_NS\b)\"?([^\s\"]+)\"?")
PROFILE_LINES = 25
KEPT_PER_COPY = 21  # the PodSecurityPolicy, the Role that only used it and its binding go


def copy_of_release(index: int) -> str:
    """The fixture with every name suffixed ``-<index>``: the same defects, objects of their own."""
    return _NAME.sub(lambda match: f"{match.group(1)}{match.group(2)}-{index}", FIXTURE.read_text())


def manifests_of_size(size: int) -> tuple[str, int]:
    """Copies of the release up to at least ``size`` characters, and how many copies."""
    copies: list[str] = []
    length = 0
    while length < size:
        copies.append(copy_of_release(len(copies)))
        length += len(copies[-1])
    return "".join(copies), len(copies)


def run_launcher(project: Path, stream: Path) -> tuple[float, float, int, bytes]:
    """Wall seconds, CPU seconds and peak RSS (KiB) of the children so far, and the output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with stream.open("rb") as stdin:
        result = subprocess.run([str(project / LAUNCHER)], stdin=stdin, capture_output=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        raise SystemExit(f"the post-renderer failed ({result.returncode}): {result.stderr.decode()[:2000]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss, result.stdout


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5,50", help="sizes of the input in MB, comma-separated")
    parser.add_argument("--project", type=Path, default=PROJECT_DIR, help="the checkout whose launcher runs")
    parser.add_argument("--profile", action="store_true")
    arguments = parser.parse_args(argv)
    sizes = sorted(float(size) for size in arguments.sizes.split(","))
    if arguments.profile:
        from aisinfra.chart.postrender import postrender

        text, _ = manifests_of_size(int(sizes[-1] * MB))
        profile = cProfile.Profile()
        profile.runcall(postrender, text)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(PROFILE_LINES)
        return
    objects_per_copy = sum(1 for line in FIXTURE.read_text().splitlines() if line.startswith("kind: "))
    columns = ("input", 10), ("copies", 7), ("objects", 8), ("wall s", 8), ("CPU s", 8), ("peak RSS MiB", 13)
    print(" ".join(f"{name:>{width}}" for name, width in columns), f"{'output MB':>10}")
    with tempfile.TemporaryDirectory() as directory:
        stream = Path(directory) / "manifests.yaml"
        for size in sizes:
            text, copies = manifests_of_size(int(size * MB))
            stream.write_text(text)
            wall, cpu, peak, output = run_launcher(arguments.project, stream)
            kept = len(re.findall(rb"(?m)^kind: ", output))
            if kept != copies * KEPT_PER_COPY:
                raise SystemExit(f"the output holds {kept} objects, not {copies * KEPT_PER_COPY}")
            print(
                f"{len(text.encode()) / MB:>8.1f}MB {copies:>7} {copies * objects_per_copy:>8} {wall:>8.1f} "
                f"{cpu:>8.1f} {peak / 1024:>13.0f} {len(output) / MB:>10.1f}"
            )


if __name__ == "__main__":
    main()
