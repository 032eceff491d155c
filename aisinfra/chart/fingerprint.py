"""Content fingerprints of what the Release installs beyond its values: the post-renderer's
code and a local chart's files.

The Release's inputs hold only the post-renderer's path and the chart's path, so a repaired
post-renderer or an edited chart would never show in ``pulumi preview --diff`` nor upgrade
the release. ``release_description`` folds both into one line that becomes the Release's
``description`` input: it changes exactly when their content does (same bytes, same value,
on every machine, wherever the checkout is and whatever its files' times), the provider
diffs it as an update, and Helm records it in ``helm history``.
"""

from __future__ import annotations

import ast
import hashlib
import io
import tarfile
from collections.abc import Iterable
from pathlib import Path

from aisinfra.chart.values import ChartSource

POSTRENDER_MODULE = "aisinfra.chart.postrender"
POSTRENDER_LAUNCHER = "aisinfra/chart/bin/postrender"
# Where Helm's dependency manager puts the subcharts of a chart directory (see chart_digest).
DEPENDENCY_DIRECTORY = "charts"
DIGEST_LENGTH = 16  # hex digits shown; 64 bits tell two versions apart


def postrender_files(project_dir: Path) -> list[str]:
    """The launcher and every project module that running the post-renderer imports (with
    the packages around them), as paths inside the project."""
    files = {POSTRENDER_LAUNCHER}
    seen: set[str] = set()
    pending = [POSTRENDER_MODULE]
    while pending:
        for module in _with_packages(pending.pop()):
            path = _module_file(project_dir, module)
            if module in seen or path is None:
                continue
            seen.add(module)
            files.add(path.relative_to(project_dir).as_posix())
            pending += _imported(path, module)
    return sorted(files)


def postrender_digest(project_dir: Path) -> str:
    return _digest((path, (project_dir / path).read_bytes()) for path in postrender_files(project_dir))


def chart_digest(chart_dir: Path) -> str:
    """Every file of the chart, by path inside the chart directory, ``charts/`` and the lock
    file included whatever ``dependencyUpdate`` says: Helm installs the subcharts in
    ``charts/``, and the provider's dependency update writes there only when a declared
    subchart is missing (then the digest changes once, with what was downloaded); a complete
    ``charts/`` is never refreshed, so a subchart replaced by hand is a change only here.
    Subchart archives count by the files inside them, so re-packing the same subchart is no
    change."""
    entries = []
    for path in sorted(chart_dir.rglob("*")):
        relative = path.relative_to(chart_dir).as_posix()
        if not path.is_file():
            continue
        if path.suffix == ".tgz" and relative.startswith(DEPENDENCY_DIRECTORY + "/"):
            entries += [(f"{relative}!{member}", content) for member, content in _archive_files(path)]
        else:
            entries.append((relative, path.read_bytes()))
    return _digest(entries)


def release_description(source: ChartSource, project_dir: Path) -> str:
    """The Release's description: the post-renderer's digest and the chart's (a chart from a
    repository is identified by its pinned version, which is an input already)."""
    if source.remote:
        chart = f"{source.chart} {source.version}" + (f" from {source.repo}" if source.repo else "")
    else:
        chart_dir = project_dir / source.chart
        chart = chart_digest(chart_dir) if chart_dir.is_dir() else f"{source.chart} (not found)"
    return f"aisinfra post-renderer {postrender_digest(project_dir)}, chart {chart}"


def _digest(entries: Iterable[tuple[str, bytes]]) -> str:
    hasher = hashlib.sha256()
    for name, content in entries:
        encoded = name.encode()
        hasher.update(b"%d:%b%d:" % (len(encoded), encoded, len(content)))
        hasher.update(content)
    return hasher.hexdigest()[:DIGEST_LENGTH]


def _archive_files(path: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(fileobj=io.BytesIO(path.read_bytes()), mode="r:gz") as archive:
        files = [(member.name, archive.extractfile(member)) for member in archive.getmembers() if member.isfile()]
        return sorted((name, content.read()) for name, content in files if content is not None)


def _with_packages(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[: index + 1]) for index in range(len(parts))]


def _module_file(project_dir: Path, module: str) -> Path | None:
    base = project_dir.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _imported(path: Path, module: str) -> list[str]:
    """Modules of this project that ``path`` imports, resolving relative imports."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = []
    for node in ast.walk(ast.parse(path.read_bytes())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names += [base] + [f"{base}.{alias.name}" for alias in node.names]
    root = POSTRENDER_MODULE.split(".")[0]
    return [name for name in names if name == root or name.startswith(root + ".")]
