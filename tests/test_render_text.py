"""What ``render`` prints: a tree that stays short at 2000 nodes, labels by runs of nodes, and
the Release's values as the keys this program sets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from aisinfra.review.render import labels_table, summary_text, tree_text, values_text, write_outputs
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

TARGETS = WORKSHEET_EXAMPLE["aisinfra:targets"]


def test_a_2000_node_tree_is_under_100_lines_and_the_out_files_list_every_node(
    render_stack: Any, tmp_path: Path
) -> None:
    rendering = render_stack(
        worksheet(
            targets={**TARGETS, "nodes": ["cpu{0001..2000}"]},
            proxies={"nodes": ["cpu{0001..2000}"], "initialPrimary": "cpu0001"},
            monitoring={
                "graphite": {"node": "cpu0001", "path": "/data/graphite", "size": "250Gi"},
                "grafana": {"node": "cpu0001", "path": "/data/grafana", "size": "50Gi"},
            },
        )
    )
    tree = tree_text(rendering).splitlines()
    assert len(tree) < 100
    assert "            create kubernetes:core/v1:NodePatch  aistore-proxies-cpu{0001..2000}  (2000)" in tree
    assert "            create kubernetes:core/v1:NodePatch  aistore-targets-cpu{0001..2000}  (2000)" in tree
    assert "        read   kubernetes:core/v1:Node  aistore-node-cpu{0001..2000}  (2000)" in tree
    assert "            create kubernetes:batch/v1:Job  aistore-preflight-cpu{0001..2000}  (2000)" in tree
    assert [line.split() for line in labels_table(rendering).splitlines()] == [
        [
            "NODE",
            "nvidia.com/ais-target",
            "nvidia.com/ais-proxy",
            "aisinfra/cluster",
            "nvidia.com/ais-initial-primary-proxy",
        ],
        ["cpu0001", "demo-ais", "demo-ais-electable", "ais.demo", "demo-ais"],
        ["cpu{0002..2000}", "demo-ais", "demo-ais-electable", "ais.demo", "-"],
    ]
    assert len(summary_text(rendering).splitlines()) < 100
    write_outputs(rendering, tmp_path)
    resources = yaml.safe_load((tmp_path / "resources.yaml").read_text())
    patches = [r["name"] for r in resources if r["type"] == "kubernetes:core/v1:NodePatch"]
    assert len(patches) == 2 * 2000 + 1  # a target and a proxy patch per node, and the initial primary's
    outputs = yaml.safe_load((tmp_path / "outputs.yaml").read_text())
    assert outputs["targetNodes"] == [f"cpu{number:04}" for number in range(1, 2001)]


def test_only_runs_of_like_resources_collapse(render_stack: Any) -> None:
    rendering = render_stack(
        worksheet(targets={**TARGETS, "nodes": ["cpu{01..03}", "gpu1", "gpu2"]}, proxies={"nodes": ["cpu{01..03}"]})
    )
    assert tree_text(rendering).splitlines() == [
        "pulumi:pulumi:Stack  aisinfra-test",
        "    create aisinfra:index:AisCluster  aistore",
        "        create aisinfra:index:MonitoringLayer  aistore-monitoring",
        "            create kubernetes:core/v1:ConfigMap  aistore-monitoring-dashboard-cluster",
        "            create kubernetes:core/v1:ConfigMap  aistore-monitoring-dashboard-nodes",
        "            create kubernetes:core/v1:PersistentVolume  aistore-monitoring-grafana-pv  [protected]",
        "            create kubernetes:core/v1:PersistentVolumeClaim  aistore-monitoring-grafana-pvc  [protected]",
        "            create kubernetes:core/v1:PersistentVolume  aistore-monitoring-graphite-pv  [protected]",
        "            create kubernetes:core/v1:PersistentVolumeClaim  aistore-monitoring-graphite-pvc  [protected]",
        "        create aisinfra:index:PreflightLayer  aistore-preflight",
        "            create kubernetes:batch/v1:Job  aistore-preflight-cpu{01..03}  (3)",
        "            create kubernetes:batch/v1:Job  aistore-preflight-gpu1",
        "            create kubernetes:batch/v1:Job  aistore-preflight-gpu2",
        "        create aisinfra:index:ProxyLayer  aistore-proxies",
        "            create kubernetes:core/v1:NodePatch  aistore-proxies-cpu{01..03}  (3)",
        "            create kubernetes:core/v1:NodePatch  aistore-proxies-initial-primary",
        "        create aisinfra:index:TargetLayer  aistore-targets",
        "            create kubernetes:core/v1:NodePatch  aistore-targets-cpu{01..03}  (3)",
        "            create kubernetes:core/v1:NodePatch  aistore-targets-gpu1",
        "            create kubernetes:core/v1:NodePatch  aistore-targets-gpu2",
        "        read   kubernetes:core/v1:Node  aistore-node-cpu{01..03}  (3)",
        "        read   kubernetes:core/v1:Node  aistore-node-gpu1",
        "        read   kubernetes:core/v1:Node  aistore-node-gpu2",
        "        create kubernetes:core/v1:Namespace  aistore-namespace  [protected]",
        "        create kubernetes:helm.sh/v3:Release  aistore-release  [protected]",
        "    read   pulumi:pulumi:StackReference  test-deployed",
    ]


def test_the_release_values_show_as_the_keys_the_worksheet_sets(render_stack: Any) -> None:
    rendering = render_stack(worksheet(chart={"path": "./charts", "values": {"aiscluster": {"skipHostIP": True}}}))
    assert values_text(rendering).splitlines() == [
        "aiscluster.expected_proxy_nodes: 12",
        "aiscluster.expected_target_nodes: 12",
        'aiscluster.hostpathPrefix: "/etc/ais"',
        'aiscluster.image.aisnode.repository: "aistore/aisnode"',
        'aiscluster.image.aisnode.tag: "3.4"',
        'aiscluster.image.kubectl.repository: "aistore/ais-init"',
        'aiscluster.image.kubectl.tag: "latest"',
        "aiscluster.skipHostIP: true",
        "aiscluster.target.mountPaths: /ais/sd[a-j]  (a list of 10)",
        'grafana.ais.pv.path: ""',
        "grafana.persistence.enabled: true",
        'grafana.persistence.existingClaim: "demo-ais-grafana"',
        "grafana.sidecar.dashboards.enabled: true",
        'grafana.sidecar.dashboards.label: "ais_grafana_dashboard"',
        'grafana.sidecar.dashboards.searchNamespace: "ais"',
        'graphite.ais.pv.path: ""',
        "graphite.graphite.affinity: {}",
        "graphite.persistence.enabled: true",
        'graphite.persistence.existingClaim: "demo-ais-graphite"',
        'prometheus.nodeExporter.extraArgs.path.rootfs: "/host/root"',
        'prometheus.nodeExporter.extraHostPathMounts: [{"hostPath": "/", "mountPath": "/host/root", '
        '"mountPropagation": "HostToContainer", "name": "root", "readOnly": true}]',
        'prometheus.nodeExporter.nodeSelector.aisinfra/cluster: "ais.demo"',
        "prometheus.serverFiles.alerting_rules.yml.groups: group aistore-ais-demo: AisTargetNodeDown, "
        "AisMountpointFullWarning, AisMountpointFullCritical, AisMountpointFillsSoon, AisMountpointReadOnly, "
        "AisMountpointMissing, AisDiskSaturated  (the rules whole: values.yaml with --out)",
        "proxy.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: "
        '[{"matchExpressions": [{"key": "nvidia.com/ais-proxy", "operator": "In", "values": ["demo-ais-electable"]}, '
        '{"key": "aisinfra/cluster", "operator": "In", "values": ["ais.demo"]}]}]',
        "tags.builtin_monitoring: true",
        "tags.prometheus: true",
        "target.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms: "
        '[{"matchExpressions": [{"key": "nvidia.com/ais-target", "operator": "In", "values": ["demo-ais"]}, '
        '{"key": "aisinfra/cluster", "operator": "In", "values": ["ais.demo"]}]}]',
    ]
