"""Each check of the object review on small objects written here in the chart's shape (after the
post-renderer): a sound set it finds nothing in, and each way to break it, with the whole problem
the check must say. The program's objects and node labels are the example stack's (Pulumi.dev.yaml:
release demo in namespace ais, nodes cpu01..cpu12 labelled for both roles, mountpoints
/ais/sda..j, state under /etc/ais). Expectations are written from the checks' rules (the module's
docstring), not read off their output.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aisinfra.chart.rules import load_worksheet
from aisinfra.review.chart_render import ChartRendering, ChartUnavailableError, Hook, ReleaseInputs, RenderedObject
from aisinfra.review.object_checks import (
    Deployment,
    Problem,
    claim_problems,
    clean_text,
    cluster_scoped_collisions,
    deployment_of,
    deployment_problems,
    node_selector_problems,
    pod_affinity_problems,
    reference_problems,
    schema_problems,
    topology_problems,
    volume_mount_problems,
)
from aisinfra.review.render import Rendering, run_program
from aisinfra.worksheet.stackfile import SECRET_PLACEHOLDER, StackConfig
from tests.conftest import worksheet

Manifest = dict[str, Any]
TARGET = "StatefulSet ais/demo-ais-target"
PROXY = "StatefulSet ais/demo-ais-proxy"
DISKS = "abcdefghij"
HOSTNAME = "kubernetes.io/hostname"


def statefulset(role: str, label: tuple[str, str], volumes: list[Manifest], mounts: list[Manifest]) -> Manifest:
    """An AIStore StatefulSet as the chart renders it for release demo, with the program's node affinity."""
    key, value = label
    expressions = [
        {"key": key, "operator": "In", "values": [value]},
        {"key": "aisinfra/cluster", "operator": "In", "values": ["ais.demo"]},
    ]
    spread = {"labelSelector": {"matchLabels": {"component": role}}, "topologyKey": HOSTNAME}
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": f"demo-ais-{role}", "namespace": "ais", "labels": {"app": "ais"}},
        "spec": {
            "replicas": 12,
            "serviceName": f"demo-ais-{role}",
            "selector": {"matchLabels": {"app": "ais", "component": role}},
            "template": {
                "metadata": {"labels": {"app": "ais", "component": role}},
                "spec": {
                    "serviceAccountName": "ais-sa",
                    "nodeSelector": {key: value},
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [{"matchExpressions": expressions}]
                            }
                        },
                        "podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [spread]},
                    },
                    "initContainers": [{"name": "init", "image": "aistorage/ais-init:v1"}],
                    "containers": [{"name": "ais", "image": "aistorage/aisnode:v1", "volumeMounts": mounts}],
                    "volumes": volumes,
                },
            },
        },
    }


def sound_objects() -> list[RenderedObject]:
    statsd = {"name": "statsd-config", "configMap": {"name": "ais-statsd"}}
    target_volumes = [
        statsd,
        {"name": "state-mount", "hostPath": {"path": "/etc/ais/demo/target"}},
        *({"name": f"fspath-ais-sd{disk}", "hostPath": {"path": f"/ais/sd{disk}"}} for disk in DISKS),
    ]
    target_mounts = [
        {"name": "statsd-config", "mountPath": "/var/statsd_config"},
        {"name": "state-mount", "mountPath": "/etc/ais"},
        *({"name": f"fspath-ais-sd{disk}", "mountPath": f"/ais/sd{disk}"} for disk in DISKS),
    ]
    proxy_volumes = [statsd, {"name": "state-mount", "hostPath": {"path": "/etc/ais/demo/target"}}]
    manifests = [
        ({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ais-sa", "namespace": "ais"}}, "ais-sa"),
        ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ais-statsd", "namespace": "ais"}}, "statsd"),
        (statefulset("target", ("nvidia.com/ais-target", "demo-ais"), target_volumes, target_mounts), "target-ss"),
        (statefulset("proxy", ("nvidia.com/ais-proxy", "demo-ais-electable"), proxy_volumes, []), "proxy-ss"),
    ]
    return [RenderedObject(manifest, f"ais/templates/{template}.yaml") for manifest, template in manifests]


def pod_spec(manifest: Manifest) -> Manifest:
    spec: Manifest = manifest["spec"]["template"]["spec"]
    return spec


@pytest.fixture
def sound(example_stack: StackConfig, example_rendering: Rendering) -> Deployment:
    worksheet = load_worksheet(example_stack.project_values(), example_stack.project_secret_keys())
    chart = ChartRendering(Path("chart"), ReleaseInputs.of(example_rendering), sound_objects())
    return Deployment(example_stack.path.name, worksheet, example_rendering, chart)


def with_objects(deployment: Deployment, *added: Manifest | RenderedObject, hooks: tuple[Hook, ...] = ()) -> Deployment:
    """The deployment with more chart objects (from ``ais/templates/extra.yaml`` unless given as
    RenderedObject) and install hooks."""
    objects = [item if isinstance(item, RenderedObject) else RenderedObject(item, "ais/templates/extra.yaml")
               for item in added]  # fmt: skip
    chart = dataclasses.replace(deployment.chart, objects=deployment.chart.objects + objects, hooks=list(hooks))
    return dataclasses.replace(deployment, chart=chart)


def changed(deployment: Deployment, name: str, change: Callable[[Manifest], Any]) -> Deployment:
    """The deployment with the chart object ``name`` changed (``change`` returning False drops it)."""
    objects = []
    for rendered in deployment.chart.objects:
        manifest = copy.deepcopy(rendered.manifest)
        if rendered.name == name and change(manifest) is False:
            continue
        objects.append(RenderedObject(manifest, rendered.source))
    return dataclasses.replace(deployment, chart=dataclasses.replace(deployment.chart, objects=objects))


def pod(name: str, spec: Manifest, labels: dict[str, str] | None = None, namespace: str | None = "ais") -> Manifest:
    metadata: Manifest = {"name": name, "labels": labels or {"app": name}}
    if namespace is not None:
        metadata["namespace"] = namespace
    containers = spec.pop("containers", [{"name": "main", "image": "busybox:1.36"}])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": {"containers": containers, **spec}}


def deployment_object(name: str, spec: Manifest, labels: dict[str, str]) -> Manifest:
    """A Deployment whose object labels differ from its pods'."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "ais", "labels": {"release": "demo"}},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}], **spec},
            },
        },
    }


def required_beside(*terms: Manifest) -> Manifest:
    return {"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": list(terms)}}}


def beside(match_labels: dict[str, str], **more: Any) -> Manifest:
    return {"labelSelector": {"matchLabels": match_labels}, "topologyKey": HOSTNAME, **more}


NEVER_SCHEDULED = "which no pod of this cluster carries: its pods would never be scheduled"
NOBODY_CREATES = "which neither the chart nor the program creates"


# -- the sound set, and what is said of it -------------------------------------------------------


def test_the_sound_objects_have_no_problem_and_the_clean_text_counts_them(sound: Deployment) -> None:
    assert deployment_problems(sound) == []
    # The program's objects of the example stack: the namespace, the dashboards' two ConfigMaps,
    # a volume and a claim each for Graphite and Grafana, and a preflight Job per node (12).
    assert clean_text(sound) == (
        f"No problems in the {4 + 1 + 2 + 4 + 12} objects the cluster would get (the chart's and the program's), "
        "checked against Kubernetes 1.30's schemas, the nodes the program labels, and each other: volume mounts, "
        "claims, host paths, topology keys and references"
    )


def test_an_install_hook_is_checked_and_a_test_hook_is_not(sound: Deployment) -> None:
    """Helm runs a pre-install hook's Pod like any object (its namespace is the release's); it
    never runs a test hook on install. Neither is post-rendered."""
    claim = {"name": "scratch", "persistentVolumeClaim": {"claimName": "demo-scratch"}}
    hook = pod("demo-hook", {"serviceAccountName": "hook-sa", "volumes": [claim]}, namespace=None)
    test = pod("demo-test", {"serviceAccountName": "test-sa"}, namespace=None)
    hooks = (
        Hook(hook, "ais/templates/hook.yaml", ("pre-install",)),
        Hook(test, "ais/templates/tests/test.yaml", ("test",)),
    )
    deployment = with_objects(sound, hooks=hooks)
    assert deployment_problems(deployment) == [
        Problem("Pod ais/demo-hook", "chart.path", f"its pods run as ServiceAccount 'hook-sa', {NOBODY_CREATES}"),
        Problem("Pod ais/demo-hook", "chart.path", "volume scratch mounts the claim 'demo-scratch', which neither "
                "the program creates nor the worksheet names"),
    ]  # fmt: skip


# -- the key behind a problem -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("chart", "key"),
    [
        ({"path": "../ais-k8s/helm/ais/charts"}, "chart.path"),
        ({"repo": "https://charts.example.com", "name": "ais", "version": "0.1.0"}, "chart.version"),
        ({"path": "../ais-k8s/helm/ais/charts", "values": {"aiscluster": {"skipHostIP": True}}}, "chart.values"),
        (
            {"repo": "https://charts.example.com", "name": "ais", "version": "0.1.0", "values": {"a": 1}},
            "chart.values",
        ),
    ],
)
def test_a_field_no_worksheet_item_computes_is_the_charts_or_its_values(
    sound: Deployment, make_stack: Any, chart: Manifest, key: str
) -> None:
    stack = make_stack(worksheet(chart=chart))
    deployment = dataclasses.replace(
        sound, worksheet=load_worksheet(stack.project_values(), stack.project_secret_keys())
    )
    broken = changed(deployment, "ais-statsd", lambda m: m.update(data={"port": 8125}))
    assert schema_problems(broken) == [
        Problem("ConfigMap ais/ais-statsd", key, "data.port: 8125 is not of type 'string', 'null'")
    ]


def test_an_error_of_the_whole_object_is_said_of_the_object(sound: Deployment) -> None:
    broken = changed(sound, "ais-sa", lambda m: m.update(spec={}))
    assert schema_problems(broken) == [
        Problem("ServiceAccount ais/ais-sa", "chart.path",
                "(the object): Additional properties are not allowed ('spec' was unexpected)")
    ]  # fmt: skip


def test_a_target_volume_names_its_key_by_what_it_is(sound: Deployment) -> None:
    """A mountpoint's volume is targets.mountpoints, another host directory statePath, any other
    volume the chart's (its name and source are the chart's)."""

    def set_path(name: str, value: Any) -> Callable[[Manifest], None]:
        def change(manifest: Manifest) -> None:
            volume = next(volume for volume in pod_spec(manifest)["volumes"] if volume["name"] == name)
            source = "hostPath" if "hostPath" in volume else "configMap"
            volume[source]["path" if source == "hostPath" else "name"] = value

        return change

    problems = [
        schema_problems(changed(sound, "demo-ais-target", set_path(name, 5)))
        for name in ("statsd-config", "state-mount", "fspath-ais-sdb")
    ]
    assert problems == [
        [Problem(TARGET, "chart.path", "spec.template.spec.volumes[0].configMap.name: 5 is not of type 'string', "
                 "'null'")],
        [Problem(TARGET, "statePath", "spec.template.spec.volumes[1].hostPath.path: 5 is not of type 'string'")],
        [Problem(TARGET, "targets.mountpoints", "spec.template.spec.volumes[3].hostPath.path: 5 is not of type "
                 "'string'")],
    ]  # fmt: skip


def test_a_field_that_only_looks_like_a_volume_in_an_object_without_volumes_is_the_charts(
    sound: Deployment,
) -> None:
    """An annotation key of a target's Service may read like a volume's path: it names no volume."""
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "demo-ais-target", "namespace": "ais", "annotations": {"a.volumes[0]": 5}},
        "spec": {"ports": [{"port": 51081}]},
    }
    deployment = with_objects(sound, RenderedObject(service, "ais/templates/target-svc.yaml"))
    assert schema_problems(deployment) == [
        Problem("Service ais/demo-ais-target", "chart.path",
                "metadata.annotations.a.volumes[0]: 5 is not of type 'string', 'null'")
    ]  # fmt: skip


def with_unknown_field(rendering: Rendering, type_: str) -> tuple[Rendering, str]:
    """A copy of ``rendering`` whose first resource of ``type_`` has a metadata field no schema
    allows (UNKNOWN_FIELD), and that resource's object name."""
    edited = copy.deepcopy(rendering)
    resource = next(resource for resource in edited.resources if resource.type == type_)
    resource.inputs["metadata"]["labelz"] = {}
    return edited, resource.inputs["metadata"]["name"]


UNKNOWN_FIELD = "metadata: Additional properties are not allowed ('labelz' was unexpected)"


def test_the_programs_objects_name_the_worksheet_item_they_are_made_from(
    sound: Deployment, example_rendering: Rendering
) -> None:
    """The namespace, the monitoring volumes and claims (by service), the dashboards."""
    edited = copy.deepcopy(example_rendering)
    for resource in edited.resources:
        if resource.type in ("kubernetes:core/v1:Namespace", "kubernetes:core/v1:PersistentVolumeClaim",
                             "kubernetes:core/v1:ConfigMap"):  # fmt: skip
            resource.inputs["metadata"]["labelz"] = {}
    problems = schema_problems(dataclasses.replace(sound, rendering=edited))
    assert problems == [
        Problem("ConfigMap ais/demo-dashboard-cluster", "monitoring", UNKNOWN_FIELD),
        Problem("ConfigMap ais/demo-dashboard-nodes", "monitoring", UNKNOWN_FIELD),
        Problem("PersistentVolumeClaim ais/demo-ais-grafana", "monitoring.grafana", UNKNOWN_FIELD),
        Problem("PersistentVolumeClaim ais/demo-ais-graphite", "monitoring.graphite", UNKNOWN_FIELD),
        Problem("Namespace ais", "namespace", UNKNOWN_FIELD),
    ]


def test_a_preflight_job_names_the_preflight_settings(sound: Deployment, example_rendering: Rendering) -> None:
    edited, name = with_unknown_field(example_rendering, "kubernetes:batch/v1:Job")
    problems = schema_problems(dataclasses.replace(sound, rendering=edited))
    assert problems == [Problem(f"Job ais/{name}", "preflight", UNKNOWN_FIELD)]


def test_the_grafana_secret_is_checked_in_its_shape_and_names_the_password(make_stack: Any) -> None:
    stack = make_stack(worksheet(grafanaAdminPassword={"secure": "v1:abc:def"}))
    rendering = run_program(stack)
    worksheet_ = load_worksheet(stack.project_values(), stack.project_secret_keys())
    chart = ChartRendering(Path("chart"), ReleaseInputs.of(rendering), [])
    deployment = Deployment(stack.path.name, worksheet_, rendering, chart)
    secrets = [rendered.manifest for rendered in deployment.program_objects() if rendered.kind == "Secret"]
    assert len(secrets) == 1
    data = {key: value for key, value in secrets[0].items() if key not in ("apiVersion", "kind", "metadata")}
    # The whole of stringData is secret: its keys stay, each value is the placeholder.
    assert data == {"stringData": {"admin-user": SECRET_PLACEHOLDER, "admin-password": SECRET_PLACEHOLDER}}
    # Every other object is the program's registration as it is, with its API version and kind.
    registrations = {resource.name: resource.inputs for resource in rendering.resources}
    for rendered in deployment.program_objects():
        if rendered.kind != "Secret":
            inputs = registrations[rendered.source.removeprefix("program: ")]
            expected = {"apiVersion": rendered.manifest["apiVersion"], "kind": rendered.kind}
            assert rendered.manifest == {**inputs, **expected}
    edited, name = with_unknown_field(rendering, "kubernetes:core/v1:Secret")
    assert name == secrets[0]["metadata"]["name"]
    problems = schema_problems(dataclasses.replace(deployment, rendering=edited))
    assert problems == [Problem(f"Secret ais/{name}", "grafanaAdminPassword", UNKNOWN_FIELD)]


# -- node selectors --------------------------------------------------------------------------------


def test_each_role_is_checked_whatever_the_other_lacks(sound: Deployment) -> None:
    more_proxies = changed(sound, "demo-ais-proxy", lambda m: m["spec"].update(replicas=13))
    proxy_problem = Problem(PROXY, "proxies.nodes", "13 replicas, but only 12 of the nodes the program labels carry "
                            "nvidia.com/ais-proxy=demo-ais-electable and nvidia.com/ais-proxy=demo-ais-electable, "
                            "aisinfra/cluster=ais.demo")  # fmt: skip
    no_target = changed(more_proxies, "demo-ais-target", lambda m: False)
    assert node_selector_problems(no_target) == [
        Problem(TARGET, "chart.path", "the chart renders no target StatefulSet"),
        proxy_problem,
    ]

    def anywhere(manifest: Manifest) -> None:
        del pod_spec(manifest)["nodeSelector"], pod_spec(manifest)["affinity"]["nodeAffinity"]

    assert node_selector_problems(changed(more_proxies, "demo-ais-target", anywhere)) == [
        Problem(TARGET, "targets.nodes", "no nodeSelector or required node affinity: its target pods may run on any "
                "node"),
        proxy_problem,
    ]  # fmt: skip


def test_a_statefulset_without_replicas_wants_one_pod(sound: Deployment) -> None:
    def one_node(hostname: str) -> Callable[[Manifest], None]:
        def change(manifest: Manifest) -> None:
            del manifest["spec"]["replicas"]
            pod_spec(manifest)["nodeSelector"] = {HOSTNAME: hostname, "nvidia.com/ais-proxy": "demo-ais-electable"}

        return change

    assert node_selector_problems(changed(sound, "demo-ais-proxy", one_node("cpu07"))) == []
    assert node_selector_problems(changed(sound, "demo-ais-proxy", one_node("gpu01"))) == [
        Problem(PROXY, "proxies.nodes", "1 replicas, but only 0 of the nodes the program labels carry "
                "kubernetes.io/hostname=gpu01, nvidia.com/ais-proxy=demo-ais-electable and "
                "nvidia.com/ais-proxy=demo-ais-electable, aisinfra/cluster=ais.demo")
    ]  # fmt: skip


def test_a_target_that_admits_another_named_cluster_may_start_on_its_nodes(sound: Deployment) -> None:
    """Release cluster in namespace another is AIStore cluster another.cluster: admitting it beside
    this one's label is no pinning."""

    def two_clusters(manifest: Manifest) -> None:
        term = pod_spec(manifest)["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
        term["nodeSelectorTerms"][0]["matchExpressions"][1]["values"] = ["ais.demo", "another.cluster"]

    assert node_selector_problems(changed(sound, "demo-ais-target", two_clusters)) == [
        Problem(TARGET, "chart.path", "its target pods do not require aisinfra/cluster=ais.demo, so they may start "
                "on the nodes of another AIStore cluster whose release has the same fullname 'demo-ais'")
    ]  # fmt: skip


# -- volume mounts, claims ---------------------------------------------------------------------------


def test_a_mount_needs_a_volume_or_a_claim_template_in_any_container(sound: Deployment) -> None:
    def from_template(manifest: Manifest) -> None:
        manifest["spec"]["volumeClaimTemplates"] = [
            {"metadata": {"name": "cache"}, "spec": {"accessModes": ["ReadWriteOnce"]}}
        ]
        pod_spec(manifest)["containers"][0]["volumeMounts"].append({"name": "cache", "mountPath": "/cache"})

    assert volume_mount_problems(changed(sound, "demo-ais-proxy", from_template)) == []

    def init_mounts(name: str) -> Callable[[Manifest], None]:
        def change(manifest: Manifest) -> None:
            pod_spec(manifest)["initContainers"][0]["volumeMounts"] = [{"name": name, "mountPath": "/x"}]

        return change

    assert volume_mount_problems(changed(sound, "demo-ais-proxy", init_mounts("config-template"))) == [
        Problem(PROXY, "chart.path", "container init mounts 'config-template' at /x, but the pod has no volume of "
                "that name")
    ]  # fmt: skip
    assert volume_mount_problems(changed(sound, "demo-ais-target", init_mounts("fspath-ais-sdk"))) == [
        Problem(TARGET, "targets.mountpoints", "container init mounts 'fspath-ais-sdk' at /x, but the pod has no "
                "volume of that name")
    ]  # fmt: skip


def test_pods_of_every_kind_are_checked_and_other_objects_are_not(sound: Deployment) -> None:
    """A bare Pod and a CronJob's pods mount what they declare; an object that is no pod (a
    custom resource with a template of its own) is not read as one."""
    missing = [{"name": "data", "mountPath": "/data"}]
    containers = [{"name": "main", "image": "busybox:1.36", "volumeMounts": missing}]
    bare = pod("demo-bare", {"containers": containers})
    cronjob = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "demo-cleanup", "namespace": "ais"},
        "spec": {
            "schedule": "0 * * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "Never", "containers": containers}}}},
        },
    }
    custom = {
        "apiVersion": "example.com/v1",
        "kind": "Workload",
        "metadata": {"name": "demo-custom", "namespace": "ais"},
        "spec": {"template": {"spec": {"containers": containers}}},
    }
    deployment = with_objects(sound, bare, cronjob, custom)
    no_volume = "container main mounts 'data' at /data, but the pod has no volume of that name"
    assert volume_mount_problems(deployment) == [
        Problem("Pod ais/demo-bare", "chart.path", no_volume),
        Problem("CronJob ais/demo-cleanup", "chart.path", no_volume),
    ]


def test_a_claim_outside_monitoring_names_the_charts_key(sound: Deployment) -> None:
    claim = {"name": "scratch", "persistentVolumeClaim": {"claimName": "demo-scratch"}}
    deployment = with_objects(sound, pod("demo-batch", {"volumes": [claim]}))
    assert claim_problems(deployment) == [
        Problem("Pod ais/demo-batch", "chart.path", "volume scratch mounts the claim 'demo-scratch', which neither the "
                "program creates nor the worksheet names")
    ]  # fmt: skip


# -- spreading and pod affinity --------------------------------------------------------------------


def test_spreading_over_the_labels_nodes_carry_and_only_those(sound: Deployment) -> None:
    """The kubelet's labels and the program's count; any other label no node carries, in a
    podAffinity or podAntiAffinity term, required or preferred, is reported."""

    def terms(topology: str) -> Manifest:
        term = {"labelSelector": {"matchLabels": {"component": "proxy"}}, "topologyKey": topology}
        return {
            "requiredDuringSchedulingIgnoredDuringExecution": [term],
            "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "podAffinityTerm": term}],
        }

    def spread(affinity: str, anti: str) -> Callable[[Manifest], None]:
        return lambda m: pod_spec(m)["affinity"].update(podAffinity=terms(affinity), podAntiAffinity=terms(anti))

    for known in ("topology.kubernetes.io/zone", "nvidia.com/ais-target", HOSTNAME):
        assert topology_problems(changed(sound, "demo-ais-target", spread(known, known))) == []
    problems = topology_problems(changed(sound, "demo-ais-target", spread("rack", "row")))
    assert problems == [
        Problem(TARGET, "chart.path", f"{kind} spreads over the node label '{label}', which nodes do not carry (use "
                "kubernetes.io/hostname)")
        for kind, label in (("podAffinity", "rack"), ("podAffinity", "rack"), ("podAntiAffinity", "row"),
                            ("podAntiAffinity", "row"))
    ]  # fmt: skip


def test_a_required_pod_affinity_finds_pods_by_their_own_labels_in_its_namespace(sound: Deployment) -> None:
    cache_labels = {"app": "cache", "tier": "memory"}
    elsewhere = pod("cache", {}, labels={"app": "elsewhere"}, namespace="other")
    # A Deployment's pods carry its template's labels, not the object's; a bare Pod its own.
    cache = deployment_object("cache", {}, cache_labels)
    bare = pod("bare", {}, labels={"role": "bare"})
    wanting = [
        pod("near-cache", required_beside(beside(cache_labels))),
        pod("near-bare", required_beside(beside({"role": "bare"}))),
        pod("near-release", required_beside(beside({"release": "demo"}))),
        pod("near-elsewhere", required_beside(beside({"app": "elsewhere"}))),
        # In a hook Pod without a namespace: the release's, where the cache runs.
        pod("hooked", required_beside(beside(cache_labels)), namespace=None),
    ]
    deployment = with_objects(sound, elsewhere, cache, bare, *wanting[:4])
    hooks = (Hook(wanting[4], "ais/templates/hook.yaml", ("post-install",)),)
    assert pod_affinity_problems(with_objects(deployment, hooks=hooks)) == [
        Problem("Pod ais/near-release", "chart.path", f"requires to run beside pods labelled release=demo, "
                f"{NEVER_SCHEDULED}"),
        Problem("Pod ais/near-elsewhere", "chart.path", f"requires to run beside pods labelled app=elsewhere, "
                f"{NEVER_SCHEDULED}"),
    ]  # fmt: skip


def test_a_pod_without_metadata_is_in_the_releases_namespace(sound: Deployment) -> None:
    """Helm's client would refuse it, but the review reads what the chart renders: a pod with no
    metadata is where Helm puts an object without a namespace, beside the targets; one that
    requires pods of the cluster is judged there too."""
    anonymous = pod("anonymous", required_beside(beside({"component": "target"})))
    del anonymous["metadata"]
    lost = pod("lost", required_beside(beside({"app": "anonymous"})))
    assert pod_affinity_problems(with_objects(sound, anonymous, lost)) == [
        Problem("Pod ais/lost", "chart.path", f"requires to run beside pods labelled app=anonymous, {NEVER_SCHEDULED}")
    ]


def test_a_term_that_looks_into_other_namespaces_is_not_judged(sound: Deployment) -> None:
    terms = (
        beside({"app": "elsewhere"}, namespaces=["other"]),
        beside({"app": "elsewhere"}, namespaceSelector={}),
        {"labelSelector": {"matchLabels": {"app": "cache", "tier": "disk"}}, "topologyKey": HOSTNAME},
    )
    assert pod_affinity_problems(with_objects(sound, pod("near", required_beside(*terms)))) == [
        Problem("Pod ais/near", "chart.path", f"requires to run beside pods labelled app=cache, tier=disk, "
                f"{NEVER_SCHEDULED}")
    ]  # fmt: skip


# -- references ------------------------------------------------------------------------------------


def test_pods_need_their_service_account_and_the_secrets_and_config_maps_they_mount(sound: Deployment) -> None:
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "demo-tls", "namespace": "ais"}}
    volumes = [
        {"name": "tls", "secret": {"secretName": "demo-tls"}},
        {"name": "keys", "secret": {"secretName": "demo-keys"}},
        {"name": "maybe-keys", "secret": {"secretName": "demo-more-keys", "optional": True}},
        {"name": "maybe-config", "configMap": {"name": "demo-more-config", "optional": True}},
    ]
    deployment = with_objects(
        sound,
        secret,
        pod("by-name", {"serviceAccountName": "demo-runner", "volumes": volumes}),
        pod("by-old-field", {"serviceAccount": "demo-old-runner"}),
        pod("as-default", {"serviceAccountName": "default"}),
    )
    assert reference_problems(deployment) == [
        Problem("Pod ais/by-name", "chart.path", f"its pods run as ServiceAccount 'demo-runner', {NOBODY_CREATES}"),
        Problem("Pod ais/by-name", "chart.path", f"volume keys needs Secret 'demo-keys', {NOBODY_CREATES}"),
        Problem("Pod ais/by-old-field", "chart.path", f"its pods run as ServiceAccount 'demo-old-runner', "
                f"{NOBODY_CREATES}"),
    ]  # fmt: skip


def test_bindings_need_their_role_unless_the_api_server_makes_it(sound: Deployment) -> None:
    def binding(kind: str, name: str, role_kind: str, role: str) -> Manifest:
        metadata = {"name": name, "namespace": "ais"} if kind == "RoleBinding" else {"name": name}
        role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata, "roleRef": role_ref}

    deployment = with_objects(
        sound,
        binding("ClusterRoleBinding", "ais.demo.viewers", "ClusterRole", "view"),
        binding("ClusterRoleBinding", "ais.demo.admins", "ClusterRole", "admin"),
        binding("ClusterRoleBinding", "ais.demo.delegators", "ClusterRole", "system:auth-delegator"),
        binding("RoleBinding", "demo-editors", "Role", "edit"),
        binding("RoleBinding", "demo-readers", "Role", "demo-reader"),
        # Not a binding: a roleRef there is no reference the API resolves.
        {"apiVersion": "example.com/v1", "kind": "Grant", "metadata": {"name": "demo-grant", "namespace": "ais"},
         "roleRef": {"kind": "Role", "name": "demo-granted"}},
    )  # fmt: skip
    assert reference_problems(deployment) == [
        Problem("RoleBinding ais/demo-editors", "chart.path", f"its roleRef names Role 'edit', {NOBODY_CREATES}"),
        Problem("RoleBinding ais/demo-readers", "chart.path", f"its roleRef names Role 'demo-reader', "
                f"{NOBODY_CREATES}"),
    ]  # fmt: skip


# -- across stacks, and the deployment itself ------------------------------------------------------


def test_only_the_same_kind_and_name_collide(sound: Deployment) -> None:
    def cluster_scoped(kind: str, name: str) -> Manifest:
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": {"name": name}}

    first = with_objects(sound, cluster_scoped("ClusterRole", "shared"), cluster_scoped("ClusterRole", "both"))
    second = dataclasses.replace(
        with_objects(sound, cluster_scoped("ClusterRoleBinding", "shared"), cluster_scoped("ClusterRole", "both")),
        stack="Pulumi.other.yaml",
    )
    # The program's Namespace and volumes are the same objects in both: the stacks collide there too.
    collisions = cluster_scoped_collisions(first, second, "in Kubernetes context lab")
    assert [problem.object for problem in collisions] == [
        "ClusterRole both",
        "Namespace ais",
        "PersistentVolume ais.demo.demo-ais-grafana",
        "PersistentVolume ais.demo.demo-ais-graphite",
    ]
    assert {problem.message for problem in collisions} == {
        "Pulumi.dev.yaml and Pulumi.other.yaml both create it in Kubernetes context lab"
    }


def test_a_stacks_deployment_is_its_stack_file_and_its_chart_rendered(
    example_stack: StackConfig, chart_dir: Path
) -> None:
    deployment = deployment_of(example_stack, chart_dir)
    assert (deployment.stack, deployment.worksheet.release_name, deployment.chart.chart_dir) == (
        "Pulumi.dev.yaml",
        "demo",
        chart_dir,
    )
    rendered = {(rendered.kind, rendered.name) for rendered in deployment.chart.objects}
    assert {("StatefulSet", "demo-ais-target"), ("StatefulSet", "demo-ais-proxy")} <= rendered


def test_without_a_chart_here_the_stacks_own_path_is_named(make_stack: Any, tmp_path: Path) -> None:
    stack = make_stack(worksheet(chart={"path": "../no-chart-here"}))
    with pytest.raises(ChartUnavailableError, match=r"^chart.path '\.\./no-chart-here': no chart at "):
        deployment_of(stack)
