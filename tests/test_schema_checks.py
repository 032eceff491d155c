"""The schema check on objects of several kinds, invalid in the ways the Kubernetes API refuses
(unknown field, wrong type, removed or unknown API, missing required field), beside valid objects
of the same kinds and the program's own objects. No chart is needed: the chart's objects are the
fixture's (tests/fixtures/invalid-objects.yaml)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any
from unittest import mock

import kubernetes_validate
import yaml

from aisinfra.chart.rules import load_worksheet
from aisinfra.review import object_checks
from aisinfra.review.chart_render import ChartRendering, ReleaseInputs, RenderedObject
from aisinfra.review.object_checks import Deployment, Problem, clean_text, deployment_problems, schema_problems
from aisinfra.review.render import Rendering, run_program
from aisinfra.review.schemas import StrictSchemas
from aisinfra.worksheet.stackfile import StackConfig
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

Manifest = dict[str, Any]
TARGETS = WORKSHEET_EXAMPLE["aisinfra:targets"]

FIXTURE = Path(__file__).parent / "fixtures" / "invalid-objects.yaml"


def fixture_objects() -> list[RenderedObject]:
    return [RenderedObject(entry["manifest"], entry["source"]) for entry in yaml.safe_load(FIXTURE.read_text())]


def deployment_with(stack: StackConfig, rendering: Rendering, objects: list[RenderedObject]) -> Deployment:
    """The stack's deployment with ``objects`` as the chart's."""
    worksheet = load_worksheet(stack.project_values(), stack.project_secret_keys())
    chart = ChartRendering(Path("chart"), ReleaseInputs.of(rendering), objects)
    return Deployment(stack.path.name, worksheet, rendering, chart)


def test_each_invalid_object_gets_its_first_error_and_valid_ones_none(
    example_stack: StackConfig, example_rendering: Rendering
) -> None:
    """Word for word what the check said when it ran ``kubernetes_validate.validate`` object by
    object (read off commit 0246c2d): one problem per invalid object, its first error, in the
    objects' order; the program's own objects (Namespace, volumes, claims, preflight Jobs) are valid."""
    deployment = deployment_with(example_stack, example_rendering, fixture_objects())
    assert schema_problems(deployment) == [
        Problem(
            "Deployment ais/unknown-field",
            "chart.path",
            "spec.template.spec.containers[0]: Additional properties are not allowed ('imagePullPolicyy' was "
            "unexpected)",
        ),
        Problem("Deployment ais/two-errors", "chart.path", "spec.replicas: 'three' is not of type 'integer', 'null'"),
        Problem(
            "StatefulSet ais/demo-ais-target",
            "targets.initialCount",
            "spec.replicas: 'twelve' is not of type 'integer', 'null'",
        ),
        Problem(
            "StatefulSet ais/demo-ais-proxy",
            "images.aisnode",
            "spec.template.spec.containers[0].image: 5 is not of type 'string', 'null'",
        ),
        Problem(
            "ClusterRole removed-api",
            "chart.path",
            "Kubernetes 1.30 does not serve ClusterRole in rbac.authorization.k8s.io/v1beta1 "
            "(a removed or unknown API)",
        ),
        Problem(
            "PodDisruptionBudget ais/removed-api",
            "chart.path",
            "Kubernetes 1.30 does not serve PodDisruptionBudget in policy/v1beta1 (a removed or unknown API)",
        ),
        Problem(
            "ServiceMonitor ais/unknown-api",
            "chart.path",
            "Kubernetes 1.30 does not serve ServiceMonitor in monitoring.coreos.com/v1 (a removed or unknown API)",
        ),
        Problem("Service ais/missing-port", "chart.path", "spec.ports[0]: 'port' is a required property"),
        Problem("ConfigMap ais/wrong-type", "chart.path", "data.count: 3 is not of type 'string', 'null'"),
        Problem(
            "Pod ais/missing-name",
            "chart.path",
            "metadata: Additional properties are not allowed ('labelz' was unexpected)",
        ),
    ]


def test_each_schema_is_loaded_once_and_each_object_validated_once(make_stack: Any) -> None:
    """Many objects of few kinds: a preflight Job for each of 60 nodes and the fixture's objects
    three times over. Each kind's schema (and the version's definitions) is read once, however
    many objects share it; a kind the version does not serve is looked for once."""
    stack = make_stack(worksheet(targets={**TARGETS, "nodes": ["cpu{01..60}"]}))
    deployment = deployment_with(stack, run_program(stack), fixture_objects() * 3)
    objects = deployment.chart_objects() + deployment.program_objects()
    apis = {(rendered.manifest["apiVersion"], rendered.kind) for rendered in objects}
    assert len(objects) >= 5 * len(apis)
    loads, validated = Counter[str](), list[Manifest]()

    def load(filename: str, desired_version: str) -> Any:
        loads[filename] += 1
        return read_schema(filename, desired_version)

    def validate(schemas: StrictSchemas, manifest: Manifest) -> None:
        validated.append(manifest)
        check(schemas, manifest)

    read_schema, check = kubernetes_validate.utils.schema_contents, StrictSchemas.validate
    with (
        mock.patch.object(kubernetes_validate.utils, "schema_contents", load),
        mock.patch.object(StrictSchemas, "validate", validate),
    ):
        problems = schema_problems(deployment)
    assert len(problems) == 3 * 10
    assert len(loads) == len(apis) + 1 and set(loads.values()) == {1}, loads  # the kinds' and the definitions
    assert validated == [rendered.manifest for rendered in objects]  # each object once


def test_the_programs_objects_are_made_once_however_many_checks_ask(make_stack: Any) -> None:
    """Every check goes through the program's objects (a preflight Job per node): they are made,
    their secrets shaped, once."""
    stack = make_stack(worksheet(targets={**TARGETS, "nodes": ["cpu{01..60}"]}))
    deployment = deployment_with(stack, run_program(stack), fixture_objects())
    made = Counter[str]()

    def rendered_object(manifest: Manifest, source: str) -> RenderedObject:
        made[source] += 1
        return RenderedObject(manifest, source)

    with mock.patch.object(object_checks, "RenderedObject", rendered_object):
        deployment_problems(deployment)
        clean_text(deployment)
    program = [source for source in made if source.startswith("program: ")]
    assert len(program) > 60 and {made[source] for source in program} == {1}
