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
    assert naming.label_selectors("prod-aistore", "lab") == {
        "target": "nvidia.com/ais-target=prod-aistore,aisinfra/cluster=lab.prod-aistore",
        "proxy": "nvidia.com/ais-proxy=prod-aistore-electable,aisinfra/cluster=lab.prod-aistore",
        "initialPrimary": "nvidia.com/ais-initial-primary-proxy=prod-aistore",
        "cluster": "aisinfra/cluster=lab.prod-aistore",
    }


def test_releases_with_one_fullname_get_different_cluster_labels() -> None:
    """``demo`` and ``demo-ais`` share the chart's label values; the cluster label tells them apart,
    in one namespace or two."""
    assert naming.target_label_value("demo") == naming.target_label_value("demo-ais") == "demo-ais"
    assert naming.target_node_labels("demo", "ais") == {
        "nvidia.com/ais-target": "demo-ais",
        "aisinfra/cluster": "ais.demo",
    }
    assert naming.proxy_node_labels("demo-ais", "ais") == {
        "nvidia.com/ais-proxy": "demo-ais-electable",
        "aisinfra/cluster": "ais.demo-ais",
    }
    assert naming.cluster_label_value("ais2", "demo") == "ais2.demo"


def test_a_cluster_label_too_long_for_a_label_value_is_cut_with_a_digest() -> None:
    namespace, release = "n" * 40, "r" * 30  # "<40 n>.<30 r>" is 71 characters
    value = naming.cluster_label_value(namespace, release)
    # sha256("<40 n>.<30 r>") starts b3d770559e.
    assert value == "n" * 40 + "." + "r" * 11 + "-b3d770559e"
    assert len(value) == 63
    # Same first 52 characters, other release: another digest.
    assert naming.cluster_label_value(namespace, "r" * 31) != value
    assert naming.cluster_label_value("n" * 30, "r" * 32) == "n" * 30 + "." + "r" * 32  # 63: fits as it is


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
