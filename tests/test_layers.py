"""The package's folders are its layers; a lower layer never imports a higher one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "aisinfra"
# Bottom to top: the worksheet coming in, the dashboards and alerts it implies, what the chart
# needs, the Pulumi program, the offline review, and the CLI on top.
LAYERS = ("worksheet", "monitoring", "chart", "program", "review", "cli")


def layer_of(module: str) -> int:
    parts = module.split(".")
    assert parts[0] == "aisinfra" and len(parts) > 1, module
    return LAYERS.index(parts[1]) if parts[1] in LAYERS else len(LAYERS)


def imported_modules(path: Path) -> list[str]:
    modules = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("aisinfra"):
            modules += [node.module] if node.module != "aisinfra" else [f"aisinfra.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            modules += [alias.name for alias in node.names if alias.name.startswith("aisinfra.")]
    return modules


SOURCES = sorted(path for path in PACKAGE.rglob("*.py") if path.parent != PACKAGE or path.stem == "cli")


@pytest.mark.parametrize("path", SOURCES, ids=[str(path.relative_to(PACKAGE)) for path in SOURCES])
def test_no_module_imports_a_higher_layer(path: Path) -> None:
    own = layer_of("aisinfra." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts))
    higher = [module for module in imported_modules(path) if layer_of(module) > own]
    assert higher == [], f"{path.relative_to(PACKAGE)} (layer {LAYERS[own]}) imports {higher}"


def test_every_module_belongs_to_a_layer() -> None:
    loose = [path.name for path in PACKAGE.glob("*.py") if path.stem not in ("__init__", "__main__", "cli")]
    assert loose == []
    assert {path.name for path in PACKAGE.iterdir() if path.is_dir() and path.name != "__pycache__"} == set(LAYERS[:-1])
