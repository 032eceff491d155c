"""``check``: every stack on its own, then what no single stack can see.

Each stack is validated with the same model as the program. Then stacks that deploy into
the same Kubernetes cluster (the same ``kubernetes:context``) must not share a release
name (host state directories derive from it) or the chart fullname it makes (node label
values derive from that: ``demo`` and ``demo-ais`` make the same), a namespace, a node in any
AIStore role (a node carries one value per label key, ``aisinfra/cluster`` among them), a
PersistentVolume name, or a host directory on one node (a monitoring path, a mountpoint, the
state tree; nor one inside another).
A stack that names no context runs in whatever context is current when ``pulumi`` runs, so
it is compared with every other stack, and each clash says which context it assumed.
Finally every valid stack whose chart is here is rendered and its objects checked
(``object_checks``), and no two stacks that can share a cluster may create the same
cluster-scoped object.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

from aisinfra.chart import naming
from aisinfra.chart.dependencies import missing_subchart_problems
from aisinfra.chart.values import monitoring_volumes
from aisinfra.program.config import judged_worksheet
from aisinfra.review import object_checks
from aisinfra.review.chart_render import ChartRenderError, ChartUnavailableError
from aisinfra.review.render import ProgramError
from aisinfra.worksheet.model import Worksheet, WorksheetError, path_relation
from aisinfra.worksheet.patterns import compress
from aisinfra.worksheet.stackfile import PROJECT_DIR, StackConfig

CONTEXT_KEY = "kubernetes:context"


@dataclass(frozen=True)
class CheckedStack:
    file: str
    context: str | None  # None: the stack names no kubernetes:context
    worksheet: Worksheet


@dataclass(frozen=True)
class CheckReport:
    problems: list[str]  # one line per problem
    notes: list[str]  # what was not checked yet, and why
    unreviewed: list[str] = field(default_factory=list)  # stack files whose chart objects were not checked


# What two stacks in one Kubernetes cluster must not share: (key, what, values of a stack).
SHARED_RULES: list[tuple[str, str, Callable[[Worksheet], Iterable[str]]]] = [
    ("releaseName", "release name", lambda worksheet: [worksheet.release_name]),
    ("namespace", "namespace", lambda worksheet: [worksheet.namespace]),
    ("targets.nodes", "target node", lambda worksheet: worksheet.target_nodes),
    ("proxies.nodes", "proxy node", lambda worksheet: worksheet.proxy_nodes),
    (
        "monitoring",
        "PersistentVolume name",
        lambda worksheet: [volume.volume_name for volume in monitoring_volumes(worksheet)],
    ),
]


def judged(stack: StackConfig) -> Worksheet | WorksheetError:
    """The stack's worksheet, or every problem the program would refuse it for before it
    registers anything, as the program judges it (``judged_worksheet``)."""
    try:
        return judged_worksheet(stack.values, stack.project_secret_keys(), os.environ)
    except WorksheetError as error:
        return error


def check_stacks(stacks: list[StackConfig]) -> CheckReport:
    """Every stack's own problems, then the clashes between every two stacks that can share a
    Kubernetes cluster; no problems when every stack is valid and no two collide."""
    problems: list[str] = []
    notes: list[str] = []
    checked: list[CheckedStack] = []
    for stack in stacks:
        file = stack.path.name
        worksheet = judged(stack)
        if isinstance(worksheet, WorksheetError):
            error = worksheet
            problems += [f"{file}: {problem}" for problem in error.problems]
            notes += [f"{file}: {error.waiting_note}"] if error.waiting_note else []
            if len(stacks) > 1:
                notes.append(f"{file}: compared with the other stacks once its problems are fixed")
            continue
        if worksheet.chart.path is not None:
            subcharts = missing_subchart_problems(worksheet.chart.path, worksheet.chart.dependency_update, PROJECT_DIR)
            problems += [f"{file}: {problem}" for problem in subcharts]
        checked.append(CheckedStack(file=file, context=stack.values.get(CONTEXT_KEY), worksheet=worksheet))
    for first, second in combinations(checked, 2):
        where = _shared_cluster(first.file, first.context, second.file, second.context)
        if where is not None:
            problems += _collisions(first, second, where)
    return CheckReport(problems=problems, notes=notes)


def _shared_cluster(first: str, first_context: str | None, second: str, second_context: str | None) -> str | None:
    """How two stacks (files and contexts) can land in one cluster, said as the clash's
    condition; None if they name different contexts."""
    if first_context is None and second_context is None:
        return f"if both run in the same kubectl context (neither names {CONTEXT_KEY})"
    if first_context is None or second_context is None:
        unnamed, named = (first, second_context) if first_context is None else (second, first_context)
        return f"if {unnamed} runs in context {named} (it names no {CONTEXT_KEY})"
    return f"in Kubernetes context {first_context}" if first_context == second_context else None


def _collisions(first: CheckedStack, second: CheckedStack, where: str) -> list[str]:
    """One line per kind of clash; many shared nodes as ranges (``cpu{01..12}``)."""
    problems = []
    for key, what, values_of in SHARED_RULES:
        theirs = set(values_of(second.worksheet))
        shared = [value for value in dict.fromkeys(values_of(first.worksheet)) if value in theirs]
        if len(shared) == 1:
            problems.append(f"{first.file} and {second.file}: {key}: both use the {what} '{shared[0]}' {where}")
        elif shared:
            problems.append(
                f"{first.file} and {second.file}: {key}: both use {len(shared)} {what}s, "
                f"{', '.join(compress(shared))}, {where}"
            )
    return problems + _identity_collisions(first, second, where) + _host_path_collisions(first, second, where)


def _identity_collisions(first: CheckedStack, second: CheckedStack, where: str) -> list[str]:
    """Two releases whose names differ but make one fullname, whose nodes would carry the same
    chart labels; and nodes the two use in different AIStore roles (same roles are reported by
    ``SHARED_RULES``), which would carry two values of ``aisinfra/cluster``."""
    problems = []
    releases = (first.worksheet.release_name, second.worksheet.release_name)
    fullname = naming.fullname(releases[0])
    if releases[0] != releases[1] and fullname == naming.fullname(releases[1]):
        problems.append(
            f"{first.file} and {second.file}: releaseName: '{releases[0]}' and '{releases[1]}' both make the chart "
            f"fullname '{fullname}', the value of their nodes' {naming.TARGET_LABEL_KEY} and "
            f"{naming.PROXY_LABEL_KEY} labels, {where}; give one of them a release name that makes another fullname"
        )
    ours, theirs = _roles_by_node(first.worksheet), _roles_by_node(second.worksheet)
    crossed = [node for node, roles in ours.items() if node in theirs and not roles & theirs[node]]
    if crossed:
        nodes = (
            f"the node '{crossed[0]}'"
            if len(crossed) == 1
            else f"{len(crossed)} nodes, {', '.join(compress(crossed))},"
        )
        problems.append(
            f"{first.file} and {second.file}: targets.nodes, proxies.nodes: both use {nodes} in different roles "
            f"{where}; a node serves one AIStore cluster (it carries one {naming.CLUSTER_LABEL_KEY} label)"
        )
    return problems


def _roles_by_node(worksheet: Worksheet) -> dict[str, set[str]]:
    roles: dict[str, set[str]] = {}
    for role, nodes in (("target", worksheet.target_nodes), ("proxy", worksheet.proxy_nodes)):
        for node in nodes:
            roles.setdefault(node, set()).add(role)
    return roles


@dataclass(frozen=True)
class HostPath:
    """A directory a stack uses on some nodes: its key as written, the path, and the nodes."""

    key: str
    path: str
    nodes: frozenset[str]
    mountpoint: bool = False


def host_paths(worksheet: Worksheet) -> list[HostPath]:
    """Every host directory a stack writes to: monitoring volumes, target mountpoints, and the
    release's state tree on every AIStore node."""
    paths = [
        HostPath(f"monitoring.{volume.service}.path", volume.path, frozenset({volume.node}))
        for volume in monitoring_volumes(worksheet)
    ]
    targets = frozenset(worksheet.target_nodes)
    paths += [HostPath("targets.mountpoints", path, targets, mountpoint=True) for path in worksheet.mountpoints]
    state = f"{worksheet.state_path}/{worksheet.release_name}"
    paths.append(HostPath("statePath", state, targets | frozenset(worksheet.proxy_nodes)))
    return paths


def _host_path_collisions(first: CheckedStack, second: CheckedStack, where: str) -> list[str]:
    """Two stacks writing into one directory (or one inside the other) on one node. Two stacks'
    mountpoints only meet on a shared target node, and their state trees only coincide with a
    shared release name, each of which is reported as such."""
    problems = []
    their_paths = host_paths(second.worksheet)
    one_release = first.worksheet.release_name == second.worksheet.release_name
    for mine in host_paths(first.worksheet):
        for theirs in their_paths:
            if mine.mountpoint and theirs.mountpoint:
                continue
            if one_release and mine.key == theirs.key == "statePath":
                continue  # one release name: reported as such, since the state tree is named after it
            relation = path_relation(mine.path, theirs.path)
            nodes = sorted(mine.nodes & theirs.nodes) if relation else []
            if nodes:
                on = f"node '{nodes[0]}'" if len(nodes) == 1 else f"nodes {', '.join(compress(nodes))}"
                problems.append(
                    f"{first.file} and {second.file}: {mine.key}: '{mine.path}' {relation} {second.file}'s "
                    f"{theirs.key} '{theirs.path}' on {on}, {where}; give each stack directories of its own"
                )
    return problems


def check_rendered_stacks(stacks: list[StackConfig], chart_dir: Path | None = None) -> CheckReport:
    """Each valid stack's chart (or ``chart_dir``) rendered and every object checked, then the
    cluster-scoped objects two stacks that can share a cluster would both create. A stack whose
    chart is not here gets a note saying how to get it; an invalid one is left to ``check_stacks``,
    which reports its problems."""
    problems: list[str] = []
    notes: list[str] = []
    unreviewed: list[str] = []
    deployments = []
    for stack in stacks:
        file = stack.path.name
        if isinstance(judged(stack), WorksheetError):
            continue  # check_stacks reports its problems, once
        try:
            deployment = object_checks.deployment_of(stack, chart_dir)
        except ChartUnavailableError as error:
            notes.append(f"{file}: objects not rendered: {error}")
            unreviewed.append(file)
            continue
        except (ProgramError, ChartRenderError) as error:
            problems.append(f"{file}: {error}")
            continue
        problems += [f"{file}: {problem}" for problem in object_checks.deployment_problems(deployment)]
        deployments.append((deployment, stack.values.get(CONTEXT_KEY)))
    for (first, first_context), (second, second_context) in combinations(deployments, 2):
        where = _shared_cluster(first.stack, first_context, second.stack, second_context)
        if where is not None:
            problems += [str(problem) for problem in object_checks.cluster_scoped_collisions(first, second, where)]
    return CheckReport(problems=problems, notes=notes, unreviewed=unreviewed)
