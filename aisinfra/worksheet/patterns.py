"""Expansion of the worksheet's node and path patterns.

The worksheet writes lists compactly: ``cpu{01..12}`` (a numeric range; as in bash, a
zero-padded bound pads every number to the wider bound), ``{a,b}`` (alternatives) and ``sd[a-j]`` (a character range).
Patterns combine and expand left to right, so ``n{1..2}{a,b}`` gives n1a, n1b, n2a, n2b.
An unbalanced or malformed pattern is an error, never a literal name.

Expansion is bounded far above any real cluster, so that a slip such as ``{1..100000000}``
is refused at once instead of hanging every command: ``count`` sizes a pattern without
expanding it, and ``expand`` refuses a pattern larger than ``MAX_NAMES``.
"""

from __future__ import annotations

import math
import re

# Bounds far above any real cluster (the largest measured worksheet has 2000 nodes).
MAX_NAMES = 20_000  # names one pattern -- or one whole list of patterns -- may stand for
MAX_RANGE = MAX_NAMES  # names one {a..b} range may stand for, checked before it is spelled out
MAX_BOUND_DIGITS = 9  # digits of a range bound
MAX_PATTERN_LENGTH = 1_000

# ASCII digits only: \d and str.isdigit also accept other scripts' digits, which int() reads.
_NUMERIC_RANGE = re.compile(r"([0-9]+)\.\.([0-9]+)")
_CHAR_RANGE = re.compile(r"([a-z0-9])-([a-z0-9])")


class PatternError(ValueError):
    """A pattern that cannot be expanded; the message says why."""


def expand(pattern: str) -> list[str]:
    """All names a pattern stands for, in the order the pattern writes them."""
    segments = _segments(pattern)
    size = math.prod(len(options) for options in segments)
    if size > MAX_NAMES:
        raise PatternError(f"stands for {size} names; at most {MAX_NAMES} are supported")
    results = [""]
    for options in segments:
        results = [prefix + option for prefix in results for option in options]
    return results


def count(pattern: str) -> int:
    """How many names a pattern stands for, without expanding it."""
    return math.prod(len(options) for options in _segments(pattern))


def _segments(pattern: str) -> list[list[str]]:
    """The pattern as a sequence of choices: a literal character is a choice of one."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise PatternError(f"is {len(pattern)} characters long; at most {MAX_PATTERN_LENGTH} are supported")
    segments: list[list[str]] = []
    position = 0
    while position < len(pattern):
        char = pattern[position]
        if char in "}]":
            raise PatternError(f"'{char}' at position {position + 1} closes nothing")
        if char not in "{[":
            segments.append([char])
            position += 1
            continue
        closer = "}" if char == "{" else "]"
        end = pattern.find(closer, position + 1)
        if end == -1:
            raise PatternError(f"'{char}' at position {position + 1} is never closed by '{closer}'")
        body = pattern[position + 1 : end]
        if any(inner in body for inner in "{}[]"):
            raise PatternError(f"brackets nest or overlap in '{char}{body}{closer}'; nesting is not supported")
        segments.append(_brace_options(body) if char == "{" else _bracket_options(body))
        position = end + 1
    return segments


def _brace_options(body: str) -> list[str]:
    numeric = _NUMERIC_RANGE.fullmatch(body)
    if numeric:
        first, last = numeric.groups()
        if max(len(first), len(last)) > MAX_BOUND_DIGITS:
            raise PatternError(f"range {{{body}}} has a bound of more than {MAX_BOUND_DIGITS} digits")
        start, stop = int(first), int(last)
        if start > stop:
            raise PatternError(f"range {{{body}}} runs backwards; write {{{last}..{first}}}")
        if stop - start + 1 > MAX_RANGE:
            raise PatternError(
                f"range {{{body}}} stands for {stop - start + 1} names; at most {MAX_RANGE} are supported"
            )
        padded = (first.startswith("0") and len(first) > 1) or (last.startswith("0") and len(last) > 1)
        width = max(len(first), len(last)) if padded else 0
        return [str(number).zfill(width) for number in range(start, stop + 1)]
    if "," in body:
        options = body.split(",")
        if any(option == "" for option in options):
            raise PatternError(f"{{{body}}} has an empty alternative")
        return options
    raise PatternError(f"{{{body}}} is neither a range like {{01..12}} nor alternatives like {{a,b}}")


def _bracket_options(body: str) -> list[str]:
    char_range = _CHAR_RANGE.fullmatch(body)
    if not char_range:
        raise PatternError(f"[{body}] is not a character range like [a-j]")
    first, last = char_range.groups()
    if (first in "0123456789") != (last in "0123456789"):
        raise PatternError(f"[{body}] mixes a letter and a digit")
    if first > last:
        raise PatternError(f"[{body}] runs backwards; write [{last}-{first}]")
    return [chr(code) for code in range(ord(first), ord(last) + 1)]


_NUMBERED = re.compile(r"^(.*?)(\d+)$")
_LETTERED = re.compile(r"^(.*)([a-z])$")
SHORTEST_RUN = 3  # two names read better as themselves than as a pattern


def compress(names: list[str]) -> list[str]:
    """The inverse of ``expand`` for display: runs of consecutive names, in the order given,
    as the worksheet's own patterns (``cpu{001..120}``, ``/ais/sd[a-j]``), every other name as
    itself. Expanding the result gives ``names`` back."""
    patterns: list[str] = []
    run: list[str] = []
    for name in names:
        if run and _follows(run, name):
            run.append(name)
            continue
        patterns += _run_pattern(run)
        run = [name]
    return patterns + _run_pattern(run)


def _follows(run: list[str], name: str) -> bool:
    previous = run[-1]
    numbered, before, first = _NUMBERED.match(name), _NUMBERED.match(previous), _NUMBERED.match(run[0])
    if numbered and before and first:
        prefix, digits = numbered.groups()
        previous_prefix, previous_digits = before.groups()
        # A pattern pads every number to one width, or none: {8..11}, {098..101}, never both.
        same_width = len(digits) == len(previous_digits)
        unpadded = all(number == str(int(number)) for number in (first.group(2), digits))
        return prefix == previous_prefix and int(digits) == int(previous_digits) + 1 and (same_width or unpadded)
    lettered, before = _LETTERED.match(name), _LETTERED.match(previous)
    if lettered and before:
        return lettered.group(1) == before.group(1) and ord(lettered.group(2)) == ord(before.group(2)) + 1
    return False


def _run_pattern(run: list[str]) -> list[str]:
    if len(run) < SHORTEST_RUN:
        return run
    numbered = _NUMBERED.match(run[0])
    if numbered:
        last = _NUMBERED.match(run[-1])
        assert last is not None  # a run only holds names of one shape
        return [f"{numbered.group(1)}{{{numbered.group(2)}..{last.group(2)}}}"]
    return [f"{run[0][:-1]}[{run[0][-1]}-{run[-1][-1]}]"]
