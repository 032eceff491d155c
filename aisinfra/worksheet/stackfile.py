"""Stack files on disk, read the way the Pulumi CLI hands them to the program.

``Pulumi.yaml`` declares the project's config keys and their defaults; ``Pulumi.<stack>.yaml``
holds one AIStore cluster's worksheet. The CLI merges the two and passes every value as
text: objects and lists as JSON, scalars as strings. Secure values cannot be decrypted
without the stack's secrets provider, so they are kept as the placeholder ``[secret]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

V = TypeVar("V")
NAMESPACE = "aisinfra"
PREFIX = f"{NAMESPACE}:"
SECRET_PLACEHOLDER = "[secret]"
PROJECT_DIR = Path(__file__).resolve().parents[2]


def project_keys(values: Mapping[str, V]) -> dict[str, V]:
    """This project's keys of a stack's config, without their ``aisinfra:`` namespace."""
    return {key[len(PREFIX) :]: value for key, value in values.items() if key.startswith(PREFIX)}


class StackFileError(ValueError):
    """A stack file that is missing or is not a Pulumi stack file."""


@dataclass(frozen=True)
class StackConfig:
    name: str
    path: Path
    # Every key of the stack with its namespace ("aisinfra:releaseName", "kubernetes:context").
    values: dict[str, str]
    secret_keys: frozenset[str]

    def project_values(self) -> dict[str, str]:
        """The ``aisinfra:`` keys without their namespace, as the worksheet model reads them."""
        return project_keys(self.values)

    def project_secret_keys(self) -> frozenset[str]:
        return frozenset(project_keys(dict.fromkeys(self.secret_keys)))


def stack_path(stack: str, directory: Path = PROJECT_DIR) -> Path:
    return directory / f"Pulumi.{stack}.yaml"


def stack_name(path: Path) -> str:
    return path.name.removeprefix("Pulumi.").removesuffix(".yaml")


def all_stacks(directory: Path = PROJECT_DIR) -> list[Path]:
    return sorted(directory.glob("Pulumi.*.yaml"))


def project_defaults(project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """Defaults that Pulumi.yaml declares; the CLI applies them to every stack."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text()) or {}
    defaults = {}
    for key, declaration in (project.get("config") or {}).items():
        full_key = key if ":" in key else f"{NAMESPACE}:{key}"
        if isinstance(declaration, dict) and "default" in declaration:
            defaults[full_key] = declaration["default"]
    return defaults


def read_stack(path: Path, project_dir: Path = PROJECT_DIR) -> StackConfig:
    if not path.is_file():
        raise StackFileError(f"{path}: no such stack file")
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: not valid YAML: {error}") from None
    return stack_from_document(document, path, project_dir)


def stack_from_document(document: Any, path: Path, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """A stack file's parsed YAML, merged with the project's defaults as the CLI does."""
    if not isinstance(document, dict) or not isinstance(document.get("config", {}), dict):
        raise StackFileError(f"{path}: a stack file is a mapping with a 'config:' mapping inside")
    raw = {**project_defaults(project_dir), **(document.get("config") or {})}
    values, secret_keys = {}, set()
    for key, value in raw.items():
        full_key = key if ":" in key else f"{NAMESPACE}:{key}"
        plain, secret = _without_secure(value)
        values[full_key] = _as_cli_text(plain)
        if secret:
            secret_keys.add(full_key)
    return StackConfig(name=stack_name(path), path=path, values=values, secret_keys=frozenset(secret_keys))


def _without_secure(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return SECRET_PLACEHOLDER, True
        items = {key: _without_secure(item) for key, item in value.items()}
        return {key: plain for key, (plain, _) in items.items()}, any(secret for _, secret in items.values())
    if isinstance(value, list):
        pairs = [_without_secure(item) for item in value]
        return [plain for plain, _ in pairs], any(secret for _, secret in pairs)
    return value, False


def _as_cli_text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
