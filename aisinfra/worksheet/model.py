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
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic.alias_generators import to_camel

from aisinfra.worksheet import host, k8s
from aisinfra.worksheet.patterns import MAX_NAMES, PatternError, count, expand
from aisinfra.worksheet.yaml_bounds import TOO_DEEP, expansion_problem

DEFAULT_STATE_PATH = "/etc/ais"
DEFAULT_INIT_IMAGE = "aistore/ais-init:latest"
DEFAULT_AISNODE_IMAGE = "aistore/aisnode:3.4"
DEFAULT_KUBERNETES_VERSION = "1.30"
# How long the Release waits for the cluster's pods on install, upgrade and uninstall. The
# worksheet's example (12 nodes each running a proxy and a target with 10 disks) starts all
# pods in parallel: each node pulls the aisnode and init images once (minutes from a busy
# registry), runs the init container, and a target turns ready only after the proxies have
# elected a primary and every expected target has joined, then 3 readiness periods of 30 s.
# Helm also waits for Graphite, Grafana and Prometheus and their claims. 15 minutes covers a
# slow start; twice that leaves room for image pulls throttled by a registry.
DEFAULT_RELEASE_TIMEOUT_SECONDS = 1800
# Storage.identity of a monitoring service that has no storage (monitoring disabled).
NO_STORAGE = "none"
# A small shell image with stat, ls and grep, pinned so that a re-pushed tag never changes
# what the check runs (and, since the image is part of every check Job, never re-runs them).
DEFAULT_PREFLIGHT_IMAGE = "busybox:1.36.1"

# Every pattern here is used with fullmatch and spells digits [0-9]: a '$'-anchored match lets a
# trailing newline through, and \d also accepts other scripts' digits, which int() reads.
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_QUANTITY = re.compile(r"([0-9]+(\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_LEGACY_SIZE = re.compile(r"([0-9]+)\s*([KMGTPE])i?B", re.IGNORECASE)
_IMAGE_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# Docker's reference grammar (distribution/reference): a registry host, then lowercase path components.
_IMAGE_DOMAIN = re.compile(
    r"[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*(:[0-9]+)?"
)
_IMAGE_PATH = re.compile(r"[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*")
_SEMVER = re.compile(r"v?[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?")
_KUBERNETES_MINOR = re.compile(r"1\.[1-9][0-9]")
_HOST_PORT = re.compile(r"([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?):([0-9]{1,5})")
# Host paths: the chart writes statePath into a quoted YAML string, and a local volume's path
# goes to the kubelet as is; plain characters keep both exact.
_PATH_CHARACTERS = re.compile(r"[A-Za-z0-9._/-]+")
_CHART_REPO = re.compile(r"[a-z][a-z0-9+.-]*://[^\s]+")
_CHART_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# More mountpoints per node than any real server holds (the largest JBODs carry about a hundred).
MAX_MOUNTPOINTS = 1_000


@dataclass(frozen=True)
class Problem:
    """One mistake: the config key as the user wrote it (``targets.mountpoints[1]``) and what
    is wrong with it and what to do."""

    key: str
    message: str

    @classmethod
    def from_text(cls, text: str) -> Problem:
        """Rules write a problem as ``KEY: MESSAGE``; config keys never contain ': '."""
        key, separator, message = text.partition(": ")
        return cls(key, message) if separator else cls("", text)

    def __str__(self) -> str:
        return printable(f"{self.key}: {self.message}" if self.key else self.message)


def printable(text: str) -> str:
    """``text`` for a terminal, on one line: each character that is not printable (a line break,
    an escape sequence, a byte order mark, a right-to-left override) as its escape (``\\u202e``).
    Keys and values are quoted into messages as the user wrote them."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


class WorksheetError(ValueError):
    """Every mistake found in a worksheet, one line each, naming the key. ``waiting`` names
    the keys whose mistakes keep the rules that compare them with other keys from running."""

    subject = "the worksheet (stack config) has"

    def __init__(self, problems: Sequence[Problem | str], waiting: Sequence[str] = ()):
        self.problems = [
            problem if isinstance(problem, Problem) else Problem.from_text(problem) for problem in problems
        ]
        self.waiting = tuple(dict.fromkeys(waiting))
        count = f"{len(self.problems)} problems" if len(self.problems) > 1 else "a problem"
        lines = [f"{self.subject} {count}:", *(f"  - {problem}" for problem in self.problems)]
        if self.waiting_note:
            lines.append(f"  ({self.waiting_note})")
        super().__init__("\n".join(lines))

    @property
    def waiting_note(self) -> str | None:
        """What was not checked yet because of the problems, or None."""
        if not self.waiting:
            return None
        keys = printable(", ".join(self.waiting))
        return f"checked once the problems above are fixed: the rules that compare {keys} with other keys"


# --- value rules (each raises ValueError with what is wrong and what to do) ---------------


def _quoted(value: str) -> str:
    """A value quoted for a message; escaped when it holds a newline or other invisible character."""
    return f"'{value}'" if value.isprintable() else repr(value)


def _visible(value: str) -> str:
    """Text without surrounding whitespace or control characters, which no pattern should let through."""
    if not value.isprintable() or value != value.strip():
        raise ValueError(
            f"{_quoted(value)} has whitespace or invisible characters around or inside it (a trailing "
            "newline?); remove them"
        )
    return value


def _boolean(value: Any, text: bool) -> Any:
    """true or false, as JSON and as the Pulumi SDK's get_bool read them. A top-level key reaches
    the program as text, so there (``text``) the words true and false are read; inside an object
    the CLI hands over JSON, where ``pulumi config set --path`` writes real booleans, so a quoted
    "false" is text the operator wrote, not a boolean. YAML 1.1's yes/no/on/off are text to the
    Pulumi CLI (YAML 1.2), so they are not booleans at any depth."""
    if isinstance(value, bool):
        return value
    if text and isinstance(value, str) and value in ("true", "True", "false", "False"):
        return value.lower() == "true"
    hint = ""
    if isinstance(value, str) and value.lower() in ("yes", "no", "on", "off", "y", "n"):
        hint = " (YAML's yes/no/on/off are text to the Pulumi CLI)"
    elif isinstance(value, str) and value.lower() in ("true", "false"):
        hint = f" (write {value.lower()} without quotes: inside an object, quoted it is text)"
    raise ValueError(f"must be true or false, not {_shown(value)}{hint}")


def _dns_label(value: str) -> str:
    _visible(value)
    if not k8s.DNS_LABEL.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a DNS label: use at most 63 lowercase letters, digits and '-', "
            "starting and ending with a letter or digit"
        )
    return value


def _dns_subdomain(value: str, what: str) -> str:
    _visible(value)
    if len(value) > 253 or not _DNS_SUBDOMAIN.fullmatch(value):
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
    _visible(value)
    if not value.startswith("/"):
        raise ValueError(f"'{value}' is not an absolute path; write it from '/'")
    if value.startswith("//"):
        # POSIX keeps a leading '//' through normalization, so '//ais/sda' would pass for a
        # second path to the disk '/ais/sda'.
        raise ValueError(f"'{value}' starts with '//'; write '/{value.lstrip('/')}'")
    if value == "/" or posixpath.normpath(value) != value:
        normal = posixpath.normpath(value)
        hint = "" if normal == "/" else f"; write '{normal}'"
        raise ValueError(f"'{value}' is not a normalized path below '/'{hint}")
    if not _PATH_CHARACTERS.fullmatch(value):
        raise ValueError(f"'{value}': use only letters, digits, '.', '_', '-' and '/' in host paths")
    return value


def _host_directory(value: str, appended: int = 0) -> str:
    """A directory on the node that AIStore writes to: not the host's own, and short enough for
    the kernel with the ``appended`` characters the chart adds below it."""
    _absolute_path(value)
    if len(value) + appended > host.MAX_PATH:
        more = f", and the chart appends up to {appended} characters below it" if appended else ""
        raise ValueError(f"'{value[:40]}...' is {len(value)} characters long; a path is at most {host.MAX_PATH}{more}")
    longest = max(value.split("/"), key=len)
    if len(longest) > host.MAX_NAME:
        raise ValueError(
            f"'{value[:40]}...' has a name of {len(longest)} characters; a name in a path is at most {host.MAX_NAME}"
        )
    why = host.system_directory(value)
    if why is not None:
        raise ValueError(
            f"'{value}' {why}; give AIStore a directory of its own (e.g. under /var/lib or on a data disk)"
        )
    return value


def _state_path(value: str) -> str:
    # The chart keeps state in <statePath>/<release>/proxy_env and the like.
    return _host_directory(value, appended=len(f"/{'x' * k8s.MAX_RELEASE_NAME}/proxy_env"))


def _expanded(value: str, rule: Any, what: str) -> str:
    _visible(value)
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
    return _expanded(value, _host_directory, "mountpoint")


def _quantity(value: str) -> str:
    _visible(value)
    match = _QUANTITY.fullmatch(value)
    if not match:
        hint = ""
        legacy = _LEGACY_SIZE.fullmatch(value)
        if legacy:
            hint = f"; did you mean '{legacy.group(1)}{legacy.group(2).upper()}i'?"
        raise ValueError(f"'{value}' is not a Kubernetes quantity such as 250Gi{hint}")
    if float(match.group(1)) <= 0:
        raise ValueError(f"'{value}' must be larger than zero")
    return value


def _image(value: str) -> str:
    _visible(value)
    if "@" in value:
        raise ValueError(f"'{value}': the chart renders images as repository:tag, so digests cannot be used")
    repository, _, tag = value.rpartition(":")
    if not repository or not _IMAGE_TAG.fullmatch(tag):
        raise ValueError(f"'{value}' has no tag; write it as repository:tag, e.g. {DEFAULT_AISNODE_IMAGE}")
    first, _, rest = repository.partition("/")
    # As Docker reads a reference: a first component with '.' or ':' (or localhost) is a registry host.
    has_domain = bool(rest) and (first == "localhost" or "." in first or ":" in first)
    path = rest if has_domain else repository
    if path != path.lower():
        raise ValueError(f"'{value}': image repository paths are lowercase")
    if (has_domain and not _IMAGE_DOMAIN.fullmatch(first)) or not _IMAGE_PATH.fullmatch(path):
        raise ValueError(
            f"'{value}' is not an image reference: write [registry/]path:tag with lowercase letters, digits "
            f"and single '.', '_' or '-' between them, e.g. {DEFAULT_AISNODE_IMAGE}"
        )
    return value


def _host_port(value: str) -> str:
    _visible(value)
    match = _HOST_PORT.fullmatch(value)
    if not match or not 0 < int(match.group(3)) < 65536:
        raise ValueError(f"'{value}' is not host:port, e.g. graphite.example.com:2003")
    return value


def _kubernetes_version(value: str) -> str:
    _visible(value)
    if not _KUBERNETES_MINOR.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a Kubernetes minor version such as \"{DEFAULT_KUBERNETES_VERSION}\": 1. and the "
            "minor number, as `kubectl version` shows it"
        )
    return value


def _namespace(value: str) -> str:
    _dns_label(value)
    if value in k8s.RESERVED_NAMESPACES or value.startswith("kube-"):
        raise ValueError(f"'{value}' is a namespace Kubernetes uses itself; give the AIStore cluster its own")
    return value


def _text_schema(pattern: str, max_length: int | None = None) -> WithJsonSchema:
    """The part of a value rule that the stack file's JSON Schema (docs/stack-file.schema.json)
    can express: a pattern every valid value matches, built from the rule's own regular
    expression. The rule itself still runs in ``check``, and says more."""
    schema: dict[str, Any] = {"type": "string", "pattern": f"^(?:{pattern})$"}
    if max_length is not None:
        schema["maxLength"] = max_length
    return WithJsonSchema(schema)


# Pattern syntax that node and mountpoint patterns add to names: {01..12}, {a,b}, [a-j].
_PATTERN_SYNTAX = r"{}\[\],."
_IMAGE_SCHEMA = _text_schema(rf"[^@\s]+:{_IMAGE_TAG.pattern}")
_PATH_SCHEMA = _text_schema(rf"/{_PATH_CHARACTERS.pattern}")

DnsLabel = Annotated[str, AfterValidator(_dns_label), _text_schema(k8s.DNS_LABEL.pattern)]
Namespace = Annotated[str, AfterValidator(_namespace), _text_schema(k8s.DNS_LABEL.pattern)]
ReleaseName = Annotated[
    str, AfterValidator(_release_name), _text_schema(k8s.DNS_LABEL.pattern, max_length=k8s.MAX_RELEASE_NAME)
]
NodeName = Annotated[
    str, AfterValidator(lambda value: _dns_subdomain(value, "node name")), _text_schema(_DNS_SUBDOMAIN.pattern, 253)
]
NodePattern = Annotated[str, AfterValidator(_node_pattern), _text_schema(rf"[-a-z0-9{_PATTERN_SYNTAX}]+")]
MountpointPattern = Annotated[
    str, AfterValidator(_mountpoint_pattern), _text_schema(rf"/[-A-Za-z0-9_/{_PATTERN_SYNTAX}]+")
]
AbsolutePath = Annotated[str, AfterValidator(_absolute_path), _PATH_SCHEMA]
HostDirectory = Annotated[str, AfterValidator(_host_directory), _PATH_SCHEMA]
StatePath = Annotated[str, AfterValidator(_state_path), _PATH_SCHEMA]
Quantity = Annotated[str, AfterValidator(_quantity), _text_schema(_QUANTITY.pattern)]
Image = Annotated[str, AfterValidator(_image), _IMAGE_SCHEMA]
ClaimName = Annotated[
    str, AfterValidator(lambda value: _dns_subdomain(value, "claim name")), _text_schema(_DNS_SUBDOMAIN.pattern, 253)
]
HostPort = Annotated[str, AfterValidator(_host_port), _text_schema(_HOST_PORT.pattern)]
KubernetesVersion = Annotated[str, AfterValidator(_kubernetes_version), _text_schema(_KUBERNETES_MINOR.pattern)]
# One rule for every boolean: top-level keys arrive as text, keys inside objects as JSON.
TopLevelBoolean = Annotated[bool, BeforeValidator(lambda value: _boolean(value, text=True))]
Boolean = Annotated[bool, BeforeValidator(lambda value: _boolean(value, text=False))]


def _bounded_names(patterns: Any, limit: int = MAX_NAMES) -> Any:
    """A list of patterns is sized before any of them is expanded: a slip like {1..9999} in each
    of many entries is refused at once instead of expanding for minutes."""
    if isinstance(patterns, list):
        total = 0
        for pattern in patterns:
            try:
                total += count(pattern) if isinstance(pattern, str) else 1
            except PatternError:
                total += 1  # reported for its own entry
        if total > limit:
            raise ValueError(f"the list stands for {total} entries; at most {limit} are supported")
    return patterns


NodePatterns = Annotated[list[NodePattern], BeforeValidator(_bounded_names), Field(min_length=1)]
MountpointPatterns = Annotated[
    list[MountpointPattern],
    BeforeValidator(lambda patterns: _bounded_names(patterns, MAX_MOUNTPOINTS)),
    Field(min_length=1),
]


# --- the shape ------------------------------------------------------------------------------


class _Section(BaseModel):
    """Worksheet keys are camelCase as written in Pulumi.<stack>.yaml; unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=False, frozen=True)


def _pinned_version(value: str) -> str:
    _visible(value)
    if not _SEMVER.fullmatch(value):
        raise ValueError(f"'{value}' is not a pinned chart version; give one exact version such as 0.1.0")
    return value


def _chart_repo(value: str) -> str:
    _visible(value)
    if not _CHART_REPO.fullmatch(value):
        raise ValueError(f"'{value}' is not a chart repository URL such as https://charts.example.com")
    return value


def _chart_path(value: str) -> str:
    _visible(value)
    if "://" in value:
        raise ValueError(
            f"'{value}' is a URL, but chart.path is a directory here (a checkout of ais-k8s helm/ais/charts); for "
            "a chart in a repository give chart.repo, chart.name and chart.version, for an archive untar it and "
            "give its directory"
        )
    # The commands read the directory: a path the kernel refuses would fail them, naming no key.
    size = len(value.encode())
    if size > host.MAX_PATH:
        raise ValueError(f"'{value[:40]}...' is {size} bytes long; a path is at most {host.MAX_PATH}")
    longest = max(len(name.encode()) for name in value.split("/"))
    if longest > host.MAX_NAME:
        raise ValueError(
            f"'{value[:40]}...' has a name of {longest} bytes; a name in a path is at most {host.MAX_NAME}"
        )
    return value


def _monitoring_node(value: str) -> str:
    _dns_subdomain(value, "node name")
    if len(value) > k8s.MAX_LABEL_VALUE:
        raise ValueError(
            f"'{value}' is {len(value)} characters; the volume is pinned to the node's kubernetes.io/hostname "
            f"label, and a label value is at most {k8s.MAX_LABEL_VALUE}: give the node's hostname label instead"
        )
    return value


def _chart_name(value: str) -> str:
    _visible(value)
    if not _CHART_NAME.fullmatch(value):
        raise ValueError(f"'{value}' is not a chart name: letters, digits, '.', '_' and '-'")
    return value


_HOST_PATH_RULES = (
    "absolute and normalized, no leading `//`, letters, digits, `.`, `_`, `-` and `/` only (as every host path); "
    "not one of the host's own directories (as every host path: `/proc`, `/sys`, `/dev`, `/run`, `/tmp`, `/boot`, "
    "`/usr`, `/var/log`, `/var/lib/kubelet`, the container runtimes' and etcd's trees and what is below them; "
    "`/etc`, `/var`, `/var/lib`, `/home`, `/root` themselves; the list is `aisinfra/worksheet/host.py`)"
)
_NODE_PATTERN_RULES = (
    "names and patterns: `cpu{01..12}`, `{a,b}`, `sd[a-j]` (ASCII digits only); each node once; a list stands for "
    f"at most {MAX_NAMES} nodes, a range bound has at most 9 digits"
)
_STORAGE_RULES = (
    "`{node, path, size}` (a volume this program creates) or `{existingClaim: NAME}` (with "
    "`existingNamespace: true`); required while monitoring is on. The node's name at most 63 characters (the "
    "volume is pinned to its `kubernetes.io/hostname` label); kept apart from data: the two not in one directory "
    "(nor one inside the other) on one node, nor on one claim, nor on the claim the program makes for the other; "
    "not on, inside or around a target mountpoint of their node; not in or around `statePath` on an AIStore node"
)
_SCALE_IN = "An acknowledgement of a scale-in of a deployed stack, see [Keeping the data](keeping-data.md). "
_IDENTITY = (
    "The new value; an entry that is not the worksheet's value is refused, so one left behind cannot let a later "
    "change through; see [Keeping the data](keeping-data.md)."
)


class Chart(_Section):
    """The AIStore Helm chart: a local directory (`path`), or `repo` + `name` + `version`; required, one of the two."""

    path: Annotated[str, AfterValidator(_chart_path)] | None = Field(
        default=None,
        title="Chart source (local)",
        description="A directory relative to the project directory, never a URL (`init` offers "
        "`../ais-k8s/helm/ais/charts`); a deployed path written otherwise (`chart/`, `./chart`) is the same "
        "chart, with a note. Give either `path` or `repo` + `name` + `version`.",
        examples=["../ais-k8s/helm/ais/charts"],
    )
    repo: Annotated[str, AfterValidator(_chart_repo), _text_schema(_CHART_REPO.pattern)] | None = Field(
        default=None,
        title="Chart source (repository)",
        description="A chart repository URL; an OCI registry as `oci://host/path` (the Release then pulls "
        "`oci://host/path/NAME`, as the provider needs).",
        examples=["https://charts.example.com"],
    )
    name: Annotated[str, AfterValidator(_chart_name), _text_schema(_CHART_NAME.pattern)] | None = Field(
        default=None,
        title="Chart name",
        description="The chart's name in `chart.repo` (`init` offers `ais`): letters, digits, `.`, `_` and `-`.",
        examples=["ais"],
    )
    version: Annotated[str, AfterValidator(_pinned_version), _text_schema(_SEMVER.pattern)] | None = Field(
        default=None,
        title="Chart version",
        description="One exact version (semantic versioning), with `chart.repo`.",
        examples=["0.1.0"],
    )
    # Off: Helm installs the subcharts already in the chart's charts/ directory (one
    # `helm dependency build` per checkout), never downloading or writing during a preview.
    dependency_update: Boolean = Field(
        default=False,
        title="Subcharts on install",
        description="`false`: the subcharts must be in the chart's `charts/` (one `helm dependency build`, see "
        "[Deploying](deploying.md)); `render` and `check` report a local chart whose `charts/` lacks a declared "
        "subchart. `true` makes the provider download a declared subchart that `charts/` lacks, during the "
        "preview (network and a writable chart directory needed); a complete `charts/` is never refreshed.",
        examples=[False],
    )
    timeout_seconds: int = Field(
        default=DEFAULT_RELEASE_TIMEOUT_SECONDS,
        ge=60,
        le=86400,
        strict=True,
        title="How long Helm waits",
        description="The Release's wait on install, upgrade and uninstall, in seconds (see [Deploying](deploying.md)).",
        examples=[1800],
    )
    values: dict[str, Any] = Field(
        default_factory=dict,
        title="Values the worksheet does not cover",
        description="May not set what the worksheet sets (reported as `chart.values.KEY`), nor node selection "
        "(any `nodeSelector` or `nodeAffinity`, `proxy.initialPrimaryProxyNodeLabel`, `admin.enabled`: pods would "
        "wait for labels the program never sets) nor host access for any pod (`hostPath`, `privileged`, "
        "`hostNetwork`, `hostPID`, `hostIPC`; node-exporter's own `prometheus.nodeExporter.hostNetwork`/`hostPID` "
        "excepted), nor a credential in plain text by its shape (a URL with `user:password@`, a private key, AWS, "
        "GitHub, Slack, Google keys, a JSON Web Token; an env var named like a credential with a literal `value`: "
        "use `valueFrom.secretKeyRef`) or by its key (a key like `password`, `token`, `secret`, `credentials`, "
        "`apiKey`; for Grafana's use `grafanaAdminPassword`).",
        examples=[{"aiscluster": {"skipHostIP": True}}],
    )

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


_IMAGE_RULES = (
    "`[registry/]path:tag` by Docker's reference grammar (lowercase path), no digests (the chart renders "
    "`repository:tag`)."
)


class Images(_Section):
    """The AIStore container images."""

    init_container: Image = Field(
        default=DEFAULT_INIT_IMAGE, title="initContainer image", description=_IMAGE_RULES, examples=[DEFAULT_INIT_IMAGE]
    )
    aisnode: Image = Field(
        default=DEFAULT_AISNODE_IMAGE, title="Aisnode image", description=_IMAGE_RULES, examples=[DEFAULT_AISNODE_IMAGE]
    )


class Targets(_Section):
    """The storage targets: their nodes and each node's disks."""

    initial_count: int = Field(
        default=0,
        ge=0,
        strict=True,
        title="Initial number of targets",
        description="`0` means all target nodes; never more than the target nodes.",
        examples=[0],
    )
    nodes: NodePatterns = Field(title="Target nodes", description=_NODE_PATTERN_RULES + ".", examples=[["cpu{01..12}"]])
    mountpoints: MountpointPatterns = Field(
        title="Mountpoints",
        description="Absolute, normalized, distinct, none inside another or the state path, none of the host's own "
        "directories; lowercase letters, digits, `-` and `/` only (the chart names a volume after each); at most "
        f"{MAX_MOUNTPOINTS} per node. Patterns as in `targets.nodes`.",
        examples=[["/ais/sd[a-j]"]],
    )
    # Acknowledgements of a scale-in of a deployed cluster (see aisinfra.safety).
    decommissioned: list[NodeName] = Field(
        default_factory=list,
        title="Decommissioned target nodes",
        description=_SCALE_IN + "Deployed target nodes taken out of `targets.nodes` on purpose.",
        examples=[["cpu12"]],
    )
    scale_in_to: int | None = Field(
        default=None,
        ge=0,
        strict=True,
        title="Acknowledged lower target count",
        description=_SCALE_IN + "Must equal the worksheet's target count.",
        examples=[11],
    )
    removed_mountpoints: list[AbsolutePath] = Field(
        default_factory=list,
        title="Removed mountpoints",
        description=_SCALE_IN + "Deployed mountpoints taken out of `targets.mountpoints` on purpose.",
        examples=[["/ais/sdj"]],
    )


class Proxies(_Section):
    """The gateways: their nodes and the initial primary."""

    nodes: NodePatterns = Field(
        title="Proxy nodes",
        description="As `targets.nodes` (`init` offers the target nodes); at least three advised for HA.",
        examples=[["cpu{01..03}"]],
    )
    initial_primary: NodeName | None = Field(
        default=None,
        title="Initial primary node",
        description="Must be a proxy node; unset: the first proxy node.",
        examples=["cpu01"],
    )
    initial_primary_label: Boolean = Field(
        default=True,
        title="Initial primary label",
        description="Set `false` once the cluster is up and the label is removed.",
        examples=[True],
    )


class Storage(_Section):
    """Monitoring storage: a volume this program creates on a node, or an existing claim."""

    node: Annotated[str, AfterValidator(_monitoring_node), _text_schema(_DNS_SUBDOMAIN.pattern, 63)] | None = None
    path: HostDirectory | None = None
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

    @property
    def identity(self) -> str:
        """Where the data lives, in init's notation: ``NODE:PATH:SIZE`` or ``claim:NAME``."""
        if self.existing_claim is not None:
            return f"claim:{self.existing_claim}"
        return f"{self.node}:{self.path}:{self.size}"


class Alerts(_Section):
    """Thresholds of the Prometheus alerting rules (aisinfra.monitoring.alerts)."""

    disk_warning_percent: Annotated[int, Field(ge=1, le=99, strict=True)] = Field(
        default=85, title="Mountpoint full: warning", description="Percent of a mountpoint's space used.", examples=[80]
    )
    disk_critical_percent: Annotated[int, Field(ge=1, le=99, strict=True)] = Field(
        default=95,
        title="Mountpoint full: critical",
        description="Percent of a mountpoint's space used; above `diskWarningPercent`.",
        examples=[90],
    )
    fill_within_hours: Annotated[int, Field(ge=1, le=720, strict=True)] = Field(
        default=24,
        title="Mountpoint filling",
        description="Alert when a mountpoint is predicted to fill within this many hours.",
        examples=[48],
    )
    # Share of the time a mountpoint's disk is busy (node_disk_io_time_seconds_total's rate).
    disk_busy_percent: Annotated[int, Field(ge=1, le=100, strict=True)] = Field(
        default=90, title="Disk saturated", description="Percent of the time a disk is busy.", examples=[95]
    )
    disk_busy_minutes: Annotated[int, Field(ge=1, le=1440, strict=True)] = Field(
        default=30,
        title="Disk saturated for",
        description="Minutes a disk stays above `diskBusyPercent` before the alert fires.",
        examples=[60],
    )
    node_down_minutes: Annotated[int, Field(ge=1, le=1440, strict=True)] = Field(
        default=5,
        title="Target node down for",
        description="Minutes a target node's node-exporter is gone before the alert fires.",
        examples=[10],
    )

    @model_validator(mode="after")
    def _warning_before_critical(self) -> Alerts:
        if self.disk_warning_percent >= self.disk_critical_percent:
            raise ValueError(
                f"diskWarningPercent ({self.disk_warning_percent}) must be below diskCriticalPercent "
                f"({self.disk_critical_percent})"
            )
        return self


class Monitoring(_Section):
    """Prometheus, Graphite and Grafana, installed with the chart, or an external Graphite."""

    enabled: Boolean = Field(
        default=True,
        title="Monitoring on/off",
        description="`true`: Prometheus, Graphite and Grafana with the chart.",
        examples=[True],
    )
    prometheus: Boolean | None = Field(
        default=None,
        title="Prometheus alone",
        description="Unset: follows `monitoring.enabled`. Only `true` with monitoring off: the chart cannot run "
        "Graphite/Grafana without Prometheus.",
        examples=[True],
    )
    graphite: Storage | None = Field(
        default=None,
        title="Graphite storage",
        description=_STORAGE_RULES + ".",
        examples=[{"node": "cpu01", "path": "/data/graphite", "size": "250Gi"}],
    )
    grafana: Storage | None = Field(
        default=None,
        title="Grafana storage",
        description="As `monitoring.graphite`.",
        examples=[{"existingClaim": "grafana-data"}],
    )
    external_graphite: HostPort | None = Field(
        default=None,
        title="External Graphite",
        description="`host:port`; required while monitoring is off.",
        examples=["graphite.example.com:2003"],
    )
    alerts: Alerts = Field(default=Alerts(), title="Alert thresholds", description="See each key below.")


class Preflight(_Section):
    """The disk checks on every target node before AIStore installs (aisinfra.program.preflight)."""

    enabled: Boolean = Field(
        default=True,
        title="Disk checks before install",
        description="`false` skips the checks, which `render` and the `preflight` stack output then say; see "
        "[the preflight](preflight.md).",
        examples=[True],
    )
    image: Image = Field(
        default=DEFAULT_PREFLIGHT_IMAGE,
        title="Image of the disk checks",
        description="Pinned; any with a POSIX `sh`, `stat`, `ls`, `grep` does (e.g. your registry's copy).",
        examples=[DEFAULT_PREFLIGHT_IMAGE],
    )


class IdentityChange(_Section):
    """Deliberate changes of a deployed cluster's identity, each naming the new value."""

    release_name: str | None = Field(
        default=None, title="New release name", description=_IDENTITY, examples=["prod-ais"]
    )
    namespace: str | None = Field(default=None, title="New namespace", description=_IDENTITY, examples=["ais-prod"])
    state_path: str | None = Field(
        default=None, title="New state path", description=_IDENTITY, examples=["/var/lib/ais"]
    )
    chart: str | None = Field(
        default=None, title="New chart source", description=_IDENTITY, examples=["../ais-k8s/helm/ais/charts"]
    )
    # A monitoring service's storage (Storage.identity, or NO_STORAGE).
    graphite: str | None = Field(
        default=None,
        title="New Graphite storage",
        description="`NODE:PATH:SIZE`, `claim:NAME` or `none`. " + _IDENTITY,
        examples=["cpu02:/data/graphite:250Gi"],
    )
    grafana: str | None = Field(
        default=None,
        title="New Grafana storage",
        description="As `identityChange.graphite`.",
        examples=["claim:grafana-data"],
    )


class Worksheet(_Section):
    release_name: ReleaseName = Field(
        title="Release name",
        description="DNS label starting with a letter (the chart names Services after it), at most 53 characters; "
        "every name the chart builds from it must fit: the `<fullname>-target`/`-proxy` StatefulSets (and "
        "`<release>-graphite` with monitoring) at most 52 characters, since their pods' `controller-revision-hash` "
        "label adds `-` and a 10-character hash (kubernetes#64023), `<fullname>-electable` at most 63; with "
        "monitoring, no `graphite` (and with Prometheus no `prometheus`) in it, since the chart sends to "
        "`<release>-graphite`/`<release>-prometheus-server` while those subcharts then name their Services otherwise.",
        examples=["prod-aistore"],
    )
    namespace: Namespace = Field(
        title="K8s namespace",
        description="DNS label, not `default` or `kube-*`; one AIStore cluster per namespace.",
        examples=["ais-prod"],
    )
    # The program creates the namespace unless it exists already (e.g. with a pull secret or
    # the claims named in monitoring); then it only reads it and never deletes it.
    existing_namespace: TopLevelBoolean = Field(
        default=False,
        title="Namespace made beforehand",
        description="`false`: the program creates the namespace. `true`: it only reads it (needed for "
        "`existingClaim`, whose claim lives there).",
        examples=[False],
    )
    state_path: StatePath = Field(
        default=DEFAULT_STATE_PATH,
        title="AIStore state path prefix",
        description=_HOST_PATH_RULES + "; at most 4031 characters (the kernel's 4095 less what the chart appends), "
        "each name at most 255.",
        examples=[DEFAULT_STATE_PATH],
    )
    chart: Chart = Field(
        title="Chart source", description=Chart.__doc__, examples=[{"path": "../ais-k8s/helm/ais/charts"}]
    )
    images: Images = Field(default=Images(), title="Images", description=Images.__doc__)
    targets: Targets = Field(title="Targets", description=Targets.__doc__)
    proxies: Proxies = Field(title="Proxies", description=Proxies.__doc__)
    monitoring: Monitoring = Field(default=Monitoring(), title="Monitoring", description=Monitoring.__doc__)
    preflight: Preflight = Field(default=Preflight(), title="Preflight", description=Preflight.__doc__)
    # SecretStr: the password never shows in a repr, a log line or an error message.
    grafana_admin_password: SecretStr | None = Field(
        default=None,
        title="Grafana admin password",
        description="Only as a secret (`pulumi config set --secret grafanaAdminPassword`); reaches Grafana through a "
        "Secret. Unset: the chart makes up a new one at every install and upgrade, restarting Grafana each time "
        "(the program warns; set one).",
    )
    protect: TopLevelBoolean = Field(
        default=True,
        title="Teardown safety",
        description="Protects the release, the namespace and the monitoring volumes from deletion; `false` only "
        "for throwaway stacks.",
        examples=[True],
    )
    identity_change: IdentityChange = Field(
        default=IdentityChange(), title="Deliberate identity change", description=IdentityChange.__doc__
    )
    # The cluster's Kubernetes version: `render` and `check` validate every object against its API.
    kubernetes_version: KubernetesVersion = Field(
        default=DEFAULT_KUBERNETES_VERSION,
        title="Cluster's Kubernetes version",
        description="The CLI hands a top-level value over as written, so unquoted 1.30 stays 1.30; `render` and "
        "`check` validate every object against that version's API.",
        examples=[DEFAULT_KUBERNETES_VERSION],
    )

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

    def storage_identity(self, service: str) -> str:
        storage: Storage | None = getattr(self.monitoring, service)
        if not self.monitoring.enabled or storage is None:
            return NO_STORAGE
        return storage.identity

    @property
    def prometheus_enabled(self) -> bool:
        if self.monitoring.prometheus is None:
            return self.monitoring.enabled
        return self.monitoring.prometheus


# --- loading --------------------------------------------------------------------------------


def decoded(config: dict[str, Any]) -> dict[str, Any]:
    """Stack config as the model reads it: the CLI's JSON text of objects and lists parsed. Under
    `pulumi up` the CLI, not the stack reader, read the file: the JSON is held to the stack
    reader's bounds here (``WorksheetError`` naming the key), before anything walks it."""
    raw = {key: _decode(value) for key, value in config.items()}
    problems = [f"{key}: {problem}" for key, value in raw.items() if (problem := _bound_problem(value)) is not None]
    if problems:
        raise WorksheetError(problems)
    return raw


class _TooDeep:
    """What JSON nested past Python's own recursion limit decodes to: refused as too deep."""


def _bound_problem(value: Any) -> str | None:
    if isinstance(value, _TooDeep):
        return TOO_DEEP
    found = expansion_problem(value, _json_children)
    return found[1] if found is not None else None


def _json_children(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        return value.values()
    return value if isinstance(value, list) else ()


def parse_worksheet(raw: dict[str, Any], secret_keys: frozenset[str] = frozenset()) -> Worksheet:
    """Validate decoded stack config (``aisinfra:`` keys without the namespace) into a
    Worksheet by the worksheet's own rules. ``secret_keys`` names the keys whose values were
    set with ``--secret``.

    Every mistake is reported in one run: each key's own mistakes, and the rules across keys
    on every key that is valid. Only a rule that uses a key with a mistake of its own waits,
    and ``WorksheetError.waiting`` says which keys it waits for."""
    try:
        return _checked_whole(Worksheet.model_validate(raw), secret_keys)
    except ValidationError as error:
        problems = [_describe(detail) for detail in error.errors()]
    partial, _ = _partial(Worksheet, raw, ())
    assert isinstance(partial, Worksheet)  # raw is a mapping, so the worksheet itself is built
    cross_problems, waiting = _cross_checks(partial, secret_keys)
    raise WorksheetError(problems + [Problem.from_text(text) for text in cross_problems], waiting)


def _checked_whole(worksheet: Worksheet, secret_keys: frozenset[str]) -> Worksheet:
    problems, waiting = _cross_checks(worksheet, secret_keys)
    if problems:
        raise WorksheetError(problems, waiting)
    return worksheet


class _WaitingError(Exception):
    """A rule across keys touched a key whose value has a mistake of its own."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


class _Invalid:
    """Stands for a missing or invalid key in a partly valid worksheet: any use of it stops
    the rule that uses it (``_WaitingError``), which then waits for the key to be fixed."""

    def __init__(self, key: str):
        self.key = key

    def __getattr__(self, name: str) -> Any:
        raise _WaitingError(self.key)

    def __iter__(self) -> Iterator[Any]:
        raise _WaitingError(self.key)

    def __bool__(self) -> bool:
        raise _WaitingError(self.key)

    def __len__(self) -> int:
        raise _WaitingError(self.key)

    def __eq__(self, other: object) -> bool:
        raise _WaitingError(self.key)

    def __ne__(self, other: object) -> bool:
        raise _WaitingError(self.key)

    def __lt__(self, other: object) -> bool:
        raise _WaitingError(self.key)

    def __gt__(self, other: object) -> bool:
        raise _WaitingError(self.key)

    def __contains__(self, item: object) -> bool:
        raise _WaitingError(self.key)

    def __hash__(self) -> int:
        raise _WaitingError(self.key)

    def __format__(self, spec: str) -> str:
        raise _WaitingError(self.key)

    def __add__(self, other: object) -> Any:
        raise _WaitingError(self.key)

    def __radd__(self, other: object) -> Any:
        raise _WaitingError(self.key)


def _partial(model: type[_Section], raw: Any, location: tuple[str, ...]) -> tuple[_Section | _Invalid, bool]:
    """``model`` built from ``raw`` with each field validated on its own: an invalid or
    missing field becomes an ``_Invalid``, so the rules across keys run on the rest; and
    whether it is whole (nothing in it is ``_Invalid``). Unknown keys are left out (they are
    reported on their own); a section whose fields are valid but which breaks its own rule
    (``chart`` given two ways) is ``_Invalid`` as a whole."""
    if not isinstance(raw, dict):
        return _Invalid(dotted_path(location)), False
    aliases = {str(info.alias) for info in model.model_fields.values()}
    try:
        return model.model_validate({key: value for key, value in raw.items() if key in aliases}), True
    except ValidationError:
        pass
    whole = True
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        alias = str(info.alias)
        key = dotted_path((*location, alias))
        section = section_type(info.annotation)
        if alias not in raw:
            values[name] = _Invalid(key) if info.is_required() else info.get_default(call_default_factory=True)
        elif section is not None and isinstance(raw[alias], dict):
            values[name], whole_section = _partial(section, raw[alias], (*location, alias))
            whole = whole and whole_section
        else:
            annotation: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
            try:
                values[name] = TypeAdapter(annotation).validate_python(raw[alias])
            except ValidationError:
                values[name] = _Invalid(key)
        whole = whole and not isinstance(values[name], _Invalid)
    if not whole:
        return model.model_construct(**values), False
    try:  # every field is valid (the section failed for unknown keys inside): check the section's own rules
        valid = {str(info.alias): values[name] for name, info in model.model_fields.items() if info.alias in raw}
        return model.model_validate(valid), True
    except ValidationError:
        return _Invalid(dotted_path(location)), False


def _decode(value: Any) -> Any:
    """The CLI hands object and list config over as JSON text; scalars stay strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
        except RecursionError:
            return _TooDeep()
    return value


def dotted_path(location: Sequence[int | str]) -> str:
    """``targets.mountpoints[1]``: a location in the worksheet (or in any nested document)."""
    key = ""
    for part in location:
        key += f"[{part}]" if isinstance(part, int) else (f".{part}" if key else str(part))
    return key


def _describe(detail: Any) -> Problem:
    location = tuple(detail["loc"])
    if detail["type"] == "extra_forbidden":
        if location[-1] == "":  # no name to show: the key is named by where it stands
            if len(location) == 1:
                return Problem("aisinfra:", "a key with no name after 'aisinfra:'; remove it or write the key's name")
            return Problem(dotted_path(location[:-1]), "holds a key with no name (''); remove it or write its name")
        return Problem(dotted_path(location), f"unknown key{_suggestion(location)}; remove it or fix its spelling")
    return Problem(dotted_path(location), error_message(detail))


def error_message(detail: Any) -> str:
    """A validation error in plain words: what is wrong and what to do, never pydantic's
    own wording (``Input should be a valid list``), which names neither."""
    kind, value, context = detail["type"], detail.get("input"), detail.get("ctx") or {}
    if kind == "value_error":  # our own rules' ValueErrors say it all
        return str(context.get("error", detail["msg"]))
    if kind == "missing":
        return "required, but not set; add it (docs/worksheet.md says what it takes)"
    got = _shown(value)
    if kind == "string_type":
        return f"must be text, not {got}; quote the value"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, not {got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, not {got}"
    if kind == "list_type":
        return f"must be a list, not {got}; write [first, second] or one '- entry' per line"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys (key: value), not {got}"
    if kind == "greater_than_equal":
        return f"must be {context.get('ge')} or more, not {got}"
    if kind == "less_than_equal":
        return f"must be {context.get('le')} or less, not {got}"
    if kind == "too_short":
        return "must list at least one entry, but is empty"
    return f"{got} is not a value this key takes; docs/worksheet.md says what it takes"


def _shown(value: Any) -> str:
    """A value as the user wrote it in YAML, with what YAML made of it."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {_quoted(value)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"'{value}'"


def section_type(annotation: Any) -> type[_Section] | None:
    """The section type a field holds (``Storage`` for ``Storage | None``), if any."""
    candidates = typing.get_args(annotation) or (annotation,)
    return next((kind for kind in candidates if isinstance(kind, type) and issubclass(kind, _Section)), None)


def _suggestion(location: tuple[int | str, ...]) -> str:
    """A close spelling among the keys allowed where the unknown key stands."""
    section: type[_Section] | None = Worksheet
    for part in location[:-1]:
        if isinstance(part, int) or section is None:
            continue
        field = next((info for info in section.model_fields.values() if info.alias == part), None)
        section = section_type(field.annotation) if field else None
    if section is None:
        return ""
    known = [str(info.alias) for info in section.model_fields.values()]
    unknown = str(location[-1])
    close = [name for name in known if name.lower() == unknown.lower()]
    close = close or difflib.get_close_matches(unknown, known, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


# --- rules across keys ---------------------------------------------------------------------


def _cross_checks(worksheet: Worksheet, secret_keys: frozenset[str]) -> tuple[list[str], list[str]]:
    """The rules across keys: the problems found, and the keys that rules had to wait for
    (in a partly valid worksheet, a rule that uses an invalid key cannot run yet)."""
    rules: list[Callable[[], list[str]]] = [
        lambda: _duplicates("targets.nodes", worksheet.targets.nodes),
        lambda: _duplicates("proxies.nodes", worksheet.proxies.nodes),
        lambda: _duplicates("targets.mountpoints", worksheet.targets.mountpoints),
        lambda: _nested_mountpoints(worksheet.targets.mountpoints),
        lambda: _acknowledgement_rules(worksheet),
        lambda: _identity_acknowledgement_rules(worksheet),
        lambda: _state_path_rules(worksheet),
        lambda: _count_rules(worksheet),
        lambda: _primary_rules(worksheet),
        lambda: _monitoring_rules(worksheet),
        lambda: _monitoring_storage_collisions(worksheet),
        lambda: _secret_rules(worksheet, secret_keys),
    ]
    problems: list[str] = []
    waiting: list[str] = []
    for rule in rules:
        try:
            problems += rule()
        except _WaitingError as wait:
            waiting.append(wait.key)
    return problems, waiting


def _acknowledgement_rules(worksheet: Worksheet) -> list[str]:
    target_nodes, mountpoints = set(worksheet.target_nodes), set(worksheet.mountpoints)
    problems = [
        f"targets.decommissioned[{index}]: '{node}' is still listed in targets.nodes; "
        "a decommissioned node cannot also be a target"
        for index, node in enumerate(worksheet.targets.decommissioned)
        if node in target_nodes
    ]
    problems += [
        f"targets.removedMountpoints[{index}]: '{path}' is still listed in targets.mountpoints"
        for index, path in enumerate(worksheet.targets.removed_mountpoints)
        if path in mountpoints
    ]
    scale_in_to = worksheet.targets.scale_in_to
    if scale_in_to is not None and scale_in_to != worksheet.expected_targets:
        problems.append(
            f"targets.scaleInTo: acknowledges a target count of {scale_in_to}, but the worksheet's count is "
            f"{worksheet.expected_targets}; remove it once its scale-in is done, so that it cannot let a "
            "later one through"
        )
    return problems


def _identity_acknowledgement_rules(worksheet: Worksheet) -> list[str]:
    # Only the keys acknowledged are looked at, so a mistake elsewhere does not hold this back.
    current: dict[str, Callable[[], str]] = {
        "releaseName": lambda: worksheet.release_name,
        "namespace": lambda: worksheet.namespace,
        "statePath": lambda: worksheet.state_path,
        "graphite": lambda: worksheet.storage_identity("graphite"),
        "grafana": lambda: worksheet.storage_identity("grafana"),
    }
    entries = acknowledgement_entries(worksheet.identity_change)
    values = {key: value() for key, value in current.items() if entries[key] is not None}
    return stale_identity_acknowledgements(worksheet.identity_change, values)


def _state_path_rules(worksheet: Worksheet) -> list[str]:
    return [
        f"targets.mountpoints: '{path}' and statePath '{worksheet.state_path}' lie one inside the other; "
        "keep AIStore's state off its data disks"
        for path in worksheet.mountpoints
        if _nested(path, worksheet.state_path) or path == worksheet.state_path
    ]


def _count_rules(worksheet: Worksheet) -> list[str]:
    target_count = len(set(worksheet.target_nodes))
    if worksheet.targets.initial_count > target_count:
        return [
            f"targets.initialCount: {worksheet.targets.initial_count} is more than the "
            f"{target_count} target nodes listed in targets.nodes; lower it or add nodes (0 means all)"
        ]
    return []


def _primary_rules(worksheet: Worksheet) -> list[str]:
    primary = worksheet.proxies.initial_primary
    if primary is not None and primary not in worksheet.proxy_nodes:
        return [
            f"proxies.initialPrimary: '{primary}' is not one of proxies.nodes; the initial primary must be a proxy node"
        ]
    return []


def _secret_rules(worksheet: Worksheet, secret_keys: frozenset[str]) -> list[str]:
    problems = [
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


def acknowledgement_entries(acknowledged: IdentityChange) -> dict[str, str | None]:
    """Each ``identityChange`` entry by its key as written (read field by field: in a partly
    valid worksheet a field may stand for a mistake of its own)."""
    return {str(info.alias): getattr(acknowledged, name) for name, info in IdentityChange.model_fields.items()}


def stale_identity_acknowledgements(acknowledged: IdentityChange, values: dict[str, str]) -> list[str]:
    """``identityChange`` entries (by key as written) that do not name the worksheet's value
    in ``values``: like a stale ``targets.scaleInTo``, one left behind would let a later
    change of that key through unnoticed."""
    entries = acknowledgement_entries(acknowledged)
    return [
        f"identityChange.{key}: acknowledges '{entries[key]}', but the worksheet's value is '{value}'; remove it "
        "once its change is deployed, so that it cannot let a later one through"
        for key, value in values.items()
        if entries[key] is not None and entries[key] != value
    ]


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


def ancestors(path: str) -> list[str]:
    """The directories above an absolute path, nearest first ('/a/b/c' -> '/a/b', '/a')."""
    found = []
    while (path := posixpath.dirname(path)) != "/":
        found.append(path)
    return found


def _nested_mountpoints(patterns: list[str]) -> list[str]:
    # Each path is looked up with its ancestors, not compared with every other path: linear
    # in the number of mountpoints times their depth.
    paths: dict[str, int] = {}
    for index, pattern in enumerate(patterns):
        for path in expand(pattern):
            paths.setdefault(path, index)  # a repeat is reported by _duplicates
    problems: list[str] = []
    for path, index in paths.items():
        for outer in ancestors(path):
            if outer not in paths:
                continue
            outer_index = paths[outer]
            first, second = (outer, path) if outer_index <= index else (path, outer)
            relation = "is inside" if second == path else "contains"
            problems.append(
                f"targets.mountpoints[{max(index, outer_index)}]: '{second}' {relation} '{first}' "
                f"(targets.mountpoints[{min(index, outer_index)}]); each mountpoint must be a filesystem "
                "of its own, not a directory of another"
            )
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


def _monitoring_storage_collisions(worksheet: Worksheet) -> list[str]:
    """Graphite's and Grafana's data must live apart from each other and from AIStore's:
    not in one directory, not on a target's data disk, not in AIStore's state tree."""
    monitoring = worksheet.monitoring
    if not monitoring.enabled:
        return []
    storages = [(service, getattr(monitoring, service)) for service in ("graphite", "grafana")]
    problems: list[str] = []
    graphite, grafana = (storage for _, storage in storages)
    if graphite is not None and grafana is not None:
        if graphite.existing_claim is not None and graphite.existing_claim == grafana.existing_claim:
            problems.append(
                f"monitoring.grafana.existingClaim: '{grafana.existing_claim}' is also "
                "monitoring.graphite.existingClaim; "
                "Graphite and Grafana would write into one volume: give each a claim of its own"
            )
        if graphite.node is not None and graphite.node == grafana.node and graphite.path and grafana.path:
            relation = path_relation(grafana.path, graphite.path)
            if relation:
                problems.append(
                    f"monitoring.grafana.path: '{grafana.path}' on node '{grafana.node}' {relation} "
                    f"monitoring.graphite.path '{graphite.path}'; give Graphite and Grafana a directory each"
                )
    target_nodes = set(worksheet.target_nodes)
    aistore_nodes = target_nodes | set(worksheet.proxy_nodes)
    mountpoints = set(worksheet.mountpoints)
    for service, storage in storages:
        if storage is None or storage.node is None or storage.path is None:
            continue
        key, path, node = f"monitoring.{service}.path", storage.path, storage.node
        if node in target_nodes:
            disk = next(
                (mountpoint for mountpoint in [path, *ancestors(path)] if mountpoint in mountpoints),
                None,
            )
            disk = disk or next(
                (mountpoint for mountpoint in worksheet.mountpoints if _inside(mountpoint, path)),
                None,
            )
            if disk is not None:
                problems.append(
                    f"{key}: '{path}' on node '{node}' {path_relation(path, disk)} the target mountpoint "
                    f"'{disk}' of that node (a target node); keep monitoring data off AIStore's data disks"
                )
        if node in aistore_nodes:
            relation = path_relation(path, worksheet.state_path)
            if relation:
                problems.append(
                    f"{key}: '{path}' on node '{node}' {relation} statePath '{worksheet.state_path}', where AIStore "
                    "keeps its state on that node; choose a directory outside it"
                )
    return problems


def path_relation(path: str, other: str) -> str:
    """How ``path`` relates to ``other`` in words; empty when they are apart."""
    if path == other:
        return "is the same directory as"
    if _inside(path, other):
        return "lies inside"
    if _inside(other, path):
        return "contains"
    return ""
