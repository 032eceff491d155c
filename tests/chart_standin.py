"""A stand-in for the AIStore chart (ais 0.1.0 with its graphite, grafana 5.5.7 and prometheus
11.12.1 subcharts), for tests. It is NOT the chart: this machine has no Helm and no chart
templates. It is written from the chart's reference rendering (release ``demo``, namespace
``ais``, monitoring off) and its inventory of the 64 objects rendered with monitoring on.

It emulates what those show: every object's apiVersion, kind and name (the ``ais.fullname``
rule; the fixed cluster-scoped names ``ais-cr``, ``ais-crb``, ``local-storage``), replicas,
node selectors, host paths, images, the target mounts named ``fspath.<path with dots>``
beside volumes named ``fspath-<path with dashes>``, the ``topology.kubernetes.io/node``
anti-affinity, role bindings and their subjects' namespace, the claims the monitoring pods
mount, the chart's own PV and PVC when ``<x>.ais.pv.path`` is set, and the graphite
subchart's nil-pointer failure without ``graphite.graphite.affinity``. It leaves out
ConfigMap bodies (elided in the reference) and most env variables and probes. The reference
shows no more of the subcharts' objects than apiVersion, kind and name: their other fields
here (labels, namespaces, images, rules, pod specs) are a plausible minimum, not the subcharts'.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from aisinfra.chart.naming import fullname, mountpoint_volume_name
from aisinfra.chart.values import deep_merge

Manifest = dict[str, Any]

RBAC_V1, RBAC_V1BETA1 = "rbac.authorization.k8s.io/v1", "rbac.authorization.k8s.io/v1beta1"
PROXY_PORT, TARGET_PORT = 51080, 51081
STORAGE_CLASS = "local-storage"
PSP_SPEC = {rule: {"rule": "RunAsAny"} for rule in ("seLinux", "runAsUser", "supplementalGroups", "fsGroup")}
PSP_USE = (["extensions"], ["podsecuritypolicies"], ["use"])

# The chart's values.yaml defaults for every key the stand-in reads.
CHART_DEFAULTS: dict[str, Any] = {
    "aiscluster": {
        "expected_target_nodes": 20,
        "expected_proxy_nodes": 20,
        "hostpathPrefix": "/etc/ais",
        "image": {
            "aisnode": {"repository": "aistore/aisnode", "tag": "3.4"},
            "kubectl": {"repository": "aistore/ais-init", "tag": "latest"},
        },
        "target": {"mountPaths": [f"/ais/sd{disk}" for disk in "abcdefghij"]},
    },
    "proxy": {"nodeSelector": {"key": "nvidia.com/ais-proxy"}},
    "target": {"nodeSelector": {"key": "nvidia.com/ais-target"}},
    "tags": {"builtin_monitoring": True, "prometheus": True},
    "graphite": {
        "persistence": {"enabled": True, "existingClaim": "ais-graphite-pvc"},
        "ais": {"pv": {"capacity": "500Gi", "path": "/stats/graphite", "node": "aistore0756"}},
    },
    "grafana": {
        "persistence": {"enabled": True, "existingClaim": "ais-grafana-pvc"},
        "ais": {"pv": {"capacity": "50Gi", "path": "/stats/grafana", "node": "aistore0756"}},
    },
}


class ChartRenderError(Exception):
    """What Helm would fail with instead of rendering."""


def render_chart(release_name: str, namespace: str, values: dict[str, Any]) -> str:
    """The manifest stream Helm would hand a post-renderer for this release."""
    chart = _Chart(release_name, namespace, deep_merge(CHART_DEFAULTS, values))
    return "".join(f"---\n# Source: {source}\n{yaml.safe_dump(doc, sort_keys=False)}" for source, doc in chart.render())


# -- Object builders ---------------------------------------------------------------------------


def _meta(
    name: str,
    labels: dict[str, str] | None = None,
    namespace: str | None = None,
    annotations: dict[str, str] | None = None,
) -> Manifest:
    metadata: Manifest = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return metadata


def _obj(api_version: str, kind: str, metadata: Manifest, **fields: Any) -> Manifest:
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **fields}


def _config_map(metadata: Manifest, *keys: str) -> Manifest:
    return _obj("v1", "ConfigMap", metadata, data=dict.fromkeys(keys, "<elided>"))


def _rule(groups: list[str], resources: list[str], verbs: list[str], names: Sequence[str] = ()) -> Manifest:
    rule: Manifest = {"apiGroups": groups, "resources": resources, "verbs": verbs}
    return rule | {"resourceNames": list(names)} if names else rule


def _binding(
    api_version: str, kind: str, metadata: Manifest, role: str, account: str, namespace: str | None
) -> Manifest:
    subject = {"kind": "ServiceAccount", "name": account} | ({"namespace": namespace} if namespace else {})
    role_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": kind.removesuffix("Binding"), "name": role}
    return _obj(api_version, kind, metadata, roleRef=role_ref, subjects=[subject])


def _service(metadata: Manifest, ports: list[tuple[str, int]], selector: dict[str, str], **spec: Any) -> Manifest:
    port_specs = [{"name": name, "port": port, "targetPort": port, "protocol": "TCP"} for name, port in ports]
    return _obj("v1", "Service", metadata, spec={**spec, "ports": port_specs, "selector": selector})


def _container(name: str, image: str, mounts: Sequence[tuple[str, str]] = (), **fields: Any) -> Manifest:
    container: Manifest = {"name": name, "image": image, **fields}
    if mounts:
        container["volumeMounts"] = [{"name": volume, "mountPath": path} for volume, path in mounts]
    return container


def _workload(
    kind: str,
    metadata: Manifest,
    selector: dict[str, str],
    pod_spec: Manifest,
    pod_labels: dict[str, str] | None = None,
    **spec: Any,
) -> Manifest:
    template = {"metadata": {"labels": dict(pod_labels or selector)}, "spec": pod_spec}
    return _obj("apps/v1", kind, metadata, spec={**spec, "selector": {"matchLabels": selector}, "template": template})


def _host_path(name: str, path: str) -> Manifest:
    return {"name": name, "hostPath": {"path": path}}


def _env(name: str, value: str | None = None, field: str | None = None) -> Manifest:
    return (
        {"name": name, "value": value}
        if field is None
        else {"name": name, "valueFrom": {"fieldRef": {"fieldPath": field}}}
    )


# -- The chart ---------------------------------------------------------------------------------


class _Chart:
    def __init__(self, release: str, namespace: str, values: dict[str, Any]) -> None:
        self.release, self.namespace, self.values = release, namespace, values
        self.fullname = fullname(release)
        self.ais = values["aiscluster"]
        self.rendered: list[tuple[str, Manifest]] = []

    def emit(self, source: str, *manifests: Manifest) -> None:
        self.rendered += [(source, manifest) for manifest in manifests]

    def render(self) -> list[tuple[str, Manifest]]:
        tags = self.values["tags"]
        self._ais()
        if tags["builtin_monitoring"]:
            self._ais_monitoring()
            self._graphite()
            self._grafana()
        # Helm enables a subchart when any of its tags is true.
        if tags["builtin_monitoring"] or tags["prometheus"]:
            self._prometheus()
        return self.rendered

    # ais/templates, as the reference rendering shows them.

    def _image(self, which: str) -> str:
        image = self.ais["image"][which]
        return f"{image['repository']}:{image['tag']}"

    def _ais_labels(self, component: str | None = None) -> dict[str, str]:
        labels = {"app": "ais", "chart": "ais-0.1.0", "release": self.release, "heritage": "Helm"}
        return labels | ({"component": component} if component else {})

    def _ais(self) -> None:
        namespaced = ["secrets", "daemonsets", "services", "pods", "configmaps"]
        self.emit(
            "ais/templates/ais-rbac.yaml",
            _binding(RBAC_V1, "ClusterRoleBinding", _meta("ais-crb"), "ais-cr", "ais-sa", self.namespace),
            _obj(RBAC_V1, "ClusterRole", _meta("ais-cr"), rules=[_rule([""], ["nodes", "pods/log"], ["*"])]),
            _binding(RBAC_V1, "RoleBinding", _meta("ais-rb"), "ais-r", "ais-sa", None),
            _obj(RBAC_V1, "Role", _meta("ais-r"), rules=[_rule([""], namespaced, ["*"])]),
            _obj("v1", "ServiceAccount", _meta("ais-sa")),
        )
        self.emit(
            "ais/templates/local-storage-class.yaml",
            _obj(
                "storage.k8s.io/v1",
                "StorageClass",
                _meta(STORAGE_CLASS),
                provisioner="kubernetes.io/no-provisioner",
                volumeBindingMode="WaitForFirstConsumer",
            ),
        )
        self._proxy()
        self._target()

    def _ais_statefulset(
        self, role: str, node_selector: dict[str, str], volumes: list[Manifest], mounts: list[tuple[str, str]]
    ) -> Manifest:
        name = f"{self.fullname}-{role}"
        script = "set_initial_primary_proxy_env.sh" if role == "proxy" else "set_initial_target_env.sh"
        init = _container(
            "populate-env",
            self._image("kubectl"),
            [
                ("config-template-mount", "/var/ais_config_template"),
                ("config-mount", "/var/ais_config"),
                ("env-mount", "/var/ais_env"),
            ],
            env=[_env("MY_NODE", field="spec.nodeName"), _env("AIS_NODE_ROLE", role), _env("K8S_NS", self.namespace)],
            command=["/bin/bash"],
            args=["-c", f"/bin/bash /var/ais_config_template/{script}"],
        )
        port = PROXY_PORT if role == "proxy" else TARGET_PORT
        security: Manifest = {"capabilities": {"add": None}} | ({"privileged": True} if role == "target" else {})
        main = _container(
            "ais",
            self._image("aisnode"),
            [("config-mount", "/var/ais_config"), *mounts, ("statsd-config", "/var/statsd_config")],
            securityContext=security,
            env=[_env("AIS_NODE_ROLE", role), _env("CLUSTERIP_PROXY_SERVICE_HOSTNAME", f"{self.fullname}-proxy")],
            ports=[{"name": "http" if role == "proxy" else "aistarget", "containerPort": port, "protocol": "TCP"}],
        )
        anti_affinity = {
            "labelSelector": {"matchExpressions": [{"key": "component", "operator": "In", "values": [role]}]},
            "topologyKey": "topology.kubernetes.io/node",
        }
        pod_spec = {
            "initContainers": [init],
            "containers": [main],
            "securityContext": {"sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "10240 65535"}]},
            "serviceAccount": "ais-sa",
            "nodeSelector": node_selector,
            "volumes": [
                {"name": "config-mount", "emptyDir": {}},
                {"name": "config-template-mount", "configMap": {"name": f"ais-{role}"}},
                *volumes,
                {"name": "statsd-config", "configMap": {"name": "ais-statsd"}},
            ],
            "affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [anti_affinity]}},
            "imagePullSecrets": None,
        }
        pod_labels = {"app": "ais", "component": role, "release": self.release}
        pod_labels["function"] = "gateway" if role == "proxy" else "storage"
        return _workload(
            "StatefulSet",
            _meta(name, self._ais_labels(role)),
            pod_labels if role == "proxy" else {"release": self.release},
            pod_spec,
            pod_labels,
            replicas=self.ais[f"expected_{role}_nodes"],
            serviceName=name,
            podManagementPolicy="Parallel",
        )

    def _ais_service(self, role: str, ports: list[tuple[str, int]], selector: dict[str, str]) -> Manifest:
        metadata = _meta(f"{self.fullname}-{role}", self._ais_labels(), annotations={"prometheus.io/scrape": "true"})
        return _service(metadata, ports, selector, clusterIP="None")

    def _proxy(self) -> None:
        state = f"{self.ais['hostpathPrefix']}/{self.release}"
        statefulset = self._ais_statefulset(
            "proxy",
            {self.values["proxy"]["nodeSelector"]["key"]: f"{self.fullname}-electable"},
            [_host_path("env-mount", f"{state}/proxy_env"), _host_path("state-mount", f"{state}/proxy")],
            [("env-mount", "/var/ais_env"), ("state-mount", "/etc/ais")],
        )
        self.emit(
            "ais/templates/proxy.yaml",
            _config_map(_meta("ais-proxy"), "ais.json", "set_initial_primary_proxy_env.sh", "ais_local.json"),
            statefulset,
            self._ais_service("proxy", [("http", PROXY_PORT)], statefulset["spec"]["selector"]["matchLabels"]),
            _config_map(_meta("ais-statsd"), "statsd.json"),
        )

    def _target(self) -> None:
        state = f"{self.ais['hostpathPrefix']}/{self.release}/target"
        paths = self.ais["target"]["mountPaths"]
        # The chart names each disk's volume fspath{{ . | replace "/" "-" }} but its mount
        # fspath{{ . | replace "/" "." }}: the defect the post-renderer repairs.
        volumes = [_host_path(mountpoint_volume_name(path), path) for path in paths]
        mounts = [("fspath" + path.replace("/", "."), path) for path in paths]
        statefulset = self._ais_statefulset(
            "target",
            {self.values["target"]["nodeSelector"]["key"]: self.fullname},
            [_host_path("env-mount", state), _host_path("state-mount", state), *volumes],
            [("state-mount", "/etc/ais"), ("env-mount", "/var/ais_env"), *mounts],
        )
        ports = [("pub", TARGET_PORT), ("intra", TARGET_PORT + 1), ("data", TARGET_PORT + 2)]
        self.emit(
            "ais/templates/target.yaml",
            _config_map(_meta("ais-target"), "ais.json", "set_initial_target_env.sh", "ais_local.json"),
            statefulset,
            self._ais_service("target", ports, {"app": "ais", "release": self.release, "function": "storage"}),
        )

    # ais/templates for monitoring: names and kinds from the inventory.

    def _ais_monitoring(self) -> None:
        for source in ("graphite", "prometheus"):
            labels = {"ais_grafana_datasource": "1"}
            name = f"ais-grafana-{source}-datasource"
            self.emit("ais/templates/grafana-datasources.yaml", _config_map(_meta(name, labels), "datasource.yaml"))
        for service in ("graphite", "grafana"):
            pv = self.values[service]["ais"]["pv"]
            if not pv["path"]:
                continue
            hostname = {"key": "kubernetes.io/hostname", "operator": "In", "values": [pv["node"]]}
            volume = _obj(
                "v1",
                "PersistentVolume",
                _meta(f"{self.fullname}-{service}-pv"),
                spec={
                    "capacity": {"storage": pv["capacity"]},
                    "accessModes": ["ReadWriteOnce"],
                    "storageClassName": STORAGE_CLASS,
                    "local": {"path": pv["path"]},
                    "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [hostname]}]}},
                },
            )
            claim_spec = {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": STORAGE_CLASS,
                "volumeName": volume["metadata"]["name"],
                "resources": {"requests": {"storage": pv["capacity"]}},
            }
            claim = _obj("v1", "PersistentVolumeClaim", _meta(f"ais-{service}-pvc"), spec=claim_spec)
            self.emit(f"ais/templates/{service}-pv.yaml", volume, claim)

    # Subcharts: their objects as the inventory lists them.

    def _instance_labels(self, name: str, chart: str) -> dict[str, str]:
        return {"app.kubernetes.io/name": name, "app.kubernetes.io/instance": self.release, "helm.sh/chart": chart}

    def _storage(self, name: str, service: str) -> Manifest:
        persistence = self.values[service]["persistence"]
        if not persistence["enabled"]:
            return {"name": name, "emptyDir": {}}
        return {"name": name, "persistentVolumeClaim": {"claimName": persistence["existingClaim"]}}

    def _graphite(self) -> None:
        subchart = self.values["graphite"].get("graphite")
        if not isinstance(subchart, dict):
            # The subchart's statefulset reads .Values.graphite.affinity; its values have no 'graphite'.
            raise ChartRenderError(
                "template: ais/charts/graphite/templates/statefulset.yaml: nil pointer evaluating interface {}.affinity"
            )
        name = f"{self.release}-graphite"
        labels = self._instance_labels("graphite", "graphite-0.3.4")
        selector = {"app.kubernetes.io/name": "graphite", "app.kubernetes.io/instance": self.release}
        mounts = [("conf", "/opt/graphite/conf/"), ("statsd", "/opt/statsd/"), ("pvc", "/opt/graphite/storage/")]
        pod_spec: Manifest = {
            "containers": [
                _container(
                    "graphite",
                    "graphiteapp/graphite-statsd:1.1.5-4",
                    [(f"{name}-{volume}", path) for volume, path in mounts],
                    ports=[
                        {"name": "graphite-gui", "containerPort": 8080},
                        {"name": "graphite-plain", "containerPort": 2003},
                    ],
                )
            ],
            "volumes": [
                {"name": f"{name}-conf", "configMap": {"name": f"{name}-configmap"}},
                {"name": f"{name}-statsd", "configMap": {"name": f"{name}-statsd-configmap"}},
                self._storage(f"{name}-pvc", "graphite"),
            ],
        }
        if subchart.get("affinity"):
            pod_spec["affinity"] = subchart["affinity"]
        self.emit(
            "ais/charts/graphite/templates/graphite.yaml",
            _config_map(_meta(f"{name}-configmap", labels), "carbon.conf"),
            _config_map(_meta(f"{name}-statsd-configmap", labels), "config_tcp.js", "config_udp.js"),
            _service(_meta(name, labels), [("graphite-gui", 8080)], selector),
            _workload("StatefulSet", _meta(name, labels), selector, pod_spec, serviceName="graphite"),
        )

    def _grafana(self) -> None:
        name, namespace, test = f"{self.release}-grafana", self.namespace, f"{self.release}-grafana-test"
        labels = self._instance_labels("grafana", "grafana-5.5.7")
        selector = {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": self.release}
        admin = self.values["grafana"].get("admin", {})
        secret = admin.get("existingSecret") or name
        admin_env = [
            {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": admin.get(key, default)}}}
            for variable, key, default in (
                ("GF_SECURITY_ADMIN_USER", "userKey", "admin-user"),
                ("GF_SECURITY_ADMIN_PASSWORD", "passwordKey", "admin-password"),
            )
        ]
        datasources = ("sc-datasources-volume", "/etc/grafana/provisioning/datasources")
        pod_spec = {
            "serviceAccountName": name,
            "initContainers": [_container("init-chown-data", "busybox:1.31.1", [("storage", "/var/lib/grafana")])],
            "containers": [
                _container("grafana-sc-datasources", "kiwigrid/k8s-sidecar:0.1.151", [datasources]),
                _container(
                    "grafana",
                    "grafana/grafana:7.1.1",
                    [("config", "/etc/grafana/grafana.ini"), ("storage", "/var/lib/grafana"), datasources],
                    env=admin_env,
                ),
            ],
            "volumes": [
                {"name": "config", "configMap": {"name": name}},
                self._storage("storage", "grafana"),
                {"name": "sc-datasources-volume", "emptyDir": {}},
            ],
        }
        # Test hooks: `helm test` applies them, an install does not; Helm 3.21+ post-renders them.
        hook = {"helm.sh/hook": "test-success"}
        test_pod = {
            "serviceAccountName": test,
            "containers": [_container(f"{self.release}-test", "bats/bats:v1.1.0", [("tests", "/tests")])],
            "volumes": [{"name": "tests", "configMap": {"name": test}}],
            "restartPolicy": "Never",
        }
        self.emit(
            "ais/charts/grafana/templates/grafana.yaml",
            _obj("policy/v1beta1", "PodSecurityPolicy", _meta(name, labels), spec=PSP_SPEC),
            _obj("v1", "ServiceAccount", _meta(name, labels, namespace)),
            _config_map(_meta(name, labels, namespace), "grafana.ini"),
            _obj(
                RBAC_V1,
                "ClusterRole",
                _meta(f"{name}-clusterrole", labels),
                rules=[_rule([""], ["configmaps", "secrets"], ["get", "watch", "list"])],
            ),
            _binding(
                RBAC_V1,
                "ClusterRoleBinding",
                _meta(f"{name}-clusterrolebinding", labels),
                f"{name}-clusterrole",
                name,
                namespace,
            ),
            _obj(RBAC_V1BETA1, "Role", _meta(name, labels, namespace), rules=[_rule(*PSP_USE, [name])]),
            _binding(RBAC_V1BETA1, "RoleBinding", _meta(name, labels, namespace), name, name, namespace),
            _service(_meta(name, labels, namespace), [("service", 80)], selector, type="NodePort"),
            _workload("Deployment", _meta(name, labels, namespace), selector, pod_spec, replicas=1),
        )
        if not admin.get("existingSecret"):
            data = {"admin-user": "YWRtaW4=", "admin-password": "c3RhbmQtaW4="}
            self.emit(
                "ais/charts/grafana/templates/secret.yaml",
                _obj("v1", "Secret", _meta(name, labels, namespace), data=data),
            )
        self.emit(
            "ais/charts/grafana/templates/tests/test.yaml",
            _obj("policy/v1beta1", "PodSecurityPolicy", _meta(test, labels, annotations=hook), spec=PSP_SPEC),
            _obj("v1", "ServiceAccount", _meta(test, labels, namespace, hook)),
            _config_map(_meta(test, labels, namespace, hook), "run.sh"),
            _obj(RBAC_V1, "Role", _meta(test, labels, namespace, hook), rules=[_rule(*PSP_USE, [test])]),
            _binding(RBAC_V1, "RoleBinding", _meta(test, labels, namespace, hook), test, test, namespace),
            _obj("v1", "Pod", _meta(test, labels, namespace, hook), spec=test_pod),
        )

    def _prometheus(self) -> None:
        release, namespace = self.release, self.namespace
        ksm = f"{release}-kube-state-metrics"
        labels = self._instance_labels("kube-state-metrics", "kube-state-metrics-2.8.11")
        selector = {"app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": release}
        resources = ["nodes", "pods", "services", "namespaces", "deployments", "daemonsets", "statefulsets", "jobs"]
        ksm_pod = {
            "serviceAccountName": ksm,
            "containers": [_container("kube-state-metrics", "quay.io/coreos/kube-state-metrics:v1.9.7")],
        }
        self.emit(
            "ais/charts/prometheus/charts/kube-state-metrics/templates/kube-state-metrics.yaml",
            _obj("v1", "ServiceAccount", _meta(ksm, labels, namespace)),
            _obj(
                RBAC_V1BETA1,
                "ClusterRole",
                _meta(ksm, labels),
                rules=[_rule(["", "apps", "batch"], resources, ["list", "watch"])],
            ),
            _binding(RBAC_V1BETA1, "ClusterRoleBinding", _meta(ksm, labels), ksm, ksm, namespace),
            _service(_meta(ksm, labels, namespace), [("http", 8080)], selector),
            _workload("Deployment", _meta(ksm, labels, namespace), selector, ksm_pod),
        )
        server_rules = [
            _rule(
                [""], ["nodes", "nodes/proxy", "services", "endpoints", "pods", "configmaps"], ["get", "list", "watch"]
            ),
            {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
        ]
        components = {
            "alertmanager": ("prom/alertmanager:v0.21.0", 9093, []),
            "node-exporter": ("prom/node-exporter:v1.0.1", 9100, []),
            "pushgateway": ("prom/pushgateway:v1.2.0", 9091, []),
            "server": ("prom/prometheus:v2.20.1", 9090, server_rules),
        }
        for component, (image, port, rules) in components.items():
            name = f"{release}-prometheus-{component}"
            selector = {"app": "prometheus", "component": component, "release": release}
            labels = selector | {"chart": "prometheus-11.12.1", "heritage": "Helm"}
            source = f"ais/charts/prometheus/templates/{component}.yaml"
            main = _container(f"prometheus-{component}", image, ports=[{"containerPort": port}])
            pod_spec: Manifest = {"serviceAccountName": name, "containers": [main]}
            self.emit(source, _obj("v1", "ServiceAccount", _meta(name, labels, namespace)))
            if component == "node-exporter":
                main["volumeMounts"] = [
                    {"name": "proc", "mountPath": "/host/proc"},
                    {"name": "sys", "mountPath": "/host/sys"},
                ]
                pod_spec |= {"hostNetwork": True, "hostPID": True}
                pod_spec["volumes"] = [_host_path("proc", "/proc"), _host_path("sys", "/sys")]
                self.emit(source, _workload("DaemonSet", _meta(name, labels, namespace), selector, pod_spec))
            else:
                if component in ("alertmanager", "server"):
                    reload = _container(f"{component}-configmap-reload", "jimmidyson/configmap-reload:v0.4.0")
                    reload["volumeMounts"] = [{"name": "config-volume", "mountPath": "/etc/config", "readOnly": True}]
                    main["volumeMounts"] = [
                        {"name": "config-volume", "mountPath": "/etc/config"},
                        {"name": "storage-volume", "mountPath": "/data"},
                    ]
                    pod_spec["containers"] = [main, reload]
                    # persistentVolume.enabled is false in the ais chart's values: storage is an emptyDir.
                    pod_spec["volumes"] = [
                        {"name": "config-volume", "configMap": {"name": name}},
                        {"name": "storage-volume", "emptyDir": {}},
                    ]
                    self.emit(source, _config_map(_meta(name, labels, namespace), f"{component}.yml"))
                self.emit(
                    source,
                    _obj(RBAC_V1BETA1, "ClusterRole", _meta(name, labels), rules=rules),
                    _binding(RBAC_V1BETA1, "ClusterRoleBinding", _meta(name, labels), name, name, namespace),
                    _workload("Deployment", _meta(name, labels, namespace), selector, pod_spec),
                )
            self.emit(source, _service(_meta(name, labels, namespace), [("http", port)], selector))
