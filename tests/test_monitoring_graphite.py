"""The cluster dashboard on real StatsD and Graphite.

Etsy's StatsD (npm ``statsd``, the daemon the aisnode image runs; ``make test`` installs it into
build/npm) and Graphite's carbon-cache (PyPI ``carbon``) run on free loopback ports; one UDP
datagram carries a fixture cluster's AIStore-shaped metrics (tests/fixtures/aistore_statsd.py,
written from the aistore sources); StatsD flushes them to carbon, which writes whisper files; then
graphite-web's own evaluator (PyPI ``graphite-web``) evaluates every target of every panel: each
returns the series the packets imply, with the values they imply (a rate sent comes back as that
rate). A panel whose query matches nothing fails, naming the panel.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from statistics import mean
from typing import Any

import pytest

from aisinfra.monitoring.dashboards import cluster_dashboard
from aisinfra.monitoring.scope import ClusterScope
from aisinfra.worksheet.stackfile import PROJECT_DIR
from tests.conftest import missing_server
from tests.fixtures import aistore_statsd as ais
from tests.servers import free_port, stop

STATSD = PROJECT_DIR / "build" / "npm" / "node_modules" / "statsd" / "stats.js"
CARBON = Path(sys.executable).parent / "carbon-cache.py"
EVALUATE = Path(__file__).parent / "fixtures" / "graphite_evaluate.py"
SCOPE = ClusterScope(release="demo", namespace="ais", target_nodes=("n1", "n2"), mountpoints=("/ais/sda",))
FLUSH_SECONDS = 1
START_SECONDS = 30
# carbon's generated protobuf module predates protobuf 4's C implementation.
CARBON_ENV = {"PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": "python"}


def wait_for_port(port: int, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"{what} did not listen on 127.0.0.1:{port} within {START_SECONDS} s: {log}")


def servers_here() -> str:
    node = shutil.which("node")
    if node is None or not STATSD.is_file():
        missing_server(f"no StatsD at {STATSD} (or no node): `make test` installs it (npm statsd into build/npm)")
    if not CARBON.is_file():
        missing_server("no carbon-cache: `make test` installs carbon, whisper and graphite-web (requirements-dev.txt)")
    return node


@pytest.fixture(scope="module")
def graphite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """StatsD flushing every second to a carbon-cache; yields the storage folder once the fixture
    cluster's datagram was flushed and written."""
    node = servers_here()
    folder = tmp_path_factory.mktemp("graphite")
    storage = folder / "storage"
    for sub in ("whisper", "log/webapp", "pid", "lists"):
        (storage / sub).mkdir(parents=True)
    carbon_port, pickle_port, query_port = free_port(), free_port(), free_port()
    statsd_port, statsd_admin = free_port(socket.SOCK_DGRAM), free_port()
    (folder / "carbon.conf").write_text(
        "[cache]\n"
        + "".join(
            f"{key} = {value}\n"
            for key, value in {
                "STORAGE_DIR": storage,
                "LOCAL_DATA_DIR": storage / "whisper",
                "WHITELISTS_DIR": storage / "lists",
                "CONF_DIR": folder,
                "LOG_DIR": storage / "log",
                "PID_DIR": storage / "pid",
                "USER": "",
                "MAX_CACHE_SIZE": "inf",
                "MAX_UPDATES_PER_SECOND": 100000,
                "MAX_CREATES_PER_MINUTE": "inf",
                "LINE_RECEIVER_INTERFACE": "127.0.0.1",
                "LINE_RECEIVER_PORT": carbon_port,
                "ENABLE_UDP_LISTENER": "False",
                "PICKLE_RECEIVER_INTERFACE": "127.0.0.1",
                "PICKLE_RECEIVER_PORT": pickle_port,
                "CACHE_QUERY_INTERFACE": "127.0.0.1",
                "CACHE_QUERY_PORT": query_port,
                "WHISPER_AUTOFLUSH": "True",
            }.items()
        )
    )
    (folder / "storage-schemas.conf").write_text(f"[all]\npattern = .*\nretentions = {FLUSH_SECONDS}s:1h\n")
    (folder / "storage-aggregation.conf").write_text(
        "[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n"
    )
    (folder / "statsd.json").write_text(
        json.dumps(
            {
                "address": "127.0.0.1",
                "port": statsd_port,
                "mgmt_address": "127.0.0.1",
                "mgmt_port": statsd_admin,
                "graphiteHost": "127.0.0.1",
                "graphitePort": carbon_port,
                "flushInterval": FLUSH_SECONDS * 1000,
                "backends": ["./backends/graphite"],
            }
        )
    )
    log_path = folder / "servers.log"
    log = log_path.open("wb")
    carbon = subprocess.Popen(
        [sys.executable, str(CARBON), f"--config={folder / 'carbon.conf'}", "--debug", "start"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **CARBON_ENV},
    )
    statsd = subprocess.Popen(
        [node, "stats.js", str(folder / "statsd.json")], cwd=STATSD.parent, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(carbon_port, "carbon-cache", log_path)
        wait_for_port(statsd_admin, "StatsD", log_path)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            # One datagram: every node's metrics land in one flush interval.
            sock.sendto("\n".join(ais.packet_lines()).encode(), ("127.0.0.1", statsd_port))
        time.sleep(3.5 * FLUSH_SECONDS)
        yield storage
    finally:
        stop(statsd)
        stop(carbon)
        log.close()


def evaluate(storage: Path, targets: list[str]) -> dict[str, list[tuple[str, list[float | None]]]]:
    result = subprocess.run(
        [sys.executable, str(EVALUATE), "300"],
        input=json.dumps(targets),
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GRAPHITE_STORAGE_DIR": str(storage)},
    )
    assert result.returncode == 0, result.stderr
    return {target: [(name, values) for name, values in series] for target, series in json.loads(result.stdout).items()}


def upper_90(values: list[int]) -> float:
    """StatsD's upper_90: the largest of the lowest 90 % of a flush's timings."""
    ordered = sorted(values)
    return float(ordered[round(0.9 * len(ordered)) - 1])


def daemon(node: str) -> str:
    return node.split(".")[1]


def summed(name: str, nodes: list[str]) -> float:
    return float(sum(ais.COUNTERS[node].get(name, 0) for node in nodes))


TARGETS = [ais.TARGET_1, ais.TARGET_2]
ALL = [*TARGETS, ais.PROXY]


def expected_series() -> dict[str, dict[str, float]]:
    """Per panel, the series the fixture's packets imply and their value (per second, one flush)."""
    by_target = {
        op: {daemon(node): float(ais.COUNTERS[node][name]) for node in TARGETS}
        for op, name in (("GET", "get.count"), ("PUT", "put.count"), ("DELETE", "del.count"))
    }
    latency = {
        op: {node: ais.TIMERS[node][name] for node in nodes}
        for op, name, nodes in (
            ("GET", "get.latency", TARGETS),
            ("PUT", "put.latency", TARGETS),
            ("LIST", "lst.latency", [ais.PROXY]),
        )
    }
    expected = {
        "Requests per second (cluster)": {
            "GET": summed("get.count", TARGETS),
            "PUT": summed("put.count", TARGETS),
            "DELETE": summed("del.count", TARGETS),
            "LIST": summed("lst.count", [ais.PROXY]),
        },
        "GET per second by target": by_target["GET"],
        "PUT per second by target": by_target["PUT"],
        "DELETE per second by target": by_target["DELETE"],
        "LIST per second by proxy": {daemon(ais.PROXY): float(ais.COUNTERS[ais.PROXY]["lst.count"])},
        "GET throughput (cluster)": {"GET": float(sum(ais.GAUGES[node]["get.throughput"] for node in TARGETS))},
        "GET throughput by target": {daemon(node): float(ais.GAUGES[node]["get.throughput"]) for node in TARGETS},
        "Errors per second by operation": {
            "GET": summed("err.get.count", ALL),
            "PUT": summed("err.put.count", ALL),
            "DELETE": summed("err.del.count", ALL),
            "LIST": summed("err.lst.count", ALL),
        },
        "I/O errors per second by target and mountpath": {
            f"{daemon(ais.TARGET_1)}.-ais-sda": float(ais.COUNTERS[ais.TARGET_1]["err.io.-ais-sda.count"])
        },
        "Rebalance traffic (cluster)": {
            "sent": summed("reb.tx.size", TARGETS),
            "received": summed("reb.rx.size", TARGETS),
        },
        "Rebalance objects per second (cluster)": {
            "sent": summed("reb.tx.count", TARGETS),
            "received": summed("reb.rx.count", TARGETS),
        },
        "Targets and proxies reporting": {"targets": 2.0, "proxies": 1.0},
    }
    for op, timings in latency.items():
        expected[f"{op} latency (cluster)"] = {
            "mean": mean(mean(values) for values in timings.values()),
            "90th percentile, slowest node": max(upper_90(values) for values in timings.values()),
        }
        expected[f"{op} latency, 90th percentile by node"] = {
            daemon(node): upper_90(values) for node, values in timings.items()
        }
    return expected


def test_every_panel_of_the_cluster_dashboard_shows_what_the_nodes_sent(graphite: Path) -> None:
    dashboard = cluster_dashboard(SCOPE, external_graphite=False)
    targets = [query.expr for panel in dashboard.panels for query in panel.queries]
    answers = evaluate(graphite, targets)
    expected = expected_series()
    assert sorted(expected) == sorted(panel.title for panel in dashboard.panels)
    for panel in dashboard.panels:
        seen: dict[str, Any] = {}
        for query in panel.queries:
            series = answers[query.expr]
            assert series, f"panel '{panel.title}': {query.expr} matches nothing"
            for name, values in series:
                present = [value for value in values if value is not None]
                assert present, f"panel '{panel.title}': {name} has no value"
                seen[name] = max(present)
        assert seen == pytest.approx(expected[panel.title]), panel.title
