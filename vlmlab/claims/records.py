"""The claim record and the ledger table (chapter 10, "Claims ledger").

A :class:`Claim` is one checkable statement of the source essay, stored as data: what the essay
says (paraphrased), what it claimed (``claimed``), what decides it (:meth:`Claim.decide`, a
computation with vlmlab or a value read in a primary source), the verdict, the reason, the source
(URL and bibtex key) and the chapter that shows it. Numeric claims are decided by one rubric
(:func:`.verdicts.rubric`); every other claim states its one-line rule (:attr:`Claim.rule_text`:
its own ``rule``, else its kind's, :data:`KIND_RULES`). Pure Python; imports no other claims module.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import one_of, positive_int

VERDICTS = ("holds", "roughly", "wrong", "unsupported")
KINDS = ("number", "model fact", "quotation", "attribution", "thesis")
#: The rule behind a non-numeric verdict, by kind (a claim may state a sharper one in ``rule``).
KIND_RULES = {
    "number": "A number with nothing measured or sourced to compare it with is unsupported.",
    "model fact": "Holds if the paper or reference code says so; roughly if right with a caveat; "
                  "wrong if it says otherwise.",
    "quotation": "Holds if the words are in the cited source; roughly if the substance is but the "
                 "words are not; unsupported if the passage cannot be found.",
    "attribution": "Holds if the named source wrote it; roughly if it only relays someone else's "
                   "words; wrong if someone else wrote it or it is evidence of something else.",
    "thesis": "Holds if the mechanism and the conclusion both stand; roughly if the mechanism stands "
              "but the conclusion overreaches; wrong if the evidence points the other way.",
}
CHAPTERS = {
    1: ("Memory explosion", "01_memory_explosion.ipynb"),
    2: ("Quadratic attention", "02_quadratic_attention.ipynb"),
    3: ("Context windows", "03_context_windows.ipynb"),
    4: ("Memory bandwidth", "04_memory_bandwidth.ipynb"),
    5: ("Alternatives", "05_alternatives.ipynb"),
    6: ("Counter-examples", "06_counter_examples.ipynb"),
    7: ("Engineering pragmatism", "07_engineering_pragmatism.ipynb"),
    8: ("Granularity", "08_granularity.ipynb"),
    9: ("Future", "09_future.ipynb"),
}


@dataclass(frozen=True)
class Claim:
    """One claim of the essay and what decides it (chapter 10).

    ``claimed`` is the essay's own value (a number for ``kind='number'``, else a short text);
    ``value`` is the sourced value, or ``compute`` (called lazily) recomputes it with vlmlab.
    """

    id: str
    chapter: int
    kind: str
    essay: str
    claimed: Any
    verdict: str
    reason: str
    url: str
    cite: str
    value: Any = None
    compute: Callable[[], Any] | None = field(default=None, repr=False, compare=False)
    unit: str = ""
    rule: str = ""

    def __post_init__(self):
        positive_int("chapter", self.chapter)
        if self.chapter not in CHAPTERS:
            raise ValueError(f"chapter must be one of {sorted(CHAPTERS)}; got {self.chapter!r}")
        one_of("kind", self.kind, KINDS)
        one_of("verdict", self.verdict, VERDICTS)
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"url of claim {self.id!r} must be an http(s) URL; got {self.url!r}")
        if (self.value is None) == (self.compute is None):
            raise ValueError(f"claim {self.id!r} needs exactly one of value= or compute=")

    def decide(self):
        """The recomputed (vlmlab) or sourced value that decides the claim."""
        return self.compute() if self.compute is not None else self.value

    @property
    def rule_text(self) -> str:
        """The one-line rule behind a non-numeric verdict: ``rule``, else the kind's (chapter 10)."""
        return self.rule or KIND_RULES[self.kind]


def format_value(x, unit: str) -> str:
    """A claimed or decided value as table text (numbers with thousands separators)."""
    if isinstance(x, bool) or x is None:
        return "" if x is None else str(x)
    if isinstance(x, tuple) and len(x) == 2 and all(isinstance(v, (int, float)) for v in x):
        lo, hi = (format_value(v, unit) for v in x)
        if unit and lo.endswith(" " + unit):            # '2,048 to 2,000,000 tokens'
            lo = lo[:-len(unit) - 1]
        return f"{lo} to {hi}"
    if isinstance(x, (int, float)):
        if unit == "bytes":
            from ..units import fmt_bytes
            dec = f"{x / 1e9:,.2f} GB" if x >= 1e9 else f"{x / 1e6:,.1f} MB"
            return f"{dec} ({fmt_bytes(x)})"
        if unit == "x":
            return f"{x:,.1f}×"
        if unit == "share":
            return f"{100 * x:.1f} %"
        text = f"{x:,.0f}" if float(x).is_integer() or abs(x) >= 100 else f"{x:,.2f}"
        return f"{text} {unit}".strip()
    return str(x)
