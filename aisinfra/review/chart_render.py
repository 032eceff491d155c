"""The chart rendered the way the stack's Release renders it, offline.

``pulumi preview`` never shows a ``helm.v3.Release``'s objects: the provider loads the chart,
runs Helm's dependency check and renders it without the post-renderer only to look for CRDs
(swallowing render errors), then diffs the Release's inputs, so the objects the cluster gets
are seen for the first time during ``pulumi up``.
``render_release`` shows them beforehand: Helm's own engine (the Go SDK, through
``helm-python-sdk``) renders the chart with the Release's exact values, release name and
namespace, the manifests are sorted and split into hooks and the rest as Helm v3 does
(``releaseutil.SortManifests``), and the rest goes through the very post-renderer executable
the Release names, as a subprocess started the way Helm starts it: by path, no arguments,
manifests on stdin, from the project directory.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from aisinfra.chart.dependencies import missing_subcharts
from aisinfra.chart.values import OCI_SCHEME
from aisinfra.review import yaml_out
from aisinfra.review.render import Rendering
from aisinfra.worksheet.stackfile import PROJECT_DIR

# Importing helm_python loads Helm's engine, a Go library whose runtime starts its own threads
# then; a fork copies only the forking thread, so a process forked after the import (mutmut's
# fork server, `make mutate`) stalls in its first render until mutmut's CPU limit ends it as a
# "timeout". So it is imported at the first render, and only its absence is checked here (the
# commands say how to install it).
if importlib.util.find_spec("helm_python") is None:
    raise ModuleNotFoundError("No module named 'helm_python'", name="helm_python")

Manifest = dict[str, Any]

# Kubernetes' built-in kinds without a namespace; every other kind lives in one.
CLUSTER_SCOPED_KINDS = frozenset(
    {
        "APIService",
        "CertificateSigningRequest",
        "ClusterRole",
        "ClusterRoleBinding",
        "CSIDriver",
        "CSINode",
        "CustomResourceDefinition",
        "FlowSchema",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "Namespace",
        "Node",
        "PersistentVolume",
        "PodSecurityPolicy",
        "PriorityClass",
        "PriorityLevelConfiguration",
        "RuntimeClass",
        "StorageClass",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
        "ValidatingWebhookConfiguration",
        "VolumeAttachment",
    }
)
HOOK_ANNOTATION = "helm.sh/hook"
# Hook events a plain install or upgrade runs; "test" hooks run only on `helm test`.
INSTALL_HOOK_EVENTS = frozenset({"pre-install", "post-install", "pre-upgrade", "post-upgrade"})
NOTES_SUFFIX = "NOTES.txt"
# Helm's releaseutil.InstallOrder: the order of the manifests handed to the post-renderer.
INSTALL_ORDER = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "Ingress",
    "APIService",
)
_KIND_RANK = {kind: rank for rank, kind in enumerate(INSTALL_ORDER)}
# Helm's releaseutil.SplitManifests cuts a file at every `---` that starts a line.
_HELM_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")
_DOCUMENT_START = re.compile(r"^---(?:[ \t].*)?$")
_SOURCE_COMMENT = re.compile(r"^# Source: (.+)$", re.MULTILINE)
HOW_TO_GET_THE_CHART = (
    "check out NVIDIA/ais-k8s at commit 31a311102d1c430b275fea3f695bc38ac074eb60 next to this project "
    "(chart.path ../ais-k8s/helm/ais/charts) and run `helm dependency build` in that directory once, "
    "or pass --chart DIR (`make render CHART=DIR`), a chart directory with its subcharts in charts/"
)


class ChartUnavailableError(Exception):
    """The stack's chart cannot be rendered here; the message says why and how to get it."""


class ChartRenderError(Exception):
    """Helm or the post-renderer failed on this stack's chart: ``pulumi up`` would fail too."""


@dataclass(frozen=True)
class ReleaseInputs:
    """What the stack's Release hands Helm, as the program registered it."""

    name: str
    namespace: str
    chart: str
    values: dict[str, Any]
    postrender: str
    version: str | None = None
    repo: str | None = None
    dependency_update: bool = False

    @classmethod
    def of(cls, rendering: Rendering) -> ReleaseInputs:
        inputs = rendering.release().inputs
        return cls(
            name=inputs["name"],
            namespace=inputs["namespace"],
            chart=inputs["chart"],
            values=inputs.get("values", {}),
            postrender=inputs["postrender"],
            version=inputs.get("version"),
            repo=inputs.get("repositoryOpts", {}).get("repo"),
            dependency_update=bool(inputs.get("dependencyUpdate", False)),
        )


@dataclass(frozen=True)
class RenderedObject:
    manifest: Manifest
    source: str  # the chart template it came from (Helm's `# Source:` line)

    @property
    def kind(self) -> str:
        return str(self.manifest.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.manifest.get("metadata", {}).get("name", ""))


@dataclass(frozen=True)
class Hook:
    """A manifest Helm keeps out of the release's objects and never post-renders."""

    manifest: Manifest
    source: str
    events: tuple[str, ...]

    @property
    def runs_on_install(self) -> bool:
        return bool(INSTALL_HOOK_EVENTS.intersection(self.events))


@dataclass(frozen=True)
class ChartRendering:
    chart_dir: Path
    release: ReleaseInputs
    # After the post-renderer, in its output order, each namespaced object in the namespace the
    # release installs it to (Helm's client puts an object without one in the release's).
    objects: list[RenderedObject]
    hooks: list[Hook] = field(default_factory=list)


def locate_chart(release: ReleaseInputs, chart_dir: Path | None = None, project_dir: Path = PROJECT_DIR) -> Path:
    """The chart directory to render: ``chart_dir`` if given, else the Release's local chart
    path (relative to the project directory, as the provider resolves it). A repository chart
    is rendered only from a local copy given as ``chart_dir``, which must be the pinned version."""
    if chart_dir is None:
        if release.repo is not None:
            raise ChartUnavailableError(
                f"the chart comes from the repository {release.repo} (chart.name {release.chart}, chart.version "
                f"{release.version}), which render does not fetch: get a copy with `helm pull {release.chart} "
                f"--repo {release.repo} --version {release.version} --untar` and pass --chart DIR"
            )
        if release.chart.startswith(OCI_SCHEME):
            raise ChartUnavailableError(
                f"the chart comes from the OCI registry {release.chart} (chart.version {release.version}), which "
                f"render does not fetch: get a copy with `helm pull {release.chart} --version {release.version} "
                "--untar` and pass --chart DIR"
            )
        chart_dir = project_dir / release.chart
        key = f"chart.path '{release.chart}'"
    else:
        key = f"--chart {chart_dir}"
    if not (chart_dir / "Chart.yaml").is_file():
        raise ChartUnavailableError(f"{key}: no chart at {chart_dir}; {HOW_TO_GET_THE_CHART}")
    return chart_dir


def render_release(rendering: Rendering, chart_dir: Path, project_dir: Path = PROJECT_DIR) -> ChartRendering:
    """Every object the stack's Release would install, rendered and post-rendered."""
    release = ReleaseInputs.of(rendering)
    stream, hooks = helm_manifests(chart_dir, release)
    post_rendered = run_postrenderer(project_dir / release.postrender, stream, project_dir)
    objects = [
        RenderedObject(in_namespace(rendered.manifest, release.namespace), rendered.source)
        for rendered in parse_stream(post_rendered)
    ]
    return ChartRendering(chart_dir=chart_dir, release=release, objects=objects, hooks=hooks)


def in_namespace(manifest: Manifest, namespace: str) -> Manifest:
    """The object as applied to ``namespace``: a namespaced object without a namespace gets it."""
    metadata = manifest.get("metadata")
    if manifest.get("kind") in CLUSTER_SCOPED_KINDS or not isinstance(metadata, dict) or metadata.get("namespace"):
        return manifest
    return {**manifest, "metadata": {**metadata, "namespace": namespace}}


def helm_manifests(chart_dir: Path, release: ReleaseInputs) -> tuple[str, list[Hook]]:
    """The manifest stream Helm hands the post-renderer, and the hooks it keeps apart."""
    import helm_python  # not at the top: see the find_spec check there

    _require_dependencies(chart_dir, release.dependency_update)
    try:
        with helm_python.Chart.load(chart_dir) as chart:
            if release.version is not None and chart.version != release.version:
                raise ChartUnavailableError(
                    f"chart.version is {release.version}, but the chart at {chart_dir} is version {chart.version}"
                )
            files = chart.render(release.values, name=release.name, namespace=release.namespace, is_install=True)
    except helm_python.HelmError as error:
        raise ChartRenderError(f"Helm cannot render the chart at {chart_dir}: {error}") from None
    return sort_manifests(files)


def _require_dependencies(chart_dir: Path, dependency_update: bool) -> None:
    """Helm refuses to install a chart whose declared subcharts are not all in ``charts/``."""
    missing = missing_subcharts(chart_dir)
    if missing:
        fetched = (
            "the provider would fetch the missing ones during `pulumi preview` (chart.dependencyUpdate), but "
            "render works offline"
            if dependency_update
            else "and with chart.dependencyUpdate false `pulumi preview` and `pulumi up` fail the same way"
        )
        raise ChartUnavailableError(
            f"the chart at {chart_dir} lacks its subcharts {', '.join(sorted(missing))} in charts/; {fetched}: "
            f"run `helm dependency build {chart_dir}` once"
        )


def sort_manifests(files: dict[str, str]) -> tuple[str, list[Hook]]:
    """Helm v3's ``SortManifests`` and ``renderResources``: NOTES and partials left out, each
    file split into documents (files in path order), hooks set apart, the rest ordered by
    kind (stable) and written as ``---\\n# Source: PATH\\nCONTENT\\n``."""
    generic: list[tuple[str, str, Manifest]] = []
    hooks: list[Hook] = []
    for path in sorted(files):
        if path.endswith(NOTES_SUFFIX) or Path(path).name.startswith("_") or not files[path].strip():
            continue
        for content in _HELM_SEPARATOR.split(files[path]):
            if not content.strip():
                continue
            head = _head(content, f"the chart's template {path}")
            annotations = (head.get("metadata") or {}).get("annotations") or {}
            if HOOK_ANNOTATION in annotations:
                events = tuple(event.strip().lower() for event in str(annotations[HOOK_ANNOTATION]).split(","))
                hooks.append(Hook(manifest=head, source=path, events=events))
            else:
                generic.append((path, content, head))
    generic.sort(key=lambda entry: _kind_order(str(entry[2].get("kind", ""))))
    stream = "".join(f"---\n# Source: {path}\n{content}\n" for path, content, _ in generic)
    return stream, hooks


def _head(content: str, where: str) -> Manifest:
    """A document as Helm reads its head: YAML that does not parse stops the install. Read by
    libyaml's parser where PyYAML has it (the chart's objects grow with the nodes: PyYAML's own
    took a second of a 2000-node render); what it refuses, PyYAML's own reads, or words why not."""
    try:
        parsed = yaml_out.load(content)
    except yaml.YAMLError:
        try:
            parsed = yaml.safe_load(content)
        except yaml.YAMLError as error:
            raise ChartRenderError(f"YAML parse error in {where}: {' '.join(str(error).split())}") from None
    if parsed is not None and not isinstance(parsed, dict):
        raise ChartRenderError(f"{where} renders a {type(parsed).__name__}, not a Kubernetes object")
    return parsed or {}


def _kind_order(kind: str) -> tuple[int, str]:
    """Known kinds in install order, unknown ones after them by name (Helm's kindSorter)."""
    return (_KIND_RANK.get(kind, len(INSTALL_ORDER)), "" if kind in _KIND_RANK else kind)


def run_postrenderer(executable: Path, stream: str, project_dir: Path = PROJECT_DIR) -> str:
    """The Release's post-renderer as Helm runs it (``postrender.NewExec``): the executable by
    path, no arguments, the caller's environment, manifests on stdin and stdout."""
    try:
        result = subprocess.run(
            [str(executable)],
            input=stream.encode("utf-8"),
            capture_output=True,
            cwd=project_dir,
            env=dict(os.environ),
            check=False,
        )
    except OSError as error:
        raise ChartRenderError(f"cannot run the post-renderer {executable}: {error.strerror}") from None
    if result.returncode != 0:
        detail = result.stderr.decode("utf-8", "replace").strip()
        raise ChartRenderError(
            f"the post-renderer {executable} failed (exit {result.returncode}), as `pulumi up` would:\n{detail}"
        )
    return result.stdout.decode("utf-8")


def parse_stream(text: str) -> list[RenderedObject]:
    """The objects of a manifest stream, each with the ``# Source:`` line that leads it."""
    objects = []
    for number, chunk in enumerate(_documents(text), start=1):
        manifest = _head(chunk, f"document {number} of the post-renderer's output")
        if manifest:
            source = _SOURCE_COMMENT.search(chunk)
            objects.append(RenderedObject(manifest=manifest, source=source.group(1) if source else ""))
    return objects


def _documents(text: str) -> list[str]:
    chunks: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if _DOCUMENT_START.match(line.rstrip("\r\n")):
            chunks.append([])
        chunks[-1].append(line)
    return ["".join(chunk) for chunk in chunks if chunk]
