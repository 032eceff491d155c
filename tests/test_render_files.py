"""The files of ``render --out`` are written by libyaml's emitter where PyYAML has it, byte for
byte what PyYAML's own emitter writes, which is what they fall back to without libyaml; and
read back (``render --diff DIR``) by libyaml's parser, as the same values as PyYAML's own."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from aisinfra.review import manifests, render, yaml_out
from aisinfra.review.object_checks import deployment_of
from aisinfra.worksheet.stackfile import PROJECT_DIR, read_stack

needs_libyaml = pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML here was built without libyaml")

# Values where the two emitters could part: long and multi-line strings (folded by PyYAML at
# 80 columns by default, elsewhere by libyaml), characters YAML escapes, strings that look
# like other types.
TRICKY: dict[str, Any] = {
    "long": "word " * 40,
    "script": "#!/bin/sh\nset -eu\n" + 'printf "%s\\n" "$1" | tr a-z A-Z  # shout\n' * 8,
    "unicode": "héllo ✓ 日本 😀 " * 10,
    "control": "a\x07b\tc\r\nd\u2028e",
    "quotes": 'it\'s "quoted" ' * 10,
    "look-alikes": ["012", "1e3", "yes", "n", "null", "~", "", " padded ", "- item", "key: value"],
    "nested": [{"a": [1, 2.5, None, True, -0.0, 10**30]}, [], {}],
}


class RecordingDumper(yaml.CSafeDumper if yaml.__with_libyaml__ else yaml.SafeDumper):  # type: ignore[misc]
    """libyaml's dumper, counting the documents it writes."""

    written = 0

    def serialize(self, node: yaml.Node) -> None:
        RecordingDumper.written += 1
        super().serialize(node)


def dumped(documents: list[Any], dumper: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(yaml_out, "DUMPER", dumper)
    return yaml_out.dump_all(documents)


def as_pyyaml_writes(documents: list[Any]) -> str:
    """PyYAML's own representer and emitter, with the options yaml_out gives."""
    return yaml.dump_all(
        documents, Dumper=yaml.SafeDumper, sort_keys=True, default_flow_style=False, width=yaml_out.UNFOLDED_WIDTH
    )


@needs_libyaml
def test_a_render_is_written_by_libyaml_as_pyyaml_writes_it(
    chart_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example stack (twelve nodes, each with a preflight Job and its script; monitoring;
    the chart's objects and hooks): every file, every byte."""
    deployment = deployment_of(read_stack(PROJECT_DIR / "Pulumi.dev.yaml"), chart_dir)

    def written(dumper: Any, directory: Path) -> dict[str, bytes]:
        monkeypatch.setattr(yaml_out, "DUMPER", dumper)
        paths = render.write_outputs(deployment.rendering, directory)
        paths += manifests.write_release_objects(deployment.chart, directory)
        return {path.name: path.read_bytes() for path in paths}

    RecordingDumper.written = 0
    fast = written(RecordingDumper, tmp_path / "libyaml")
    documents = len(render.manifest_documents(deployment.rendering)) + len(deployment.chart.objects)
    documents += len(deployment.chart.hooks) + 4  # values, release, resources and outputs
    assert RecordingDumper.written == documents  # libyaml wrote every document
    # PyYAML's own representer too, not yaml_out's
    monkeypatch.setattr(yaml_out, "_plain_data", lambda dumper, keys_written_alike: dumper)
    assert fast == written(yaml.SafeDumper, tmp_path / "pyyaml")


@needs_libyaml
@pytest.mark.parametrize(
    ("keys", "by_libyaml"),
    [
        ({}, True),
        ({"k" * 100: 1, None: 2, 3: 4}, True),
        ({"": 1}, False),
        ({"k" * 125: 1}, False),
        ({"é" * 70: 1}, False),
        ({"a\rb": 1}, False),
    ],
    ids=["plain", "plain-for-both", "empty", "125-characters", "140-bytes", "carriage-return"],
)
def test_any_document_is_the_same_bytes_from_either_emitter(
    keys: dict[Any, Any], by_libyaml: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keys too: PyYAML's emitter writes a document with a key one emitter writes as ``? key``
    and the other does not."""
    documents = [{**TRICKY, **keys}, [TRICKY, TRICKY]]  # TRICKY twice: an anchor and an alias
    RecordingDumper.written = 0
    fast = dumped(documents, RecordingDumper, monkeypatch)
    assert RecordingDumper.written == (2 if by_libyaml else 0)
    assert fast == dumped(documents, yaml.SafeDumper, monkeypatch) == as_pyyaml_writes(documents)


@needs_libyaml
@pytest.mark.parametrize("document", ["a lone scalar", 12, None])
def test_a_document_that_is_a_lone_scalar_is_the_same_bytes_too(document: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    documents = [TRICKY, document]  # PyYAML ends it with "...", libyaml does not
    assert dumped(documents, yaml.CSafeDumper, monkeypatch) == as_pyyaml_writes(documents)


def plain_data(rng: random.Random, depth: int = 0) -> Any:
    """A random value of what the files hold, strings from TRICKY's kinds among them."""
    scalars = [
        lambda: rng.choice(["", "a", "null", "1e3", "- x", "k: v", "é", "a\nb", "  ", "x" * 130]),
        lambda: rng.randint(-(10**20), 10**20),
        lambda: rng.choice([True, False, None]),
        lambda: rng.choice([0.5, -0.0, 1e300, float("inf"), float("nan")]),
    ]
    if depth >= 4 or rng.random() < 0.4:
        return rng.choice(scalars)()
    if rng.random() < 0.5:
        return [plain_data(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    keys = [rng.choice(["name", "b", "", "k" * 120, "é", 3, None, True, 1.5, "z\r"]) for _ in range(rng.randint(0, 5))]
    return {key: plain_data(rng, depth + 1) for key in keys}


@pytest.mark.parametrize("seed", range(20))
def test_any_plain_data_is_written_as_pyyaml_writes_it(seed: int) -> None:
    """yaml_out's representer, over random documents: keys of every sort (some that do not sort
    together), collections met twice (aliases), floats, empty collections, lone scalars."""
    rng = random.Random(seed)
    documents = [plain_data(rng) for _ in range(15)]
    shared = plain_data(rng)
    documents += [{"a": shared, "b": [shared, shared]}, [documents[0], documents[0]]]
    assert yaml_out.dump_all(documents) == as_pyyaml_writes(documents)
    mappings = [document for document in documents if isinstance(document, dict | list)]
    assert yaml_out.dump_all(mappings) == as_pyyaml_writes(mappings)


def test_without_libyaml_pyyaml_writes_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    monkeypatch.delattr(yaml, "CSafeDumper", raising=False)
    assert yaml_out.fastest_safe_dumper() is yaml.SafeDumper


@needs_libyaml
def test_a_render_is_read_back_by_libyaml_as_pyyaml_reads_it(
    chart_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment = deployment_of(read_stack(PROJECT_DIR / "Pulumi.dev.yaml"), chart_dir)
    paths = render.write_outputs(deployment.rendering, tmp_path)
    paths += manifests.write_release_objects(deployment.chart, tmp_path)
    paths.append(tmp_path / "tricky.yaml")
    paths[-1].write_text(yaml_out.dump_all([TRICKY, [TRICKY, TRICKY]]))
    read = [yaml_out.load_all(path.read_text()) for path in paths]
    monkeypatch.setattr(yaml_out, "LOADER", yaml.SafeLoader)
    assert read == [yaml_out.load_all(path.read_text()) for path in paths]
    assert yaml_out.fastest_safe_loader() is yaml.CSafeLoader


def test_without_libyaml_pyyaml_reads_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml, "__with_libyaml__", False)
    monkeypatch.delattr(yaml, "CSafeLoader", raising=False)
    assert yaml_out.fastest_safe_loader() is yaml.SafeLoader
