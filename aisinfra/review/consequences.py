"""What each changed object of a Release's upgrade does in the cluster beyond its own fields: an
update the API server refuses, and the pods a change restarts, adds or removes.

Helm upgrades an object with a three-way merge of the previous release's manifest, the new one
and the live object, so the live object changes exactly where the two renderings differ, and a
field that one rendering leaves out takes the API server's default: the rules compare the two
renderings with those defaults filled in. A refused update fails ``helm upgrade`` at that object,
and with it ``pulumi up``, so each refusal names the field and the safe way through.

Each rule cites the validation it follows in kubernetes/kubernetes; ``core``, ``apps``,
``batch``, ``storage`` and ``rbac`` stand for ``pkg/apis/<group>/validation/validation.go``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from aisinfra.chart.naming import statefulset_names
from aisinfra.review.manifest_diff import Manifest, ObjectKey, matched_objects

# apps ValidateStatefulSetUpdate puts these back to the old values, then requires the new spec to
# equal the old one: every other field of the spec (selector, serviceName, volumeClaimTemplates,
# podManagementPolicy, revisionHistoryLimit, ...) is refused.
STATEFULSET_MUTABLE = frozenset(
    {"replicas", "ordinals", "template", "updateStrategy", "persistentVolumeClaimRetentionPolicy", "minReadySeconds"}
)
# What the API server fills in where a rendering leaves the field out (apps/v1 defaults).
STATEFULSET_DEFAULTS = MappingProxyType({"podManagementPolicy": "OrderedReady", "revisionHistoryLimit": 10})
# core ValidatePersistentVolumeUpdate refuses any change of the volume's source (hostPath, local,
# nfs, csi, ...) and of volumeMode, and of nodeAffinity once set; these may change. (Uncertain:
# recent sources check nodeAffinity in validatePvNodeAffinity, not read here, which may let some
# changes through; it is treated as immutable once set.)
VOLUME_MUTABLE = frozenset(
    {
        "capacity",
        "accessModes",
        "claimRef",
        "persistentVolumeReclaimPolicy",
        "storageClassName",
        "mountOptions",
        "volumeAttributesClassName",
    }
)
# core ValidatePersistentVolumeClaimUpdate: the spec is immutable but for these (resources only
# for its storage request, checked on its own), volumeName, which may be set once, and
# storageClassName, which may be set where none was (validateStorageClassUpgradeFromNil).
CLAIM_MUTABLE = frozenset({"resources", "volumeAttributesClassName"})
VOLUME_MODE_DEFAULT = MappingProxyType({"volumeMode": "Filesystem"})
NO_DEFAULTS: Mapping[str, Any] = MappingProxyType({})

WORKLOAD_KINDS = frozenset({"StatefulSet", "Deployment", "DaemonSet"})

Rule = Callable[[Manifest, Manifest], list[str]]


@dataclass(frozen=True)
class Consequence:
    text: str
    refused: bool = False  # the API server refuses the update: an error, not information

    @property
    def line(self) -> str:
        return f"{'!' if self.refused else '~'} {self.text}"


def workload_roles(release_name: str) -> dict[str, str]:
    """The AIStore StatefulSets of a release by name, with the role their pods play."""
    return {name: role for role, name in statefulset_names(release_name, monitoring=False).items()}


def release_consequences(
    before: Iterable[Manifest], after: Iterable[Manifest], release_name: str
) -> dict[ObjectKey, list[Consequence]]:
    """Per object both renderings have and that changed, what its update does; objects whose
    update does nothing beyond its fields are left out."""
    roles = workload_roles(release_name)
    found = {}
    for key, old, new in matched_objects(before, after):
        if old is not None and new is not None and old != new:
            consequences = object_consequences(old, new, roles)
            if consequences:
                found[key] = consequences
    return found


def object_consequences(before: Manifest, after: Manifest, roles: Mapping[str, str]) -> list[Consequence]:
    """What updating ``before`` to ``after`` does: refused, naming the immutable fields and what
    to do, or the pods it restarts, adds and removes (``roles`` names the pods of a StatefulSet
    by the role they play, ``workload_roles``); empty when it does neither. A refused update
    changes nothing, so it restarts nothing either."""
    key = ObjectKey.of(after)
    rule = IMMUTABLE_FIELDS.get(key.kind)
    fields = rule(before, after) if rule else []
    if fields:
        verb = "is" if len(fields) == 1 else "are"
        text = f"refused by the API server: {key.kind} {key.qualified_name} {_listed(fields)} {verb} immutable"
        return [Consequence(f"{text} -- {_advice(key, fields)}", refused=True)]
    if key.kind not in WORKLOAD_KINDS:
        return []
    return _pod_changes(key, before.get("spec") or {}, after.get("spec") or {}, roles)


# --- refused updates ----------------------------------------------------------------------------


def _section(manifest: Manifest, section: str, defaults: Mapping[str, Any]) -> dict[str, Any]:
    values = manifest.get(section) if section else manifest
    return {**defaults, **(values if isinstance(values, dict) else {})}


def _path(section: str, field: str) -> str:
    return f"{section}.{field}" if section else field


def _changed(
    before: Manifest, after: Manifest, section: str, fields: Iterable[str], defaults: Mapping[str, Any] = NO_DEFAULTS
) -> list[str]:
    """Which of ``fields`` of ``section`` ("" for the top level) differ."""
    was, now = _section(before, section, defaults), _section(after, section, defaults)
    return [_path(section, field) for field in fields if was.get(field) != now.get(field)]


def _changed_except(
    before: Manifest, after: Manifest, section: str, mutable: Iterable[str], defaults: Mapping[str, Any] = NO_DEFAULTS
) -> list[str]:
    """Which fields of ``section`` other than ``mutable`` differ."""
    was, now = _section(before, section, defaults), _section(after, section, defaults)
    fields = sorted((was.keys() | now.keys()) - set(mutable))
    return _changed(before, after, section, fields, defaults)


def _statefulset(before: Manifest, after: Manifest) -> list[str]:
    # apps ValidateStatefulSetUpdate (see STATEFULSET_MUTABLE).
    return _changed_except(before, after, "spec", STATEFULSET_MUTABLE, STATEFULSET_DEFAULTS)


def _selector(before: Manifest, after: Manifest) -> list[str]:
    # Deployments and DaemonSets of apps/v1: pkg/registry/apps/deployment/strategy.go and
    # pkg/registry/apps/daemonset/strategy.go, ValidateUpdate ("disallow mutation of selector").
    return _changed(before, after, "spec", ["selector"])


def _job(before: Manifest, after: Manifest) -> list[str]:
    # batch ValidateJobSpecUpdate. Not modelled (so reported as refused): a suspended Job that
    # never started may change its template's scheduling directives, and an Indexed Job may
    # change completions together with parallelism.
    fields = ["selector", "template", "completions", "completionMode", "podFailurePolicy", "backoffLimitPerIndex"]
    return _changed(before, after, "spec", fields, {"completionMode": "NonIndexed"})


def _service(before: Manifest, after: Manifest) -> list[str]:
    # core ValidateServiceUpdate: a cluster IP, once allocated, cannot change unless the Service
    # is or becomes ExternalName. A rendering that leaves it out keeps the allocated one (the
    # Service registry copies it over), so only a rendering that sets a different one is refused
    # -- also one that pins the address the cluster happened to allocate, which this cannot know.
    was, now = _section(before, "spec", NO_DEFAULTS), _section(after, "spec", NO_DEFAULTS)
    if "ExternalName" in (was.get("type"), now.get("type")):
        return []
    address = _cluster_ip(now)
    return ["spec.clusterIP"] if address and address != _cluster_ip(was) else []


def _cluster_ip(spec: dict[str, Any]) -> Any:
    """The primary cluster IP, written as clusterIP or as the first of clusterIPs (the same field)."""
    return spec.get("clusterIP") or next(iter(spec.get("clusterIPs") or []), None)


def _persistent_volume(before: Manifest, after: Manifest) -> list[str]:
    # core ValidatePersistentVolumeUpdate (see VOLUME_MUTABLE); nodeAffinity may be set where none was.
    had_affinity = bool(_section(before, "spec", NO_DEFAULTS).get("nodeAffinity"))
    mutable = VOLUME_MUTABLE if had_affinity else VOLUME_MUTABLE | {"nodeAffinity"}
    return _changed_except(before, after, "spec", mutable, VOLUME_MODE_DEFAULT)


def _claim(before: Manifest, after: Manifest) -> list[str]:
    # core ValidatePersistentVolumeClaimUpdate (see CLAIM_MUTABLE): of resources, only
    # requests.storage may change, and never below the old request. A larger request then meets
    # the PersistentVolumeClaimResize admission plugin
    # (plugin/pkg/admission/storage/persistentvolume/resize/admission.go): only a claim of a
    # StorageClass that allows volume expansion grows, never one of class "" (a volume made by
    # hand). Whether a named class allows it is the cluster's to say, so that is not reported.
    # Not modelled: after a failed expansion, RecoverVolumeExpansionFailure lets a request shrink
    # back to above the claim's status.capacity.
    was, now = _section(before, "spec", VOLUME_MODE_DEFAULT), _section(after, "spec", VOLUME_MODE_DEFAULT)
    mutable = set(CLAIM_MUTABLE)
    if not was.get("volumeName"):
        mutable.add("volumeName")
    if was.get("storageClassName") is None:
        mutable.add("storageClassName")
    fields = _changed_except(before, after, "spec", mutable, VOLUME_MODE_DEFAULT)
    old_resources, new_resources = was.get("resources") or {}, now.get("resources") or {}
    if _without_storage_request(old_resources) != _without_storage_request(new_resources):
        fields.append("spec.resources")
    old_size = _quantity(_storage_request(old_resources))
    new_size = _quantity(_storage_request(new_resources))
    if old_size is not None and new_size is not None:
        grown_by_hand = new_size > old_size and now.get("storageClassName") == ""
        if new_size < old_size or grown_by_hand:
            fields.append("spec.resources.requests.storage")
    return sorted(fields)


def _storage_request(resources: dict[str, Any]) -> Any:
    return (resources.get("requests") or {}).get("storage")


def _without_storage_request(resources: dict[str, Any]) -> dict[str, Any]:
    requests = {name: value for name, value in (resources.get("requests") or {}).items() if name != "storage"}
    return {**resources, "requests": requests}


# Kubernetes quantity suffixes (k8s.io/apimachinery/pkg/api/resource), in bytes for storage.
_QUANTITY_SUFFIXES = {
    **{suffix: Decimal(1024) ** power for power, suffix in enumerate(("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{suffix: Decimal(1000) ** power for power, suffix in enumerate(("k", "M", "G", "T", "P", "E"), start=1)},
    "m": Decimal("0.001"),
}


def _quantity(value: Any) -> Decimal | None:
    """A quantity such as ``250Gi`` as a number, ``None`` when it is not one (then nothing is
    claimed about it)."""
    if isinstance(value, int | float):
        return Decimal(str(value))
    if not isinstance(value, str):
        return None
    suffix = next(suffix for suffix in sorted(_QUANTITY_SUFFIXES, key=len, reverse=True) if value.endswith(suffix))
    try:
        number = Decimal(value.removesuffix(suffix))
    except InvalidOperation:
        return None
    return number * _QUANTITY_SUFFIXES[suffix] if number.is_finite() else None


def _storage_class(before: Manifest, after: Manifest) -> list[str]:
    # storage ValidateStorageClassUpdate: parameters, provisioner, reclaimPolicy and
    # volumeBindingMode are immutable (top-level fields of a StorageClass).
    fields = ["parameters", "provisioner", "reclaimPolicy", "volumeBindingMode"]
    return _changed(before, after, "", fields, {"reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"})


def _role_binding(before: Manifest, after: Manifest) -> list[str]:
    # rbac ValidateRoleBindingUpdate and ValidateClusterRoleBindingUpdate: "cannot change roleRef".
    return _changed(before, after, "", ["roleRef"])


def _secret(before: Manifest, after: Manifest) -> list[str]:
    # core ValidateSecretUpdate: the type is immutable; once `immutable: true`, so are the data
    # and that flag. Data values are redacted on both sides alike, so a changed value of an
    # immutable Secret is not seen, only changed keys.
    fields = _changed(before, after, "", ["type"], {"type": "Opaque"})
    if before.get("immutable") is True:
        fields += _changed(before, after, "", ["data", "immutable"])
    return fields


def _config_map(before: Manifest, after: Manifest) -> list[str]:
    # core ValidateConfigMapUpdate: once `immutable: true`, data, binaryData and that flag are immutable.
    if before.get("immutable") is not True:
        return []
    return _changed(before, after, "", ["data", "binaryData", "immutable"])


IMMUTABLE_FIELDS: dict[str, Rule] = {
    "StatefulSet": _statefulset,
    "Deployment": _selector,
    "DaemonSet": _selector,
    "Job": _job,
    "Service": _service,
    "PersistentVolume": _persistent_volume,
    "PersistentVolumeClaim": _claim,
    "StorageClass": _storage_class,
    "RoleBinding": _role_binding,
    "ClusterRoleBinding": _role_binding,
    "Secret": _secret,
    "ConfigMap": _config_map,
}


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _advice(key: ObjectKey, fields: list[str]) -> str:
    """The safe way through a refusal: keep the fields, or make the object anew (Helm's upgrade
    creates an object of the release that the cluster no longer has)."""
    keep = "keep it as it was" if len(fields) == 1 else "keep them as they were"
    namespace = f"-n {key.namespace} " if key.namespace else ""
    delete = f"kubectl {namespace}delete {key.kind.lower()} {key.name}"
    if key.kind == "StatefulSet":
        advice = f"{keep}, or first `{delete} --cascade=orphan` (its pods keep running) and let the upgrade recreate it"
        if "spec.selector" in fields:
            advice += "; then delete the old pods one at a time, as they do not match the new selector"
        return advice
    if key.kind in ("PersistentVolume", "PersistentVolumeClaim"):
        return f"{keep}, or back up its data, `{delete}` and let the upgrade recreate it"
    return f"{keep}, or first `{delete}` and let the upgrade recreate it"


# --- pods restarted, added, removed ------------------------------------------------------------


def _pods(count: int, what: str) -> str:
    return f"{count} {what} pod{'' if count == 1 else 's'}"


def _replicas(spec: dict[str, Any]) -> int:
    replicas = spec.get("replicas")
    return replicas if isinstance(replicas, int) else 1  # the API server's default


def _pod_changes(
    key: ObjectKey, before: dict[str, Any], after: dict[str, Any], roles: Mapping[str, str]
) -> list[Consequence]:
    """A changed pod template replaces every pod, as the workload's update strategy says; a
    changed replica count adds or removes pods. The strategy that applies is the new one."""
    what = roles.get(key.name, key.name) if key.kind == "StatefulSet" else key.name
    restarts = before.get("template") != after.get("template")
    if key.kind == "DaemonSet":
        return [Consequence(_daemonset_restart(after, what))] if restarts else []
    was, now = _replicas(before), _replicas(after)
    kept = min(was, now)
    consequences = []
    if restarts and key.kind == "StatefulSet":
        consequences.append(Consequence(_statefulset_restart(after, kept, what)))
    elif restarts:
        # RollingUpdate when unset, as any type but Recreate
        recreate = (after.get("strategy") or {}).get("type") == "Recreate"
        pace = "all at once (strategy Recreate)" if recreate else "rolling"
        consequences.append(Consequence(f"restarts {_pods(kept, what)}, {pace}"))
    if now > was:
        consequences.append(Consequence(f"adds {_pods(now - was, what)}"))
    elif now < was:
        highest = " (the highest ordinals)" if key.kind == "StatefulSet" else ""
        consequences.append(Consequence(f"removes {_pods(was - now, what)}{highest}"))
    return consequences


def _statefulset_restart(spec: dict[str, Any], count: int, what: str) -> str:
    # The StatefulSet controller replaces pods one at a time, highest ordinal first, whatever the
    # podManagementPolicy (which governs scaling only); more at once only with maxUnavailable,
    # behind the MaxUnavailableStatefulSet feature gate. Pods below the partition keep their
    # template. OnDelete replaces a pod only when someone deletes it.
    strategy = spec.get("updateStrategy") or {}
    if strategy.get("type") == "OnDelete":  # RollingUpdate when unset
        return f"restarts nothing until each of the {_pods(count, what)} is deleted by hand (updateStrategy OnDelete)"
    rolling = strategy.get("rollingUpdate") or {}
    partition = int(rolling.get("partition") or 0)
    restarted = max(count - partition, 0)
    unavailable = rolling.get("maxUnavailable")
    pace = "one at a time"
    if unavailable not in (None, 1):
        pace = f"up to {unavailable} at a time where the MaxUnavailableStatefulSet feature gate is on, else {pace}"
    if partition:
        pace += f" (those below updateStrategy.rollingUpdate.partition {partition} keep the old template)"
    return f"restarts {_pods(restarted, what)}, {pace}"


def _daemonset_restart(spec: dict[str, Any], what: str) -> str:
    if (spec.get("updateStrategy") or {}).get("type") == "OnDelete":  # RollingUpdate when unset
        return f"restarts nothing until each {what} pod is deleted by hand (updateStrategy OnDelete)"
    return f"restarts the {what} pod on each of its nodes, rolling"
