"""`make bugs` applies each deliberate bug to the code as it is: each must still apply."""

from __future__ import annotations

import pytest

from tests.deliberate_bugs import BUGS, PROJECT_ROOT, Bug, broken_text


@pytest.mark.parametrize("bug", BUGS.values(), ids=list(BUGS))
def test_each_bug_changes_its_module_in_exactly_one_place(bug: Bug) -> None:
    text = (PROJECT_ROOT / bug.path).read_text()
    broken = broken_text(bug, text)
    assert broken != text
    assert broken.count(bug.broken) == text.count(bug.broken) + 1


def test_a_bug_whose_code_moved_says_where_to_update_it() -> None:
    moved = Bug("x", "aisinfra/chart/naming.py", "no such text", "y", ())
    with pytest.raises(SystemExit, match="'no such text' is not there exactly once; update BUGS"):
        broken_text(moved, "other text")
