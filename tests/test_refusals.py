"""Hostile and edge-case worksheets, class by class (issue 9): each is refused by every command
that reads the stack (render, labels, check) with exit 1, a message naming the key as written,
no Python traceback, and nothing registered under the mock runtime."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.cli import main
from aisinfra.review import render
from aisinfra.worksheet.stackfile import read_stack
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

TARGETS = WORKSHEET_EXAMPLE["aisinfra:targets"]
PROXIES = WORKSHEET_EXAMPLE["aisinfra:proxies"]
GRAPHITE = {"node": "cpu01", "path": "/data/graphite", "size": "250Gi"}
GRAFANA = {"node": "cpu01", "path": "/data/grafana", "size": "50Gi"}


def monitoring(graphite: dict[str, Any] = GRAPHITE, grafana: dict[str, Any] = GRAFANA) -> dict[str, Any]:
    return {"enabled": True, "graphite": graphite, "grafana": grafana}


def chart_values(values: Any) -> dict[str, Any]:
    return worksheet(chart={"path": "../ais-k8s/helm/ais/charts", "values": values})


def as_text(config: dict[str, Any]) -> str:
    return yaml.safe_dump({"config": config}, sort_keys=False)


def example_text(extra: str = "", replace: tuple[str, str] = ("", "")) -> str:
    """The example worksheet's stack file text, with a line replaced or lines added."""
    return as_text(WORKSHEET_EXAMPLE).replace(*replace) + extra


# chart.values as a list inside a list ... 3000 deep: Python's recursion gave out at about 330.
DEEP_CHART_VALUES = "    path: ../ais-k8s/helm/ais/charts\n    values: " + "[" * 3000 + "]" * 3000 + "\n"
# Ten times ten times ... : 10**9 values from nine short lines.
ALIAS_BOMB = "  kubernetes:bomb:\n    a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"    a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 10)}]\n" for level in range(1, 9)
)
# Each anchor is 30 levels deep as written and holds the one before: over 120 levels once expanded.
DEEP_ALIASES = "  kubernetes:deep:\n" + "".join(
    f"    d{level}: &d{level} {'[' * 30}{f'*d{level - 1}' if level else 'x'}{']' * 30}\n" for level in range(4)
)


# (class, case, stack file text, what the message must contain: the key as written first)
CASES: list[tuple[str, str, str, list[str]]] = [
    # -- monitoring storage collides with data
    *[
        ("monitoring collides with data", case, as_text(worksheet(monitoring=config)), expected)
        for case, config, expected in [
            (
                "graphite and grafana in one directory",
                monitoring(grafana={**GRAFANA, "path": "/data/graphite"}),
                ["monitoring.grafana.path: '/data/graphite' on node 'cpu01' is the same directory as"],
            ),
            (
                "grafana inside graphite's directory",
                monitoring(grafana={**GRAFANA, "path": "/data/graphite/grafana"}),
                ["monitoring.grafana.path: '/data/graphite/grafana' on node 'cpu01' lies inside"],
            ),
            (
                "graphite on a target's disk",
                monitoring(graphite={**GRAPHITE, "path": "/ais/sdc"}),
                ["monitoring.graphite.path: '/ais/sdc' on node 'cpu01' is the same directory as the target mountpoint"],
            ),
            (
                "grafana inside a target's disk",
                monitoring(grafana={**GRAFANA, "node": "cpu07", "path": "/ais/sdj/grafana"}),
                ["monitoring.grafana.path: '/ais/sdj/grafana' on node 'cpu07' lies inside the target mountpoint"],
            ),
            (
                "graphite holding the target disks",
                monitoring(graphite={**GRAPHITE, "path": "/ais"}),
                ["monitoring.graphite.path: '/ais' on node 'cpu01' contains the target mountpoint"],
            ),
            (
                "graphite in the state path's tree",
                monitoring(graphite={**GRAPHITE, "path": "/etc/ais/demo/graphite"}),
                ["monitoring.graphite.path: '/etc/ais/demo/graphite' on node 'cpu01' lies inside statePath"],
            ),
            (
                # (grafana in /etc itself, holding the state path, is now refused as the node's configuration)
                "grafana in the state path's own directory",
                monitoring(grafana={**GRAFANA, "path": "/etc/ais"}),
                ["monitoring.grafana.path: '/etc/ais' on node 'cpu01' is the same directory as statePath"],
            ),
        ]
    ],
    (
        "monitoring collides with data",
        "two services on one existing claim",
        as_text(
            worksheet(
                existingNamespace=True,
                monitoring=monitoring({"existingClaim": "site-mon"}, {"existingClaim": "site-mon"}),
            )
        ),
        ["monitoring.grafana.existingClaim: 'site-mon' is also monitoring.graphite.existingClaim"],
    ),
    (
        "monitoring collides with data",
        "an existing claim that is the claim made for the other service",
        as_text(worksheet(existingNamespace=True, monitoring=monitoring({"existingClaim": "demo-ais-grafana"}))),
        ["monitoring.graphite.existingClaim: 'demo-ais-grafana' is the claim this program creates for"],
    ),
    # -- text that passes a pattern by accident
    *[
        ("text passing by accident", case, as_text(config), expected)
        for case, config, expected in [
            (
                "a node name with a trailing newline",
                worksheet(targets={**TARGETS, "nodes": ["cpu{01..03}", "cpu04\n"]}),
                ["targets.nodes[1]: 'cpu04\\n' has whitespace or invisible characters"],
            ),
            (
                "a proxy node with a leading space",
                worksheet(proxies={"nodes": [" cpu01"]}),
                ["proxies.nodes[0]: ' cpu01' has whitespace"],
            ),
            (
                "an initial primary with a trailing newline",
                worksheet(proxies={**PROXIES, "initialPrimary": "cpu01\n"}),
                ["proxies.initialPrimary: 'cpu01\\n' has whitespace"],
            ),
            (
                "a mountpoint with a trailing newline",
                worksheet(targets={**TARGETS, "mountpoints": ["/ais/sda\n"]}),
                ["targets.mountpoints[0]: '/ais/sda\\n' has whitespace"],
            ),
            (
                "a mountpoint written with a leading //",
                worksheet(targets={**TARGETS, "mountpoints": ["/ais/sd[a-j]", "//ais/sda"]}),
                ["targets.mountpoints[1]: '//ais/sda' starts with '//'; write '/ais/sda'"],
            ),
            (
                "a state path with a trailing space",
                worksheet(statePath="/etc/ais "),
                ["statePath: '/etc/ais ' has whitespace"],
            ),
            (
                "a monitoring path with a space inside",
                worksheet(monitoring=monitoring(graphite={**GRAPHITE, "path": "/data/my graphite"})),
                ["monitoring.graphite.path: '/data/my graphite': use only letters, digits"],
            ),
            (
                "a size with a trailing newline",
                worksheet(monitoring=monitoring(graphite={**GRAPHITE, "size": "250Gi\n"})),
                ["monitoring.graphite.size: '250Gi\\n' has whitespace"],
            ),
            (
                "a size in Arabic-Indic digits",
                worksheet(monitoring=monitoring(grafana={**GRAFANA, "size": "\u0665\u0660Gi"})),
                ["monitoring.grafana.size: '\u0665\u0660Gi' is not a Kubernetes quantity"],
            ),
            (
                "a range in fullwidth digits",
                worksheet(targets={**TARGETS, "nodes": ["cpu{\uff10\uff11..\uff11\uff12}"]}),
                ["targets.nodes[0]: bad pattern 'cpu{\uff10\uff11..\uff11\uff12}'"],
            ),
            (
                "an image with a trailing newline",
                worksheet(images={"aisnode": "aistore/aisnode:3.4\n"}),
                ["images.aisnode: 'aistore/aisnode:3.4\\n' has whitespace"],
            ),
            (
                "an image with a space in its repository",
                worksheet(images={"initContainer": "aistore/ais init:latest"}),
                ["images.initContainer: 'aistore/ais init:latest' is not an image reference"],
            ),
            (
                "an image repository that is no reference",
                worksheet(images={"aisnode": "aistore//aisnode:3.4"}),
                ["images.aisnode: 'aistore//aisnode:3.4' is not an image reference"],
            ),
            (
                "an external Graphite port in Devanagari digits",
                worksheet(monitoring={"enabled": False, "externalGraphite": "graphite:\u0968\u0966\u0966\u0969"}),
                ["monitoring.externalGraphite: 'graphite:\u0968\u0966\u0966\u0969' is not host:port"],
            ),
            (
                "a chart version with a trailing newline",
                worksheet(chart={"repo": "https://charts.example.com", "name": "ais", "version": "0.1.0\n"}),
                ["chart.version: '0.1.0\\n' has whitespace"],
            ),
            (
                "a claim name with a trailing newline",
                worksheet(existingNamespace=True, monitoring=monitoring(grafana={"existingClaim": "grafana\n"})),
                ["monitoring.grafana.existingClaim: 'grafana\\n' has whitespace"],
            ),
            (
                "a release name starting with a digit",
                worksheet(releaseName="1demo"),
                ["releaseName: '1demo' starts with a digit, but the chart names its Services after it"],
            ),
            (
                "a boolean written as yes",
                worksheet(monitoring={**monitoring(), "enabled": "yes"}),
                ["monitoring.enabled: must be true or false, not the text 'yes' (YAML's yes/no/on/off are text"],
            ),
        ]
    ],
    # -- names Kubernetes will reject later
    *[
        ("names Kubernetes rejects later", case, as_text(config), expected)
        for case, config, expected in [
            (
                "a release name containing 'ais' whose target StatefulSet cannot create pods",
                worksheet(releaseName="ais" + "x" * 43),
                ["releaseName: 'ais" + "x" * 43 + "' makes the target StatefulSet 'ais" + "x" * 43 + "-target' (53"],
            ),
            (
                "a release name whose '-ais' suffix makes the target StatefulSet too long",
                worksheet(releaseName="x" * 42),
                ["releaseName: '" + "x" * 42 + "' makes the target StatefulSet", "shorten the release name by 1"],
            ),
            (
                "a release name whose Graphite StatefulSet cannot create pods",
                worksheet(releaseName="ais" + "x" * 41),
                ["releaseName: 'ais" + "x" * 41 + "' makes the Graphite StatefulSet"],
            ),
            (
                "a release name with 'graphite' in it",
                worksheet(releaseName="graphite-ais"),
                ["releaseName: 'graphite-ais' makes the chart name Graphite's Service 'graphite-ais'"],
            ),
            (
                "a release name with 'prometheus' in it",
                worksheet(releaseName="prometheus-ais"),
                ["releaseName: 'prometheus-ais' makes the chart name Prometheus's Service 'prometheus-ais-server'"],
            ),
        ]
    ],
    # -- keys that are silently ignored
    (
        "keys silently ignored",
        "a namespace one letter short",
        as_text({**worksheet(), "aisinfr:statePath": "/var/ais"}),
        ["aisinfr:statePath: the namespace 'aisinfr' is not 'aisinfra'", "did you mean 'aisinfra:statePath'?"],
    ),
    (
        "keys silently ignored",
        "a namespace in capitals",
        as_text({**worksheet(), "AISINFRA:protect": "false"}),
        ["AISINFRA:protect: the namespace 'AISINFRA' is not 'aisinfra'"],
    ),
    (
        "keys silently ignored",
        "a namespace with a dash",
        as_text({**worksheet(), "ais-infra:existingNamespace": "true"}),
        ["ais-infra:existingNamespace: the namespace 'ais-infra' is not 'aisinfra'"],
    ),
    *[
        ("keys silently ignored", case, as_text(chart_values(values)), expected)
        for case, values, expected in [
            (
                "the proxy node selector",
                {"proxy": {"nodeSelector": {"key": "node-role/storage"}}},
                ["chart.values.proxy.nodeSelector: would make pods select node labels this program never sets"],
            ),
            (
                "the target node selector",
                {"target": {"nodeSelector": {"key": "nvidia.com/ais-target"}}},
                ["chart.values.target.nodeSelector: would make pods select node labels"],
            ),
            (
                "a node affinity for targets",
                {"target": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {}}}}},
                ["chart.values.target.affinity.nodeAffinity: would make pods select node labels"],
            ),
            (
                "a Grafana node selector",
                {"grafana": {"nodeSelector": {"disktype": "ssd"}}},
                ["chart.values.grafana.nodeSelector: would make pods select node labels"],
            ),
            (
                "the initial primary label key",
                {"proxy": {"initialPrimaryProxyNodeLabel": {"name": "example.com/primary"}}},
                ["chart.values.proxy.initialPrimaryProxyNodeLabel: would make pods select node labels"],
            ),
            (
                "the admin DaemonSet",
                {"admin": {"enabled": True}},
                ["chart.values.admin.enabled: the chart's admin DaemonSet runs only on nodes labelled"],
            ),
            (
                "Grafana's admin password in plain text",
                {"grafana": {"adminPassword": "hunter2"}},
                ["chart.values.grafana.adminPassword: is a credential in plain text", "grafanaAdminPassword"],
            ),
            (
                "AIStore's auth secret in plain text",
                {"ais_config_common": {"auth": {"enabled": True, "secret": "s3cr3t"}}},
                ["chart.values.ais_config_common.auth.secret: is a credential in plain text"],
            ),
            (
                "an OAuth client secret deep in grafana.ini",
                {"grafana": {"grafana.ini": {"auth.github": {"client_secret": "abc"}}}},
                ["chart.values.grafana.grafana.ini.auth.github.client_secret: is a credential in plain text"],
            ),
            (
                "an API token in a list of environment settings",
                {"grafana": {"env": [{"GF_API_TOKEN": "abc"}]}},
                ["chart.values.grafana.env[0].GF_API_TOKEN: is a credential in plain text"],
            ),
        ]
    ],
    # -- bounded work
    *[
        ("bounded work", case, as_text(config), expected)
        for case, config, expected in [
            (
                "a range of a hundred million nodes",
                worksheet(targets={**TARGETS, "nodes": ["node{1..100000000}"]}),
                ["targets.nodes[0]: bad pattern 'node{1..100000000}': range {1..100000000} stands for 100000000"],
            ),
            (
                "a product of ranges",
                worksheet(proxies={"nodes": ["r{1..200}n{1..200}"]}),
                ["proxies.nodes: the list stands for 40000 entries; at most 20000"],
            ),
            (
                "many large patterns",
                worksheet(targets={**TARGETS, "nodes": [f"{rack}{{1..5000}}" for rack in "abcde"]}),
                ["targets.nodes: the list stands for 25000 entries"],
            ),
            (
                "too many mountpoints per node",
                worksheet(targets={**TARGETS, "mountpoints": ["/ais/d{1..2000}"]}),
                ["targets.mountpoints: the list stands for 2000 entries; at most 1000"],
            ),
            (
                "a bound with more digits than any count",
                worksheet(targets={**TARGETS, "nodes": ["n{1..99999999999999999999}"]}),
                ["targets.nodes[0]: bad pattern", "has a bound of more than 9 digits"],
            ),
        ]
    ],
    # -- bounded work: YAML that stands for far more than it writes
    (
        "bounded work",
        "chart.values nested 3000 levels deep",
        example_text(replace=("    path: ../ais-k8s/helm/ais/charts\n", DEEP_CHART_VALUES)),
        ["Pulumi.test.yaml: line 6: nested more than 100 levels deep"],
    ),
    (
        "bounded work",
        "aliases that expand to a billion values",
        example_text(ALIAS_BOMB),
        ["Pulumi.test.yaml: line 32: aliases expand to more than 1000000 values"],
    ),
    (
        "bounded work",
        "aliases that nest deeper than anything written",
        example_text(DEEP_ALIASES),
        ["Pulumi.test.yaml: line 30: nested more than 100 levels deep"],
    ),
    # -- stack files read as the Pulumi CLI reads them
    (
        "stack files as the CLI reads them",
        "a top-level key written twice",
        example_text("  aisinfra:releaseName: other\n"),
        ["the key 'aisinfra:releaseName' is already defined at line 2"],
    ),
    (
        "stack files as the CLI reads them",
        "a nested key written twice",
        example_text(replace=("    initialCount: 0\n", "    initialCount: 0\n    initialCount: 3\n")),
        ["the key 'initialCount' is already defined"],
    ),
    (
        "stack files as the CLI reads them",
        "one key with and without its namespace",
        example_text("  releaseName: other\n"),
        ["'aisinfra:releaseName' and 'releaseName' are one config key"],
    ),
    (
        "stack files as the CLI reads them",
        "yes is text to the CLI",
        example_text("  aisinfra:existingNamespace: yes\n"),
        ["existingNamespace: must be true or false, not the text 'yes'"],
    ),
    (
        "stack files as the CLI reads them",
        "off is text to the CLI, nested too",
        example_text(
            replace=("  aisinfra:monitoring:\n    enabled: true\n", "  aisinfra:monitoring:\n    enabled: off\n")
        ),
        ["monitoring.enabled: must be true or false, not the text 'off'"],
    ),
    (
        "stack files as the CLI reads them",
        "1:20 is text to the CLI, not sexagesimal 80",
        example_text(replace=("    initialCount: 0\n", "    initialCount: 1:20\n")),
        ["targets.initialCount: must be a whole number, not the text '1:20'"],
    ),
    (
        "stack files as the CLI reads them",
        "not UTF-8",
        "config:\n  aisinfra:releaseName: d\xe9mo\n",
        ["Pulumi.test.yaml: not UTF-8 text (byte 0xe9 at offset 33); save it as UTF-8"],
    ),
    (
        "stack files as the CLI reads them",
        "not a mapping",
        "- aisinfra:releaseName: demo\n",
        ["Pulumi.test.yaml: a stack file is a mapping with a 'config:' mapping inside"],
    ),
    (
        "stack files as the CLI reads them",
        "a misspelled config section",
        example_text().replace("config:", "conifg:", 1),
        ["Pulumi.test.yaml: unknown top-level key 'conifg' (did you mean 'config'?)"],
    ),
    (
        "stack files as the CLI reads them",
        "two documents",
        example_text("---\nconfig: {}\n"),
        ["Pulumi.test.yaml: not valid YAML: more than one YAML document"],
    ),
    (
        "stack files as the CLI reads them",
        "a control character, which YAML does not allow",
        "config:\n  aisinfra:releaseName: de\x07mo\n",
        [
            "Pulumi.test.yaml: not valid YAML: the character U+0007 (line 2, column 27) is not allowed in YAML; "
            "remove it, or write it as \\u0007 inside a double-quoted value"
        ],
    ),
    (
        "stack files as the CLI reads them",
        "a config key with no name",
        example_text('  "aisinfra:": x\n'),
        ["aisinfra:: a key with no name after 'aisinfra:'; remove it or write the key's name"],
    ),
    (
        "stack files as the CLI reads them",
        "a nested key with no name",
        example_text(replace=("    initialCount: 0\n", '    initialCount: 0\n    "": 1\n')),
        ["targets: holds a key with no name (''); remove it or write its name"],
    ),
    (
        "stack files as the CLI reads them",
        "a tab for indentation",
        "config:\n\taisinfra:releaseName: demo\n",
        ["Pulumi.test.yaml: not valid YAML"],
    ),
    (
        "stack files as the CLI reads them",
        "an anchor containing itself",
        example_text("  aisinfra:chart: &loop {path: x, values: {again: *loop}}\n").replace(
            "  aisinfra:chart:\n    path: ../ais-k8s/helm/ais/charts\n", ""
        ),
        ["an anchor's value contains itself"],
    ),
    (
        "stack files as the CLI reads them",
        "an infinite number in an object",
        example_text(replace=("    initialCount: 0\n", "    initialCount: .inf\n")),
        ["aisinfra:targets: holds .inf or .nan"],
    ),
    (
        "stack files as the CLI reads them",
        "an ESC environment whose config nothing here can review",
        example_text("environment:\n  - aistore/prod\n"),
        ["environment: imports Pulumi ESC environments, whose config check and render cannot see"],
    ),
    # -- what the user wrote, quoted into a message: escaped, never a character that moves the cursor,
    # breaks the line or turns the text around on a terminal (found by tests/test_stack_fuzz.py)
    *[
        ("invisible characters quoted in messages", case, text, expected)
        for case, text, expected in [
            (
                "a byte order mark in a key",
                example_text('  "aisinfra:\\ufeffprotect": true\n'),
                ["\\ufeffprotect: unknown key (did you mean 'protect'?); remove it or fix its spelling"],
            ),
            (
                "a right-to-left override in an acknowledgement",
                example_text('  aisinfra:identityChange: {releaseName: "\\u202edemo"}\n'),
                ["identityChange.releaseName: acknowledges '\\u202edemo', but the worksheet's value is 'demo'"],
            ),
            (
                "a line separator as the forced-patch setting",
                example_text('  kubernetes:enablePatchForce: "\\u2028"\n'),
                ["kubernetes:enablePatchForce: is '\\u2028'; forced patches would take node labels over"],
            ),
            (
                "an escape sequence in a key written twice",
                example_text('  "aisinfra:\\e[2J": 1\n  "aisinfra:\\e[2J": 2\n'),
                ["the key 'aisinfra:\\x1b[2J' is already defined at line"],
            ),
        ]
    ],
    # -- the third hardening round (issue 17): each class from the issue's own examples
    *[
        ("nested booleans written as text", case, as_text(config), expected)
        for case, config, expected in [
            (
                "preflight turned off by a quoted false",
                worksheet(preflight={"enabled": "false"}),
                ["preflight.enabled: must be true or false, not the text 'false' (write false without quotes"],
            ),
            (
                "monitoring turned on by a quoted true",
                worksheet(monitoring={**monitoring(), "enabled": "true"}),
                ["monitoring.enabled: must be true or false, not the text 'true' (write true without quotes"],
            ),
            (
                "the initial primary label kept by a quoted False",
                worksheet(proxies={**PROXIES, "initialPrimaryLabel": "False"}),
                ["proxies.initialPrimaryLabel: must be true or false, not the text 'False' (write false without"],
            ),
            (
                "a dependency update by a quoted false",
                worksheet(chart={"path": "../ais-k8s/helm/ais/charts", "dependencyUpdate": "false"}),
                ["chart.dependencyUpdate: must be true or false, not the text 'false'"],
            ),
        ]
    ],
    *[
        ("the host's own directories", case, as_text(config), expected)
        for case, config, expected in [
            (
                "state in /proc",
                worksheet(statePath="/proc"),
                ["statePath: '/proc' is the kernel's process filesystem; give AIStore a directory of its own"],
            ),
            (
                "state in the kubelet's directory",
                worksheet(statePath="/var/lib/kubelet"),
                ["statePath: '/var/lib/kubelet' is the kubelet's pods, volumes and plugins; give AIStore a directory"],
            ),
            (
                "a mountpoint in the kubelet's directory",
                worksheet(targets={**TARGETS, "mountpoints": ["/ais/sda", "/var/lib/kubelet/pods"]}),
                [
                    "targets.mountpoints[1]: '/var/lib/kubelet/pods' lies in /var/lib/kubelet, the kubelet's pods, "
                    "volumes and plugins; give AIStore a directory of its own"
                ],
            ),
            (
                "a mountpoint pattern reaching into the container runtime",
                worksheet(targets={**TARGETS, "mountpoints": ["/var/lib/{ais,containerd}"]}),
                [
                    "targets.mountpoints[0]: the mountpoint '/var/lib/containerd' from pattern "
                    "'/var/lib/{ais,containerd}': '/var/lib/containerd' is containerd's images and containers"
                ],
            ),
            (
                "Graphite's data in /run, lost at boot",
                worksheet(monitoring=monitoring(graphite={**GRAPHITE, "path": "/run/graphite"})),
                ["monitoring.graphite.path: '/run/graphite' lies in /run, runtime state, emptied at every boot"],
            ),
            (
                "state in /etc itself",
                worksheet(statePath="/etc"),
                ["statePath: '/etc' is the node's configuration; give AIStore a directory of its own"],
            ),
        ]
    ],
    *[
        ("credentials in values, not keys", case, as_text(chart_values(values)), expected)
        for case, values, expected in [
            (
                "Grafana's admin password as an env var",
                {"grafana": {"extraEnv": [{"name": "GF_SECURITY_ADMIN_PASSWORD", "value": "hunter2"}]}},
                [
                    "chart.values.grafana.extraEnv[0].value: the env var GF_SECURITY_ADMIN_PASSWORD is a credential "
                    "in plain text",
                    "give the env var valueFrom.secretKeyRef",
                ],
            ),
            (
                "a remote-write URL with a password",
                {"prometheus": {"server": {"remoteWrite": [{"url": "https://ais:s3cret@metrics.example.com/write"}]}}},
                [
                    "chart.values.prometheus.server.remoteWrite[0].url: holds a URL with a password in it "
                    "(user:password@), is a credential in plain text",
                    "put the credential in a Kubernetes Secret of your own",
                ],
            ),
            (
                "a GitHub token in an annotation",
                {"grafana": {"podAnnotations": {"ci": "ghp_" + "a1B2" * 9}}},
                ["chart.values.grafana.podAnnotations.ci: holds a GitHub token, is a credential in plain text"],
            ),
            (
                "an AWS key in a list of arguments",
                {"prometheus": {"server": {"extraArgs": ["--key=AKIAIOSFODNN7EXAMPLE"]}}},
                ["chart.values.prometheus.server.extraArgs[0]: holds an AWS access key"],
            ),
        ]
    ],
    *[
        ("accepted, but can never work (issue 22)", case, as_text(config), expected)
        for case, config, expected in [
            (
                "a chart archive's URL as chart.path",
                worksheet(chart={"path": "https://example.com/charts/ais-0.1.0.tgz"}),
                ["chart.path: 'https://example.com/charts/ais-0.1.0.tgz' is a URL, but chart.path is a directory"],
            ),
            (
                "an OCI reference as chart.path",
                worksheet(chart={"path": "oci://registry.example.com/charts/ais"}),
                ["chart.path: 'oci://registry.example.com/charts/ais' is a URL", "give chart.repo, chart.name"],
            ),
            (
                "Graphite's volume on a node whose name no hostname label can hold",
                worksheet(monitoring=monitoring(graphite={**GRAPHITE, "node": "n" * 64 + ".example.com"})),
                [
                    f"monitoring.graphite.node: '{'n' * 64}.example.com' is 76 characters; the volume is pinned to "
                    "the node's kubernetes.io/hostname label, and a label value is at most 63"
                ],
            ),
            (
                "the Graphite claim mounted into Grafana through chart.values",
                chart_values({"grafana": {"extraVolumeMounts": [{"name": "g", "existingClaim": "demo-ais-graphite"}]}}),
                [
                    "chart.values.grafana.extraVolumeMounts[0].existingClaim: 'demo-ais-graphite' is "
                    "monitoring.graphite's claim; a second service would write into graphite's volume"
                ],
            ),
            (
                "the Grafana claim as a Prometheus volume",
                chart_values(
                    {
                        "prometheus": {
                            "server": {"extraVolumes": [{"persistentVolumeClaim": {"claimName": "demo-ais-grafana"}}]}
                        }
                    }
                ),
                [
                    "chart.values.prometheus.server.extraVolumes[0].persistentVolumeClaim.claimName: "
                    "'demo-ais-grafana' is monitoring.grafana's claim"
                ],
            ),
            (
                "a chart directory whose name no file system takes",
                worksheet(chart={"path": "../" + "c" * 256}),
                ["chart.path: '../" + "c" * 37 + "...' has a name of 256 bytes; a name in a path is at most 255"],
            ),
            (
                "a 5 KB chart path",
                worksheet(chart={"path": "/".join(["é" * 99] * 25)}),
                ["chart.path: '" + "é" * 40 + "...' is 4974 bytes long; a path is at most 4095"],
            ),
            (
                "a 5 KB state path",
                worksheet(statePath="/" + "/".join(["s" * 99] * 50)),
                ["statePath: '/" + "s" * 39 + "...' is 5000 characters long; a path is at most 4095"],
            ),
        ]
    ],
    *[
        ("host access through chart.values", case, as_text(chart_values(values)), expected)
        for case, values, expected in [
            (
                "the host's / mounted into Grafana",
                {"grafana": {"extraVolumes": [{"name": "root", "hostPath": {"path": "/"}}]}},
                [
                    "chart.values.grafana.extraVolumes[0].hostPath: gives a pod a directory of the node (hostPath); "
                    "remove it"
                ],
            ),
            (
                "a host path mount for the Prometheus server",
                {"prometheus": {"server": {"extraHostPathMounts": [{"name": "etc", "hostPath": "/etc"}]}}},
                ["chart.values.prometheus.server.extraHostPathMounts[0].hostPath: gives a pod a directory of the node"],
            ),
            (
                "a privileged Grafana",
                {"grafana": {"securityContext": {"privileged": True}}},
                ["chart.values.grafana.securityContext.privileged: gives a pod every device of the node (privileged)"],
            ),
            (
                "the Prometheus server in the node's process namespace",
                {"prometheus": {"server": {"hostPID": True}}},
                ["chart.values.prometheus.server.hostPID: gives a pod the node's processes (hostPID)"],
            ),
            (
                "Grafana on the node's network",
                {"grafana": {"hostNetwork": True}},
                ["chart.values.grafana.hostNetwork: gives a pod the node's network (hostNetwork)"],
            ),
        ]
    ],
]


@pytest.fixture
def registrations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[render.Registration]]:
    """Everything any program run registered, refused or not."""
    registered: list[render.Registration] = []
    run_program = render.run_program

    def recording(*arguments: Any, **keywords: Any) -> render.Rendering:
        try:
            rendering = run_program(*arguments, **keywords)
        except render.ProgramError as error:
            registered.extend(error.registered)
            raise
        registered.extend(rendering.resources)
        return rendering

    monkeypatch.setattr(render, "run_program", recording)
    yield registered


@pytest.mark.parametrize(
    ("text", "expected"), [case[2:] for case in CASES], ids=[f"{case[0]}: {case[1]}" for case in CASES]
)
def test_every_command_refuses_it_naming_the_key(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    registrations: list[render.Registration],
    text: str,
    expected: list[str],
) -> None:
    (tmp_path / "Pulumi.test.yaml").write_bytes(text.encode("latin-1") if "\xe9" in text else text.encode())
    for command in (["render", "test"], ["labels", "test"], ["check", "test"]):
        assert main(["--stacks-dir", str(tmp_path), *command]) == 1, command
        captured = capsys.readouterr()
        message = captured.out if command[0] == "check" else captured.err
        assert "Traceback" not in captured.err + captured.out
        for part in expected:
            assert part in message, (command, message)
    # Only reads of the stack's own last outputs (the deployed state) happened: nothing touched the cluster.
    assert {registration.type for registration in registrations} <= {render.STACK_REFERENCE}


def test_every_class_has_several_members() -> None:
    classes = [case[0] for case in CASES]
    assert {name: classes.count(name) >= 3 for name in classes} == dict.fromkeys(classes, True)


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("yes", "yes"),  # YAML 1.1's boolean is text to yaml.v3
        ("0777", 511),  # Go reads a leading 0 as octal
        ("0o17", 15),
        ("0x1F", 31),
        ("1_000", 1000),
        ("1e3", 1000),  # a whole float, which encoding/json writes as 1000
        ("08", 8),  # not octal, so a float for yaml.v3
        ("1:20", "1:20"),  # no sexagesimal numbers in YAML 1.2
        ("2001-12-14", "2001-12-14T00:00:00Z"),  # a timestamp, as time.Time writes itself in JSON
        ("2001-12-14 21:59:43.10", "2001-12-14T21:59:43.1Z"),
        ("2001-12-14T21:59:43", "2001-12-14T21:59:43"),  # no zone after T: text
        ("~", None),
        ("'0777'", "0777"),
    ],
)
def test_nested_values_reach_the_program_as_the_cli_writes_them(tmp_path: Path, written: str, value: Any) -> None:
    path = tmp_path / "Pulumi.values.yaml"
    path.write_text(f"config:\n  aisinfra:chart:\n    values:\n      key: {written}\n  aisinfra:top: {written}\n")
    stack = read_stack(path)
    assert json.loads(stack.values["aisinfra:chart"])["values"]["key"] == value
    # A top-level value is handed over as written (the CLI decodes it into a Go string).
    assert stack.values["aisinfra:top"] == ("" if written == "~" else written.strip("'"))


def stack_in(context: str, release: str, **changes: Any) -> dict[str, Any]:
    return {**worksheet(releaseName=release, namespace=f"{release}-ns", **changes), "kubernetes:context": context}


def lab_nodes(nodes: str, proxies: str | None = None) -> dict[str, Any]:
    return {
        "targets": {"nodes": [nodes], "mountpoints": ["/ais/sd[a-b]"]},
        "proxies": {"nodes": [proxies or nodes]},
    }


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        (
            stack_in("lab", "one", **lab_nodes("cpu{01..04}")),
            stack_in("lab", "two", **lab_nodes("cpu{05..08}")),
            [
                "Pulumi.a.yaml and Pulumi.b.yaml: monitoring.graphite.path: '/data/graphite' is the same directory as "
                "Pulumi.b.yaml's monitoring.graphite.path '/data/graphite' on node 'cpu01', in Kubernetes context lab; "
                "give each stack directories of its own",
                "Pulumi.a.yaml and Pulumi.b.yaml: monitoring.grafana.path: '/data/grafana' is the same directory as "
                "Pulumi.b.yaml's monitoring.grafana.path '/data/grafana' on node 'cpu01', in Kubernetes context lab; "
                "give each stack directories of its own",
            ],
        ),
        (
            stack_in("lab", "one", **lab_nodes("cpu{01..04}")),
            stack_in(
                "lab",
                "two",
                **lab_nodes("cpu{05..08}"),
                monitoring=monitoring(
                    {"node": "cpu02", "path": "/ais/sda/graphite", "size": "1Gi"},
                    {"node": "cpu06", "path": "/data/grafana", "size": "1Gi"},
                ),
            ),
            [
                "Pulumi.a.yaml and Pulumi.b.yaml: targets.mountpoints: '/ais/sda' contains Pulumi.b.yaml's "
                "monitoring.graphite.path '/ais/sda/graphite' on node 'cpu02', in Kubernetes context lab; give each "
                "stack directories of its own",
            ],
        ),
        (
            stack_in("lab", "one", **lab_nodes("cpu{01..04}", proxies="cpu04")),
            stack_in(
                "lab",
                "two",
                **lab_nodes("cpu{05..08}", proxies="cpu{01..03}"),
                statePath="/etc/ais/one",
                monitoring=monitoring(
                    {"node": "cpu05", "path": "/data/graphite", "size": "1Gi"},
                    {"node": "cpu05", "path": "/data/grafana", "size": "1Gi"},
                ),
            ),
            [
                # Since the aisinfra/cluster label, a node serves one cluster; the state trees still clash too.
                "Pulumi.a.yaml and Pulumi.b.yaml: targets.nodes, proxies.nodes: both use 3 nodes, cpu{01..03}, in "
                "different roles in Kubernetes context lab; a node serves one AIStore cluster (it carries one "
                "aisinfra/cluster label)",
                "Pulumi.a.yaml and Pulumi.b.yaml: statePath: '/etc/ais/one' contains Pulumi.b.yaml's statePath "
                "'/etc/ais/one/two' on nodes cpu{01..03}, in Kubernetes context lab; give each stack directories of "
                "its own",
            ],
        ),
    ],
    ids=["one monitoring directory", "monitoring on the other's disk", "one state tree inside the other"],
)
def test_check_refuses_two_stacks_writing_one_host_directory(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    first: dict[str, Any],
    second: dict[str, Any],
    expected: list[str],
) -> None:
    (tmp_path / "Pulumi.a.yaml").write_text(as_text(first))
    (tmp_path / "Pulumi.b.yaml").write_text(as_text(second))
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 1
    captured = capsys.readouterr()
    assert [line for line in captured.out.splitlines() if "Pulumi.a.yaml and" in line] == expected
    assert "Traceback" not in captured.err
    # In different clusters, the same directories are no clash.
    (tmp_path / "Pulumi.b.yaml").write_text(as_text({**second, "kubernetes:context": "prod"}))
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 3  # no problems; no chart here to review objects


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({}, "it has no resources.yaml"),
        ({"resources.yaml": b"- type: [unclosed\n"}, "resources.yaml is not YAML"),
        ({"resources.yaml": b"\xff\xfe not text"}, "resources.yaml is not YAML"),
        ({"resources.yaml": b"just: a mapping\n"}, "resources.yaml is not a list of rendered resources"),
        ({"resources.yaml": b"- {type: 1, name: x}\n"}, "resources.yaml is not a list of rendered resources"),
    ],
    ids=["empty directory", "broken YAML", "not UTF-8", "a mapping", "a resource without a type"],
)
def test_render_diff_against_a_directory_that_is_no_render_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, bytes], expected: str
) -> None:
    (tmp_path / "Pulumi.test.yaml").write_text(as_text(WORKSHEET_EXAMPLE))
    other = tmp_path / "other"
    other.mkdir()
    for name, content in files.items():
        (other / name).write_bytes(content)
    assert main(["--stacks-dir", str(tmp_path), "render", "test", "--diff", str(other)]) == 2
    error = capsys.readouterr().err
    assert f"{other} is not a `render STACK --out DIR` result: {expected}" in error
    assert "Traceback" not in error


def test_render_diff_against_a_file_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "Pulumi.test.yaml").write_text(as_text(WORKSHEET_EXAMPLE))
    (tmp_path / "notes.txt").write_text("no render\n")
    assert main(["--stacks-dir", str(tmp_path), "render", "test", "--diff", str(tmp_path / "notes.txt")]) == 2
    assert (
        "notes.txt is not a directory written by `render STACK --out DIR`, nor a stack name" in capsys.readouterr().err
    )


def test_render_diff_against_a_render_with_broken_release_objects_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "Pulumi.test.yaml").write_text(as_text(WORKSHEET_EXAMPLE))
    before = tmp_path / "before"
    assert main(["--stacks-dir", str(tmp_path), "render", "test", "--out", str(before)]) == 3  # no chart here
    (before / "release-objects.yaml").write_bytes(b"kind: [unclosed\n")
    capsys.readouterr()
    code = main(["--stacks-dir", str(tmp_path), "render", "test", "--diff", str(before)])
    error = capsys.readouterr().err
    assert "Traceback" not in error
    assert code == 2
    assert "release-objects.yaml is not YAML" in error


INIT_FLAGS = [
    "--release-name", "lab", "--namespace", "ais-lab", "--target-nodes", "lab{1..3}", "--mountpoints", "/ais/nvme[0-1]",
    "--graphite", "lab1:/data/graphite:100Gi", "--grafana", "lab1:/data/grafana:10Gi",
]  # fmt: skip


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        (["--release-name", "1demo"], "--release-name (releaseName): '1demo' starts with a digit"),
        (["--namespace", "ais\n"], "--namespace (namespace): 'ais\\n' has whitespace"),
        (["--mountpoints", "//ais/sda"], "--mountpoints (targets.mountpoints): '//ais/sda' starts with '//'"),
        (["--target-nodes", "cpu{1..100000000}"], "--target-nodes (targets.nodes): bad pattern 'cpu{1..100000000}'"),
        (["--graphite", "lab1:/ais/nvme0:1Gi"], "--graphite (monitoring.graphite.path): '/ais/nvme0' on node 'lab1'"),
        (["--chart-values", "{a: 1, a: 2}"], "--chart-values (chart.values): '{a: 1, a: 2}': line 1: the key 'a' is"),
        (["--chart-values", "{grafana: {adminPassword: x}}"], "--chart-values (chart.values.grafana.adminPassword)"),
        (["--chart-values", "{target: {nodeSelector: {}}}"], "--chart-values (chart.values.target.nodeSelector)"),
    ],
    ids=["digit", "newline", "double slash", "huge range", "monitoring on a disk", "duplicate", "password", "selector"],
)
def test_init_refuses_hostile_answers_writing_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], expected: str
) -> None:
    assert main(["--stacks-dir", str(tmp_path), "init", "lab", "--no-input", *INIT_FLAGS, *flags]) == 1
    error = capsys.readouterr().err
    assert expected in error
    assert "Traceback" not in error
    assert list(tmp_path.iterdir()) == []
