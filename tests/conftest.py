"""Worksheets for the tests, written as stack files and read the way the Pulumi CLI reads them."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

from aisinfra.review.render import Rendering, run_program
from aisinfra.worksheet.stackfile import PROJECT_DIR, StackConfig, read_stack
from tests import render_cache

# Only in `python -m tests.mutate object_checks`, which sets its variable: see tests/render_cache.py.
render_cache.install()

# The real AIStore chart with its subcharts, read in place (never copied into the project).
CHART_ENV = "AISINFRA_CHART"
REFERENCE_DIR = PROJECT_DIR.parent / "shared" / "reference" / "ais-chart"
REFERENCE_CHART = REFERENCE_DIR / "chart"

# The worksheet's own example (as in Pulumi.dev.yaml), the base every other worksheet edits.
WORKSHEET_EXAMPLE: dict[str, Any] = {
    "aisinfra:releaseName": "demo",
    "aisinfra:namespace": "ais",
    "aisinfra:chart": {"path": "../ais-k8s/helm/ais/charts"},
    "aisinfra:targets": {"initialCount": 0, "nodes": ["cpu{01..12}"], "mountpoints": ["/ais/sd[a-j]"]},
    "aisinfra:proxies": {"nodes": ["cpu{01..12}"], "initialPrimary": "cpu01"},
    "aisinfra:monitoring": {
        "enabled": True,
        "graphite": {"node": "cpu01", "path": "/data/graphite", "size": "250Gi"},
        "grafana": {"node": "cpu01", "path": "/data/grafana", "size": "50Gi"},
    },
}


def not_reviewed(*stack_files: str) -> str:
    """What ``check``'s verdict adds for stacks whose chart is not here (they exit 3 when nothing else is wrong)."""
    return (
        f"; not reviewed: the objects of {', '.join(stack_files)}, whose chart is not here (give one with --chart DIR; "
        "how to get it is on stderr)"
    )


def worksheet(**changes: Any) -> dict[str, Any]:
    """The example worksheet with top-level keys replaced (``None`` removes a key)."""
    config = copy.deepcopy(WORKSHEET_EXAMPLE)
    for key, value in changes.items():
        if value is None:
            config.pop(f"aisinfra:{key}", None)
        else:
            config[f"aisinfra:{key}"] = value
    return config


@pytest.fixture(scope="module")
def example_stack() -> StackConfig:
    """The project's own example stack, ``Pulumi.dev.yaml``."""
    return read_stack(PROJECT_DIR / "Pulumi.dev.yaml")


@pytest.fixture(scope="module")
def example_rendering(example_stack: StackConfig) -> Rendering:
    return run_program(example_stack)


@pytest.fixture
def make_stack(tmp_path: Path) -> Any:
    def make(config: dict[str, Any], name: str = "test") -> StackConfig:
        path = tmp_path / f"Pulumi.{name}.yaml"
        path.write_text(yaml.safe_dump({"config": config}, sort_keys=False))
        return read_stack(path)

    return make


@pytest.fixture
def render_stack(make_stack: Any) -> Any:
    def render(config: dict[str, Any], name: str = "test") -> Rendering:
        return run_program(make_stack(config, name))

    return render


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("true", "1")


def missing_fixture(message: str) -> NoReturn:
    """A fixture from ../shared that is not here fails the run in CI and skips the test elsewhere."""
    if in_ci():
        pytest.fail(f"CI needs the shared fixtures: {message}")
    pytest.skip(message)


def missing_server(message: str) -> NoReturn:
    """A real server a test starts (Prometheus, StatsD, Graphite) that is not installed: fails the run
    in CI, which installs them (.ci/run, `make test`), and skips the test elsewhere, saying how to get it."""
    if in_ci():
        pytest.fail(f"CI needs this server: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """The chart's reference files (its rendering for release demo, its inventory), read in place."""
    if not REFERENCE_DIR.is_dir():
        missing_fixture(f"no chart reference at {REFERENCE_DIR}: put shared/ beside the project to run this test")
    return REFERENCE_DIR


@pytest.fixture(scope="session")
def chart_dir() -> Path:
    """The AIStore chart the tests render: ``$AISINFRA_CHART``, else the shared reference copy
    beside the project. Missing, it fails the run in CI and skips the test elsewhere, saying how
    to run it."""
    chart = Path(os.environ.get(CHART_ENV) or REFERENCE_CHART)
    if (chart / "Chart.yaml").is_file():
        return chart
    message = (
        f"no AIStore chart at {chart}: set {CHART_ENV} to a chart directory with its subcharts in charts/ "
        "(a checkout of NVIDIA/ais-k8s at 31a31110, helm/ais/charts, after `helm dependency build`) to run this test"
    )
    missing_fixture(message)
