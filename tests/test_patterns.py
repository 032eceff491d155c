import pytest

from aisinfra.worksheet.patterns import PatternError, compress, count, expand


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


# --- edges the mutation run (make mutate patterns) found untested --------------------------


@pytest.mark.parametrize(
    ("pattern", "names"),
    [
        ("NODE-X{1..2}", ["NODE-X1", "NODE-X2"]),  # any literal character, X included
        ("{X,Y}1", ["X1", "Y1"]),
        ("{a,b}{c,d}", ["ac", "ad", "bc", "bd"]),  # each bracket closed by its own closer
        ("{a,b}x{c,d}", ["axc", "axd", "bxc", "bxd"]),
        ("n{5..5}", ["n5"]),
        ("sd[a-a]", ["sda"]),
        ("n{1..05}", ["n01", "n02", "n03", "n04", "n05"]),  # a padded upper bound pads every number
        ("n{0..10}", [f"n{n}" for n in range(11)]),  # a lone 0 pads nothing
    ],
)
def test_expands_edges(pattern: str, names: list[str]) -> None:
    assert expand(pattern) == names


def test_an_unpadded_lower_bound_of_several_digits_pads_nothing() -> None:
    assert expand("n{10..100}")[:2] == ["n10", "n11"]
    assert expand("n{10..100}")[-1] == "n100"


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("cpu01}", "'}' at position 6 closes nothing"),
        ("cpu{01..12", "'{' at position 4 is never closed by '}'"),
        ("x{}", "{} is neither a range like {01..12} nor alternatives like {a,b}"),
        ("n{1..9999999999}", "range {1..9999999999} has a bound of more than 9 digits"),
        ("n{1..999999999}", "range {1..999999999} stands for 999999999 names; at most 20000 are supported"),
        ("n{1..20001}", "range {1..20001} stands for 20001 names; at most 20000 are supported"),
        ("{1..3}{1..7000}", "stands for 21000 names; at most 20000 are supported"),
        ("x" * 1001, "is 1001 characters long; at most 1000 are supported"),
    ],
)
def test_each_refusal_says_exactly_why(pattern: str, message: str) -> None:
    with pytest.raises(PatternError) as raised:
        expand(pattern)
    assert str(raised.value) == message


def test_the_limits_themselves_are_allowed() -> None:
    assert len(expand("n{1..20000}")) == 20_000
    assert len(expand("{1..2}{1..10000}")) == 20_000
    assert expand("x" * 1000) == ["x" * 1000]


def test_count_sizes_a_pattern_without_expanding_it() -> None:
    assert count("cpu{01..12}[a-b]") == 24
    assert count("n{1..20000}{1..20000}") == 400_000_000


def test_names_with_different_prefixes_are_no_run() -> None:
    assert compress(["pa", "qb", "rc"]) == ["pa", "qb", "rc"]
