"""Running the real program under Pulumi's mock runtime, and what it registered.

``run_program`` executes the project's own ``__main__.py`` through the Python SDK's real
registration path, with ``pulumi.runtime.set_mocks`` standing in for the engine, and
records every registration: type, name, parent, dependencies, protect, and inputs. That
record is what ``render`` prints and writes, and what the tests assert on.
"""

from __future__ import annotations

import contextlib
import contextvars
import gc
import json
import logging
import re
import runpy
import traceback
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_root_resource

from aisinfra.chart.dependencies import missing_subchart_problems
from aisinfra.chart.naming import CLUSTER_LABEL_KEY, INITIAL_PRIMARY_LABEL_KEY, PROXY_LABEL_KEY, TARGET_LABEL_KEY
from aisinfra.monitoring.chart_values import DASHBOARD_LABEL
from aisinfra.monitoring.dashboards import DashboardFile
from aisinfra.program import sdk
from aisinfra.program.config import FILE_BACKEND_ORGANIZATION
from aisinfra.review import yaml_out
from aisinfra.worksheet.patterns import compress, expand
from aisinfra.worksheet.stackfile import PROJECT_DIR, SECRET_PLACEHOLDER, StackConfig

PROGRAM = PROJECT_DIR / "__main__.py"
STACK_TYPE = "pulumi:pulumi:Stack"
STACK_REFERENCE = "pulumi:pulumi:StackReference"
NODE_PATCH = "kubernetes:core/v1:NodePatch"
RELEASE = "kubernetes:helm.sh/v3:Release"
COMPONENT_PREFIX = "aisinfra:"
RESOURCES_FILE = "resources.yaml"
OUTPUTS_FILE = "outputs.yaml"
LABEL_COLUMNS = (TARGET_LABEL_KEY, PROXY_LABEL_KEY, CLUSTER_LABEL_KEY, INITIAL_PRIMARY_LABEL_KEY)
PREFLIGHT_JOB = "kubernetes:batch/v1:Job"
# Objects the program applies whole, in manifests.yaml order: (type, apiVersion, kind).
APPLIED_AS_IS = (
    ("kubernetes:core/v1:PersistentVolume", "v1", "PersistentVolume"),
    ("kubernetes:core/v1:PersistentVolumeClaim", "v1", "PersistentVolumeClaim"),
    # The dashboards the chart's Grafana sidecar loads.
    ("kubernetes:core/v1:ConfigMap", "v1", "ConfigMap"),
    (PREFLIGHT_JOB, "batch/v1", "Job"),
)


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    inputs: dict[str, Any]
    read_id: str | None = None  # set for reads of existing objects (``Node.get``)
    dependencies: list[str] = field(default_factory=list)
    protect: bool = False
    # A component's outputs (``register_outputs``), as the state keeps them.
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def is_component(self) -> bool:
        return self.type.startswith(COMPONENT_PREFIX)


@dataclass
class Rendering:
    stack: str
    resources: list[Registration]
    outputs: dict[str, Any]
    warnings: list[str] = field(default_factory=list)  # what `pulumi preview` would show as warnings

    def of_type(self, type_: str) -> list[Registration]:
        return [resource for resource in self.resources if resource.type == type_]

    def by_name(self, name: str) -> Registration:
        return next(resource for resource in self.resources if resource.name == name)

    def release(self) -> Registration:
        return self.of_type(RELEASE)[0]

    def node_labels(self) -> dict[str, dict[str, str]]:
        """Each node's labels, merged over every patch that labels it, nodes in natural order."""
        labels: dict[str, dict[str, str]] = {}
        for patch in self.of_type(NODE_PATCH):
            metadata = patch.inputs["metadata"]
            labels.setdefault(metadata["name"], {}).update(metadata["labels"])
        return dict(sorted(labels.items(), key=lambda item: natural_order(item[0])))


class ResourceFailureError(Exception):
    """A resource's create, update or read failed, as ``run_program(failing=...)`` asks."""


class _Mocks(pulumi.runtime.Mocks):
    def __init__(self, deployed_outputs: dict[str, Any], failing: frozenset[str] = frozenset()):
        self.deployed_outputs = deployed_outputs
        self.failing = failing

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        if args.name in self.failing:
            raise ResourceFailureError(f"{args.typ} ({args.name}): failed, as the test asked")
        if args.typ == STACK_REFERENCE:  # the stack's own outputs from its last update
            return args.resource_id, {**args.inputs, "outputs": self.deployed_outputs, "secretOutputNames": []}
        if args.resource_id:  # a read: the object exists, as a cluster would answer
            return args.resource_id, {**args.inputs, "metadata": {"name": args.resource_id}}
        return f"{args.name}-id", args.inputs  # a create in a preview: what was asked for

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list[tuple[str, str]] | None]:
        raise NotImplementedError(f"the program makes no provider calls, yet called {args.token}")


class _RecordingMonitor(MockMonitor):
    """The SDK's mock monitor, answering registrations and reads as it does and recording what
    the plain mocks do not see. It answers them itself, without the SDK's way of serialising an
    answer (an event loop of its own in each thread it answers in, for a serialisation that
    never waits), and a create with the very properties it was sent: to the SDK it is the same
    answer, and at 2000 nodes a second of a run less."""

    def __init__(self, deployed_outputs: dict[str, Any], failing: frozenset[str] = frozenset()) -> None:
        self.answers = _Mocks(deployed_outputs, failing)
        super().__init__(self.answers)
        self.registrations: dict[str, Registration] = {}

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        if request.type == STACK_TYPE:  # the one registration the mocks are not asked about
            return super().RegisterResource(request)
        urn, id_, inputs, properties = self._answer(request, request.object, request.importId, request.custom)
        self._record(request, urn, inputs, protect=request.protect)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_ or "", object=properties)

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn, _, inputs, properties = self._answer(request, request.properties, request.id)
        self._record(request, urn, inputs, read_id=request.id)
        return resource_pb2.ReadResourceResponse(urn=urn, properties=properties)

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        if request.urn in self.registrations:
            self.registrations[request.urn].outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)

    def _answer(
        self, request: Any, sent: Any, resource_id: str, custom: bool | None = None
    ) -> tuple[str, str | None, dict[str, Any], Any]:
        """URN, ID, inputs and the properties to answer with, worked out as the SDK's mock
        monitor does, which also keeps each resource's ID and state."""
        inputs = rpc.deserialize_properties(sent)
        id_, state = self.answers.new_resource(
            pulumi.runtime.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs,
                provider=request.provider,
                resource_id=resource_id,
                custom=custom,
            )
        )
        urn = self.make_urn(request.parent, request.type, request.name)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_ or "", state)
        return urn, id_, inputs, sent if state is inputs else sdk.serialized_properties(state)

    def _record(
        self, request: Any, urn: str, inputs: dict[str, Any], read_id: str | None = None, protect: bool = False
    ) -> None:
        self.registrations[urn] = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            parent=request.parent,
            inputs=_whole_numbers(inputs),
            read_id=read_id,
            dependencies=sorted(request.dependencies),
            protect=protect,
        )


def _whole_numbers(value: Any) -> Any:
    """Protobuf carries every number as a double; the program registered whole numbers."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


class ProgramError(Exception):
    """The program stopped with an error; ``registered`` is what it had registered by then,
    ``outputs`` what it had exported, ``sent_outputs`` what the SDK sent as the stack's
    outputs (it sends them even when the program fails, once every exported value resolved;
    None when it never could), which the engine records over the last ones."""

    def __init__(
        self,
        cause: BaseException,
        registered: list[Registration],
        outputs: dict[str, Any],
        sent_outputs: dict[str, Any] | None = None,
    ):
        super().__init__(str(cause))
        self.cause = cause
        self.registered = registered
        self.outputs = outputs
        self.sent_outputs = sent_outputs


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def run_program(
    stack: StackConfig,
    deployed_outputs: dict[str, Any] | None = None,
    organization: str = FILE_BACKEND_ORGANIZATION,
    failing: frozenset[str] = frozenset(),
) -> Rendering:
    """Run ``__main__.py`` for one stack under mocks, as a preview. ``deployed_outputs`` are
    the outputs of the stack's last update as its self-reference reads them (none: never
    deployed); ``organization`` is what the backend reports (a local backend's by default);
    the resources named in ``failing`` fail as a failed create, update or read would.
    Each run gets a fresh context, so runs never see each other's config, root stack or
    resources."""
    with sdk.for_mock_runs(), collector_paused():
        return contextvars.Context().run(_run, stack, deployed_outputs or {}, organization, failing)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic cycle collection inside; the caller's collector as it was, after.

    A program's run keeps nearly every object the SDK makes for it until it ends, and so does
    ``render`` with what it makes after it (the chart's objects, the files of --out, with next
    to no cycles): the collector freed little, yet walked the growing heap again and again (a
    quarter of the CPU of a 2000-node run; at 10 000 nodes 4.5 s of writing --out). An explicit
    ``gc.collect`` (sdk.collect_quietly, at the start of every run) still collects.

    What was made inside goes to the oldest generation as it is (``gc.freeze`` then
    ``gc.unfreeze``), to be collected with it or by the next run: left counted as new, all of it
    was walked at the first allocation after (3 s at the end of a 10 000-node render)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _run(stack: StackConfig, deployed_outputs: dict[str, Any], organization: str, failing: frozenset[str]) -> Rendering:
    sdk.collect_quietly()  # what an earlier failed run left, before this run parses anything
    pulumi.runtime.set_all_config(dict(stack.values), sorted(stack.secret_keys))
    monitor = _RecordingMonitor(deployed_outputs, failing)
    warnings = _Warnings()
    # The SDK logs a debug line or more per registration: at its default level the logger
    # would make every one into a record, only for the handler to drop it.
    logger = logging.Logger("aisinfra.render", level=logging.WARNING)
    logger.addHandler(warnings)
    pulumi.runtime.set_mocks(
        monitor.mocks,
        project="aisinfra",
        stack=stack.name,
        preview=True,
        logger=logger,
        monitor=monitor,
        organization=organization,
    )

    def program() -> None:
        runpy.run_path(str(PROGRAM), run_name="__main__")  # as the CLI's language host runs it

    try:
        sdk.run_program_function(program)
    except Exception as error:
        registered = list(monitor.registrations.values())
        failure = ProgramError(error, registered, _stack_outputs(), _sent_outputs())
        # The frames of the error's traceback hold the run's failed futures: cleared, they are
        # collected now, not in the middle of a later run (sdk.settle_failed_run).
        traceback.clear_frames(error.__traceback__)
        sdk.settle_failed_run()
        raise failure from error
    resources = list(monitor.registrations.values())
    return Rendering(
        stack=stack.name, resources=_tree_order(resources), outputs=_stack_outputs(), warnings=warnings.messages
    )


def _stack_outputs() -> dict[str, Any]:
    root = get_root_resource()
    return {name: _resolve(value) for name, value in getattr(root, "outputs", {}).items()}


def _sent_outputs() -> dict[str, Any] | None:
    """What the SDK sends as the stack's outputs at the end of a run (the mock runtime sends
    none of the program's), which the engine records; None when it cannot send them."""
    root = get_root_resource()
    sent = sdk.sent_stack_outputs(getattr(root, "outputs", {}))
    return None if sent is None else _whole_numbers(rpc.deserialize_properties(sent))


NOT_RESOLVED = "(never resolved: the update failed)"


def _resolve(value: Any) -> Any:
    output = pulumi.Output.from_input(value)
    try:
        sdk.wait_for(output.future())
    except Exception:  # a resource it waits for failed: the run's error says which
        return NOT_RESOLVED
    if sdk.wait_for(output.is_secret()):
        return SECRET_PLACEHOLDER
    if not sdk.wait_for(output.is_known()):
        return "(known after pulumi up)"
    return sdk.wait_for(output.future())


def natural_order(text: str) -> list[Any]:
    """A sort key that puts cpu2 before cpu10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _tree_order(resources: list[Registration]) -> list[Registration]:
    """Depth first, as ``pulumi preview`` groups them: under each parent its components
    first, then reads, then resources, each group in natural name order (cpu2 before cpu10)."""
    children: dict[str, list[Registration]] = {}
    for resource in resources:
        children.setdefault(resource.parent, []).append(resource)
    known = {resource.urn for resource in resources}
    ordered: list[Registration] = []

    def visit(parent: str) -> None:
        group = sorted(
            children.get(parent, []),
            key=lambda r: (not r.is_component, r.read_id is None, natural_order(r.name)),
        )
        for resource in group:
            ordered.append(resource)
            visit(resource.urn)

    for top in sorted({r.parent for r in resources if r.parent not in known}):
        visit(top)
    return ordered


# --- what render shows and writes -----------------------------------------------------------


def reveal_secrets_as_placeholder(value: Any) -> Any:
    if rpc.is_rpc_secret(value):
        return SECRET_PLACEHOLDER
    if isinstance(value, dict):
        return {key: reveal_secrets_as_placeholder(item) for key, item in value.items()}
    if isinstance(value, list):
        return [reveal_secrets_as_placeholder(item) for item in value]
    return value


def tree_text(rendering: Rendering) -> str:
    """The resource tree as ``pulumi preview`` groups it. A run of like resources (same place,
    kind, verb and protection) whose names differ only by node is one line, its names as a
    worksheet pattern and its count: ``create NodePatch  aistore-targets-cpu{0001..2000}  (2000)``.
    ``resources.yaml`` (``--out``) lists every resource."""
    depth = {resource.urn: 0 for resource in rendering.resources}
    rows: list[tuple[str, str, str]] = []  # per resource: the line up to its name, its name, its flags
    for resource in rendering.resources:
        depth[resource.urn] = depth.get(resource.parent, 0) + 1
        verb = "read" if resource.read_id is not None else "create"
        flags = "  [protected]" if resource.protect else ""
        rows.append((f"{'    ' * depth[resource.urn]}{verb:<6} {resource.type}  ", resource.name, flags))
    lines = [f"{STACK_TYPE}  aisinfra-{rendering.stack}"]
    for (head, flag), run in groupby(rows, key=lambda row: (row[0], row[2])):
        for pattern in compress([name for _, name, _ in run]):
            count = len(expand(pattern))
            lines.append(f"{head}{pattern}{flag}" + (f"  ({count})" if count > 1 else ""))
    return "\n".join(lines)


def labels_table(rendering: Rendering) -> str:
    """Each node's labels; a run of nodes with the same labels is one row (``cpu{0002..2000}``)."""
    rows: list[tuple[str, ...]] = [("NODE", *LABEL_COLUMNS)]
    for values, run in groupby(
        rendering.node_labels().items(), key=lambda item: tuple(item[1].get(key, "-") for key in LABEL_COLUMNS)
    ):
        rows += [(pattern, *values) for pattern in compress([node for node, _ in run])]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)).rstrip() for row in rows
    )


def values_text(rendering: Rendering) -> str:
    """The Release's values, one ``key: value`` line per value this program sets (the chart's
    own defaults do the rest), lists of names as worksheet patterns."""
    values = reveal_secrets_as_placeholder(rendering.release().inputs.get("values", {}))
    return "\n".join(
        f"{key}: {_rules_shown(value) if key.startswith(ALERTING_RULES_KEY) else _shown(value)}"
        for key, value in _leaves(values)
    )


# The prometheus subchart's alerting rules: shown by name (values.yaml with --out has them whole).
ALERTING_RULES_KEY = "prometheus.serverFiles.alerting_rules.yml"


def _rules_shown(groups: Any) -> str:
    if not isinstance(groups, list):
        return _shown(groups)
    return (
        "; ".join(
            f"group {group.get('name')}: {', '.join(str(rule.get('alert')) for rule in group.get('rules', []))}"
            for group in groups
            if isinstance(group, dict)
        )
        + "  (the rules whole: values.yaml with --out)"
    )


def _leaves(value: Any, prefix: str = "") -> list[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        return [leaf for key, item in sorted(value.items()) for leaf in _leaves(item, f"{prefix}{key}.")]
    return [(prefix.removesuffix("."), value)]


def _shown(value: Any) -> str:
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return f"{', '.join(compress(value))}  (a list of {len(value)})"
    return json.dumps(value, sort_keys=True)


def preflight_line(rendering: Rendering) -> str:
    status = rendering.outputs.get("preflight")
    if not isinstance(status, dict):
        return f"Preflight: {status}"
    return (
        f"Preflight: {status['jobs']} Jobs, one per target node, image {status['image']} "
        f"(kubectl -n {rendering.outputs['namespace']} get jobs -l {status['selector']})"
    )


DASHBOARDS_DIR = "dashboards"


def monitoring_text(rendering: Rendering) -> str:
    """Which dashboards the cluster's Grafana loads and which alert rule groups its Prometheus has."""
    configmaps = [
        resource
        for resource in rendering.of_type("kubernetes:core/v1:ConfigMap")
        if DASHBOARD_LABEL in (resource.inputs.get("metadata", {}).get("labels") or {})
    ]
    lines = []
    for resource in configmaps:
        metadata = resource.inputs["metadata"]
        [text] = resource.inputs["data"].values()
        lines.append(f"  {json.loads(text)['title']}  (ConfigMap {metadata['namespace']}/{metadata['name']})")
    if not lines:
        lines.append(
            f"  none loaded: monitoring is off; `render --out DIR` writes them to DIR/{DASHBOARDS_DIR}/ to import "
            "into your Grafana (docs/monitoring.md)"
        )
    values = rendering.release().inputs.get("values", {})
    rules = values.get("prometheus", {}).get("serverFiles", {}).get("alerting_rules.yml", {})
    groups = [
        f"  {group['name']}: {', '.join(rule['alert'] for rule in group['rules'])}" for group in rules.get("groups", [])
    ]
    return (
        "Dashboards (Grafana):\n"
        + "\n".join(lines)
        + "\nAlert rule groups (Prometheus):\n"
        + ("\n".join(groups) or "  none: the chart runs no Prometheus with monitoring off")
    )


def write_dashboards(files: list[DashboardFile], directory: Path) -> list[Path]:
    """Each dashboard as a JSON file to import into a Grafana."""
    folder = directory / DASHBOARDS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for dashboard in files:
        path = folder / dashboard.file_name
        path.write_text(dashboard.text)
        written.append(path)
    return written


def summary_text(rendering: Rendering) -> str:
    outputs = {
        name: compress(value) if isinstance(value, list) and all(isinstance(item, str) for item in value) else value
        for name, value in rendering.outputs.items()
    }
    warnings = "".join(f"warning: {message}\n" for message in rendering.warnings)
    if warnings:
        warnings = f"Warnings, as `pulumi preview` shows them:\n{warnings}\n"
    return (
        f"{tree_text(rendering)}\n\n{warnings}"
        f"Node labels:\n{labels_table(rendering)}\n\n{preflight_line(rendering)}\n\n"
        f"Release values (set by this program; the chart's defaults do the rest):\n{values_text(rendering)}\n\n"
        f"{monitoring_text(rendering)}\n\n"
        "Stack outputs (lists of names as patterns; outputs.yaml with --out lists each):\n"
        f"{yaml.safe_dump(outputs, sort_keys=True, default_flow_style=False)}"
    )


def release_document(rendering: Rendering) -> dict[str, Any]:
    inputs = rendering.release().inputs
    keys = (
        "name",
        "namespace",
        "chart",
        "version",
        "repositoryOpts",
        "dependencyUpdate",
        "postrender",
        "description",
        "timeout",
        "atomic",
    )
    return {key: inputs[key] for key in keys if key in inputs}


def chart_problems(rendering: Rendering) -> list[str]:
    """What stops the rendered Release's local chart from installing as it is checked out here."""
    inputs = rendering.release().inputs
    if "repositoryOpts" in inputs:
        return []
    return missing_subchart_problems(inputs["chart"], inputs.get("dependencyUpdate", False), PROJECT_DIR)


def manifest_documents(rendering: Rendering) -> list[dict[str, Any]]:
    """The objects the program itself applies (the chart's own objects come from Helm)."""
    documents: list[dict[str, Any]] = []
    for resource in rendering.of_type("kubernetes:core/v1:Namespace"):
        documents.append({"apiVersion": "v1", "kind": "Namespace", **resource.inputs})
    for node, labels in rendering.node_labels().items():
        documents.append({"apiVersion": "v1", "kind": "Node", "metadata": {"name": node, "labels": labels}})
    for type_, api_version, kind in APPLIED_AS_IS:
        for resource in rendering.of_type(type_):
            inputs = {key: value for key, value in resource.inputs.items() if key not in ("apiVersion", "kind")}
            documents.append({"apiVersion": api_version, "kind": kind, **inputs})
    return documents


def resource_documents(rendering: Rendering) -> list[dict[str, Any]]:
    """Every registration in tree order, with parents and dependencies by name, the way
    ``render --diff`` compares two renders."""
    names = {resource.urn: resource.name for resource in rendering.resources}
    documents = []
    for resource in rendering.resources:
        document: dict[str, Any] = {"type": resource.type, "name": resource.name}
        document["parent"] = names.get(resource.parent, "(stack)")
        if resource.read_id is not None:
            document["reads"] = resource.read_id
        document["protect"] = resource.protect
        document["dependsOn"] = sorted(names[urn] for urn in resource.dependencies if urn in names)
        document["inputs"] = reveal_secrets_as_placeholder(resource.inputs)
        documents.append(document)
    return documents


def write_outputs(rendering: Rendering, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "values.yaml": reveal_secrets_as_placeholder(rendering.release().inputs.get("values", {})),
        "release.yaml": release_document(rendering),
        RESOURCES_FILE: resource_documents(rendering),
        OUTPUTS_FILE: rendering.outputs,
    }
    written = []
    for name, document in files.items():
        path = directory / name
        path.write_text(yaml_out.dump(document))
        written.append(path)
    manifests = directory / "manifests.yaml"
    manifests.write_text(yaml_out.dump_all(manifest_documents(rendering)))
    written.append(manifests)
    return written
