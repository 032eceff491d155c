"""``render --diff``: what differs, resource by resource, between two renders -- the review a
worksheet change gets before ``pulumi preview`` can run against a cluster -- and what the
change would do: a read creates nothing, a protected resource cannot be deleted or replaced,
and deleting or replacing what holds data loses it."""

from __future__ import annotations

import json
from typing import Any

from aisinfra.review.render import RELEASE, STACK_REFERENCE

Document = dict[str, Any]
# Fields whose change makes `pulumi preview` replace the resource (delete and create) rather
# than update it: its identity in the cluster, or its place in the resource tree (URN).
REPLACING_FIELDS = frozenset(
    {"parent", "reads", "inputs.metadata.name", "inputs.metadata.namespace", "inputs.name", "inputs.namespace"}
)
# What deleting (or replacing, which deletes first) each kind of resource does to the data.
DATA_AT_STAKE = {
    "kubernetes:core/v1:PersistentVolume": "loses data: the Graphite/Grafana volume is unbound from its data "
    "(the directory stays on the node, reclaim policy Retain); back it up first",
    "kubernetes:core/v1:PersistentVolumeClaim": "loses data: the Graphite/Grafana claim goes, and with it the "
    "monitoring history it holds; back it up first",
    "kubernetes:core/v1:Namespace": "loses data: deleting the namespace deletes everything in it, the monitoring "
    "claims included",
    RELEASE: "takes the AIStore cluster down: Helm uninstalls it (pods, services, config); the objects on the "
    "mountpoints and the state under statePath stay on the hosts",
}
THIS_STACK = "(this stack)"


def diff_renders(before: list[Document], after: list[Document]) -> list[str]:
    """Lines ``+ type name`` (new), ``- type name`` (gone), ``~ type name`` (updated),
    ``+- type name`` (replaced), ``> type name`` (a new read), ``< type name`` (a read no
    longer made) or ``>> type name`` (a read of another object); each update followed by one
    ``    key: old -> new`` line per changed field, each deletion or replacement by what it
    would do (``    ! ...``); empty when the renders agree. The stack's reference to its own
    last outputs is compared without the stack's name, so two stacks can be compared."""
    old = {(document["type"], document["name"]): document for document in map(_without_own_name, before)}
    new = {(document["type"], document["name"]): document for document in map(_without_own_name, after)}
    lines: list[str] = []
    for key in sorted(old.keys() | new.keys(), key=lambda pair: (pair[1], pair[0])):
        label = f"{key[0]}  {key[1]}"
        if key not in new:
            lines += [f"< {label}  (no longer read)"] if "reads" in old[key] else [f"- {label}", *_at_stake(old[key])]
        elif key not in old:
            lines.append(f"> {label}  (read: must exist, nothing is created)" if "reads" in new[key] else f"+ {label}")
        elif "reads" in new[key] and "reads" not in old[key]:
            lines += _managed_to_read(label, old[key], new[key])
        elif "reads" in old[key] and "reads" not in new[key]:
            lines.append(f"+ {label}  (was read; now created by this stack)")
        else:
            changes = _changes(_fields(old[key]), _fields(new[key]))
            replacing = [path for path, _, _ in changes if path in REPLACING_FIELDS]
            if replacing and "reads" in new[key]:
                lines.append(f">> {label}  (read again: {', '.join(replacing)} changes)")
            elif replacing:
                lines.append(f"+- {label}  (replaced: {', '.join(replacing)} changes)")
                lines += _at_stake(old[key])
            elif changes:
                lines.append(f"~ {label}")
                lines += [f"    {path}: {was} -> {now}" for path, was, now in changes]
    return lines


def _managed_to_read(label: str, managed: Document, read: Document) -> list[str]:
    """A resource this stack created that is now only read: Pulumi lets go of the same object
    (nothing is deleted), but deletes it when the read names another one."""
    metadata = managed.get("inputs", {}).get("metadata", {})
    identity = "/".join(part for part in (metadata.get("namespace"), metadata.get("name")) if part)
    if read["reads"] == identity:
        return [f"> {label}  (read from now on: Pulumi stops managing it, nothing is deleted)"]
    return [f">> {label}  (read instead: the one this stack created is deleted)", *_at_stake(managed)]


def _at_stake(deleted: Document) -> list[str]:
    """What deleting a resource as it was would do, beyond its own removal."""
    lines = []
    if deleted.get("protect"):
        lines.append(
            "    ! pulumi up refuses this: the resource is protected; it goes only after a backup and "
            "`pulumi state unprotect` of it"
        )
    if deleted["type"] in DATA_AT_STAKE:
        lines.append(f"    ! {DATA_AT_STAKE[deleted['type']]}")
    return lines


def _without_own_name(document: Document) -> Document:
    """The stack's reference to itself with ``(this stack)`` for the stack's name: two stacks'
    renders differ there by nothing but their names."""
    reads = document.get("reads")
    if document["type"] != STACK_REFERENCE or not isinstance(reads, str):
        return document
    owner, _, stack = reads.rpartition("/")
    if not document["name"].startswith(stack) or document.get("inputs", {}).get("name") != reads:
        return document
    own = f"{owner}/{THIS_STACK}" if owner else THIS_STACK
    return {
        **document,
        "name": THIS_STACK + document["name"].removeprefix(stack),
        "reads": own,
        "inputs": {**document["inputs"], "name": own},
    }


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
