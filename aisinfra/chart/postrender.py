"""Helm post-renderer for the AIStore chart (ais 0.1.0) and its grafana/prometheus subcharts.

Helm runs it with no arguments: rendered manifests on stdin, fixed manifests on stdout.
Input it cannot use is reported on stderr, one problem per line, with a non-zero exit; input text
in a problem (a ``# Source:`` path, a name, a key) shows every character Python does not call
printable as its escape (``\\x1b``, ``\\r``, ``\\u202e``): no control character from the input
reaches the terminal.
Each fix applies only to an object that has the defect:

1. A container's volumeMount that names no volume of its pod is renamed to the one volume
   whose name equals the mount's with '.' replaced by '-' (the chart mounts ``fspath.ais.sda``
   but names the volume ``fspath-ais-sda``). Without exactly one such volume the mount is
   left alone, for the API server to reject.
2. Pod (anti-)affinity terms keyed on ``topology.kubernetes.io/node``, which no node carries,
   are keyed on ``kubernetes.io/hostname``.
3. APIs that Kubernetes stopped serving are moved to their successor where that is
   mechanical, and refused otherwise (``_API_RULES``). PodSecurityPolicies have no successor
   and are dropped, with every RBAC rule that does nothing but ``use`` them, every role such
   a removal leaves without rules, and the bindings of those roles.
4. Cluster-scoped objects of ``RENAMED_CLUSTER_KINDS`` are renamed
   ``<namespace>.<release>.<name>`` and every reference to them in the manifests follows.

Lists. The objects in a ``v1 List`` (its ``items``, and the items of Lists among them) are
upgraded, renamed, dropped and read for the release's identity like any other object, in place:
the List stays one document, copied byte for byte when no fix touches an item and rewritten whole
when one does; a dropped item leaves ``items`` (a List emptied so stays, as ``items: []``). Helm and
kubectl create a List's items as objects of their own either way; flattening them into documents
of their own here would rewrite every List, touched or not, and lose the comments that lead it.
An item that is no Kubernetes object is refused as such a document is.

Release identity. Helm tells the post-renderer nothing, so the manifests do: the namespace
comes from the ``namespace`` of ServiceAccount subjects in role bindings, the ``K8S_NS`` env
of containers and ``metadata.namespace``; the release from the ``release`` and
``app.kubernetes.io/instance`` labels. Each must take exactly one value across the manifests
-- but only when there is a cluster-scoped object to rename; otherwise both are ignored.
Both must be DNS labels (a dotted release name is refused; the chart's Service names could
not carry one anyway). Neither can contain a dot, so the first two dots of a renamed name
mark off namespace and release: two releases never produce the same name. A name that
already starts with ``<namespace>.<release>.`` is kept, which makes renaming idempotent.

Output. Documents no fix touches are copied byte for byte, in their order, empty documents
included; dropped documents vanish; a changed document is re-serialized under the comments
that led it (Helm's ``# Source:`` line), in its own line breaks, every scalar no fix changed
written as it was (an unquoted timestamp, ``yes``, ``0777`` stay as written) -- except in a list
a fix shortened (the RBAC rules after a dropped one), whose elements are matched by position and
so written anew, with the same values; it loses comments inside it. Objects are told apart by
kind, namespace and name. A document that cannot be read is reported with its ``# Source:``:
bad YAML, a key written twice in one mapping (the same text, as Go's YAML readers and the stack
reader compare keys, or the same value, as ``0x1F`` and ``31``, of which PyYAML would keep only the
last), a value that does not fit its explicit tag, an alias that makes the document contain itself,
and -- before anything walks it -- nesting deeper than 100 levels or aliases that expand to
more than a million values (the stack reader's bounds and words, ``aisinfra.worksheet.yaml_bounds``).

Cost. Time and memory grow in proportion to the manifests (bench/postrender_at_scale.py; 50 MB
take about 17 s of CPU and 2 GB, docs/performance.md). Where PyYAML has libyaml, libyaml composes
every document, about ten times faster than PyYAML's own parser, which reads again only what
libyaml refuses -- its words are the problems', and it reads the few documents only it accepts
(libyaml in turn takes some text PyYAML refuses, tabs in some places, as Go's readers, ported from
libyaml, do). A document without aliases is built into values directly, PyYAML's constructor
building any other; a changed document is written by libyaml's emitter where that writes exactly
what PyYAML's writes (``_dump``). Without libyaml, PyYAML's own code does all of it, to the same
output.
"""

from __future__ import annotations

import functools
import gc
import io
import itertools
import re
import sys
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any, ClassVar

import yaml

# naming, k8s and yaml_bounds are stdlib-only: the post-renderer may run under a bare python3 with PyYAML.
from aisinfra.chart.naming import cluster_scoped_prefix
from aisinfra.worksheet.k8s import DNS_LABEL, MAX_RELEASE_NAME
from aisinfra.worksheet.yaml_bounds import CONTAINS_ITSELF, NestingBound, YamlBoundError, expansion_problem

Manifest = dict[str, Any]

_DOCUMENT_START = re.compile(r"---(?:[ \t]+(?:#.*)?)?")
_LINE = re.compile(r"[^\n]*\n|[^\n]+")

BOGUS_TOPOLOGY_KEY = "topology.kubernetes.io/node"
HOSTNAME_TOPOLOGY_KEY = "kubernetes.io/hostname"

K8S_NAMESPACE_ENV = "K8S_NS"
RELEASE_LABELS = ("release", "app.kubernetes.io/instance")
# Still honoured by the volume controller, so it is a reference like storageClassName.
LEGACY_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"

RENAMED_CLUSTER_KINDS = frozenset(
    {
        "ClusterRole",
        "ClusterRoleBinding",
        "IngressClass",
        "MutatingWebhookConfiguration",
        "PersistentVolume",
        "PriorityClass",
        "StorageClass",
        "ValidatingWebhookConfiguration",
    }
)

_APPS_V1_KINDS = frozenset({"DaemonSet", "Deployment", "ReplicaSet", "StatefulSet"})
_WORKLOAD_KINDS = _APPS_V1_KINDS | {"Job", "ReplicationController"}
_SELECTOR_KEYS = ("matchLabels", "matchExpressions")
_BINDING_KINDS = frozenset({"ClusterRoleBinding", "RoleBinding"})
_ROLE_KINDS = frozenset({"ClusterRole", "Role"})


class PostrenderError(ValueError):
    """Manifests the post-renderer cannot fix; ``problems`` holds one line per problem, the input
    text in it shown as ``_shown`` shows it."""

    def __init__(self, problems: list[str]) -> None:
        problems = [_shown(problem) for problem in problems]
        super().__init__("\n".join(problems))
        self.problems = problems


def _shown(text: str) -> str:
    """Text as it may reach a terminal: every character Python does not call printable (an escape
    sequence's ESC, a carriage return, a line break, a bidirectional override from a template's
    path, a name or a key) written as its Python escape, so a problem is one line that shows what
    the input holds. Printable text, accented or not, stays as it is; escaping is idempotent."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else repr(char)[1:-1] for char in text)


@dataclass(frozen=True)
class _ApiRule:
    """What becomes of an object whose (apiVersion, kind) Kubernetes stopped serving."""

    removed_in: str
    upgrade_to: str | None = None
    drop: bool = False
    refusal: str | None = None


_RBAC_V1BETA1, _RBAC_V1 = "rbac.authorization.k8s.io/v1beta1", "rbac.authorization.k8s.io/v1"
_WEBHOOKS_V1BETA1 = "admissionregistration.k8s.io/v1beta1"
_INGRESS_REFUSAL = (
    "networking.k8s.io/v1 replaced the backend's serviceName/servicePort with service.name/port "
    "and requires a pathType for every path"
)
_WEBHOOK_REFUSAL = "admissionregistration.k8s.io/v1 requires sideEffects and admissionReviewVersions"
_API_RULES: dict[tuple[str, str], _ApiRule] = {
    # Kubernetes 1.16 stopped serving workloads outside apps/v1. The old versions defaulted
    # spec.selector from the template's labels; apps/v1 requires it, so it is spelled out.
    ("extensions/v1beta1", "DaemonSet"): _ApiRule("1.16", upgrade_to="apps/v1"),
    ("extensions/v1beta1", "Deployment"): _ApiRule("1.16", upgrade_to="apps/v1"),
    ("extensions/v1beta1", "ReplicaSet"): _ApiRule("1.16", upgrade_to="apps/v1"),
    ("apps/v1beta1", "Deployment"): _ApiRule("1.16", upgrade_to="apps/v1"),
    ("apps/v1beta1", "StatefulSet"): _ApiRule("1.16", upgrade_to="apps/v1"),
    ("apps/v1beta2", "DaemonSet"): _ApiRule("1.16", upgrade_to="apps/v1"),
    ("apps/v1beta2", "Deployment"): _ApiRule("1.16", upgrade_to="apps/v1"),
    ("apps/v1beta2", "ReplicaSet"): _ApiRule("1.16", upgrade_to="apps/v1"),
    ("apps/v1beta2", "StatefulSet"): _ApiRule("1.16", upgrade_to="apps/v1"),
    # Kubernetes 1.16: NetworkPolicy left extensions/v1beta1, unchanged.
    ("extensions/v1beta1", "NetworkPolicy"): _ApiRule("1.16", upgrade_to="networking.k8s.io/v1"),
    # Kubernetes 1.16 moved PodSecurityPolicy to policy/v1beta1; 1.25 removed it with no
    # successor object (Pod Security Admission reads namespace labels instead).
    ("extensions/v1beta1", "PodSecurityPolicy"): _ApiRule("1.16", drop=True),
    ("policy/v1beta1", "PodSecurityPolicy"): _ApiRule("1.25", drop=True),
    # Kubernetes 1.22: these v1beta1 versions stopped being served; v1 has the same schema.
    (_RBAC_V1BETA1, "ClusterRole"): _ApiRule("1.22", upgrade_to=_RBAC_V1),
    (_RBAC_V1BETA1, "ClusterRoleBinding"): _ApiRule("1.22", upgrade_to=_RBAC_V1),
    (_RBAC_V1BETA1, "Role"): _ApiRule("1.22", upgrade_to=_RBAC_V1),
    (_RBAC_V1BETA1, "RoleBinding"): _ApiRule("1.22", upgrade_to=_RBAC_V1),
    ("storage.k8s.io/v1beta1", "StorageClass"): _ApiRule("1.22", upgrade_to="storage.k8s.io/v1"),
    ("scheduling.k8s.io/v1beta1", "PriorityClass"): _ApiRule("1.22", upgrade_to="scheduling.k8s.io/v1"),
    ("networking.k8s.io/v1beta1", "IngressClass"): _ApiRule("1.22", upgrade_to="networking.k8s.io/v1"),
    # Kubernetes 1.22 removed these too, but their successors changed shape or required fields.
    ("extensions/v1beta1", "Ingress"): _ApiRule("1.22", refusal=_INGRESS_REFUSAL),
    ("networking.k8s.io/v1beta1", "Ingress"): _ApiRule("1.22", refusal=_INGRESS_REFUSAL),
    ("apiextensions.k8s.io/v1beta1", "CustomResourceDefinition"): _ApiRule(
        "1.22", refusal="apiextensions.k8s.io/v1 requires a structural schema for every version"
    ),
    (_WEBHOOKS_V1BETA1, "MutatingWebhookConfiguration"): _ApiRule("1.22", refusal=_WEBHOOK_REFUSAL),
    (_WEBHOOKS_V1BETA1, "ValidatingWebhookConfiguration"): _ApiRule("1.22", refusal=_WEBHOOK_REFUSAL),
    # Kubernetes 1.25: CronJob and PodDisruptionBudget moved to v1 unchanged -- except that
    # an empty PDB selector, which matched no pod, matches every pod of the namespace in v1.
    ("batch/v1beta1", "CronJob"): _ApiRule("1.25", upgrade_to="batch/v1"),
    ("policy/v1beta1", "PodDisruptionBudget"): _ApiRule("1.25", upgrade_to="policy/v1"),
    # Kubernetes 1.25: autoscaling/v2 nests each metric's target (target.averageUtilization).
    ("autoscaling/v2beta1", "HorizontalPodAutoscaler"): _ApiRule(
        "1.25", refusal="autoscaling/v2 moved each metric's target under metrics[].*.target"
    ),
    # Kubernetes 1.26: autoscaling/v2 has the schema of v2beta2.
    ("autoscaling/v2beta2", "HorizontalPodAutoscaler"): _ApiRule("1.26", upgrade_to="autoscaling/v2"),
}


@dataclass(frozen=True)
class ReleaseIdentity:
    namespace: str
    release: str

    @property
    def prefix(self) -> str:
        return cluster_scoped_prefix(self.namespace, self.release)


def cluster_scoped_name(identity: ReleaseIdentity, name: str) -> str:
    """The release-unique name of a cluster-scoped object; a name already carrying it is kept."""
    return name if name.startswith(identity.prefix) else identity.prefix + name


@dataclass
class _Document:
    text: str
    node: yaml.Node | None  # as composed, to write back what no fix changed as it was written
    current: Any  # as constructed, and then fixed in place
    changed: bool = False  # set by every fix that changes a value in it
    dropped: bool = False

    def rendered(self) -> str:
        if not self.changed:
            return self.text
        first_line = _LINE.match(self.text)
        line_break = "\r\n" if first_line is not None and first_line.group().endswith("\r\n") else "\n"
        return _leading_comments(self.text) + _dump(self.current, self.node, line_break)


@dataclass(eq=False)
class _Object:
    """A Kubernetes object: a document's own, or an item of a List in it (``items``, that List's)."""

    manifest: Manifest
    document: _Document
    items: list[Any] | None = None

    def drop(self) -> None:
        if self.items is None:
            self.document.dropped = True
        else:
            self.items[:] = [item for item in self.items if item is not self.manifest]
            self.document.changed = True


def postrender(text: str) -> str:
    """The manifests with every fix applied; raises ``PostrenderError`` on unusable input."""
    documents = _parse(text)
    objects = [found for document in documents for found in _objects(document)]
    _apply_api_rules(objects)
    objects = _without_pod_security_policies(objects)
    for found in objects:
        if _fix_pod_spec(found.manifest):
            found.document.changed = True
    _rename_cluster_scoped(objects)
    return "".join(document.rendered() for document in documents if not document.dropped)


def _objects(document: _Document) -> list[_Object]:
    """The document's object, or the objects in the List it is (and in Lists inside that one)."""
    if not isinstance(document.current, dict):
        return []
    found = []
    pending: list[tuple[Manifest, list[Any] | None]] = [(document.current, None)]
    while pending:
        manifest, items = pending.pop()
        if _is_list(manifest):
            pending += [(item, manifest["items"]) for item in reversed(manifest.get("items") or [])]
        else:
            found.append(_Object(manifest, document, items))
    return found


def _is_list(manifest: Manifest) -> bool:
    return manifest["apiVersion"] == "v1" and manifest["kind"] == "List"


def main() -> int:
    try:
        fixed = postrender(sys.stdin.buffer.read().decode("utf-8"))
    except UnicodeDecodeError as error:
        problems = [f"the input is not UTF-8: {error}"]
    except PostrenderError as error:
        problems = error.problems
    else:
        sys.stdout.buffer.write(fixed.encode("utf-8"))
        return 0
    for problem in problems:
        print(f"aisinfra postrender: {problem}", file=sys.stderr)
    return 1


# -- Parsing and serializing ------------------------------------------------------------

# A line that starts a document (``_DOCUMENT_START`` on the line, trailing carriage returns aside).
_DOCUMENT_START_LINE = re.compile(r"^---(?:[ \t]+(?:#[^\n]*)?)?\r*$", re.MULTILINE)


def _split_documents(text: str) -> list[tuple[int, str]]:
    """(first line number, text) of each document, cut before each ``---`` line, so that
    the texts concatenate to the input."""
    # The first document starts at 0, whether or not with '---' (an empty stream is one empty document).
    starts = [0, *(match.start() for match in _DOCUMENT_START_LINE.finditer(text) if match.start())]
    chunks = []
    first_line = 1
    for start, end in itertools.pairwise([*starts, len(text)]):
        chunks.append((first_line, text[start:end]))
        first_line += text.count("\n", start, end)
    return chunks


def _parse(text: str) -> list[_Document]:
    documents: list[_Document] = []
    problems: list[str] = []
    for number, (first_line, chunk) in enumerate(_split_documents(text), start=1):
        source = _source(chunk)
        where = f"document {number} (line {first_line}{source})"
        try:
            node, parsed = _load(chunk)
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            # A mark at the end of the document lies on the next document's first line.
            line = first_line + min(mark.line, len(_LINE.findall(chunk)) - 1) if mark else first_line
            reason = ", ".join(part for part in (error.context, error.problem) if part)
            problems.append(f"document {number} (line {line}{source}): {reason}")
            continue
        except yaml.YAMLError as error:
            problems.append(f"{where}: {' '.join(str(error).split())}")
            continue
        except YamlBoundError as error:
            problems.append(f"{where}: {error.problem}")
            continue
        except _DuplicateKeyError as error:
            problems.append(
                f"document {number} (line {first_line + error.again.start_mark.line}{source}): the key "
                f"'{error.again.value}' is already defined at line {first_line + error.first.start_mark.line}; "
                "write each key once"
            )
            continue
        except (ValueError, KeyError, AttributeError) as error:
            # What PyYAML's constructors raise for an explicit tag the text does not fit (!!int foo).
            problems.append(
                f"{where}: a value does not fit its explicit YAML tag, as !!int on text that is no number "
                f"({type(error).__name__}: {error})"
            )
            continue
        shape_problem = _shape_problem(parsed) if parsed is not None else None
        if shape_problem is not None:
            problems.append(f"{where}: {shape_problem}")
        documents.append(_Document(chunk, node, parsed))
    if problems:
        raise PostrenderError(problems)
    return documents


class _DuplicateKeyError(Exception):
    def __init__(self, first: yaml.ScalarNode, again: yaml.ScalarNode) -> None:
        super().__init__()
        self.first, self.again = first, again


# The tag a resolver gives a scalar depends on its text and whether it is plain or quoted alone
# (there are no path resolvers): worked out once per text, not for each of the millions of scalars
# a large release composes and writes. lru_cache's wrapper is C: put in place of a loader's resolve
# method (``_RememberedTags``), it answers a repeated text without running any Python code.
_TAGS_KEPT = 2**16


class _WrittenTags(yaml.resolver.Resolver):
    """PyYAML's resolution, and Kubernetes' where it differs: Go's YAML readers take some plain
    scalars that PyYAML reads as strings for numbers or booleans (added below); the dumpers resolve
    with these, so they quote such strings."""


_PLAIN = (True, False)  # resolve's 'implicit' for a scalar written plain
_read_tag = functools.lru_cache(maxsize=_TAGS_KEPT)(yaml.resolver.Resolver().resolve)
_written_tag = functools.lru_cache(maxsize=_TAGS_KEPT)(_WrittenTags().resolve)


def _written_resolve(kind: Any, value: Any, implicit: Any) -> Any:
    """A dumper's resolve: a dumper passes a collection's nodes too, which cannot be remembered;
    without path resolvers a collection's tag is the default one."""
    if kind is yaml.ScalarNode:
        return _written_tag(kind, value, implicit)
    return _SEQ_TAG if kind is yaml.SequenceNode else _MAP_TAG


class _RememberedTags:
    """Mixed into a PyYAML loader or dumper, ahead of it: resolves through ``_TAGS``'s function."""

    _TAGS: ClassVar[Any] = staticmethod(_read_tag)

    def __init__(self, *arguments: Any, **options: Any) -> None:
        super().__init__(*arguments, **options)
        # An attribute of the instance comes before the class's method of that name.
        self.__dict__["resolve"] = self._TAGS


class _Loader(NestingBound, _RememberedTags, yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting past the bound the stack reader holds to, and a key
    written twice in one mapping."""

    def flatten_mapping(self, node: yaml.MappingNode) -> None:
        """What the constructor does to a mapping before building it: apply its '<<' merges, which
        puts the merged keys before those written. A key written twice is refused here."""
        written = [key for key, _ in node.value]
        super().flatten_mapping(node)
        duplicate = _duplicate_key(written, self.construct_object)
        if duplicate is not None:
            raise _DuplicateKeyError(*duplicate)


# PyYAML's binding of libyaml composes nodes about ten times faster than PyYAML's own parser.
_LIBYAML: bool = yaml.__with_libyaml__
if _LIBYAML:

    class _LibyamlComposer(NestingBound, _RememberedTags, yaml.CSafeLoader):
        """libyaml's parser and composer (the ones Go's YAML readers were ported from), refusing
        nesting past the bound; it builds nothing, ``_Loader`` and ``_built`` do."""


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _duplicate_key(
    keys: list[yaml.Node], construct: Callable[[yaml.Node], Any]
) -> tuple[yaml.ScalarNode, yaml.ScalarNode] | None:
    """The first key written again in one mapping, and where it was first: the same text, as Go's
    YAML readers (and the stack reader) compare keys, or the same value (``0x1F`` and ``31``),
    of which PyYAML would keep only the last."""
    by_text: dict[str, yaml.ScalarNode] = {}
    by_value: dict[Any, yaml.ScalarNode] = {}
    for key in keys:
        if not isinstance(key, yaml.ScalarNode):
            continue  # a list or a mapping as a key, which the constructor refuses next
        if key.value in by_text:
            return by_text[key.value], key
        by_text[key.value] = key
        if key.tag != _MERGE_TAG:
            value = construct(key)
            if value in by_value:
                return by_value[value], key
            by_value[value] = key
    return None


def _load(chunk: str) -> tuple[yaml.Node | None, Any]:
    """The document's node and value; ``YamlBoundError`` when it nests too deep, its aliases expand
    too far (both measured before anything walks the expansion) or make it contain itself."""
    node = _compose(chunk)
    if node is None:
        return None, None
    aliased = "*" in chunk  # an alias is written '*name'
    problem = expansion_problem(node, _children) if aliased else None
    if problem is not None:
        _, what = problem
        if what == CONTAINS_ITSELF:
            what = "an alias makes the document contain itself, which no Kubernetes object can"
        raise YamlBoundError(what, None)
    if not aliased:
        try:
            return node, _built(node)
        except (_UnusualNodeError, ValueError, KeyError, AttributeError, yaml.YAMLError):
            pass  # PyYAML's constructor builds it, or words what it cannot build
    constructor = _Loader(chunk)
    try:
        return node, constructor.construct_document(node)
    finally:
        constructor.dispose()


def _compose(chunk: str) -> yaml.Node | None:
    """The document's nodes, composed by libyaml where PyYAML has it; a document libyaml cannot
    read is read again by PyYAML's own parser, which words what is wrong with it -- and reads the
    few documents only it accepts. (libyaml also takes some text PyYAML refuses, tabs where PyYAML
    allows none among them; it reads as Helm's and Kubernetes' Go readers, ported from it, do.)"""
    if _LIBYAML:
        composer = _LibyamlComposer(chunk)
        try:
            return composer.get_single_node()
        except yaml.YAMLError:
            pass
        finally:
            composer.dispose()
    loader = _Loader(chunk)
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


class _UnusualNodeError(Exception):
    """A node ``_built`` leaves to PyYAML's constructor."""


_TAG = "tag:yaml.org,2002:"
_STR_TAG, _MAP_TAG, _SEQ_TAG = f"{_TAG}str", f"{_TAG}map", f"{_TAG}seq"
_SCALAR_CONSTRUCTORS = {
    f"{_TAG}{name}": yaml.SafeLoader.yaml_constructors[f"{_TAG}{name}"]
    for name in ("null", "bool", "int", "float", "timestamp", "binary")
}


def _built(node: yaml.Node) -> Any:
    """The value PyYAML's safe constructor builds from a document without aliases, built here
    directly, several times faster: mappings with text keys each written once, lists, and scalars
    by PyYAML's own constructor of their tag. Anything else -- a '<<' merge, a key that is no text
    or is written twice, !!set, !!omap, a tag the value does not fit -- raises, and PyYAML's
    constructor builds the document or words what is wrong."""
    if type(node) is yaml.ScalarNode:
        if node.tag == _STR_TAG:
            return node.value
        construct = _SCALAR_CONSTRUCTORS.get(node.tag)
        if construct is None:
            raise _UnusualNodeError
        return construct(_CONSTRUCTOR, node)
    if type(node) is yaml.MappingNode and node.tag == _MAP_TAG:
        mapping = {}
        for key, value in node.value:
            if type(key) is not yaml.ScalarNode or key.tag != _STR_TAG:
                raise _UnusualNodeError
            mapping[key.value] = _built(value)
        if len(mapping) != len(node.value):
            raise _UnusualNodeError  # a key written twice
        return mapping
    if type(node) is yaml.SequenceNode and node.tag == _SEQ_TAG:
        return [_built(item) for item in node.value]
    raise _UnusualNodeError


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return node.value if isinstance(node, yaml.SequenceNode) else []


def _source(chunk: str) -> str:
    """``, # Source: <template>`` from Helm's comment above the document, when it has one."""
    for line in _leading_comments(chunk).split("\n"):
        comment = line.strip()
        if comment.startswith("# Source:"):
            return f", {comment}"
    return ""


def _shape_problem(value: Any, path: str = "") -> str | None:
    """Why the value is no Kubernetes object, or a List holding something that is none; ``path``
    is where a List holds it (``items[2]``)."""
    at = f"{path}: " if path else ""
    if not isinstance(value, dict):
        return f"{at}expected a Kubernetes object (a mapping), found a {type(value).__name__}"
    if not (_is_text(value.get("apiVersion")) and _is_text(value.get("kind"))):
        return f"{at}not a Kubernetes object: apiVersion and kind must be non-empty strings"
    items = value.get("items") if _is_list(value) else None
    if items is not None and not isinstance(items, list):
        return f"{at}a List's items must be a list of Kubernetes objects, found a {type(items).__name__}"
    for index, item in enumerate(items or []):
        problem = _shape_problem(item, f"{path}.items[{index}]" if path else f"items[{index}]")
        if problem is not None:
            return problem
    return None


def _leading_comments(text: str) -> str:
    """The document's ``---`` line and the comment and blank lines before its content."""
    end = 0
    for line in _LINE.finditer(text):
        stripped = line.group().strip()
        if stripped and not stripped.startswith("#") and not _DOCUMENT_START.fullmatch(stripped):
            break
        end = line.end()
    return text[:end]


class _ManifestDumper(_RememberedTags, yaml.SafeDumper):
    _TAGS = staticmethod(_written_resolve)

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    # Scripts and configs in block style stay readable; the emitter still quotes the text
    # when block style cannot hold it (trailing spaces, for one).
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_ManifestDumper.add_representer(str, _represent_text)
if _LIBYAML:

    class _LibyamlEmitter(_RememberedTags, yaml.CSafeDumper):
        """libyaml's emitter, resolving as ``_ManifestDumper`` does: it decides what to quote."""

        _TAGS = staticmethod(_written_resolve)


for _tag, _pattern, _first_characters in (
    ("tag:yaml.org,2002:float", r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+", "-+.0123456789"),
    ("tag:yaml.org,2002:int", r"0o[0-7]+", "0"),
    ("tag:yaml.org,2002:bool", r"[yYnN]", "yYnN"),
):
    _WrittenTags.add_implicit_resolver(_tag, re.compile(f"^{_pattern}$"), list(_first_characters))

# libyaml's widest line (a C int): it never folds a long value, as sys.maxsize makes PyYAML not.
_LIBYAML_WIDTH = 2**31 - 1
# PyYAML writes a key as '? key' from 123 characters on (it counts the tag it does not write),
# libyaml from 129; both do so for an empty key, but only PyYAML writes ''.
_LONGEST_KEY_ALIKE = 100


@dataclass
class _Writing:
    """Whether libyaml's emitter may write the nodes of a changed document (``_dump``)."""

    libyaml: bool


def _dump(manifest: Manifest, original: yaml.Node | None, line_break: str) -> str:
    """The manifest as YAML, every scalar no fix changed written as it was (an unquoted timestamp
    stays as written, ``yes`` stays ``yes``), in the document's own line breaks.

    libyaml's emitter writes it, several times faster than PyYAML's, where it writes what PyYAML's
    writes: where its text has no backslash (libyaml escapes some characters PyYAML writes as they
    are), no '!' (it writes some tags otherwise), no '...' after the last value (it ends a document
    so after a kept final line break), and every key has 1 to 100 characters. Anything else --
    found over hundreds of thousands of random documents written both ways -- PyYAML's writes."""
    # _written_as builds the manifest's mapping and sequence nodes itself (block style, keys in the
    # manifest's order). The representer builds only those of a value the loader made from !!set,
    # !!omap or !!pairs, with its defaults: block style, keys sorted -- one order on every run,
    # where a set's own order changes with Python's string hashing.
    writing = _Writing(libyaml=_LIBYAML)
    node = _written_as(manifest, original, writing)
    if writing.libyaml:
        text = _written_by_libyaml(node, line_break)
        if text is not None and "\\" not in text and "!" not in text and not text.endswith(_OPEN_ENDED):
            return text
    return _written_by_pyyaml(node, line_break)


_OPEN_ENDED = ("...\n", "...\r\n")


def _written_by_libyaml(node: yaml.Node, line_break: str) -> str | None:
    """The node as libyaml's emitter writes it; None where it cannot (a lone surrogate, which
    PyYAML's escapes)."""
    stream = io.StringIO()
    emitter = _LibyamlEmitter(stream, allow_unicode=True, width=_LIBYAML_WIDTH, line_break=line_break)
    try:
        emitter.open()
        emitter.serialize(node)
        emitter.close()
    except (yaml.YAMLError, UnicodeError):
        return None
    return stream.getvalue()


def _written_by_pyyaml(node: yaml.Node, line_break: str) -> str:
    stream = io.StringIO()
    dumper = _ManifestDumper(stream, allow_unicode=True, width=sys.maxsize, line_break=line_break)
    try:
        dumper.open()
        dumper.serialize(node)
        dumper.close()
    finally:
        dumper.dispose()
    return stream.getvalue()


_CONSTRUCTOR = yaml.SafeLoader("")
# What builds the node of a value no node was composed for. With every alias ignored, it keeps
# nothing of one value for the next: one serves every document.
_REPRESENTER = _ManifestDumper(io.StringIO())


def _written_as(value: Any, original: yaml.Node | None, writing: _Writing) -> yaml.Node:
    """The node that writes ``value``: where the original document held this very value at this
    place, its own scalar as written; otherwise a new one."""
    # A collection node without a flow style is written in block style.
    if isinstance(value, dict):
        # As the loader builds a mapping: a key a '<<' merge brought in and the mapping wrote too holds
        # the mapping's value, written after the merged ones.
        pairs = (
            {_constructed(key_node): (key_node, value_node) for key_node, value_node in original.value}
            if isinstance(original, yaml.MappingNode)
            else {}
        )
        items = []
        for key, item in value.items():
            key_node, value_node = pairs.get(key, (None, None))
            # A key the loader built is text, a number, true, false, null, a date or bytes: a scalar.
            written_key = _written_scalar(key, key_node)
            if not 0 < len(written_key.value) <= _LONGEST_KEY_ALIKE:
                writing.libyaml = False
            items.append((written_key, _written_as(item, value_node, writing)))
        return yaml.MappingNode(_MAP_TAG, items)
    if isinstance(value, list):
        before = original.value if isinstance(original, yaml.SequenceNode) else []
        elements = [_written_as(item, before[i] if i < len(before) else None, writing) for i, item in enumerate(value)]
        return yaml.SequenceNode(_SEQ_TAG, elements)
    return _written_scalar(value, original)


def _written_scalar(value: Any, original: yaml.Node | None) -> yaml.Node:
    """The node of a value that is no mapping and no list: the original scalar as written where it
    holds this very value, else a new node (a set the loader built is a mapping node)."""
    if isinstance(original, yaml.ScalarNode):
        was = _constructed(original)
        if type(was) is type(value) and was == value:
            return _as_written(original)
    return _REPRESENTER.represent_data(value)


def _constructed(node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return None
    if node.tag == _STR_TAG:
        return node.value
    try:
        return _CONSTRUCTOR.construct_object(node)
    except yaml.YAMLError:
        return None
    finally:
        _CONSTRUCTOR.constructed_objects.clear()


def _as_written(original: yaml.ScalarNode) -> yaml.ScalarNode:
    # libyaml's composer gives a plain scalar the style '', PyYAML's None.
    if not original.style and original.tag == _read_tag(yaml.ScalarNode, original.value, _PLAIN):
        # Plain as written: tagged as the dumper reads the text, so it is written plain again.
        return yaml.ScalarNode(_written_tag(yaml.ScalarNode, original.value, _PLAIN), original.value)
    return yaml.ScalarNode(original.tag, original.value, style=original.style or None)


# -- Navigating manifests -----------------------------------------------------------------


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and value != ""


def _mapping_at(value: Any, *path: str) -> dict[str, Any] | None:
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value if isinstance(value, dict) else None


def _mappings_at(value: Any, *path: str) -> list[dict[str, Any]]:
    """The mappings in the list at ``path``; nothing when there is no such list."""
    for key in path:
        if not isinstance(value, dict):
            return []
        value = value.get(key)
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _name(manifest: Manifest) -> Any:
    return (_mapping_at(manifest, "metadata") or {}).get("name")


def _describe(manifest: Manifest) -> str:
    return f"{manifest['kind']}/{_name(manifest)}"


def _pod_spec(manifest: Manifest) -> dict[str, Any] | None:
    kind = manifest["kind"]
    if kind == "Pod":
        return _mapping_at(manifest, "spec")
    if kind == "PodTemplate":
        return _mapping_at(manifest, "template", "spec")
    if kind == "CronJob":
        return _mapping_at(manifest, "spec", "jobTemplate", "spec", "template", "spec")
    if kind in _WORKLOAD_KINDS:
        return _mapping_at(manifest, "spec", "template", "spec")
    return None


def _containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return _mappings_at(pod_spec, "initContainers") + _mappings_at(pod_spec, "containers")


def _claim_templates(manifest: Manifest) -> list[dict[str, Any]]:
    """Every PersistentVolumeClaim the object is or stamps out."""
    if manifest["kind"] == "PersistentVolumeClaim":
        return [manifest]
    claims = _mappings_at(manifest, "spec", "volumeClaimTemplates") if manifest["kind"] == "StatefulSet" else []
    for volume in _mappings_at(_pod_spec(manifest), "volumes"):
        ephemeral_claim = _mapping_at(volume, "ephemeral", "volumeClaimTemplate")
        if ephemeral_claim is not None:
            claims.append(ephemeral_claim)
    return claims


# -- Fix 3: removed APIs ---------------------------------------------------------------------


def _apply_api_rules(objects: list[_Object]) -> None:
    problems = []
    for found in objects:
        manifest = found.manifest
        rule = _API_RULES.get((manifest["apiVersion"], manifest["kind"]))
        if rule is None or rule.drop:
            continue
        refusal = rule.refusal or _upgrade_refusal(manifest)
        if refusal is not None:
            problems.append(
                f"{_describe(manifest)}: {manifest['apiVersion']} {manifest['kind']} was removed in "
                f"Kubernetes {rule.removed_in} and cannot be upgraded mechanically: {refusal}"
            )
            continue
        manifest["apiVersion"] = rule.upgrade_to
        found.document.changed = True
    if problems:
        raise PostrenderError(problems)


def _upgrade_refusal(manifest: Manifest) -> str | None:
    """Why this object cannot move to its successor API, after filling in what the old
    API defaulted; None when it can."""
    kind = manifest["kind"]
    spec = _mapping_at(manifest, "spec")
    if kind in _APPS_V1_KINDS and spec is not None and spec.get("selector") is None:
        template_labels = _mapping_at(spec, "template", "metadata", "labels")
        if not template_labels:
            return "apps/v1 requires spec.selector, and there are no template labels to default it from"
        spec["selector"] = {"matchLabels": dict(template_labels)}
    if kind == "PodDisruptionBudget" and spec is not None:
        selector = spec.get("selector")
        selects_nothing = isinstance(selector, dict) and not any(selector.get(key) for key in _SELECTOR_KEYS)
        if selects_nothing:
            return "its empty selector matches no pod, but in policy/v1 it matches every pod of the namespace"
    return None


def _without_pod_security_policies(objects: list[_Object]) -> list[_Object]:
    """The objects left once PodSecurityPolicies, the roles that only used them and the bindings
    of those roles are dropped."""
    emptied_roles: set[tuple[Any, Any, Any]] = set()
    kept = []
    for found in objects:
        manifest = found.manifest
        rule = _API_RULES.get((manifest["apiVersion"], manifest["kind"]))
        if rule is not None and rule.drop:
            found.drop()
            continue
        remaining = _rules_left(manifest) if manifest["kind"] in _ROLE_KINDS else None
        if remaining is not None and not remaining:
            emptied_roles.add(_role_identity(manifest))
            found.drop()
            continue
        if remaining is not None:
            manifest["rules"] = remaining
            found.document.changed = True
        kept.append(found)
    granting = []
    for found in kept:
        if _role_reference(found.manifest) in emptied_roles:
            found.drop()
        else:
            granting.append(found)
    return granting


def _rules_left(role: Manifest) -> list[Any] | None:
    """The role's rules but those that only grant ``use`` of PodSecurityPolicies; None when it
    has no such rule (or no list of rules)."""
    rules = role.get("rules")
    if not isinstance(rules, list):
        return None
    remaining = [rule for rule in rules if not _only_uses_pod_security_policies(rule)]
    return remaining if len(remaining) < len(rules) else None


def _only_uses_pod_security_policies(rule: Any) -> bool:
    return (
        isinstance(rule, dict)
        and _is_list_of_only(rule.get("resources"), "podsecuritypolicies")
        and _is_list_of_only(rule.get("verbs"), "use")
    )


def _is_list_of_only(value: Any, item: str) -> bool:
    return isinstance(value, list) and bool(value) and all(element == item for element in value)


def _role_identity(role: Manifest) -> tuple[Any, Any, Any]:
    """Kind, namespace and name: a Role is namespaced, so two Roles may share a name."""
    namespace = (_mapping_at(role, "metadata") or {}).get("namespace") if role["kind"] == "Role" else None
    return (role["kind"], _matchable(namespace), _matchable(_name(role)))


def _matchable(value: Any) -> Any:
    """The value, or where it is a list or a mapping (no name a role can have) one that matches
    nothing: the API server refuses such an object, and it takes no binding along."""
    return value if isinstance(value, Hashable) else object()


def _role_reference(manifest: Manifest) -> tuple[Any, Any, Any] | None:
    """The role a binding grants, as ``_role_identity`` names it: a RoleBinding's Role lives in
    the binding's own namespace. An object written without a namespace matches only another
    written without one (both go to the release's namespace); keeping a binding whose role is
    gone grants nothing, while dropping one wrongly would lose it."""
    if manifest["kind"] not in _BINDING_KINDS:
        return None
    role_ref = _mapping_at(manifest, "roleRef") or {}
    kind = role_ref.get("kind")
    namespace = (_mapping_at(manifest, "metadata") or {}).get("namespace") if kind == "Role" else None
    return (_matchable(kind), _matchable(namespace), _matchable(role_ref.get("name")))


# -- Fixes 1 and 2: pod templates ----------------------------------------------------------


def _fix_pod_spec(manifest: Manifest) -> bool:
    """Fixes 1 and 2 in the object's pod template; whether that changed anything."""
    pod_spec = _pod_spec(manifest)
    if pod_spec is None:
        return False
    volume_names = [volume.get("name") for volume in _mappings_at(pod_spec, "volumes")]
    if manifest["kind"] == "StatefulSet":
        volume_names += [_name(claim) for claim in _mappings_at(manifest, "spec", "volumeClaimTemplates")]
    renamed_mounts = _fix_volume_mounts(pod_spec, {name for name in volume_names if isinstance(name, str)})
    return _fix_topology_keys(pod_spec) or renamed_mounts


def _fix_volume_mounts(pod_spec: dict[str, Any], volume_names: set[str]) -> bool:
    renames = []
    for container in _containers(pod_spec):
        for mount in _mappings_at(container, "volumeMounts"):
            name = mount.get("name")
            if not isinstance(name, str) or name in volume_names:
                continue
            wanted = name.replace(".", "-")
            intended = {volume for volume in volume_names if volume.replace(".", "-") == wanted}
            if len(intended) == 1:
                renames.append((mount, intended.pop()))
    for mount, volume in renames:
        mount["name"] = volume
    return bool(renames)


def _fix_topology_keys(pod_spec: dict[str, Any]) -> bool:
    terms = []
    for affinity_kind in ("podAffinity", "podAntiAffinity"):
        affinity = _mapping_at(pod_spec, "affinity", affinity_kind)
        terms += _mappings_at(affinity, "requiredDuringSchedulingIgnoredDuringExecution")
        for weighted in _mappings_at(affinity, "preferredDuringSchedulingIgnoredDuringExecution"):
            terms += [term for term in [_mapping_at(weighted, "podAffinityTerm")] if term is not None]
    bogus = [term for term in terms if term.get("topologyKey") == BOGUS_TOPOLOGY_KEY]
    for term in bogus:
        term["topologyKey"] = HOSTNAME_TOPOLOGY_KEY
    return bool(bogus)


# -- Fix 4: release-unique names for cluster-scoped objects ---------------------------------


def release_identity(manifests: list[Manifest]) -> ReleaseIdentity:
    """The namespace and release the manifests were rendered for (see the module docstring)."""
    namespaces: dict[str, list[str]] = {}
    releases: dict[str, list[str]] = {}
    for manifest in manifests:
        described = _describe(manifest)
        metadata = _mapping_at(manifest, "metadata") or {}
        _note(namespaces, metadata.get("namespace"), f"{described} metadata.namespace")
        for label in RELEASE_LABELS:
            _note(releases, (_mapping_at(metadata, "labels") or {}).get(label), f"{described} label {label}")
        if manifest["kind"] in _BINDING_KINDS:
            for subject in _mappings_at(manifest, "subjects"):
                if subject.get("kind") == "ServiceAccount":
                    _note(namespaces, subject.get("namespace"), f"{described} subject {subject.get('name')}")
        for container in _containers(_pod_spec(manifest) or {}):
            for variable in _mappings_at(container, "env"):
                if variable.get("name") == K8S_NAMESPACE_ENV:
                    _note(namespaces, variable.get("value"), f"{described} env {K8S_NAMESPACE_ENV}")
    namespace = _only_value(
        "namespace", namespaces, "a ServiceAccount subject's namespace, K8S_NS env or metadata.namespace"
    )
    release = _only_value("release", releases, "a 'release' or 'app.kubernetes.io/instance' label")
    problems = []
    if not DNS_LABEL.fullmatch(namespace):
        problems.append(f"namespace '{namespace}' is not a DNS label")
    if not DNS_LABEL.fullmatch(release) or len(release) > MAX_RELEASE_NAME:
        problems.append(
            f"release '{release}' is not a DNS label of at most {MAX_RELEASE_NAME} characters, "
            "so it cannot mark cluster-scoped names unambiguously"
        )
    if problems:
        raise PostrenderError(problems)
    return ReleaseIdentity(namespace, release)


def _note(evidence: dict[str, list[str]], value: Any, source: str) -> None:
    if _is_text(value):
        evidence.setdefault(value, []).append(source)


def _only_value(what: str, evidence: dict[str, list[str]], sources: str) -> str:
    if not evidence:
        raise PostrenderError([f"cannot tell the {what} the manifests belong to: none has {sources}"])
    if len(evidence) > 1:
        found = "; ".join(f"'{value}' ({', '.join(where)})" for value, where in evidence.items())
        raise PostrenderError([f"the manifests disagree on their {what}: {found}"])
    return next(iter(evidence))


def _rename_cluster_scoped(objects: list[_Object]) -> None:
    cluster_scoped = [found.manifest for found in objects if found.manifest["kind"] in RENAMED_CLUSTER_KINDS]
    if not cluster_scoped:
        return
    unnamed = [manifest["kind"] for manifest in cluster_scoped if not _is_text(_name(manifest))]
    if unnamed:
        raise PostrenderError([f"a {kind} has no metadata.name" for kind in unnamed])
    try:
        identity = release_identity([found.manifest for found in objects])
    except PostrenderError as error:
        needing = ", ".join(_describe(manifest) for manifest in cluster_scoped)
        purpose = f"needed to give {needing} names unique to the release"
        raise PostrenderError([f"{problem} -- {purpose}" for problem in error.problems]) from None
    renamed: dict[tuple[str, str], str] = {}
    for manifest in cluster_scoped:
        name = manifest["metadata"]["name"]
        renamed[(manifest["kind"], name)] = cluster_scoped_name(identity, name)
    for found in objects:
        if _follow_renames(found.manifest, renamed):
            found.document.changed = True


def _follow_renames(manifest: Manifest, renamed: dict[tuple[str, str], str]) -> bool:
    """Renames the object itself if it is cluster-scoped and every reference it holds to one that
    is; whether that changed anything (a name already unique to the release stays)."""
    kind = manifest["kind"]
    # (the mapping holding a name, its key, the kind of object the name is of)
    names: list[tuple[dict[str, Any] | None, str, str]] = []
    if kind in RENAMED_CLUSTER_KINDS:
        names.append((manifest["metadata"], "name", kind))
    role_ref = _mapping_at(manifest, "roleRef")
    if kind in _BINDING_KINDS and role_ref is not None and role_ref.get("kind") == "ClusterRole":
        names.append((role_ref, "name", "ClusterRole"))
    if kind == "PersistentVolume":
        names.append((_mapping_at(manifest, "spec"), "storageClassName", "StorageClass"))
    if kind == "Ingress":
        names.append((_mapping_at(manifest, "spec"), "ingressClassName", "IngressClass"))
    for claim in _claim_templates(manifest):
        names.append((_mapping_at(claim, "spec"), "storageClassName", "StorageClass"))
        names.append((_mapping_at(claim, "spec"), "volumeName", "PersistentVolume"))
        names.append((_mapping_at(claim, "metadata", "annotations"), LEGACY_STORAGE_CLASS_ANNOTATION, "StorageClass"))
    names.append((_pod_spec(manifest), "priorityClassName", "PriorityClass"))
    followed = [
        (holder, key, renamed[(of_kind, holder[key])])
        for holder, key, of_kind in names
        if holder is not None
        and isinstance(holder.get(key), str)
        and renamed.get((of_kind, holder[key]), holder[key]) != holder[key]
    ]
    for holder, key, new_name in followed:
        holder[key] = new_name
    return bool(followed)


if __name__ == "__main__":
    # What the post-renderer builds holds no reference cycles and lives until it is done: the cyclic
    # collector's passes over millions of live nodes would only cost time (they double it on large
    # input). Here, not in main: the tests call main in their own process.
    gc.disable()
    sys.exit(main())
