"""The worksheet's rules, value by value: what each accepts, and for what it refuses the
whole message (key, value, what is wrong, what to do), written out from the rule as the
worksheet reference (docs/worksheet.md) states it. test_worksheet.py covers how mistakes are reported
together and before anything is registered."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from aisinfra.chart.rules import load_worksheet
from aisinfra.worksheet.model import Problem, Worksheet, WorksheetError
from tests.conftest import WORKSHEET_EXAMPLE

BASE: dict[str, Any] = {key.removeprefix("aisinfra:"): value for key, value in WORKSHEET_EXAMPLE.items()}
TARGETS, PROXIES, MONITORING = BASE["targets"], BASE["proxies"], BASE["monitoring"]
GRAPHITE, GRAFANA = MONITORING["graphite"], MONITORING["grafana"]
NO_MONITORING = {"enabled": False, "externalGraphite": "graphite.example.com:2003"}


def config(**changes: Any) -> dict[str, Any]:
    edited = copy.deepcopy(BASE)
    edited.update(changes)
    return {key: value for key, value in edited.items() if value is not None}


def loaded(**changes: Any) -> Worksheet:
    return load_worksheet(config(**changes))


def problems(**changes: Any) -> list[str]:
    with pytest.raises(WorksheetError) as raised:
        load_worksheet(config(**changes))
    return [str(problem) for problem in raised.value.problems]


# -- Values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "image",
    [
        "aistore/aisnode:3.4",
        "registry.example.com/ais/aisnode:3.4",
        "Registry.Example.com/ais/aisnode:3.4",  # the registry host is not case-sensitive
        "Registry:5000/ais/aisnode:3.4",
        "localhost/ais/aisnode:v3.4_rc-1",
    ],
)
def test_images_that_the_chart_can_render(image: str) -> None:
    assert loaded(images={"aisnode": image, "initContainer": image}).images.aisnode == image


NO_TAG = "has no tag; write it as repository:tag, e.g. aistore/aisnode:3.4"


@pytest.mark.parametrize(
    ("image", "message"),
    [
        ("aistore/aisnode", f"'aistore/aisnode' {NO_TAG}"),
        (":3.4", f"':3.4' {NO_TAG}"),
        ("registry:5000/aisnode", f"'registry:5000/aisnode' {NO_TAG}"),
        ("aistore/aisnode:3.4+x", f"'aistore/aisnode:3.4+x' {NO_TAG}"),
        (
            "aistore/aisnode@sha256:0123",
            "'aistore/aisnode@sha256:0123': the chart renders images as repository:tag, so digests cannot be used",
        ),
        ("AIStore/aisnode:3.4", "'AIStore/aisnode:3.4': image repository paths are lowercase"),
        ("LOCALHOST/ais:1", "'LOCALHOST/ais:1': image repository paths are lowercase"),
        ("registry.example.com/AIS:1", "'registry.example.com/AIS:1': image repository paths are lowercase"),
    ],
)
def test_images_the_chart_cannot_render(image: str, message: str) -> None:
    assert problems(images={"aisnode": image}) == [f"images.aisnode: {message}"]


@pytest.mark.parametrize("address", ["graphite.example.com:2003", "10.0.0.7:1", "g:65535", "Graphite-1:2003"])
def test_external_graphite_addresses(address: str) -> None:
    monitoring = {"enabled": False, "externalGraphite": address}
    assert loaded(monitoring=monitoring).monitoring.external_graphite == address


@pytest.mark.parametrize("address", ["graphite", "graphite:0", "graphite:65536", ":2003", "-g:2003", "g:port"])
def test_external_graphite_must_be_host_and_port(address: str) -> None:
    assert problems(monitoring={"enabled": False, "externalGraphite": address}) == [
        f"monitoring.externalGraphite: '{address}' is not host:port, e.g. graphite.example.com:2003"
    ]


# -- How a problem is written ------------------------------------------------------------------


def test_a_problem_is_split_at_its_first_separator() -> None:
    assert Problem.from_text("targets.nodes[0]: bad pattern 'a{': expected '}'") == Problem(
        "targets.nodes[0]", "bad pattern 'a{': expected '}'"
    )
    assert Problem.from_text("no key here") == Problem("", "no key here")
    assert str(Problem("", "no key here")) == "no key here"
    assert str(Problem("releaseName", "too long")) == "releaseName: too long"


# -- Each rule's refusals, whole -------------------------------------------------------------

DNS_LABEL = "use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit"
NODE_NAME = "Kubernetes names are lowercase letters, digits, '-' and '.', starting and ending with a letter or digit"
SECRET_ELSEWHERE = (
    "is stored as a secret, but only grafanaAdminPassword is handled as one; a secret anywhere else would reach "
    "the release values in plain text, so set it without --secret"
)
OWN_FILESYSTEM = "each mountpoint must be a filesystem of its own, not a directory of another"
STATE_OFF_DATA = "lie one inside the other; keep AIStore's state off its data disks"
CLAIM_NEEDS_NAMESPACE = (
    "a claim lives in the cluster's namespace, so that namespace must exist before the release installs; create "
    "both, then set existingNamespace: true"
)
LONG_AIS = "ais" + "x" * 51  # 54 characters, its own fullname
LONG_NODE = "n" * 254
INVISIBLE = "has whitespace or invisible characters around or inside it (a trailing newline?); remove them"
NOT_MINOR = 'is not a Kubernetes minor version such as "1.30": 1. and the minor number, as `kubectl version` shows it'
DIRECTORY_EACH = "give Graphite and Grafana a directory each"
OFF_DATA_DISKS = "keep monitoring data off AIStore's data disks"
LONGEST_DEMO = "demo" + "x" * 37  # its target StatefulSet, <release>-ais-target, has 52 characters
STATEFULSET_LIMIT = (
    "past 52 characters Kubernetes cannot create its pods: their controller-revision-hash label would exceed 63 "
    "characters (kubernetes#64023)"
)

REFUSALS: list[tuple[str, dict[str, Any], frozenset[str], list[str]]] = [
    (
        "release name and namespace",
        {"releaseName": "Demo", "namespace": "kube-ais"},
        frozenset(),
        [
            f"releaseName: 'Demo' is not a DNS label: {DNS_LABEL}",
            "namespace: 'kube-ais' is a namespace Kubernetes uses itself; give the AIStore cluster its own",
        ],
    ),
    (
        "the default namespace",
        {"namespace": "default"},
        frozenset(),
        ["namespace: 'default' is a namespace Kubernetes uses itself; give the AIStore cluster its own"],
    ),
    (
        "a release name over Helm's limit",
        {"releaseName": LONG_AIS},
        frozenset(),
        [
            f"releaseName: '{LONG_AIS}' is longer than Helm's 53-character limit",
            f"releaseName: '{LONG_AIS}' makes the target StatefulSet '{LONG_AIS}-target' (61 characters); "
            f"{STATEFULSET_LIMIT}: shorten the release name by 9 characters",
        ],
    ),
    (
        "a release name one character too long for the target StatefulSet",
        {"releaseName": LONGEST_DEMO + "x"},
        frozenset(),
        [
            f"releaseName: '{LONGEST_DEMO}x' makes the target StatefulSet '{LONGEST_DEMO}x-ais-target' (53 "
            f"characters); {STATEFULSET_LIMIT}: shorten the release name by 1 character",
        ],
    ),
    (
        "text with invisible characters",
        {"releaseName": "demo\n", "kubernetesVersion": " 1.29"},
        frozenset(),
        [
            f"releaseName: 'demo\\n' {INVISIBLE}",
            f"kubernetesVersion: ' 1.29' {INVISIBLE}",
        ],
    ),
    (
        "Kubernetes versions",
        {"kubernetesVersion": "1.9"},
        frozenset(),
        [f"kubernetesVersion: '1.9' {NOT_MINOR}"],
    ),
    (
        "a Kubernetes version with a v",
        {"kubernetesVersion": "v1.29"},
        frozenset(),
        [f"kubernetesVersion: 'v1.29' {NOT_MINOR}"],
    ),
    (
        "booleans",
        {"protect": "yes", "existingNamespace": 1},
        frozenset(),
        [
            "existingNamespace: must be true or false, not the number 1",
            "protect: must be true or false, not the text 'yes' (YAML's yes/no/on/off are text to the Pulumi CLI)",
        ],
    ),
    (
        "a chart repository and name",
        {"chart": {"repo": "charts.example.com", "name": "ais/x", "version": "0.1.0"}},
        frozenset(),
        [
            "chart.repo: 'charts.example.com' is not a chart repository URL such as https://charts.example.com",
            "chart.name: 'ais/x' is not a chart name: letters, digits, '.', '_' and '-'",
        ],
    ),
    (
        "a pattern for too many nodes",
        {"targets": {**TARGETS, "nodes": ["n{1..20001}"]}},
        frozenset(),
        [
            "targets.nodes[0]: bad pattern 'n{1..20001}': range {1..20001} stands for 20001 names; at most 20000 are "
            "supported"
        ],
    ),
    (
        "a list too long with a bad pattern after the range",
        {"targets": {**TARGETS, "nodes": ["m{1..20000}", "n{1..9999"]}},
        frozenset(),
        ["targets.nodes: the list stands for 20001 entries; at most 20000 are supported"],
    ),
    (
        "an entry that is no text in a list at the limit, counted once",
        {"targets": {**TARGETS, "nodes": ["n{1..19999}", 5]}},
        frozenset(),
        ["targets.nodes[1]: must be text, not the number 5; quote the value"],
    ),
    (
        "lists for too many nodes and mountpoints",
        {"targets": {**TARGETS, "nodes": ["n{1..9999", "m{1..20000}"], "mountpoints": ["/m{1..1001}"]}},
        frozenset(),
        [
            "targets.nodes: the list stands for 20001 entries; at most 20000 are supported",
            "targets.mountpoints: the list stands for 1001 entries; at most 1000 are supported",
        ],
    ),
    (
        "one claim for Graphite and Grafana",
        {
            "monitoring": {"graphite": {"existingClaim": "a"}, "grafana": {"existingClaim": "a"}},
            "existingNamespace": True,
        },
        frozenset(),
        [
            "monitoring.grafana.existingClaim: 'a' is also monitoring.graphite.existingClaim; Graphite and Grafana "
            "would write into one volume: give each a claim of its own"
        ],
    ),
    (
        "one directory for Graphite and Grafana",
        {"monitoring": {"graphite": GRAPHITE, "grafana": {**GRAFANA, "path": "/data/graphite"}}},
        frozenset(),
        [
            "monitoring.grafana.path: '/data/graphite' on node 'cpu01' is the same directory as monitoring.graphite"
            f".path '/data/graphite'; {DIRECTORY_EACH}"
        ],
    ),
    (
        "Grafana inside Graphite's directory",
        {"monitoring": {"graphite": GRAPHITE, "grafana": {**GRAFANA, "path": "/data/graphite/g"}}},
        frozenset(),
        [
            "monitoring.grafana.path: '/data/graphite/g' on node 'cpu01' lies inside monitoring.graphite.path "
            f"'/data/graphite'; {DIRECTORY_EACH}"
        ],
    ),
    (
        "monitoring on the data disks",
        {"monitoring": {"graphite": {**GRAPHITE, "path": "/ais/sda"}, "grafana": {**GRAFANA, "path": "/ais/sdb/g"}}},
        frozenset(),
        [
            f"monitoring.graphite.path: '/ais/sda' on node 'cpu01' is the same directory as the target mountpoint "
            f"'/ais/sda' of that node (a target node); {OFF_DATA_DISKS}",
            f"monitoring.grafana.path: '/ais/sdb/g' on node 'cpu01' lies inside the target mountpoint '/ais/sdb' of "
            f"that node (a target node); {OFF_DATA_DISKS}",
        ],
    ),
    (
        "monitoring around the data disks",
        {"monitoring": {"graphite": {**GRAPHITE, "path": "/ais"}, "grafana": GRAFANA}},
        frozenset(),
        [
            "monitoring.graphite.path: '/ais' on node 'cpu01' contains the target mountpoint '/ais/sda' of that "
            f"node (a target node); {OFF_DATA_DISKS}"
        ],
    ),
    (
        "monitoring on a proxy-only node inside the state path",
        {
            "proxies": {"nodes": ["cpu{01..12}", "px01"], "initialPrimary": "cpu01"},
            "monitoring": {"graphite": {**GRAPHITE, "node": "px01", "path": "/etc/ais/g"}, "grafana": GRAFANA},
        },
        frozenset(),
        [
            "monitoring.graphite.path: '/etc/ais/g' on node 'px01' lies inside statePath '/etc/ais', where AIStore "
            "keeps its state on that node; choose a directory outside it"
        ],
    ),
    (
        "Grafana on a data disk beside a Graphite claim",
        {
            "monitoring": {"graphite": {"existingClaim": "g"}, "grafana": {**GRAFANA, "path": "/ais/sdb"}},
            "existingNamespace": True,
        },
        frozenset(),
        [
            "monitoring.grafana.path: '/ais/sdb' on node 'cpu01' is the same directory as the target mountpoint "
            f"'/ais/sdb' of that node (a target node); {OFF_DATA_DISKS}"
        ],
    ),
    (
        "monitoring in and around the state path",
        {
            "statePath": "/srv/ais",
            "monitoring": {"graphite": {**GRAPHITE, "path": "/srv/ais/g"}, "grafana": {**GRAFANA, "path": "/srv"}},
        },
        frozenset(),
        [
            "monitoring.grafana.path: '/srv' on node 'cpu01' contains monitoring.graphite.path '/srv/ais/g'; "
            f"{DIRECTORY_EACH}",
            "monitoring.graphite.path: '/srv/ais/g' on node 'cpu01' lies inside statePath '/srv/ais', where AIStore "
            "keeps its state on that node; choose a directory outside it",
            "monitoring.grafana.path: '/srv' on node 'cpu01' contains statePath '/srv/ais', where AIStore keeps its "
            "state on that node; choose a directory outside it",
        ],
    ),
    (
        "a mountpoint inside another listed after an unrelated one",
        {"targets": {**TARGETS, "mountpoints": ["/b", "/a", "/a/x"]}},
        frozenset(),
        [f"targets.mountpoints[2]: '/a/x' is inside '/a' (targets.mountpoints[1]); {OWN_FILESYSTEM}"],
    ),
    (
        "a repeat and a nested mountpoint from one pattern",
        {"targets": {**TARGETS, "mountpoints": ["/ais/sda", "/ais/{sda,sda/x}"]}},
        frozenset(),
        [
            "targets.mountpoints[1]: '/ais/sda' (from '/ais/{sda,sda/x}') is already listed at "
            "targets.mountpoints[0]; list each entry once",
            f"targets.mountpoints[1]: '/ais/sda/x' is inside '/ais/sda' (targets.mountpoints[0]); {OWN_FILESYSTEM}",
        ],
    ),
    (
        "an image path in capitals behind a registry",
        {"images": {"aisnode": "registry.example.com/AIS/aisnode:1"}},
        frozenset(),
        ["images.aisnode: 'registry.example.com/AIS/aisnode:1': image repository paths are lowercase"],
    ),
    (
        "a monitoring volume acknowledgement that is not the worksheet's",
        {"identityChange": {"graphite": "cpu02:/data/graphite:250Gi", "grafana": "cpu01:/data/grafana:50Gi"}},
        frozenset(),
        [
            "identityChange.graphite: acknowledges 'cpu02:/data/graphite:250Gi', but the worksheet's value is "
            "'cpu01:/data/graphite:250Gi'; remove it once its change is deployed, so that it cannot let a later one "
            "through"
        ],
    ),
    (
        "YAML 1.1 booleans",
        {"protect": "no"},
        frozenset(),
        ["protect: must be true or false, not the text 'no' (YAML's yes/no/on/off are text to the Pulumi CLI)"],
    ),
    (
        "a mountpoint inside another from the same pattern",
        {"targets": {**TARGETS, "mountpoints": ["/ais/{sda,sda/x}"]}},
        frozenset(),
        [f"targets.mountpoints[0]: '/ais/sda/x' is inside '/ais/sda' (targets.mountpoints[0]); {OWN_FILESYSTEM}"],
    ),
    (
        "a relative state path",
        {"statePath": "etc/ais"},
        frozenset(),
        ["statePath: 'etc/ais' is not an absolute path; write it from '/'"],
    ),
    (
        "a state path with a trailing slash",
        {"statePath": "/etc/ais/"},
        frozenset(),
        ["statePath: '/etc/ais/' is not a normalized path below '/'; write '/etc/ais'"],
    ),
    ("the root as state path", {"statePath": "/"}, frozenset(), ["statePath: '/' is not a normalized path below '/'"]),
    (
        "a state path written from '//'",
        # POSIX keeps a leading '//' through normalization: it would be a second spelling of a path.
        {"statePath": "///X11/ais"},
        frozenset(),
        ["statePath: '///X11/ais' starts with '//'; write '/X11/ais'"],
    ),
    (
        "a host path with a character outside the safe set",
        {"statePath": "/etc/ais$x"},
        frozenset(),
        ["statePath: '/etc/ais$x': use only letters, digits, '.', '_', '-' and '/' in host paths"],
    ),
    (
        "a printable value is shown as written",
        {"statePath": "/etc/a\\b "},
        frozenset(),
        [f"statePath: '/etc/a\\b ' {INVISIBLE}"],
    ),
    (
        "image references that are no image reference",
        {"images": {"aisnode": "aistore//aisnode:3.4", "initContainer": "registry..example.com/ais:1"}},
        frozenset(),
        [
            f"images.{key}: '{image}' is not an image reference: write [registry/]path:tag with lowercase letters, "
            "digits and single '.', '_' or '-' between them, e.g. aistore/aisnode:3.4"
            for key, image in (("initContainer", "registry..example.com/ais:1"), ("aisnode", "aistore//aisnode:3.4"))
        ],
    ),
    (
        "a mountpoint two levels inside another",
        {"targets": {**TARGETS, "mountpoints": ["/a", "/a/b/c"]}},
        frozenset(),
        [f"targets.mountpoints[1]: '/a/b/c' is inside '/a' (targets.mountpoints[0]); {OWN_FILESYSTEM}"],
    ),
    (
        "mountpoint patterns",
        {"targets": {**TARGETS, "mountpoints": ["/ais/sd[a-b]/", "/ais/sd[a-"]}},
        frozenset(),
        [
            "targets.mountpoints[0]: the mountpoint '/ais/sda/' from pattern '/ais/sd[a-b]/': '/ais/sda/' is not a "
            "normalized path below '/'; write '/ais/sda'",
            "targets.mountpoints[1]: bad pattern '/ais/sd[a-': '[' at position 8 is never closed by ']'",
        ],
    ),
    (
        "node names",
        {"targets": {**TARGETS, "nodes": ["CPU{1..2}", LONG_NODE]}},
        frozenset(),
        [
            "targets.nodes[0]: the node name 'CPU1' from pattern 'CPU{1..2}': "
            f"'CPU1' is not a valid node name: {NODE_NAME}",
            f"targets.nodes[1]: '{LONG_NODE}' is not a valid node name: {NODE_NAME}",
        ],
    ),
    (
        "sizes in bytes",
        {"monitoring": {"graphite": {**GRAPHITE, "size": "250GB"}, "grafana": {**GRAFANA, "size": "50gb"}}},
        frozenset(),
        [
            "monitoring.graphite.size: '250GB' is not a Kubernetes quantity such as 250Gi; did you mean '250Gi'?",
            "monitoring.grafana.size: '50gb' is not a Kubernetes quantity such as 250Gi; did you mean '50Gi'?",
        ],
    ),
    (
        "sizes that are no size",
        {"monitoring": {"graphite": {**GRAPHITE, "size": "lots"}, "grafana": {**GRAFANA, "size": "0Gi"}}},
        frozenset(),
        [
            "monitoring.graphite.size: 'lots' is not a Kubernetes quantity such as 250Gi",
            "monitoring.grafana.size: '0Gi' must be larger than zero",
        ],
    ),
    (
        "a chart version range",
        {"chart": {"repo": "https://charts.example.com", "name": "ais", "version": "0.1"}},
        frozenset(),
        ["chart.version: '0.1' is not a pinned chart version; give one exact version such as 0.1.0"],
    ),
    (
        "acknowledgements of what is still there",
        {"targets": {**TARGETS, "decommissioned": ["gpu01", "cpu03"], "removedMountpoints": ["/x", "/ais/sdb"]}},
        frozenset(),
        [
            "targets.decommissioned[1]: 'cpu03' is still listed in targets.nodes; a decommissioned node cannot "
            "also be a target",
            "targets.removedMountpoints[1]: '/ais/sdb' is still listed in targets.mountpoints",
        ],
    ),
    (
        "a scaleInTo that is not the count",
        {"targets": {**TARGETS, "scaleInTo": 11}},
        frozenset(),
        [
            "targets.scaleInTo: acknowledges a target count of 11, but the worksheet's count is 12; remove it once "
            "its scale-in is done, so that it cannot let a later one through"
        ],
    ),
    (
        "the state path inside a mountpoint",
        {"statePath": "/ais/sda/state"},
        frozenset(),
        [f"targets.mountpoints: '/ais/sda' and statePath '/ais/sda/state' {STATE_OFF_DATA}"],
    ),
    (
        "the state path on a mountpoint",
        {"statePath": "/ais/sdc"},
        frozenset(),
        [f"targets.mountpoints: '/ais/sdc' and statePath '/ais/sdc' {STATE_OFF_DATA}"],
    ),
    (
        "a count over the nodes",
        {"targets": {**TARGETS, "initialCount": 13}},
        frozenset(),
        [
            "targets.initialCount: 13 is more than the 12 target nodes listed in targets.nodes; lower it or add "
            "nodes (0 means all)"
        ],
    ),
    (
        "a node listed twice",
        {
            "targets": {**TARGETS, "nodes": ["cpu03", "cpu{01..04}"], "initialCount": 4},
            "proxies": {"nodes": ["a", "a"]},
        },
        frozenset(),
        [
            "targets.nodes[1]: 'cpu03' (from 'cpu{01..04}') is already listed at targets.nodes[0]; "
            "list each entry once",
            "proxies.nodes[1]: 'a' is already listed at proxies.nodes[0]; list each entry once",
        ],
    ),
    (
        "mountpoints repeated and nested",
        {"targets": {**TARGETS, "mountpoints": ["/ais/sda", "/ais/sda", "/ais/sda/x", "/ais"]}},
        frozenset(),
        [
            "targets.mountpoints[1]: '/ais/sda' is already listed at targets.mountpoints[0]; list each entry once",
            f"targets.mountpoints[3]: '/ais' contains '/ais/sda' (targets.mountpoints[0]); {OWN_FILESYSTEM}",
            f"targets.mountpoints[2]: '/ais/sda/x' is inside '/ais/sda' (targets.mountpoints[0]); {OWN_FILESYSTEM}",
            f"targets.mountpoints[3]: '/ais' contains '/ais/sda/x' (targets.mountpoints[2]); {OWN_FILESYSTEM}",
        ],
    ),
    (
        "an initial primary that is no proxy",
        {"proxies": {**PROXIES, "initialPrimary": "gpu01"}},
        frozenset(),
        ["proxies.initialPrimary: 'gpu01' is not one of proxies.nodes; the initial primary must be a proxy node"],
    ),
    (
        "secrets where none belong",
        {},
        frozenset({"targets", "chart", "grafanaAdminPassword"}),
        [f"chart: {SECRET_ELSEWHERE}", f"targets: {SECRET_ELSEWHERE}"],
    ),
    (
        "a password in plain text",
        {"grafanaAdminPassword": "x"},
        frozenset(),
        [
            "grafanaAdminPassword: is stored in plain text; remove it and set it with `pulumi config set --secret "
            "grafanaAdminPassword`"
        ],
    ),
    (
        "monitoring without its storage",
        {"monitoring": {"grafana": GRAFANA}},
        frozenset(),
        [
            "monitoring.graphite: required while monitoring.enabled is true; give {node, path, size} for a volume "
            "on a node, or {existingClaim: NAME}"
        ],
    ),
    (
        "monitoring without Prometheus, and an external Graphite beside it",
        {"monitoring": {**MONITORING, "prometheus": False, "externalGraphite": "g:1"}},
        frozenset(),
        [
            "monitoring.prometheus: the chart installs Prometheus whenever monitoring.enabled is true (Helm enables "
            "a subchart when any of its tags is true); remove this key or set monitoring.enabled to false",
            "monitoring.externalGraphite: only used when monitoring.enabled is false; remove it or disable the "
            "built-in monitoring",
        ],
    ),
    (
        "existing claims in a namespace the program creates",
        {"monitoring": {"graphite": {"existingClaim": "a"}, "grafana": {"existingClaim": "b"}}},
        frozenset(),
        [
            f"monitoring.graphite.existingClaim: {CLAIM_NEEDS_NAMESPACE}",
            f"monitoring.grafana.existingClaim: {CLAIM_NEEDS_NAMESPACE}",
        ],
    ),
    (
        "built-in monitoring's keys while it is off",
        {"monitoring": {"enabled": False, "graphite": GRAPHITE, "grafana": GRAFANA}, "grafanaAdminPassword": "x"},
        frozenset({"grafanaAdminPassword"}),
        [
            "monitoring.graphite: storage for the built-in monitoring, which is disabled; remove it or set "
            "monitoring.enabled to true",
            "monitoring.grafana: storage for the built-in monitoring, which is disabled; remove it or set "
            "monitoring.enabled to true",
            "monitoring.externalGraphite: required while monitoring.enabled is false: the host:port of the Graphite "
            "that receives AIStore's stats",
            "grafanaAdminPassword: Grafana is only installed while monitoring.enabled is true; remove the key or "
            "enable monitoring",
        ],
    ),
    (
        # Linux's PATH_MAX is 4096 with the NUL; the chart appends '/<release>/proxy_env' (1 + 53 + 10).
        "a state path the kernel cannot open with the chart's directories below it",
        {"statePath": "/s/" + "a" * 200 + ("/" + "b" * 200) * 19 + "/" + "c" * 17},  # 4040 characters
        frozenset(),
        [
            "statePath: '/s/" + "a" * 37 + "...' is 4040 characters long; a path is at most 4095, and the chart "
            "appends up to 64 characters below it"
        ],
    ),
    (
        "a monitoring path over PATH_MAX",
        {"monitoring": {**MONITORING, "grafana": {**MONITORING["grafana"], "path": ("/" + "g" * 200) * 21}}},
        frozenset(),
        [
            "monitoring.grafana.path: '/" + "g" * 39 + "...' is 4221 characters long; a path is at most 4095",
        ],
    ),
    (
        # NAME_MAX: 255 bytes per name.
        "a state path with a name longer than a filesystem allows",
        {"statePath": "/var/" + "d" * 256},
        frozenset(),
        ["statePath: '/var/" + "d" * 35 + "...' has a name of 256 characters; a name in a path is at most 255"],
    ),
    (
        "a path exactly PATH_MAX long: the chart's directories would not fit below it",
        {"statePath": ("/" + "p" * 90) * 44 + "/" + "q" * 27},  # 4095 - 64 + 1 = 4032 characters
        frozenset(),
        [
            "statePath: '/" + "p" * 39 + "...' is 4032 characters long; a path is at most 4095, and the chart appends "
            "up to 64 characters below it"
        ],
    ),
    (
        "the host's own trees and directories, each with why",
        {
            "statePath": "/var/lib/kubelet/ais",
            "targets": {**TARGETS, "mountpoints": ["/dev/sdb", "/sys"]},
            "monitoring": {
                "graphite": {**GRAPHITE, "path": "/root"},
                "grafana": {**GRAFANA, "path": "/var/log/grafana"},
            },
        },
        frozenset(),
        [
            "statePath: '/var/lib/kubelet/ais' lies in /var/lib/kubelet, the kubelet's pods, volumes and plugins; give "
            "AIStore a directory of its own (e.g. under /var/lib or on a data disk)",
            "targets.mountpoints[0]: '/dev/sdb' lies in /dev, the node's device files; give AIStore a directory of its "
            "own (e.g. under /var/lib or on a data disk)",
            "targets.mountpoints[1]: '/sys' is the kernel's device and driver filesystem; give AIStore a directory of "
            "its own (e.g. under /var/lib or on a data disk)",
            "monitoring.graphite.path: '/root' is the administrator's home directory; give AIStore a directory of its "
            "own (e.g. under /var/lib or on a data disk)",
            "monitoring.grafana.path: '/var/log/grafana' lies in /var/log, the node's and the pods' logs; give AIStore "
            "a directory of its own (e.g. under /var/lib or on a data disk)",
        ],
    ),
    (
        "booleans inside objects written as text",
        {
            "preflight": {"enabled": "false"},
            "proxies": {**PROXIES, "initialPrimaryLabel": "True"},
            "monitoring": {**MONITORING, "enabled": "on"},
        },
        frozenset(),
        [
            "proxies.initialPrimaryLabel: must be true or false, not the text 'True' (write true without quotes: "
            "inside an object, quoted it is text)",
            "monitoring.enabled: must be true or false, not the text 'on' (YAML's yes/no/on/off are text to the "
            "Pulumi CLI)",
            "preflight.enabled: must be true or false, not the text 'false' (write false without quotes: inside an "
            "object, quoted it is text)",
        ],
    ),
    (
        "a URL as chart.path",
        {"chart": {"path": "https://example.com/ais.tgz"}},
        frozenset(),
        [
            "chart.path: 'https://example.com/ais.tgz' is a URL, but chart.path is a directory here (a checkout of "
            "ais-k8s helm/ais/charts); for a chart in a repository give chart.repo, chart.name and chart.version, for "
            "an archive untar it and give its directory"
        ],
    ),
    (
        "a monitoring node that is no node name",
        {"monitoring": {**MONITORING, "graphite": {**GRAPHITE, "node": "Bad_Node"}}},
        frozenset(),
        [
            "monitoring.graphite.node: 'Bad_Node' is not a valid node name: Kubernetes names are lowercase letters, "
            "digits, '-' and '.', starting and ending with a letter or digit"
        ],
    ),
    (
        "the Graphite claim mounted into Grafana through chart.values",
        {
            "chart": {
                "path": "./charts",
                "values": {"grafana": {"extraVolumeMounts": [{"existingClaim": "demo-ais-graphite"}]}},
            }
        },
        frozenset(),
        [
            "chart.values.grafana.extraVolumeMounts[0].existingClaim: 'demo-ais-graphite' is monitoring.graphite's "
            "claim; a second service would write into graphite's volume: give it a claim of its own"
        ],
    ),
    (
        "a monitoring node one character over a label value",
        {"monitoring": {**MONITORING, "graphite": {**GRAPHITE, "node": "n" * 64}}},
        frozenset(),
        [
            f"monitoring.graphite.node: '{'n' * 64}' is 64 characters; the volume is pinned to the node's "
            "kubernetes.io/hostname label, and a label value is at most 63: give the node's hostname label instead"
        ],
    ),
]


@pytest.mark.parametrize(
    ("changes", "secret_keys", "expected"), [case[1:] for case in REFUSALS], ids=[case[0] for case in REFUSALS]
)
def test_each_rule_refuses_with_its_whole_message(
    changes: dict[str, Any], secret_keys: frozenset[str], expected: list[str]
) -> None:
    with pytest.raises(WorksheetError) as raised:
        load_worksheet(config(**changes), secret_keys)
    assert [str(problem) for problem in raised.value.problems] == expected


ACCEPTED: list[tuple[str, dict[str, Any], frozenset[str]]] = [
    ("a release name whose StatefulSets fit", {"releaseName": LONGEST_DEMO}, frozenset()),
    ("a state path beside the mountpoints", {"statePath": "/ais/sd"}, frozenset()),
    ("a state path sharing a mountpoint's prefix", {"statePath": "/ais/sdab"}, frozenset()),
    ("mountpoints sharing a prefix", {"targets": {**TARGETS, "mountpoints": ["/ais/sd", "/ais/sda"]}}, frozenset()),
    ("Kubernetes 1.29", {"kubernetesVersion": "1.29"}, frozenset()),
    ("booleans as the CLI writes them", {"protect": "True", "existingNamespace": "false"}, frozenset()),
    (
        "directories beside the host's own, or below /etc and /var/lib",
        {
            "statePath": "/etc/ais",
            "targets": {**TARGETS, "mountpoints": ["/proc2", "/devices/a", "/var/lib/ais/sd"]},
            "monitoring": {
                "graphite": {**GRAPHITE, "path": "/var/lib/graphite"},
                "grafana": {**GRAFANA, "node": "n" * 63},
            },
        },
        frozenset(),
    ),
    ("a state path with a name of NAME_MAX, 255 characters", {"statePath": "/var/" + "d" * 255}, frozenset()),
    (
        "a state path as long as the chart's directories allow (4031 characters)",
        {"statePath": "/" + "s" * 200 + ("/" + "t" * 200) * 19 + "/" + "u" * 10},
        frozenset(),
    ),
    (
        "an OCI chart repository and a name with every allowed character",
        {"chart": {"repo": "oci://registry.example.com/charts", "name": "a_i.s-1", "version": "0.1.0"}},
        frozenset(),
    ),
    (
        "lists of exactly as many nodes as supported",
        {"targets": {**TARGETS, "nodes": ["n{1..10000}", "m{1..10000}"]}, "proxies": {"nodes": ["n1"]}},
        frozenset(),
    ),
    (
        "monitoring apart on one node",
        {"monitoring": {"graphite": GRAPHITE, "grafana": {**GRAFANA, "path": "/data/graphite-old"}}},
        frozenset(),
    ),
    (
        "Graphite and Grafana in one path on two nodes",
        {"monitoring": {"graphite": GRAPHITE, "grafana": {**GRAFANA, "node": "cpu02", "path": "/data/graphite"}}},
        frozenset(),
    ),
    (
        "monitoring on another node in a path a target node uses",
        {"monitoring": {"graphite": {**GRAPHITE, "node": "gpu01", "path": "/ais/sda"}, "grafana": GRAFANA}},
        frozenset(),
    ),
    ("a count of every node", {"targets": {**TARGETS, "initialCount": 12}}, frozenset()),
    ("a scaleInTo that is the count", {"targets": {**TARGETS, "initialCount": 10, "scaleInTo": 10}}, frozenset()),
    ("an initial primary among the proxies", {"proxies": {**PROXIES, "initialPrimary": "cpu12"}}, frozenset()),
    ("a password set as a secret", {"grafanaAdminPassword": "x"}, frozenset({"grafanaAdminPassword"})),
    ("Prometheus named as on", {"monitoring": {**MONITORING, "prometheus": True}}, frozenset()),
    (
        "existing claims in an existing namespace",
        {
            "monitoring": {"graphite": {"existingClaim": "a"}, "grafana": {"existingClaim": "b"}},
            "existingNamespace": True,
        },
        frozenset(),
    ),
    ("external monitoring", {"monitoring": NO_MONITORING}, frozenset()),
    (
        "sizes below one unit and without a unit",
        {"monitoring": {"graphite": {**GRAPHITE, "size": "0.5Gi"}, "grafana": {**GRAFANA, "size": "1"}}},
        frozenset(),
    ),
    (
        "pinned chart versions",
        {"chart": {"repo": "https://charts.example.com", "name": "ais", "version": "v0.1.0-rc.1"}},
        frozenset(),
    ),
    (
        "node names of 253 characters",
        {"targets": {**TARGETS, "nodes": ["n" * 253]}, "proxies": {"nodes": ["n" * 253]}},
        frozenset(),
    ),
]


@pytest.mark.parametrize(
    ("changes", "secret_keys"), [case[1:] for case in ACCEPTED], ids=[case[0] for case in ACCEPTED]
)
def test_what_each_rule_accepts(changes: dict[str, Any], secret_keys: frozenset[str]) -> None:
    assert isinstance(load_worksheet(config(**changes), secret_keys), Worksheet)


@pytest.mark.parametrize(
    ("written", "value"),
    [("true", True), ("True", True), ("false", False), ("False", False), (True, True), (False, False)],
)
def test_booleans_mean_what_they_say(written: Any, value: bool) -> None:
    """`protect` and `existingNamespace` decide what is kept and what is deleted."""
    worksheet = loaded(protect=written, existingNamespace=written)
    assert (worksheet.protect, worksheet.existing_namespace) == (value, value)


@pytest.mark.parametrize("written", ["yes", "No", "on", "OFF", "y", "N"])
def test_yaml_11_booleans_are_refused_with_a_hint(written: str) -> None:
    assert problems(protect=written) == [
        f"protect: must be true or false, not the text '{written}' (YAML's yes/no/on/off are text to the Pulumi CLI)"
    ]


def test_a_release_name_at_helms_limit_is_judged_by_the_chart_only() -> None:
    at_limit = "ais" + "x" * 50  # 53 characters: Helm's limit; its target StatefulSet is 60
    assert problems(releaseName=at_limit) == [
        f"releaseName: '{at_limit}' makes the target StatefulSet '{at_limit}-target' (60 characters); past 52 "
        "characters Kubernetes cannot create its pods: their controller-revision-hash label would exceed 63 "
        "characters (kubernetes#64023): shorten the release name by 8 characters"
    ]


def nested(levels: int, inner: str = "{}", wrap: str = '{{"a": {}}}') -> str:
    """JSON text ``levels`` containers deep, as the CLI hands an object over."""
    text = inner
    for _ in range(levels - 1):
        text = wrap.format(text)
    return text


@pytest.mark.parametrize(
    "values",
    [
        nested(3000),  # past Python's recursion limit: json itself cannot decode it
        nested(100),  # with chart itself, 101 levels
        nested(100, "[]", "[{}]"),  # lists count as levels too
    ],
    ids=["3000 levels", "101 levels", "101 levels of lists"],
)
def test_config_nested_past_the_bound_is_refused_naming_the_key(values: str) -> None:
    """Under `pulumi up` the CLI read the stack file, not the stack reader: the program holds the
    JSON it is handed to the same bound, with the same words, instead of a RecursionError."""
    with pytest.raises(WorksheetError) as raised:
        load_worksheet({"releaseName": "demo", "chart": '{"path": "./charts", "values": ' + values + "}"})
    assert [str(problem) for problem in raised.value.problems] == ["chart: nested more than 100 levels deep"]


def test_config_nested_up_to_the_bound_is_read() -> None:
    # chart (1) holds values (2), which holds 98 more levels: 100 in all.
    chart = '{"path": "./charts", "values": ' + nested(99) + "}"
    worksheet = load_worksheet({**config(), "chart": chart})
    assert worksheet.chart.path == "./charts"


# -- Text in messages ------------------------------------------------------------------------


def test_a_message_shows_each_invisible_character_as_its_escape_and_leaves_the_rest() -> None:
    assert str(Problem("statePath", "plain text, é and ü")) == "statePath: plain text, é and ü"
    assert str(Problem("a\u202eb", "c\nd\x1b[31me\ufeff")) == "a\\u202eb: c\\nd\\x1b[31me\\ufeff"
    # A printable character stays itself, a backslash too: only the invisible ones are escaped.
    assert str(Problem("statePath", "C:\\ais\t'x'")) == "statePath: C:\\ais\\t'x'"


def test_a_value_with_an_invisible_character_is_quoted_escaped() -> None:
    """Quoted as Python writes a string: in double quotes when it holds a single one, so that
    the quote does not end it."""
    assert problems(namespace="ais\u200b") == [
        "namespace: 'ais\\u200b' has whitespace or invisible characters around or inside it (a trailing newline?); "
        "remove them"
    ]
    assert problems(namespace="a'b\u200b") == [
        'namespace: "a\'b\\u200b" has whitespace or invisible characters around or inside it (a trailing '
        "newline?); remove them"
    ]


# -- chart.path within the kernel's limits ---------------------------------------------------


def test_a_chart_path_at_the_kernels_limits_is_accepted() -> None:
    name = "n" * 255  # NAME_MAX bytes
    path = "/" + "/".join([name] * 15) + "/" + "é" * 95  # 15 * 256 + 1 + 190 bytes = 4031, under PATH_MAX
    assert loaded(chart={"path": "/charts/" + name}).chart.path == "/charts/" + name
    assert loaded(chart={"path": path}).chart.path == path
    exactly = "/" + "x" * 254 + ("/" + "y" * 255) * 15  # 255 + 15 * 256 = 4095 bytes
    assert len(exactly.encode()) == 4095
    assert loaded(chart={"path": exactly}).chart.path == exactly


def test_a_chart_path_over_the_kernels_limits_is_refused_naming_its_size() -> None:
    too_long = "/" + "x" * 255 + ("/" + "y" * 255) * 15  # 4096 bytes
    assert problems(chart={"path": too_long}) == [
        f"chart.path: '/{'x' * 39}...' is 4096 bytes long; a path is at most 4095"
    ]
    long_name = "/charts/" + "é" * 128  # 256 bytes in one name
    assert problems(chart={"path": long_name}) == [
        f"chart.path: '/charts/{'é' * 32}...' has a name of 256 bytes; a name in a path is at most 255"
    ]
