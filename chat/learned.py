"""The default extractive answerer: the learned selector's sentences, as many as its confidence needs.

The selector (:mod:`chat.selector`) ranks the candidate sentences. The answer is
the best one alone when the selector is sure of it (``answer.sure``); otherwise
the runners-up that come close (``answer.runner_up`` of its probability) join
it, up to ``answer.max_sentences``, in rank order. A long sentence is trimmed to
the clauses that hold the question's terms and the short answer.

The short answer (``Answer.short``) is the span of the best sentence that the
span ranker (:mod:`chat.span`) picks. One of its signals is the rules' guess: the
thing of the asked-for type that the question does not name, nearest to the
question's matched terms (a figure in the asked-for unit, a date, a person, place
or organisation, a quoted title), grown into its phrase.

Questions whose answer is a document's structure keep their structural paths
(:class:`chat.extractive.ExtractiveAnswerer`): a question in several parts, a
numbered part (``第四部分``), a named section's items, the quoted items of a
list (``哪几个“紧盯”``), a slogan (the quote the question's verb governs).
"""

from __future__ import annotations

import re

import numpy as np

from chat.extractive import (
    LIST_SENTENCES, ORDINAL, Candidate as Span, ExtractiveAnswerer, _QUOTED_ITEM, _parallel, clauses, question_parts,
)
from chat.features import typed_tokens
from chat.question import AnswerType, Question
from chat.sections import MIN_ITEMS, named_section
from chat.selector import Scored
from chat.span import load_span_model
from chat.stages import Draft
from chat.types import Passage
from ingest.quantity import quantity_at, unit_family, unit_of
from ragchat.settings import AnswerSettings


def structural(question: Question, passages: list[Passage], rules: ExtractiveAnswerer) -> bool:
    """Whether the answer is a piece of the document's structure, not a best sentence."""
    focus = question.focus
    if question.lang == "zh" and len(question_parts(focus)) > 1:
        return True
    if ORDINAL.search(focus) or _QUOTED_ITEM.search(focus):
        return True
    if question.frame.quoted:  # a slogan: the quote its verb governs (坚持“凭实绩论英雄…”), chat/frame.py
        return True
    if question.asked is AnswerType.LIST:
        return len(named_section(focus, passages, rules.terms_with(question.aliases), rules.idf)) >= MIN_ITEMS
    return False


_JOINERS = frozenset("、和及与,，至到-～~")  # 蒙古、伊朗和欧洲; 50米至1520米
_RANGE = frozenset("至到-～~")
_GLUE = frozenset("的")  # 重庆武隆县江口镇的芙蓉江畔


def short_answer(question: Question, span: Span) -> str:
    """The asked-for thing in ``span`` (see the module's docstring); "" when there is none.

    The token nearest the question's matched terms is grown into its phrase: the tokens of
    the same kind next to it (``33`` ``,`` ``700人``), a list of them (``蒙古、伊朗和欧洲``),
    a figure's unit, a place's ``的`` and the place noun after it."""
    from chat.features import Candidate

    toks = toks_all = typed_tokens(question, Candidate(span.passage, span.start, span.end))
    if not toks:
        return ""
    units = question.frame.units
    if question.asked is AnswerType.FIGURE and units:
        toks = [t for t in toks if unit_of(_figure_at(span, t)) in units] or toks
    elif question.asked is AnswerType.FIGURE and _HOW_MANY.search(question.text):  # a count, not money nor a time
        toks = [t for t in toks if unit_family(unit_of(_figure_at(span, t))) not in _NOT_COUNTS] or toks
    text = span.passage.text
    where = [i for term in question.weights for i in _positions(text, term, span.start, span.end)]
    typed = {(t.start, t.end) for t in toks_all}
    best = toks[0] if not where else min(
        toks, key=lambda t: (min(abs((t.start + t.end) / 2 - w) for w in where), t.start))
    return _grow(question, span, best, typed)


_HOW_MANY = re.compile(r"\bhow many\b", re.I)
_NOT_COUNTS = ("money", "percent", "time")


def _figure_length(span: Span, start: int) -> int:
    """How many characters the figure with its unit that starts at ``start`` of the passage takes (0: none)."""
    found = quantity_at(span.passage.text[start:span.end])
    return found.end if found else 0


def _figure_at(span: Span, token) -> str:
    """The figure with its unit that starts at ``token``: 22 → 22人."""
    found = quantity_at(span.passage.text[token.start:span.end])
    return found.text if found else token.word


def _grow(question: Question, span: Span, best, kinds: set[tuple[int, int]]) -> str:
    """``best`` grown into its phrase; ``kinds``: the offsets of the span's tokens of the asked type."""
    from chat.tagger import tag

    tokens = [t for t in tag(span.passage.text) if t.start >= span.start and t.end <= span.end]
    at = next((i for i, t in enumerate(tokens) if (t.start, t.end) == (best.start, best.end)), None)
    if at is None:
        return best.word
    figure = question.asked is AnswerType.FIGURE
    joiners = _RANGE if figure else _JOINERS  # 7297个、5403个 are two figures; 50米至1520米 is one

    def joins(i: int) -> bool:
        t = tokens[i]
        return (t.start, t.end) in kinds or (figure and t.tag in ("m", "q"))

    lo = hi = at
    while True:
        if hi + 1 < len(tokens) and joins(hi + 1):
            hi += 1
        elif (hi + 2 < len(tokens) and tokens[hi + 1].word in joiners | _GLUE and joins(hi + 2)):
            hi += 2
        elif (question.asked is AnswerType.PLACE and hi + 2 < len(tokens) and tokens[hi + 1].word in _GLUE
              and tokens[hi + 2].tag in ("n", "s", "f", "nz")):
            hi += 2
            break
        else:
            break
    while lo - 1 >= 0 and joins(lo - 1) or (lo - 2 >= 0 and tokens[lo - 1].word in joiners and joins(lo - 2)):
        lo -= 1 if joins(lo - 1) else 2
    start, end = tokens[lo].start, tokens[hi].end
    if figure:  # the unit LAC cut off: 22 人 → 22人, 7297 个 → 7297个
        end = max(end, start + _figure_length(span, start))
    return span.passage.text[start:end]


def _positions(text: str, term: str, start: int, end: int) -> list[float]:
    out, at = [], text.find(term, start, end)
    while at >= 0:
        out.append(at + len(term) / 2)
        at = text.find(term, at + 1, end)
    return out


class SelectorAnswerer:
    """Extractive answers from the learned selector's ranking."""

    name = "extractive"

    def __init__(self, rules: ExtractiveAnswerer, settings: AnswerSettings) -> None:
        self.rules = rules
        self.settings = settings

    def choose(self, question: Question, ranked: list[Scored]) -> list[Span]:
        """The sentences of the answer, best first (see the module's docstring)."""
        if not ranked:
            return []
        top = ranked[0]
        chosen = [_span(top)]
        if question.asked is AnswerType.LIST:  # the other items of its list, written alike (要强化…力)
            for s in ranked[1:]:
                span = _span(s)
                if (len(chosen) < LIST_SENTENCES and span.passage.doc_id == chosen[0].passage.doc_id
                        and _parallel(span.text, chosen[0].text) and not any(_same(span, c) for c in chosen)):
                    chosen.append(span)
            if len(chosen) > 1:
                return chosen
        if top.prob < self.settings.sure:
            for s in ranked[1:]:
                if len(chosen) >= self.settings.max_sentences or s.prob < self.settings.runner_up * top.prob:
                    break
                span = _span(s)
                if not any(_same(span, c) for c in chosen):
                    chosen.append(span)
        return chosen

    def draft(self, question: Question, passages: list[Passage], ranked: list[Scored],
              qvec: np.ndarray | None = None) -> Draft:
        if structural(question, passages, self.rules):
            chosen = self.rules.select(question.focus, passages, qvec, question.aliases)
            return Draft(self.rules.compose(question.focus, chosen, question.lang))
        chosen = self.choose(question, ranked)
        if not chosen:
            return Draft("")
        short = self.short(question, chosen[0])
        trimmed = [self._trim(question, c, short if i == 0 else "") for i, c in enumerate(chosen)]
        return Draft(self.rules.compose(question.focus, trimmed, question.lang, lead=short), short)

    def short(self, question: Question, span: Span) -> str:
        """The short answer in ``span``: the span ranker's pick (:mod:`chat.span`), which reads
        the rules' guess (:func:`short_answer`) as one of its features; for an English question,
        the rules' guess (the ranker learned from Chinese questions)."""
        rule = short_answer(question, span)
        if question.lang != "zh":  # the ranker learned from Chinese questions, whose words its sentence shares
            return rule
        text = span.passage.text
        at = text.find(rule, span.start, span.end) if rule else -1
        best = load_span_model().best(question, text, span.start, span.end, (at, at + len(rule)) if at >= 0 else None)
        return text[best[0]:best[1]].strip() if best else rule

    def _trim(self, question: Question, span: Span, short: str) -> Span:
        """A long sentence cut to the clauses holding the match, never cutting off ``short`` nor the
        rest of its clause (``于2025年12月`` keeps ``实现主体结构封顶``: what happened then)."""
        cut = self.rules.trim(question.focus, span, question.aliases)
        if not short or short in cut.text:
            return cut
        at = span.passage.text.find(short, span.start, span.end)
        if at < 0:
            return cut
        text = span.passage.text
        s, e = at - span.start, at + len(short) - span.start
        for c_start, c_end in clauses(text[span.start:span.end]):
            if c_start <= s < c_end:
                s = c_start
            if c_start < e <= c_end:
                e = c_end
        end = span.start + e
        while end > span.start + s and text[end - 1] in "，,、；;：:":
            end -= 1
        return Span(span.passage, min(cut.start, span.start + s), max(cut.end, end), span.score)


def _span(scored: Scored) -> Span:
    c = scored.candidate
    return Span(c.passage, c.start, c.end, scored.prob)


def _same(a: Span, b: Span) -> bool:
    """The same sentence, from the same or an overlapping chunk."""
    return a.text.strip() in b.text or b.text.strip() in a.text
