"""The deployment worksheet as stack config: its shape, its rules, and its expansion.

``parse_worksheet`` takes the stack's ``aisinfra:*`` config (keys without the namespace,
values as the Pulumi CLI hands them over: objects as JSON text, scalars as strings) and
returns a ``Worksheet`` that meets the worksheet's own rules -- or raises ``WorksheetError``
listing every mistake, each naming the config key as the user wrote it
(``targets.mountpoints[1]: ...``). What the chart makes of a worksheet is checked one layer
up (``aisinfra.chart.rules.load_worksheet``, which every caller uses). Nothing here touches
Pulumi resources, so every rule runs before anything is registered.
"""

from __future__ import annotations

import difflib
import json
import posixpath
import re
import typing
from functools import cached_property
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)
from pydantic.alias_generators import to_camel

from aisinfra.worksheet import k8s
from aisinfra.worksheet.patterns import PatternError, expand

DEFAULT_STATE_PATH = "/etc/ais"
DEFAULT_INIT_IMAGE = "aistore/ais-init:latest"
DEFAULT_AISNODE_IMAGE = "aistore/aisnode:3.4"

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_QUANTITY = re.compile(r"^(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_SEMVER = re.compile(r"^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.+-]+)?$")
_HOST_PORT = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):(\d{1,5})$")


class WorksheetError(ValueError):
    """Every mistake found in a worksheet, one line each, naming the key."""

    subject = "the worksheet (stack config) has"

    def __init__(self, problems: list[str]):
        self.problems = problems
        count = f"{len(problems)} problems" if len(problems) > 1 else "a problem"
        super().__init__(f"{self.subject} {count}:\n" + "\n".join(f"  - {problem}" for problem in problems))


# --- value rules (each raises ValueError with what is wrong and what to do) ---------------


def _dns_label(value: str) -> str:
    if not k8s.DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a DNS label: use at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def _dns_subdomain(value: str, what: str = "name") -> str:
    if len(value) > 253 or not _DNS_SUBDOMAIN.match(value):
        raise ValueError(
            f"'{value}' is not a valid {what}: Kubernetes names are lowercase letters, digits, "
            "'-' and '.', starting and ending with a letter or digit"
        )
    return value


def _release_name(value: str) -> str:
    _dns_label(value)
    if len(value) > k8s.MAX_RELEASE_NAME:
        raise ValueError(f"'{value}' is longer than Helm's {k8s.MAX_RELEASE_NAME}-character limit")
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/"):
        raise ValueError(f"'{value}' is not an absolute path; write it from '/'")
    if value == "/" or posixpath.normpath(value) != value:
        normal = posixpath.normpath(value)
        hint = "" if normal == "/" else f"; write '{normal}'"
        raise ValueError(f"'{value}' is not a normalized path below '/'{hint}")
    return value


def _expanded(value: str, rule: Any, what: str) -> str:
    try:
        names = expand(value)
    except PatternError as error:
        raise ValueError(f"bad pattern '{value}': {error}") from None
    for name in names:
        try:
            rule(name)
        except ValueError as error:
            if name == value:
                raise
            raise ValueError(f"the {what} '{name}' from pattern '{value}': {error}") from None
    return value


def _node_pattern(value: str) -> str:
    return _expanded(value, lambda name: _dns_subdomain(name, "node name"), "node name")


def _mountpoint_pattern(value: str) -> str:
    return _expanded(value, _absolute_path, "mountpoint")


def _quantity(value: str) -> str:
    match = _QUANTITY.match(value)
    if not match:
        hint = ""
        legacy = re.match(r"^(\d+)\s*([KMGTPE])i?B$", value, re.IGNORECASE)
        if legacy:
            hint = f"; did you mean '{legacy.group(1)}{legacy.group(2).upper()}i'?"
        raise ValueError(f"'{value}' is not a Kubernetes quantity such as 250Gi{hint}")
    if float(match.group(1)) <= 0:
        raise ValueError(f"'{value}' must be larger than zero")
    return value


def _image(value: str) -> str:
    if "@" in value:
        raise ValueError(f"'{value}': the chart renders images as repository:tag, so digests cannot be used")
    repository, _, tag = value.rpartition(":")
    if not repository or "/" in tag or not _IMAGE_TAG.match(tag):
        raise ValueError(f"'{value}' has no tag; write it as repository:tag, e.g. {DEFAULT_AISNODE_IMAGE}")
    first, _, rest = repository.partition("/")
    # As Docker reads a reference: a first component with '.' or ':' (or localhost) is a registry host.
    path = rest if rest and (first == "localhost" or "." in first or ":" in first) else repository
    if path != path.lower():
        raise ValueError(f"'{value}': image repository paths are lowercase")
    return value


def _host_port(value: str) -> str:
    match = _HOST_PORT.match(value)
    if not match or not 0 < int(match.group(3)) < 65536:
        raise ValueError(f"'{value}' is not host:port, e.g. graphite.example.com:2003")
    return value


def _namespace(value: str) -> str:
    _dns_label(value)
    if value in k8s.RESERVED_NAMESPACES or value.startswith("kube-"):
        raise ValueError(f"'{value}' is a namespace Kubernetes uses itself; give the AIStore cluster its own")
    return value


DnsLabel = Annotated[str, AfterValidator(_dns_label)]
Namespace = Annotated[str, AfterValidator(_namespace)]
ReleaseName = Annotated[str, AfterValidator(_release_name)]
NodeName = Annotated[str, AfterValidator(lambda value: _dns_subdomain(value, "node name"))]
NodePattern = Annotated[str, AfterValidator(_node_pattern)]
MountpointPattern = Annotated[str, AfterValidator(_mountpoint_pattern)]
AbsolutePath = Annotated[str, AfterValidator(_absolute_path)]
Quantity = Annotated[str, AfterValidator(_quantity)]
Image = Annotated[str, AfterValidator(_image)]
ClaimName = Annotated[str, AfterValidator(lambda value: _dns_subdomain(value, "claim name"))]
HostPort = Annotated[str, AfterValidator(_host_port)]


# --- the shape ------------------------------------------------------------------------------


class _Section(BaseModel):
    """Worksheet keys are camelCase as written in Pulumi.<stack>.yaml; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)


def _pinned_version(value: str) -> str:
    if not _SEMVER.match(value):
        raise ValueError(f"'{value}' is not a pinned chart version; give one exact version such as 0.1.0")
    return value


class Chart(_Section):
    path: str | None = None
    repo: str | None = None
    name: str | None = None
    version: Annotated[str, AfterValidator(_pinned_version)] | None = None
    dependency_update: bool = True
    values: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> Chart:
        remote = [self.repo, self.name, self.version]
        if self.path and any(remote):
            raise ValueError("give the chart either as path or as repo + name + version, not both")
        if not self.path and not all(remote):
            missing = [key for key, given in zip(("repo", "name", "version"), remote, strict=False) if not given]
            raise ValueError(
                "give the chart as path (a local checkout of ais-k8s helm/ais/charts) or as "
                f"repo + name + a pinned version; missing: {', '.join(missing)}"
            )
        return self


class Images(_Section):
    init_container: Image = DEFAULT_INIT_IMAGE
    aisnode: Image = DEFAULT_AISNODE_IMAGE


class Targets(_Section):
    initial_count: int = Field(0, ge=0, strict=True)
    nodes: list[NodePattern] = Field(min_length=1)
    mountpoints: list[MountpointPattern] = Field(min_length=1)
    # Acknowledgements of a scale-in of a deployed cluster (see aisinfra.safety).
    decommissioned: list[NodeName] = Field(default_factory=list)
    scale_in_to: int | None = Field(None, ge=0, strict=True)
    removed_mountpoints: list[AbsolutePath] = Field(default_factory=list)


class Proxies(_Section):
    nodes: list[NodePattern] = Field(min_length=1)
    initial_primary: NodeName | None = None
    initial_primary_label: bool = True


class Storage(_Section):
    """Monitoring storage: a volume this program creates on a node, or an existing claim."""

    node: NodeName | None = None
    path: AbsolutePath | None = None
    size: Quantity | None = None
    existing_claim: ClaimName | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Storage:
        volume = {"node": self.node, "path": self.path, "size": self.size}
        if self.existing_claim is not None:
            if any(value is not None for value in volume.values()):
                raise ValueError("give either existingClaim or node + path + size, not both")
        elif not all(value is not None for value in volume.values()):
            missing = [key for key, value in volume.items() if value is None]
            raise ValueError(
                "give either existingClaim (a claim in the cluster's namespace) or node + path + size; "
                f"missing: {', '.join(missing)}"
            )
        return self


class Monitoring(_Section):
    enabled: bool = True
    prometheus: bool | None = None
    graphite: Storage | None = None
    grafana: Storage | None = None
    external_graphite: HostPort | None = None


class IdentityChange(_Section):
    """Deliberate changes of a deployed cluster's identity, each naming the new value."""

    release_name: str | None = None
    namespace: str | None = None
    state_path: str | None = None
    chart: str | None = None


class Worksheet(_Section):
    release_name: ReleaseName
    namespace: Namespace
    # The program creates the namespace unless it exists already (e.g. with a pull secret or
    # the claims named in monitoring); then it only reads it and never deletes it.
    existing_namespace: bool = False
    state_path: AbsolutePath = DEFAULT_STATE_PATH
    chart: Chart
    images: Images = Images()
    targets: Targets
    proxies: Proxies
    monitoring: Monitoring = Monitoring()
    # SecretStr: the password never shows in a repr, a log line or an error message.
    grafana_admin_password: SecretStr | None = None
    protect: bool = True
    identity_change: IdentityChange = IdentityChange()

    @cached_property
    def target_nodes(self) -> list[str]:
        return [name for pattern in self.targets.nodes for name in expand(pattern)]

    @cached_property
    def proxy_nodes(self) -> list[str]:
        return [name for pattern in self.proxies.nodes for name in expand(pattern)]

    @cached_property
    def mountpoints(self) -> list[str]:
        return [path for pattern in self.targets.mountpoints for path in expand(pattern)]

    @property
    def initial_primary(self) -> str:
        return self.proxies.initial_primary or self.proxy_nodes[0]

    @property
    def expected_targets(self) -> int:
        return self.targets.initial_count or len(self.target_nodes)

    @property
    def prometheus_enabled(self) -> bool:
        if self.monitoring.prometheus is None:
            return self.monitoring.enabled
        return self.monitoring.prometheus


# --- loading --------------------------------------------------------------------------------


def decoded(config: dict[str, Any]) -> dict[str, Any]:
    """Stack config as the model reads it: the CLI's JSON text of objects and lists parsed."""
    return {key: _decode(value) for key, value in config.items()}


def parse_worksheet(raw: dict[str, Any], secret_keys: frozenset[str] = frozenset()) -> Worksheet:
    """Validate decoded stack config (``aisinfra:`` keys without the namespace) into a
    Worksheet by the worksheet's own rules. ``secret_keys`` names the keys whose values were
    set with ``--secret``."""
    try:
        worksheet = Worksheet.model_validate(raw)
    except ValidationError as error:
        raise WorksheetError([_describe(detail) for detail in error.errors()]) from None
    problems = _cross_checks(worksheet, secret_keys)
    if problems:
        raise WorksheetError(problems)
    return worksheet


def _decode(value: Any) -> Any:
    """The CLI hands object and list config over as JSON text; scalars stay strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _key(location: tuple[int | str, ...]) -> str:
    key = ""
    for part in location:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _describe(detail: Any) -> str:
    location = tuple(detail["loc"])
    key = _key(location)
    kind = detail["type"]
    if kind == "extra_forbidden":
        return f"{key}: unknown key{_suggestion(location)}; remove it or fix its spelling"
    if kind == "missing":
        return f"{key}: required, but not set"
    return f"{key}: {rule_message(detail)}"


def rule_message(detail: Any) -> str:
    """A pydantic error's message without pydantic's prefix for our own rules' ValueErrors."""
    return str(detail["msg"]).removeprefix("Value error, ")


def _suggestion(location: tuple[int | str, ...]) -> str:
    """A close spelling among the keys allowed where the unknown key stands."""
    section: type[_Section] | None = Worksheet
    for part in location[:-1]:
        if isinstance(part, int) or section is None:
            continue
        field = next((info for info in section.model_fields.values() if info.alias == part), None)
        annotation = field.annotation if field else None
        candidates = typing.get_args(annotation) or (annotation,)
        section = next((kind for kind in candidates if isinstance(kind, type) and issubclass(kind, _Section)), None)
    if section is None:
        return ""
    known = [str(info.alias) for info in section.model_fields.values()]
    unknown = str(location[-1])
    close = [name for name in known if name.lower() == unknown.lower()]
    close = close or difflib.get_close_matches(unknown, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- rules across keys ---------------------------------------------------------------------


def _cross_checks(worksheet: Worksheet, secret_keys: frozenset[str]) -> list[str]:
    problems: list[str] = []
    problems += _duplicates("targets.nodes", worksheet.targets.nodes)
    problems += _duplicates("proxies.nodes", worksheet.proxies.nodes)
    problems += _duplicates("targets.mountpoints", worksheet.targets.mountpoints)
    problems += _nested_mountpoints(worksheet.targets.mountpoints)
    problems += [
        f"targets.decommissioned[{index}]: '{node}' is still listed in targets.nodes; "
        "a decommissioned node cannot also be a target"
        for index, node in enumerate(worksheet.targets.decommissioned)
        if node in worksheet.target_nodes
    ]
    problems += [
        f"targets.removedMountpoints[{index}]: '{path}' is still listed in targets.mountpoints"
        for index, path in enumerate(worksheet.targets.removed_mountpoints)
        if path in worksheet.mountpoints
    ]
    scale_in_to = worksheet.targets.scale_in_to
    if scale_in_to is not None and scale_in_to != worksheet.expected_targets:
        problems.append(
            f"targets.scaleInTo: acknowledges a target count of {scale_in_to}, but the worksheet's count is "
            f"{worksheet.expected_targets}; remove it once its scale-in is done, so that it cannot let a "
            "later one through"
        )
    problems += [
        f"targets.mountpoints: '{path}' and statePath '{worksheet.state_path}' lie one inside the other; "
        "keep AIStore's state off its data disks"
        for path in worksheet.mountpoints
        if _nested(path, worksheet.state_path) or path == worksheet.state_path
    ]

    target_count = len(set(worksheet.target_nodes))
    if worksheet.targets.initial_count > target_count:
        problems.append(
            f"targets.initialCount: {worksheet.targets.initial_count} is more than the "
            f"{target_count} target nodes listed in targets.nodes; lower it or add nodes (0 means all)"
        )
    primary = worksheet.proxies.initial_primary
    if primary is not None and primary not in worksheet.proxy_nodes:
        problems.append(
            f"proxies.initialPrimary: '{primary}' is not one of proxies.nodes; the initial primary must be a proxy node"
        )
    problems += _monitoring_rules(worksheet)
    problems += [
        f"{key}: is stored as a secret, but only grafanaAdminPassword is handled as one; a secret "
        "anywhere else would reach the release values in plain text, so set it without --secret"
        for key in sorted(secret_keys - {"grafanaAdminPassword"})
    ]
    if worksheet.grafana_admin_password is not None and "grafanaAdminPassword" not in secret_keys:
        problems.append(
            "grafanaAdminPassword: is stored in plain text; remove it and set it with "
            "`pulumi config set --secret grafanaAdminPassword`"
        )
    return problems


def _duplicates(key: str, patterns: list[str]) -> list[str]:
    problems: list[str] = []
    first_seen: dict[str, int] = {}
    for index, pattern in enumerate(patterns):
        for name in expand(pattern):
            if name in first_seen:
                origin = f" (from '{pattern}')" if name != pattern else ""
                problems.append(
                    f"{key}[{index}]: '{name}'{origin} is already listed at {key}[{first_seen[name]}]; "
                    "list each entry once"
                )
            else:
                first_seen[name] = index
    return problems


def _inside(path: str, outer: str) -> bool:
    return path.startswith(outer + "/")


def _nested(path: str, other: str) -> bool:
    return _inside(path, other) or _inside(other, path)


def _nested_mountpoints(patterns: list[str]) -> list[str]:
    problems: list[str] = []
    earlier: dict[str, int] = {}
    for index, pattern in enumerate(patterns):
        for path in expand(pattern):
            if path in earlier:
                continue  # a repeat, reported by _duplicates
            for other, other_index in earlier.items():
                if _inside(path, other):
                    relation = "is inside"
                elif _inside(other, path):
                    relation = "contains"
                else:
                    continue
                problems.append(
                    f"targets.mountpoints[{index}]: '{path}' {relation} '{other}' "
                    f"(targets.mountpoints[{other_index}]); each mountpoint must be a filesystem "
                    "of its own, not a directory of another"
                )
            earlier[path] = index
    return problems


def _monitoring_rules(worksheet: Worksheet) -> list[str]:
    monitoring = worksheet.monitoring
    problems: list[str] = []
    if monitoring.enabled:
        for service in ("graphite", "grafana"):
            if getattr(monitoring, service) is None:
                problems.append(
                    f"monitoring.{service}: required while monitoring.enabled is true; give "
                    "{node, path, size} for a volume on a node, or {existingClaim: NAME}"
                )
        if monitoring.prometheus is False:
            problems.append(
                "monitoring.prometheus: the chart installs Prometheus whenever monitoring.enabled "
                "is true (Helm enables a subchart when any of its tags is true); remove this key "
                "or set monitoring.enabled to false"
            )
        for service in ("graphite", "grafana"):
            storage = getattr(monitoring, service)
            if storage is not None and storage.existing_claim is not None and not worksheet.existing_namespace:
                problems.append(
                    f"monitoring.{service}.existingClaim: a claim lives in the cluster's namespace, so that "
                    "namespace must exist before the release installs; create both, then set existingNamespace: true"
                )
        if monitoring.external_graphite is not None:
            problems.append(
                "monitoring.externalGraphite: only used when monitoring.enabled is false; "
                "remove it or disable the built-in monitoring"
            )
    else:
        for key in ("graphite", "grafana"):
            if getattr(monitoring, key) is not None:
                problems.append(
                    f"monitoring.{key}: storage for the built-in monitoring, which is disabled; "
                    "remove it or set monitoring.enabled to true"
                )
        if monitoring.external_graphite is None:
            problems.append(
                "monitoring.externalGraphite: required while monitoring.enabled is false: "
                "the host:port of the Graphite that receives AIStore's stats"
            )
        if worksheet.grafana_admin_password is not None:
            problems.append(
                "grafanaAdminPassword: Grafana is only installed while monitoring.enabled is true; "
                "remove the key or enable monitoring"
            )
    return problems
