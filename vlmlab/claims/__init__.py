"""The source essay's claims, each as data with what decides it (chapter 10, "Claims ledger").

``CLAIMS`` (all claims, in chapter order), ``ledger()`` (one DataFrame row per claim),
``summary()`` (counts per verdict and chapter), ``get_claim(id)``; ``DESIGNS`` is the table of
real VLMs that decides the essay's central thesis; ``WRONG_AUTHOR`` lists the attributions
that credit a passage to someone who did not write it. No torch import.

Layout: :mod:`.records` (the :class:`Claim` record), one module per topic (:mod:`.token_counts`,
:mod:`.attention_cost`, :mod:`.context_windows`, :mod:`.memory`, :mod:`.designs`, :mod:`.sources`),
:mod:`.recompute` (what recomputes their numbers) and :mod:`.ledger` (all of them, as tables).
"""
from __future__ import annotations

from .designs import DESIGNS, Design
from .ledger import all_claims, get_claim, ledger, summary
from .records import CHAPTERS, KINDS, VERDICTS, Claim
from .sources import WRONG_AUTHOR

CLAIMS = all_claims()

__all__ = ["CLAIMS", "CHAPTERS", "Claim", "DESIGNS", "Design", "KINDS", "VERDICTS", "all_claims",
           "get_claim", "ledger", "summary", "WRONG_AUTHOR"]
