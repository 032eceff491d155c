"""The object-level diff of two renderings' Kubernetes manifests: what the cluster would get
differently, object by object and field by field -- the review ``pulumi preview`` cannot give
for a Helm release, whose diff shows only the release's values.

Objects are matched by kind, namespace and name. Within an object, list elements that carry a
``name`` (containers, volumes, env, ports, ...) are matched by it, so inserting one volume shows
that volume and not every later index; other lists are aligned by content. Secret values never
appear: a Secret's ``data``/``stringData`` and any value the render redacted show only as
``(changed)``, ``(added)`` or ``(removed)``. The output is bounded for large stacks: objects of one
kind with the same change are listed on one line, each object shows at most
``MAX_LINES_PER_OBJECT`` lines, long values and long lists are shortened, and every elision says
how much was left out and where the whole manifests are.
"""

from __future__ import annotations

import difflib
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aisinfra.review.render import natural_order
from aisinfra.worksheet.stackfile import SECRET_PLACEHOLDER

Manifest = dict[str, Any]

MAX_LINES_PER_OBJECT = 20
MAX_OBJECTS_PER_LINE = 8  # objects of one kind with the same change, named on one line
MAX_ITEMS_SHOWN = 5  # added or removed items of a list of scalars
MAX_VALUE_CHARS = 100
SECRET_KINDS = frozenset({"Secret"})
SECRET_FIELDS = frozenset({"data", "stringData"})
# What a render writes in place of a secret value (a Pulumi secret, a Secret's data).
REDACTED_MARKERS = (SECRET_PLACEHOLDER,)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")
_ABSENT: Any = object()


class DuplicateObjectError(ValueError):
    """Two objects of one rendering share kind, namespace and name: the API server would keep one."""


@dataclass(frozen=True)
class ObjectKey:
    kind: str
    namespace: str  # "" for cluster-scoped objects
    name: str

    @classmethod
    def of(cls, manifest: Manifest) -> ObjectKey:
        metadata = manifest.get("metadata") or {}
        return cls(str(manifest.get("kind", "")), str(metadata.get("namespace") or ""), str(metadata.get("name", "")))

    @property
    def qualified_name(self) -> str:
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def sort_key(self) -> tuple[Any, ...]:
        return (self.kind, natural_order(self.namespace), natural_order(self.name))


def matched_objects(
    before: Iterable[Manifest], after: Iterable[Manifest]
) -> list[tuple[ObjectKey, Manifest | None, Manifest | None]]:
    """Every object of either rendering as ``(key, before, after)``, ``None`` on the side that
    lacks it, in kind, namespace, name order."""
    old = _by_key(before)
    new = _by_key(after)
    return [(key, old.get(key), new.get(key)) for key in sorted(old.keys() | new.keys(), key=ObjectKey.sort_key)]


def diff_manifests(
    before: Iterable[Manifest],
    after: Iterable[Manifest],
    whole_manifests: str = "the manifests written by --out",
    notes: Mapping[ObjectKey, Sequence[str]] | None = None,
) -> list[str]:
    """Lines ``+ Kind ns/name`` (added), ``- Kind ns/name`` (removed) and ``~ Kind ns/name``
    (changed) followed by its ``notes`` (what the change does, never left out) and its
    ``    path: old -> new`` lines, in kind, namespace, name order, after one summary line; empty
    when the manifests agree. ``whole_manifests`` says where the reader finds what the diff
    leaves out."""
    notes = notes or {}
    matched = matched_objects(before, after)
    entries: list[_Entry] = []
    for key, old, new in matched:
        if new is None:
            entries.append(_Entry(key, "-"))
        elif old is None:
            entries.append(_Entry(key, "+"))
        else:
            fields = _object_changes(old, new, secret=key.kind in SECRET_KINDS)
            if fields:
                entries.append(_Entry(key, "~", tuple(notes.get(key, ())), tuple(fields)))
    if not entries:
        return []
    counts = Counter(entry.sign for entry in entries)
    lines = [
        f"rendered objects: {counts['+']} added, {counts['-']} removed, {counts['~']} changed, "
        f"{len(matched) - len(entries)} unchanged"
    ]
    for (kind, sign, object_notes, changes), members in _groups(entries).items():
        lines.append(f"{sign} {kind} {_object_names(members, whole_manifests)}")
        lines += [f"    {note}" for note in object_notes]
        lines += [f"    {change}" for change in changes[:MAX_LINES_PER_OBJECT]]
        if len(changes) > MAX_LINES_PER_OBJECT:
            left_out = len(changes) - MAX_LINES_PER_OBJECT
            lines.append(f"    ... {left_out} more lines of changes (see {whole_manifests})")
    return lines


def _by_key(manifests: Iterable[Manifest]) -> dict[ObjectKey, Manifest]:
    objects: dict[ObjectKey, Manifest] = {}
    for manifest in manifests:
        key = ObjectKey.of(manifest)
        if key in objects:
            raise DuplicateObjectError(f"two rendered objects are {key.kind} {key.qualified_name}")
        objects[key] = manifest
    return objects


@dataclass(frozen=True)
class _Entry:
    key: ObjectKey
    sign: str
    notes: tuple[str, ...] = ()
    changes: tuple[str, ...] = ()


def _groups(entries: list[_Entry]) -> dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], list[ObjectKey]]:
    """Objects of one kind with the same sign, notes and changes, in the order of their first
    member: one line for 2000 Nodes that gain the same label."""
    groups: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], list[ObjectKey]] = {}
    for entry in entries:
        groups.setdefault((entry.key.kind, entry.sign, entry.notes, entry.changes), []).append(entry.key)
    return groups


def _object_names(members: list[ObjectKey], whole_manifests: str) -> str:
    names = [member.qualified_name for member in members]
    if len(names) == 1:
        return names[0]
    if len(names) <= MAX_OBJECTS_PER_LINE:
        return f"{', '.join(names)} ({len(names)} objects)"
    head, tail = names[: MAX_OBJECTS_PER_LINE - 2], names[-2:]
    left_out = len(names) - len(head) - len(tail)
    listed = f"{', '.join(head)}, ... {left_out} more ..., {', '.join(tail)}"
    return f"{listed} ({len(names)} objects; all in {whole_manifests})"


# --- the changes within one object ------------------------------------------------------------


def _object_changes(old: Manifest, new: Manifest, secret: bool) -> list[str]:
    changes: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        was, now = old.get(key, _ABSENT), new.get(key, _ABSENT)
        changes += _changes(was, now, _key_path("", key), secret and key in SECRET_FIELDS)
    return changes


def _changes(old: Any, new: Any, path: str, secret: bool) -> list[str]:
    if old == new:
        return []
    if secret or _redacted(old) or _redacted(new):
        if isinstance(old, dict) and isinstance(new, dict):
            return _dict_changes(old, new, path, secret)
        return [f"{path}: {'(added)' if old is _ABSENT else '(removed)' if new is _ABSENT else '(changed)'}"]
    if isinstance(old, dict) and isinstance(new, dict):
        return _dict_changes(old, new, path, secret)
    if isinstance(old, list) and isinstance(new, list):
        return _list_changes(old, new, path)
    if isinstance(old, str) and isinstance(new, str) and ("\n" in old or "\n" in new):
        return _text_changes(old, new, path)
    return [f"{path}: {_show(old)} -> {_show(new)}"]


def _dict_changes(old: dict[str, Any], new: dict[str, Any], path: str, secret: bool) -> list[str]:
    changes: list[str] = []
    for key in sorted(old.keys() | new.keys()):
        changes += _changes(old.get(key, _ABSENT), new.get(key, _ABSENT), _key_path(path, key), secret)
    return changes


def _list_changes(old: list[Any], new: list[Any], path: str) -> list[str]:
    if _named(old) and _named(new):
        return _named_list_changes(old, new, path)
    if all(_scalar(item) for item in [*old, *new]):
        return _scalar_list_changes(old, new, path)
    return _aligned_list_changes(old, new, path)


def _named(items: list[Any]) -> bool:
    names = [item.get("name") for item in items if isinstance(item, dict)]
    return len(names) == len(items) and all(isinstance(name, str) for name in names) and len(set(names)) == len(names)


def _named_list_changes(old: list[dict[str, Any]], new: list[dict[str, Any]], path: str) -> list[str]:
    was = {item["name"]: item for item in old}
    now = {item["name"]: item for item in new}
    changes: list[str] = []
    for name in [*now, *(name for name in was if name not in now)]:
        changes += _changes(was.get(name, _ABSENT), now.get(name, _ABSENT), f"{path}[{name}]", secret=False)
    kept_before = [name for name in was if name in now]
    kept_after = [name for name in now if name in was]
    if kept_before != kept_after:
        changes.append(f"{path}: order {_show(kept_before)} -> {_show(kept_after)}")
    return changes


def _scalar(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _scalar_list_changes(old: list[Any], new: list[Any], path: str) -> list[str]:
    if max(len(_canonical(old)), len(_canonical(new))) <= MAX_VALUE_CHARS:
        return [f"{path}: {_show(old)} -> {_show(new)}"]
    added = list((Counter(map(_canonical, new)) - Counter(map(_canonical, old))).elements())
    removed = list((Counter(map(_canonical, old)) - Counter(map(_canonical, new))).elements())
    if not added and not removed:
        return [f"{path}: same {len(new)} items, order changed"]
    parts = [f"{verb} {_items(items)}" for verb, items in (("added", added), ("removed", removed)) if items]
    return [f"{path}: {len(old)} -> {len(new)} items; {'; '.join(parts)}"]


def _items(canonical_items: list[str]) -> str:
    ordered = sorted(canonical_items, key=natural_order)
    shown = ", ".join(ordered[:MAX_ITEMS_SHOWN])
    more = len(ordered) - MAX_ITEMS_SHOWN
    return f"{len(ordered)}: {shown}" + (f", ... {more} more" if more > 0 else "")


def _aligned_list_changes(old: list[Any], new: list[Any], path: str) -> list[str]:
    """Lists without names (rules, affinity terms): aligned by content, so an inserted element
    is one addition; elements that changed in place are diffed field by field."""
    matcher = difflib.SequenceMatcher(a=[_canonical(item) for item in old], b=[_canonical(item) for item in new])
    changes: list[str] = []
    for operation, old_start, old_end, new_start, new_end in matcher.get_opcodes():
        if operation == "equal":
            continue
        paired = min(old_end - old_start, new_end - new_start)
        for offset in range(paired):
            index = new_start + offset
            changes += _changes(old[old_start + offset], new[index], f"{path}[{index}]", secret=False)
        for index in range(new_start + paired, new_end):
            changes.append(f"{path}[{index}]: (absent) -> {_show(new[index])}")
        for index in range(old_start + paired, old_end):
            changes.append(f"{path}[{index}]: {_show(old[index])} -> (absent)")
    return changes


def _text_changes(old: str, new: str, path: str) -> list[str]:
    """A multi-line value (a config file in a ConfigMap): the lines that differ."""
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=0))
    body = [f"  {line}" for line in diff[2:] if not line.startswith("@@")]
    added = sum(1 for line in body if line.startswith("  +"))
    return [f"{path}: text, {added} lines added, {len(body) - added} removed", *body]


# --- showing paths and values -----------------------------------------------------------------


def _key_path(path: str, key: str) -> str:
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _redacted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(REDACTED_MARKERS)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(", ", ": "))


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "(absent)"
    text = _canonical(value)
    if len(text) <= MAX_VALUE_CHARS:
        return text
    return f"{text[: MAX_VALUE_CHARS - 20]}... ({len(text)} characters)"
