"""PromQL over node-exporter's series of some nodes and mountpoints, shared by the dashboards
and the alerting rules. ``nodes`` and ``mountpoints`` are regular expressions for a double-quoted
PromQL string (``metrics.regex_alternatives``, or a Grafana variable such as ``$node``)."""

from __future__ import annotations

from aisinfra.monitoring import metrics

# The window of the rates of counters (scraped every minute by the subchart's default).
RATE_WINDOW = "5m"


def node_selector(nodes: str) -> str:
    return f'{metrics.NODE_LABEL}=~"{nodes}"'


def filesystem_selector(nodes: str, mountpoints: str) -> str:
    return f'{node_selector(nodes)},{metrics.MOUNTPOINT_LABEL}=~"{mountpoints}"'


def used_percent(nodes: str, mountpoints: str) -> str:
    selector = filesystem_selector(nodes, mountpoints)
    return f"100 * (1 - {metrics.FILESYSTEM_AVAILABLE}{{{selector}}} / {metrics.FILESYSTEM_SIZE}{{{selector}}})"


def used_bytes(nodes: str, mountpoints: str) -> str:
    selector = filesystem_selector(nodes, mountpoints)
    return f"{metrics.FILESYSTEM_SIZE}{{{selector}}} - {metrics.FILESYSTEM_AVAILABLE}{{{selector}}}"


def free_bytes(nodes: str, mountpoints: str) -> str:
    return f"{metrics.FILESYSTEM_AVAILABLE}{{{filesystem_selector(nodes, mountpoints)}}}"


def disk_of_mountpoint(nodes: str, mountpoints: str) -> str:
    """1 for each (node, device, mountpoint) of the mountpoints: joins node-exporter's per-device
    disk series (``device="sda"``) to the mountpoint whose filesystem is on it
    (``device="/dev/sda"``). A mountpoint on a partition has no disk series (node-exporter skips
    partitions), so it has no disk I/O here."""
    by = f"{metrics.NODE_LABEL}, {metrics.DEVICE_LABEL}, {metrics.MOUNTPOINT_LABEL}"
    return (
        f"count by ({by}) (label_replace({metrics.FILESYSTEM_SIZE}{{{filesystem_selector(nodes, mountpoints)}}}, "
        f'"{metrics.DEVICE_LABEL}", "$1", "{metrics.DEVICE_LABEL}", "/dev/(.+)"))'
    )


def disk_rate(counter: str, nodes: str, mountpoints: str) -> str:
    """A per-second rate of a per-device disk counter, for the devices of the mountpoints, labelled
    with the mountpoint."""
    rate = f"rate({counter}{{{node_selector(nodes)}}}[{RATE_WINDOW}])"
    return (
        f"{rate} * on ({metrics.NODE_LABEL}, {metrics.DEVICE_LABEL}) "
        f"group_left ({metrics.MOUNTPOINT_LABEL}) {disk_of_mountpoint(nodes, mountpoints)}"
    )


def cpu_busy_percent(nodes: str) -> str:
    idle = f'rate({metrics.CPU_SECONDS}{{{node_selector(nodes)},mode="idle"}}[{RATE_WINDOW}])'
    return f"100 * (1 - avg by ({metrics.NODE_LABEL}) ({idle}))"


def memory_used_bytes(nodes: str) -> str:
    selector = node_selector(nodes)
    return f"{metrics.MEMORY_TOTAL}{{{selector}}} - {metrics.MEMORY_AVAILABLE}{{{selector}}}"


def network_bytes(counter: str, nodes: str) -> str:
    selector = f'{node_selector(nodes)},{metrics.DEVICE_LABEL}!~"{metrics.VIRTUAL_NETWORK_DEVICES}"'
    return f"sum by ({metrics.NODE_LABEL}) (rate({counter}{{{selector}}}[{RATE_WINDOW}]))"


def fullest_mountpoint(nodes: str, mountpoints: str) -> str:
    return f"topk(1, {used_percent(nodes, mountpoints)})"


def node_down(node_names: tuple[str, ...]) -> str:
    """A series for each node whose node-exporter Prometheus no longer scrapes: absent() keeps the
    node's name from its equality matcher."""
    return " or ".join(f'absent({metrics.UNAME_INFO}{{{metrics.NODE_LABEL}="{node}"}})' for node in node_names)


def mountpoint_missing(nodes: str, mountpoint_names: tuple[str, ...], mountpoints: str) -> str:
    """A series for each (up node, mountpoint) without a filesystem there: the node's exporter
    answers, but the mountpoint's disk dropped (a node that is down is the node-down alert's)."""
    terms = []
    for mountpoint in mountpoint_names:
        up_nodes = (
            f'label_replace({metrics.UNAME_INFO}{{{node_selector(nodes)}}}, "{metrics.MOUNTPOINT_LABEL}", '
            f'"{mountpoint}", "", "")'
        )
        terms.append(
            f"({up_nodes} unless on ({metrics.NODE_LABEL}, {metrics.MOUNTPOINT_LABEL}) "
            f"{metrics.FILESYSTEM_SIZE}{{{filesystem_selector(nodes, mountpoints)}}})"
        )
    return " or ".join(terms)
