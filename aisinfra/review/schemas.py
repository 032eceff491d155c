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

An object is valid or not by its shape alone -- its keys, numbers, booleans and nulls, its
lists' lengths, where it has strings -- unless a keyword in reach of its schema reads what a
string says (``READS_STRINGS``). For a kind whose schema has none (a Job's has none), an object of
a shape already found valid is valid: 2000 preflight Jobs that differ in their node's name are
validated once. Any other object is validated itself, so an error is the object's own.
"""

from __future__ import annotations

import json
import re
from typing import Any

import jsonschema
import kubernetes_validate
from kubernetes_validate import utils
from referencing import Registry, Resource

SCHEMAS = "kubernetes-json-schema"
# ``rbac.authorization.k8s.io/v1`` -> ``rbac-v1``, as schema files are named.
_API_GROUP_DOMAIN = re.compile(r"^([^./]*)(?:\.[^/]*)?/")


# JSON Schema keywords that read a string's characters (``uniqueItems`` compares whole items).
# ``format`` is not one: like the package's own, the validators are built without a format
# checker, so it only annotates.
READS_STRINGS = frozenset({"pattern", "enum", "const", "minLength", "maxLength", "uniqueItems", "$dynamicRef"})
# Keywords whose value is a schema, a list of schemas, or a map of names to schemas.
_SUBSCHEMA = (
    *("additionalProperties", "items", "not", "contains", "propertyNames", "if", "then", "else"),
    *("unevaluatedProperties", "unevaluatedItems", "additionalItems"),
)
_SUBSCHEMAS = ("prefixItems", "allOf", "anyOf", "oneOf")
_NAMED_SUBSCHEMAS = ("properties", "patternProperties", "dependentSchemas")
_DEFINITION_REF = re.compile(r"^(?:/api/_definitions\.json)?#/\$defs/([^/]+)$")
# The same in every object one validator checks: its kind and apiVersion pick the validator.
_PICKS_THE_VALIDATOR = ("apiVersion", "kind")


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
        self._definition_schemas: dict[str, Any] = {}
        self._validators: dict[tuple[str, str], jsonschema.protocols.Validator | None] = {}
        # For each kind whose validity is its shape's: the shapes of the valid objects seen.
        self._valid_shapes: dict[tuple[str, str], set[str]] = {}

    def validate(self, manifest: dict[str, Any]) -> None:
        """Raises what ``kubernetes_validate.validate(manifest, version, strict=True)`` raises:
        ``SchemaNotFoundError`` for an API the version does not serve, ``ValidationError`` (the
        first error) for an object the API would refuse."""
        api_version, kind = manifest["apiVersion"], manifest["kind"]
        validator = self._validator(api_version, kind)
        if validator is None:
            raise kubernetes_validate.SchemaNotFoundError(version=self.minor, kind=kind, api_version=api_version)
        valid_shapes = self._valid_shapes.get((api_version, kind))
        shape = None if valid_shapes is None else shape_of(manifest)
        if valid_shapes is not None and shape in valid_shapes:
            return
        try:
            validator.validate(manifest)
        except jsonschema.ValidationError as error:
            raise kubernetes_validate.ValidationError(error, version=self.minor) from None
        if valid_shapes is not None and shape is not None:
            valid_shapes.add(shape)

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
        if not reads_strings(schema, self._definition_schemas):
            self._valid_shapes[(api_version, kind)] = set()
        return jsonschema.Draft202012Validator(schema, registry=registry)

    def _definitions_registry(self) -> Registry[Any]:
        if self._definitions is None:
            contents = self._contents("_definitions.json")
            self._definition_schemas = contents.get("$defs", {})
            self._definitions = Resource.from_contents(contents) @ Registry()
        return self._definitions

    def _contents(self, name: str) -> Any:
        return utils.schema_contents(f"{self._directory}/{name}", self._kubernetes_version)


def reads_strings(schema: Any, definitions: dict[str, Any]) -> bool:
    """Whether any keyword in reach of a kind's ``schema`` (through ``definitions``, by ``$ref``)
    reads what a string says, but for the object's own ``apiVersion`` and ``kind``. A reference
    it cannot follow counts as reading them."""
    seen: set[str] = set()
    pending: list[Any] = [schema]
    top = True
    while pending:
        node = pending.pop()
        if not isinstance(node, dict):
            continue
        if READS_STRINGS.intersection(node):
            return True
        reference = node.get("$ref")
        if reference is not None:
            match = _DEFINITION_REF.match(reference) if isinstance(reference, str) else None
            if match is None or match[1] not in definitions:
                return True
            if match[1] not in seen:
                seen.add(match[1])
                pending.append(definitions[match[1]])
        pending += [node[keyword] for keyword in _SUBSCHEMA if keyword in node]
        pending += [item for keyword in _SUBSCHEMAS for item in node.get(keyword, [])]
        for keyword in _NAMED_SUBSCHEMAS:
            named = node.get(keyword, {})
            pending += [item for name, item in named.items() if not (top and name in _PICKS_THE_VALIDATOR)]
        top = False
    return False


def shape_of(manifest: dict[str, Any]) -> str | None:
    """The object with each string as the empty string, as JSON; None when it holds a value JSON has no
    form for (then it is validated itself)."""
    try:
        return json.dumps(_without_strings(manifest), sort_keys=True)
    except (TypeError, ValueError):
        return None


def _without_strings(value: Any) -> Any:
    if isinstance(value, str):
        return ""
    if isinstance(value, dict):
        return {key: _without_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_strings(item) for item in value]
    return value
