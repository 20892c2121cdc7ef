"""The source essay's claims, each as data with what decides it (chapter 10, "Claims ledger").

``CLAIMS`` (all claims, in chapter order), ``ledger()`` (one DataFrame row per claim),
``summary()`` (counts per verdict and chapter), ``get_claim(id)``; ``DESIGNS`` is the table of
real VLMs that decides the essay's central thesis (``Design.fusion``: every patch, compressed or
cross-attention; ``design_counts()``); ``WRONG_AUTHOR`` lists the attributions that credit a
passage to someone who did not write it. ``rubric(claimed, found)`` decides every numeric verdict
(``RULE`` states it for the ledger page); other claims carry ``Claim.rule_text``. No torch import.

Layout: :mod:`.records` (the :class:`Claim` record), one module per topic (:mod:`.token_counts`,
:mod:`.attention_cost`, :mod:`.context_windows`, :mod:`.memory`, :mod:`.designs`, :mod:`.sources`),
:mod:`.recompute` (what recomputes their numbers), :mod:`.verdicts` (the rubric) and
:mod:`.ledger` (all of them, as tables).
"""
from __future__ import annotations

from .designs import DESIGNS, FUSIONS, Design, design_counts, design_summary
from .ledger import all_claims, get_claim, ledger, rules, summary
from .records import CHAPTERS, KIND_RULES, KINDS, VERDICTS, Claim
from .sources import WRONG_AUTHOR
from .verdicts import HOLDS_WITHIN, ROUGHLY_FACTOR, RULE, is_numeric, rubric

CLAIMS = all_claims()

__all__ = ["CLAIMS", "CHAPTERS", "Claim", "DESIGNS", "Design", "FUSIONS", "HOLDS_WITHIN", "KINDS",
           "KIND_RULES", "ROUGHLY_FACTOR", "RULE", "VERDICTS", "all_claims", "design_counts",
           "design_summary", "get_claim", "is_numeric", "ledger", "rubric", "rules", "summary",
           "WRONG_AUTHOR"]
