"""The README's worksheet table and stack file example, held to the commands they describe."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aisinfra.cli import main
from aisinfra.worksheet.model import Alerts, Storage, Worksheet, section_type
from aisinfra.worksheet.patterns import expand
from aisinfra.worksheet.questionnaire import QUESTIONS
from aisinfra.worksheet.stackfile import PROJECT_DIR

README = (PROJECT_DIR / "README.md").read_text()
SECTION = README.split("## The worksheet as stack config", 1)[1].split("\n## ", 1)[0]
ROWS = [line.split(" | ") for line in SECTION.splitlines() if line.startswith("| ") and "---" not in line][1:]


def ticked(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def documented_keys() -> set[str]:
    return {name for row in ROWS for token in ticked(row[1]) for name in expand(token.removeprefix("aisinfra:"))}


def model_keys() -> set[str]:
    """Every key a stack file sets: the top-level ones, and the keys of each section
    (monitoring storage is one key, given as a mapping of its own; the alert thresholds are each a key,
    ``monitoring.alerts.diskWarningPercent``)."""
    keys = set()
    for info in Worksheet.model_fields.values():
        section = section_type(info.annotation)
        if section is None:
            keys.add(str(info.alias))
            continue
        for inner in section.model_fields.values():
            nested = section_type(inner.annotation)
            if nested is Alerts:
                keys |= {f"{info.alias}.{inner.alias}.{leaf.alias}" for leaf in Alerts.model_fields.values()}
                continue
            keys.add(f"{info.alias}.{inner.alias}")
            assert nested in (None, Storage)
    return keys


def test_the_worksheet_table_documents_every_key_the_program_reads() -> None:
    assert model_keys() <= documented_keys(), model_keys() - documented_keys()


def test_the_worksheet_table_names_each_keys_init_flag_and_no_other() -> None:
    for question in QUESTIONS:
        rows = [row for row in ROWS if question.key in documented_keys_of(row)]
        assert rows, question.key
        assert any(question.flag in re.findall(r"--[a-z-]+", row[2]) for row in rows), (question.key, question.flag)
    flags = {flag for row in ROWS for flag in re.findall(r"--[a-z-]+", row[2])} - {"--secret"}
    assert flags == {question.flag for question in QUESTIONS}


def documented_keys_of(row: list[str]) -> set[str]:
    return {name for token in ticked(row[1]) for name in expand(token.removeprefix("aisinfra:"))}


def test_the_stack_file_example_passes_check_and_render(tmp_path: Path, capsys: Any) -> None:
    example = SECTION.split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "Pulumi.prod.yaml").write_text(example)
    # Its chart.path is a checkout that is not here: nothing is wrong, but the objects are not reviewed.
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 3, capsys.readouterr()
    assert main(["--stacks-dir", str(tmp_path), "render", "prod"]) == 3, capsys.readouterr()
    assert "aistore-proxies-cpu{01..03}  (3)" in capsys.readouterr().out
