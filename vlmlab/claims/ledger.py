"""All the claims together, and the ledger table of chapter 10.

Collects the topic modules (:mod:`.token_counts`, :mod:`.attention_cost`, :mod:`.context_windows`,
:mod:`.memory`, :mod:`.designs`, :mod:`.sources`) into one tuple in chapter order. Imports flow one
way: records <- topic modules <- ledger <- the package. pandas is imported only by the tables.
"""
from __future__ import annotations

from . import attention_cost, context_windows, designs, memory, sources, token_counts
from .records import CHAPTERS, VERDICTS, Claim, format_value
from .verdicts import RULE, is_numeric

TOPICS = (token_counts, attention_cost, context_windows, memory, designs, sources)


def all_claims() -> tuple[Claim, ...]:
    """Every claim, in chapter order (chapter 10)."""
    claims = tuple(sorted((c for topic in TOPICS for c in topic.CLAIMS), key=lambda c: c.chapter))
    ids = [c.id for c in claims]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise ValueError(f"claim ids must be unique; repeated: {dup}")
    return claims


def get_claim(claim_id: str) -> Claim:
    """The claim with this id; unknown ids suggest close matches (chapter 10)."""
    from ..errors import lookup

    return lookup(claim_id, {c.id: c for c in all_claims()}, what="claim")


def ledger(chapter: int | None = None):
    """The claims as a pandas DataFrame, one row per claim (chapter 10's table).

    Columns: ``id, chapter, kind, essay, claimed, found, verdict, reason, cite, url``; ``found``
    is :meth:`Claim.decide` formatted as text. ``chapter`` keeps one chapter's rows.
    """
    import pandas as pd

    rows = []
    for c in all_claims():
        if chapter is not None and c.chapter != chapter:
            continue
        rows.append(dict(id=c.id, chapter=c.chapter, kind=c.kind, essay=c.essay,
                         claimed=format_value(c.claimed, c.unit), found=format_value(c.decide(), c.unit),
                         verdict=c.verdict, reason=c.reason, cite=c.cite, url=c.url))
    if chapter is not None and not rows:
        raise ValueError(f"chapter must be one of {sorted(CHAPTERS)}; got {chapter!r}")
    return pd.DataFrame(rows)


def summary():
    """Counts of claims per verdict (rows) and chapter (columns), with totals (chapter 10)."""
    import pandas as pd

    df = ledger()
    table = pd.crosstab(pd.Categorical(df["verdict"], categories=VERDICTS), df["chapter"],
                        margins=True, margins_name="total", dropna=False)
    table.index.name, table.columns.name = "verdict", "chapter"
    return table


def rules(chapter: int | None = None):
    """What decides each verdict, one row per claim (chapter 10's rule column): ``id, verdict,
    decided_by, rule``. Numeric claims are decided by the rubric (:data:`.verdicts.RULE`); every
    other claim by its one-line :attr:`Claim.rule_text`."""
    import pandas as pd

    rows = []
    for c in all_claims():
        if chapter is not None and c.chapter != chapter:
            continue
        numeric = is_numeric(c)
        rows.append(dict(id=c.id, verdict=c.verdict, decided_by="rubric" if numeric else c.kind,
                         rule=RULE if numeric else c.rule_text))
    if chapter is not None and not rows:
        raise ValueError(f"chapter must be one of {sorted(CHAPTERS)}; got {chapter!r}")
    return pd.DataFrame(rows)
