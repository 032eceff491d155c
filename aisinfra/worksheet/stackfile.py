"""Stack files on disk, read the way the Pulumi CLI hands them to the program.

``Pulumi.yaml`` declares the project's config keys and their defaults; ``Pulumi.<stack>.yaml``
holds one AIStore cluster's worksheet. The CLI merges the two and passes every value as
text: objects and lists as JSON, scalars as strings. Secure values cannot be decrypted
without the stack's secrets provider, so they are kept as the placeholder ``[secret]``.
"""

from __future__ import annotations

import base64
import datetime
import difflib
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

from aisinfra.worksheet.model import printable
from aisinfra.worksheet.yaml_bounds import CONTAINS_ITSELF, NestingBound, YamlBoundError, expansion_problem

V = TypeVar("V")
NAMESPACE = "aisinfra"
PREFIX = f"{NAMESPACE}:"
SECRET_PLACEHOLDER = "[secret]"
PROJECT_DIR = Path(__file__).resolve().parents[2]


def project_keys(values: Mapping[str, V]) -> dict[str, V]:
    """This project's keys of a stack's config, without their ``aisinfra:`` namespace."""
    return {key[len(PREFIX) :]: value for key, value in values.items() if key.startswith(PREFIX)}


def misplaced_keys(keys: Iterable[str]) -> list[str]:
    """Config keys whose namespace is a near miss of ``aisinfra`` (``aisinfr:statePath``,
    ``AISINFRA:protect``): the program reads only its own namespace, so nothing would read them."""
    problems = []
    for key in keys:
        namespace, colon, name = key.partition(":")
        if not colon or namespace == NAMESPACE:
            continue
        folded = re.sub(r"[^a-z0-9]", "", namespace.lower())
        if folded == NAMESPACE or difflib.SequenceMatcher(None, folded, NAMESPACE).ratio() >= 0.8:
            problems.append(
                f"{key}: the namespace '{namespace}' is not '{NAMESPACE}', so nothing reads this key; "
                f"did you mean '{PREFIX}{name}'?"
            )
    return problems


class StackFileError(ValueError):
    """A stack file that is missing or is not a Pulumi stack file; one printable line, whatever
    characters of the file it quotes."""

    def __init__(self, message: str) -> None:
        super().__init__(printable(message))


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
    project = go_yaml(_text(project_dir / "Pulumi.yaml"), project_dir / "Pulumi.yaml")
    if not isinstance(project, dict):
        raise StackFileError(f"{project_dir / 'Pulumi.yaml'}: a project file is a mapping")
    config = project.get("config") or {}
    defaults = {}
    for key, declaration in config.items() if isinstance(config, dict) else []:
        full_key = key if ":" in key else f"{NAMESPACE}:{key}"
        if isinstance(declaration, dict) and "default" in declaration:
            defaults[full_key] = declaration["default"]
    return defaults


def read_stack(path: Path, project_dir: Path = PROJECT_DIR) -> StackConfig:
    if not path.is_file():
        raise StackFileError(f"{path}: no such stack file")
    return stack_from_text(_text(path), path, project_dir)


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise StackFileError(f"{path}: cannot be read: {error.strerror}") from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise StackFileError(
            f"{path}: not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start}); save it as UTF-8"
        ) from None


# The top-level keys of a stack file (the CLI's ProjectStack).
STACK_FILE_KEYS = ("secretsprovider", "encryptedkey", "encryptionsalt", "config", "environment")


def stack_from_text(text: str, path: Path, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """A stack file's text, read as the Pulumi CLI reads it, merged with the project's defaults.

    The CLI reads YAML with Go's yaml.v3, not with YAML 1.1 as PyYAML does: a duplicate key
    anywhere is an error, ``yes``/``on``/``off`` are text, ``1:20`` is text, ``0777`` is an
    octal number, a date becomes an RFC 3339 timestamp. A top-level value reaches the program as
    the text written; an object or list as JSON (``encoding/json``, which writes whole numbers
    as integers)."""
    document = go_yaml(text, path, raw_scalars_at=("config",))
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise StackFileError(f"{path}: a stack file is a mapping with a 'config:' mapping inside")
    unknown = [key for key in document if key not in STACK_FILE_KEYS]
    if unknown:
        close = difflib.get_close_matches(str(unknown[0]), STACK_FILE_KEYS, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise StackFileError(
            f"{path}: unknown top-level key '{unknown[0]}'{hint}; a stack file holds {', '.join(STACK_FILE_KEYS)}"
        )
    if document.get("environment") is not None:
        # Config from an ESC environment reaches the program at `pulumi up` but is invisible here,
        # so check and render would review another worksheet than the one deployed.
        raise StackFileError(
            f"{path}: environment: imports Pulumi ESC environments, whose config check and render cannot see "
            "and so never review; write the keys into this stack file's config instead and remove 'environment:'"
        )
    config = document.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise StackFileError(f"{path}: a stack file is a mapping with a 'config:' mapping inside")
    values = {key: _as_cli_text(value) for key, value in project_defaults(project_dir).items()}
    secret_keys: set[str] = set()
    written_as: dict[str, str] = {}
    for key, value in config.items():
        full_key = key if ":" in key else f"{NAMESPACE}:{key}"
        if full_key in written_as:
            raise StackFileError(
                f"{path}: '{written_as[full_key]}' and '{key}' are one config key ({full_key}); keep one of them"
            )
        written_as[full_key] = key
        plain, secret = _without_secure(value)
        values[full_key] = plain if isinstance(plain, str) else _go_json(plain, path, full_key)
        if secret:
            secret_keys.add(full_key)
    return StackConfig(name=stack_name(path), path=path, values=values, secret_keys=frozenset(secret_keys))


def stack_from_document(document: Any, path: Path, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """A stack file's content as data (what ``init`` writes), read as the CLI reads the file it becomes."""
    return stack_from_text(yaml.safe_dump(document, sort_keys=False), path, project_dir)


def _without_secure(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"} and isinstance(value["secure"], str):
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


def _go_json(value: Any, path: Path, key: str) -> str:
    """JSON as Go's encoding/json writes the decoded value, as the CLI hands it to the program."""
    try:
        return json.dumps(_go_numbers(value), allow_nan=False)
    except ValueError:
        raise StackFileError(
            f"{path}: {key}: holds .inf or .nan, which the Pulumi CLI cannot pass on as JSON; write a number"
        ) from None


def _go_numbers(value: Any) -> Any:
    # encoding/json writes a whole float64 below 1e21 without a fraction, and the CLI reads numbers
    # back as int64 when they fit; beyond int64 they stay floats.
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return _go_numbers(int(value))
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return float(value)
    if isinstance(value, dict):
        return {key: _go_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_go_numbers(item) for item in value]
    return value


# --- YAML as Go's yaml.v3 reads it ----------------------------------------------------------

_PLAIN = "aisinfra:plain"  # the tag of a plain scalar with no tag of its own, resolved below
_TAG = "tag:yaml.org,2002:"
_YAML_STYLE_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_GO_INT = re.compile(r"[-+]?(0[xX][0-9a-fA-F]+|0[oO]?[0-7]+|0[bB][01]+|[0-9]+)")
_TIMESTAMP = re.compile(
    r"(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})"
    r"(?:(?:[Tt]|(?P<space> ))(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{1,2}):(?P<second>[0-9]{1,2})"
    r"(?:\.(?P<fraction>[0-9]+))?(?P<zone>Z|[-+][0-9]{2}:[0-9]{2})?)?"
)
_RESOLVED = {
    **dict.fromkeys(("true", "True", "TRUE"), True),
    **dict.fromkeys(("false", "False", "FALSE"), False),
    **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
    **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
    **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
    **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf),
}


class _Composer(NestingBound, yaml.SafeLoader):
    """PyYAML's parser and composer, leaving plain scalars for yaml.v3's resolution, refusing
    nesting deeper than the shared bound (``aisinfra.worksheet.yaml_bounds``)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return _PLAIN
        return super().resolve(kind, value, implicit)


def go_yaml(text: str, path: Path, raw_scalars_at: tuple[str, ...] = ()) -> Any:
    """The value of a one-document YAML text as yaml.v3 decodes it into Go's ``interface{}``.
    Under the top-level keys ``raw_scalars_at``, scalar values are kept as written: the CLI
    decodes each config value into a Go string first."""
    try:
        composer = _Composer(text)
    except yaml.reader.ReaderError as error:  # PyYAML's reader refuses control characters before any parsing
        raise StackFileError(f"{path}: not valid YAML: {_unacceptable(text, error)}") from None
    try:
        node = composer.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        reason = ", ".join(part for part in (error.context, error.problem) if part)
        if "expected a single document" in reason:
            reason = "more than one YAML document; the Pulumi CLI reads only the first, so keep one"
        raise StackFileError(f"{path}: not valid YAML: {reason}{where}") from None
    except yaml.YAMLError as error:
        raise StackFileError(f"{path}: not valid YAML: {' '.join(str(error).split())}") from None
    except YamlBoundError as error:
        where = f" line {error.line + 1}:" if error.line is not None else ""
        raise StackFileError(f"{path}:{where} {error.problem}") from None
    finally:
        composer.dispose()
    if node is None:
        return None
    decoder = _GoDecoder(path)
    # Aliases may repeat a node many times over, and nest it deeper each time.
    problem = expansion_problem(node, _children)
    if problem is not None:
        at, what = problem
        raise decoder.fail(at, "an anchor's value contains itself" if what == CONTAINS_ITSELF else what)
    if isinstance(node, yaml.MappingNode) and raw_scalars_at:
        pairs = {decoder.key(key): value for key, value in decoder.pairs(node).items()}
        return {
            key: decoder.raw_values(value) if key in raw_scalars_at else decoder.value(value)
            for key, value in pairs.items()
        }
    return decoder.value(node)


def _unacceptable(text: str, error: yaml.reader.ReaderError) -> str:
    """A character YAML does not allow in its text, where it is and what to do."""
    line = text.count("\n", 0, error.position) + 1
    column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
    return (
        f"the character U+{error.character:04X} (line {line}, column {column}) is not allowed in YAML; "
        f"remove it, or write it as \\u{error.character:04x} inside a double-quoted value"
    )


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [child for pair in node.value for child in pair]
    return node.value if isinstance(node, yaml.SequenceNode) else []


class _GoDecoder:
    """Decodes a document ``expansion_problem`` passed: its aliases expand to a bounded tree."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, node: yaml.Node, problem: str) -> StackFileError:
        return StackFileError(f"{self.path}: line {node.start_mark.line + 1}: {problem}")

    def value(self, node: yaml.Node) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item) for item in node.value]
        return {self.key(key): self.value(value) for key, value in self.pairs(node).items()}

    def raw_values(self, node: yaml.Node) -> Any:
        """A mapping of config keys whose scalar values stay as written (``~`` and empty: '')."""
        if not isinstance(node, yaml.MappingNode):
            return self.value(node)
        values = {}
        for key, value in self.pairs(node).items():
            if isinstance(value, yaml.ScalarNode):
                tag = _TAG + "binary"
                decoded = self.scalar(value)
                values[self.key(key)] = decoded if value.tag == tag else ("" if decoded is None else value.value)
            else:
                values[self.key(key)] = self.value(value)
        return values

    def pairs(self, node: yaml.Node) -> dict[yaml.Node, yaml.Node]:
        """Key and value nodes, refusing a key written twice, and with ``<<`` merges applied
        (a key written in the mapping wins over a merged one; among merged maps, the first)."""
        pairs: dict[yaml.Node, yaml.Node] = {}
        seen: dict[str, int] = {}
        merged: list[yaml.Node] = []
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise self.fail(
                        key, f"the key '{key.value}' is already defined at line {seen[key.value]}; write each key once"
                    )
                seen[key.value] = key.start_mark.line + 1
                if key.value == "<<" and key.tag in (_PLAIN, _TAG + "merge"):
                    merged += value.value if isinstance(value, yaml.SequenceNode) else [value]
                    continue
            pairs[key] = value
        names = {self.key(key) for key in pairs}
        for source in merged:
            if not isinstance(source, yaml.MappingNode):
                raise self.fail(source, "a '<<' merge takes a mapping or a list of mappings")
            for key, value in self.pairs(source).items():
                if self.key(key) not in names:
                    names.add(self.key(key))
                    pairs[key] = value
        return pairs

    def key(self, node: yaml.Node) -> str:
        """A mapping key as the CLI turns it into text (fmt's %v of the decoded key)."""
        value = self.scalar(node) if isinstance(node, yaml.ScalarNode) else None
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int):
            return str(value)
        if value is None and isinstance(node, yaml.ScalarNode):
            return "<nil>"
        raise self.fail(node, f"the key {node.value!r} is not text; put it in quotes")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _PLAIN:
            return _resolve(node.value)
        short = node.tag.removeprefix(_TAG)
        if short == "binary":
            try:
                return base64.b64decode("".join(node.value.split()), validate=True).decode("utf-8")
            except (ValueError, UnicodeDecodeError):
                raise self.fail(node, "!!binary value contains invalid base64 data") from None
        if short not in ("int", "float", "bool", "null", "timestamp") or not node.tag.startswith(_TAG):
            return node.value  # !!str, and tags yaml.v3 does not resolve, stay text
        if short == "timestamp":
            timestamp = _timestamp(node.value)
            if timestamp is None:
                raise self.fail(node, f"cannot decode `{node.value}` as a !!timestamp")
            return timestamp
        value = _resolve(node.value, timestamps=False)
        kind = _kind(value)
        if kind == "int" and short == "float":
            return float(value)
        if kind != short:
            raise self.fail(node, f"cannot decode !!{kind} `{node.value}` as a !!{short}")
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    return "str"


def _resolve(text: str, timestamps: bool = True) -> Any:
    """yaml.v3's resolution of an untagged plain scalar (resolve.go): YAML 1.2's core schema,
    plus Go's integer literals (0x, 0o, 0b, and 0777 as octal), '_' in numbers, and timestamps."""
    if text in _RESOLVED:
        return _RESOLVED[text]
    first = text[:1]
    if first == ".":
        return _go_float(text) if _YAML_STYLE_FLOAT.fullmatch(text) else text
    if not first or first not in "+-0123456789":
        return text
    if timestamps:
        timestamp = _timestamp(text)
        if timestamp is not None:
            return timestamp
    plain = text.replace("_", "")
    number = _go_int(plain)
    if number is not None:
        return number
    if _YAML_STYLE_FLOAT.fullmatch(plain):
        return _go_float(plain)
    return text


def _go_int(text: str) -> int | None:
    """Go's strconv.ParseInt/ParseUint with base 0, within int64 and uint64."""
    if not _GO_INT.fullmatch(text):
        return None
    sign = -1 if text[0] == "-" else 1
    digits = text.lstrip("+-")
    base = {"0x": 16, "0X": 16, "0o": 8, "0O": 8, "0b": 2, "0B": 2}.get(digits[:2])
    if base is not None:
        digits = digits[2:]
    elif len(digits) > 1 and digits[0] == "0":
        base = 8
    try:
        number = sign * int(digits, base or 10)
    except ValueError:  # '08': not octal, so a float for yaml.v3
        return None
    return number if -(2**63) <= number < 2**64 else None


def _go_float(text: str) -> float | str:
    try:
        number = float(text)
    except ValueError:
        return text
    return text if math.isinf(number) else number  # Go's ParseFloat fails out of range


def _timestamp(text: str) -> str | None:
    """A timestamp as Go's time.Time writes itself in JSON (RFC 3339)."""
    match = _TIMESTAMP.fullmatch(text)
    if match is None:
        return None
    parts = match.groupdict()
    try:
        moment = datetime.datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts["hour"] or 0),
            int(parts["minute"] or 0),
            int(parts["second"] or 0),
        )
    except ValueError:
        return None
    if parts["hour"] is not None and bool(parts["space"]) == bool(parts["zone"]):
        return None  # yaml.v3 takes a zone after 'T' only, and requires it there
    zone = parts["zone"] or "Z"
    if zone in ("+00:00", "-00:00"):
        zone = "Z"
    fraction = (parts["fraction"] or "")[:9].rstrip("0")
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}{zone}"
