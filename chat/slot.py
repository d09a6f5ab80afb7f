"""Where the asked-for thing would sit: a sentence that answers puts it between the words the
question has around its question word; a sentence that only repeats the question has no such slot.

``是由哪两个公司合作开发的`` has ``是由`` before its question word and ``合作``, ``开发`` after it.
``游戏是由光荣和ω-force开发的`` has a token (``光荣``) with ``是由`` just before and ``开发``
just after it; ``该游戏由光荣合作开发`` (the sentence that repeats the question) has no token the
question does not already say with those words around it. The measures (``SLOT_FEATURES``) are
the answer selector's ``slot`` group (:mod:`chat.features`); each is a share of the question's
context words, so they mean the same in any document:

- ``slot_ordered``: the best token's share of the words before the question word found just
  before it (``WINDOW`` characters) plus the words after the question word found just after it;
- ``slot_any``: the same, in either order (``888万亩粮食作物全部播种完毕`` answers
  ``粮食作物播种面积是多少``, its words after the figure);
- ``slot_typed``: ``slot_any`` over the tokens of the asked-for type only (a figure, a date, a
  name); missing when the type has no token form (a reason, a list);
- ``slot_between``: whether some token has question words on each side the question word has
  them;
- ``wh_at``: where the question word sits in the question (0 first … 1 last; -1 none).

Chinese only: an English question's words are not its sentences' words, so the measures are
missing (NaN) for it.
"""

from __future__ import annotations

import bisect
import re
from functools import lru_cache
from typing import Sequence

import numpy as np

from chat.question import AnswerType, Question
from chat.tagger import Token, tag

WINDOW = 10  # characters either side of a token in which the question's words count as its context
SLOT_FEATURES = ("slot_ordered", "slot_any", "slot_typed", "slot_between", "wh_at")
FUNCTION_TAGS = frozenset("u p c w xc d".split())  # LAC: particles, prepositions, conjunctions, punctuation, adverbs
_WH = re.compile(r"什么|哪[一二两三四五六七八九十几]?[个家所位种部本首座条支年天国里儿些]?|谁|多少|几[个年月日天次位名种]?|何[时处地人]?"
                r"|怎么|怎样|如何|为什么|为何|吗")
_UNTYPED = (AnswerType.REASON, AnswerType.LIST)


@lru_cache(maxsize=256)
def _sides(text: str) -> tuple[frozenset[str], frozenset[str], float]:
    words = [t.word for t in tag(text) if t.word.strip() and t.tag != "w"]
    match = _WH.search(text)
    if not match:
        return frozenset(words), frozenset(words), -1.0
    before = [t.word for t in tag(text[: match.start()]) if t.word.strip() and t.tag != "w"]
    after = [t.word for t in tag(text[match.end():]) if t.word.strip() and t.tag != "w"]
    return frozenset(before), frozenset(after), match.start() / max(1, len(text) - (match.end() - match.start()))


def question_sides(question: Question) -> tuple[frozenset[str], frozenset[str]]:
    """The question's words before and after its question word (all of them on both sides
    when it has none)."""
    before, after, _ = _sides(question.standalone)
    return before, after


def slot_features(question: Question, text: str, spans: Sequence[tuple[int, int]],
                  of_type) -> np.ndarray:
    """One row of ``SLOT_FEATURES`` per sentence ``text[start:end]`` of one passage.
    ``of_type(token)``: whether a token is of the asked-for type."""
    X = np.full((len(spans), len(SLOT_FEATURES)), np.nan, dtype=np.float64)
    if question.lang != "zh" or not spans:
        return X
    before, after, wh_at = _sides(question.standalone)
    left = [w for w in before if len(w) > 1]
    right = [w for w in after if len(w) > 1]
    n_ctx = len(left) + len(right)
    said = question.standalone + question.focus
    tokens = tag(text)
    starts = [t.start for t in tokens]
    typed_matters = question.asked not in _UNTYPED
    for r, (start, end) in enumerate(spans):
        ordered = either = typed = between = 0.0
        for t in _tokens_between(tokens, starts, start, end):
            if t.tag in FUNCTION_TAGS or not t.word.strip() or t.word in said:
                continue
            lctx = text[max(start, t.start - WINDOW):t.start]
            rctx = text[t.end:min(end, t.end + WINDOW)]
            lo = sum(1 for w in left if w in lctx)
            ro = sum(1 for w in right if w in rctx)
            swapped = sum(1 for w in left if w in rctx) + sum(1 for w in right if w in lctx)
            share = (lo + ro + swapped) / n_ctx if n_ctx else 0.0
            ordered = max(ordered, (lo + ro) / n_ctx if n_ctx else 0.0)
            either = max(either, share)
            if typed_matters and of_type(t):
                typed = max(typed, share)
            if (lo or not left) and (ro or not right) and n_ctx:
                between = 1.0
        X[r] = (ordered, either, typed if typed_matters else np.nan, between, wh_at)
    return X


def _tokens_between(tokens: tuple[Token, ...], starts: list[int], start: int, end: int) -> list[Token]:
    """The tokens inside ``[start, end)``; ``starts``: the tokens' offsets, in text order."""
    out = []
    for t in tokens[bisect.bisect_left(starts, start):]:
        if t.start >= end:
            break
        if t.end <= end:
            out.append(t)
    return out
