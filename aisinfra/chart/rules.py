"""What the chart makes of a worksheet, checked before anything is registered.

The worksheet model (``aisinfra.worksheet.model``) knows the worksheet's own rules; the
names, labels and values the chart derives from it are checked here, with the chart's
naming rules, so the worksheet layer never needs the chart's. ``load_worksheet`` runs both
and is what every caller -- the program, ``check``, ``init``, ``render`` -- uses.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Iterator
from typing import Any

from aisinfra.chart import naming
from aisinfra.chart.values import MONITORING_SERVICES, chart_source, monitoring_claims, override_conflicts
from aisinfra.worksheet import k8s
from aisinfra.worksheet.model import (
    Worksheet,
    WorksheetError,
    decoded,
    parse_worksheet,
    stale_identity_acknowledgements,
)
from aisinfra.worksheet.patterns import PatternError, expand
from aisinfra.worksheet.stackfile import misplaced_keys


def load_worksheet(
    config: dict[str, Any], secret_keys: frozenset[str] = frozenset(), other_keys: Iterable[str] = ()
) -> Worksheet:
    """Stack config (``aisinfra:`` keys without the namespace, values as the CLI hands them
    over) as a Worksheet that both the worksheet's and the chart's rules accept; otherwise
    ``WorksheetError`` with every mistake found. ``other_keys`` are the stack's keys in other
    namespaces, where a near miss of ``aisinfra:`` is a mistake too."""
    raw = decoded(config)
    problems = misplaced_keys(other_keys)
    problems += release_name_problems(raw.get("releaseName")) + mountpoint_problems(raw.get("targets"))
    problems += monitoring_name_problems(raw.get("releaseName"), raw.get("monitoring"))
    claim_problems, claims_waiting = _claim_problems(raw.get("releaseName"), raw.get("monitoring"))
    problems += claim_problems
    chart = raw.get("chart")
    if isinstance(chart, dict) and isinstance(chart.get("values"), dict):
        # A credential stored with --secret is reported as a misplaced secret, once.
        problems += chart_values_problems(chart["values"], credentials="chart" not in secret_keys)
    try:
        worksheet = parse_worksheet(raw, secret_keys)
    except WorksheetError as error:
        # Overrides are judged on the computed values, and claims against the claims the program
        # creates: both need the whole worksheet.
        overrides = isinstance(raw.get("chart"), dict) and bool(raw["chart"].get("values"))
        waiting = [*error.waiting, "chart.values"] if overrides else list(error.waiting)
        if claims_waiting:
            waiting.append("releaseName")
        raise WorksheetError([*error.problems, *problems], waiting) from None
    problems += stale_identity_acknowledgements(worksheet.identity_change, {"chart": chart_source(worksheet).identity})
    problems += _override_problems(worksheet)
    if problems:
        raise WorksheetError(problems)
    return worksheet


# A StatefulSet's pods carry the label controller-revision-hash=<StatefulSet name>-<hash of up to
# 10 characters>, and a label value is at most 63 characters: past 52, no pod can be created
# (kubernetes#64023).
MAX_STATEFULSET_NAME = k8s.MAX_LABEL_VALUE - len("-") - 10
_STATEFULSET_LIMIT = (
    f"past {MAX_STATEFULSET_NAME} characters Kubernetes cannot create its pods: their controller-revision-hash "
    f"label would exceed {k8s.MAX_LABEL_VALUE} characters (kubernetes#64023)"
)
_LABEL_LIMIT = f"a label value is at most {k8s.MAX_LABEL_VALUE} characters"
_SERVICE_LIMIT = (
    f"a Service name is at most {k8s.MAX_LABEL_VALUE} characters, and the chart writes this one out in full"
)


def release_name_problems(release_name: Any) -> list[str]:
    """Names the chart derives from the release name must be valid Kubernetes names."""
    if not isinstance(release_name, str) or not k8s.DNS_LABEL.fullmatch(release_name):
        return []  # the model reports it
    problems = []
    if not release_name[0].isalpha():
        problems.append(
            f"releaseName: '{release_name}' starts with a digit, but the chart names its Services after it "
            f"('{naming.service_names(release_name)[0]}') and a Service name must start with a letter; "
            "choose a release name that starts with a letter"
        )
    return problems + _length_problems(release_name, _named_objects(release_name, monitoring=False))


def _named_objects(release_name: str, monitoring: bool, prometheus: bool = False) -> list[tuple[str, str, int, str]]:
    """(what, name, limit, why) for each name the chart builds from the release name whose
    length Kubernetes limits below what the release name itself may have."""
    statefulsets = naming.statefulset_names(release_name, monitoring)
    objects = [
        (f"the {what} StatefulSet", name, MAX_STATEFULSET_NAME, _STATEFULSET_LIMIT)
        for what, name in statefulsets.items()
    ]
    objects.append(("the proxy node label", naming.proxy_label_value(release_name), k8s.MAX_LABEL_VALUE, _LABEL_LIMIT))
    if monitoring:
        objects.append(
            ("Graphite's address", naming.graphite_address(release_name), k8s.MAX_LABEL_VALUE, _SERVICE_LIMIT)
        )
    if prometheus:
        address = naming.prometheus_server_address(release_name)
        objects.append(("Prometheus' address", address, k8s.MAX_LABEL_VALUE, _SERVICE_LIMIT))
    return objects


def _length_problems(release_name: str, objects: list[tuple[str, str, int, str]]) -> list[str]:
    """One line for the name that needs the release name shortened most."""
    too_long = [(len(name) - limit, what, name, why) for what, name, limit, why in objects if len(name) > limit]
    if not too_long:
        return []
    excess, what, name, why = max(too_long, key=lambda item: item[0])
    return [
        f"releaseName: '{release_name}' makes {what} '{name}' ({len(name)} characters); {why}: shorten the "
        f"release name by {excess} character{'s' if excess > 1 else ''}"
    ]


def monitoring_name_problems(release_name: Any, monitoring: Any) -> list[str]:
    """The monitoring subcharts' names, and the addresses the chart writes out for them."""
    if not isinstance(release_name, str) or not k8s.DNS_LABEL.fullmatch(release_name):
        return []  # the model reports it
    enabled = _flag(monitoring, "enabled", default=True)
    prometheus = _flag(monitoring, "prometheus", default=enabled)
    if not enabled:
        return []
    problems = []
    # A release name that is too long even without monitoring is reported once, by release_name_problems.
    if not _length_problems(release_name, _named_objects(release_name, monitoring=False)):
        problems += _length_problems(release_name, _named_objects(release_name, monitoring=True, prometheus=prometheus))
    addresses = [("Graphite", naming.graphite_fullname, naming.graphite_address, "graphite")]
    if prometheus:
        addresses.append(
            ("Prometheus", naming.prometheus_server_fullname, naming.prometheus_server_address, "prometheus")
        )
    for service, actual_name, address, word in addresses:
        if word in release_name:
            problems.append(
                f"releaseName: '{release_name}' makes the chart name {service}'s Service '{actual_name(release_name)}' "
                f"while it sends to '{address(release_name)}', so {service} would get no data; choose a release "
                f"name without '{word}' in it"
            )
    return problems


def _flag(section: Any, key: str, default: bool) -> bool:
    """A boolean of a section as the model will read it; a value it refuses, or none, counts as the default."""
    value = section.get(key) if isinstance(section, dict) else None
    if isinstance(value, str) and value in ("true", "True", "false", "False"):
        return value.lower() == "true"
    return value if isinstance(value, bool) else default


def _claim_problems(release_name: Any, monitoring: Any) -> tuple[list[str], bool]:
    """An existing claim must not be the claim the program creates for the other service;
    and whether the check waits for a valid release name (which names the created claims)."""
    storages = (
        {service: monitoring.get(service) for service in MONITORING_SERVICES} if isinstance(monitoring, dict) else {}
    )
    existing = {
        service: storage["existingClaim"]
        for service, storage in storages.items()
        if isinstance(storage, dict) and isinstance(storage.get("existingClaim"), str)
    }
    if not existing:
        return [], False
    if not isinstance(release_name, str) or not k8s.DNS_LABEL.fullmatch(release_name):
        return [], True
    created = {
        naming.monitoring_claim_name(release_name, service): service
        for service, storage in storages.items()
        if isinstance(storage, dict) and service not in existing
    }
    problems = [
        f"monitoring.{service}.existingClaim: '{claim}' is the claim this program creates for "
        f"monitoring.{created[claim]}; both would write into one volume: give {service} a claim of its own"
        for service, claim in existing.items()
        if claim in created
    ]
    return problems, False


# Credentials by the words their keys use; a key that names where a credential is kept (a Secret's
# name, a key inside a Secret, a file) is no credential itself.
_CREDENTIAL_WORDS = re.compile(r"password|passwd|secret|token|credential|api_?key|private_?key|access_?key")
_REFERENCE_KEY = re.compile(r"existing.*|.*(name|names|ref|file|path|fromsecret)|passwordkey|tokenkey|userkey")
# Credentials by their shape, whatever the key: a URL with a password in it, and tokens whose
# form their issuers publish so that scanners can find them.
_CREDENTIAL_SHAPES = [
    (re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*:[^/?#@\s]+@"), "a URL with a password in it (user:password@)"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"), "a private key"),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "an AWS access key"),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})"), "a GitHub token"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token"),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "a Google API key"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), "a JSON Web Token"),
]
# Keys that give a pod the node itself. The chart's own pods that need it get it from the chart's
# templates and the worksheet (the targets' mountpoints and state directories); of these keys,
# only node-exporter's own defaults may be written again.
_HOST_ACCESS = {
    "hostpath": "a directory of the node (hostPath)",
    "hostnetwork": "the node's network (hostNetwork)",
    "hostpid": "the node's processes (hostPID)",
    "hostipc": "the node's shared memory (hostIPC)",
    "privileged": "every device of the node (privileged)",
}
HOST_ACCESS_ALLOWED = frozenset(
    {"chart.values.prometheus.nodeExporter.hostNetwork", "chart.values.prometheus.nodeExporter.hostPID"}
)


def chart_values_problems(values: Any, prefix: str = "chart.values.", credentials: bool = True) -> list[str]:
    """``chart.values`` keys that would make pods select node labels the program never sets, give
    a pod the node itself, or hold credentials in plain text (by key, by an env var's name, or by
    the value's shape)."""
    problems = []
    for key, value, path in _children(values, prefix):
        lowered = str(key).lower()
        if isinstance(values, dict) and (lowered in ("nodeselector", "nodeaffinity") or path in _NODE_LABEL_KEYS):
            problems.append(
                f"{path}: would make pods select node labels this program never sets, so they would never be "
                "scheduled; remove it: the worksheet's node lists (targets.nodes, proxies.nodes, "
                "monitoring.*.node) place the pods"
            )
        elif path == "chart.values.admin.enabled" and value is not False:
            problems.append(
                f"{path}: the chart's admin DaemonSet runs only on nodes labelled nvidia.com/ais-admin, which "
                "this program never sets; remove it"
            )
        elif isinstance(values, dict) and lowered in _HOST_ACCESS and value and path not in HOST_ACCESS_ALLOWED:
            problems.append(
                f"{path}: gives a pod {_HOST_ACCESS[lowered]}; remove it: the chart's own pods get what they need "
                "of the node from the worksheet (targets.mountpoints, statePath), no other pod may have it"
            )
        elif isinstance(value, dict | list):
            problems += _env_credential_problems(value, path) if credentials else []
            problems += chart_values_problems(value, f"{path}.", credentials)
        elif credentials and isinstance(value, str) and (shape := _credential_shape(value)) is not None:
            problems.append(f"{path}: holds {shape}, {_credential_advice(path)}")
        elif (
            credentials
            and isinstance(values, dict)
            and _CREDENTIAL_WORDS.search(lowered)
            and not _REFERENCE_KEY.fullmatch(lowered)
            and not isinstance(value, bool)
            and value not in (None, "")
        ):
            problems.append(f"{path}: {_credential_advice(path)}")
    return problems


# Node label keys the chart selects on: the program sets them, with the values the worksheet makes.
_NODE_LABEL_KEYS = frozenset({"chart.values.proxy.initialPrimaryProxyNodeLabel"})


def _children(values: Any, prefix: str) -> Iterator[tuple[Any, Any, str]]:
    """Each key (or index) of a mapping (or list) in chart.values, its value, and its path as written."""
    if isinstance(values, dict):
        for key, value in values.items():
            yield key, value, f"{prefix}{key}"
    else:
        for index, value in enumerate(values):
            yield index, value, f"{prefix.removesuffix('.')}[{index}]"


# Where charts name a claim a pod mounts.
_CLAIM_KEYS = frozenset({"claimName", "existingClaim"})


def shared_claim_problems(values: Any, claims: dict[str, str], prefix: str = "chart.values.") -> list[str]:
    """A monitoring service's claim (``claims``: service -> claim) mounted through chart.values by
    anything but that service's own persistence: two services writing into one volume, as the
    worksheet's own keys refuse."""
    problems = []
    for key, value, path in _children(values, prefix):
        if isinstance(value, dict | list):
            problems += shared_claim_problems(value, claims, f"{path}.")
        elif key in _CLAIM_KEYS and value in claims.values():
            owner = next(service for service, claim in claims.items() if claim == value)
            if not path.startswith(f"chart.values.{owner}.persistence."):
                problems.append(
                    f"{path}: '{value}' is monitoring.{owner}'s claim; a second service would write into "
                    f"{owner}'s volume: give it a claim of its own"
                )
    return problems


def _credential_shape(text: str) -> str | None:
    return next((what for shape, what in _CREDENTIAL_SHAPES if shape.search(text)), None)


def _env_credential_problems(value: Any, path: str) -> list[str]:
    """An env var (``{name: ..., value: ...}``) whose name says it holds a credential, given literally."""
    if not (isinstance(value, dict) and isinstance(value.get("name"), str) and "value" in value):
        return []
    name, literal = value["name"], value["value"]
    lowered = name.lower()
    if not _CREDENTIAL_WORDS.search(lowered) or _REFERENCE_KEY.fullmatch(lowered):
        return []
    if literal in (None, "") or _credential_shape(str(literal)):
        return []  # a value of a known shape is reported as such
    return [
        f"{path}.value: the env var {name} is a credential in plain text, which would sit in the stack file and in "
        f"the Release's values; remove the value: put the credential in a Kubernetes Secret of your own and give "
        f"the env var valueFrom.secretKeyRef with that Secret's name and key"
    ]


def _credential_advice(path: str) -> str:
    written = "is a credential in plain text, which would sit in the stack file and in the Release's values"
    if path == "chart.values.grafana.adminPassword":
        return f"{written}; remove it and run `pulumi config set --secret grafanaAdminPassword`"
    return (
        f"{written}; remove it: put the credential in a Kubernetes Secret of your own and give the chart "
        "that Secret's name where it takes one"
    )


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
    problems = problems or override_conflicts(worksheet)
    return problems + shared_claim_problems(worksheet.chart.values, monitoring_claims(worksheet))
