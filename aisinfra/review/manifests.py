"""The objects the cluster will get, as ``render`` shows and writes them.

Every object of a post-rendered chart belongs to one layer of the cluster -- proxy, target,
monitoring, or other (accounts, roles, storage class, shared config) -- by the chart template
it came from: the grafana, graphite and prometheus subcharts and the chart's own
``graphite-*``/``grafana-*``/``prometheus-*`` templates are monitoring, ``proxy-*`` and
``target-*`` are their layers.
"""

from __future__ import annotations

import copy
from collections import Counter
from pathlib import Path

from aisinfra.review import yaml_out
from aisinfra.review.chart_render import CLUSTER_SCOPED_KINDS, ChartRendering, Hook, Manifest, RenderedObject
from aisinfra.worksheet.stackfile import SECRET_PLACEHOLDER

LAYERS = ("proxy", "target", "monitoring", "other")
MONITORING_TEMPLATE_PREFIXES = ("graphite-", "grafana-", "prometheus-")
RELEASE_OBJECTS_FILE = "release-objects.yaml"
RELEASE_HOOKS_FILE = "release-hooks.yaml"


def layer(source: str) -> str:
    """The layer of an object from its ``# Source:`` path (``ais/templates/proxy-ss.yaml``)."""
    parts = source.split("/")
    if "charts" in parts[1:-1]:
        return "monitoring"
    template = parts[-1]
    for role in ("proxy", "target"):
        if template.startswith(f"{role}-"):
            return role
    return "monitoring" if template.startswith(MONITORING_TEMPLATE_PREFIXES) else "other"


def object_label(manifest: Manifest) -> str:
    """``Kind namespace/name``, or ``Kind name`` for a cluster-scoped object (whose namespace,
    if a template sets one, the API server ignores)."""
    metadata = manifest.get("metadata") or {}
    namespace = None if manifest.get("kind") in CLUSTER_SCOPED_KINDS else metadata.get("namespace")
    where = f"{namespace}/{metadata.get('name')}" if namespace else str(metadata.get("name"))
    return f"{manifest.get('kind')} {where}"


def redacted(manifest: Manifest) -> Manifest:
    """A Secret with every value of ``data`` and ``stringData`` replaced; other objects as they are."""
    if manifest.get("kind") != "Secret":
        return manifest
    shown = copy.deepcopy(manifest)
    for field in ("data", "stringData"):
        if isinstance(shown.get(field), dict):
            shown[field] = dict.fromkeys(shown[field], SECRET_PLACEHOLDER)
    return shown


def summary_table(objects: list[RenderedObject]) -> str:
    """Objects per kind and layer, kinds in alphabetical order, with totals."""
    counts = Counter((rendered.kind, layer(rendered.source)) for rendered in objects)
    kinds = sorted({kind for kind, _ in counts})
    rows = [("KIND", *(name.upper() for name in LAYERS), "TOTAL")]
    for kind in kinds:
        row = [counts[kind, name] for name in LAYERS]
        rows.append((kind, *(str(count or "-") for count in row), str(sum(row))))
    totals = [sum(counts[kind, name] for kind in kinds) for name in LAYERS]
    rows.append(("total", *(str(total) for total in totals), str(sum(totals))))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def summary_text(chart: ChartRendering) -> str:
    release = chart.release
    lines = [
        f"Release {release.name} in namespace {release.namespace}: {len(chart.objects)} objects from the chart at "
        f"{chart.chart_dir}, after the post-renderer {release.postrender}",
        summary_table(chart.objects),
    ]
    skipped = [hook for hook in chart.hooks if not hook.runs_on_install]
    if skipped:
        lines.append(
            f"{len(skipped)} test hook(s) left out ({', '.join(object_label(hook.manifest) for hook in skipped)}): "
            "Helm runs them only on `helm test`, and never post-renders hooks"
        )
    return "\n".join(lines)


def _document(manifest: Manifest, comment: str) -> str:
    return f"---\n# {comment}\n{yaml_out.dump(redacted(manifest))}"


def _order(manifest: Manifest) -> tuple[str, str, str]:
    metadata = manifest.get("metadata") or {}
    return (str(manifest.get("kind")), str(metadata.get("namespace", "")), str(metadata.get("name")))


def write_release_objects(chart: ChartRendering, directory: Path) -> list[Path]:
    """``release-objects.yaml``: every object the Release installs, after the post-renderer,
    Secrets redacted, ordered by kind, namespace and name, each led by its source template;
    ``release-hooks.yaml`` the hooks Helm keeps apart (never post-rendered)."""
    directory.mkdir(parents=True, exist_ok=True)
    objects = sorted(chart.objects, key=lambda rendered: _order(rendered.manifest))
    written = [directory / RELEASE_OBJECTS_FILE]
    written[0].write_text("".join(_document(rendered.manifest, f"Source: {rendered.source}") for rendered in objects))
    hooks_file = directory / RELEASE_HOOKS_FILE
    hooks_file.unlink(missing_ok=True)
    if chart.hooks:
        hooks = sorted(chart.hooks, key=lambda hook: _order(hook.manifest))
        hooks_file.write_text("".join(_document(hook.manifest, _hook_comment(hook)) for hook in hooks))
        written.append(hooks_file)
    return written


def remove_release_objects(directory: Path) -> None:
    """Without the chart, an earlier render's objects in ``directory`` would pass for this one's."""
    for name in (RELEASE_OBJECTS_FILE, RELEASE_HOOKS_FILE):
        (directory / name).unlink(missing_ok=True)


def _hook_comment(hook: Hook) -> str:
    return f"Source: {hook.source} (hook: {','.join(hook.events)}; not post-rendered)"


def read_release_objects(directory: Path) -> list[Manifest]:
    """The objects an earlier ``render --out DIR`` wrote."""
    text = (directory / RELEASE_OBJECTS_FILE).read_text()
    return [document for document in yaml_out.load_all(text) if isinstance(document, dict)]
