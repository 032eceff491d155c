"""``make mutate`` passes only when docs/testing.md names exactly the mutants that are not killed."""

from __future__ import annotations

import subprocess
import sys

from tests.mutate import (
    EXPLAINED_IN,
    MODULES,
    PROJECT_ROOT,
    Outcome,
    explained_mutants,
    undetected,
    unexplained,
)

MODEL_NAMED = "aisinfra.worksheet.model.x__image__mutmut_24"
MODEL_NEW = "aisinfra.worksheet.model.x__quoted__mutmut_1"
POSTRENDER_NAMED = "aisinfra.chart.postrender.xǁ_Documentǁrendered__mutmut_12"
DOCUMENTATION = f"""
- `{MODEL_NAMED}`: equivalent, because ...
- `{POSTRENDER_NAMED}`, and `model.x_elsewhere` without the package is no name.
"""


def outcome(module: str, survivors: list[str]) -> Outcome:
    return Outcome(module, MODULES[module], 1.0, dict.fromkeys(survivors, "survived"), dict.fromkeys(survivors, "diff"))


def test_the_names_in_backticks_are_the_explained_mutants() -> None:
    assert explained_mutants(DOCUMENTATION) == {MODEL_NAMED, POSTRENDER_NAMED}


def test_a_survivor_not_named_fails_and_a_module_not_run_has_no_stale_names() -> None:
    model = outcome("model", [MODEL_NAMED, MODEL_NEW])
    assert unexplained([model], explained_mutants(DOCUMENTATION)) == ([MODEL_NEW], [])


def test_a_name_that_no_longer_survives_fails() -> None:
    outcomes = [outcome("model", [MODEL_NAMED]), outcome("postrender", [])]
    assert unexplained(outcomes, explained_mutants(DOCUMENTATION)) == ([], [POSTRENDER_NAMED])


def test_every_mutant_the_documentation_names_is_of_a_module_make_mutate_runs() -> None:
    named = explained_mutants(EXPLAINED_IN.read_text())
    modules = tuple(f"{module.dotted}." for module in MODULES.values())
    assert named and all(mutant.startswith(modules) for mutant in named)


def test_a_hang_is_detected_and_needs_no_name_but_a_mutant_no_test_reaches_does() -> None:
    """Whether a mutant that loops forever meets a failing test or a hanging one first varies
    from run to run; either way the tests noticed it."""
    statuses = {"k": "killed", "t": "timeout", "s": "survived", "n": "no tests"}
    assert undetected(statuses) == ["s", "n"]
    assert Outcome("model", MODULES["model"], 1.0, statuses, {}).score == 50.0


def test_the_tests_a_mutation_run_collects_leave_helms_engine_unloaded() -> None:
    """mutmut's fork server imports every test module it runs, then forks a process per mutant.
    Helm's engine is a Go library whose runtime starts threads when it is loaded, and a fork
    copies only one thread: loaded in the fork server, every render in a mutant's process stalled
    until mutmut's CPU limit ended it, and every mutant of a module whose tests render the chart
    counted as a detected "timeout"."""
    tests = sorted({test for module in MODULES.values() for test in module.tests})
    modules = ", ".join(test.removesuffix(".py").replace("/", ".") for test in tests)
    program = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.startswith('helm_python')))"
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"


def test_a_module_whose_tests_keep_their_rendering_is_not_on_the_rendering_path() -> None:
    """A mutant of a module the cached calls made (tests/render_cache.py) would meet objects the
    unmutated module made."""
    cached = [module.dotted for module in MODULES.values() if module.render_cache]
    assert cached == ["aisinfra.review.object_checks", "aisinfra.review.consequences"]
    program = (
        "import sys, aisinfra.review.render, aisinfra.review.chart_render; "
        f"print([m for m in {cached!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout == "[]\n"
