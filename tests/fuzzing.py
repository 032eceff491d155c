"""What the fuzz tests share (tests/test_postrender_fuzz.py, tests/test_stack_fuzz.py): what
breaks YAML, where a generator's choices come from -- hypothesis when it is installed (a dev
requirement), else a seeded ``random.Random`` --, the base of their generators, and running a
check on EXAMPLES generated inputs, the same on every run (derandomized, no deadline, no
example database)."""

from __future__ import annotations

import importlib
import random
from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

try:  # hypothesis is optional: imported by name, so that mypy passes with it or without it
    hypothesis: Any = importlib.import_module("hypothesis")
    strategies: Any = importlib.import_module("hypothesis.strategies")
except ImportError:
    hypothesis = strategies = None

EXAMPLES = 300
# What breaks YAML where it is put: control and line-break characters, flow and block
# indicators, anchors, aliases, tags, document markers, directives.
YAML_SPLICES = [
    "\x00",
    "\x07",
    "\x1b",
    "\t",
    "\r",
    "\n",
    "\ufeff",
    "\x85",
    "\u2028",
    "[",
    "]",
    "{",
    "}",
    ":",
    "- ",
    "#",
    "'",
    '"',
    "&a ",
    "*a",
    "!!int ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "? ",
    "|",
    "\\",
]
T = TypeVar("T")
Input = TypeVar("Input")


class Choices(Protocol):
    """Where the generator's choices come from: hypothesis, or a seeded random.Random."""

    def integer(self, low: int, high: int) -> int: ...

    def pick(self, options: Sequence[T]) -> T: ...


class RandomChoices:
    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self.random.randint(low, high)

    def pick(self, options: Sequence[T]) -> T:
        return options[self.random.randrange(len(options))]


class HypothesisChoices:
    def __init__(self, data: Any) -> None:
        self.data = data

    def integer(self, low: int, high: int) -> int:
        return int(self.data.draw(strategies.integers(low, high)))

    def pick(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]


class Generator:
    """A fuzz test's generator: its choices, the anchors it has written so far, and chances."""

    def __init__(self, choices: Choices) -> None:
        self.choices = choices
        self.anchors: list[str] = []

    def chance(self, percent: int) -> bool:
        return self.choices.integer(1, 100) <= percent


def examples(make: Callable[[Choices], Input], check: Callable[[Input], None], seed: int) -> None:
    """``check`` on EXAMPLES inputs ``make`` builds: from hypothesis's choices when it is
    installed, else from seeded random ones."""
    if hypothesis is not None:

        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            derandomize=True,
            database=None,
            # An input takes hundreds of draws and some take a while to refuse: neither is a fault.
            suppress_health_check=[hypothesis.HealthCheck.too_slow, hypothesis.HealthCheck.data_too_large],
        )
        @hypothesis.given(strategies.data())
        def run(data: Any) -> None:
            check(make(HypothesisChoices(data)))

        run()
        return
    choices = RandomChoices(seed)
    for _ in range(EXAMPLES):
        check(make(choices))
