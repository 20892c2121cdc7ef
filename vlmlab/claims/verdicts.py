"""One rubric for every numeric verdict of the claims ledger (chapter 10).

:func:`rubric` compares what the essay claimed with what vlmlab or a primary source found and
returns ``'holds'``, ``'roughly'`` or ``'wrong'``:

* a number: **holds** within :data:`HOLDS_WITHIN` (5 %) of the found value (relative to the found
  value); **roughly** within a factor :data:`ROUGHLY_FACTOR` (2) of it, with the same sign;
  **wrong** beyond. "about N", "~N" and "N+" are judged as N (the 5 % already allows for rounding
  to two significant figures); "N %" is the share N/100.
* a claimed range "lo-hi" against one found value: **holds** when the value lies in the range;
  otherwise the nearer end is judged as a number.
* a claimed range against a found range (a ``(lo, hi)`` tuple): each end is judged against the
  same end, and the verdict is the worse of the two.

:data:`RULE` states this in one paragraph for the ledger page. Non-numeric claims (quotations,
attributions, theses, model facts stated in words) carry their own one-line ``rule`` on
:class:`.records.Claim`. Pure Python; imports no other claims module.
"""
from __future__ import annotations

import math
import re
from numbers import Real

HOLDS_WITHIN = 0.05
ROUGHLY_FACTOR = 2.0
ORDER = ("holds", "roughly", "wrong")

RULE = (f"A number holds when it is within {HOLDS_WITHIN:.0%} of the value found, roughly right "
        f"when it is within a factor of {ROUGHLY_FACTOR:g} of it (same sign), and wrong beyond. "
        "'About N' is judged as N. A claimed range holds when the value found lies inside it; "
        "otherwise its nearer end is judged as a number. A range claimed against a range found is "
        "judged end by end, and the worse verdict counts.")

_NUM = r"(\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?)"
_RANGE = re.compile(rf"^{_NUM}\s*(?:-|–|to)\s*{_NUM}\s*(%?)$", re.I)
_ONE = re.compile(rf"^(?:about|~|≈)?\s*{_NUM}\s*(\+?)\s*(%?)$", re.I)


def _float(text: str) -> float:
    return float(text.replace(",", ""))


def parse_claimed(claimed):
    """A claimed value as a number or a ``(lo, hi)`` tuple; None when it is not numeric.

    Accepts numbers, ``(lo, hi)`` tuples and strings such as ``"2,048-128,000"``, ``"90-95 %"``
    (shares 0.90-0.95), ``"about 4,000"`` or ``"4,000+"``. Words around the number ("4,096 -> 576",
    "O(n)") make it non-numeric.
    """
    if isinstance(claimed, bool):
        return None
    if isinstance(claimed, Real):
        return float(claimed)
    if isinstance(claimed, tuple) and len(claimed) == 2 and all(
            isinstance(x, Real) and not isinstance(x, bool) for x in claimed):
        return (float(min(claimed)), float(max(claimed)))
    if not isinstance(claimed, str):
        return None
    text = claimed.strip().replace("\u202f", " ")
    if m := _RANGE.match(text):
        scale = 0.01 if m.group(3) else 1.0
        lo, hi = sorted((_float(m.group(1)) * scale, _float(m.group(2)) * scale))
        return (lo, hi)
    if m := _ONE.match(text):
        return _float(m.group(1)) * (0.01 if m.group(3) else 1.0)
    return None


def _number(claimed: float, found: float) -> str:
    if found == 0:
        return "holds" if claimed == 0 else "wrong"
    if abs(claimed - found) <= HOLDS_WITHIN * abs(found):
        return "holds"
    if claimed * found > 0 and max(claimed / found, found / claimed) <= ROUGHLY_FACTOR:
        return "roughly"
    return "wrong"


def _worse(*verdicts: str) -> str:
    return max(verdicts, key=ORDER.index)


def rubric(claimed, found) -> str:
    """'holds', 'roughly' or 'wrong' for a numeric claim (chapter 10's rule, :data:`RULE`).

    ``claimed``: a number, a ``(lo, hi)`` tuple or a string :func:`parse_claimed` reads;
    ``found``: a number or a ``(lo, hi)`` tuple. Raises ``ValueError`` naming the argument when
    either is not numeric (such claims carry a one-line rule of their own instead).
    """
    c = parse_claimed(claimed)
    if c is None:
        raise ValueError(f"claimed must be a number, a (lo, hi) pair or a numeric text such as "
                         f"'10-50' or 'about 4,000'; got {claimed!r}")
    f = parse_claimed(found) if not isinstance(found, str) else None
    if f is None or any(math.isnan(x) or math.isinf(x) for x in (f if isinstance(f, tuple) else (f,))):
        raise ValueError(f"found must be a finite number or a (lo, hi) pair of numbers; got {found!r}")
    if isinstance(c, tuple) and isinstance(f, tuple):
        return _worse(_number(c[0], f[0]), _number(c[1], f[1]))
    if isinstance(c, tuple) or isinstance(f, tuple):
        (lo, hi), x = (c, f) if isinstance(c, tuple) else (f, c)
        if lo <= x <= hi:
            return "holds"
        end = lo if x < lo else hi
        return _number(end, x) if isinstance(c, tuple) else _number(x, end)
    return _number(c, f)


def is_numeric(claim) -> bool:
    """Whether the rubric decides ``claim``: a number or model fact whose claimed value and found
    value (:meth:`Claim.decide`) are both numeric. Theses keep a rule of their own."""
    if claim.kind not in ("number", "model fact") or parse_claimed(claim.claimed) is None:
        return False
    found = claim.decide()
    return not isinstance(found, str) and parse_claimed(found) is not None
