"""The deliberate bugs of docs/testing.md, each applied alone to a fresh clone: ``make bugs``.

A guard whose tests cannot see it broken is not a guard. Each bug below must fail at least one
test outside the unit tests of the module it changes (the whole program under mocks, the CLI,
another layer's rules). For each bug this clones the committed HEAD into a temporary
directory (next to a link to ``../shared``, as the checkout has it), applies the bug, runs the
test files that can see it and lists what failed; it exits 1 when a bug fails nothing outside
its module's own unit tests. A failure in these files fails ``make test``, which runs them all.
The same files run first on the clean clone: a test failing there would pass for a bug seen, so
the run stops.

``python -m tests.deliberate_bugs [NAME ...]`` applies the named bugs only.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Bug:
    what: str
    path: str
    correct: str
    broken: str
    unit_tests: tuple[str, ...]  # the changed module's own


BUGS = {
    "fullname": Bug(
        "the chart's fullname rule by release.startswith('ais') instead of 'ais' in release",
        "aisinfra/chart/naming.py",
        'if "ais" in release_name else',
        'if release_name.startswith("ais") else',
        ("tests/test_naming.py",),
    ),
    "decommission": Bug(
        "any targets.decommissioned entry excuses every removed target",
        "aisinfra/program/safety.py",
        "if node not in targets and node not in acknowledged",
        "if node not in targets and not acknowledged",
        ("tests/test_safety_rules.py",),
    ),
    "identity-worksheet": Bug(
        "any identityChange value accepted by the worksheet's stale-acknowledgement rule",
        "aisinfra/worksheet/model.py",
        "if entries[key] is not None and entries[key] != value",
        "if False",
        ("tests/test_worksheet_rules.py", "tests/test_worksheet.py"),
    ),
    "identity-guard": Bug(
        "any identityChange value accepted by the deployed-state guard",
        "aisinfra/program/safety.py",
        "or acknowledged[key] == value:",
        "or acknowledged[key] is not None:",
        ("tests/test_safety_rules.py",),
    ),
    "protect": Bug(
        "the worksheet model's protect default False",
        "aisinfra/worksheet/model.py",
        "    protect: TopLevelBoolean = Field(\n        default=True,",
        "    protect: TopLevelBoolean = Field(\n        default=False,",
        ("tests/test_worksheet_rules.py", "tests/test_worksheet.py"),
    ),
}

# The files that hold the tests these bugs must fail. The chart's acceptance tests render the
# real chart (skipped without it, as in make test): the chart itself is then the oracle.
TEST_FILES = (
    "tests/test_chart_acceptance.py",
    "tests/test_naming.py",
    "tests/test_program.py",
    "tests/test_safety.py",
    "tests/test_safety_rules.py",
    "tests/test_worksheet.py",
    "tests/test_worksheet_rules.py",
    "tests/test_chart_rules.py",
    "tests/test_cli.py",
)

_FAILED = re.compile(r"^FAILED (\S+)", re.MULTILINE)


def broken_text(bug: Bug, text: str) -> str:
    if text.count(bug.correct) != 1:
        raise SystemExit(f"{bug.path}: '{bug.correct}' is not there exactly once; update BUGS in {__name__}")
    return text.replace(bug.correct, bug.broken)


def failures(bug: Bug | None) -> list[str]:
    """The tests that fail in a clone of HEAD with ``bug`` applied (none: the clean clone)."""
    with tempfile.TemporaryDirectory() as directory:
        return _failures_in(bug, Path(directory))


def _failures_in(bug: Bug | None, workspace: Path) -> list[str]:
    clone = workspace / "project"
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)], check=True)
    shared = PROJECT_ROOT.parent / "shared"
    if shared.exists():
        (workspace / "shared").symlink_to(shared.resolve())
    if bug is not None:
        source = clone / bug.path
        source.write_text(broken_text(bug, source.read_text()))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider", *TEST_FILES],
        cwd=clone,
        capture_output=True,
        text=True,
        check=False,
    )
    return _FAILED.findall(result.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.deliberate_bugs", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"one of {', '.join(BUGS)} (default: all)")
    arguments = parser.parse_args(argv)
    unknown = [name for name in arguments.names if name not in BUGS]
    if unknown:
        parser.error(f"unknown bug(s) {', '.join(unknown)}; choose from {', '.join(BUGS)}")
    failing = failures(None)
    if failing:
        print("these tests fail without any bug applied; fix them first:")
        print("\n".join(f"    {test}" for test in failing))
        return 1
    unseen = []
    for name in arguments.names or BUGS:
        bug = BUGS[name]
        failed = failures(bug)
        outside = [test for test in failed if not test.startswith(bug.unit_tests)]
        print(f"{name} ({bug.what}): {len(failed)} failed, {len(outside)} outside {', '.join(bug.unit_tests)}")
        for test in outside:
            print(f"    {test}")
        if not outside:
            unseen.append(name)
    if unseen:
        print(f"not seen outside their module's unit tests: {', '.join(unseen)}")
    return 1 if unseen else 0


if __name__ == "__main__":
    sys.exit(main())
