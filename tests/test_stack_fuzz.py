"""Fuzzing the stack reader: stack files in the worksheet's shape (the example of
``tests/conftest.py``), edited at random -- values of the wrong type, nested deep, aliased
(bombs and loops included), keys written twice or in another spelling, huge or control-character
text, JSON written in a string where an object goes, ``secure:`` values, tags, documents that are
not a mapping or not one document, bytes that are not UTF-8, text cut or spliced -- read the way a
user reads them: ``read_stack``, the worksheet's validation (``load_worksheet`` with the other
namespaces' keys, and the forced-patch check, as ``read_worksheet`` runs them), ``check`` and
``render`` (without a chart: they stop at the review of the chart's objects).

Whatever comes in, nothing ends in a traceback: the reader returns the stack's config as text, or
refuses with ``StackFileError`` (one printable line naming the file); the worksheet's rules accept
it or refuse with ``WorksheetError`` (one printable line per problem, each naming a key); ``check``
and ``render`` exit with a documented status (0, 1 or 3: the file exists, so never 2) and print
nothing that is not a printable line; ``render``'s program stops only on its own refusal.

With hypothesis installed the examples come from it (``max_examples`` bounded, ``deadline=None``,
``derandomize=True``: the same examples on every run); without it, from ``random.Random`` with a
fixed seed, through the same generator (as ``tests/test_postrender_fuzz.py`` does).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest

from aisinfra import cli
from aisinfra.review import render
from aisinfra.review.check import judged
from aisinfra.worksheet.model import WorksheetError
from aisinfra.worksheet.stackfile import StackConfig, StackFileError, read_stack
from tests import fuzzing
from tests.conftest import worksheet
from tests.fuzzing import EXAMPLES, YAML_SPLICES, RandomChoices

# check runs for every example; render, which runs the whole program under mocks, for one in this many.
RENDER_EVERY = 6
SEED = 20261204


# -- What a stack file is written of ----------------------------------------------------------


class Raw(str):
    """A scalar written as it is (plain, tagged, flow brackets): YAML text, not a Python value."""


@dataclass
class Mapping:
    """A mapping as written: its pairs in order, a key possibly twice."""

    pairs: list[tuple[str, Any]]


@dataclass
class Anchored:
    """A value under an anchor, which aliases written after it may name."""

    name: str
    value: Any


@dataclass
class Alias:
    name: str


def written(value: Any) -> Any:
    """Python data (dicts, lists, scalars) as the generator's tree."""
    if isinstance(value, dict):
        return Mapping([(key, written(item)) for key, item in value.items()])
    if isinstance(value, list):
        return [written(item) for item in value]
    return value


# Every worksheet key the example leaves out, with a value it accepts, so that edits reach them too.
EXTRA_KEYS: dict[str, Any] = {
    "aisinfra:statePath": "/etc/ais",
    "aisinfra:existingNamespace": False,
    "aisinfra:protect": True,
    "aisinfra:kubernetesVersion": "1.30",
    "aisinfra:images": {"initContainer": "aistore/ais-init:latest", "aisnode": "aistore/aisnode:3.4"},
    "aisinfra:preflight": {"enabled": True},
    "aisinfra:grafanaAdminPassword": {"secure": "v1:c2VjcmV0:cGFzc3dvcmQ="},
    "aisinfra:identityChange": {"releaseName": "demo"},
    "kubernetes:context": "prod-admin@prod",
    "kubernetes:enablePatchForce": "false",
}
PLAIN_SCALARS = [
    "yes",
    "on",
    "off",
    "no",
    "~",
    "null",
    "true",
    "FALSE",
    "0777",
    "08",
    "0x1F",
    "0o17",
    "0b101",
    "1_000",
    "1e3",
    "-.5",
    ".inf",
    "-.Inf",
    ".nan",
    "1:20",
    "2024-01-02",
    "2024-01-02T03:04:05Z",
    "2024-13-45",
    "99999999999999999999999",
    "-9223372036854775809",
    "1.5e400",
    "cpu01",
    "/ais/sda",
    "demo",
    "[]",
    "{}",
    "[cpu01, cpu02]",
    "[1, [2, [3]]]",
    "{a: 1}",
    "{secure: v1:abc}",
    "{secure: 12}",
    "{secure: [x]}",
]
TAGGED = [
    "!!str 12",
    "!!int 7",
    "!!int foo",
    "!!float 1",
    "!!float x",
    "!!bool maybe",
    "!!bool true",
    "!!null ''",
    "!!binary aGVsbG8=",
    "!!binary ///",
    "!!binary gA==",
    "!!timestamp 2024-01-02",
    "!!timestamp 2024",
    "!!set {a, b}",
    "!!omap [{a: 1}]",
    "!!pairs [{a: 1}]",
    "!!map {a: 1}",
    "!!seq [a]",
    "!!seq {a: 1}",
    "!!map [a]",
    "!!merge x",
    "!custom x",
    "!<tag:yaml.org,2002:str> x",
    "!",
    "!!python/object:os.system x",
]
TEXTS = [
    "",
    " ",
    "cpu01\x1b[31m",
    "a\tb",
    "a\nb",
    "a\rb",
    "\u202ecpu01",
    "\x00",
    "\x85",
    "\u2028",
    "\ufeff",
    "é—ünï 😀",
    "\ud800",
    "[secret]",
    "cpu{01..99999}",
    "cpu[a-z][a-z][a-z]",
    "cpu{01..12",
    "/ais/sd[a-",
    "'quoted'",
    "k: v",
    "- a",
    "#",
    "../../etc",
    "C:\\temp",
]
KEYS = [
    "releaseName",
    "namespace",
    "chart",
    "path",
    "repo",
    "name",
    "version",
    "values",
    "nodes",
    "mountpoints",
    "initialCount",
    "initialPrimary",
    "enabled",
    "graphite",
    "grafana",
    "prometheus",
    "alerts",
    "node",
    "size",
    "secure",
    "<<",
    "aisinfra:releaseName",
    "aisinfra:targets",
    "AISINFRA:protect",
    "aisinfr:statePath",
    "kubernetes:enablePatchForce",
    "aisinfra:",
    ":",
    "a.b",
    "x[0]",
    "1",
    "true",
    "~",
    "k" * 300,
    "é",
    "\x1b",
]
# The stack reader meets YAML the user wrote: everything that breaks YAML, and more of it.
SPLICES = [
    *YAML_SPLICES,
    "*nowhere",
    "!!binary ",
    "%TAG ! tag:x,2000:\n",
    ">",
    "<<: ",
]
BAD_BYTES = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80", b"\x80", b"\xe2\x82"]
PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9:._/-]*")


class Generator(fuzzing.Generator):
    # -- values -------------------------------------------------------------------------------

    def nested(self) -> Raw:
        levels = self.choices.pick([2, 5, 20, 60, 98, 99, 100, 101, 150, 1000])
        if self.chance(50):
            return Raw("[" * levels + "x" + "]" * levels)
        return Raw("{a: " * levels + "x" + "}" * levels)

    def bomb(self) -> Raw:
        """Aliases that stand for ten to the ``levels`` values, in one flow mapping."""
        levels = self.choices.integer(1, 8)
        name = f"b{len(self.anchors)}"
        self.anchors.append(name)
        parts = [f"l0: &{name}x0 [x, x, x, x, x, x, x, x, x, x]"]
        for level in range(1, levels):
            parts.append(f"l{level}: &{name}x{level} [{', '.join([f'*{name}x{level - 1}'] * 10)}]")
        return Raw("{" + ", ".join(parts) + "}")

    def replacement(self, old: Any) -> Any:
        """A value to put where ``old`` was."""
        roll = self.choices.integer(1, 100)
        if roll <= 18:
            return Raw(self.choices.pick(PLAIN_SCALARS))
        if roll <= 30:
            return Raw(self.choices.pick(TAGGED))
        if roll <= 42:
            return self.choices.pick(TEXTS)
        if roll <= 47:
            return self.choices.pick(["x", "\x1b", "9", "é"]) * self.choices.pick([64, 254, 1000, 70_000])
        if roll <= 52:
            return self.choices.pick([0, -1, 1.5, 2**63, 10**30, True, False, None])
        if roll <= 60:  # what the CLI's `pulumi config set` leaves: JSON in a string, whole or broken
            text = json.dumps(plain(old))
            return text if self.chance(70) else text[: self.choices.integer(0, len(text))]
        if roll <= 65:
            return Mapping([("secure", self.choices.pick(["v1:abc", 12, None, "", Raw("[x]")]))])
        if roll <= 70:
            return self.nested()
        if roll <= 74:
            return self.bomb()
        if roll <= 80 and self.anchors:
            return Alias(self.choices.pick(self.anchors))
        if roll <= 84:
            return Mapping([]) if self.chance(50) else []
        if roll <= 90:  # the same value, the other shape
            if isinstance(old, Mapping):
                return [value for _, value in old.pairs]
            if isinstance(old, list):
                return Mapping([(str(index), value) for index, value in enumerate(old)])
            return [old]
        if roll <= 95:
            return Raw("&loop {again: *loop}") if self.chance(50) else Raw("&self [*self]")
        return Raw(f"*{self.choices.pick(['nowhere', 'a0', 'loop'])}")

    def edit(self, tree: Mapping) -> None:
        """One edit somewhere in ``tree``: a value replaced, anchored, a key renamed, added,
        written twice or removed."""
        # Walk down from the config mapping, stopping at a random depth.
        parent: Any = tree
        while True:
            if isinstance(parent, Mapping) and parent.pairs:
                at = self.choices.integer(0, len(parent.pairs) - 1)
                child = parent.pairs[at][1]
            elif isinstance(parent, list) and parent:
                at = self.choices.integer(0, len(parent) - 1)
                child = parent[at]
            else:
                return
            if not isinstance(child, (Mapping, list)) or self.chance(40):
                break
            parent = child
        roll = self.choices.integer(1, 100)
        if isinstance(parent, list):
            if roll <= 70:
                parent[at] = self.replacement(child)
            elif roll <= 85:
                parent.insert(at, copy.deepcopy(child))
            else:
                del parent[at]
            return
        key = parent.pairs[at][0]
        if roll <= 55:
            parent.pairs[at] = (key, self.replacement(child))
        elif roll <= 65:  # anchored here, so that a later alias names it
            name = f"a{len(self.anchors)}"
            self.anchors.append(name)
            parent.pairs[at] = (key, Anchored(name, child))
        elif roll <= 73:
            parent.pairs.insert(at + 1, (key, self.replacement(child)))  # the key written twice
        elif roll <= 83:
            parent.pairs[at] = (self.renamed(key), child)
        elif roll <= 91:
            parent.pairs.insert(at, (self.choices.pick(KEYS), self.replacement(child)))
        else:
            del parent.pairs[at]

    def renamed(self, key: str) -> str:
        roll = self.choices.integer(1, 100)
        if roll <= 25:
            return key.removeprefix("aisinfra:")  # the same config key, in its other spelling
        if roll <= 45:
            return key.upper() if self.chance(50) else key[:-1]
        if roll <= 60 and len(key) > 2:
            at = self.choices.integer(0, len(key) - 2)
            return key[:at] + key[at + 1] + key[at] + key[at + 2 :]
        return self.choices.pick(KEYS)

    # -- the file -----------------------------------------------------------------------------

    def config(self) -> Mapping:
        config = worksheet()
        for key, value in EXTRA_KEYS.items():
            if self.chance(25):
                config[key] = copy.deepcopy(value)
        tree = written(config)
        assert isinstance(tree, Mapping)
        return tree

    def document(self) -> str:
        self.anchors = []
        config = self.config()
        for _ in range(self.choices.pick([0, 0, 1, 1, 1, 2, 2, 3, 5, 8])):
            self.edit(config)
        top = Mapping([("config", config)])
        roll = self.choices.integer(1, 100)
        if roll <= 4:
            top.pairs.insert(0, ("secretsprovider", self.choices.pick(["passphrase", Raw("[x]")])))
        elif roll <= 7:
            top.pairs.append((self.choices.pick(["environment", "enviroment", "config", "Config", "1", "~"]), "x"))
        elif roll <= 10:
            top.pairs[0] = ("config", self.replacement(config))
        text = self.emit(top)
        roll = self.choices.integer(1, 100)
        if roll <= 3:
            text = self.choices.pick(["", "# nothing\n", "---\n", "~\n", "- config\n", "just text\n", "[1, 2]\n"])
        elif roll <= 7:
            text = text + self.choices.pick(["---\n", "---\nconfig: {}\n", "...\n", "--- x\n"])
        elif roll <= 9:
            text = "%YAML 1.1\n---\n" + text
        elif roll <= 11:
            text = self.choices.pick(["--- !!map\n", "--- &top\n", "--- !custom\n"]) + text
        return text

    def emit(self, value: Any, indent: int = 0) -> str:
        """``value`` as block YAML at ``indent`` (a mapping's lines), flow YAML inside lists."""
        assert isinstance(value, Mapping)
        pad = " " * indent
        lines = []
        for key, item in value.pairs:
            head = f"{pad}{self.key(key)}:"
            anchor = ""
            if isinstance(item, Anchored):
                anchor, item = f" &{item.name}", item.value
            if isinstance(item, Mapping) and item.pairs and indent < 8:
                lines.append(head + anchor + "\n" + self.emit(item, indent + 2))
            else:
                lines.append(f"{head}{anchor} {self.flow(item)}\n")
        return "".join(lines)

    def key(self, key: str) -> str:
        return key if PLAIN_KEY.fullmatch(key) and not self.chance(5) else json.dumps(key)

    def flow(self, value: Any) -> str:
        if isinstance(value, Raw):
            return str(value)
        if isinstance(value, Anchored):
            return f"&{value.name} {self.flow(value.value)}"
        if isinstance(value, Alias):
            return f"*{value.name}"
        if isinstance(value, Mapping):
            return "{" + ", ".join(f"{self.key(key)}: {self.flow(item)}" for key, item in value.pairs) + "}"
        if isinstance(value, list):
            return "[" + ", ".join(self.flow(item) for item in value) + "]"
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "null"
        if isinstance(value, (int, float)):
            return repr(value)
        if PLAIN_KEY.fullmatch(value) and self.chance(50):
            return value  # plain, as people write it
        return json.dumps(value, ensure_ascii=self.chance(50))

    def mutated(self, data: bytes) -> bytes:
        for _ in range(self.choices.integer(1, 3)):
            at = self.choices.integer(0, len(data))
            roll = self.choices.integer(1, 100)
            if roll <= 45:
                data = data[:at] + self.choices.pick(SPLICES).encode() + data[at:]
            elif roll <= 60:
                data = data[:at] + self.choices.pick(BAD_BYTES) + data[at:]
            elif roll <= 85:
                data = data[:at] + data[at + self.choices.integer(1, 20) :]
            else:
                data = data[:at]
        return data

    def stack_file(self) -> bytes:
        data = self.document().encode("utf-8", "surrogatepass")
        if self.chance(15):
            data = self.mutated(data)
        if self.chance(5):
            data = data.replace(b"\n", b"\r\n")
        if self.chance(3):
            data = b"\xef\xbb\xbf" + data
        return data


def plain(value: Any) -> Any:
    """The generator's tree as Python data (anchors, aliases and raw text as strings)."""
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.pairs}
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, Anchored):
        return plain(value.value)
    if isinstance(value, Alias):
        return value.name
    return str(value) if isinstance(value, Raw) else value


# -- The properties -----------------------------------------------------------------------------


def one_line(text: str) -> bool:
    return bool(text) and text.isprintable()


def read(path: Path) -> str | StackConfig | WorksheetError:
    """``read_stack`` returns config text or refuses in one printable line naming the file; the
    worksheet's validation (``judged``: what ``read_worksheet`` refuses) accepts that config or
    refuses it, one printable line per problem, each naming a key. Returns the reader's refusal,
    the accepted stack or the worksheet's refusal."""
    try:
        stack = read_stack(path)
    except StackFileError as error:
        assert one_line(str(error)) and str(error).startswith(f"{path}: "), repr(str(error))
        return str(error)
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in stack.values.items())
    assert stack.secret_keys <= set(stack.values)
    worksheet = judged(stack)
    if isinstance(worksheet, WorksheetError):
        assert worksheet.problems
        for problem in worksheet.problems:
            assert one_line(str(problem)) and problem.key, repr(str(problem))
        assert worksheet.waiting_note is None or one_line(worksheet.waiting_note)
        return worksheet
    return stack


@contextlib.contextmanager
def captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        yield out, err


def checked(directory: Path, outcome: str | StackConfig | WorksheetError) -> None:
    """``check STACK``: a refused stack exits 1 with each problem once, on a line of its own naming
    the file, and the verdict; an accepted one exits 0 or 3 (its chart is not here), or 1 with
    the problems of its chart's review. Every line printable."""
    with captured() as (out, err):
        status = cli.main(["--stacks-dir", str(directory), "check", "fuzz"])
    lines, errors = out.getvalue().splitlines(), err.getvalue().splitlines()
    assert all(one_line(line) for line in lines + errors), (lines, errors)
    assert "Traceback" not in err.getvalue()
    if isinstance(outcome, str):
        assert (status, lines) == (cli.EXIT_PROBLEMS, [outcome, "checked 1 stack(s): 1 problem(s)"])
    elif isinstance(outcome, WorksheetError):
        problems = [f"Pulumi.fuzz.yaml: {problem}" for problem in outcome.problems]
        notes = [f"Pulumi.fuzz.yaml: {outcome.waiting_note}"] if outcome.waiting_note else []
        verdict = f"checked 1 stack(s): {len(problems)} problem(s)"
        assert (status, lines) == (cli.EXIT_PROBLEMS, [*problems, *notes, verdict])
    else:
        assert status in (cli.EXIT_OK, cli.EXIT_PROBLEMS, cli.EXIT_NOT_REVIEWED), (status, lines, errors)
        assert lines[-1].startswith("checked 1 stack(s): ")
        assert all(line.startswith("Pulumi.fuzz.yaml: ") for line in lines[:-1]), lines


def rendered(directory: Path, outcome: str | StackConfig | WorksheetError, monkeypatch: pytest.MonkeyPatch) -> None:
    """``render STACK``: a refused stack exits 1 with the refusal on stderr, once, and nothing
    else there; the program stops only on its own refusal (``pulumi.RunError``), never on an
    error of its own; an accepted stack exits 0, or 3 (its chart is not here)."""
    run_program = render.run_program

    def only_refusals(*arguments: Any, **keywords: Any) -> Any:
        try:
            return run_program(*arguments, **keywords)
        except render.ProgramError as error:
            assert isinstance(error.cause, pulumi.RunError), repr(error.cause)
            raise

    monkeypatch.setattr(render, "run_program", only_refusals)
    with captured() as (_, err):
        status = cli.main(["--stacks-dir", str(directory), "render", "fuzz"])
    errors = err.getvalue()
    if isinstance(outcome, (str, WorksheetError)):
        # The same lines, each once; the program reads the config in the order of its keys, not the file's.
        assert status == cli.EXIT_PROBLEMS and errors.endswith("\n"), (status, errors)
        assert sorted(errors.splitlines()) == sorted(f"error: {outcome}".splitlines()), errors
    else:
        assert status in (cli.EXIT_OK, cli.EXIT_PROBLEMS, cli.EXIT_NOT_REVIEWED), (status, errors)
        assert "Traceback" not in errors and "Exception ignored" not in errors, errors
        assert all(line.isprintable() for line in errors.splitlines()), errors


class Runner:
    """Writes each example as a stack file and puts it through every property: the reader and
    check for each, render for one in ``render_every``."""

    def __init__(self, directory: Path, monkeypatch: pytest.MonkeyPatch, render_every: int) -> None:
        self.directory = directory
        self.monkeypatch = monkeypatch
        self.render_every = render_every
        self.count = 0

    def __call__(self, data: bytes) -> None:
        self.count += 1
        path = self.directory / "Pulumi.fuzz.yaml"
        path.write_bytes(data)
        outcome = read(path)
        checked(self.directory, outcome)
        if self.render_every and self.count % self.render_every == 0:
            with self.monkeypatch.context() as patch:
                rendered(self.directory, outcome, patch)


def examples(check: Callable[[bytes], None], seed: int) -> None:
    """``check`` on EXAMPLES stack files (tests/fuzzing.py)."""
    fuzzing.examples(lambda choices: Generator(choices).stack_file(), check, seed)


def test_the_generator_reaches_every_outcome(tmp_path: Path) -> None:
    """The files are not all refused by the reader: many reach the worksheet's rules, some pass
    them, and the reader's refusals are of every kind."""
    choices = RandomChoices(SEED)
    path = tmp_path / "Pulumi.fuzz.yaml"
    accepted, worksheets, refusals = 0, 0, []
    for _ in range(EXAMPLES):
        path.write_bytes(Generator(choices).stack_file())
        try:
            stack = read_stack(path)
        except StackFileError as error:
            refusals.append(str(error).removeprefix(f"{path}: "))
            continue
        worksheets += 1
        accepted += not isinstance(judged(stack), WorksheetError)
    assert worksheets > EXAMPLES // 3 and accepted > EXAMPLES // 10, (worksheets, accepted)
    kinds = ["not valid YAML", "not UTF-8", "is not allowed in YAML", "expand to more than", "contains itself"]
    kinds += ["already defined", "levels deep", "one config key", "cannot decode", "unknown top-level key"]
    for kind in kinds:
        assert any(kind in refusal for refusal in refusals), kind


def test_the_stack_reader_check_and_render_never_end_in_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    examples(Runner(tmp_path, monkeypatch, RENDER_EVERY), SEED)
