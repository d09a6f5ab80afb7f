"""Whether the retrieved passages can answer at all, decided before any answerer runs.

Signals, calibrated on the dev set with ``python -m eval.calibrate_refusal``
(figures in docs/chat.md):

- ``sentence``: the best single sentence of the top passages (with its
  heading): the IDF-weighted share of the question's known terms it holds.
  Near misses ask for an attribute the report gives for something else
  (利用外资 … 同比增长), so no one sentence holds them together.
- ``unknown``: the IDF-weighted share of the question's terms (two characters
  or more) that occur nowhere in the index: 地铁, 利率, 市长.
- ``dense``: the cosine of the best passage; it is what is left for English
  questions, whose words are not the report's.

The dense score separates answerable from unanswerable Chinese questions
poorly (both 0.87–0.92 here), so it is not used for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from chat.types import Passage
from ingest.sentences import sentence_spans


@dataclass(frozen=True)
class Support:
    sentence: float
    unknown: float
    dense: float
    n_terms: int


@dataclass(frozen=True)
class RefusalPolicy:
    min_sentence: float = 0.3
    max_unknown: float = 0.7
    en_min_dense: float = 0.72
    top: int = 3

    def support(
        self,
        weights: dict[str, float],
        passages: list[Passage],
        terms_of: Callable[[str], frozenset],
        known: Callable[[str], bool],
    ) -> Support:
        known_w = {t: w for t, w in weights.items() if known(t)}
        unknown_w = sum(w for t, w in weights.items() if not known(t) and len(t) >= 2)
        total_known = sum(known_w.values())
        best = 0.0
        for p in passages[: self.top]:
            heading = terms_of(p.lead if p.kind == "outline" else (p.heading[-1] if p.heading else ""))
            pieces = [p.text] if p.kind == "outline" else [p.text[s:e] for s, e in sentence_spans(p.text)]
            for piece in pieces:
                terms = terms_of(piece) | heading
                held = sum(w for t, w in known_w.items() if t in terms)
                best = max(best, held / total_known if total_known else 0.0)
        total = sum(weights.values())
        return Support(
            sentence=best,
            unknown=unknown_w / total if total else 0.0,
            dense=max((p.dense_score for p in passages[: self.top]), default=0.0),
            n_terms=len(weights),
        )

    def refuse(self, support: Support, lang: str) -> str:
        """The reason to refuse, or "" to answer."""
        if lang == "en" or support.n_terms == 0:
            return "" if support.dense >= self.en_min_dense else "no passage is close enough to the question"
        if support.unknown > self.max_unknown:
            return "the documents never mention what the question is about"
        if support.sentence < self.min_sentence:
            return "no sentence of the passages holds what the question asks"
        return ""
