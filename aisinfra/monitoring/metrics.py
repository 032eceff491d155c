"""Every metric name the dashboards and alerts use, in one place.

AIStore 3.4 (``aistore/aisnode:3.4``, NVIDIA/aistore ``stats/common_stats.go`` and
``stats/target_stats.go``) sends StatsD metrics ``ais<proxy|target>.<DaemonID>.<name>`` to the
StatsD daemon in its pod, which flushes them to Graphite every 10 s in Etsy StatsD's legacy
namespace: a counter as ``stats.<key>`` (per second) and ``stats_counts.<key>`` (per flush), a
timer as ``stats.timers.<key>.<statistic>``, a gauge as ``stats.gauges.<key>``. The DaemonID is
random, so a query names a node with ``*``.

Disk space and disk I/O of the mountpoints are not in StatsD: they are node-exporter's, scraped by
the prometheus subchart's ``kubernetes-service-endpoints`` job, which labels each series with the
Kubernetes node it came from (``kubernetes_node``).
"""

from __future__ import annotations

from collections.abc import Iterable

PROXY = "aisproxy"
TARGET = "aistarget"
ROLES = (PROXY, TARGET)

# -- StatsD names (the part after ``ais<role>.<DaemonID>.``) -----------------------------------
# Counters.
GET_COUNT = "get.count"
PUT_COUNT = "put.count"
DELETE_COUNT = "del.count"
LIST_COUNT = "lst.count"
# Timers, in milliseconds.
GET_LATENCY = "get.latency"
PUT_LATENCY = "put.latency"
LIST_LATENCY = "lst.latency"
# Gauges: GET throughput in bytes per second, sent only while above zero.
GET_THROUGHPUT = "get.throughput"
# Rebalance traffic: counters of objects and of bytes sent and received.
REBALANCE_TX_COUNT = "reb.tx.count"
REBALANCE_TX_SIZE = "reb.tx.size"
REBALANCE_RX_COUNT = "reb.rx.count"
REBALANCE_RX_SIZE = "reb.rx.size"
# Each operation's counter has an error counter ``err.<op>.count``.
OPERATIONS = {"GET": "get", "PUT": "put", "DELETE": "del", "LIST": "lst"}
# A target's I/O errors of one mountpath: ``err.io.<mountpath with '/' as '-'>.count``.
MOUNTPATH_IO_ERRORS = "err.io.*.count"

# Etsy StatsD's legacy namespace in Graphite.
COUNTER_RATE_ROOT = "stats"
COUNTER_FLUSH_ROOT = "stats_counts"
TIMER_ROOT = "stats.timers"
GAUGE_ROOT = "stats.gauges"
TIMER_MEAN = "mean"
TIMER_P90 = "upper_90"
# The DaemonID's node in a Graphite path (aliasByNode counts from 0): ``stats.<role>.<DaemonID>...``
# for counters, ``stats.timers.<role>.<DaemonID>...`` and ``stats.gauges.<role>.<DaemonID>...``.
COUNTER_DAEMON_NODE = 2
TIMER_DAEMON_NODE = 3
GAUGE_DAEMON_NODE = 3


def error_count(operation: str) -> str:
    return f"err.{operation}.count"


def counter_rate(role: str, name: str, daemon: str = "*") -> str:
    """Events per second, as StatsD computed them for its flush interval."""
    return f"{COUNTER_RATE_ROOT}.{role}.{daemon}.{name}"


def counter_flush(role: str, name: str, daemon: str = "*") -> str:
    """Events of each flush interval."""
    return f"{COUNTER_FLUSH_ROOT}.{role}.{daemon}.{name}"


def timer(role: str, name: str, statistic: str, daemon: str = "*") -> str:
    return f"{TIMER_ROOT}.{role}.{daemon}.{name}.{statistic}"


def gauge(role: str, name: str, daemon: str = "*") -> str:
    return f"{GAUGE_ROOT}.{role}.{daemon}.{name}"


# -- node-exporter (Prometheus) ------------------------------------------------------------------
NODE_LABEL = "kubernetes_node"
MOUNTPOINT_LABEL = "mountpoint"
DEVICE_LABEL = "device"
UNAME_INFO = "node_uname_info"
FILESYSTEM_SIZE = "node_filesystem_size_bytes"
FILESYSTEM_AVAILABLE = "node_filesystem_avail_bytes"
FILESYSTEM_READONLY = "node_filesystem_readonly"
DISK_IO_TIME = "node_disk_io_time_seconds_total"
DISK_READ_BYTES = "node_disk_read_bytes_total"
DISK_WRITTEN_BYTES = "node_disk_written_bytes_total"
CPU_SECONDS = "node_cpu_seconds_total"
MEMORY_AVAILABLE = "node_memory_MemAvailable_bytes"
MEMORY_TOTAL = "node_memory_MemTotal_bytes"
NETWORK_RECEIVE_BYTES = "node_network_receive_bytes_total"
NETWORK_TRANSMIT_BYTES = "node_network_transmit_bytes_total"
# Virtual network devices, whose traffic the node's physical interfaces carry too.
VIRTUAL_NETWORK_DEVICES = "lo|veth.*|docker.*|cali.*|flannel.*|cni.*|vxlan.*|tunl.*|kube-.*"

_REGEX_SPECIAL = set(r"\.+*?()|[]{}^$")


def regex_alternatives(names: Iterable[str]) -> str:
    """A Prometheus regular expression (RE2, fully anchored) matching exactly these names, written
    for a double-quoted PromQL string: a ``.`` in a name is ``\\\\.``, which PromQL reads as ``\\.``."""
    return "|".join("".join(f"\\\\{c}" if c in _REGEX_SPECIAL else c for c in name) for name in names)
