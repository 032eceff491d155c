"""A local chart whose charts/ lacks a declared subchart fails only at `pulumi up` when
dependency updates are off; render and check say so first."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path
from typing import Any

import yaml

from aisinfra.chart.dependencies import declared_dependencies, missing_subchart_problems, present_subcharts
from aisinfra.cli import main
from tests.conftest import worksheet
from tests.test_fingerprint import copy_chart

REQUIREMENTS = {
    "dependencies": [
        {"name": "graphite", "version": ">=0.3.4", "repository": "file://deps/graphite"},
        {"name": "grafana", "version": ">=2.2.1", "repository": "https://charts.helm.sh/stable"},
        {"name": "prometheus", "version": ">=8.9.0", "repository": "https://charts.helm.sh/stable"},
    ]
}


def incomplete_chart(directory: Path) -> Path:
    """requirements.yaml as the AIStore chart's; charts/ holds graphite unpacked and prometheus
    as an archive, but no grafana."""
    directory.mkdir()
    (directory / "Chart.yaml").write_text("apiVersion: v1\nname: ais\nversion: 0.1.0\n")
    (directory / "requirements.yaml").write_text(yaml.safe_dump(REQUIREMENTS))
    (directory / "charts" / "graphite").mkdir(parents=True)
    (directory / "charts" / "graphite" / "Chart.yaml").write_text("name: graphite\nversion: 0.3.4\n")
    prometheus = directory / "prometheus"
    prometheus.mkdir()
    (prometheus / "Chart.yaml").write_text("name: prometheus\nversion: 11.12.1\n")
    with tarfile.open(directory / "charts" / "prometheus-11.12.1.tgz", "w:gz") as archive:
        archive.add(prometheus, arcname="prometheus")
    shutil.rmtree(prometheus)
    return directory


def test_the_reference_chart_built_by_helm_is_complete(chart_dir: Path) -> None:
    assert declared_dependencies(chart_dir) == {
        "graphite": "requirements.yaml",
        "grafana": "requirements.yaml",
        "prometheus": "requirements.yaml",
    }
    assert present_subcharts(chart_dir) == {"graphite", "grafana", "prometheus"}
    assert missing_subchart_problems(str(chart_dir), False, Path("/")) == []


def test_a_missing_subchart_is_reported_with_the_one_time_step(tmp_path: Path) -> None:
    chart = incomplete_chart(tmp_path / "chart")
    assert present_subcharts(chart) == {"graphite", "prometheus"}
    assert missing_subchart_problems("chart", False, tmp_path) == [
        "chart.path: 'chart' declares the subchart 'grafana' (requirements.yaml) but has no 'grafana' in charts/, "
        "and chart.dependencyUpdate is false, so `pulumi preview` and `pulumi up` would fail; run "
        "`helm dependency build chart` once (it needs the network), then deploy"
    ]


def test_chart_yaml_dependencies_count_too(tmp_path: Path) -> None:
    chart = tmp_path / "chart"
    chart.mkdir()
    (chart / "Chart.yaml").write_text(yaml.safe_dump({"apiVersion": "v2", "name": "ais", **REQUIREMENTS}))
    assert [problem.split("'")[3] for problem in missing_subchart_problems("chart", False, tmp_path)] == [
        "graphite",
        "grafana",
        "prometheus",
    ]


def test_nothing_to_report_with_dependency_updates_on_or_without_the_chart(tmp_path: Path) -> None:
    incomplete_chart(tmp_path / "chart")
    assert missing_subchart_problems("chart", True, tmp_path) == []
    assert missing_subchart_problems("elsewhere", False, tmp_path) == []


def write_stack(directory: Path, chart: Path) -> None:
    config = worksheet(chart={"path": str(chart)})
    (directory / "Pulumi.lab.yaml").write_text(yaml.safe_dump({"config": config}))


def test_render_and_check_report_an_incomplete_chart(tmp_path: Path, capsys: Any) -> None:
    write_stack(tmp_path, incomplete_chart(tmp_path / "chart"))
    assert main(["--stacks-dir", str(tmp_path), "render", "lab"]) == 1
    assert f"error: chart.path: '{tmp_path / 'chart'}' declares the subchart 'grafana'" in capsys.readouterr().err
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 1
    assert f"Pulumi.lab.yaml: chart.path: '{tmp_path / 'chart'}' declares the subchart 'grafana'" in (
        capsys.readouterr().out
    )


def test_render_and_check_accept_a_complete_chart(tmp_path: Path, chart_dir: Path, capsys: Any) -> None:
    write_stack(tmp_path, copy_chart(chart_dir, tmp_path / "chart"))
    assert main(["--stacks-dir", str(tmp_path), "render", "lab"]) == 0
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 0
