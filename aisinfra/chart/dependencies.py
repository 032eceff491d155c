"""Whether a local chart directory holds the subcharts it declares.

With ``chart.dependencyUpdate: false`` Helm installs only what is already in the chart's
``charts/`` directory and refuses a chart that declares a dependency missing there: the
provider runs Helm's dependency check when it checks the Release's inputs, so ``pulumi
preview`` already fails ("found in Chart.yaml, but missing in charts/ directory"), unless
the inputs are still unknown then, and ``pulumi up`` does.
Helm matches a dependency to a subchart by name (``action.CheckDependencies``), a
subchart being a directory or a ``.tgz`` archive with a ``Chart.yaml``.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any

import yaml

from aisinfra.chart.fingerprint import DEPENDENCY_DIRECTORY

# Where a chart declares its dependencies: Chart.yaml (apiVersion v2) or requirements.yaml (v1).
DECLARATIONS = ("Chart.yaml", "requirements.yaml")


def declared_dependencies(chart_dir: Path) -> dict[str, str]:
    """Each declared dependency's name, with the file that declares it."""
    declared: dict[str, str] = {}
    for file in DECLARATIONS:
        path = chart_dir / file
        document = _yaml(path.read_bytes()) if path.is_file() else None
        dependencies = document.get("dependencies") if isinstance(document, dict) else None
        for dependency in dependencies if isinstance(dependencies, list) else []:
            if isinstance(dependency, dict) and isinstance(dependency.get("name"), str):
                declared.setdefault(dependency["name"], file)
    return declared


def present_subcharts(chart_dir: Path) -> set[str]:
    """The names of the charts in ``charts/``, as their own Chart.yaml gives them."""
    names: set[str] = set()
    directory = chart_dir / DEPENDENCY_DIRECTORY
    for entry in sorted(directory.iterdir()) if directory.is_dir() else []:
        if entry.is_dir() and (entry / "Chart.yaml").is_file():
            metadata = _yaml((entry / "Chart.yaml").read_bytes())
        elif entry.is_file() and entry.name.endswith(".tgz"):
            metadata = _archived_metadata(entry)
        else:
            continue
        if isinstance(metadata, dict) and isinstance(metadata.get("name"), str):
            names.add(metadata["name"])
    return names


def missing_subcharts(chart_dir: Path) -> dict[str, str]:
    """Each declared subchart that ``charts/`` lacks, with the file that declares it."""
    present = present_subcharts(chart_dir)
    return {name: file for name, file in declared_dependencies(chart_dir).items() if name not in present}


def missing_subchart_problems(chart_path: str, dependency_update: bool, project_dir: Path) -> list[str]:
    """One line per declared subchart missing from a local chart's ``charts/`` while
    dependency updates are off; nothing for a chart that is not here at all."""
    chart_dir = project_dir / chart_path
    if dependency_update or not chart_dir.is_dir():
        return []
    return [
        f"chart.path: '{chart_path}' declares the subchart '{name}' ({file}) but has no '{name}' in "
        f"{DEPENDENCY_DIRECTORY}/, and chart.dependencyUpdate is false, so `pulumi preview` and `pulumi up` would "
        f"fail; run `helm dependency build {chart_path}` once (it needs the network), then deploy"
        for name, file in missing_subcharts(chart_dir).items()
    ]


def _yaml(content: bytes) -> Any:
    try:
        return yaml.safe_load(content)
    except yaml.YAMLError:
        return None  # Helm reports a broken chart file itself, naming it


def _archived_metadata(archive_path: Path) -> Any:
    try:
        with tarfile.open(archive_path, mode="r:gz") as archive:
            for member in archive.getmembers():
                if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/Chart.yaml"):
                    content = archive.extractfile(member)
                    return _yaml(content.read()) if content is not None else None
    except (tarfile.TarError, OSError):
        return None
    return None
