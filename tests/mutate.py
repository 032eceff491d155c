"""Mutation testing of the safety-critical modules: ``make mutate`` (not part of ``make test``).

mutmut changes one thing at a time in a module (a comparison, a constant, a boolean, a
returned value, ...) and runs the tests that reach the changed function; a mutant that no
test notices ("survived") is a change of behaviour the suite cannot see. Each module runs
in a copy of the project under ``build/mutate/<module>/``, judged only by the tests named
for it here, so that one run stays within minutes on two cores. The report (per module:
mutants, killed, timed out, survived, score, run time; every survivor's diff) goes to stdout and
to ``build/mutate/report.md``. A mutant that makes the tests hang past mutmut's timeout is
detected, like a killed one: whether such a mutant first meets a test that fails or one that
hangs depends on the order the tests run in, which varies. docs/testing.md names every other
mutant that is not killed, with why it is equivalent; the run fails on a survivor it does not
name, and on a name it lists that no longer survives (the code changed: read the survivors
again).

``python -m tests.mutate [MODULE ...]`` runs the named modules only (names as in MODULES).
"""

from __future__ import annotations

import argparse
import ast
import fnmatch
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests import render_cache

PROJECT_ROOT = Path(__file__).resolve().parents[1]
BUILD = PROJECT_ROOT / "build" / "mutate"
EXPLAINED_IN = PROJECT_ROOT / "docs" / "testing.md"
# A mutant as mutmut names it, written in backticks: `aisinfra.chart.postrender.x_main__mutmut_5`.
_EXPLAINED_MUTANT = re.compile(r"`(aisinfra\.[^`\s]+__mutmut_[0-9]+)`")
# What a test run needs beside the package and the tests: the program and its stack files.
PROJECT_FILES = ("__main__.py", "Pulumi.yaml", "Pulumi.dev.yaml", "pyproject.toml")
# The launcher tests run the post-renderer as a subprocess, outside mutmut's reach: a
# mutant there would be judged by the unmutated module.
PYTEST_ARGS = ("-p", "no:cacheprovider", "-k", "not launcher")


@dataclass(frozen=True)
class Module:
    path: str
    tests: tuple[str, ...]
    # When set, only the module's top-level functions are mutated, less these.
    excluded: tuple[str, ...] | None = None
    # The program's runs and the chart's renderings its tests ask for, kept for the whole run
    # (tests/render_cache.py): only for a module that computes none of them.
    render_cache: bool = False

    def functions(self) -> list[str]:
        tree = ast.parse((PROJECT_ROOT / self.path).read_text())
        defined = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)]
        return [name for name in defined if name not in (self.excluded or ())]

    def mutant_patterns(self) -> list[str]:
        if self.excluded is None:
            return []
        return [f"{self.dotted}.x_{function}__mutmut_*" for function in self.functions()]

    @property
    def dotted(self) -> str:
        return self.path.removesuffix(".py").replace("/", ".")

    def selects(self, mutant: str) -> bool:
        patterns = self.mutant_patterns()
        return not patterns or any(fnmatch.fnmatchcase(mutant, pattern) for pattern in patterns)


# model.py: the worksheet's rules (every value rule, every rule across keys and the list
# that runs them), not the machinery that words pydantic's errors and finds every mistake in
# one run: that machinery only ever runs for a worksheet that is refused anyway
# (parse_worksheet raises whenever pydantic found a mistake).
WORKSHEET_REPORTING = (
    "decoded",
    "parse_worksheet",
    "_checked_whole",
    "_partial",
    "_decode",
    "_key",
    "_describe",
    "error_message",
    "_shown",
    "section_type",
    "_suggestion",
    # Writes the rules' part of the stack file's JSON Schema, not a rule: tests/test_reference.py
    # judges it (the generated schema against docs/), outside the workspace this run copies.
    "_text_schema",
)

MODULES = {
    "naming": Module("aisinfra/chart/naming.py", ("tests/test_naming.py", "tests/test_program.py")),
    "model": Module(
        "aisinfra/worksheet/model.py",
        ("tests/test_worksheet_rules.py", "tests/test_safety_rules.py"),
        WORKSHEET_REPORTING,
    ),
    "rules": Module(
        "aisinfra/chart/rules.py",
        ("tests/test_chart_rules.py", "tests/test_worksheet_rules.py", "tests/test_naming.py"),
    ),
    # The pure refusals: the whole program under mocks (tests/test_safety.py) takes seconds
    # per run, too long to repeat for every mutant.
    "safety": Module("aisinfra/program/safety.py", ("tests/test_safety_rules.py",)),
    "postrender": Module(
        "aisinfra/chart/postrender.py", ("tests/test_postrender.py", "tests/test_postrender_cases.py")
    ),
    # The review's own code, held to the guard's standard: a check that stops firing, or a diff
    # that stops showing a change, must fail a test. The chart's acceptance tests render the
    # real chart (skipped without it), once per run with the render cache, not once per mutant.
    "object_checks": Module(
        "aisinfra/review/object_checks.py",
        (
            "tests/test_object_checks.py",
            "tests/test_chart_acceptance.py",
            "tests/test_schema_checks.py",
            "tests/test_node_affinity.py",
        ),
        render_cache=True,
    ),
    "manifest_diff": Module("aisinfra/review/manifest_diff.py", ("tests/test_manifest_diff.py",)),
    "diff": Module("aisinfra/review/diff.py", ("tests/test_diff.py",)),
    # Rendering the example stack (Helm's engine, the program under mocks) takes a second or more per
    # mutant, and neither calls consequences.py: rendered once, kept for every mutant.
    "consequences": Module("aisinfra/review/consequences.py", ("tests/test_consequences.py",), render_cache=True),
    "preflight": Module("aisinfra/program/preflight.py", ("tests/test_preflight.py",)),
    "patterns": Module("aisinfra/worksheet/patterns.py", ("tests/test_patterns.py",)),
}

_RESULT = re.compile(r"^\s*(\S+): (\S.*)$")
DETECTED = ("killed", "timeout")


@dataclass
class Outcome:
    name: str
    module: Module
    seconds: float
    statuses: dict[str, str]
    survivors: dict[str, str]  # mutant name -> diff

    def count(self, status: str) -> int:
        return sum(1 for value in self.statuses.values() if value == status)

    @property
    def score(self) -> float:
        judged = len(self.statuses) - self.count("skipped")
        detected = sum(self.count(status) for status in DETECTED)
        return 100.0 * detected / judged if judged else 0.0


def _workspace(name: str, module: Module) -> Path:
    """A copy of the project whose setup.cfg points mutmut at one module and its tests."""
    workspace = BUILD / name
    shutil.rmtree(workspace, ignore_errors=True)
    workspace.mkdir(parents=True)
    shutil.copytree(PROJECT_ROOT / "aisinfra", workspace / "aisinfra", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PROJECT_ROOT / "tests", workspace / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    for file in PROJECT_FILES:
        if (PROJECT_ROOT / file).exists():
            shutil.copy2(PROJECT_ROOT / file, workspace / file)
    # The tests read the reference at <project root>/../shared, and mutmut's project root
    # is <workspace>/mutants.
    shared = PROJECT_ROOT.parent / "shared"
    if shared.exists():
        (workspace / "shared").symlink_to(shared.resolve())
    lines = [
        "[mutmut]",
        "source_paths = aisinfra",
        f"only_mutate = {module.path}",
        "also_copy =",
        *(f"    {file}" for file in PROJECT_FILES if (workspace / file).exists()),
        "pytest_add_cli_args =",
        *(f"    {arg}" for arg in PYTEST_ARGS),
        "pytest_add_cli_args_test_selection =",
        *(f"    {test}" for test in module.tests),
        "use_git_change_detection = false",
        # Forked straight from a process that ran the Pulumi SDK, a test whose program raises
        # hangs until mutmut's timeout; a fork server that never ran a test does not.
        "process_isolation = forkserver",
    ]
    (workspace / "setup.cfg").write_text("\n".join(lines) + "\n")
    return workspace


def _mutmut(workspace: Path, *args: str, module: Module | None = None) -> str:
    environment = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    if module is not None and module.render_cache:
        environment[render_cache.CACHE_ENV] = str(workspace / "render-cache")
    result = subprocess.run(
        [sys.executable, "-m", "mutmut", *args],
        cwd=workspace,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"mutmut {' '.join(args)} failed in {workspace}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def run_module(name: str, children: int) -> Outcome:
    module = MODULES[name]
    workspace = _workspace(name, module)
    started = time.monotonic()
    _mutmut(workspace, "run", "--max-children", str(children), *module.mutant_patterns(), module=module)
    seconds = time.monotonic() - started
    statuses = {}
    for line in _mutmut(workspace, "results", "--all", "true").splitlines():
        match = _RESULT.match(line)
        if match and module.selects(match.group(1)):
            statuses[match.group(1)] = match.group(2)
    survivors = {mutant: _mutmut(workspace, "show", mutant) for mutant in undetected(statuses)}
    return Outcome(name, module, seconds, statuses, survivors)


def undetected(statuses: dict[str, str]) -> list[str]:
    """The mutants no test noticed: survived, or not judged at all (no test reaches it, ...)."""
    return [mutant for mutant, status in statuses.items() if status not in DETECTED]


def explained_mutants(text: str) -> set[str]:
    return set(_EXPLAINED_MUTANT.findall(text))


def unexplained(outcomes: list[Outcome], explained: set[str]) -> tuple[list[str], list[str]]:
    """Survivors the documentation does not name, and names it lists for the modules run that
    did not survive."""
    survivors = {mutant for outcome in outcomes for mutant in outcome.survivors}
    modules_run = tuple(f"{outcome.module.dotted}." for outcome in outcomes)
    listed = {mutant for mutant in explained if mutant.startswith(modules_run)}
    return sorted(survivors - listed), sorted(listed - survivors)


def report(outcomes: list[Outcome], children: int, explained: set[str]) -> str:
    lines = [
        f"# Mutation testing ({sys.executable} -m mutmut, {children} workers, {os.cpu_count()} CPUs)",
        "",
        "| module | mutants | killed | timeout | survived | other | score | run time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for outcome in outcomes:
        other = len(outcome.statuses) - sum(outcome.count(status) for status in (*DETECTED, "survived"))
        lines.append(
            f"| {outcome.module.path} | {len(outcome.statuses)} | {outcome.count('killed')} | "
            f"{outcome.count('timeout')} | {outcome.count('survived')} | {other} | {outcome.score:.1f}% | "
            f"{outcome.seconds:.0f} s |"
        )
    not_named, stale = unexplained(outcomes, explained)
    where = EXPLAINED_IN.relative_to(PROJECT_ROOT)
    if not_named:
        lines += ["", f"Not detected and not named in {where} (kill it with a test, or name it there with why):"]
        lines += [f"- `{mutant}`" for mutant in not_named]
    if stale:
        lines += ["", f"Named in {where} but detected or gone (the code changed: take it out):"]
        lines += [f"- `{mutant}`" for mutant in stale]
    for outcome in outcomes:
        for mutant, diff in outcome.survivors.items():
            lines += ["", f"## {mutant} ({outcome.statuses[mutant]})", "", "```diff", diff.strip(), "```"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutate", description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"one of {', '.join(MODULES)} (default: all)")
    parser.add_argument("--children", type=int, default=os.cpu_count() or 1, help="parallel mutant runs")
    arguments = parser.parse_args(argv)
    unknown = [name for name in arguments.modules if name not in MODULES]
    if unknown:
        parser.error(f"unknown module(s) {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    outcomes = [run_module(name, arguments.children) for name in arguments.modules or MODULES]
    explained = explained_mutants(EXPLAINED_IN.read_text())
    text = report(outcomes, arguments.children, explained)
    BUILD.mkdir(parents=True, exist_ok=True)
    (BUILD / "report.md").write_text(text)
    print(text)
    return 1 if any(unexplained(outcomes, explained)) else 0


if __name__ == "__main__":
    sys.exit(main())
