"""Worksheets for the tests, written as stack files and read the way the Pulumi CLI reads them."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.review.render import Rendering, run_program
from aisinfra.worksheet.stackfile import StackConfig, read_stack

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


def worksheet(**changes: Any) -> dict[str, Any]:
    """The example worksheet with top-level keys replaced (``None`` removes a key)."""
    config = copy.deepcopy(WORKSHEET_EXAMPLE)
    for key, value in changes.items():
        if value is None:
            config.pop(f"aisinfra:{key}", None)
        else:
            config[f"aisinfra:{key}"] = value
    return config


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
