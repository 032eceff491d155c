"""Rendering the real chart as the Release renders it: Helm's engine, Helm's manifest order and
hook split, then the Release's own post-renderer executable as a subprocess.

Expected names and labels are written out from the chart's documented rules
(``../shared/reference/ais-chart/README.md``), never computed with the program's naming code.
"""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.cli import main
from aisinfra.review import chart_render, yaml_out
from aisinfra.review.chart_render import (
    HOW_TO_GET_THE_CHART,
    ChartRenderError,
    ChartUnavailableError,
    ReleaseInputs,
    locate_chart,
    render_release,
    run_postrenderer,
    sort_manifests,
)
from aisinfra.review.manifests import RELEASE_HOOKS_FILE, RELEASE_OBJECTS_FILE, layer
from aisinfra.worksheet.stackfile import PROJECT_DIR
from tests.conftest import not_reviewed, worksheet

Manifest = dict[str, Any]
POSTRENDER = "./aisinfra/chart/bin/postrender"


def by_kind_and_name(objects: list[chart_render.RenderedObject]) -> dict[tuple[str, str], Manifest]:
    return {(rendered.kind, rendered.name): rendered.manifest for rendered in objects}


def pod_spec(manifest: Manifest) -> Manifest:
    spec: Manifest = manifest["spec"]["template"]["spec"]
    return spec


def release(**changes: Any) -> ReleaseInputs:
    inputs: dict[str, Any] = {
        "name": "demo",
        "namespace": "ais",
        "chart": "../no-such-checkout/helm/ais/charts",
        "values": {},
        "postrender": POSTRENDER,
    }
    return ReleaseInputs(**{**inputs, **changes})


def test_the_example_stack_gets_the_charts_objects_repaired_by_the_post_renderer(
    render_stack: Any, chart_dir: Path
) -> None:
    chart = render_release(render_stack(worksheet()), chart_dir)
    objects = by_kind_and_name(chart.objects)
    target, proxy = objects["StatefulSet", "demo-ais-target"], objects["StatefulSet", "demo-ais-proxy"]
    assert (target["metadata"]["namespace"], target["spec"]["replicas"]) == ("ais", 12)
    assert pod_spec(target)["nodeSelector"] == {"nvidia.com/ais-target": "demo-ais"}
    assert (proxy["metadata"]["namespace"], proxy["spec"]["replicas"]) == ("ais", 12)
    assert pod_spec(proxy)["nodeSelector"] == {"nvidia.com/ais-proxy": "demo-ais-electable"}
    # The post-renderer ran: mounts name their volumes, anti-affinity uses a real node label,
    # cluster-scoped names carry namespace and release, no PodSecurityPolicy or v1beta1 RBAC is left.
    disks = [f"fspath-ais-sd{disk}" for disk in "abcdefghij"]
    assert [mount["name"] for mount in pod_spec(target)["containers"][0]["volumeMounts"]][-10:] == disks
    assert [term["topologyKey"] for term in pod_spec(target)["affinity"]["podAntiAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]] == ["kubernetes.io/hostname"]  # fmt: skip
    assert {("ClusterRole", "ais.demo.ais-cr"), ("ClusterRoleBinding", "ais.demo.ais-crb")} <= objects.keys()
    assert ("StorageClass", "ais.demo.local-storage") in objects
    assert [key for key in objects if key[0] == "PodSecurityPolicy"] == []
    assert [m["apiVersion"] for m in objects.values() if m["apiVersion"].endswith("v1beta1")] == []
    # Cluster-scoped objects have no namespace; every namespaced one is in the release's.
    assert objects["ClusterRole", "ais.demo.ais-cr"]["metadata"].get("namespace") is None
    assert {m["metadata"]["namespace"] for m in objects.values() if m["kind"] == "ConfigMap"} == {"ais"}
    # grafana's test Pod is a hook: kept apart, never post-rendered, not run by an install.
    assert [(hook.manifest["kind"], hook.manifest["metadata"]["name"], hook.events) for hook in chart.hooks] == [
        ("Pod", "demo-grafana-test", ("test-success",))
    ]
    assert not chart.hooks[0].runs_on_install


def test_monitoring_off_renders_no_subchart_object(render_stack: Any, chart_dir: Path) -> None:
    config = worksheet(monitoring={"enabled": False, "externalGraphite": "graphite.example.com:2003"})
    chart = render_release(render_stack(config), chart_dir)
    assert [rendered.source for rendered in chart.objects if "/charts/" in rendered.source] == []
    assert {layer(rendered.source) for rendered in chart.objects} == {"proxy", "target", "other"}
    assert chart.hooks == []


def test_helm_fails_where_the_chart_fails_without_the_programs_graphite_workaround(
    render_stack: Any, chart_dir: Path
) -> None:
    rendering = render_stack(worksheet())
    values = rendering.release().inputs["values"]
    del values["graphite"]["graphite"]
    with pytest.raises(ChartRenderError, match=r"nil pointer evaluating interface \{\}\.affinity"):
        render_release(rendering, chart_dir)


def test_manifests_are_split_and_ordered_as_helm_hands_them_to_the_post_renderer() -> None:
    files = {
        "c/templates/NOTES.txt": "Thanks for installing",
        "c/templates/_helpers.tpl": "kind: ConfigMap",
        "c/templates/empty.yaml": "\n  \n",
        "c/templates/b.yaml": "kind: Widget\nmetadata: {name: w}\n---\nkind: Deployment\nmetadata: {name: d}",
        "c/templates/a.yaml": "---\nkind: Deployment\nmetadata: {name: a}\n---\nkind: ServiceAccount\n--- \n",
        "c/templates/test.yaml": "kind: Pod\nmetadata:\n  name: t\n  annotations: {helm.sh/hook: test-success}",
        "c/templates/gadget.yaml": "kind: Gadget",
    }
    stream, hooks = sort_manifests(files)
    assert stream == (
        "---\n# Source: c/templates/a.yaml\nkind: ServiceAccount\n"
        "---\n# Source: c/templates/a.yaml\nkind: Deployment\nmetadata: {name: a}\n"
        "---\n# Source: c/templates/b.yaml\nkind: Deployment\nmetadata: {name: d}\n"
        "---\n# Source: c/templates/gadget.yaml\nkind: Gadget\n"
        "---\n# Source: c/templates/b.yaml\nkind: Widget\nmetadata: {name: w}\n"
    )
    assert [(hook.source, hook.events) for hook in hooks] == [("c/templates/test.yaml", ("test-success",))]


def executable(path: Path, script: str) -> Path:
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_the_post_renderer_runs_by_path_with_no_arguments_from_the_project_dir(tmp_path: Path) -> None:
    script = executable(tmp_path / "show", 'echo "args=$# cwd=$(pwd)"; cat')
    assert run_postrenderer(script, "kind: X\n", tmp_path) == f"args=0 cwd={tmp_path}\nkind: X\n"


def test_a_failing_post_renderer_fails_render_with_its_message(tmp_path: Path) -> None:
    script = executable(tmp_path / "refuse", "echo 'aisinfra postrender: document 1: bad' >&2; exit 1")
    with pytest.raises(ChartRenderError, match=r"failed \(exit 1\).*\naisinfra postrender: document 1: bad"):
        run_postrenderer(script, "kind: X\n", tmp_path)
    with pytest.raises(ChartRenderError, match="cannot run the post-renderer"):
        run_postrenderer(tmp_path / "missing", "", tmp_path)


def test_a_missing_local_chart_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(ChartUnavailableError) as error:
        locate_chart(release(), project_dir=tmp_path)
    message = str(error.value)
    assert message.startswith("chart.path '../no-such-checkout/helm/ais/charts': no chart at ")
    assert "31a311102d1c430b275fea3f695bc38ac074eb60" in message and "--chart DIR" in message


def test_a_repository_chart_is_rendered_only_from_a_local_copy(tmp_path: Path, chart_dir: Path) -> None:
    remote = release(chart="ais", repo="https://charts.example.com", version="0.1.0")
    with pytest.raises(ChartUnavailableError, match=r"helm pull ais --repo https://charts.example.com --version 0.1"):
        locate_chart(remote, project_dir=tmp_path)
    assert locate_chart(remote, chart_dir) == chart_dir
    with pytest.raises(ChartUnavailableError, match=r"chart.version is 0.2.0, but the chart at .* is version 0.1.0"):
        chart_render.helm_manifests(chart_dir, release(chart="ais", repo="https://c.example.com", version="0.2.0"))


def test_an_oci_chart_is_rendered_only_from_a_local_copy(tmp_path: Path, chart_dir: Path) -> None:
    remote = release(chart="oci://registry.example.com/charts/ais", version="0.1.0")
    with pytest.raises(ChartUnavailableError) as error:
        locate_chart(remote, project_dir=tmp_path)
    assert str(error.value) == (
        "the chart comes from the OCI registry oci://registry.example.com/charts/ais (chart.version 0.1.0), which "
        "render does not fetch: get a copy with `helm pull oci://registry.example.com/charts/ais --version 0.1.0 "
        "--untar` and pass --chart DIR"
    )
    assert locate_chart(remote, chart_dir) == chart_dir


def test_a_chart_without_its_subcharts_is_refused_with_the_command_that_fetches_them(tmp_path: Path) -> None:
    (tmp_path / "Chart.yaml").write_text("apiVersion: v1\nname: app\nversion: 0.1.0\n")
    dependency = {"name": "grafana", "version": ">=2.2.1", "repository": "https://charts.helm.sh/stable"}
    (tmp_path / "requirements.yaml").write_text(yaml.safe_dump({"dependencies": [dependency]}))
    (tmp_path / "templates").mkdir()
    with pytest.raises(ChartUnavailableError, match=rf"lacks its subcharts grafana .*helm dependency build {tmp_path}"):
        chart_render.helm_manifests(tmp_path, release(dependency_update=True))


def test_render_writes_every_object_with_secrets_redacted(tmp_path: Path, chart_dir: Path, capsys: Any) -> None:
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": worksheet()}))
    out = tmp_path / "out"
    assert main(["--stacks-dir", str(tmp_path), "render", "dev", "--chart", str(chart_dir), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Release demo in namespace ais: 54 objects from the chart at" in printed
    assert "StatefulSet         1      1       1           -      3" in printed
    # 54 from the chart (with the dashboard sidecar's provider); from the program the Namespace,
    # Graphite's and Grafana's PV and claim, the two dashboards' ConfigMaps, and a preflight Job for
    # each of the 12 target nodes.
    assert printed.endswith(
        "\nNo problems in the 73 objects the cluster would get (the chart's and the program's), checked against "
        "Kubernetes 1.30's schemas, the nodes the program labels, and each other: volume mounts, claims, host "
        "paths, topology keys and references\n"
    )
    objects = list(yaml.safe_load_all((out / RELEASE_OBJECTS_FILE).read_text()))
    assert len(objects) == 54
    secret = next(manifest for manifest in objects if manifest["kind"] == "Secret")
    assert secret["metadata"]["name"] == "demo-grafana"
    assert set(secret["data"].values()) == {"[secret]"}
    assert [hook["metadata"]["name"] for hook in yaml.safe_load_all((out / RELEASE_HOOKS_FILE).read_text())] == [
        "demo-grafana-test"
    ]


def test_render_without_the_chart_says_how_to_get_it_and_shows_the_rest(tmp_path: Path, capsys: Any) -> None:
    config = worksheet(chart={"path": "../no-such-checkout/helm/ais/charts"})
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / RELEASE_OBJECTS_FILE).write_text("kind: ConfigMap\n")  # an earlier render's
    assert main(["--stacks-dir", str(tmp_path), "render", "dev", "--out", str(tmp_path / "out")]) == 3
    captured = capsys.readouterr()
    assert captured.out.endswith(
        "\nNot reviewed: the chart's objects are not rendered, so none of them was checked: chart.path "
        f"'../no-such-checkout/helm/ais/charts': no chart at {PROJECT_DIR}/../no-such-checkout/helm/ais/charts; "
        f"{HOW_TO_GET_THE_CHART}.\n"
    )
    assert "Node labels:" in captured.out
    assert not (tmp_path / "out" / RELEASE_OBJECTS_FILE).exists()


def test_render_fails_naming_the_object_and_the_key_of_an_invalid_object(
    tmp_path: Path, chart_dir: Path, capsys: Any
) -> None:
    config = worksheet(chart={"path": str(chart_dir), "values": {"aiscluster": {"image": {"pullPolicy": 5}}}})
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump({"config": config}))
    assert main(["--stacks-dir", str(tmp_path), "render", "dev", "--out", str(tmp_path / "out")]) == 1
    printed = capsys.readouterr().out
    assert printed.endswith(
        "2 problem(s) in the objects the cluster would get (worksheet key in brackets):\n"
        "StatefulSet ais/demo-ais-proxy: spec.template.spec.containers[0].imagePullPolicy: "
        "5 is not of type 'string', 'null' [chart.values]\n"
        "StatefulSet ais/demo-ais-target: spec.template.spec.containers[0].imagePullPolicy: "
        "5 is not of type 'string', 'null' [chart.values]\n"
    )
    assert (tmp_path / "out" / RELEASE_OBJECTS_FILE).is_file()  # written, to be looked at


def test_check_renders_every_stack_that_has_a_chart(tmp_path: Path, chart_dir: Path, capsys: Any) -> None:
    def write(name: str, config: dict[str, Any]) -> None:
        (tmp_path / f"Pulumi.{name}.yaml").write_text(yaml.safe_dump({"config": config}))

    write("dev", worksheet(chart={"path": str(chart_dir)}))
    prod = {"releaseName": "prod", "namespace": "ais-prod", "targets": {"nodes": ["gpu1"], "mountpoints": ["/d1"]}}
    monitoring = {
        "graphite": {"node": "gpu1", "path": "/data/graphite", "size": "1Gi"},
        "grafana": {"node": "gpu1", "path": "/data/grafana", "size": "1Gi"},
    }
    write(
        "prod",
        worksheet(
            **prod, proxies={"nodes": ["gpu1"]}, monitoring=monitoring, chart={"path": "../no-such-checkout/charts"}
        ),
    )
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 3
    captured = capsys.readouterr()
    assert captured.out == f"checked 2 stack(s): no problems{not_reviewed('Pulumi.prod.yaml')}\n"
    assert captured.err.startswith("Pulumi.prod.yaml: objects not rendered: chart.path '../no-such-checkout/charts'")
    # With the chart, the second stack renders too; an invalid object is a problem of its stack.
    values = {"target": {"resources": {"limits": {"memory": ["8Gi"]}}}}
    prod_chart = {"path": str(chart_dir), "values": values}
    write("prod", worksheet(**prod, proxies={"nodes": ["gpu1"]}, monitoring=monitoring, chart=prod_chart))
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 1
    assert (
        capsys.readouterr()
        .out.splitlines()[0]
        .startswith(
            "Pulumi.prod.yaml: StatefulSet ais-prod/prod-ais-target: spec.template.spec.containers[0].resources.limits"
            ".memory: ['8Gi'] is not "
        )
    )


@pytest.mark.parametrize("package", ["helm_python", "kubernetes_validate"])
def test_the_commands_without_the_review_packages_say_how_to_get_them(package: str) -> None:
    """A virtualenv made from requirements.txt alone, as `pulumi` makes it, lacks them."""
    program = f"import runpy, sys; sys.modules[{package!r}] = None; runpy.run_module('aisinfra', run_name='__main__')"
    result = subprocess.run(
        [sys.executable, "-c", program, "check"], cwd=PROJECT_DIR, capture_output=True, text=True, check=False
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: the Python package '{package}' is not installed in this environment; `make render` installs "
        "what the commands need (requirements-review.txt)\n"
    )


def test_yaml_helm_cannot_read_fails_the_render_naming_where() -> None:
    with pytest.raises(ChartRenderError, match=r"^YAML parse error in the chart's template c/templates/a.yaml: "):
        sort_manifests({"c/templates/a.yaml": "kind: ConfigMap\nmetadata: {name: [a\n"})
    with pytest.raises(
        ChartRenderError, match=r"^the chart.s template c/templates/b.yaml renders a list, not a Kubernetes object$"
    ):
        sort_manifests({"c/templates/b.yaml": "- kind: ConfigMap\n"})
    with pytest.raises(ChartRenderError, match=r"^YAML parse error in document 2 of the post-renderer's output: "):
        chart_render.parse_stream("---\nkind: A\n---\nkind: [B\n")


def test_the_charts_objects_are_read_by_libyaml_as_pyyamls_own_parser_reads_them(
    render_stack: Any, chart_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every template document and every object of the post-renderer's output of the example
    stack: the same values whichever parser reads them; the message for YAML libyaml refuses is
    PyYAML's, as before."""
    templates: list[dict[str, str]] = []
    streams: list[str] = []
    sort, postrender = chart_render.sort_manifests, chart_render.run_postrenderer

    def sorting(files: dict[str, str]) -> Any:
        templates.append(files)
        return sort(files)

    def postrendering(*args: Any) -> str:
        streams.append(postrender(*args))
        return streams[-1]

    monkeypatch.setattr(chart_render, "sort_manifests", sorting)
    monkeypatch.setattr(chart_render, "run_postrenderer", postrendering)
    assert len(render_release(render_stack(worksheet()), chart_dir).objects) > 40
    monkeypatch.setattr(chart_render, "sort_manifests", sort)

    def read() -> tuple[Any, ...]:
        stream, hooks = sort(templates[0])
        return stream, hooks, [(o.manifest, o.source) for o in chart_render.parse_stream(streams[0])]

    fast = read()
    monkeypatch.setattr(yaml_out, "LOADER", yaml.SafeLoader)
    assert fast == read()
    broken = "kind: ConfigMap\nmetadata: {name: [a\n"
    with pytest.raises(yaml.YAMLError) as pyyaml_says:
        yaml.safe_load(broken)
    with pytest.raises(ChartRenderError) as render_says:
        sort_manifests({"c/templates/a.yaml": broken})
    assert str(render_says.value).endswith(" ".join(str(pyyaml_says.value).split()))
