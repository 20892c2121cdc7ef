"""The source essay's claims, each as data with what decides it (chapter 10, "Claims ledger").

``CLAIMS`` (all claims, in chapter order), ``ledger()`` (one DataFrame row per claim),
``summary()`` (counts per verdict and chapter), ``get_claim(id)``; ``DESIGNS`` is the table of
real VLMs that decides the essay's central thesis; ``WRONG_AUTHOR`` lists the attributions
that credit a passage to someone who did not write it. No torch import.
"""
from __future__ import annotations

from .chapters_5_9 import DESIGNS, WRONG_AUTHOR, Design
from .records import CHAPTERS, KINDS, VERDICTS, Claim, all_claims, get_claim, ledger, summary

CLAIMS = all_claims()

__all__ = ["CLAIMS", "CHAPTERS", "Claim", "DESIGNS", "Design", "KINDS", "VERDICTS", "all_claims",
           "get_claim", "ledger", "summary", "WRONG_AUTHOR"]
