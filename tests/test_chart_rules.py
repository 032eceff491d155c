"""What the chart makes of a worksheet (aisinfra.chart.rules), rule by rule, called directly:
the whole message each rule gives, written from the chart's naming (../shared/reference/
ais-chart/README.md: ``ais.fullname``, the subcharts' fullnames, the addresses the chart writes
out) and Kubernetes' limits (a label value and a Service name at most 63 characters; a
StatefulSet at most 52, kubernetes#64023). test_worksheet.py shows the same rules through the
whole program; these are fast enough for the mutation run (tests/mutate.py)."""

from __future__ import annotations

from typing import Any

import pytest

from aisinfra.chart import rules
from aisinfra.chart.rules import (
    _claim_problems,
    _flag,
    _named_objects,
    chart_values_problems,
    load_worksheet,
    monitoring_name_problems,
    mountpoint_problems,
    release_name_problems,
    shared_claim_problems,
)
from aisinfra.worksheet.model import WorksheetError
from tests.test_worksheet_rules import config

STATEFULSET_LIMIT = (
    "past 52 characters Kubernetes cannot create its pods: their controller-revision-hash label would exceed "
    "63 characters (kubernetes#64023)"
)
LABEL_LIMIT = "a label value is at most 63 characters"
SERVICE_LIMIT = "a Service name is at most 63 characters, and the chart writes this one out in full"
STORAGE = {"node": "cpu01", "path": "/data/x", "size": "1Gi"}


def refused(changes: dict[str, Any], secret_keys: frozenset[str] = frozenset()) -> WorksheetError:
    with pytest.raises(WorksheetError) as raised:
        load_worksheet(config(**changes), secret_keys)
    return raised.value


# -- releaseName ------------------------------------------------------------------------------


def test_the_private_helpers_still_exist() -> None:
    # These tests call the rules' private helpers directly; a rename must fail here, not silently.
    assert callable(rules._credential_advice) and callable(rules._override_problems)


@pytest.mark.parametrize("release_name", [None, 7, "Demo_1", "-demo", ""])
def test_a_release_name_the_model_refuses_is_left_to_the_model(release_name: Any) -> None:
    assert release_name_problems(release_name) == []
    assert monitoring_name_problems(release_name, {"enabled": True}) == []


def test_a_release_name_starting_with_a_digit() -> None:
    # No "ais" in it: ais.fullname is <release>-ais, and the first Service is <fullname>-proxy.
    assert release_name_problems("1demo") == [
        "releaseName: '1demo' starts with a digit, but the chart names its Services after it ('1demo-ais-proxy') "
        "and a Service name must start with a letter; choose a release name that starts with a letter"
    ]
    assert release_name_problems("demo1") == []


def test_the_longest_release_name_whose_target_statefulset_fits() -> None:
    # With "ais" in it the release name is ais.fullname; <name>-target is 7 characters longer.
    assert release_name_problems("ais" + "x" * 42) == []  # 52 characters: the limit itself


@pytest.mark.parametrize(
    ("release_name", "length", "excess"),
    [
        ("ais" + "x" * 43, 53, "1 character"),
        ("ais" + "x" * 44, 54, "2 characters"),
        ("ais" + "x" * 57, 67, "15 characters"),
    ],
)
def test_a_release_name_too_long_names_what_needs_it_shortest(release_name: str, length: int, excess: str) -> None:
    # At 60 characters the proxy StatefulSet (66) and the proxy label (70 > 63) are too long as
    # well; the target StatefulSet needs the most cut, so it is the one reported.
    assert release_name_problems(release_name) == [
        f"releaseName: '{release_name}' makes the target StatefulSet '{release_name}-target' ({length} characters); "
        f"{STATEFULSET_LIMIT}: shorten the release name by {excess}"
    ]


def test_the_names_the_chart_builds_from_the_release_name() -> None:
    assert _named_objects("demo", monitoring=False) == [
        ("the target StatefulSet", "demo-ais-target", 52, STATEFULSET_LIMIT),
        ("the proxy StatefulSet", "demo-ais-proxy", 52, STATEFULSET_LIMIT),
        ("the proxy node label", "demo-ais-electable", 63, LABEL_LIMIT),
    ]
    assert _named_objects("demo", monitoring=True, prometheus=True) == [
        ("the target StatefulSet", "demo-ais-target", 52, STATEFULSET_LIMIT),
        ("the proxy StatefulSet", "demo-ais-proxy", 52, STATEFULSET_LIMIT),
        ("the Graphite StatefulSet", "demo-graphite", 52, STATEFULSET_LIMIT),
        ("the proxy node label", "demo-ais-electable", 63, LABEL_LIMIT),
        ("Graphite's address", "demo-graphite", 63, SERVICE_LIMIT),
        ("Prometheus' address", "demo-prometheus-server", 63, SERVICE_LIMIT),
    ]
    assert [what for what, *_ in _named_objects("demo", monitoring=True)] == [
        "the target StatefulSet",
        "the proxy StatefulSet",
        "the Graphite StatefulSet",
        "the proxy node label",
        "Graphite's address",
    ]


# -- monitoring's names -----------------------------------------------------------------------

GRAPHITE_44 = "ais" + "x" * 41  # <name>-graphite is 53 characters, <name>-target 51


def test_a_release_name_too_long_for_graphite_only_while_monitoring_is_on() -> None:
    message = (
        f"releaseName: '{GRAPHITE_44}' makes the Graphite StatefulSet '{GRAPHITE_44}-graphite' (53 characters); "
        f"{STATEFULSET_LIMIT}: shorten the release name by 1 character"
    )
    assert release_name_problems(GRAPHITE_44) == []
    assert monitoring_name_problems(GRAPHITE_44, None) == [message]  # monitoring is on by default
    assert monitoring_name_problems(GRAPHITE_44, {"enabled": True, "prometheus": False}) == [message]
    assert monitoring_name_problems(GRAPHITE_44, {"enabled": False}) == []
    assert monitoring_name_problems(GRAPHITE_44, {"enabled": "false"}) == []
    assert monitoring_name_problems("ais" + "x" * 40, None) == []  # 52 characters: fits


def test_a_release_name_too_long_anyway_is_reported_once_by_the_release_rule() -> None:
    assert monitoring_name_problems("ais" + "x" * 43, None) == []


GRAPHITE_NO_DATA = (
    "releaseName: 'my-graphite' makes the chart name Graphite's Service 'my-graphite' while it sends to "
    "'my-graphite-graphite', so Graphite would get no data; choose a release name without 'graphite' in it"
)
PROMETHEUS_NO_DATA = (
    "releaseName: 'my-prometheus' makes the chart name Prometheus's Service 'my-prometheus-server' while it "
    "sends to 'my-prometheus-prometheus-server', so Prometheus would get no data; choose a release name "
    "without 'prometheus' in it"
)


@pytest.mark.parametrize(
    ("release_name", "monitoring", "expected"),
    [
        ("my-graphite", None, [GRAPHITE_NO_DATA]),
        ("my-graphite", {"prometheus": False}, [GRAPHITE_NO_DATA]),
        ("my-graphite", {"enabled": False}, []),
        ("my-prometheus", None, [PROMETHEUS_NO_DATA]),
        ("my-prometheus", {"enabled": "True"}, [PROMETHEUS_NO_DATA]),
        ("my-prometheus", {"prometheus": True}, [PROMETHEUS_NO_DATA]),
        ("my-prometheus", {"prometheus": "false"}, []),
        ("my-prometheus", {"enabled": False, "prometheus": True}, []),
        ("demo", None, []),
    ],
)
def test_a_release_name_that_sends_monitoring_data_nowhere(
    release_name: str, monitoring: Any, expected: list[str]
) -> None:
    assert monitoring_name_problems(release_name, monitoring) == expected


@pytest.mark.parametrize(
    ("section", "default", "value"),
    [
        (None, True, True),
        (None, False, False),
        ({}, True, True),
        ({"enabled": True}, False, True),
        ({"enabled": False}, True, False),
        ({"enabled": "true"}, False, True),
        ({"enabled": "True"}, False, True),
        ({"enabled": "false"}, True, False),
        ({"enabled": "False"}, True, False),
        # Values the model refuses count as the default: the model reports them.
        ({"enabled": "yes"}, True, True),
        ({"enabled": "TRUE"}, False, False),
        ({"enabled": 0}, True, True),
        ({"enabled": 1}, False, False),
        ({"enabled": None}, True, True),
        (["enabled"], False, False),
    ],
)
def test_a_flag_as_the_model_will_read_it(section: Any, default: bool, value: bool) -> None:
    assert _flag(section, "enabled", default) is value


# -- existing claims --------------------------------------------------------------------------


def test_an_existing_claim_that_is_the_claim_created_for_the_other_service() -> None:
    # Graphite's created claim is <ais.fullname>-graphite: demo-ais-graphite.
    assert _claim_problems("demo", {"graphite": STORAGE, "grafana": {"existingClaim": "demo-ais-graphite"}}) == (
        [
            "monitoring.grafana.existingClaim: 'demo-ais-graphite' is the claim this program creates for "
            "monitoring.graphite; both would write into one volume: give grafana a claim of its own"
        ],
        False,
    )
    assert _claim_problems("demo", {"graphite": {"existingClaim": "demo-ais-grafana"}, "grafana": STORAGE}) == (
        [
            "monitoring.graphite.existingClaim: 'demo-ais-grafana' is the claim this program creates for "
            "monitoring.grafana; both would write into one volume: give graphite a claim of its own"
        ],
        False,
    )


@pytest.mark.parametrize(
    ("release_name", "monitoring", "expected"),
    [
        ("demo", None, ([], False)),
        ("demo", {"graphite": STORAGE, "grafana": STORAGE}, ([], False)),
        # No existing claim: nothing waits for the release name.
        ("Demo_1", {"graphite": STORAGE, "grafana": STORAGE}, ([], False)),
        ("Demo_1", {"graphite": STORAGE, "grafana": {"existingClaim": "demo-ais-graphite"}}, ([], True)),
        (None, {"graphite": STORAGE, "grafana": {"existingClaim": "x"}}, ([], True)),
        ("demo", {"graphite": STORAGE, "grafana": {"existingClaim": "claim-of-its-own"}}, ([], False)),
        # Neither claim is created when both exist; two services sharing a claim is the model's rule.
        ("demo", {"graphite": {"existingClaim": "demo-ais-grafana"}, "grafana": {"existingClaim": "x"}}, ([], False)),
        # Graphite has no storage section: no claim is created for it.
        ("demo", {"graphite": None, "grafana": {"existingClaim": "demo-ais-graphite"}}, ([], False)),
        # An existingClaim that is no string is the model's to report.
        ("Demo_1", {"graphite": STORAGE, "grafana": {"existingClaim": 5}}, ([], False)),
    ],
)
def test_existing_claims_that_do_not_collide(release_name: Any, monitoring: Any, expected: Any) -> None:
    assert _claim_problems(release_name, monitoring) == expected


# -- chart.values -----------------------------------------------------------------------------

NEVER_SCHEDULED = (
    "would make pods select node labels this program never sets, so they would never be scheduled; remove it: "
    "the worksheet's node lists (targets.nodes, proxies.nodes, monitoring.*.node) place the pods"
)
PLAIN_TEXT = "is a credential in plain text, which would sit in the stack file and in the Release's values"
OWN_SECRET = (
    f"{PLAIN_TEXT}; remove it: put the credential in a Kubernetes Secret of your own and give the chart that "
    "Secret's name where it takes one"
)
ADMIN = (
    "chart.values.admin.enabled: the chart's admin DaemonSet runs only on nodes labelled nvidia.com/ais-admin, "
    "which this program never sets; remove it"
)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"nodeSelector": {"disk": "ssd"}}, [f"chart.values.nodeSelector: {NEVER_SCHEDULED}"]),
        ({"proxy": {"NodeAffinity": {}}}, [f"chart.values.proxy.NodeAffinity: {NEVER_SCHEDULED}"]),
        (
            {"proxy": {"initialPrimaryProxyNodeLabel": "x"}},
            [f"chart.values.proxy.initialPrimaryProxyNodeLabel: {NEVER_SCHEDULED}"],
        ),
        ({"initialPrimaryProxyNodeLabel": "x"}, []),
        ({"admin": {"enabled": True}}, [ADMIN]),
        ({"admin": {"enabled": "false"}}, [ADMIN]),
        ({"admin": {"enabled": False}}, []),
        ({"enabled": True, "proxy": {"enabled": True}}, []),
        (
            {"grafana": {"adminPassword": "hunter2"}},
            [
                f"chart.values.grafana.adminPassword: {PLAIN_TEXT}; remove it and run "
                "`pulumi config set --secret grafanaAdminPassword`"
            ],
        ),
        (
            {"s3": {"accessKey": "AKIA", "secretKey": "x"}},
            [
                f"chart.values.s3.accessKey: {OWN_SECRET}",
                f"chart.values.s3.secretKey: {OWN_SECRET}",
            ],
        ),
        (
            {"API_KEY": "k", "privateKey": "k", "passwd": 1, "authToken": "t", "credentials": "c"},
            [
                f"chart.values.API_KEY: {OWN_SECRET}",
                f"chart.values.privateKey: {OWN_SECRET}",
                f"chart.values.passwd: {OWN_SECRET}",
                f"chart.values.authToken: {OWN_SECRET}",
                f"chart.values.credentials: {OWN_SECRET}",
            ],
        ),
        # Where a credential is kept is no credential; an empty or switched-off one holds none.
        (
            {
                "auth": {
                    "existingSecret": "s",
                    "secretName": "s",
                    "tokenFile": "/f",
                    "passwordKey": "k",
                    "tokenKey": "k",
                    "userKey": "k",
                    "secretRef": "r",
                    "credentialsPath": "/p",
                    "tokenFromSecret": "s",
                    "password": "",
                    "token": None,
                    "secret": True,
                    "apiKey": False,
                }
            },
            [],
        ),
        (
            {"gateway": [{"password": "p"}, "password", {"nodeSelector": {}}]},
            [
                f"chart.values.gateway[0].password: {OWN_SECRET}",
                f"chart.values.gateway[2].nodeSelector: {NEVER_SCHEDULED}",
            ],
        ),
        ({"a": {"b": {"c": {"token": "t"}}}}, [f"chart.values.a.b.c.token: {OWN_SECRET}"]),
        # A problem found before a nested section is kept.
        (
            {"password": "p", "s3": {"token": "t"}},
            [f"chart.values.password: {OWN_SECRET}", f"chart.values.s3.token: {OWN_SECRET}"],
        ),
        ({"monitor": "passwordless"}, []),
        ({5: "x"}, []),
    ],
)
def test_chart_values_that_would_break_the_cluster_or_leak_a_credential(
    values: dict[str, Any], expected: list[str]
) -> None:
    assert chart_values_problems(values) == expected


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # Env vars: a credential's name with a literal value; a reference to a Secret is fine.
        (
            {"env": [{"name": "DB_PASSWORD", "value": "p"}, {"name": "API_TOKEN", "valueFrom": {"secretKeyRef": {}}}]},
            [
                "chart.values.env[0].value: the env var DB_PASSWORD is a credential in plain text, which would sit "
                "in the stack file and in the Release's values; remove the value: put the credential in a "
                "Kubernetes Secret of your own and give the env var valueFrom.secretKeyRef with that Secret's name "
                "and key"
            ],
        ),
        (
            {
                "env": [
                    {"name": "LOG_LEVEL", "value": "debug"},
                    {"name": "DB_PASSWORD", "value": ""},
                    {"name": "GF_AUTH_CLIENT_SECRET_FILE", "value": "/etc/secrets/client"},  # where it is kept
                ]
            },
            [],
        ),
        # URLs: a user alone, or a password-less one, is no credential.
        (
            {"urls": ["https://metrics.example.com", "https://ais@metrics.example.com/w", "s3://a:b@bucket/x"]},
            [f"chart.values.urls[2]: holds a URL with a password in it (user:password@), {OWN_SECRET}"],
        ),
        # Token shapes, in any key and inside longer text.
        (
            {
                "a": "AKIAIOSFODNN7EXAMPLE",
                "b": "key: -----BEGIN RSA PRIVATE KEY-----",
                "c": "xoxb-1234567890-abcdef",
                "d": "AIza" + "x" * 35,
                "e": "Bearer eyJhbGciOiJI.eyJzdWIiOiIx.SflKxwRJSMeKKF2QT4",
                "f": "github_pat_" + "a" * 22,
                "g": "AKIA-not-a-key ghp_short",
            },
            [
                f"chart.values.a: holds an AWS access key, {OWN_SECRET}",
                f"chart.values.b: holds a private key, {OWN_SECRET}",
                f"chart.values.c: holds a Slack token, {OWN_SECRET}",
                f"chart.values.d: holds a Google API key, {OWN_SECRET}",
                f"chart.values.e: holds a JSON Web Token, {OWN_SECRET}",
                f"chart.values.f: holds a GitHub token, {OWN_SECRET}",
            ],
        ),
    ],
)
def test_credentials_found_by_their_shape(values: dict[str, Any], expected: list[str]) -> None:
    assert chart_values_problems(values) == expected


HOST_ADVICE = (
    "remove it: the chart's own pods get what they need of the node from the worksheet (targets.mountpoints, "
    "statePath), no other pod may have it"
)


def test_a_shaped_credential_is_reported_once_with_the_advice_of_its_key() -> None:
    values = {
        "grafana": {"adminPassword": "ghp_" + "x" * 36},
        "env": [{"name": "DB_PASSWORD", "value": "postgres://ais:pw@db/ais"}],
    }
    assert chart_values_problems(values) == [
        f"chart.values.grafana.adminPassword: holds a GitHub token, {PLAIN_TEXT}; remove it and run `pulumi config "
        "set --secret grafanaAdminPassword`",
        f"chart.values.env[0].value: holds a URL with a password in it (user:password@), {OWN_SECRET}",
    ]
    # Stored with --secret, chart.values may hold credentials: none is reported, env vars neither.
    assert chart_values_problems(values, credentials=False) == []
    assert chart_values_problems({"env": [{"name": "DB_PASSWORD", "value": "p"}]}, credentials=False) == []


def test_host_access_through_values_is_refused_but_node_exporters_own_defaults() -> None:
    values = {
        "grafana": {"extraVolumes": [{"name": "r", "hostPath": {"path": "/"}}], "hostIPC": True, "hostNetwork": False},
        "prometheus": {
            "nodeExporter": {"hostNetwork": True, "hostPID": True, "hostPath": "/x"},
            "server": {"securityContext": {"privileged": "true"}},
        },
    }
    assert chart_values_problems(values) == [
        f"chart.values.grafana.extraVolumes[0].hostPath: gives a pod a directory of the node (hostPath); {HOST_ADVICE}",
        f"chart.values.grafana.hostIPC: gives a pod the node's shared memory (hostIPC); {HOST_ADVICE}",
        f"chart.values.prometheus.nodeExporter.hostPath: gives a pod a directory of the node (hostPath); {HOST_ADVICE}",
        "chart.values.prometheus.server.securityContext.privileged: gives a pod every device of the node "
        f"(privileged); {HOST_ADVICE}",
    ]


def test_a_monitoring_claim_mounted_by_another_service_is_refused_but_its_own_persistence() -> None:
    claims = {"graphite": "g-claim", "grafana": "site-grafana"}
    values = {
        "graphite": {"persistence": {"existingClaim": "g-claim"}},  # its own: override_conflicts judges it
        "grafana": {"extraVolumeMounts": [{"existingClaim": "g-claim"}, {"existingClaim": "other"}]},
        "x": [{"claimName": "site-grafana"}, "g-claim"],
    }
    assert shared_claim_problems(values, claims) == [
        "chart.values.grafana.extraVolumeMounts[0].existingClaim: 'g-claim' is monitoring.graphite's claim; a second "
        "service would write into graphite's volume: give it a claim of its own",
        "chart.values.x[0].claimName: 'site-grafana' is monitoring.grafana's claim; a second service would write "
        "into grafana's volume: give it a claim of its own",
    ]
    assert shared_claim_problems(values, {}) == []


def test_credentials_are_not_reported_when_chart_is_stored_as_a_secret() -> None:
    values = {"grafana": {"adminPassword": "pw"}, "nodeSelector": {}, "list": [{"token": "t"}]}
    assert chart_values_problems(values, credentials=False) == [f"chart.values.nodeSelector: {NEVER_SCHEDULED}"]


def test_a_prefix_names_the_values_as_the_caller_wrote_them() -> None:
    assert chart_values_problems({"admin": {"enabled": True}, "password": "p"}, prefix="values.") == [
        f"values.password: {OWN_SECRET}"
    ]


# -- mountpoints ------------------------------------------------------------------------------

NOT_A_VOLUME_NAME = (
    "which Kubernetes refuses: a mountpoint may use only lowercase letters, digits, '-' and '/', "
    "and at most 57 characters"  # 63 less the chart's 'fspath' prefix
)


@pytest.mark.parametrize(
    ("targets", "expected"),
    [
        (None, []),
        ({"mountpoints": "/ais/sda"}, []),
        ({}, []),
        ({"mountpoints": ["/ais/sd[a-j]", "/data-1"]}, []),
        (
            {"mountpoints": ["/mnt/Disk"]},
            [
                "targets.mountpoints[0]: '/mnt/Disk' would make the chart's volume name 'fspath-mnt-Disk', "
                + NOT_A_VOLUME_NAME
            ],
        ),
        # One line per pattern, naming the first mountpoint it makes.
        (
            {"mountpoints": ["/ais/sda", "/mnt/disk_{1..2}"]},
            [
                "targets.mountpoints[1]: the mountpoint '/mnt/disk_1' from pattern '/mnt/disk_{1..2}': '/mnt/disk_1' "
                f"would make the chart's volume name 'fspath-mnt-disk_1', {NOT_A_VOLUME_NAME}"
            ],
        ),
        ({"mountpoints": ["/" + "a" * 56]}, []),
        (
            {"mountpoints": ["/" + "a" * 57]},
            [
                f"targets.mountpoints[0]: '/{'a' * 57}' would make the chart's volume name 'fspath-{'a' * 57}', "
                f"{NOT_A_VOLUME_NAME}"
            ],
        ),
        (
            {"mountpoints": ["/ais/sd-a", "/ais-sd/a"]},
            [
                "targets.mountpoints[1]: '/ais-sd/a' and '/ais/sd-a' (targets.mountpoints[0]) both make the chart's "
                "volume name 'fspath-ais-sd-a'; rename one mount point"
            ],
        ),
        (
            # Every mountpoint of a pattern is checked, against the first that made its name.
            {"mountpoints": ["/x/a-b", "/x/a-c", "/x-a/{b,c}"]},
            [
                "targets.mountpoints[2]: '/x-a/b' and '/x/a-b' (targets.mountpoints[0]) both make the chart's "
                "volume name 'fspath-x-a-b'; rename one mount point",
                "targets.mountpoints[2]: '/x-a/c' and '/x/a-c' (targets.mountpoints[1]) both make the chart's "
                "volume name 'fspath-x-a-c'; rename one mount point",
            ],
        ),
        # A path of a pattern the model refuses is left to it; the pattern's next path is still checked.
        (
            {"mountpoints": ["/ais/{x/../y,Q}"]},
            [
                "targets.mountpoints[0]: the mountpoint '/ais/Q' from pattern '/ais/{x/../y,Q}': '/ais/Q' would make "
                f"the chart's volume name 'fspath-ais-Q', {NOT_A_VOLUME_NAME}"
            ],
        ),
        # A repeated mountpoint is the model's rule, not a volume-name collision.
        ({"mountpoints": ["/ais/sda", "/ais/sda"]}, []),
        # Mountpoints the model refuses are left to it, and the next ones are still checked.
        (
            {"mountpoints": [5, "/ais/sd{a", "ais/Sda", "/ais//Sda", "/ais/Sdb/", "/a/b-c", "/a-b/c"]},
            [
                "targets.mountpoints[6]: '/a-b/c' and '/a/b-c' (targets.mountpoints[5]) both make the chart's volume "
                "name 'fspath-a-b-c'; rename one mount point"
            ],
        ),
        (
            {"mountpoints": ["/mnt/X", "/a/b-c", "/a-b/c"]},
            [
                "targets.mountpoints[0]: '/mnt/X' would make the chart's volume name 'fspath-mnt-X', "
                + NOT_A_VOLUME_NAME,
                "targets.mountpoints[2]: '/a-b/c' and '/a/b-c' (targets.mountpoints[1]) both make the chart's volume "
                "name 'fspath-a-b-c'; rename one mount point",
            ],
        ),
    ],
)
def test_mountpoints_the_chart_names_volumes_after(targets: Any, expected: list[str]) -> None:
    assert mountpoint_problems(targets) == expected


# -- the whole worksheet ----------------------------------------------------------------------


def test_name_overrides_are_refused_before_other_overrides() -> None:
    error = refused(
        {
            "chart": {
                "path": "../chart",
                "values": {"nameOverride": "x", "fullnameOverride": "y", "aiscluster": {"expected_proxy_nodes": 3}},
            }
        }
    )
    assert [str(problem) for problem in error.problems] == [
        "chart.values.fullnameOverride: not supported; node labels and names derive from releaseName, so change "
        "the release name instead",
        "chart.values.nameOverride: not supported; node labels and names derive from releaseName, so change the "
        "release name instead",
    ]
    assert error.waiting == ()


def test_a_broken_worksheet_says_which_chart_rules_wait_for_it() -> None:
    error = refused(
        {
            "releaseName": "Demo_1",
            "existingNamespace": True,
            "chart": {"path": "../chart", "values": {"nodeSelector": {}}},
            "monitoring": {**config()["monitoring"], "grafana": {"existingClaim": "c"}},
        }
    )
    assert [str(problem) for problem in error.problems] == [
        "releaseName: 'Demo_1' is not a DNS label: use at most 63 lowercase letters, digits and '-', starting and "
        "ending with a letter or digit",
        f"chart.values.nodeSelector: {NEVER_SCHEDULED}",
    ]
    # The override rules wait for a whole worksheet, the claim rule for a valid release name.
    assert error.waiting == ("chart.values", "releaseName")


def test_a_credential_in_a_chart_stored_as_a_secret_is_reported_once_as_a_misplaced_secret() -> None:
    changes = {"chart": {"path": "../chart", "values": {"grafana": {"adminPassword": "pw"}}}}
    plain = [str(problem) for problem in refused(changes).problems]
    assert plain == [
        f"chart.values.grafana.adminPassword: {PLAIN_TEXT}; remove it and run "
        "`pulumi config set --secret grafanaAdminPassword`"
    ]
    stored_as_secret = refused(changes, frozenset({"chart"}))
    assert [str(problem) for problem in stored_as_secret.problems] == [
        "chart: is stored as a secret, but only grafanaAdminPassword is handled as one; a secret anywhere else "
        "would reach the release values in plain text, so set it without --secret"
    ]


def test_every_chart_rule_is_run_and_every_problem_kept() -> None:
    changes = {
        "releaseName": "my-graphite",
        "existingNamespace": True,
        "targets": {**config()["targets"], "mountpoints": ["/ais/sd-a", "/ais-sd/a"]},
        "monitoring": {**config()["monitoring"], "grafana": {"existingClaim": "my-graphite-ais-graphite"}},
        "chart": {"path": "../chart", "values": {"nodeSelector": {}}},
    }
    with pytest.raises(WorksheetError) as raised:
        load_worksheet(config(**changes), other_keys=["aisinfr:releaseName", "kubernetes:context"])
    assert [str(problem) for problem in raised.value.problems] == [
        "aisinfr:releaseName: the namespace 'aisinfr' is not 'aisinfra', so nothing reads this key; did you mean "
        "'aisinfra:releaseName'?",
        "targets.mountpoints[1]: '/ais-sd/a' and '/ais/sd-a' (targets.mountpoints[0]) both make the chart's "
        "volume name 'fspath-ais-sd-a'; rename one mount point",
        GRAPHITE_NO_DATA,
        "monitoring.grafana.existingClaim: 'my-graphite-ais-graphite' is the claim this program creates for "
        "monitoring.graphite; both would write into one volume: give grafana a claim of its own",
        f"chart.values.nodeSelector: {NEVER_SCHEDULED}",
    ]


@pytest.mark.parametrize("chart", [{"path": "../chart"}, {"path": "../chart", "values": {}}])
def test_a_broken_worksheet_without_overrides_has_nothing_waiting_for_it(chart: dict[str, Any]) -> None:
    error = refused({"releaseName": "Demo_1", "chart": chart})
    assert error.waiting == ()


def test_monitoring_names_are_judged_on_the_worksheet_monitoring_section() -> None:
    # Monitoring off: 'my-graphite' sends Graphite nothing, since there is no Graphite.
    off = {"enabled": False, "externalGraphite": "graphite.example.com:2003"}
    assert load_worksheet(config(releaseName="my-graphite", monitoring=off)).release_name == "my-graphite"
