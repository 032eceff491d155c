"""What the chart makes of a worksheet, checked before anything is registered.

The worksheet model (``aisinfra.worksheet.model``) knows the worksheet's own rules; the
names, labels and values the chart derives from it are checked here, with the chart's
naming rules, so the worksheet layer never needs the chart's. ``load_worksheet`` runs both
and is what every caller -- the program, ``check``, ``init``, ``render`` -- uses.
"""

from __future__ import annotations

import posixpath
from typing import Any

from aisinfra.chart import naming
from aisinfra.chart.values import override_conflicts
from aisinfra.worksheet import k8s
from aisinfra.worksheet.model import Worksheet, WorksheetError, decoded, parse_worksheet
from aisinfra.worksheet.patterns import PatternError, expand


def load_worksheet(config: dict[str, Any], secret_keys: frozenset[str] = frozenset()) -> Worksheet:
    """Stack config (``aisinfra:`` keys without the namespace, values as the CLI hands them
    over) as a Worksheet that both the worksheet's and the chart's rules accept; otherwise
    ``WorksheetError`` with every mistake found."""
    raw = decoded(config)
    problems = release_name_problems(raw.get("releaseName")) + mountpoint_problems(raw.get("targets"))
    try:
        worksheet = parse_worksheet(raw, secret_keys)
    except WorksheetError as error:
        # Overrides are judged on the computed values, which need the whole worksheet.
        overrides = isinstance(raw.get("chart"), dict) and bool(raw["chart"].get("values"))
        waiting = [*error.waiting, "chart.values"] if overrides else error.waiting
        raise WorksheetError([*error.problems, *problems], waiting) from None
    problems += _override_problems(worksheet)
    if problems:
        raise WorksheetError(problems)
    return worksheet


def release_name_problems(release_name: Any) -> list[str]:
    """Names the chart derives from the release name must be valid Kubernetes names."""
    if not isinstance(release_name, str):
        return []  # the model reports it
    proxy_label = naming.proxy_label_value(release_name)
    if len(proxy_label) > k8s.MAX_LABEL_VALUE:
        return [
            f"releaseName: '{release_name}' makes the proxy node label '{proxy_label}' longer than "
            f"{k8s.MAX_LABEL_VALUE} characters; choose a shorter release name"
        ]
    return []


def mountpoint_problems(targets: Any) -> list[str]:
    """The chart names a hostPath volume after each mountpoint: each name must be a DNS
    label, and no two mountpoints may make the same one."""
    patterns = targets.get("mountpoints") if isinstance(targets, dict) else None
    if not isinstance(patterns, list):
        return []  # the model reports it
    problems: list[str] = []
    first_seen: dict[str, tuple[str, int]] = {}
    for index, pattern in enumerate(patterns):
        try:
            paths = dict.fromkeys(expand(pattern)) if isinstance(pattern, str) else {}
        except PatternError:
            continue  # the model reports it
        for path in paths:
            if not path.startswith("/") or posixpath.normpath(path) != path:
                continue  # the model reports it
            volume = naming.mountpoint_volume_name(path)
            if not k8s.DNS_LABEL.fullmatch(volume):
                origin = f"the mountpoint '{path}' from pattern '{pattern}': " if path != pattern else ""
                problems.append(
                    f"targets.mountpoints[{index}]: {origin}'{path}' would make the chart's volume name '{volume}', "
                    "which Kubernetes refuses: a mountpoint may use only lowercase letters, digits, '-' and '/', "
                    f"and at most {k8s.MAX_LABEL_VALUE - len(naming.mountpoint_volume_name(''))} characters"
                )
                break  # one line per pattern: the rest of it breaks the same way
            other = first_seen.setdefault(volume, (path, index))
            if other[0] != path:
                problems.append(
                    f"targets.mountpoints[{index}]: '{path}' and '{other[0]}' (targets.mountpoints[{other[1]}]) "
                    f"both make the chart's volume name '{volume}'; rename one mount point"
                )
    return problems


def _override_problems(worksheet: Worksheet) -> list[str]:
    problems = [
        f"chart.values.{key}: not supported; node labels and names derive from releaseName, "
        "so change the release name instead"
        for key in sorted(set(worksheet.chart.values) & {"fullnameOverride", "nameOverride"})
    ]
    # Override conflicts are judged on computed values, which need a consistent worksheet.
    return problems or override_conflicts(worksheet)
