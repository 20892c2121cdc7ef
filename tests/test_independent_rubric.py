"""The claims' rubric (vlmlab.claims.verdicts) at the edges of its rule, worked out by hand from
the rule as stated in its docstring (holds within 5 % of the found value, roughly within a factor
of 2 with the same sign, wrong beyond; ranges judged by their nearer end) (issue 12)."""
from types import SimpleNamespace

import pytest

from vlmlab.claims.verdicts import is_numeric, parse_claimed, rubric


@pytest.mark.parametrize("claimed, parsed", [
    ("12 %", 0.12), ("90\u202f%", 0.90), ("about 4,000", 4000.0), ("4,000+", 4000.0),
    ("~1e3", 1000.0), ((50, 10), (10.0, 50.0)), ("90-95 %", (0.90, 0.95)), (7, 7.0),
])
def test_parse_claimed(claimed, parsed):
    assert parse_claimed(claimed) == pytest.approx(parsed)


@pytest.mark.parametrize("claimed", [(3, True), True, "4,096 -> 576", "O(n)", None, (1, 2, 3)])
def test_parse_claimed_refuses_non_numbers(claimed):
    assert parse_claimed(claimed) is None


@pytest.mark.parametrize("claimed, found, verdict", [
    (95, 100, "holds"),        # exactly 5 % below: |95 - 100| = 5 = 0.05 x 100
    (105, 100, "holds"),       # exactly 5 % above
    (1, 1, "holds"), (0, 0, "holds"), (0, 5, "wrong"), (5, 0, "wrong"),
    (0.5, 0.8, "roughly"),     # 1.6x, the product 0.4 is positive
    (50, 100, "roughly"),      # exactly a factor of 2
    (-50, -100, "roughly"),    # same sign
    (49, 100, "wrong"),
])
def test_numbers(claimed, found, verdict):
    assert rubric(claimed, found) == verdict


@pytest.mark.parametrize("claimed, found, verdict", [
    ("10-50", 10, "holds"), ("10-50", 50, "holds"),     # both ends belong to the range
    ("10-50", 9.6, "holds"),     # nearer end 10 claimed vs 9.6 found: 0.4 <= 0.48
    ("10-50", 52.6, "holds"),    # nearer end 50 vs 52.6 found: 2.6 <= 2.63 (relative to 52.6)
    (52.6, (10, 50), "roughly"), # 52.6 claimed vs the found end 50: 2.6 > 2.5, within 2x
    ((10, 100), (30, 100), "wrong"),    # low end 10 vs 30 (3x) is wrong, the high end holds
    ((30, 100), (30, 300), "wrong"),    # the high end is wrong: the worse of the two counts
    ((30, 100), (31, 180), "roughly"),
])
def test_ranges(claimed, found, verdict):
    assert rubric(claimed, found) == verdict


def test_found_must_be_numeric_not_text():
    with pytest.raises(ValueError, match="found must be a finite number"):
        rubric(10, "10")
    with pytest.raises(ValueError, match="claimed must be a number"):
        rubric("ten", 10)


def test_is_numeric():
    fact = SimpleNamespace(kind="model fact", claimed=576, decide=lambda: 577)
    text = SimpleNamespace(kind="number", claimed=5, decide=lambda: "5")
    thesis = SimpleNamespace(kind="thesis", claimed=5, decide=lambda: 5)
    assert is_numeric(fact) and not is_numeric(text) and not is_numeric(thesis)
