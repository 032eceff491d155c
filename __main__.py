"""aisinfra: one AIStore cluster on Kubernetes, from its deployment worksheet (stack config)."""

import pulumi

from aisinfra.chart import naming
from aisinfra.chart.values import chart_source, monitoring_claims
from aisinfra.program.cluster import AisCluster, AisClusterArgs
from aisinfra.program.config import read_deployed_state, read_worksheet, refuse_unsafe_changes
from aisinfra.program.preflight import preflight_status
from aisinfra.program.safety import leaving_nodes, monitoring_storage

deployed = read_deployed_state()
worksheet = read_worksheet(deployed)
refuse_unsafe_changes(worksheet, deployed)

cluster = AisCluster("aistore", AisClusterArgs(worksheet=worksheet, leaving_nodes=leaving_nodes(deployed, worksheet)))

pulumi.export("namespace", cluster.namespace.metadata.name)
pulumi.export("releaseName", cluster.release.name)
pulumi.export("fullname", naming.fullname(worksheet.release_name))
pulumi.export("proxyEndpoint", naming.proxy_endpoint(worksheet.release_name, worksheet.namespace))
pulumi.export("targetNodes", worksheet.target_nodes)
pulumi.export("targetCount", worksheet.expected_targets)
pulumi.export("proxyNodes", worksheet.proxy_nodes)
pulumi.export("initialPrimary", worksheet.initial_primary)
pulumi.export("mountpoints", worksheet.mountpoints)
pulumi.export("statePath", worksheet.state_path)
pulumi.export("chartSource", chart_source(worksheet).identity)
pulumi.export("labelSelectors", naming.label_selectors(worksheet.release_name, worksheet.namespace))
pulumi.export("monitoringClaims", monitoring_claims(worksheet))
pulumi.export("monitoringStorage", monitoring_storage(worksheet))
pulumi.export("preflight", preflight_status(worksheet))
pulumi.export("releaseStatus", cluster.release.status.status)
