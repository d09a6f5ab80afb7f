"""What a candidate sentence leaves out of the question: the near miss's tell.

A passage on the question's topic that does not answer it usually repeats most of the question and
lacks the one word that matters: ``2025届本科毕业生的去向落实率`` against ``2025届研究生毕业去向落实率为95.1%``,
or the same figure for another year (``本届`` asked, ``上届``/``2025年`` given). Coverage (the
IDF-weighted share of the question's terms) barely moves when one term of five is missing; these
features say which one is missing:

- ``miss_top``: the weight of the heaviest question term that neither the sentence nor its heading
  holds, against the heaviest term's weight (0: nothing missing; 1: the weightiest term is missing);
- ``miss_passage``: the same, for terms that the whole passage (with its heading) lacks;
- ``year_clash``: the question names a year (``2026年``) or a relative one (``今年``, ``本届``, ``去年``)
  and the sentence names only other years, or only the opposite relative ones.
"""

from __future__ import annotations

import re
from typing import Iterable

MISSING_FEATURES = ("miss_top", "miss_passage", "year_clash")
# a year: 2026年, 2025届, or a name's leading year (2026云港马拉松); not a figure (2000万元, 2013.5亿元)
_YEAR = re.compile(r"(?<![\d.])((?:19|20)\d{2})(?=年|届|级|$|[^\d.,%万亿千百元个人吨米份件项次台辆家所名多余户亩])")
_PRESENT = ("今年", "本年", "本届", "当年", "本年度")
_PAST = ("去年", "上年", "上届", "前年", "上一年", "上年度")


def heaviest_missing(weights: dict[str, float], held: Iterable[frozenset]) -> float:
    """The weight of the heaviest term of ``weights`` that none of ``held`` holds, against the
    heaviest term's weight."""
    top = max(weights.values(), default=0.0)
    if top <= 0:
        return 0.0
    sets = list(held)
    return max((w for t, w in weights.items() if not any(t in s for s in sets)), default=0.0) / top


def _years(text: str) -> set[str]:
    return set(_YEAR.findall(text))


def _relative(text: str) -> tuple[bool, bool]:
    return any(w in text for w in _PRESENT), any(w in text for w in _PAST)


def year_clash(question: str, sentence: str) -> bool:
    """Whether ``sentence`` dates its content otherwise than ``question`` asks."""
    asked, given = _years(question), _years(sentence)
    if asked and given and not asked & given:
        return True
    q_now, q_past = _relative(question)
    s_now, s_past = _relative(sentence)
    return (q_now and not q_past and s_past and not s_now) or (q_past and not q_now and s_now and not s_past)


def missing_features(weights: dict[str, float], question: str, sentence: str, sentence_terms: frozenset,
                     context_terms: frozenset, passage_terms: frozenset) -> dict[str, float]:
    """The ``MISSING_FEATURES`` of one candidate: its terms, its heading's and its whole passage's."""
    return {
        "miss_top": heaviest_missing(weights, (sentence_terms, context_terms)),
        "miss_passage": heaviest_missing(weights, (passage_terms, context_terms)),
        "year_clash": float(year_clash(question, sentence)),
    }

