"""The kubernetes-validate internals aisinfra/review/schemas.py relies on.

``StrictSchemas`` builds its validators the way ``kubernetes_validate.validate`` does, from the
package's schema files; if an upgrade changes the files' layout, the helpers it calls or the way
``validate`` builds a validator, these fail naming the installed version."""

from __future__ import annotations

from importlib.metadata import version
from typing import Any

import kubernetes_validate
import pytest

from aisinfra.review.schemas import NoSchemasError, StrictSchemas, supported_versions
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
