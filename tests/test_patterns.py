import pytest

from aisinfra.worksheet.patterns import PatternError, compress, expand


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("cpu01", ["cpu01"]),
        ("cpu{01..03}", ["cpu01", "cpu02", "cpu03"]),
        ("cpu{8..11}", ["cpu8", "cpu9", "cpu10", "cpu11"]),
        ("n{098..101}", ["n098", "n099", "n100", "n101"]),
        ("n{9..010}", ["n009", "n010"]),
        ("{a,bb}-x", ["a-x", "bb-x"]),
        ("/ais/sd[a-c]", ["/ais/sda", "/ais/sdb", "/ais/sdc"]),
        ("r{1..2}n[0-1]", ["r1n0", "r1n1", "r2n0", "r2n1"]),
    ],
)
def test_expands_in_written_order(pattern: str, names: list[str]) -> None:
    assert expand(pattern) == names


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("cpu{01..12", "never closed"),
        ("cpu01}", "closes nothing"),
        ("sd[a-j", "never closed"),
        ("sda]", "closes nothing"),
        ("cpu{12..01}", "runs backwards"),
        ("sd[j-a]", "runs backwards"),
        ("cpu{01..}", "neither a range"),
        ("cpu{a,,b}", "empty alternative"),
        ("sd[abc]", "not a character range"),
        ("sd[a-9]", "mixes a letter and a digit"),
        ("x{a,[b-c]}", "nest"),
    ],
)
def test_malformed_pattern_is_an_error_not_a_name(pattern: str, reason: str) -> None:
    with pytest.raises(PatternError, match=reason):
        expand(pattern)


@pytest.mark.parametrize(
    ("names", "patterns"),
    [
        ([f"cpu{n:04}" for n in range(1, 2001)], ["cpu{0001..2000}"]),
        ([f"cpu{n:03}" for n in range(1, 2001)], ["cpu{001..999}", "cpu{1000..2000}"]),
        ([f"cpu{n:02}" for n in range(1, 13)], ["cpu{01..12}"]),
        ([f"n{n}" for n in range(8, 12)], ["n{8..11}"]),
        (["n08", "n09", "n10"], ["n{08..10}"]),
        (["n9", "n010", "n011"], ["n9", "n010", "n011"]),
        (["a1", "a2", "b3", "b4", "b5"], ["a1", "a2", "b{3..5}"]),
        ([f"/ais/sd{c}" for c in "abcdefghij"], ["/ais/sd[a-j]"]),
        (["cpu03", "cpu02", "cpu01"], ["cpu03", "cpu02", "cpu01"]),
        (["x", "y", "z"], ["[x-z]"]),
        (["gpu", "cpu01", "cpu02", "cpu03", "gpu"], ["gpu", "cpu{01..03}", "gpu"]),
        ([], []),
    ],
)
def test_compress_writes_runs_as_patterns_that_expand_back(names: list[str], patterns: list[str]) -> None:
    assert compress(names) == patterns
    assert [name for pattern in patterns for name in expand(pattern)] == names
