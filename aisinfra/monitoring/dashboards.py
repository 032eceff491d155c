"""The Grafana dashboards of one cluster, built with Grafana's own typed builders
(``grafana-foundation-sdk``).

- "AIStore cluster" reads the chart's Graphite ("AIS Graphite"): request rates and latencies,
  GET throughput, errors, rebalance traffic and the nodes reporting, from AIStore's StatsD metrics.
- "AIStore target nodes" reads the chart's Prometheus ("Prometheus"): space, disk I/O, CPU,
  memory and network of the worksheet's target nodes and mountpoints, from node-exporter.

Where the SDK falls short of the chart's Grafana (7.1.1), the JSON says what that Grafana reads:

- The SDK has no Graphite query type: ``GraphiteQuery`` is one (``refId`` and ``target``, the
  fields Grafana's Graphite datasource reads).
- Its ``DataSourceRef`` (type and uid) is what Grafana 8.3+ reads; Grafana 7.1 finds a datasource by
  its name, and the chart provisions its two by name without a uid. Panels and variables name
  theirs (``datasource: "AIS Graphite"``), which Grafana 8.3+ still reads and migrates.
- Time series are the ``graph`` panel, as Grafana 7.1 has no ``timeseries`` panel (Grafana 11+
  migrates a ``graph`` panel to ``timeseries`` on load).

A cluster's dashboards carry its release and namespace in their title and uid, so that two
clusters' dashboards never collide in one Grafana.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.builders import prometheus as prometheus_builders
from grafana_foundation_sdk.builders import stat as stat_builders
from grafana_foundation_sdk.cog import builder as cogbuilder
from grafana_foundation_sdk.cog import variants as cogvariants
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models import common as common_models
from grafana_foundation_sdk.models import dashboard as dashboard_models

from aisinfra.monitoring import metrics, queries
from aisinfra.monitoring.scope import ClusterScope, cluster_scope

if TYPE_CHECKING:
    from aisinfra.worksheet.model import Worksheet

# The datasources the chart provisions in its Grafana (templates/*-datasource-cm.yaml).
GRAPHITE_DATASOURCE = "AIS Graphite"
PROMETHEUS_DATASOURCE = "Prometheus"
CLUSTER = "cluster"
NODES = "nodes"
NODE_VARIABLE = "node"
GRAPH_PANEL = "graph"
PANEL_HEIGHT = 8
HALF_WIDTH = 12


class GraphiteDataquery(cogvariants.Dataquery):
    """One Graphite target, as Grafana's Graphite datasource stores it."""

    def __init__(self, ref_id: str, target: str) -> None:
        self.ref_id = ref_id
        self.target = target

    def to_json(self) -> dict[str, object]:
        return {"refId": self.ref_id, "target": self.target}


class GraphiteQuery(cogbuilder.Builder[GraphiteDataquery]):
    def __init__(self, ref_id: str, target: str) -> None:
        self._internal = GraphiteDataquery(ref_id, target)

    def build(self) -> GraphiteDataquery:
        return self._internal


@dataclass(frozen=True)
class Query:
    """One series a panel draws: a Graphite target, or a PromQL expression with its legend."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class PanelSpec:
    title: str
    unit: str
    queries: tuple[Query, ...]
    description: str = ""
    kind: str = GRAPH_PANEL


@dataclass(frozen=True)
class DashboardSpec:
    """What a dashboard shows, before any builder: the tests evaluate these queries."""

    key: str
    title: str
    uid: str
    datasource: str
    description: str
    rows: tuple[tuple[str, tuple[PanelSpec, ...]], ...]
    variables: tuple[tuple[str, str, str], ...] = ()  # (name, query, value of "All")

    @property
    def panels(self) -> list[PanelSpec]:
        return [panel for _, panels in self.rows for panel in panels]


# -- "AIStore cluster" (Graphite) --------------------------------------------------------------------

# GET, PUT and DELETE are served by targets; a LIST is answered by a proxy, which asks every target.
OPERATION_ROLES = {"GET": metrics.TARGET, "PUT": metrics.TARGET, "DELETE": metrics.TARGET, "LIST": metrics.PROXY}
OPERATION_COUNTERS = {
    "GET": metrics.GET_COUNT,
    "PUT": metrics.PUT_COUNT,
    "DELETE": metrics.DELETE_COUNT,
    "LIST": metrics.LIST_COUNT,
}
OPERATION_LATENCIES = {"GET": metrics.GET_LATENCY, "PUT": metrics.PUT_LATENCY, "LIST": metrics.LIST_LATENCY}
BOTH_ROLES = "{" + ",".join(metrics.ROLES) + "}"


def _alias(target: str, name: str) -> Query:
    return Query(f"alias({target}, '{name}')")


def _by_daemon(target: str, node: int) -> Query:
    return Query(f"aliasByNode({target}, {node})")


def request_panels() -> tuple[PanelSpec, ...]:
    cluster_rates = PanelSpec(
        "Requests per second (cluster)",
        "reqps",
        tuple(
            _alias(f"sumSeries({metrics.counter_rate(OPERATION_ROLES[op], counter)})", op)
            for op, counter in OPERATION_COUNTERS.items()
        ),
        "GET, PUT and DELETE as the targets served them, LIST as the proxies answered them.",
    )
    per_node = tuple(
        PanelSpec(
            f"{op} per second by {'target' if role == metrics.TARGET else 'proxy'}",
            "reqps",
            (_by_daemon(metrics.counter_rate(role, OPERATION_COUNTERS[op]), metrics.COUNTER_DAEMON_NODE),),
        )
        for op, role in OPERATION_ROLES.items()
    )
    return (cluster_rates, *per_node)


def latency_panels() -> tuple[PanelSpec, ...]:
    panels = []
    for op, timer in OPERATION_LATENCIES.items():
        role = OPERATION_ROLES[op]
        mean = metrics.timer(role, timer, metrics.TIMER_MEAN)
        p90 = metrics.timer(role, timer, metrics.TIMER_P90)
        panels.append(
            PanelSpec(
                f"{op} latency (cluster)",
                "ms",
                (
                    _alias(f"averageSeries({mean})", "mean"),
                    _alias(f"maxSeries({p90})", "90th percentile, slowest node"),
                ),
                "StatsD keeps each node's percentiles only: the cluster's line is the slowest node's 90th "
                "percentile, not a percentile of all requests.",
            )
        )
        panels.append(
            PanelSpec(
                f"{op} latency, 90th percentile by node",
                "ms",
                (_by_daemon(p90, metrics.TIMER_DAEMON_NODE),),
            )
        )
    return tuple(panels)


def throughput_panels() -> tuple[PanelSpec, ...]:
    throughput = metrics.gauge(metrics.TARGET, metrics.GET_THROUGHPUT)
    return (
        PanelSpec("GET throughput (cluster)", "Bps", (_alias(f"sumSeries({throughput})", "GET"),)),
        PanelSpec("GET throughput by target", "Bps", (_by_daemon(throughput, metrics.GAUGE_DAEMON_NODE),)),
    )


def error_panels() -> tuple[PanelSpec, ...]:
    by_operation = tuple(
        _alias(f"sumSeries({metrics.counter_rate(BOTH_ROLES, metrics.error_count(name))})", op)
        for op, name in metrics.OPERATIONS.items()
    )
    mountpath_errors = metrics.counter_rate(metrics.TARGET, metrics.MOUNTPATH_IO_ERRORS)
    return (
        PanelSpec("Errors per second by operation", "short", by_operation),
        PanelSpec(
            "I/O errors per second by target and mountpath",
            "short",
            # stats.aistarget.<DaemonID>.err.io.<mountpath>.count: the DaemonID and the mountpath.
            (Query(f"aliasByNode({mountpath_errors}, 2, 5)"),),
            "A mountpath is written with '-' for '/': -ais-sda is /ais/sda.",
        ),
    )


def rebalance_panels() -> tuple[PanelSpec, ...]:
    return (
        PanelSpec(
            "Rebalance traffic (cluster)",
            "Bps",
            (
                _alias(f"sumSeries({metrics.counter_rate(metrics.TARGET, metrics.REBALANCE_TX_SIZE)})", "sent"),
                _alias(f"sumSeries({metrics.counter_rate(metrics.TARGET, metrics.REBALANCE_RX_SIZE)})", "received"),
            ),
        ),
        PanelSpec(
            "Rebalance objects per second (cluster)",
            "short",
            (
                _alias(f"sumSeries({metrics.counter_rate(metrics.TARGET, metrics.REBALANCE_TX_COUNT)})", "sent"),
                _alias(f"sumSeries({metrics.counter_rate(metrics.TARGET, metrics.REBALANCE_RX_COUNT)})", "received"),
            ),
        ),
    )


def reporting_panel() -> PanelSpec:
    """Each node's StatsD sends every counter it has seen at every flush (0 when idle), so a node
    that reports has a value in each interval: 1 per node, summed."""

    def reporting(role: str) -> str:
        every_counter = metrics.counter_flush(role, "*.count")
        return f"sumSeries(isNonNull(groupByNode({every_counter}, {metrics.COUNTER_DAEMON_NODE}, 'sum')))"

    return PanelSpec(
        "Targets and proxies reporting",
        "short",
        (_alias(reporting(metrics.TARGET), "targets"), _alias(reporting(metrics.PROXY), "proxies")),
        "Nodes whose StatsD sent metrics in each interval; compare with the worksheet's count.",
    )


def cluster_dashboard(scope: ClusterScope, external_graphite: bool) -> DashboardSpec:
    separation = (
        "Every series comes from this release's own Graphite, which only this cluster's nodes send to."
        if not external_graphite
        else "The chart gives AIStore's StatsD no per-cluster prefix: if other AIStore clusters send to the "
        "same Graphite, their nodes show here too."
    )
    return DashboardSpec(
        key=CLUSTER,
        title=f"AIStore cluster {scope.label}",
        uid=scope.uid(CLUSTER),
        datasource=GRAPHITE_DATASOURCE,
        description=f"AIStore {scope.label}: requests, latencies, errors and rebalance from StatsD. {separation}",
        rows=(
            ("Requests", request_panels()),
            ("Latency", latency_panels()),
            ("Throughput", throughput_panels()),
            ("Errors", error_panels()),
            ("Rebalance and membership", (*rebalance_panels(), reporting_panel())),
        ),
    )


# -- "AIStore target nodes" (Prometheus) --------------------------------------------------------------

NODE_LEGEND = f"{{{{{metrics.NODE_LABEL}}}}}"
MOUNTPOINT_LEGEND = f"{{{{{metrics.NODE_LABEL}}}}} {{{{{metrics.MOUNTPOINT_LABEL}}}}}"
STAT_PANEL = "stat"


def nodes_dashboard(scope: ClusterScope) -> DashboardSpec:
    nodes, mountpoints = f"${NODE_VARIABLE}", scope.mountpoints_regex
    return DashboardSpec(
        key=NODES,
        title=f"AIStore target nodes {scope.label}",
        uid=scope.uid(NODES),
        datasource=PROMETHEUS_DATASOURCE,
        description=(f"AIStore {scope.label}: the target nodes and the worksheet's mountpoints, from node-exporter."),
        variables=(
            (
                NODE_VARIABLE,
                f"label_values({metrics.UNAME_INFO}{{{queries.node_selector(scope.nodes_regex)}}}, "
                f"{metrics.NODE_LABEL})",
                scope.nodes_regex,
            ),
        ),
        rows=(
            (
                "Space",
                (
                    PanelSpec(
                        "Fullest mountpoint",
                        "percent",
                        (Query(queries.fullest_mountpoint(nodes, mountpoints), MOUNTPOINT_LEGEND),),
                        kind=STAT_PANEL,
                    ),
                    PanelSpec(
                        "Space used by mountpoint (%)",
                        "percent",
                        (Query(queries.used_percent(nodes, mountpoints), MOUNTPOINT_LEGEND),),
                    ),
                    PanelSpec(
                        "Space used by mountpoint",
                        "bytes",
                        (Query(queries.used_bytes(nodes, mountpoints), MOUNTPOINT_LEGEND),),
                    ),
                    PanelSpec(
                        "Space free by mountpoint",
                        "bytes",
                        (Query(queries.free_bytes(nodes, mountpoints), MOUNTPOINT_LEGEND),),
                    ),
                ),
            ),
            (
                "Disk I/O",
                (
                    PanelSpec(
                        "Disk busy by mountpoint",
                        "percentunit",
                        (Query(queries.disk_rate(metrics.DISK_IO_TIME, nodes, mountpoints), MOUNTPOINT_LEGEND),),
                        "Share of the time the mountpoint's disk had I/O in flight (1 = always).",
                    ),
                    PanelSpec(
                        "Disk throughput by mountpoint",
                        "Bps",
                        (
                            Query(
                                queries.disk_rate(metrics.DISK_READ_BYTES, nodes, mountpoints),
                                f"{MOUNTPOINT_LEGEND} read",
                            ),
                            Query(
                                queries.disk_rate(metrics.DISK_WRITTEN_BYTES, nodes, mountpoints),
                                f"{MOUNTPOINT_LEGEND} written",
                            ),
                        ),
                    ),
                ),
            ),
            (
                "Node",
                (
                    PanelSpec("CPU busy", "percent", (Query(queries.cpu_busy_percent(nodes), NODE_LEGEND),)),
                    PanelSpec("Memory used", "bytes", (Query(queries.memory_used_bytes(nodes), NODE_LEGEND),)),
                    PanelSpec(
                        "Network",
                        "Bps",
                        (
                            Query(queries.network_bytes(metrics.NETWORK_RECEIVE_BYTES, nodes), f"{NODE_LEGEND} in"),
                            Query(queries.network_bytes(metrics.NETWORK_TRANSMIT_BYTES, nodes), f"{NODE_LEGEND} out"),
                        ),
                    ),
                ),
            ),
        ),
    )


def dashboard_specs(worksheet: Worksheet) -> list[DashboardSpec]:
    scope = cluster_scope(worksheet)
    return [cluster_dashboard(scope, not worksheet.monitoring.enabled), nodes_dashboard(scope)]


# -- building ----------------------------------------------------------------------------------------


def _target(spec: DashboardSpec, ref_id: str, query: Query) -> cogbuilder.Builder[Any]:
    if spec.datasource == GRAPHITE_DATASOURCE:
        return GraphiteQuery(ref_id, query.expr)
    return prometheus_builders.Dataquery().expr(query.expr).legend_format(query.legend).ref_id(ref_id)


def _panel(spec: DashboardSpec, panel: PanelSpec) -> cogbuilder.Builder[dashboard_models.Panel]:
    builder: Any
    if panel.kind == STAT_PANEL:
        builder = (
            stat_builders.Panel()
            .text_mode(common_models.BigValueTextMode.VALUE_AND_NAME)
            .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        )
    else:
        builder = dashboard_builders.Panel().type(panel.kind)
    builder = builder.title(panel.title).unit(panel.unit).height(PANEL_HEIGHT).span(HALF_WIDTH)
    if panel.description:
        builder = builder.description(panel.description)
    refs = [chr(ord("A") + index) for index in range(len(panel.queries))]
    return builder.targets([_target(spec, ref, query) for ref, query in zip(refs, panel.queries, strict=True)])


def build_dashboard(spec: DashboardSpec) -> dict[str, Any]:
    """The dashboard's JSON model, as Grafana's provisioning and import read it."""
    builder = (
        dashboard_builders.Dashboard(spec.title)
        .uid(spec.uid)
        .description(spec.description)
        .tags(["aistore"])
        .editable()
        .time("now-6h", "now")
        .refresh("1m")
    )
    for name, query, all_value in spec.variables:
        builder = builder.with_variable(
            dashboard_builders.QueryVariable(name)
            .label(name)
            .query(query)
            .multi(True)
            .include_all(True)
            .all_value(all_value)
            .refresh(dashboard_models.VariableRefresh.ON_DASHBOARD_LOAD)
            .sort(dashboard_models.VariableSort.ALPHABETICAL_ASC)
        )
    for title, panels in spec.rows:
        builder = builder.with_row(dashboard_builders.Row(title))
        for panel in panels:
            builder = builder.with_panel(_panel(spec, panel))
    document: dict[str, Any] = json.loads(json.dumps(builder.build(), cls=JSONEncoder))
    return _named_datasource(document, spec.datasource)


def _named_datasource(document: dict[str, Any], datasource: str) -> dict[str, Any]:
    """Every panel and variable names the dashboard's datasource, as Grafana 7.1 looks it up; panels
    are numbered (the builders leave every id 0) and carry no null options."""
    for number, panel in enumerate(document.get("panels", []), start=1):
        panel["id"] = number
        if panel.get("options") is None:
            panel.pop("options", None)
        if panel.get("type") != "row":
            panel["datasource"] = datasource
    for variable in document.get("templating", {}).get("list", []):
        variable["datasource"] = datasource
    return document


def dashboard_json(spec: DashboardSpec) -> str:
    """The dashboard as a file: sorted keys, so that the same worksheet always gives the same bytes."""
    return json.dumps(build_dashboard(spec), indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class DashboardFile:
    """One dashboard as the cluster gets it: a ConfigMap for the Grafana sidecar (monitoring on),
    or a file to import (``render --out``)."""

    key: str
    title: str
    configmap_name: str
    file_name: str
    text: str


def dashboard_files(worksheet: Worksheet) -> list[DashboardFile]:
    scope = cluster_scope(worksheet)
    return [
        DashboardFile(
            key=spec.key,
            title=spec.title,
            configmap_name=f"{scope.release}-dashboard-{spec.key}",
            file_name=f"{spec.uid}.json",
            text=dashboard_json(spec),
        )
        for spec in dashboard_specs(worksheet)
    ]
