"""The worksheet's reference page (docs/worksheet.md) and the stack file's JSON Schema
(docs/stack-file.schema.json), both generated from the model: its fields' titles,
descriptions, defaults, constraints and examples, and ``init``'s flags.

``python -m aisinfra docs`` writes them; a test fails when the committed files differ from
what this module generates, so neither can drift from the code that reads stack files.
"""

from __future__ import annotations

import json
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo

from aisinfra.worksheet.model import IdentityChange, Worksheet, section_type
from aisinfra.worksheet.questionnaire import QUESTIONS, Question
from aisinfra.worksheet.stackfile import NAMESPACE, PREFIX, PROJECT_DIR

DOCS_DIR = PROJECT_DIR / "docs"
REFERENCE_PAGE = "worksheet.md"
SCHEMA_FILE = "stack-file.schema.json"
PAGE_WIDTH = 100
# Draft 7: the newest draft every YAML language server implements; the schema uses nothing later.
SCHEMA_URI = "http://json-schema.org/draft-07/schema#"
# The words a top-level boolean may also be written as: the CLI hands top-level values over as
# text, and the program reads these (model._boolean).
TOP_LEVEL_BOOLEAN_TEXT = ["true", "True", "false", "False"]


@dataclass(frozen=True)
class OtherKey:
    """A key of another namespace that the program reads or refuses."""

    key: str
    title: str
    description: str
    default: str


OTHER_NAMESPACE_KEYS = (
    OtherKey(
        "kubernetes:context",
        "Which cluster",
        "Pulumi's Kubernetes provider's key, not `aisinfra:`: the kubeconfig context of the cluster it deploys to. "
        "`check` compares stacks by it.",
        "the kubectl context current when `pulumi` runs",
    ),
    OtherKey(
        "kubernetes:enablePatchForce",
        "Never",
        "Refused unless unset or `false`, and so is the environment variable `PULUMI_K8S_ENABLE_PATCH_FORCE`: either "
        "forces every label patch over its owner.",
        "unset",
    ),
)


_DEPLOYED_STACK_EDIT = "an edit of a deployed stack, see [Keeping the data](keeping-data.md)"
# The keys init never sets, and how they are set instead (a test holds every other key to a question).
NOT_SET_BY_INIT = {
    "grafanaAdminPassword": "`pulumi config set --secret grafanaAdminPassword`",
    "targets.decommissioned": _DEPLOYED_STACK_EDIT,
    "targets.scaleInTo": _DEPLOYED_STACK_EDIT,
    "targets.removedMountpoints": _DEPLOYED_STACK_EDIT,
    **{f"identityChange.{info.alias}": _DEPLOYED_STACK_EDIT for info in IdentityChange.model_fields.values()},
}


@dataclass(frozen=True)
class ReferenceKey:
    """One key of a stack file, as the reference page shows it."""

    key: str  # as problems name it: releaseName, targets.nodes
    info: FieldInfo
    schema: dict[str, Any]  # the key's JSON Schema, a section it holds written out

    @property
    def config_key(self) -> str:
        return f"{PREFIX}{self.key}"

    @property
    def question(self) -> Question | None:
        return next((question for question in QUESTIONS if question.key == self.key), None)


def reference_keys() -> list[ReferenceKey]:
    """Every key a stack file sets: the top-level ones, and the keys of each section (monitoring
    storage is one key, given as a mapping of its own), in the model's order."""
    schema = Worksheet.model_json_schema(by_alias=True)
    keys: list[ReferenceKey] = []
    for info in Worksheet.model_fields.values():
        alias = str(info.alias)
        section = section_type(info.annotation)
        if section is None:
            keys.append(ReferenceKey(alias, info, schema["properties"][alias]))
            continue
        section_schema = schema["$defs"][section.__name__]
        for inner in section.model_fields.values():
            inner_alias = str(inner.alias)
            inner_schema = _resolved(section_schema["properties"][inner_alias], schema["$defs"])
            keys.append(ReferenceKey(f"{alias}.{inner_alias}", inner, inner_schema))
    return keys


def _resolved(schema: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """A key's schema with its options' references to a section (``Storage``) written out."""
    if "anyOf" not in schema:
        return schema
    options = [definitions[option["$ref"].split("/")[-1]] if "$ref" in option else option for option in schema["anyOf"]]
    return {**schema, "anyOf": options}


# --- the reference page -----------------------------------------------------------------------


def _shown(value: Any) -> str:
    """A value as it can be written in a stack file (JSON is YAML's flow style)."""
    return f"`{json.dumps(value)}`"


def _type_text(schema: dict[str, Any]) -> str:
    """The key's type in words, from its JSON Schema."""
    options = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
    words = []
    for option in options:
        kind = option.get("type")
        if kind == "object" and "properties" in option:
            words.append(f"mapping of `{', '.join(option['properties'])}`")
        elif kind == "array":
            words.append(f"list of {_type_text(option['items'])}" + _limits(option))
        elif kind == "string" and option.get("format") == "password":
            words.append("secret (`secure:`)")
        else:
            words.append({"string": "text", "boolean": "`true` or `false`", "integer": "whole number"}.get(kind, kind))
            words[-1] += _limits(option)
    return " or ".join(words)


def _limits(schema: dict[str, Any]) -> str:
    if "minimum" in schema and "maximum" in schema:
        return f", {schema['minimum']} to {schema['maximum']}"
    if "minimum" in schema:
        return f", at least {schema['minimum']}"
    if "minItems" in schema:
        return f", at least {schema['minItems']} entry"
    return ""


def _schema_checks(schema: dict[str, Any]) -> str:
    """What the stack file's schema checks of the key (the rest of its rules is `check`'s)."""
    options = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
    checks = []
    for option in options:
        if "properties" in option:
            checks += [f"`{name}`: {_value_checks(inner)}" for name, inner in option["properties"].items()]
        else:
            checks += [_value_checks(option), _value_checks(option.get("items", {}))]
    return "type" + "".join(f", {check}" for check in checks if check)


def _value_checks(schema: dict[str, Any]) -> str:
    options = [option for option in schema.get("anyOf", [schema]) if option.get("type") != "null"]
    checks = []
    for option in options:
        if "pattern" in option:
            checks.append(f"pattern `{option['pattern']}`")
        if "maxLength" in option:
            checks.append(f"at most {option['maxLength']} characters")
        if "minimum" in option or "minItems" in option:
            checks.append(f"bounds ({_limits(option).removeprefix(', ')})")
    return ", ".join(checks)


def _init_text(key: ReferenceKey) -> str:
    question = key.question
    if question is None:
        return f"none: {NOT_SET_BY_INIT[key.key]}"
    return _flag_text(question)


def _flag_text(question: Question) -> str:
    if not question.prompted:
        return f"`{question.flag}` (a flag only, not asked): {question.text}"
    return f"`{question.flag}`, asked as: {question.text}"


def _default_text(key: ReferenceKey) -> str:
    if key.info.is_required():
        return "required"
    default = key.info.get_default(call_default_factory=True)
    if default is None:
        return "optional, unset by default"
    return f"default {_shown(default)}"


def _wrapped(text: str, bullet: bool = False) -> str:
    """Prose wrapped to read in a terminal too (a code span may break at a space, as Markdown allows)."""
    prefix, indent = ("- ", "  ") if bullet else ("", "")
    return textwrap.fill(
        text,
        PAGE_WIDTH,
        initial_indent=prefix,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def _key_section(key: ReferenceKey) -> str:
    facts = [f"{_default_text(key)}; type: {_type_text(key.schema)}", f"`init`: {_init_text(key)}"]
    if key.info.examples:
        facts.append(f"example: {_shown(key.info.examples[0])}")
    facts.append(f"the schema checks: {_schema_checks(key.schema)}")
    heading = [f"### `{key.key}`", "", _wrapped(f"**{key.info.title}.** {key.info.description}"), ""]
    return "\n".join(heading + [_wrapped(fact, bullet=True) for fact in facts])


def _other_key_section(key: OtherKey) -> str:
    question = next((question for question in QUESTIONS if question.key == key.key), None)
    flag = _flag_text(question) if question else "none"
    facts = [f"default: {key.default}", f"`init`: {flag}"]
    heading = [f"### `{key.key}`", "", _wrapped(f"**{key.title}.** {key.description}"), ""]
    return "\n".join(heading + [_wrapped(fact, bullet=True) for fact in facts])


_PAGE_HEAD = """# The worksheet reference

<!-- Generated from aisinfra/worksheet/model.py by `python -m aisinfra docs`; do not edit. -->

Every key of a stack file (`Pulumi.<stack>.yaml`): what it is, its type, its default or that it is
required, its rules, the `init` flag that sets it and an example. A whole stack file is in
[Writing a stack file](stack-file.md), which also says how the file is read; `init` writes one for you.

Every key is set by `init` (its flag below, its question where `init` asks it) except the ones a
deployed stack needs later and the Grafana password (a secret); "required" keys have no default.
Top-level keys are written `aisinfra:KEY: value`, the keys of a section inside it
(`aisinfra:targets:` then `nodes: [...]`).

The [stack file schema](stack-file.schema.json) checks what a JSON Schema can express: the key
names (an unknown key is an error), the types (a top-level boolean may also be the text `"true"`/`"false"`,
a top-level text may be written as a number: the CLI hands both over as text), the ranges and the
patterns each key lists under "the schema checks". Everything else in a key's rules is checked by
`check` (and `render`, `pulumi up`) alone: the host's own directories, normalized paths, what a
node or mountpoint pattern expands to and how many names that makes, duplicates, reserved
namespaces, the names the chart builds from the release name, the chart given one way, a
monitoring storage given one way, the rules across keys (mountpoints apart from each other and
from the state path, the initial count against the nodes, the initial primary among the proxies,
what monitoring on or off requires, storage kept apart, acknowledgements that match the
worksheet), secrets set with `--secret` only where a key is a secret, and a namespace that is a
near miss of `aisinfra`.
"""


def worksheet_page() -> str:
    """docs/worksheet.md: one section per key, grouped as the stack file groups them."""
    parts = [_PAGE_HEAD]
    section = None
    for key in reference_keys():
        group = key.key.split(".")[0] if "." in key.key else "top-level keys"
        if group != section:
            section = group
            info = Worksheet.model_fields[_field_name(group)] if group != "top-level keys" else None
            title = f"## `{PREFIX}{group}`" if info else "## Top-level keys"
            parts.append(title + (f"\n\n{_wrapped(str(info.description))}" if info else ""))
        parts.append(_key_section(key))
    parts.append("## Keys of other namespaces")
    parts += [_other_key_section(key) for key in OTHER_NAMESPACE_KEYS]
    return "\n\n".join(parts) + "\n"


def _field_name(alias: str) -> str:
    return next(name for name, info in Worksheet.model_fields.items() if info.alias == alias)


# --- the stack file's schema ------------------------------------------------------------------


_SECURE_VALUE = {
    "type": "object",
    "description": "written by `pulumi config set --secret`",
    "properties": {"secure": {"type": "string"}},
    "required": ["secure"],
    "additionalProperties": False,
}


def _top_level(schema: dict[str, Any]) -> dict[str, Any]:
    """A top-level key's schema as the CLI hands the value over: as the text written, so a
    boolean may be the text true/false and a text may be written as a number; a secret as the
    ``secure:`` mapping ``pulumi config set --secret`` writes."""
    annotations = {
        name: value for name, value in schema.items() if name in ("title", "description", "default", "examples")
    }
    options = schema.get("anyOf", [schema])
    if any(option.get("format") == "password" for option in options):
        return {**annotations, **_SECURE_VALUE}
    if schema.get("type") == "boolean":
        return {**annotations, "anyOf": [{"type": "boolean"}, {"enum": TOP_LEVEL_BOOLEAN_TEXT}]}
    if schema.get("type") == "string":
        return {**schema, "type": ["string", "number"]}
    return schema


def stack_file_schema() -> dict[str, Any]:
    """The JSON Schema of ``Pulumi.<stack>.yaml``: the model's keys under ``config:`` as
    ``aisinfra:KEY`` (or bare ``KEY``, which the CLI reads as the project's own), any key of
    another namespace, and the stack file's other top-level keys."""
    model = Worksheet.model_json_schema(by_alias=True)
    properties: dict[str, Any] = {}
    required = []
    for alias, schema in model["properties"].items():
        properties[f"{PREFIX}{alias}"] = _top_level(schema)
        if alias in model.get("required", []):
            required.append({"anyOf": [{"required": [f"{PREFIX}{alias}"]}, {"required": [alias]}]})
    bare = {alias: {"$ref": f"#/properties/config/properties/{PREFIX}{alias}"} for alias in model["properties"]}
    other_keys: dict[str, dict[str, Any]] = {key.key: {"description": key.description} for key in OTHER_NAMESPACE_KEYS}
    other_keys["kubernetes:enablePatchForce"] |= {"enum": [False, "false"]}
    config: dict[str, Any] = {
        "type": "object",
        "description": f"The stack's config: this project's keys as {PREFIX}KEY (see worksheet.md), any other "
        "namespace's as NAMESPACE:KEY.",
        "properties": {**properties, **bare, **other_keys},
        "patternProperties": {f"^(?!{NAMESPACE}:)[^:]+:.+$": {}},
        "additionalProperties": False,
        "allOf": required,
    }
    return {
        "$schema": SCHEMA_URI,
        "title": "aisinfra stack file (Pulumi.<stack>.yaml)",
        "description": "Generated from aisinfra/worksheet/model.py by `python -m aisinfra docs`; rules a JSON Schema "
        "cannot express are checked by `python -m aisinfra check` (docs/worksheet.md says which).",
        "type": "object",
        "properties": {
            "config": config,
            "secretsprovider": {"type": "string"},
            "encryptedkey": {"type": "string"},
            "encryptionsalt": {"type": "string"},
            "environment": {"type": "null", "description": "ESC imports are refused: check cannot see their config."},
        },
        "required": ["config"],
        "additionalProperties": False,
        "$defs": model["$defs"],
    }


def schema_comment(stack_file: Path) -> str:
    """The first line of a stack file that points editors (yaml-language-server) at the schema."""
    relative = os.path.relpath(DOCS_DIR / SCHEMA_FILE, stack_file.resolve().parent)
    return f"# yaml-language-server: $schema={Path(relative).as_posix()}"


def generated_files() -> dict[str, str]:
    """The generated docs by file name, as they belong in docs/."""
    return {
        REFERENCE_PAGE: worksheet_page(),
        SCHEMA_FILE: json.dumps(stack_file_schema(), indent=2, ensure_ascii=False) + "\n",
    }
