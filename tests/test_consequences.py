"""What each changed object does, rule by rule, on the real objects of the example stack: the
chart's (rendered with Helm's engine from the chart read in place, post-rendered) and the
program's own (volumes, claims, preflight Jobs). Each rule fires on the object mutated as a chart
edit, a post-renderer or a worksheet change would, and stays silent on the object as it is.

The refused fields are those the Kubernetes API validation refuses (cited in
aisinfra/review/consequences.py); the restarts follow the controllers' update strategies."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.review.consequences import Consequence, object_consequences, release_consequences, workload_roles
from aisinfra.review.manifest_diff import ObjectKey
from aisinfra.review.object_checks import deployment_of
from aisinfra.worksheet.stackfile import read_stack
from tests.conftest import worksheet

Manifest = dict[str, Any]
ROLES = workload_roles("demo")
TARGET = ("StatefulSet", "demo-ais-target")
PROXY = ("StatefulSet", "demo-ais-proxy")
GRAPHITE = ("StatefulSet", "demo-graphite")
GRAFANA = ("Deployment", "demo-grafana")
NODE_EXPORTER = ("DaemonSet", "demo-prometheus-node-exporter")
GRAFANA_VOLUME = ("PersistentVolume", "ais.demo.demo-ais-grafana")
GRAFANA_CLAIM = ("PersistentVolumeClaim", "demo-ais-grafana")
PREFLIGHT_CPU01 = "preflight-cpu01-"


@pytest.fixture(scope="module")
def example(chart_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list[Manifest]:
    """Every object of the worksheet's example stack with a Grafana password (else every
    render differs): the chart's and the program's."""
    config = worksheet(chart={"path": str(chart_dir)}, grafanaAdminPassword={"secure": "v1:abc:def"})
    path = tmp_path_factory.mktemp("stacks") / "Pulumi.example.yaml"
    path.write_text(yaml.safe_dump({"config": config}))
    deployment = deployment_of(read_stack(path))
    return [rendered.manifest for rendered in deployment.chart.objects + deployment.program_objects()]


def real(example: list[Manifest], kind: str, name: str) -> Manifest:
    """A copy of the object of that kind and name."""
    return copy.deepcopy(next(m for m in example if (m["kind"], m["metadata"]["name"]) == (kind, name)))


def after(manifest: Manifest, change: Callable[[Manifest], Any]) -> Manifest:
    changed = copy.deepcopy(manifest)
    change(changed)
    return changed


def lines(before: Manifest, changed: Manifest) -> list[str]:
    return [consequence.line for consequence in object_consequences(before, changed, ROLES)]


def refused(before: Manifest, changed: Manifest) -> str:
    """The one refusal line, up to its advice."""
    (consequence,) = object_consequences(before, changed, ROLES)
    assert consequence.refused
    return consequence.line.split(" -- ")[0]


def test_no_object_as_it_is_has_a_consequence(example: list[Manifest]) -> None:
    objects = copy.deepcopy(example)
    # the chart's objects (one more: the dashboard sidecar's provider) and the program's (two more:
    # the dashboards' ConfigMaps)
    assert len(objects) == 73
    assert [lines(manifest, copy.deepcopy(manifest)) for manifest in objects] == [[]] * len(objects)


# --- refused updates ------------------------------------------------------------------------------


def test_a_target_selector_change_is_refused_naming_the_field_and_the_safe_way(example: list[Manifest]) -> None:
    target = real(example, *TARGET)
    changed = after(target, lambda m: m["spec"]["selector"]["matchLabels"].update(component="storage"))
    assert lines(target, changed) == [
        "! refused by the API server: StatefulSet ais/demo-ais-target spec.selector is immutable -- keep it as it "
        "was, or first `kubectl -n ais delete statefulset demo-ais-target --cascade=orphan` (its pods keep running) "
        "and let the upgrade recreate it; then delete the old pods one at a time, as they do not match the new "
        "selector"
    ]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("volumeClaimTemplates", [{"metadata": {"name": "cache"}, "spec": {"accessModes": ["ReadWriteOnce"]}}]),
        ("serviceName", "demo-ais-target-headless"),
        ("podManagementPolicy", "OrderedReady"),
        ("revisionHistoryLimit", 3),
    ],
)
def test_every_statefulset_field_but_the_mutable_ones_is_refused(
    example: list[Manifest], field: str, value: Any
) -> None:
    target = real(example, *TARGET)
    changed = after(target, lambda m: m["spec"].update({field: value}))
    assert lines(target, changed) == [
        f"! refused by the API server: StatefulSet ais/demo-ais-target spec.{field} is immutable -- keep it as it "
        "was, or first `kubectl -n ais delete statefulset demo-ais-target --cascade=orphan` (its pods keep running) "
        "and let the upgrade recreate it"
    ]


def test_several_refused_fields_are_named_on_one_line(example: list[Manifest]) -> None:
    target = real(example, *TARGET)

    def edit(manifest: Manifest) -> None:
        manifest["spec"]["selector"]["matchLabels"]["component"] = "storage"
        manifest["spec"]["volumeClaimTemplates"] = [{"metadata": {"name": "cache"}}]

    assert refused(target, after(target, edit)) == (
        "! refused by the API server: StatefulSet ais/demo-ais-target spec.selector and spec.volumeClaimTemplates "
        "are immutable"
    )


def test_a_refused_update_restarts_nothing(example: list[Manifest]) -> None:
    target = real(example, *TARGET)

    def edit(manifest: Manifest) -> None:
        manifest["spec"]["serviceName"] = "elsewhere"
        manifest["spec"]["template"]["spec"]["containers"][0]["image"] = "aistore/aisnode:3.5"

    assert [line[:30] for line in lines(target, after(target, edit))] == ["! refused by the API server: S"]


def test_a_statefulset_default_written_out_is_no_change(example: list[Manifest]) -> None:
    graphite = real(example, *GRAPHITE)
    assert "podManagementPolicy" not in graphite["spec"] and "revisionHistoryLimit" not in graphite["spec"]
    explicit = after(graphite, lambda m: m["spec"].update(podManagementPolicy="OrderedReady", revisionHistoryLimit=10))
    assert lines(graphite, explicit) == []
    assert lines(explicit, graphite) == []


def test_the_mutable_statefulset_fields_are_not_refused(example: list[Manifest]) -> None:
    proxy = real(example, *PROXY)
    changed = after(proxy, lambda m: m["spec"].update(minReadySeconds=10, updateStrategy={"type": "OnDelete"}))
    assert lines(proxy, changed) == []


@pytest.mark.parametrize(("kind", "name"), [GRAFANA, NODE_EXPORTER])
def test_a_deployment_or_daemonset_selector_change_is_refused(example: list[Manifest], kind: str, name: str) -> None:
    workload = real(example, kind, name)
    changed = after(workload, lambda m: m["spec"]["selector"]["matchLabels"].update(tier="monitoring"))
    assert lines(workload, changed) == [
        f"! refused by the API server: {kind} ais/{name} spec.selector is immutable -- keep it as it was, or first "
        f"`kubectl -n ais delete {kind.lower()} {name}` and let the upgrade recreate it"
    ]


def test_a_services_cluster_ip_is_refused_once_allocated_and_kept_when_left_out(example: list[Manifest]) -> None:
    grafana = real(example, "Service", "demo-grafana")
    assert "clusterIP" not in grafana["spec"]  # the cluster allocates one
    headless = after(grafana, lambda m: m["spec"].update(clusterIP="None"))
    assert refused(grafana, headless) == (
        "! refused by the API server: Service ais/demo-grafana spec.clusterIP is immutable"
    )
    proxy = real(example, "Service", "demo-ais-proxy")
    assert proxy["spec"]["clusterIP"] == "None"  # headless
    assert lines(proxy, after(proxy, lambda m: m["spec"].pop("clusterIP"))) == []  # the registry keeps it
    assert lines(proxy, after(proxy, lambda m: m["spec"].update(clusterIPs=["None"]))) == []  # the same address
    assert refused(proxy, after(proxy, lambda m: m["spec"].update(clusterIP="", clusterIPs=["10.96.0.20"]))) == (
        "! refused by the API server: Service ais/demo-ais-proxy spec.clusterIP is immutable"
    )
    external = after(grafana, lambda m: m["spec"].update(type="ExternalName", externalName="grafana.example.com"))
    assert lines(headless, external) == []


def test_a_storage_class_keeps_its_provisioning_fields(example: list[Manifest]) -> None:
    storage_class = real(example, "StorageClass", "ais.demo.local-storage")
    immediate = after(storage_class, lambda m: m.update(volumeBindingMode="Immediate"))
    assert lines(storage_class, immediate) == [
        "! refused by the API server: StorageClass ais.demo.local-storage volumeBindingMode is immutable -- keep it "
        "as it was, or first `kubectl delete storageclass ais.demo.local-storage` and let the upgrade recreate it"
    ]
    assert lines(storage_class, after(storage_class, lambda m: m.update(reclaimPolicy="Delete"))) == []
    assert lines(storage_class, after(storage_class, lambda m: m.update(allowVolumeExpansion=True))) == []


@pytest.mark.parametrize(
    ("kind", "name", "label"),
    [
        ("RoleBinding", "ais-rb", "RoleBinding ais/ais-rb"),
        ("ClusterRoleBinding", "ais.demo.ais-crb", "ClusterRoleBinding ais.demo.ais-crb"),
    ],
)
def test_a_bindings_role_is_immutable(example: list[Manifest], kind: str, name: str, label: str) -> None:
    binding = real(example, kind, name)
    assert refused(binding, after(binding, lambda m: m["roleRef"].update(name="other"))) == (
        f"! refused by the API server: {label} roleRef is immutable"
    )
    assert lines(binding, after(binding, lambda m: m["subjects"].append({"kind": "Group", "name": "ops"}))) == []


def test_a_secrets_type_and_an_immutable_config_maps_data_are_refused(example: list[Manifest]) -> None:
    secret = real(example, "Secret", "demo-ais-grafana-admin")
    assert refused(secret, after(secret, lambda m: m.update(type="kubernetes.io/basic-auth"))) == (
        "! refused by the API server: Secret ais/demo-ais-grafana-admin type is immutable"
    )
    assert lines(secret, after(secret, lambda m: m.update(type="Opaque"))) == []  # the default, written out
    config = real(example, "ConfigMap", "ais-target")
    edited = after(config, lambda m: m["data"].update(note="changed"))
    assert lines(config, edited) == []  # a ConfigMap change restarts nothing
    frozen = after(config, lambda m: m.update(immutable=True))
    assert refused(frozen, after(edited, lambda m: m.update(immutable=True))) == (
        "! refused by the API server: ConfigMap ais/ais-target data is immutable"
    )


def test_a_volumes_source_and_node_are_immutable_its_capacity_is_not(example: list[Manifest]) -> None:
    volume = real(example, *GRAFANA_VOLUME)
    moved = after(volume, lambda m: m["spec"]["local"].update(path="/data/grafana2"))
    assert lines(volume, moved) == [
        "! refused by the API server: PersistentVolume ais.demo.demo-ais-grafana spec.local is immutable -- keep it "
        "as it was, or back up its data, `kubectl delete persistentvolume ais.demo.demo-ais-grafana` and let the "
        "upgrade recreate it"
    ]

    def elsewhere(manifest: Manifest) -> None:
        terms = manifest["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"]
        terms[0]["matchExpressions"][0]["values"] = ["cpu02"]

    assert refused(volume, after(volume, elsewhere)) == (
        "! refused by the API server: PersistentVolume ais.demo.demo-ais-grafana spec.nodeAffinity is immutable"
    )
    assert lines(volume, after(volume, lambda m: m["spec"]["capacity"].update(storage="60Gi"))) == []


def test_a_claim_is_immutable_but_for_growing_where_its_class_allows_it(example: list[Manifest]) -> None:
    claim = real(example, *GRAFANA_CLAIM)
    label = "! refused by the API server: PersistentVolumeClaim ais/demo-ais-grafana"

    def storage(size: str) -> Callable[[Manifest], None]:
        return lambda m: m["spec"]["resources"]["requests"].update(storage=size)

    assert refused(claim, after(claim, lambda m: m["spec"].update(accessModes=["ReadWriteMany"]))) == (
        f"{label} spec.accessModes is immutable"
    )
    assert refused(claim, after(claim, storage("40Gi"))) == f"{label} spec.resources.requests.storage is immutable"
    # Class "": the volume was made by hand, and only a StorageClass that allows it expands one.
    assert refused(claim, after(claim, storage("60Gi"))) == f"{label} spec.resources.requests.storage is immutable"
    classed = after(claim, lambda m: m["spec"].update(storageClassName="expandable"))
    assert lines(classed, after(classed, storage("60Gi"))) == []
    assert lines(classed, after(classed, storage("51200Mi"))) == []  # 50Gi written otherwise
    assert refused(claim, after(claim, lambda m: m["spec"]["resources"].update(limits={"storage": "60Gi"}))) == (
        f"{label} spec.resources is immutable"
    )


def test_a_jobs_template_is_immutable(example: list[Manifest]) -> None:
    (name,) = [m["metadata"]["name"] for m in example if m["metadata"]["name"].startswith(PREFLIGHT_CPU01)]
    job = real(example, "Job", name)
    changed = after(job, lambda m: m["spec"]["template"]["spec"]["containers"][0].update(image="busybox:1.37"))
    assert lines(job, changed) == [
        f"! refused by the API server: Job ais/{name} spec.template is immutable -- keep it as it was, or first "
        f"`kubectl -n ais delete job {name}` and let the upgrade recreate it"
    ]
    assert lines(job, after(job, lambda m: m["metadata"].setdefault("labels", {}).update(checked="yes"))) == []


# --- pods restarted, added, removed ---------------------------------------------------------------


def new_image(manifest: Manifest) -> None:
    manifest["spec"]["template"]["spec"]["containers"][0]["image"] += "-patched"


@pytest.mark.parametrize(("kind_and_name", "role"), [(TARGET, "target"), (PROXY, "proxy")])
def test_a_new_pod_template_restarts_every_aistore_pod_one_at_a_time(
    example: list[Manifest], kind_and_name: tuple[str, str], role: str
) -> None:
    statefulset = real(example, *kind_and_name)
    assert statefulset["spec"]["replicas"] == 12
    assert lines(statefulset, after(statefulset, new_image)) == [f"~ restarts 12 {role} pods, one at a time"]


def test_a_statefulset_strategy_decides_how_its_pods_restart(example: list[Manifest]) -> None:
    target = real(example, *TARGET)

    def strategy(value: dict[str, Any]) -> Callable[[Manifest], None]:
        def change(manifest: Manifest) -> None:
            new_image(manifest)
            manifest["spec"]["updateStrategy"] = value

        return change

    on_delete = after(target, strategy({"type": "OnDelete"}))
    assert lines(target, on_delete) == [
        "~ restarts nothing until each of the 12 target pods is deleted by hand (updateStrategy OnDelete)"
    ]
    partitioned = after(target, strategy({"type": "RollingUpdate", "rollingUpdate": {"partition": 8}}))
    assert lines(target, partitioned) == [
        "~ restarts 4 target pods, one at a time (those below updateStrategy.rollingUpdate.partition 8 keep the old "
        "template)"
    ]
    faster = after(target, strategy({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 3}}))
    assert lines(target, faster) == [
        "~ restarts 12 target pods, up to 3 at a time where the MaxUnavailableStatefulSet feature gate is on, else "
        "one at a time"
    ]


def test_a_replica_count_adds_or_removes_pods_and_restarts_none(example: list[Manifest]) -> None:
    target = real(example, *TARGET)
    assert lines(target, after(target, lambda m: m["spec"].update(replicas=13))) == ["~ adds 1 target pod"]
    assert lines(target, after(target, lambda m: m["spec"].update(replicas=10))) == [
        "~ removes 2 target pods (the highest ordinals)"
    ]

    def grow_and_patch(manifest: Manifest) -> None:
        manifest["spec"]["replicas"] = 14
        new_image(manifest)

    assert lines(target, after(target, grow_and_patch)) == [
        "~ restarts 12 target pods, one at a time",
        "~ adds 2 target pods",
    ]


def test_other_workloads_are_named_by_their_object(example: list[Manifest]) -> None:
    graphite = real(example, *GRAPHITE)
    assert "replicas" not in graphite["spec"]  # one pod, the API server's default
    assert lines(graphite, after(graphite, new_image)) == ["~ restarts 1 demo-graphite pod, one at a time"]
    grafana = real(example, *GRAFANA)
    assert lines(grafana, after(grafana, new_image)) == ["~ restarts 1 demo-grafana pod, rolling"]

    def recreate(manifest: Manifest) -> None:
        new_image(manifest)
        manifest["spec"]["strategy"] = {"type": "Recreate"}

    assert lines(grafana, after(grafana, recreate)) == [
        "~ restarts 1 demo-grafana pod, all at once (strategy Recreate)"
    ]
    exporter = real(example, *NODE_EXPORTER)
    assert lines(exporter, after(exporter, new_image)) == [
        "~ restarts the demo-prometheus-node-exporter pod on each of its nodes, rolling"
    ]
    on_delete = after(exporter, lambda m: m["spec"].update(updateStrategy={"type": "OnDelete"}))
    assert lines(on_delete, after(on_delete, new_image)) == [
        "~ restarts nothing until each demo-prometheus-node-exporter pod is deleted by hand (updateStrategy OnDelete)"
    ]


def test_a_change_outside_the_pod_template_restarts_nothing(example: list[Manifest]) -> None:
    target = real(example, *TARGET)
    relabelled = after(target, lambda m: m["metadata"]["labels"].update(team="storage"))
    assert lines(target, relabelled) == []


# --- over a whole release ---------------------------------------------------------------------------


def test_a_release_names_only_the_objects_with_consequences(example: list[Manifest]) -> None:
    before = copy.deepcopy(example)
    changed = copy.deepcopy(before)
    for manifest in changed:
        if (manifest["kind"], manifest["metadata"]["name"]) in (TARGET, PROXY):
            new_image(manifest)
        if (manifest["kind"], manifest["metadata"]["name"]) == ("ConfigMap", "ais-statsd"):
            manifest["data"]["note"] = "changed"
        if (manifest["kind"], manifest["metadata"]["name"]) == GRAPHITE:
            manifest["spec"]["serviceName"] = "demo-graphite"
    found = release_consequences(before, changed, "demo")
    assert list(found) == [
        ObjectKey("StatefulSet", "ais", "demo-ais-proxy"),
        ObjectKey("StatefulSet", "ais", "demo-ais-target"),
        ObjectKey("StatefulSet", "ais", "demo-graphite"),
    ]
    assert found[ObjectKey("StatefulSet", "ais", "demo-ais-proxy")] == [
        Consequence("restarts 12 proxy pods, one at a time")
    ]
    assert found[ObjectKey("StatefulSet", "ais", "demo-ais-target")] == [
        Consequence("restarts 12 target pods, one at a time")
    ]
    (graphite,) = found[ObjectKey("StatefulSet", "ais", "demo-graphite")]
    assert graphite.refused and "StatefulSet ais/demo-graphite spec.serviceName is immutable" in graphite.text
    assert release_consequences(before, before, "demo") == {}


# --- each rule on small objects in the chart's shape ----------------------------------------------


def obj(kind: str, name: str, namespace: str | None = "ais", **fields: Any) -> Manifest:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return {"apiVersion": "v1", "kind": kind, "metadata": metadata, **fields}


JOB = obj(
    "Job",
    "preflight-cpu01-0123456789",
    spec={"backoffLimit": 0, "template": {"spec": {"containers": [{"name": "check", "image": "busybox:1.36.1"}]}}},
)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("selector", {"matchLabels": {"job-name": "other"}}),
        ("completions", 2),
        ("completionMode", "Indexed"),
        ("podFailurePolicy", {"rules": []}),
        ("backoffLimitPerIndex", 1),
    ],
)
def test_every_immutable_job_field_is_refused(field: str, value: Any) -> None:
    changed = after(JOB, lambda m: m["spec"].update({field: value}))
    assert (
        refused(JOB, changed)
        == f"! refused by the API server: Job ais/preflight-cpu01-0123456789 spec.{field} is immutable"
    )


def test_a_jobs_mutable_fields_and_defaults_written_out_are_no_refusal() -> None:
    assert lines(JOB, after(JOB, lambda m: m["spec"].update(completionMode="NonIndexed"))) == []
    assert lines(JOB, after(JOB, lambda m: m["spec"].update(backoffLimit=3, activeDeadlineSeconds=60))) == []


def test_a_service_that_is_or_becomes_external_name_keeps_no_cluster_ip() -> None:
    """ValidateServiceUpdate checks the cluster IP only when neither side is ExternalName."""
    external = obj("Service", "s", spec={"type": "ExternalName", "externalName": "grafana.example.com"})
    pinned = obj("Service", "s", spec={"type": "ClusterIP", "clusterIP": "10.96.0.10"})
    assert lines(external, pinned) == []
    assert lines(pinned, after(external, lambda m: m["spec"].update(clusterIP="10.96.0.11"))) == []
    assert refused(pinned, after(pinned, lambda m: m["spec"].update(clusterIP="10.96.0.11"))) == (
        "! refused by the API server: Service ais/s spec.clusterIP is immutable"
    )


def test_an_empty_spec_is_compared_as_no_fields() -> None:
    """A template whose spec renders empty gives `spec: null`: the cluster allocated the address."""
    empty = obj("Service", "s", spec=None)
    assert refused(empty, obj("Service", "s", spec={"clusterIP": "10.96.0.10"})) == (
        "! refused by the API server: Service ais/s spec.clusterIP is immutable"
    )
    assert lines(empty, obj("Service", "s", spec={"ports": [{"port": 80}]})) == []


def test_a_field_the_new_rendering_leaves_out_is_changed_too(example: list[Manifest]) -> None:
    target = real(example, *TARGET)
    assert refused(target, after(target, lambda m: m["spec"].pop("serviceName"))) == (
        "! refused by the API server: StatefulSet ais/demo-ais-target spec.serviceName is immutable"
    )


VOLUME = obj(
    "PersistentVolume",
    "ais.demo.v",
    namespace=None,
    spec={"capacity": {"storage": "50Gi"}, "local": {"path": "/data/v"}, "storageClassName": ""},
)


def test_a_volume_may_gain_node_affinity_and_writing_out_its_default_mode_is_no_change() -> None:
    affinity = {"required": {"nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "In"}]}]}}
    assert lines(VOLUME, after(VOLUME, lambda m: m["spec"].update(nodeAffinity=affinity))) == []
    assert lines(VOLUME, after(VOLUME, lambda m: m["spec"].update(volumeMode="Filesystem"))) == []
    assert refused(VOLUME, after(VOLUME, lambda m: m["spec"].update(volumeMode="Block"))) == (
        "! refused by the API server: PersistentVolume ais.demo.v spec.volumeMode is immutable"
    )


CLAIM = obj(
    "PersistentVolumeClaim",
    "c",
    spec={"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "50Gi"}}, "storageClassName": ""},
)
CLAIM_REFUSED = "! refused by the API server: PersistentVolumeClaim ais/c"


def claim(**spec: Any) -> Manifest:
    return after(CLAIM, lambda m: m["spec"].update(spec))


def test_a_claims_volume_name_may_be_set_once() -> None:
    bound = claim(volumeName="ais.demo.v1")
    assert lines(CLAIM, bound) == []
    assert refused(bound, claim(volumeName="ais.demo.v2")) == f"{CLAIM_REFUSED} spec.volumeName is immutable"


def test_a_claims_class_may_be_set_only_where_none_was() -> None:
    """validateStorageClassUpgradeFromNil: unset, not the empty class of a volume made by hand."""
    unset = after(CLAIM, lambda m: m["spec"].pop("storageClassName"))
    assert lines(unset, claim(storageClassName="fast")) == []
    assert refused(CLAIM, claim(storageClassName="fast")) == f"{CLAIM_REFUSED} spec.storageClassName is immutable"


def test_a_claims_default_mode_written_out_is_no_change() -> None:
    assert lines(CLAIM, claim(volumeMode="Filesystem")) == []


def test_a_claims_other_requests_are_immutable() -> None:
    def requests(**values: Any) -> Manifest:
        return claim(resources={"requests": {"storage": "50Gi", **values}})

    assert refused(requests(cpu="1"), requests(cpu="2")) == f"{CLAIM_REFUSED} spec.resources is immutable"


@pytest.mark.parametrize(
    ("size", "consequence"),
    [
        ("51200Mi", []),  # 50Gi written otherwise
        (53687091200, []),  # 50Gi in bytes
        (53687091199.0, [f"{CLAIM_REFUSED} spec.resources.requests.storage is immutable"]),  # a byte less
        ("53687091201", [f"{CLAIM_REFUSED} spec.resources.requests.storage is immutable"]),  # grown, class ""
        ("fifty", []),  # not a quantity: nothing is claimed about it
        ("Infinity", []),
        (None, []),
    ],
)
def test_a_claims_storage_request_is_compared_as_a_quantity(size: Any, consequence: list[str]) -> None:
    changed = claim(resources={"requests": {"storage": size}})
    assert [line.split(" -- ")[0] for line in lines(CLAIM, changed)] == consequence


STORAGE_CLASS = obj("StorageClass", "ais.demo.c", namespace=None, provisioner="kubernetes.io/no-provisioner")


@pytest.mark.parametrize(
    ("field", "value"),
    [("parameters", {"type": "ssd"}), ("provisioner", "example.com/csi"), ("reclaimPolicy", "Retain")],
)
def test_every_provisioning_field_of_a_storage_class_is_refused(field: str, value: Any) -> None:
    changed = after(STORAGE_CLASS, lambda m: m.update({field: value}))
    assert (
        refused(STORAGE_CLASS, changed) == f"! refused by the API server: StorageClass ais.demo.c {field} is immutable"
    )


def test_a_storage_classs_defaults_written_out_are_no_change() -> None:
    explicit = after(STORAGE_CLASS, lambda m: m.update(reclaimPolicy="Delete", volumeBindingMode="Immediate"))
    assert lines(STORAGE_CLASS, explicit) == []


TLS = obj("Secret", "t", type="kubernetes.io/tls", data={"tls.crt": "<redacted>", "tls.key": "<redacted>"})


def test_an_immutable_secrets_data_and_flag_are_refused_a_mutable_ones_are_not() -> None:
    label = "! refused by the API server: Secret ais/t"
    more = after(TLS, lambda m: m["data"].update({"ca.crt": "<redacted>"}))
    assert lines(TLS, more) == []  # its type kept, its data mutable
    frozen = after(TLS, lambda m: m.update(immutable=True))
    assert refused(frozen, after(more, lambda m: m.update(immutable=True))) == f"{label} data is immutable"
    assert refused(frozen, TLS) == f"{label} immutable is immutable"
    both = after(more, lambda m: m.update(immutable=True, type="Opaque"))
    assert refused(frozen, both) == f"{label} type and data are immutable"


def test_an_immutable_config_maps_binary_data_and_flag_are_refused() -> None:
    label = "! refused by the API server: ConfigMap ais/m"
    frozen = obj("ConfigMap", "m", immutable=True, binaryData={"a": "AA=="})
    assert refused(frozen, after(frozen, lambda m: m["binaryData"].update(a="AB=="))) == (
        f"{label} binaryData is immutable"
    )
    assert refused(frozen, after(frozen, lambda m: m.pop("immutable"))) == f"{label} immutable is immutable"


def test_three_refused_fields_are_listed_and_kept_together(example: list[Manifest]) -> None:
    target = real(example, *TARGET)

    def edit(manifest: Manifest) -> None:
        manifest["spec"].update(serviceName="elsewhere", podManagementPolicy="OrderedReady", revisionHistoryLimit=3)

    assert lines(target, after(target, edit)) == [
        "! refused by the API server: StatefulSet ais/demo-ais-target spec.podManagementPolicy, "
        "spec.revisionHistoryLimit and spec.serviceName are immutable -- keep them as they were, or first `kubectl "
        "-n ais delete statefulset demo-ais-target --cascade=orphan` (its pods keep running) and let the upgrade "
        "recreate it"
    ]


def test_a_refused_claim_says_to_back_up_its_data() -> None:
    assert lines(CLAIM, claim(accessModes=["ReadWriteMany"])) == [
        f"{CLAIM_REFUSED} spec.accessModes is immutable -- keep it as it was, or back up its data, `kubectl -n ais "
        "delete persistentvolumeclaim c` and let the upgrade recreate it"
    ]


def test_only_a_statefulsets_pods_are_named_by_role_and_ordinal(example: list[Manifest]) -> None:
    """A Deployment that shares the proxy StatefulSet's name is still named by its object."""
    grafana = real(example, *GRAFANA)
    namesake = after(grafana, lambda m: m["metadata"].update(name="demo-ais-proxy"))
    assert lines(namesake, after(namesake, new_image)) == ["~ restarts 1 demo-ais-proxy pod, rolling"]
    three = after(grafana, lambda m: m["spec"].update(replicas=3))
    assert lines(three, grafana) == ["~ removes 2 demo-grafana pods"]


def test_a_partition_at_or_above_the_replicas_restarts_none(example: list[Manifest]) -> None:
    target = real(example, *TARGET)

    def partitioned(manifest: Manifest) -> None:
        new_image(manifest)
        manifest["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"partition": 12}}

    assert lines(target, after(target, partitioned)) == [
        "~ restarts 0 target pods, one at a time (those below updateStrategy.rollingUpdate.partition 12 keep the old "
        "template)"
    ]


def test_a_max_unavailable_of_one_is_one_at_a_time(example: list[Manifest]) -> None:
    target = real(example, *TARGET)

    def one(manifest: Manifest) -> None:
        new_image(manifest)
        manifest["spec"]["updateStrategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}

    assert lines(target, after(target, one)) == ["~ restarts 12 target pods, one at a time"]


def test_a_release_skips_added_and_removed_objects_and_names_pods_by_role(example: list[Manifest]) -> None:
    """Only objects both renderings have are updated; Graphite's pods are not AIStore's."""
    before = copy.deepcopy(example)
    changed = [m for m in copy.deepcopy(example) if (m["kind"], m["metadata"]["name"]) != GRAFANA_CLAIM]
    changed.append(obj("ConfigMap", "added"))
    for manifest in changed:
        if (manifest["kind"], manifest["metadata"]["name"]) == GRAPHITE:
            new_image(manifest)
    assert release_consequences(before, changed, "demo") == {
        ObjectKey("StatefulSet", "ais", "demo-graphite"): [Consequence("restarts 1 demo-graphite pod, one at a time")]
    }
