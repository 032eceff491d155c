"""Checks on every object a stack's cluster will get, before anyone runs ``pulumi up``.

The objects are the chart's, rendered and post-rendered as the Release does it
(``chart_render``), the install hooks, and the whole objects the program creates itself
(Namespace, PersistentVolumes, claims, the Grafana Secret). Each problem names the object
(``Kind namespace/name``) and the worksheet key behind it:

- every object is valid against the Kubernetes API of ``kubernetesVersion`` (strict: unknown
  fields are errors, as Helm's validation makes them), and no object uses an API that version
  no longer serves;
- the target and proxy pods' node selectors match the labels the program applies on at least
  as many nodes as their StatefulSet wants replicas;
- every volume mount names a volume of its pod; every claim a pod mounts is one the program
  creates or the worksheet names; the target mounts exactly the worksheet's mountpoints and
  its own state directory from the host;
- pod (anti-)affinity spreads over a label real nodes carry, and a required pod affinity finds
  pods of the cluster that carry its labels;
- what pods and role bindings refer to -- service accounts, config maps and secrets mounted as
  volumes, roles -- is among the objects (the post-renderer renames cluster-scoped ones);
- across stacks that can share a cluster (``check``): no two create the same cluster-scoped object.

Which key is behind a field: the worksheet item the field is computed from, else
``chart.values`` when the stack sets any (it can only set what the worksheet does not), else
the chart itself (``chart.path`` or ``chart.version``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import kubernetes_validate
from pulumi.runtime import rpc

from aisinfra.chart import naming
from aisinfra.chart.rules import load_worksheet
from aisinfra.chart.values import MONITORING_SERVICES
from aisinfra.review.chart_render import (
    CLUSTER_SCOPED_KINDS,
    ChartRendering,
    Manifest,
    ReleaseInputs,
    RenderedObject,
    in_namespace,
    locate_chart,
    render_release,
)
from aisinfra.review.manifests import layer, object_label
from aisinfra.review.render import Rendering, reveal_secrets_as_placeholder, run_program
from aisinfra.review.schemas import NoSchemasError, StrictSchemas, supported_versions
from aisinfra.worksheet.model import Worksheet, dotted_path
from aisinfra.worksheet.stackfile import SECRET_PLACEHOLDER, StackConfig

# Labels the kubelet (or the cloud provider) puts on every node.
NODE_LABEL_KEYS = frozenset(
    {
        "kubernetes.io/hostname",
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "topology.kubernetes.io/zone",
        "topology.kubernetes.io/region",
    }
)
HOSTNAME_LABEL = "kubernetes.io/hostname"
ROLE_KEYS = {"target": "targets.nodes", "proxy": "proxies.nodes"}
# Objects the program creates itself, by Pulumi type: (apiVersion, kind).
PROGRAM_KINDS = {
    **{
        f"kubernetes:core/v1:{kind}": ("v1", kind)
        for kind in ("Namespace", "PersistentVolume", "PersistentVolumeClaim", "Secret", "ConfigMap")
    },
    "kubernetes:batch/v1:Job": ("batch/v1", "Job"),  # the preflight
}
# Roles every cluster has (the API server creates them), which bindings may refer to.
BUILT_IN_CLUSTER_ROLES = frozenset({"cluster-admin", "admin", "edit", "view"})
_POD_KINDS = frozenset({"DaemonSet", "Deployment", "ReplicaSet", "StatefulSet", "Job", "ReplicationController"})


@dataclass(frozen=True, order=True)
class Problem:
    object: str  # Kind namespace/name
    key: str  # the worksheet key behind it
    message: str

    def __str__(self) -> str:
        return f"{self.object}: {self.message} [{self.key}]"


@dataclass(frozen=True)
class Deployment:
    """What one stack deploys: its worksheet, the program's registrations, the chart's objects.
    The program's objects are made from its registrations once: a Deployment is not edited."""

    stack: str  # the stack file, e.g. Pulumi.dev.yaml
    worksheet: Worksheet
    rendering: Rendering
    chart: ChartRendering

    def chart_objects(self) -> list[RenderedObject]:
        """The chart's objects and the hooks an install runs (grafana's test Pod it does not), each
        namespaced hook in the release's namespace as Helm's client puts it there."""
        namespace = self.chart.release.namespace
        hooks = [
            RenderedObject(in_namespace(hook.manifest, namespace), hook.source)
            for hook in self.chart.hooks
            if hook.runs_on_install
        ]
        return self.chart.objects + hooks

    def program_objects(self) -> list[RenderedObject]:
        """The objects the program creates (a namespace it only reads is not one)."""
        return list(self._program_objects)

    @cached_property
    def _program_objects(self) -> tuple[RenderedObject, ...]:
        # Made once: every check asks for them, and a preflight Job per node makes them many.
        objects = []
        for resource in self.rendering.resources:
            api = PROGRAM_KINDS.get(resource.type)
            if api is not None and resource.read_id is None:
                inputs = {key: value for key, value in resource.inputs.items() if key not in ("apiVersion", "kind")}
                manifest = {"apiVersion": api[0], "kind": api[1], **_secrets_shaped(inputs)}
                objects.append(RenderedObject(manifest, f"program: {resource.name}"))
        return tuple(objects)

    def fallback_key(self) -> str:
        if self.worksheet.chart.values:
            return "chart.values"
        return "chart.path" if self.worksheet.chart.path is not None else "chart.version"


def deployment_problems(deployment: Deployment) -> list[Problem]:
    """Every problem of one stack's objects, sorted by object."""
    return sorted(
        schema_problems(deployment)
        + node_selector_problems(deployment)
        + volume_mount_problems(deployment)
        + claim_problems(deployment)
        + host_path_problems(deployment)
        + topology_problems(deployment)
        + pod_affinity_problems(deployment)
        + reference_problems(deployment)
    )


def clean_text(deployment: Deployment) -> str:
    """What ``deployment_problems`` checked, said when it found nothing: silence would not tell
    a clean review from one that did not run."""
    count = len(deployment.chart_objects()) + len(deployment.program_objects())
    return (
        f"No problems in the {count} objects the cluster would get (the chart's and the program's), checked "
        f"against Kubernetes {deployment.worksheet.kubernetes_version}'s schemas, the nodes the program labels, "
        "and each other: volume mounts, claims, host paths, topology keys and references"
    )


# -- valid for the cluster's Kubernetes version ------------------------------------------------


def schema_problems(deployment: Deployment) -> list[Problem]:
    version = deployment.worksheet.kubernetes_version
    try:
        schemas = StrictSchemas(version)
    except NoSchemasError:
        supported = supported_versions()
        return [
            Problem(
                "(every object)",
                "kubernetesVersion",
                f"cannot validate for Kubernetes {version}: the schemas here cover {supported[0]} to {supported[-1]}",
            )
        ]
    problems = []
    for rendered in deployment.chart_objects() + deployment.program_objects():
        manifest = rendered.manifest
        try:
            schemas.validate(manifest)
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(
                _problem(
                    manifest,
                    deployment.fallback_key(),
                    f"Kubernetes {version} does not serve {manifest.get('kind')} in {manifest.get('apiVersion')} "
                    "(a removed or unknown API)",
                )
            )
        except kubernetes_validate.ValidationError as error:
            path = dotted_path(list(error.path))
            key = _schema_key(deployment, rendered, path)
            problems.append(_problem(manifest, key, f"{path or '(the object)'}: {error.message}"))
    return problems


# Fields of the AIStore pods computed from the worksheet: (path pattern, key or role -> key).
_AIS_POD_FIELDS: list[tuple[re.Pattern[str], dict[str, str]]] = [
    (re.compile(r"^spec\.replicas$"), {"target": "targets.initialCount", "proxy": "proxies.nodes"}),
    (
        re.compile(r"\.initContainers\[\d+\]\.image$"),
        {"target": "images.initContainer", "proxy": "images.initContainer"},
    ),
    (re.compile(r"\.containers\[\d+\]\.image$"), {"target": "images.aisnode", "proxy": "images.aisnode"}),
    (re.compile(r"\.nodeSelector"), {"target": "releaseName", "proxy": "releaseName"}),
    (re.compile(r"^metadata\.(name|labels)"), {"target": "releaseName", "proxy": "releaseName"}),
]
_VOLUME_FIELD = re.compile(r"\.volumes\[(\d+)\]")


def _schema_key(deployment: Deployment, rendered: RenderedObject, path: str) -> str:
    if rendered.source.startswith("program: "):
        return _program_key(rendered.manifest)
    role = layer(rendered.source)
    if role in ROLE_KEYS:
        for pattern, keys in _AIS_POD_FIELDS:
            if pattern.search(path):
                return keys[role]
        volume = _VOLUME_FIELD.search(path)
        if volume is not None:
            return _volume_key(deployment, _pod_spec(rendered.manifest) or {}, int(volume.group(1)))
    return deployment.fallback_key()


def _program_key(manifest: Manifest) -> str:
    kind = manifest.get("kind")
    if kind == "Namespace":
        return "namespace"
    if kind == "Secret":
        return "grafanaAdminPassword"
    if kind == "Job":  # a node's disk check, made from the preflight settings and the targets
        return "preflight"
    name = str((manifest.get("metadata") or {}).get("name", ""))
    service = next((service for service in MONITORING_SERVICES if name.endswith(f"-{service}")), None)
    return f"monitoring.{service}" if service else "monitoring"


def _volume_key(deployment: Deployment, pod_spec: Manifest, index: int) -> str:
    """A mountpoint's volume (named after it), else a host directory under statePath."""
    volumes = pod_spec.get("volumes") or []
    volume = volumes[index] if index < len(volumes) else {}
    if str(volume.get("name", "")).startswith(naming.mountpoint_volume_name("")):
        return "targets.mountpoints"
    return "statePath" if "hostPath" in volume else deployment.fallback_key()


# -- pods land on the nodes the program labels -----------------------------------------------


def node_labels(deployment: Deployment) -> dict[str, dict[str, str]]:
    """Each node the stack labels, with the labels it will carry: the program's and its hostname."""
    return {node: {HOSTNAME_LABEL: node, **labels} for node, labels in deployment.rendering.node_labels().items()}


def ais_statefulsets(deployment: Deployment) -> dict[str, RenderedObject | None]:
    """The target and proxy StatefulSets by role (None: the chart rendered none)."""
    fullname = naming.fullname(deployment.worksheet.release_name)
    found: dict[str, RenderedObject | None] = dict.fromkeys(ROLE_KEYS)
    for rendered in deployment.chart_objects():
        for role in ROLE_KEYS:
            if rendered.kind == "StatefulSet" and rendered.name == f"{fullname}-{role}":
                found[role] = rendered
    return found


# The labels each role's nodes carry, from the chart's naming rules.
ROLE_LABELS = {"target": naming.target_node_labels, "proxy": naming.proxy_node_labels}


def node_selector_problems(deployment: Deployment) -> list[Problem]:
    """Each AIStore role's pods fit on enough of the nodes the program labels, and on no node of
    another AIStore cluster: one that carries the role's labels of a release with the same
    fullname, but another ``aisinfra/cluster`` value."""
    labels = node_labels(deployment)
    problems = []
    worksheet = deployment.worksheet
    fullname = naming.fullname(worksheet.release_name)
    for role, rendered in ais_statefulsets(deployment).items():
        key = ROLE_KEYS[role]
        if rendered is None:
            label = f"StatefulSet {worksheet.namespace}/{fullname}-{role}"
            problems.append(Problem(label, deployment.fallback_key(), f"the chart renders no {role} StatefulSet"))
            continue
        manifest = rendered.manifest
        pod_spec = _pod_spec(manifest) or {}
        requirements = _node_requirements(pod_spec)
        if requirements is None:
            problems.append(
                _problem(
                    manifest, key, f"no nodeSelector or required node affinity: its {role} pods may run on any node"
                )
            )
            continue
        foreign = {
            **ROLE_LABELS[role](worksheet.release_name, worksheet.namespace),
            naming.CLUSTER_LABEL_KEY: "another.cluster",
        }
        if _fits(pod_spec, foreign):
            cluster = (
                f"{naming.CLUSTER_LABEL_KEY}={naming.cluster_label_value(worksheet.namespace, worksheet.release_name)}"
            )
            problems.append(
                _problem(
                    manifest,
                    deployment.fallback_key(),
                    f"its {role} pods do not require {cluster}, so they may start on the nodes of another AIStore "
                    f"cluster whose release has the same fullname '{fullname}'",
                )
            )
        replicas = (manifest.get("spec") or {}).get("replicas", 1)
        nodes = [node for node, carried in labels.items() if _fits(pod_spec, carried)]
        if len(nodes) < replicas:
            problems.append(
                _problem(
                    manifest,
                    key,
                    f"{replicas} replicas, but only {len(nodes)} of the nodes the program labels carry {requirements}",
                )
            )
    return problems


def _required_node_terms(pod_spec: Manifest) -> list[Manifest]:
    node_affinity = (pod_spec.get("affinity") or {}).get("nodeAffinity") or {}
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or {}
    return required.get("nodeSelectorTerms") or []


def _fits(pod_spec: Manifest, labels: dict[str, str]) -> bool:
    """Whether the scheduler may place the pod on a node with these labels, by its nodeSelector
    and required node affinity (any one term, every expression of it)."""
    selector = pod_spec.get("nodeSelector") or {}
    terms = _required_node_terms(pod_spec)
    return selector.items() <= labels.items() and (
        not terms
        or any(all(_matches(expression, labels) for expression in term.get("matchExpressions") or []) for term in terms)
    )


def _matches(expression: Manifest, labels: dict[str, str]) -> bool:
    """One node selector requirement (``Gt``/``Lt`` compare integers), as the scheduler reads it."""
    key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    value = labels.get(str(key))
    if operator == "In":
        return value in values
    if operator == "NotIn":
        return value not in values
    if operator == "Exists":
        return value is not None
    if operator == "DoesNotExist":
        return value is None
    if operator in ("Gt", "Lt") and len(values) == 1:
        try:
            label, bound = int(str(value)), int(values[0])
        except ValueError:
            return False
        return label > bound if operator == "Gt" else label < bound
    return False


def _node_requirements(pod_spec: Manifest) -> str | None:
    """What a node must carry for the pod, as ``kubectl get nodes -l`` would say it; None if nothing."""
    selector = [f"{key}={value}" for key, value in sorted((pod_spec.get("nodeSelector") or {}).items())]
    terms = [
        ", ".join(_requirement_text(expression) for expression in term.get("matchExpressions") or [])
        for term in _required_node_terms(pod_spec)
    ]
    if not selector and not terms:
        return None
    required = ", ".join(selector)
    if terms:
        affinity = "one of " + " or ".join(f"({term})" for term in terms) if len(terms) > 1 else terms[0]
        required = f"{required} and {affinity}" if required else affinity
    return required


def _requirement_text(expression: Manifest) -> str:
    key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
    if operator == "Exists":
        return str(key)
    if operator == "DoesNotExist":
        return f"!{key}"
    if operator == "In" and len(values) == 1:
        return f"{key}={values[0]}"
    return f"{key} {str(operator).lower()} ({', '.join(map(str, values))})"


# -- volumes, claims and host paths --------------------------------------------------------------


def volume_mount_problems(deployment: Deployment) -> list[Problem]:
    problems = []
    for rendered in deployment.chart_objects():
        spec = _pod_spec(rendered.manifest)
        if spec is None:
            continue
        volumes = {volume.get("name") for volume in spec.get("volumes") or []}
        templates = (rendered.manifest.get("spec") or {}).get("volumeClaimTemplates") or []
        volumes |= {(claim.get("metadata") or {}).get("name") for claim in templates}
        for container in (spec.get("initContainers") or []) + (spec.get("containers") or []):
            for mount in container.get("volumeMounts") or []:
                if mount.get("name") not in volumes:
                    mountpoint = str(mount.get("name", "")).startswith("fspath")
                    key = "targets.mountpoints" if mountpoint else deployment.fallback_key()
                    problems.append(
                        _problem(
                            rendered.manifest,
                            key,
                            f"container {container.get('name')} mounts '{mount.get('name')}' at "
                            f"{mount.get('mountPath')}, but the pod has no volume of that name",
                        )
                    )
    return problems


def known_claims(deployment: Deployment) -> set[str]:
    """Claims pods may mount: those the program creates and the existing claims the worksheet names."""
    claims = {rendered.name for rendered in deployment.program_objects() if rendered.kind == "PersistentVolumeClaim"}
    monitoring = deployment.worksheet.monitoring
    for service in MONITORING_SERVICES:
        storage = getattr(monitoring, service)
        if monitoring.enabled and storage is not None and storage.existing_claim is not None:
            claims.add(storage.existing_claim)
    return claims


def claim_problems(deployment: Deployment) -> list[Problem]:
    claims = known_claims(deployment)
    problems = []
    for rendered in deployment.chart_objects():
        for volume in (_pod_spec(rendered.manifest) or {}).get("volumes") or []:
            claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
            if claim is not None and claim not in claims:
                service = next((s for s in MONITORING_SERVICES if f"/{s}/" in rendered.source), None)
                problems.append(
                    _problem(
                        rendered.manifest,
                        f"monitoring.{service}" if service else deployment.fallback_key(),
                        f"volume {volume.get('name')} mounts the claim '{claim}', which neither the program creates "
                        "nor the worksheet names",
                    )
                )
    return problems


def host_path_problems(deployment: Deployment) -> list[Problem]:
    """The target mounts from the host exactly the worksheet's mountpoints and its state directory."""
    rendered = ais_statefulsets(deployment)["target"]
    if rendered is None:
        return []  # node_selector_problems reports it
    worksheet = deployment.worksheet
    state = naming.host_state_directory(worksheet.state_path, worksheet.release_name, "target")
    volumes = (_pod_spec(rendered.manifest) or {}).get("volumes") or []
    paths = [str(volume["hostPath"].get("path")) for volume in volumes if "hostPath" in volume]
    problems = []
    for path in dict.fromkeys(paths):
        if path == state or path in worksheet.mountpoints:
            continue
        key = "statePath" if path.startswith(worksheet.state_path + "/") else "targets.mountpoints"
        problems.append(_problem(rendered.manifest, key, f"mounts the host path {path}, which is not the worksheet's"))
    problems += [
        _problem(rendered.manifest, "targets.mountpoints", f"does not mount the mountpoint {path} from the host")
        for path in worksheet.mountpoints
        if path not in paths
    ]
    if state not in paths:
        problems.append(_problem(rendered.manifest, "statePath", f"does not keep its state in {state} on the host"))
    return problems


# -- spreading over real nodes ----------------------------------------------------------------


def topology_problems(deployment: Deployment) -> list[Problem]:
    keys = NODE_LABEL_KEYS | {key for labels in node_labels(deployment).values() for key in labels}
    problems = []
    for rendered in deployment.chart_objects():
        for kind, term in _affinity_terms(_pod_spec(rendered.manifest) or {}):
            topology = term.get("topologyKey")
            if topology not in keys:
                problems.append(
                    _problem(
                        rendered.manifest,
                        deployment.fallback_key(),
                        f"{kind} spreads over the node label '{topology}', which nodes do not carry "
                        f"(use {HOSTNAME_LABEL})",
                    )
                )
    return problems


def pod_affinity_problems(deployment: Deployment) -> list[Problem]:
    """A required pod affinity must find its pods: one to labels no pod of the cluster carries
    keeps its pods from ever being scheduled, as a node selector no node matches would. A term
    that looks into other namespaces (``namespaces``, ``namespaceSelector``) is not judged."""
    pods = [
        (_namespace(rendered.manifest, deployment), _pod_labels(rendered.manifest))
        for rendered in deployment.chart_objects()
        if _pod_spec(rendered.manifest) is not None
    ]
    problems = []
    for rendered in deployment.chart_objects():
        pod_spec = _pod_spec(rendered.manifest) or {}
        required = ((pod_spec.get("affinity") or {}).get("podAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution"
        ) or []
        namespace = _namespace(rendered.manifest, deployment)
        for term in required:
            if term.get("namespaces") or term.get("namespaceSelector") is not None:
                continue
            selector = term.get("labelSelector") or {}
            if not any(where == namespace and _selects(selector, labels) for where, labels in pods):
                problems.append(
                    _problem(
                        rendered.manifest,
                        deployment.fallback_key(),
                        f"requires to run beside pods labelled {_selector_text(selector)}, which no pod of this "
                        "cluster carries: its pods would never be scheduled",
                    )
                )
    return problems


def _namespace(manifest: Manifest, deployment: Deployment) -> str:
    return str((manifest.get("metadata") or {}).get("namespace") or deployment.worksheet.namespace)


def _pod_labels(manifest: Manifest) -> dict[str, str]:
    metadata = manifest.get("metadata") if manifest.get("kind") == "Pod" else _template(manifest).get("metadata")
    return dict((metadata or {}).get("labels") or {})


def _template(manifest: Manifest) -> Manifest:
    spec = manifest.get("spec") or {}
    if manifest.get("kind") == "CronJob":
        spec = (spec.get("jobTemplate") or {}).get("spec") or {}
    return spec.get("template") or {}


def _selects(selector: Manifest, labels: dict[str, str]) -> bool:
    """A label selector (matchLabels and matchExpressions, all of them) on a pod's labels."""
    return (selector.get("matchLabels") or {}).items() <= labels.items() and all(
        _matches(expression, labels) for expression in selector.get("matchExpressions") or []
    )


def _selector_text(selector: Manifest) -> str:
    pairs = [f"{key}={value}" for key, value in sorted((selector.get("matchLabels") or {}).items())]
    return ", ".join(pairs + [_requirement_text(expression) for expression in selector.get("matchExpressions") or []])


def _affinity_terms(pod_spec: Manifest) -> list[tuple[str, Manifest]]:
    terms = []
    for kind in ("podAffinity", "podAntiAffinity"):
        affinity = (pod_spec.get("affinity") or {}).get(kind) or {}
        terms += [(kind, term) for term in affinity.get("requiredDuringSchedulingIgnoredDuringExecution") or []]
        preferred = affinity.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        terms += [(kind, weighted.get("podAffinityTerm") or {}) for weighted in preferred]
    return terms


# -- references resolve -------------------------------------------------------------------------


def reference_problems(deployment: Deployment) -> list[Problem]:
    objects = deployment.chart_objects() + deployment.program_objects()
    present = {(rendered.kind, rendered.name) for rendered in objects}
    problems = []

    def require(manifest: Manifest, kind: str, name: Any, what: str) -> None:
        if (kind, name) not in present:
            problems.append(
                _problem(
                    manifest,
                    deployment.fallback_key(),
                    f"{what} {kind} '{name}', which neither the chart nor the program creates",
                )
            )

    for rendered in deployment.chart_objects():
        manifest = rendered.manifest
        spec = _pod_spec(manifest)
        if spec is not None:
            account = spec.get("serviceAccountName") or spec.get("serviceAccount")
            if account not in (None, "default"):
                require(manifest, "ServiceAccount", account, "its pods run as")
            for volume in spec.get("volumes") or []:
                for field, kind, name_field in (("configMap", "ConfigMap", "name"), ("secret", "Secret", "secretName")):
                    source = volume.get(field)
                    if source is not None and not source.get("optional"):
                        require(manifest, kind, source.get(name_field), f"volume {volume.get('name')} needs")
        role = manifest.get("roleRef") if rendered.kind in ("RoleBinding", "ClusterRoleBinding") else None
        if isinstance(role, dict):
            name = str(role.get("name"))
            if not (
                role.get("kind") == "ClusterRole" and (name in BUILT_IN_CLUSTER_ROLES or name.startswith("system:"))
            ):
                require(manifest, str(role.get("kind")), name, "its roleRef names")
    return problems


# -- across stacks -----------------------------------------------------------------------------


def cluster_scoped_collisions(first: Deployment, second: Deployment, where: str) -> list[Problem]:
    """Cluster-scoped objects two stacks that can share a cluster (``where`` says how) would
    both create."""
    theirs = {_identity(rendered.manifest) for rendered in _cluster_scoped(second)}
    return sorted(
        _problem(
            rendered.manifest, "releaseName, namespace", f"{first.stack} and {second.stack} both create it {where}"
        )
        for rendered in _cluster_scoped(first)
        if _identity(rendered.manifest) in theirs
    )


def _cluster_scoped(deployment: Deployment) -> list[RenderedObject]:
    objects = deployment.chart_objects() + deployment.program_objects()
    return [rendered for rendered in objects if rendered.kind in CLUSTER_SCOPED_KINDS]


def _identity(manifest: Manifest) -> tuple[str, str]:
    return (str(manifest.get("kind")), str((manifest.get("metadata") or {}).get("name")))


# -- helpers -----------------------------------------------------------------------------------


def _pod_spec(manifest: Manifest) -> Manifest | None:
    kind = manifest.get("kind")
    if kind == "Pod":
        return manifest.get("spec") or {}
    if kind in _POD_KINDS or kind == "CronJob":
        return _template(manifest).get("spec")
    return None


def _secrets_shaped(value: Any) -> Any:
    """Secret inputs as placeholders in the shape validation needs: a secret mapping keeps its keys."""
    if rpc.is_rpc_secret(value) and isinstance(rpc.unwrap_rpc_secret(value), dict):
        return dict.fromkeys(rpc.unwrap_rpc_secret(value), SECRET_PLACEHOLDER)
    if isinstance(value, dict):
        return {key: _secrets_shaped(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_secrets_shaped(item) for item in value]
    return reveal_secrets_as_placeholder(value)


def _problem(manifest: Manifest, key: str, message: str) -> Problem:
    return Problem(object_label(manifest), key, message)


def deployment_of(stack: StackConfig, chart_dir: Path | None = None, rendering: Rendering | None = None) -> Deployment:
    """The stack's program run under mocks (unless ``rendering`` is that run) and its chart
    (``chart_dir``, else the stack's own) rendered; raises ``ChartUnavailableError`` when the
    chart is not here."""
    worksheet = load_worksheet(stack.project_values(), stack.project_secret_keys())
    rendering = rendering or run_program(stack)
    chart = render_release(rendering, locate_chart(ReleaseInputs.of(rendering), chart_dir))
    return Deployment(stack.path.name, worksheet, rendering, chart)
