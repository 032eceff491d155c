"""The README and the pages under docs/, held to the commands they show: the README's commands
run as written (the ``python -m aisinfra`` ones against a temporary stacks directory; the
``pulumi`` ones cannot run here, so they are checked for form and for naming the stack the
README's ``init`` wrote), the stack file example passes ``check`` and ``render``, and every
link between the pages leads somewhere."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from aisinfra.cli import EXIT_NOT_REVIEWED, EXIT_OK, main
from aisinfra.worksheet.reference import schema_comment
from aisinfra.worksheet.stackfile import PROJECT_DIR, stack_path

README = (PROJECT_DIR / "README.md").read_text()
DOCS = sorted((PROJECT_DIR / "docs").glob("*.md"))
AISINFRA = "venv/bin/python -m aisinfra"


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, flags=re.MULTILINE | re.DOTALL)


def shell_commands(text: str) -> list[list[str]]:
    """Each command of the text's sh blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in code_blocks(text, "sh"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                commands.append(words)
    return commands


def test_the_readme_is_a_front_door() -> None:
    assert len(README) < 8000
    assert "make render" in README and "make test" in README
    assert [words[:2] for words in shell_commands(README)[:2]] == [["make", "render"], ["make", "test"]]


def test_the_readmes_aisinfra_commands_run_as_written(tmp_path: Path, capsys: Any) -> None:
    commands = [words for words in shell_commands(README) if " ".join(words).startswith(AISINFRA)]
    assert [words[3] for words in commands] == ["init", "check", "render"]
    # check and render exit 3 as the README says: no chart here, so its objects are not reviewed.
    expected = {"init": EXIT_OK, "check": EXIT_NOT_REVIEWED, "render": EXIT_NOT_REVIEWED}
    for words in commands:
        argv = ["--stacks-dir", str(tmp_path), *words[3:]]
        assert main(argv) == expected[words[3]], (words, capsys.readouterr())
    assert "aistore-proxies-cpu{01..03}  (3)" in capsys.readouterr().out


def test_the_readmes_pulumi_commands_are_well_formed_and_name_the_stack_init_wrote(tmp_path: Path) -> None:
    init = next(words for words in shell_commands(README) if words[3:4] == ["init"])
    stack = init[4]
    pulumi = [words for words in shell_commands(README) if words[0] == "pulumi"]
    assert [words[1] for words in pulumi] == ["stack", "config", "preview", "up"]
    assert pulumi[0] == ["pulumi", "stack", "init", stack]
    assert pulumi[1] == ["pulumi", "config", "set", "--secret", "grafanaAdminPassword", "--stack", stack]
    assert pulumi[2] == ["pulumi", "preview", "--diff", "--stack", stack]
    assert pulumi[3] == ["pulumi", "up", "--stack", stack]
    # grafanaAdminPassword is the one key that is a secret.
    assert main(["--stacks-dir", str(tmp_path), *init[3:]]) == EXIT_OK
    assert main(["--stacks-dir", str(tmp_path), "check", stack]) == EXIT_NOT_REVIEWED


def test_the_readme_shows_the_line_init_writes_for_editors() -> None:
    assert code_blocks(README, "yaml") == [schema_comment(stack_path("prod")) + "\n"]


def test_the_stack_file_example_passes_check_and_render(tmp_path: Path, capsys: Any) -> None:
    page = (PROJECT_DIR / "docs" / "stack-file.md").read_text()
    example = page.split("## A whole stack file", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    assert example.startswith(schema_comment(stack_path("prod")) + "\n")
    (tmp_path / "Pulumi.prod.yaml").write_text(example)
    # Its chart.path is a checkout that is not here: nothing is wrong, but the objects are not reviewed.
    assert main(["--stacks-dir", str(tmp_path), "check"]) == 3, capsys.readouterr()
    assert main(["--stacks-dir", str(tmp_path), "render", "prod"]) == 3, capsys.readouterr()
    assert "aistore-proxies-cpu{01..03}  (3)" in capsys.readouterr().out


def anchors(markdown: str) -> set[str]:
    """GitHub's anchors of a page's headings: lowercase, punctuation dropped, spaces as '-'."""
    headings = re.findall(r"^#+ (.+)$", re.sub(r"^```.*?^```", "", markdown, flags=re.MULTILINE | re.DOTALL), re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


PAGES = [PROJECT_DIR / "README.md", *DOCS]


@pytest.mark.parametrize("page", PAGES, ids=[str(page.relative_to(PROJECT_DIR)) for page in PAGES])
def test_every_link_leads_to_a_file_and_heading_that_exist(page: Path) -> None:
    prose = re.sub(r"`[^`\n]*`", "", page.read_text())
    for target in re.findall(r"\]\(([^)\s]+)\)", prose):
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.is_file(), (page.name, target)
        if anchor:
            assert anchor in anchors(linked.read_text()), (page.name, target)


def test_every_page_is_linked_from_the_readme() -> None:
    assert {page.name for page in DOCS} <= set(re.findall(r"\]\(docs/([^)#]+)", README))
