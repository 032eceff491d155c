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

# The guard's record of what is deployed: each output is sent only once every resource of this
# update is in place, so a failed `pulumi up` keeps the outputs of the last one that succeeded.
deployed_record = cluster.once_deployed
pulumi.export("namespace", deployed_record(cluster.namespace.metadata.name))
pulumi.export("releaseName", deployed_record(cluster.release.name))
pulumi.export("fullname", deployed_record(naming.fullname(worksheet.release_name)))
pulumi.export("proxyEndpoint", deployed_record(naming.proxy_endpoint(worksheet.release_name, worksheet.namespace)))
pulumi.export("targetNodes", deployed_record(worksheet.target_nodes))
pulumi.export("targetCount", deployed_record(worksheet.expected_targets))
pulumi.export("proxyNodes", deployed_record(worksheet.proxy_nodes))
pulumi.export("initialPrimary", deployed_record(worksheet.initial_primary))
pulumi.export("mountpoints", deployed_record(worksheet.mountpoints))
pulumi.export("statePath", deployed_record(worksheet.state_path))
pulumi.export("chartSource", deployed_record(chart_source(worksheet).identity))
pulumi.export("labelSelectors", deployed_record(naming.label_selectors(worksheet.release_name, worksheet.namespace)))
pulumi.export("monitoringClaims", deployed_record(monitoring_claims(worksheet)))
pulumi.export("monitoringStorage", deployed_record(monitoring_storage(worksheet)))
pulumi.export("preflight", deployed_record(preflight_status(worksheet)))
pulumi.export("releaseStatus", deployed_record(cluster.release.status.status))
