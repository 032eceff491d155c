"""The generated worksheet reference (docs/worksheet.md) and stack file schema
(docs/stack-file.schema.json): up to date with the model, complete, and in agreement with
``check`` on the stacks the repository and its tests hold."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from aisinfra.cli import main
from aisinfra.worksheet.model import Storage, Worksheet, section_type
from aisinfra.worksheet.questionnaire import QUESTIONS
from aisinfra.worksheet.reference import (
    DOCS_DIR,
    NOT_SET_BY_INIT,
    OTHER_NAMESPACE_KEYS,
    REFERENCE_PAGE,
    SCHEMA_FILE,
    generated_files,
)
from aisinfra.worksheet.stackfile import PROJECT_DIR, STACK_FILE_KEYS, go_yaml
from tests import test_worksheet_rules as worksheet_rules
from tests.conftest import WORKSHEET_EXAMPLE, worksheet

PAGE = (DOCS_DIR / REFERENCE_PAGE).read_text()
SCHEMA = json.loads((DOCS_DIR / SCHEMA_FILE).read_text())
# The whole stack file of docs/stack-file.md, every key written out.
STACK_FILE_EXAMPLE = (
    (DOCS_DIR / "stack-file.md")
    .read_text()
    .split("## A whole stack file", 1)[1]
    .split("```yaml\n", 1)[1]
    .split("```")[0]
)


def test_the_committed_reference_and_schema_are_what_the_model_generates() -> None:
    for name, text in generated_files().items():
        assert (DOCS_DIR / name).read_text() == text, f"docs/{name} is stale: run `make docs` and commit it"


def test_the_docs_command_writes_them(tmp_path: Path, capsys: Any) -> None:
    assert main(["docs", "--out", str(tmp_path)]) == 0
    assert {path.name: path.read_text() for path in tmp_path.iterdir()} == generated_files()
    assert main(["docs", "--out", str(tmp_path / "missing")]) == 2


def model_keys() -> set[str]:
    """Every key a stack file sets: the top-level ones, and the keys of each section
    (monitoring storage is one key, given as a mapping of its own)."""
    keys = set()
    for info in Worksheet.model_fields.values():
        section = section_type(info.annotation)
        if section is None:
            keys.add(str(info.alias))
            continue
        for inner in section.model_fields.values():
            keys.add(f"{info.alias}.{inner.alias}")
            assert section_type(inner.annotation) in (None, Storage)
    return keys


def page_sections() -> dict[str, str]:
    """The reference page's text per key, by the key of its heading."""
    parts = re.split(r"^### `([^`]+)`$", PAGE, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_the_reference_documents_every_key_the_program_reads() -> None:
    documented = set(page_sections())
    assert model_keys() | {key.key for key in OTHER_NAMESPACE_KEYS} == documented


def test_the_reference_names_each_keys_init_flag_and_no_other() -> None:
    sections = page_sections()
    for question in QUESTIONS:
        assert f"`init`: `{question.flag}`" in sections[question.key], question.key
    flags = {flag for text in sections.values() for flag in re.findall(r"`init`: `(--[a-z-]+)`", text)}
    assert flags == {question.flag for question in QUESTIONS}


def test_each_key_is_set_by_an_init_question_or_says_how_it_is_set_instead() -> None:
    asked = {question.key for question in QUESTIONS}
    assert model_keys() - asked == set(NOT_SET_BY_INIT)


def test_every_key_has_a_title_a_description_and_an_example() -> None:
    # A secret's example would be a ciphertext, and keys of other namespaces are not the model's.
    without_example = {"grafanaAdminPassword", *(key.key for key in OTHER_NAMESPACE_KEYS)}
    for key, text in page_sections().items():
        assert re.search(r"^\*\*[^*]+\.\*\* \S", text, flags=re.MULTILINE), key
        assert ("- example: " in text) == (key not in without_example), key


# --- the schema -------------------------------------------------------------------------------


def stack_document(config: dict[str, Any]) -> Any:
    """A stack file with this config, read as the CLI (and an editor's YAML 1.2) reads it."""
    return go_yaml(yaml.safe_dump({"config": config}, sort_keys=False), Path("Pulumi.test.yaml"))


def schema_errors(document: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(SCHEMA)
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in validator.iter_errors(document)]


def test_the_schema_is_a_valid_json_schema_of_every_stack_file_key() -> None:
    assert SCHEMA["$schema"] == "http://json-schema.org/draft-07/schema#"
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    assert set(SCHEMA["properties"]) == set(STACK_FILE_KEYS)


SECURE = {"secure": "v1:tqW5uKV9+ZS3Hdf1:2bDSlNfGl0wzAN0hm3Eu5x0oQ=="}
VALID_STACKS = {
    "the worksheet example": WORKSHEET_EXAMPLE,
    "monitoring off": worksheet(monitoring={"enabled": False, "externalGraphite": "graphite.example.com:2003"}),
    "Prometheus alone": worksheet(
        monitoring={"enabled": False, "prometheus": True, "externalGraphite": "graphite.example.com:2003"}
    ),
    "existing claims": worksheet(
        existingNamespace=True,
        monitoring={"enabled": True, "graphite": {"existingClaim": "g"}, "grafana": {"existingClaim": "f"}},
    ),
    "chart from a repository": worksheet(
        chart={"repo": "oci://registry.example.com/charts", "name": "ais", "version": "0.1.0", "timeoutSeconds": 600}
    ),
    "top-level booleans as text": worksheet(protect="false", existingNamespace="true"),
    "a secret password and other namespaces": {
        **worksheet(grafanaAdminPassword=SECURE),
        "kubernetes:context": "lab",
        "kubernetes:enablePatchForce": False,
    },
    "keys without the namespace": {key.removeprefix("aisinfra:"): value for key, value in WORKSHEET_EXAMPLE.items()},
    "acknowledgements": worksheet(
        targets={"nodes": ["cpu{01..11}"], "mountpoints": ["/ais/sd[a-i]"], "decommissioned": ["cpu12"]}
        | {"scaleInTo": 11, "removedMountpoints": ["/ais/sdj"]},
        identityChange={"releaseName": "demo", "graphite": "cpu01:/data/graphite:250Gi"},
        preflight={"enabled": False, "image": "registry.example.com/busybox:1.36.1"},
    ),
}


@pytest.mark.parametrize("config", VALID_STACKS.values(), ids=VALID_STACKS.keys())
def test_valid_stacks_pass_the_schema_and_check(config: dict[str, Any], tmp_path: Path, capsys: Any) -> None:
    assert schema_errors(stack_document(config)) == []
    (tmp_path / "Pulumi.test.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    assert main(["--stacks-dir", str(tmp_path), "check"]) in (0, 3), capsys.readouterr().err


def test_an_unquoted_kubernetes_version_passes_the_schema_and_check(tmp_path: Path, capsys: Any) -> None:
    # YAML reads 1.30 as the number 1.3, but the CLI hands a top-level value over as written.
    text = yaml.safe_dump({"config": WORKSHEET_EXAMPLE}, sort_keys=False) + "  aisinfra:kubernetesVersion: 1.30\n"
    assert schema_errors(go_yaml(text, Path("Pulumi.test.yaml"))) == []
    (tmp_path / "Pulumi.test.yaml").write_text(text)
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 3, capsys.readouterr().err


@pytest.mark.parametrize(
    "path", [PROJECT_DIR / "Pulumi.dev.yaml", "docs/stack-file.md"], ids=["Pulumi.dev.yaml", "docs/stack-file.md"]
)
def test_the_repositorys_own_stack_files_pass_the_schema(path: Path | str) -> None:
    text = path.read_text() if isinstance(path, Path) else STACK_FILE_EXAMPLE
    assert schema_errors(go_yaml(text, Path("Pulumi.x.yaml"))) == []


def changed(path: str, value: Any) -> dict[str, Any]:
    """The example worksheet with one key (``targets.nodes``, ``aisinfra:protect``) set, or removed for None."""
    config = copy.deepcopy(WORKSHEET_EXAMPLE)
    *sections, name = path.split(".")
    place = config
    for index, section in enumerate(sections):
        place = place.setdefault(f"aisinfra:{section}" if index == 0 else section, {})
    key = name if sections else (name if ":" in name else f"aisinfra:{name}")
    if value is None:
        place.pop(key)
    else:
        place[key] = value
    return config


# Each class of mistake the schema can express, flagged by the schema and by check alike.
BAD_STACKS = {
    "unknown top-level key": changed("stateDir", "/var/lib/ais"),
    "unknown key in a section": changed("targets.mountPoints", ["/ais/sda"]),
    "missing required key": changed("targets", None),
    "list written as text": changed("proxies.nodes", "cpu01"),
    "empty list": changed("targets.nodes", []),
    "top-level boolean as yes": changed("protect", "yes"),
    "quoted boolean inside a section": changed("monitoring.enabled", "false"),
    "number as text inside a section": changed("chart.timeoutSeconds", "1800"),
    "number below its range": changed("chart.timeoutSeconds", 10),
    "number above its range": changed("chart.timeoutSeconds", 100000),
    "negative count": changed("targets.initialCount", -1),
    "release name not a DNS label": changed("releaseName", "Bad_Name"),
    "release name too long": changed("releaseName", "a" * 54),
    "node name in capitals": changed("targets.nodes", ["CPU01"]),
    "relative mountpoint": changed("targets.mountpoints", ["ais/sda"]),
    "state path with a space": changed("statePath", "/etc/my ais"),
    "image with a digest": changed("images.aisnode", "aistore/aisnode@sha256:" + "0" * 64),
    "size not a quantity": changed("monitoring.graphite", {"node": "cpu01", "path": "/data/g", "size": "250GB"}),
    "Graphite without a port": changed("monitoring", {"enabled": False, "externalGraphite": "graphite.example.com"}),
    "Kubernetes version not a minor": changed("kubernetesVersion", "1.3x"),
    "unpinned chart version": changed("chart", {"repo": "https://c.example.com", "name": "ais", "version": "~0.1"}),
    "secret where the key is no secret": changed("namespace", SECURE),
    "password in plain text": changed("grafanaAdminPassword", "hunter2"),
    "forced label patches": changed("kubernetes:enablePatchForce", True),
}


@pytest.mark.parametrize("config", BAD_STACKS.values(), ids=BAD_STACKS.keys())
def test_each_mistake_the_schema_can_express_is_flagged_by_it_and_by_check(
    config: dict[str, Any], tmp_path: Path, capsys: Any
) -> None:
    assert schema_errors(stack_document(config)) != []
    (tmp_path / "Pulumi.test.yaml").write_text(yaml.safe_dump({"config": config}, sort_keys=False))
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 1, capsys.readouterr()


def test_an_esc_environment_import_is_flagged_by_the_schema_and_by_check(tmp_path: Path, capsys: Any) -> None:
    document = {"environment": ["prod-env"], "config": WORKSHEET_EXAMPLE}
    assert schema_errors(document) != []
    (tmp_path / "Pulumi.test.yaml").write_text(yaml.safe_dump(document, sort_keys=False))
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 1, capsys.readouterr()


def as_stack_document(config: dict[str, Any], secret_keys: frozenset[str]) -> dict[str, Any]:
    """Decoded stack config (keys without their namespace) as the stack file that gives it."""
    return {"config": {f"aisinfra:{key}": SECURE if key in secret_keys else value for key, value in config.items()}}


@pytest.mark.parametrize(
    ("changes", "secret_keys"),
    [case[1:] for case in worksheet_rules.ACCEPTED],
    ids=[case[0] for case in worksheet_rules.ACCEPTED],
)
def test_the_schema_accepts_every_worksheet_the_rules_accept(
    changes: dict[str, Any], secret_keys: frozenset[str]
) -> None:
    assert schema_errors(as_stack_document(worksheet_rules.config(**changes), secret_keys)) == []
