"""The Release's description: it changes exactly when the post-renderer's code or a local
chart's content changes, wherever the checkout is and whatever its files' times."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from aisinfra.chart.fingerprint import (
    chart_digest,
    postrender_digest,
    postrender_files,
    release_description,
)
from aisinfra.chart.values import ChartSource
from aisinfra.review.diff import diff_renders
from aisinfra.review.render import resource_documents, run_program
from aisinfra.worksheet.stackfile import PROJECT_DIR
from tests.conftest import worksheet

TEMPLATE = "templates/target-ss.yaml"


def copy_project(files: list[str], destination: Path) -> Path:
    for file in files:
        (destination / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_DIR / file, destination / file)
    return destination


def copy_chart(chart: Path, destination: Path) -> Path:
    shutil.copytree(chart, destination)
    for path in [destination, *destination.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # the reference is read-only
    return destination


def test_the_post_renderers_files_are_exactly_what_running_it_loads() -> None:
    """Python itself says which project modules `python -m aisinfra.chart.postrender` imports."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, aisinfra.chart.postrender\n"
            "print('\\n'.join(m.__file__ for m in list(sys.modules.values()) if getattr(m, '__file__', None)))",
        ],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    project_files = {
        Path(file).resolve().relative_to(PROJECT_DIR).as_posix()
        for file in loaded
        if Path(file).resolve().is_relative_to(PROJECT_DIR) and "venv" not in Path(file).parts
    }
    assert set(postrender_files(PROJECT_DIR)) == project_files | {"aisinfra/chart/bin/postrender"}


def test_the_post_renderer_digest_follows_its_content_not_its_place_or_times(tmp_path: Path) -> None:
    files = postrender_files(PROJECT_DIR)
    here = postrender_digest(PROJECT_DIR)
    copy = copy_project(files, tmp_path / "elsewhere")
    os.utime(copy / "aisinfra/chart/postrender.py", (0, 0))
    assert postrender_digest(copy) == here
    for file in files:
        changed = copy_project(files, tmp_path / file.replace("/", "-"))
        with (changed / file).open("ab") as handle:
            handle.write(b"\n# a repair\n")
        assert postrender_digest(changed) != here, file


def test_the_chart_digest_follows_its_files_not_its_place_or_times(tmp_path: Path, chart_dir: Path) -> None:
    chart = copy_chart(chart_dir, tmp_path / "chart")
    assert chart_digest(chart) == chart_digest(chart_dir)
    os.utime(chart / TEMPLATE, (0, 0))
    assert chart_digest(chart) == chart_digest(chart_dir)
    (chart / TEMPLATE).write_text((chart / TEMPLATE).read_text().replace("Parallel", "OrderedReady"))
    assert chart_digest(chart) != chart_digest(chart_dir)


def test_subcharts_and_the_lock_file_count(tmp_path: Path, chart_dir: Path) -> None:
    """Helm installs what charts/ holds, with dependency updates on or off: the provider
    downloads only a subchart missing from charts/, so a complete one is never refreshed."""
    chart = copy_chart(chart_dir, tmp_path / "chart")
    before = chart_digest(chart)
    (chart / "charts/grafana/values.yaml").write_text("edited: true\n")
    assert chart_digest(chart) != before
    edited = chart_digest(chart)
    (chart / "requirements.lock").write_text("generated: 2026-11-27T11:00:00Z\n")
    assert chart_digest(chart) != edited


def pack(directory: Path, archive: Path, mtime: int) -> None:
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                info = tarfile.TarInfo(f"{directory.name}/{path.relative_to(directory).as_posix()}")
                content = path.read_bytes()
                info.size, info.mtime = len(content), mtime
                tar.addfile(info, io.BytesIO(content))


def test_a_subchart_archive_counts_by_the_files_inside_it(tmp_path: Path, chart_dir: Path) -> None:
    """`helm dependency build` re-packs a subchart with new times: the same files are no change."""
    chart = copy_chart(chart_dir, tmp_path / "chart")
    graphite = chart / "charts" / "graphite"
    pack(graphite, tmp_path / "graphite-0.3.4.tgz", mtime=1)
    shutil.rmtree(graphite)
    shutil.copy(tmp_path / "graphite-0.3.4.tgz", chart / "charts")
    packed_once = chart_digest(chart)
    pack(chart_dir / "charts" / "graphite", chart / "charts" / "graphite-0.3.4.tgz", mtime=2)
    assert chart_digest(chart) == packed_once
    (graphite).mkdir()
    (graphite / "Chart.yaml").write_text("name: graphite\n")
    pack(graphite, chart / "charts" / "graphite-0.3.4.tgz", mtime=2)
    shutil.rmtree(graphite)
    assert chart_digest(chart) != packed_once


def test_a_chart_from_a_repository_is_identified_by_its_pinned_version() -> None:
    source = ChartSource(chart="ais", version="0.1.0", repo="https://charts.example.com")
    assert release_description(source, PROJECT_DIR) == (
        f"aisinfra post-renderer {postrender_digest(PROJECT_DIR)}, chart ais 0.1.0 from https://charts.example.com"
    )


def test_a_chart_edit_reaches_the_release_and_render_diff_as_an_update(
    make_stack: Any, tmp_path: Path, chart_dir: Path
) -> None:
    chart = copy_chart(chart_dir, tmp_path / "chart")
    config = worksheet(chart={"path": str(chart)})
    before = run_program(make_stack(config))
    assert before.release().inputs["description"] == (
        f"aisinfra post-renderer {postrender_digest(PROJECT_DIR)}, chart {chart_digest(chart_dir)}"
    )
    (chart / TEMPLATE).write_text((chart / TEMPLATE).read_text() + "\n")
    after = run_program(make_stack(config))
    lines = diff_renders(resource_documents(before), resource_documents(after))
    assert lines[0] == "~ kubernetes:helm.sh/v3:Release  aistore-release"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["inputs.description"]


@pytest.mark.parametrize("dependency_update", [False, True])
def test_a_subchart_archive_replaced_in_charts_upgrades_the_release(
    make_stack: Any, tmp_path: Path, chart_dir: Path, dependency_update: bool
) -> None:
    """Once charts/ is complete the provider never refreshes it, with updates on or off: a
    subchart replaced by hand changes no input but the description."""
    chart = copy_chart(chart_dir, tmp_path / "chart")
    graphite = chart / "charts" / "graphite"
    pack(graphite, chart / "charts" / "graphite-0.3.4.tgz", mtime=1)
    shutil.rmtree(graphite)
    config = worksheet(chart={"path": str(chart), "dependencyUpdate": dependency_update})
    before = run_program(make_stack(config))
    replaced = tmp_path / "graphite"
    shutil.copytree(chart_dir / "charts" / "graphite", replaced)
    (replaced / "values.yaml").write_text((replaced / "values.yaml").read_text() + "# replaced by hand\n")
    pack(replaced, chart / "charts" / "graphite-0.3.4.tgz", mtime=1)
    after = run_program(make_stack(config))
    assert after.release().inputs["description"] != before.release().inputs["description"]
    lines = diff_renders(resource_documents(before), resource_documents(after))
    assert lines[0] == "~ kubernetes:helm.sh/v3:Release  aistore-release"
    assert [line.split(":")[0].strip() for line in lines[1:]] == ["inputs.description"]
