"""The kubernetes-validate internals aisinfra/review/schemas.py relies on.

``StrictSchemas`` builds its validators the way ``kubernetes_validate.validate`` does, from the
package's schema files; if an upgrade changes the files' layout, the helpers it calls or the way
``validate`` builds a validator, these fail naming the installed version."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any
from unittest import mock

import jsonschema
import kubernetes_validate
import pytest

from aisinfra.review.schemas import NoSchemasError, StrictSchemas, reads_strings, shape_of, supported_versions
from aisinfra.worksheet.model import DEFAULT_KUBERNETES_VERSION
from tests.test_schema_checks import fixture_objects

PACKAGE = f"kubernetes-validate {version('kubernetes-validate')}"
# The oldest, the default and the newest version there are schemas for.
VERSIONS = sorted({supported_versions()[0], DEFAULT_KUBERNETES_VERSION, supported_versions()[-1]})
Manifest = dict[str, Any]

NAMESPACE: Manifest = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ais"}}


def outcome(check: Any) -> tuple[Any, ...]:
    """What ``check()`` found: nothing, an API not served, or the error (where, what, which version)."""
    try:
        check()
    except kubernetes_validate.SchemaNotFoundError as error:
        return ("not served", error.message)
    except kubernetes_validate.ValidationError as error:
        return ("invalid", list(error.path), error.message, error.version)
    return ("valid",)


@pytest.mark.parametrize("kubernetes_version", VERSIONS)
def test_strict_schemas_find_what_validate_finds(kubernetes_version: str) -> None:
    """Every object of the fixture (each kind of problem, valid objects too): the same outcome,
    error and message as the package's own ``validate``."""
    manifests = [rendered.manifest for rendered in fixture_objects()]
    schemas = StrictSchemas(kubernetes_version)
    for manifest in manifests:
        ours = outcome(lambda manifest=manifest: schemas.validate(manifest))
        theirs = outcome(lambda manifest=manifest: kubernetes_validate.validate(manifest, kubernetes_version, True))
        assert ours == theirs, f"{PACKAGE}: {manifest['kind']} {manifest['metadata']['name']}"


def test_every_version_the_package_names_has_strict_schemas_where_they_are_looked_for() -> None:
    for minor in supported_versions():
        assert outcome(lambda minor=minor: StrictSchemas(minor).validate(NAMESPACE)) == ("valid",), (
            f"{PACKAGE}: {minor}"
        )


@pytest.mark.parametrize("kubernetes_version", ["1.12", "1.99"])
def test_a_version_without_schemas_is_refused(kubernetes_version: str) -> None:
    with pytest.raises(NoSchemasError):
        StrictSchemas(kubernetes_version)


# -- validity by shape -------------------------------------------------------------------------

JOB: Manifest = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "preflight-cpu01", "namespace": "ais", "labels": {"app": "check"}},
    "spec": {
        "backoffLimit": 0,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "check", "image": "busybox:1.36.1", "command": ["sh", "-c", "true", "cpu01"]}],
            }
        },
    },
}


def with_strings(value: Any, rename: Any) -> Any:
    """``value`` with each string ``rename(string)``, keys kept."""
    if isinstance(value, str):
        return rename(value)
    if isinstance(value, dict):
        return {key: with_strings(item, rename) for key, item in value.items()}
    if isinstance(value, list):
        return [with_strings(item, rename) for item in value]
    return value


def validations(schemas: StrictSchemas, manifests: list[Manifest]) -> tuple[list[tuple[Any, ...]], int]:
    """What ``schemas`` found for each manifest, and how many times a validator ran."""
    ran = 0
    validate = jsonschema.Draft202012Validator.validate

    def counted(validator: Any, instance: Any) -> None:
        nonlocal ran
        ran += 1
        validate(validator, instance)

    with mock.patch.object(jsonschema.Draft202012Validator, "validate", counted):
        found = [outcome(lambda manifest=manifest: schemas.validate(manifest)) for manifest in manifests]
    return found, ran


def test_objects_of_a_shape_found_valid_are_valid_without_validating_again() -> None:
    """A Job's schema reads no string: Jobs that differ only in what their strings say are
    validated once; the package's own validate agrees on every one."""
    jobs = [with_strings(JOB, lambda text, n=n: text.replace("cpu01", f"node-{n}")) for n in range(5)]
    # No pattern or length is checked (but the kind and apiVersion pick the schema).
    jobs.append({**with_strings(JOB, lambda text: "x" * 300 + text.upper()), "apiVersion": "batch/v1", "kind": "Job"})
    found, ran = validations(StrictSchemas(DEFAULT_KUBERNETES_VERSION), jobs)
    assert found == [("valid",)] * len(jobs)
    assert ran == 1
    for job in jobs:
        assert outcome(lambda job=job: kubernetes_validate.validate(job, DEFAULT_KUBERNETES_VERSION, True)) == (
            "valid",
        ), PACKAGE


def test_an_object_of_another_shape_is_validated_and_gets_its_own_error() -> None:
    unknown_field = with_strings(JOB, lambda text: text)
    unknown_field["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    a_number = with_strings(JOB, lambda text: text)
    a_number["spec"]["template"]["spec"]["containers"][0]["image"] = 5
    manifests = [JOB, unknown_field, a_number, unknown_field]
    found, ran = validations(StrictSchemas(DEFAULT_KUBERNETES_VERSION), manifests)
    assert found == [
        outcome(lambda manifest=manifest: kubernetes_validate.validate(manifest, DEFAULT_KUBERNETES_VERSION, True))
        for manifest in manifests
    ], PACKAGE
    assert [entry[0] for entry in found] == ["valid", "invalid", "invalid", "invalid"]
    assert ran == 4  # an invalid shape is never taken as valid


def test_a_kind_whose_schema_reads_strings_is_validated_object_by_object() -> None:
    """A StatefulSet's claim templates are objects whose apiVersion and kind the schema reads."""
    statefulset: Manifest = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "s"},
        "spec": {
            "selector": {},
            "serviceName": "s",
            "template": {},
            "volumeClaimTemplates": [{"apiVersion": "v1", "kind": "PersistentVolumeClaim"}],
        },
    }
    wrong_version = with_strings(statefulset, lambda text: "v2" if text == "v1" else text)
    schemas = StrictSchemas(DEFAULT_KUBERNETES_VERSION)
    found, ran = validations(schemas, [statefulset, wrong_version])
    theirs = [
        outcome(lambda manifest=manifest: kubernetes_validate.validate(manifest, DEFAULT_KUBERNETES_VERSION, True))
        for manifest in (statefulset, wrong_version)
    ]
    assert found == theirs and [entry[0] for entry in found] == ["valid", "invalid"], PACKAGE
    assert ran == 2


DEFINITIONS = {
    "Plain": {"type": "object", "properties": {"name": {"type": "string"}}},
    "Named": {"type": "object", "properties": {"name": {"type": "string", "pattern": "^[a-z]+$"}}},
    "Loop": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Loop"}, "n": {"type": "integer"}}},
}


@pytest.mark.parametrize(
    ("schema", "reads"),
    [
        (
            {"properties": {"apiVersion": {"enum": ["v1"]}, "kind": {"const": "X"}, "a": {"$ref": "#/$defs/Plain"}}},
            False,
        ),
        ({"properties": {"a": {"$ref": "/api/_definitions.json#/$defs/Loop"}}}, False),  # a loop ends
        ({"properties": {"a": {"properties": {"kind": {"enum": ["X"]}}}}}, True),  # not the object's own kind
        ({"properties": {"a": {"items": {"$ref": "#/$defs/Named"}}}}, True),
        ({"properties": {"a": {"$ref": "#/$defs/Missing"}}}, True),
        ({"properties": {"a": {"$ref": "https://example.com/x.json"}}}, True),
        ({"oneOf": [{"type": "integer"}, {"type": "string", "maxLength": 3}]}, True),
        ({"additionalProperties": {"type": "array", "uniqueItems": True}}, True),
        ({"patternProperties": {"^x-": {"const": "y"}}}, True),
        ({"properties": {"a": {"type": "string", "format": "date-time"}}}, False),  # only annotates
    ],
)
def test_reads_strings_follows_every_subschema_and_reference(schema: Manifest, reads: bool) -> None:
    assert reads_strings(schema, DEFINITIONS) is reads


def test_a_shape_keeps_everything_but_what_strings_say() -> None:
    assert shape_of({"a": "x", "b": [1, 1.0, True, None, "y"]}) == shape_of({"a": "z", "b": [1, 1.0, True, None, ""]})
    for other in ({"a": "x", "b": [1, 1.0, True, None]}, {"a": 1, "b": [1, 1.0, True, None, "y"]}):
        assert shape_of(other) != shape_of({"a": "x", "b": [1, 1.0, True, None, "y"]})
    assert shape_of({"a": 1}) != shape_of({"a": 1.0}) != shape_of({"a": True})
    assert shape_of({"when": object()}) is None
