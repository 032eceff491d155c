"""The whole __main__.py under Pulumi's mock runtime, for several worksheets: exactly what
it registers -- labels per node, node reads, release inputs and values, volumes and claims,
parents, dependencies and protection -- and what it exports."""

from __future__ import annotations

import gc
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from pulumi.runtime import rpc

from aisinfra.chart.fingerprint import postrender_digest
from aisinfra.monitoring.alerts import alerting_rules
from aisinfra.monitoring.scope import cluster_scope
from aisinfra.program import sdk
from aisinfra.review import render
from aisinfra.review.render import NODE_PATCH, ProgramError, Rendering, run_program, summary_text, write_outputs
from aisinfra.worksheet.model import Worksheet, parse_worksheet
from aisinfra.worksheet.stackfile import PROJECT_DIR, read_stack, stack_path
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

CPUS = [f"cpu{number:02d}" for number in range(1, 13)]
MOUNTPOINTS = [f"/ais/sd{letter}" for letter in "abcdefghij"]
STACK_URN = "urn:pulumi:test::aisinfra::pulumi:pulumi:Stack::aisinfra-test"


CLUSTER_URN = "urn:pulumi:test::aisinfra::pulumi:pulumi:Stack$aisinfra:index:AisCluster::aistore"


def children(rendering: Rendering, parent_name: str) -> list[str]:
    parent = rendering.by_name(parent_name).urn
    return [resource.name for resource in rendering.resources if resource.parent == parent]


def load_worksheet_of(config: dict[str, Any]) -> Worksheet:
    return parse_worksheet({key.removeprefix("aisinfra:"): value for key, value in config.items()})


@pytest.fixture
def dev(render_stack: Any) -> Rendering:
    return render_stack(WORKSHEET_EXAMPLE)


def test_dev_stack_file_is_the_worksheet_example(make_stack: Any) -> None:
    """Pulumi.dev.yaml and the tests' base worksheet describe the same cluster."""
    dev = run_program(replace(read_stack(stack_path("dev")), name="test"))
    example = run_program(make_stack(WORKSHEET_EXAMPLE))
    assert dev.release().inputs == example.release().inputs
    assert dev.node_labels() == example.node_labels()


def test_every_node_gets_exactly_the_labels_the_chart_selects_on(dev: Rendering) -> None:
    expected = {
        node: {
            "nvidia.com/ais-target": "demo-ais",
            "aisinfra/cluster": "ais.demo",
            "nvidia.com/ais-proxy": "demo-ais-electable",
        }
        for node in CPUS
    }
    expected["cpu01"]["nvidia.com/ais-initial-primary-proxy"] = "demo-ais"
    assert dev.node_labels() == expected


def test_one_patch_per_node_and_role_each_guarded_by_a_read_of_the_node(dev: Rendering) -> None:
    reads = {resource.read_id: resource for resource in dev.of_type("kubernetes:core/v1:Node")}
    assert list(reads) == CPUS
    for node, read in reads.items():
        assert read.name == f"aistore-node-{node}"
        assert read.parent == CLUSTER_URN
    patches = {resource.name: resource for resource in dev.of_type(NODE_PATCH)}
    assert sorted(patches) == sorted(
        [f"aistore-targets-{node}" for node in CPUS]
        + [f"aistore-proxies-{node}" for node in CPUS]
        + ["aistore-proxies-initial-primary"]
    )
    for node in CPUS:
        target, proxy = patches[f"aistore-targets-{node}"], patches[f"aistore-proxies-{node}"]
        # Both patches own the cluster label, with one value: the node keeps it while either role stays.
        assert target.inputs["metadata"] == {
            "name": node,
            "labels": {"nvidia.com/ais-target": "demo-ais", "aisinfra/cluster": "ais.demo"},
        }
        assert proxy.inputs["metadata"] == {
            "name": node,
            "labels": {"nvidia.com/ais-proxy": "demo-ais-electable", "aisinfra/cluster": "ais.demo"},
        }
        assert target.dependencies == [reads[node].urn] == proxy.dependencies
        # Label conflicts must stop `pulumi up`, never be forced.
        assert "annotations" not in target.inputs["metadata"]
    primary = patches["aistore-proxies-initial-primary"]
    assert primary.inputs["metadata"] == {
        "name": "cpu01",
        "labels": {"nvidia.com/ais-initial-primary-proxy": "demo-ais"},
    }
    assert primary.dependencies == [reads["cpu01"].urn]


def test_components_own_their_layers(dev: Rendering) -> None:
    cluster = dev.by_name("aistore")
    assert cluster.type == "aisinfra:index:AisCluster"
    assert cluster.parent == STACK_URN
    assert children(dev, "aistore") == [
        "aistore-monitoring",
        "aistore-preflight",
        "aistore-proxies",
        "aistore-targets",
        *[f"aistore-node-{node}" for node in CPUS],
        "aistore-namespace",
        "aistore-release",
    ]
    assert children(dev, "aistore-proxies") == [f"aistore-proxies-{node}" for node in CPUS] + [
        "aistore-proxies-initial-primary"
    ]
    assert children(dev, "aistore-targets") == [f"aistore-targets-{node}" for node in CPUS]
    assert children(dev, "aistore-monitoring") == [
        "aistore-monitoring-dashboard-cluster",
        "aistore-monitoring-dashboard-nodes",
        "aistore-monitoring-grafana-pv",
        "aistore-monitoring-grafana-pvc",
        "aistore-monitoring-graphite-pv",
        "aistore-monitoring-graphite-pvc",
    ]
    assert children(dev, "aistore-preflight") == [f"aistore-preflight-{node}" for node in CPUS]
    for layer, kind in [
        ("aistore-preflight", "PreflightLayer"),
        ("aistore-proxies", "ProxyLayer"),
        ("aistore-targets", "TargetLayer"),
        ("aistore-monitoring", "MonitoringLayer"),
    ]:
        assert dev.by_name(layer).type == f"aisinfra:index:{kind}"


def test_monitoring_volumes_are_pinned_retained_and_bound_to_their_claims(dev: Rendering) -> None:
    namespace = dev.by_name("aistore-namespace")
    for service, path, size in [("graphite", "/data/graphite", "250Gi"), ("grafana", "/data/grafana", "50Gi")]:
        volume, claim = (
            dev.by_name(f"aistore-monitoring-{service}-pv"),
            dev.by_name(f"aistore-monitoring-{service}-pvc"),
        )
        assert volume.inputs == {
            "apiVersion": "v1",
            "kind": "PersistentVolume",
            "metadata": {"name": f"ais.demo.demo-ais-{service}"},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Retain",
                "storageClassName": "",
                "local": {"path": path},
                "nodeAffinity": {
                    "required": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "kubernetes.io/hostname", "operator": "In", "values": ["cpu01"]}
                                ]
                            }
                        ]
                    }
                },
                "claimRef": {"namespace": "ais", "name": f"demo-ais-{service}"},
            },
        }
        assert claim.inputs == {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": {"name": f"demo-ais-{service}", "namespace": "ais"},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": "",
                "volumeName": f"ais.demo.demo-ais-{service}",
                "resources": {"requests": {"storage": size}},
            },
        }
        assert volume.dependencies == sorted([dev.by_name("aistore-node-cpu01").urn, namespace.urn])
        assert volume.urn in claim.dependencies and namespace.urn in claim.dependencies
        assert volume.protect and claim.protect


def test_release_inputs_and_values(dev: Rendering) -> None:
    release = dev.release()
    assert release.name == "aistore-release"
    assert release.parent == CLUSTER_URN
    assert release.protect
    inputs = {key: value for key, value in release.inputs.items() if key != "values"}
    assert inputs == {
        "compat": "true",
        "name": "demo",
        "namespace": "ais",
        "chart": "../ais-k8s/helm/ais/charts",
        "dependencyUpdate": False,
        "postrender": "./aisinfra/chart/bin/postrender",
        # The chart is not checked out here; its content would show in place of "(not found)".
        "description": f"aisinfra post-renderer {postrender_digest(PROJECT_DIR)}, chart ../ais-k8s/helm/ais/charts "
        "(not found)",
        "timeout": 1800,
        "atomic": False,
    }
    example = load_worksheet_of(WORKSHEET_EXAMPLE)
    assert release.inputs["values"] == {
        "aiscluster": {
            "expected_target_nodes": 12,
            "expected_proxy_nodes": 12,
            "hostpathPrefix": "/etc/ais",
            "image": {
                "aisnode": {"repository": "aistore/aisnode", "tag": "3.4"},
                "kubectl": {"repository": "aistore/ais-init", "tag": "latest"},
            },
            "target": {"mountPaths": MOUNTPOINTS},
        },
        "target": {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "nvidia.com/ais-target", "operator": "In", "values": ["demo-ais"]},
                                    {"key": "aisinfra/cluster", "operator": "In", "values": ["ais.demo"]},
                                ]
                            }
                        ]
                    }
                }
            }
        },
        "proxy": {
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": "nvidia.com/ais-proxy", "operator": "In", "values": ["demo-ais-electable"]},
                                    {"key": "aisinfra/cluster", "operator": "In", "values": ["ais.demo"]},
                                ]
                            }
                        ]
                    }
                }
            }
        },
        "tags": {"builtin_monitoring": True, "prometheus": True},
        "graphite": {
            "persistence": {"enabled": True, "existingClaim": "demo-ais-graphite"},
            "ais": {"pv": {"path": ""}},
            "graphite": {"affinity": {}},
        },
        "grafana": {
            "persistence": {"enabled": True, "existingClaim": "demo-ais-grafana"},
            "ais": {"pv": {"path": ""}},
            # The sidecar loads the dashboard ConfigMaps of this namespace only.
            "sidecar": {"dashboards": {"enabled": True, "label": "ais_grafana_dashboard", "searchNamespace": "ais"}},
        },
        "prometheus": {
            "nodeExporter": {
                "extraHostPathMounts": [
                    {
                        "name": "root",
                        "hostPath": "/",
                        "mountPath": "/host/root",
                        "readOnly": True,
                        "mountPropagation": "HostToContainer",
                    }
                ],
                "extraArgs": {"path.rootfs": "/host/root"},
                "nodeSelector": {"aisinfra/cluster": "ais.demo"},
            },
            # The rules' text is tests/test_monitoring_prometheus.py's: it runs them on a real Prometheus.
            "serverFiles": {"alerting_rules.yml": alerting_rules(cluster_scope(example), example.monitoring.alerts)},
        },
    }


def test_release_waits_for_labels_volumes_preflight_checks_and_namespace(dev: Rendering) -> None:
    expected = [dev.by_name("aistore-namespace").urn]
    expected += [resource.urn for resource in dev.of_type(NODE_PATCH)]
    expected += [dev.by_name(f"aistore-preflight-{node}").urn for node in CPUS]
    expected += [
        dev.by_name(f"aistore-monitoring-{name}").urn
        # The dashboards are there before Grafana's sidecar starts.
        for name in ("graphite-pv", "graphite-pvc", "grafana-pv", "grafana-pvc", "dashboard-cluster", "dashboard-nodes")
    ]
    assert dev.release().dependencies == sorted(expected)


def test_namespace_is_named_and_protected(dev: Rendering) -> None:
    namespace = dev.by_name("aistore-namespace")
    assert namespace.inputs == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ais"}}
    assert namespace.protect


def test_stack_outputs(dev: Rendering) -> None:
    assert dev.outputs == {
        "namespace": "ais",
        "releaseName": "demo",
        "fullname": "demo-ais",
        "proxyEndpoint": "http://demo-ais-proxy.ais:51080",
        "targetNodes": CPUS,
        "targetCount": 12,
        "proxyNodes": CPUS,
        "initialPrimary": "cpu01",
        "mountpoints": MOUNTPOINTS,
        "statePath": "/etc/ais",
        "chartSource": "path ../ais-k8s/helm/ais/charts",
        "labelSelectors": {
            "target": "nvidia.com/ais-target=demo-ais,aisinfra/cluster=ais.demo",
            "proxy": "nvidia.com/ais-proxy=demo-ais-electable,aisinfra/cluster=ais.demo",
            "initialPrimary": "nvidia.com/ais-initial-primary-proxy=demo-ais",
            "cluster": "aisinfra/cluster=ais.demo",
        },
        "monitoringClaims": {"graphite": "demo-ais-graphite", "grafana": "demo-ais-grafana"},
        "monitoringStorage": {"graphite": "cpu01:/data/graphite:250Gi", "grafana": "cpu01:/data/grafana:50Gi"},
        "preflight": {"image": "busybox:1.36.1", "jobs": 12, "selector": "app.kubernetes.io/name=aisinfra-preflight"},
        "releaseStatus": "(known after pulumi up)",
    }


def test_release_name_containing_ais_with_a_remote_chart(render_stack: Any) -> None:
    rendering = render_stack(
        worksheet(
            releaseName="prod-aistore",
            namespace="ais-prod",
            chart={"repo": "https://charts.example.com/ais", "name": "ais", "version": "0.1.0"},
            images={"aisnode": "registry.example.com:5000/ais/aisnode:20200504"},
            targets={"initialCount": 2, "nodes": ["node-{a,b,c}"], "mountpoints": ["/ais/nvme{0..1}"]},
            proxies={"nodes": ["node-{a,b}"], "initialPrimary": "node-b", "initialPrimaryLabel": False},
        )
    )
    cluster = {"aisinfra/cluster": "ais-prod.prod-aistore"}
    target, proxy = {"nvidia.com/ais-target": "prod-aistore"}, {"nvidia.com/ais-proxy": "prod-aistore-electable"}
    assert rendering.node_labels() == {
        "node-a": {**target, **cluster, **proxy},
        "node-b": {**target, **cluster, **proxy},
        "node-c": {**target, **cluster},
    }
    assert children(rendering, "aistore-proxies") == ["aistore-proxies-node-a", "aistore-proxies-node-b"]
    release = rendering.release().inputs
    assert (release["name"], release["namespace"], release["chart"], release["version"]) == (
        "prod-aistore",
        "ais-prod",
        "ais",
        "0.1.0",
    )
    assert release["repositoryOpts"] == {"repo": "https://charts.example.com/ais"}
    assert release["values"]["aiscluster"]["expected_target_nodes"] == 2
    assert release["values"]["aiscluster"]["expected_proxy_nodes"] == 2
    assert release["values"]["aiscluster"]["target"]["mountPaths"] == ["/ais/nvme0", "/ais/nvme1"]
    assert release["values"]["aiscluster"]["image"]["aisnode"] == {
        "repository": "registry.example.com:5000/ais/aisnode",
        "tag": "20200504",
    }
    assert rendering.outputs["proxyEndpoint"] == "http://prod-aistore-proxy.ais-prod:51080"
    assert rendering.outputs["initialPrimary"] == "node-b"
    # the monitoring node cpu01 is read too: its volumes are pinned there
    assert sorted(read.read_id for read in rendering.of_type("kubernetes:core/v1:Node")) == [
        "cpu01",
        "node-a",
        "node-b",
        "node-c",
    ]


def test_existing_claims_are_handed_to_the_chart_and_no_volume_is_made(render_stack: Any) -> None:
    rendering = render_stack(
        worksheet(
            monitoring={"graphite": {"existingClaim": "site-graphite"}, "grafana": {"existingClaim": "site-grafana"}},
            existingNamespace=True,
            protect=False,
        )
    )
    # The claims live in a namespace that exists already: it is read, never created or deleted.
    namespace = rendering.by_name("aistore-namespace")
    assert (namespace.type, namespace.read_id) == ("kubernetes:core/v1:Namespace", "ais")
    assert rendering.release().inputs["namespace"] == "ais"
    # No volume: only the dashboards' ConfigMaps.
    assert children(rendering, "aistore-monitoring") == [
        "aistore-monitoring-dashboard-cluster",
        "aistore-monitoring-dashboard-nodes",
    ]
    values = rendering.release().inputs["values"]
    assert values["graphite"]["persistence"] == {"enabled": True, "existingClaim": "site-graphite"}
    assert values["grafana"]["persistence"] == {"enabled": True, "existingClaim": "site-grafana"}
    assert rendering.outputs["monitoringClaims"] == {"graphite": "site-graphite", "grafana": "site-grafana"}
    assert not any(resource.protect for resource in rendering.resources)


def test_monitoring_off_sends_stats_to_the_external_graphite(render_stack: Any) -> None:
    rendering = render_stack(worksheet(monitoring={"enabled": False, "externalGraphite": "graphite.example.com:2003"}))
    values = rendering.release().inputs["values"]
    assert values["tags"] == {"builtin_monitoring": False, "prometheus": False}
    assert values["external_monitoring"] == {"graphite_host": "graphite.example.com", "graphite_port": 2003}
    assert "graphite" not in values and "grafana" not in values
    assert children(rendering, "aistore-monitoring") == []
    assert rendering.outputs["monitoringClaims"] == {}


def test_chart_values_are_merged_on_top(render_stack: Any) -> None:
    extra = {
        "aiscluster": {"skipHostIP": True, "image": {"pullPolicy": "Always"}},
        "proxy": {"resources": {"limits": {"memory": "4Gi"}}},
    }
    rendering = render_stack(worksheet(chart={"path": "./charts", "values": extra}))
    values = rendering.release().inputs["values"]
    assert values["aiscluster"]["skipHostIP"] is True
    assert values["aiscluster"]["image"] == {
        "aisnode": {"repository": "aistore/aisnode", "tag": "3.4"},
        "kubectl": {"repository": "aistore/ais-init", "tag": "latest"},
        "pullPolicy": "Always",
    }
    assert values["proxy"]["resources"] == {"limits": {"memory": "4Gi"}}
    assert set(values["proxy"]) == {"resources", "affinity"}  # the worksheet's node affinity stays


def with_decrypted_password(stack: Any, password: str) -> Any:
    """The stack as the CLI hands it over: decrypted value, key listed as secret."""
    return replace(
        stack,
        values={**stack.values, "aisinfra:grafanaAdminPassword": password},
        secret_keys=stack.secret_keys | {"aisinfra:grafanaAdminPassword"},
    )


def test_grafana_password_reaches_grafana_through_a_secret_and_stays_secret(make_stack: Any, tmp_path: Path) -> None:
    rendering = run_program(with_decrypted_password(make_stack(WORKSHEET_EXAMPLE), "s3cret-pw"))
    secret = rendering.by_name("aistore-monitoring-grafana-admin")
    assert secret.parent == rendering.by_name("aistore-monitoring").urn
    assert secret.inputs["metadata"] == {"name": "demo-ais-grafana-admin", "namespace": "ais"}
    assert rpc.is_rpc_secret(secret.inputs["stringData"])
    assert rpc.unwrap_rpc_secret(secret.inputs["stringData"]) == {"admin-user": "admin", "admin-password": "s3cret-pw"}
    # The values name the Secret and hold no secret, so `pulumi preview --diff` can show them.
    values = rendering.release().inputs["values"]
    assert values["grafana"]["admin"] == {
        "existingSecret": "demo-ais-grafana-admin",
        "userKey": "admin-user",
        "passwordKey": "admin-password",
    }
    assert secret.urn in rendering.release().dependencies
    for path in write_outputs(rendering, tmp_path / "out"):
        assert "s3cret-pw" not in path.read_text()
    assert "s3cret-pw" not in summary_text(rendering)
    assert "s3cret-pw" not in repr(rendering.outputs)


def test_secure_value_in_a_stack_file_is_kept_as_a_secret_placeholder(make_stack: Any, tmp_path: Path) -> None:
    stack = make_stack(worksheet(grafanaAdminPassword={"secure": "v1:abc:def"}))
    assert stack.values["aisinfra:grafanaAdminPassword"] == "[secret]"
    assert "aisinfra:grafanaAdminPassword" in stack.secret_keys
    rendering = run_program(stack)
    string_data = rendering.by_name("aistore-monitoring-grafana-admin").inputs["stringData"]
    assert rpc.unwrap_rpc_secret(string_data)["admin-password"] == "[secret]"
    write_outputs(rendering, tmp_path)
    for name in ("values.yaml", "release.yaml", "manifests.yaml"):
        assert "v1:abc:def" not in (tmp_path / name).read_text()


def test_render_is_byte_identical_run_to_run(make_stack: Any, tmp_path: Path) -> None:
    stack = make_stack(WORKSHEET_EXAMPLE)
    first, second = run_program(stack), run_program(stack)
    assert summary_text(first) == summary_text(second)
    write_outputs(first, tmp_path / "a")
    write_outputs(second, tmp_path / "b")
    for name in ("values.yaml", "release.yaml", "manifests.yaml"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_manifests_hold_what_the_program_applies(dev: Rendering, tmp_path: Path) -> None:
    write_outputs(dev, tmp_path)
    documents = list(yaml.safe_load_all((tmp_path / "manifests.yaml").read_text()))
    kinds = [document["kind"] for document in documents]
    assert (
        kinds
        == ["Namespace"]
        + ["Node"] * 12
        + ["PersistentVolume"] * 2
        + ["PersistentVolumeClaim"] * 2
        + ["ConfigMap"] * 2
        + ["Job"] * 12
    )
    assert documents[1] == {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": "cpu01",
            "labels": {
                "nvidia.com/ais-target": "demo-ais",
                "aisinfra/cluster": "ais.demo",
                "nvidia.com/ais-proxy": "demo-ais-electable",
                "nvidia.com/ais-initial-primary-proxy": "demo-ais",
            },
        },
    }
    release = yaml.safe_load((tmp_path / "release.yaml").read_text())
    assert release == {
        "name": "demo",
        "namespace": "ais",
        "chart": "../ais-k8s/helm/ais/charts",
        "dependencyUpdate": False,
        "postrender": "./aisinfra/chart/bin/postrender",
        "description": f"aisinfra post-renderer {postrender_digest(PROJECT_DIR)}, chart ../ais-k8s/helm/ais/charts "
        "(not found)",
        "timeout": 1800,
        "atomic": False,
    }


def test_the_release_waits_as_long_as_the_worksheet_says_and_never_rolls_back(render_stack: Any) -> None:
    chart = {**WORKSHEET_EXAMPLE["aisinfra:chart"], "timeoutSeconds": 3600}
    inputs = render_stack(worksheet(chart=chart)).release().inputs
    assert (inputs["timeout"], inputs["atomic"]) == (3600, False)


@pytest.mark.parametrize("timeout", [30, 100000, "1800"])
def test_a_release_timeout_out_of_range_is_refused(make_stack: Any, timeout: Any) -> None:
    chart = {**WORKSHEET_EXAMPLE["aisinfra:chart"], "timeoutSeconds": timeout}
    with pytest.raises(ProgramError) as failure:
        run_program(make_stack(worksheet(chart=chart)))
    assert str(failure.value).splitlines()[1].startswith("  - chart.timeoutSeconds: ")


GRAFANA_WARNING = (
    "monitoring is on without grafanaAdminPassword: the grafana chart makes up a new admin password at every "
    "install and upgrade of the release, and each upgrade restarts Grafana with it; set one with "
    "`pulumi config set --secret grafanaAdminPassword`"
)


def test_monitoring_without_a_grafana_password_warns_and_render_shows_it(render_stack: Any) -> None:
    rendering = render_stack(worksheet())
    assert rendering.warnings == [GRAFANA_WARNING]
    assert f"Warnings, as `pulumi preview` shows them:\nwarning: {GRAFANA_WARNING}\n" in summary_text(rendering)


@pytest.mark.parametrize(
    "changes",
    [
        {"grafanaAdminPassword": {"secure": "v1:abc:def"}},
        {"monitoring": {"enabled": False, "externalGraphite": "graphite.example.com:2003"}},
    ],
    ids=["password set", "monitoring off"],
)
def test_no_grafana_warning_where_grafana_keeps_its_password(render_stack: Any, changes: dict[str, Any]) -> None:
    rendering = render_stack(worksheet(**changes))
    assert rendering.warnings == []
    assert "Warnings" not in summary_text(rendering)


def test_an_oci_chart_is_pulled_by_its_full_reference(render_stack: Any) -> None:
    """The provider pulls an OCI chart as `chart: oci://host/path/name` with no repository option;
    `chart: ais` with `repositoryOpts.repo: oci://...` is the HTTP repository form it cannot pull."""
    rendering = render_stack(
        worksheet(chart={"repo": "oci://registry.example.com/charts/", "name": "ais", "version": "0.1.0"})
    )
    release = rendering.release().inputs
    assert (release["chart"], release["version"]) == ("oci://registry.example.com/charts/ais", "0.1.0")
    assert "repositoryOpts" not in release
    assert release["description"].endswith(", chart oci://registry.example.com/charts/ais 0.1.0")
    # The identity the guard compares is the worksheet's repository and name, as before.
    assert rendering.outputs["chartSource"] == "oci://registry.example.com/charts ais"


def test_the_program_runs_without_automatic_collections_and_leaves_them_as_they_were(
    make_stack: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why: render.collector_paused. An explicit collection still runs (the settling of a
    failed run relies on it); what the run made is not left counted as new."""
    enabled_during_the_run = []
    run = sdk.run_program_function

    def program(function: Any) -> None:
        enabled_during_the_run.append(gc.isenabled())
        run(function)

    monkeypatch.setattr(sdk, "run_program_function", program)
    assert gc.isenabled()
    run_program(make_stack(WORKSHEET_EXAMPLE))
    assert enabled_during_the_run == [False] and gc.isenabled() and gc.get_freeze_count() == 0
    gc.disable()
    try:
        run_program(make_stack(WORKSHEET_EXAMPLE))
        assert not gc.isenabled()  # a caller's choice is kept too
    finally:
        gc.enable()


def test_what_was_made_while_the_collector_was_paused_is_not_walked_at_once_after() -> None:
    """Left counted as new, everything made while paused was walked at the first allocation after
    (3 s at the end of a 10 000-node render); handed to the oldest generation, it waits."""
    collections: list[int] = []

    def note(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collections.append(info["generation"])

    assert gc.isenabled()
    with render.collector_paused():
        made: list[list[Any]] = [[] for _ in range(10 * gc.get_threshold()[0])]
        gc.callbacks.append(note)
    try:
        a_few_more: list[list[Any]] = [[] for _ in range(10)]
    finally:
        gc.callbacks.remove(note)
    assert collections == [] and len(made) > len(a_few_more) and gc.isenabled()
