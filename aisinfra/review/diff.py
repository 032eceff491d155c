"""``render --diff``: what differs, resource by resource, between two renders -- the review a
worksheet change gets before ``pulumi preview`` can run against a cluster."""

from __future__ import annotations

import json
from typing import Any

Document = dict[str, Any]
# Fields whose change makes `pulumi preview` replace the resource (delete and create) rather
# than update it: its identity in the cluster, or its place in the resource tree (URN).
REPLACING_FIELDS = frozenset(
    {"parent", "reads", "inputs.metadata.name", "inputs.metadata.namespace", "inputs.name", "inputs.namespace"}
)


def diff_renders(before: list[Document], after: list[Document]) -> list[str]:
    """Lines ``+ type name`` (new), ``- type name`` (gone), ``~ type name`` (updated) or
    ``+- type name`` (replaced), each change followed by one ``    key: old -> new`` line per
    changed field; empty when the renders agree."""
    old = {(document["type"], document["name"]): document for document in before}
    new = {(document["type"], document["name"]): document for document in after}
    lines: list[str] = []
    for key in sorted(old.keys() | new.keys(), key=lambda pair: (pair[1], pair[0])):
        label = f"{key[0]}  {key[1]}"
        if key not in new:
            lines.append(f"- {label}")
        elif key not in old:
            lines.append(f"+ {label}")
        else:
            changes = _changes(_fields(old[key]), _fields(new[key]))
            replacing = [path for path, _, _ in changes if path in REPLACING_FIELDS]
            if replacing:
                lines.append(f"+- {label}  (replaced: {', '.join(replacing)} changes)")
            elif changes:
                lines.append(f"~ {label}")
                lines += [f"    {path}: {was} -> {now}" for path, was, now in changes]
    return lines


def _fields(document: Document) -> Document:
    # What `pulumi preview` diffs: inputs, parent (part of the URN), reads and protect.
    # Dependencies are not inputs: a new node's patch joining the Release's dependsOn is no
    # change to the Release.
    return {key: value for key, value in document.items() if key not in ("type", "name", "dependsOn")}


def _changes(old: Any, new: Any, path: str = "") -> list[tuple[str, str, str]]:
    if isinstance(old, dict) and isinstance(new, dict):
        changes = []
        for key in sorted(old.keys() | new.keys()):
            changes += _changes(old.get(key, _ABSENT), new.get(key, _ABSENT), f"{path}.{key}" if path else str(key))
        return changes
    if old == new:
        return []
    return [(path, _show(old), _show(new))]


_ABSENT = object()


def _show(value: Any) -> str:
    return "(absent)" if value is _ABSENT else json.dumps(value, sort_keys=True)
