"""Whether the retrieved passages can answer at all, decided before any answerer runs.

Signals, calibrated on the dev set with ``python -m eval.calibrate_refusal``
(figures in docs/chat.md):

- ``sentence``: the best single sentence of the top passages (with its
  heading): the IDF-weighted share of the question's known terms it holds.
  Near misses ask for an attribute the report gives for something else
  (利用外资 … 同比增长), so no one sentence holds them together.
- ``unknown``: the IDF-weighted share of the question's terms (two characters
  or more) that occur nowhere in the index: 地铁, 利率, 市长.
- ``dense``: the cosine of the best passage; the first test for English
  questions, whose words are not the report's.
- ``framed``: like ``sentence``, over the sentences that also give the kind
  of answer the question asks for (:mod:`chat.frame`: the unit, the
  attribute, a change, a date). A near miss has sentences on its topic but
  none that gives the asked-for attribute, so ``framed`` falls to 0.

Before these, a Chinese question is refused when it is not made of words (characters strung
at random, which share terms with some passage by chance: ``garbled``) or when no passage is
close to it in meaning (a question about something else entirely: ``far``).

The dense score separates answerable from unanswerable Chinese questions
poorly (both 0.87–0.92 here), so it is not used for them. An English question
that asks for a figure (``What is the total investment of…``) is measured on
its Chinese terms (:mod:`chat.lexicon`) and refused when no sentence that gives
a figure in the asked-for unit shares any of them (``en_min_framed``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Collection

from chat.frame import Frame, unmet
from chat.text import word_coverage
from chat.types import Passage
from ingest.sentences import sentence_spans


@dataclass(frozen=True)
class Support:
    sentence: float
    unknown: float
    dense: float
    n_terms: int
    framed: float = 1.0
    frame_reason: str = ""
    framing: bool = False  # the question has a frame, so ``framed`` was measured


@dataclass(frozen=True)
class RefusalPolicy:
    min_sentence: float = 0.3
    min_framed: float = 0.3
    max_unknown: float = 0.7
    en_min_dense: float = 0.72
    en_min_framed: float = 0.05  # an English figure question: some sentence giving the figure must share a term
    top: int = 3
    # A Chinese question about something else entirely (cooking, Shakespeare, bitcoin) shares a
    # character or a loose alias with some passage, but no passage is close in meaning: with
    # multilingual-e5-small 16 such questions scored 0.78-0.85, the report's 400 Chinese questions
    # in eval/sets 0.852 and up. Used only with the model the refusal model was trained with.
    zh_min_dense: float = 0.83
    # Below this share of characters in dictionary words, a Chinese question of at least
    # ``coverage_chars`` characters is characters strung together, not words. Chosen on CMRC 2018
    # trial (its 134 questions of 20+ characters: 0.26 and up; strings of the report's characters at
    # random: 57 of 60 below); a short question that names a person or a thing (王处直的字是什么？,
    # 0.22) scores low, so shorter ones are not judged.
    min_word_coverage: float = 0.25
    coverage_chars: int = 20

    def support(
        self,
        weights: dict[str, float],
        passages: list[Passage],
        terms_of: Callable[[str], frozenset],
        known: Callable[[str], bool],
        frame: Frame | None = None,
        matched: Collection[str] = (),
    ) -> Support:
        """``matched``: unknown words that index words contain (牛 in 肉牛); not counted as unknown."""
        known_w = {t: w for t, w in weights.items() if known(t)}
        unknown_w = sum(w for t, w in weights.items() if not known(t) and t not in matched and len(t) >= 2)
        total_known = sum(known_w.values())
        best = framed = 0.0
        reason = ""
        framing = frame is not None and not frame.empty
        for p in passages[: self.top]:
            context = p.lead if p.kind == "outline" else (p.heading[-1] if p.heading else "")
            heading = terms_of(context)
            pieces = [p.text] if p.kind == "outline" else [p.text[s:e] for s, e in sentence_spans(p.text)]
            for piece in pieces:
                terms = terms_of(piece) | heading
                held = sum(w for t, w in known_w.items() if t in terms)
                bonus = sum(w for t, w in weights.items() if t in matched and t in terms)  # 头牛 held as 肉牛
                share = (held + bonus) / (total_known + bonus) if total_known + bonus else 0.0
                best = max(best, share)
                if framing:
                    lack = unmet(frame, piece, context)
                    if not lack:
                        framed = max(framed, share)
                    elif share >= best and share > 0:
                        reason = lack  # what the closest sentence lacks
        total = sum(weights.values())
        return Support(
            sentence=best,
            unknown=unknown_w / total if total else 0.0,
            dense=max((p.dense_score for p in passages[: self.top]), default=0.0),
            n_terms=len(weights),
            framed=framed if framing else best,
            frame_reason=reason,
            framing=framing,
        )

    def garbled(self, question: str, lang: str) -> str:
        """The reason to refuse a Chinese question that is not made of words (random characters,
        even the report's own, share terms with some passage by chance), or ""."""
        if lang != "zh":
            return ""
        share, n_cjk = word_coverage(question)
        if n_cjk < self.coverage_chars or share >= self.min_word_coverage:
            return ""
        return f"the question is not made of words (only {share:.0%} of its characters form words); ask in words"

    def far(self, support: Support, lang: str) -> str:
        """The reason to refuse a Chinese question no passage is close to in meaning, or ""."""
        if lang != "zh" or support.dense >= self.zh_min_dense:
            return ""
        return (f"no passage is close in meaning to the question (similarity {support.dense:.2f} "
                f"< {self.zh_min_dense:.2f})")

    def refuse(self, support: Support, lang: str) -> str:
        """The reason to refuse, or "" to answer."""
        if lang == "en":
            if support.dense < self.en_min_dense:
                return "no passage is close enough to the question"
            if support.framing and support.framed < self.en_min_framed:
                return support.frame_reason or "no sentence of the passages gives the kind of answer asked for"
            return ""
        if support.n_terms == 0:
            return "" if support.dense >= self.en_min_dense else "no passage is close enough to the question"
        if support.unknown > self.max_unknown:
            return "the documents never mention what the question is about"
        if support.sentence < self.min_sentence:
            return "no sentence of the passages holds what the question asks"
        if support.framed < self.min_framed:
            return support.frame_reason or "no sentence of the passages gives the kind of answer asked for"
        return ""
