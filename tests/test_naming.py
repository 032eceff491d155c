from pathlib import Path

import pytest
import yaml

from aisinfra.chart import naming

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("release", "fullname"),
    [
        ("demo", "demo-ais"),
        ("prod-aistore", "prod-aistore"),
        ("aistore", "aistore"),
        ("mais", "mais"),  # contains "ais", as the chart tests it: no suffix
        ("x" * 53, ("x" * 53 + "-ais")[:63]),
        ("a" * 59 + "-", "a" * 59 + "--ai"),  # "<59 a>--ais" is 64 characters: cut to 63
    ],
)
def test_fullname_follows_the_chart_template(release: str, fullname: str) -> None:
    assert naming.fullname(release) == fullname


def test_fullname_trims_one_trailing_dash_after_truncation() -> None:
    release = "b" * 61 + "-a"  # "<61 b>-a-ais" cut to 63 is "<61 b>-a", nothing to trim
    assert naming.fullname(release) == "b" * 61 + "-a"
    release = "c" * 62 + "-"  # "<62 c>--ais" cut to 63 is "<62 c>-", trimmed once
    assert naming.fullname(release) == "c" * 62


@pytest.mark.parametrize(
    ("fixture", "release"),
    [("chart-selectors-demo.yaml", "demo"), ("chart-selectors-prod-aistore.yaml", "prod-aistore")],
)
def test_label_values_match_the_chart_selectors(fixture: str, release: str) -> None:
    """The fixtures hold the nodeSelectors the chart renders for each release (written from
    the chart's templates), so a wrong derivation shows up as a mismatch here."""
    selectors = {
        document["metadata"]["name"]: document["spec"]["template"]["spec"]["nodeSelector"]
        for document in yaml.safe_load_all((FIXTURES / fixture).read_text())
    }
    fullname = naming.fullname(release)
    assert selectors[f"{fullname}-target"] == {naming.TARGET_LABEL_KEY: naming.target_label_value(release)}
    assert selectors[f"{fullname}-proxy"] == {naming.PROXY_LABEL_KEY: naming.proxy_label_value(release)}


def test_endpoint_and_selectors() -> None:
    assert naming.proxy_endpoint("demo", "ais") == "http://demo-ais-proxy.ais:51080"
    assert naming.label_selectors("prod-aistore") == {
        "target": "nvidia.com/ais-target=prod-aistore",
        "proxy": "nvidia.com/ais-proxy=prod-aistore-electable",
        "initialPrimary": "nvidia.com/ais-initial-primary-proxy=prod-aistore",
    }


def test_volume_names_are_unique_to_namespace_and_release() -> None:
    assert naming.monitoring_volume_name("demo", "ais", "graphite") == "ais.demo.demo-ais-graphite"
    assert naming.monitoring_volume_name("demo", "ais2", "graphite") == "ais2.demo.demo-ais-graphite"
    # With dashes these two would both have been "ais-x-demo-ais-grafana".
    assert naming.monitoring_volume_name("demo", "ais-x", "grafana") != naming.monitoring_volume_name(
        "x-demo", "ais", "grafana"
    )


def test_mountpoint_volume_names_follow_the_chart() -> None:
    assert naming.mountpoint_volume_name("/ais/sda") == "fspath-ais-sda"


@pytest.mark.parametrize(
    ("release", "graphite", "prometheus_server"),
    [
        ("demo", "demo-graphite", "demo-prometheus-server"),
        ("graphite-a", "graphite-a", "graphite-a-prometheus-server"),
        ("prometheus", "prometheus-graphite", "prometheus-server"),
        # Cut to 63 characters, then one trailing '-' trimmed.
        ("x" * 62, "x" * 62, "x" * 62),
        ("x" * 60, "x" * 60 + "-gr", "x" * 60 + "-pr"),
    ],
)
def test_subchart_names_follow_their_templates(release: str, graphite: str, prometheus_server: str) -> None:
    assert naming.graphite_fullname(release) == graphite
    assert naming.prometheus_server_fullname(release) == prometheus_server


def test_the_chart_names_its_statefulsets_and_services_after_the_release() -> None:
    assert naming.statefulset_names("demo", monitoring=True) == {
        "target": "demo-ais-target",
        "proxy": "demo-ais-proxy",
        "Graphite": "demo-graphite",
    }
    assert naming.statefulset_names("prod-aistore", monitoring=False) == {
        "target": "prod-aistore-target",
        "proxy": "prod-aistore-proxy",
    }
    assert naming.service_names("demo") == ["demo-ais-proxy", "demo-ais-proxy-external", "demo-ais-target"]
