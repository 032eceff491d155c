"""The Kubernetes API's strict schemas, each loaded and its validator built once per run.

``kubernetes_validate.validate`` reads and decodes the object's schema and the version's 1.3 MB
``_definitions.json``, and builds a validator, for every object it checks: with a preflight Job
per node that was over a third of a 2000-node ``render``. The package has no public way to keep a
validator, so ``StrictSchemas`` builds them the way ``validate`` does, from what the package
ships; this is the only module that reaches into kubernetes-validate past its public API, and
tests/test_schemas.py fails, naming the installed version, if an upgrade changes any of it:

- the layout of its schemas: ``kubernetes-json-schema/v<version>-local-strict/`` holds
  ``<kind>-<group>-<version>.json`` for each served API and ``_definitions.json``;
- ``utils.all_versions``, ``utils.major_minor`` and ``utils.schema_contents`` (which reads one
  of those files, raising ``FileNotFoundError`` for an API the version does not serve);
- the validator: Draft 2020-12, with the object's schema and the definitions in one registry,
  raising its first error.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes_validate import utils
from referencing import Registry, Resource

SCHEMAS = "kubernetes-json-schema"
# ``rbac.authorization.k8s.io/v1`` -> ``rbac-v1``, as schema files are named.
_API_GROUP_DOMAIN = re.compile(r"^([^./]*)(?:\.[^/]*)?/")


class NoSchemasError(Exception):
    """kubernetes-validate has no schemas for the Kubernetes version asked for."""


def supported_versions() -> list[str]:
    """The Kubernetes minor versions (``1.30``) there are schemas for, oldest first."""
    minors = {utils.major_minor(version) for version in utils.all_versions()}
    return sorted(minors, key=lambda minor: tuple(int(number) for number in minor.split(".")))


class StrictSchemas:
    """One Kubernetes version's strict schemas (unknown fields are errors): each kind's loaded,
    and its validator built, the first time an object of that kind and apiVersion is checked."""

    def __init__(self, kubernetes_version: str) -> None:
        """Raises ``NoSchemasError`` unless there are schemas for the version's minor."""
        self.minor = utils.major_minor(kubernetes_version)
        releases = [version for version in utils.all_versions() if utils.major_minor(version) == self.minor]
        if not releases:
            raise NoSchemasError(kubernetes_version)
        # The newest schemas of that minor, as ``validate`` chooses them (all_versions is oldest first).
        self._directory = f"{SCHEMAS}/v{releases[-1]}-local-strict"
        self._kubernetes_version = kubernetes_version
        self._definitions: Registry[Any] | None = None
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator | None] = {}

    def validate(self, manifest: dict[str, Any]) -> None:
        """Raises what ``kubernetes_validate.validate(manifest, version, strict=True)`` raises:
        ``SchemaNotFoundError`` for an API the version does not serve, ``ValidationError`` (the
        first error) for an object the API would refuse."""
        api_version, kind = manifest["apiVersion"], manifest["kind"]
        validator = self._validator(api_version, kind)
        if validator is None:
            raise kubernetes_validate.SchemaNotFoundError(version=self.minor, kind=kind, api_version=api_version)
        try:
            validator.validate(manifest)
        except jsonschema.ValidationError as error:
            raise kubernetes_validate.ValidationError(error, version=self.minor) from None

    def _validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        key = (api_version, kind)
        if key not in self._validators:
            self._validators[key] = self._build_validator(api_version, kind)
        return self._validators[key]

    def _build_validator(self, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
        """None when the version serves no such API."""
        group_version = _API_GROUP_DOMAIN.sub(r"\1-", api_version)
        try:
            schema = self._contents(f"{kind.lower()}-{group_version}.json")
        except FileNotFoundError:
            return None
        registry = Resource.from_contents(schema) @ self._definitions_registry()
        return jsonschema.Draft202012Validator(schema, registry=registry)

    def _definitions_registry(self) -> Registry[Any]:
        if self._definitions is None:
            self._definitions = Resource.from_contents(self._contents("_definitions.json")) @ Registry()
        return self._definitions

    def _contents(self, name: str) -> Any:
        return utils.schema_contents(f"{self._directory}/{name}", self._kubernetes_version)
