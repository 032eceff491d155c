"""``check``: every stack on its own, then what no single stack can see.

Each stack is validated with the same model as the program. Then stacks that deploy into
the same Kubernetes cluster (the same ``kubernetes:context``) must not share a release
name (host state directories and label values derive from it), a namespace, a target
node or a proxy node (a node carries one value per label key), or a PersistentVolume name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import combinations

from aisinfra.chart.rules import load_worksheet
from aisinfra.chart.values import monitoring_volumes
from aisinfra.worksheet.model import Worksheet, WorksheetError
from aisinfra.worksheet.stackfile import StackConfig

DEFAULT_CONTEXT = "(current kubectl context)"


@dataclass(frozen=True)
class CheckedStack:
    file: str
    context: str
    worksheet: Worksheet


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


def check_stacks(stacks: list[StackConfig]) -> list[str]:
    """One line per problem; none when every stack is valid and no two collide."""
    problems: list[str] = []
    checked: list[CheckedStack] = []
    for stack in stacks:
        file = stack.path.name
        try:
            worksheet = load_worksheet(stack.project_values(), stack.project_secret_keys())
        except WorksheetError as error:
            problems += [f"{file}: {problem}" for problem in error.problems]
            continue
        context = stack.values.get("kubernetes:context", DEFAULT_CONTEXT)
        checked.append(CheckedStack(file=file, context=context, worksheet=worksheet))
    for first, second in combinations(checked, 2):
        if first.context == second.context:
            problems += _collisions(first, second)
    return problems


def _collisions(first: CheckedStack, second: CheckedStack) -> list[str]:
    problems = []
    for key, what, values_of in SHARED_RULES:
        shared = [
            value for value in dict.fromkeys(values_of(first.worksheet)) if value in set(values_of(second.worksheet))
        ]
        problems += [
            f"{first.file} and {second.file}: {key}: both use the {what} '{value}' "
            f"in Kubernetes context {first.context}"
            for value in shared
        ]
    return problems
