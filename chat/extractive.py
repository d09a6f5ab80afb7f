"""The default answerer: picks the sentences that answer, cites each one. No model.

Each candidate is a sentence of a retrieved passage (an outline passage counts
as one list). It is scored by the question's terms it contains, weighted by
IDF; by numbers, with a bonus when a number carries the unit the question
asks for (``多少所`` → ``7所``); by the passage's retrieval rank; and, when the
terms say little (English questions), by embedding similarity. A long
sentence is trimmed to the clauses that hold the match. The answer is one to
three of them, duplicates from overlapping chunks dropped, each followed by
its ``[n]``; every sentence is a verbatim span of its passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np

from chat.frame import frame_of, unmet
from chat.sections import MIN_ITEMS, doc_position, named_section
from chat.text import QUOTED, asks_for_figure, numbers, whole_words
from chat.types import Passage
from ingest.quantity import MAGNITUDE, UNITS, alternation, unit_family, unit_of
from ingest.sentences import sentence_spans

LIST_QUESTION = re.compile(r"哪几个方面|哪些方面|几个方面|哪几部分|哪些部分|分为哪|包括哪些|哪几项|哪些工作|what (areas|parts|aspects)|which (areas|parts)", re.I)
ORDINAL = re.compile(r"第([一二三四五六七八九十])(?:部分|个方面|方面|大项|项)")
# Asks for several items of one kind: 哪几种“力”, 哪“三色”.
ITEMS_QUESTION = re.compile(r"哪几|哪些|哪[“\"]?[一二三四五六七八九十两]")
_UNIT_ASKED = re.compile(rf"(?:多少|几)(?:{MAGNITUDE})??\s*({alternation(UNITS)})")
_PERCENT_ASKED = re.compile(r"增长了?多少|增速|比例|比重|百分之|percent|growth|rate", re.I)
FRAME_PENALTY = 0.5
QUOTED_BONUS = 0.2  # the sentence holds a phrase the question quotes: “三管齐下”
# The item of a list the question quotes: 哪几个“紧盯” → 紧盯机遇抓招商、紧盯信息抓招商…
_QUOTED_ITEM = re.compile(r"哪(?:几|些)?(?:个|种|项|条|点)?[“\"]([^”\"]{2,6})[”\"]")
VERB_PENALTY = 0.3
ITEM_PENALTY = 0.6
LONG_SENTENCE = 60
LIST_SENTENCES = 5
PARALLEL_CHARS = 40
SECOND_SENTENCE_RATIO = 0.9
SECOND_SENTENCE_NEW_WEIGHT = 0.25
FIRST_SENTENCE_ENOUGH = 0.8  # a first sentence holding this share of the question's weight answers alone  # share of the question's weight a second sentence must add
TRIM_MIN_SHARE = 0.5  # trim only a sentence that holds this share of the question's weight
# How questions are asked, not what they are about: never a term to match or to miss.
QUESTION_WORDS = frozenset(
    """
    包括 具体 具体有 哪几项 几项 几家 几个 几种 几位 几所 几条 几名 几次 哪几种 哪几 哪些 哪个 哪项 部分 方面 提到 提出
    打算 地方 内容 什么 怎么 怎样 主要 分别 一共 总共 现在 目前 叫 叫做 称为 讲 讲了 涉及 有关 关于 情况 如何 为什么
    是否 能否 是不是 有没有 请问 介绍 说说 报告 报道 文中 文章 这篇 其中 当中 相关 要求 采取 措施 举措 做法
    """.split()
)
_CLAUSE_END = "，,；;：:"
# Two questions in one: 建成了多少亩？今年计划再新建多少亩？ Each part that asks something gets its sentence.
_PART_END = re.compile(r"(?<=[？?])")
_ASKS = re.compile(r"多少|几|什么|哪|吗|呢|多大|多长|多高|多久|如何|怎么|怎样|是否|([\u4e00-\u9fff])[不没]\1|"  # 好不好
                   r"\b(?:how|what|which|who|when|where)\b", re.I)
MAX_PARTS = 3
CONTEXT_WEIGHT = 0.3


def _context(passage: Passage) -> str:
    """What frames a passage's sentences: an outline's lead sentence, else the nearest heading."""
    if passage.kind == "outline":
        return passage.lead
    return passage.heading[-1] if passage.heading else ""


def clauses(text: str) -> list[tuple[int, int]]:
    """Clause ranges for trimming: cut after ，；： only (a 、 list stays whole)."""
    spans, start = [], 0
    for i, ch in enumerate(text):
        if ch in _CLAUSE_END:
            spans.append((start, i + 1))
            start = i + 1
    if start < len(text):
        spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def section_line(question: str, passages: list[Passage]) -> tuple[Passage, int, int] | None:
    """For 第四部分-questions: the outline line ``四、…`` among the passages, as (passage, start, end)."""
    match = ORDINAL.search(question)
    if not match:
        return None
    for p in passages:
        if p.kind != "outline":
            continue
        at = 0
        for line in p.text.split("\n"):
            if line.startswith(match.group(1) + "、"):
                return p, at, at + len(line)
            at += len(line) + 1
    return None


def _section_title(question: str, passages: list[Passage]) -> Candidate | None:
    found = section_line(question, passages)
    return Candidate(found[0], found[1], found[2], 0.0) if found else None


def _parallel(a: str, b: str, item: str = "") -> bool:
    """Items of one list written alike: ``要强化政治建设引领力。`` and ``要强化干部队伍凝聚力。``,
    or ``…经济领域改革，激发高质量发展活力。`` and ``…文化领域改革，丰富高质量发展内涵。``;
    or, of any length, both opening with the item the question quotes (``紧盯``)."""
    if item and a.startswith(item) and b.startswith(item):
        return True
    if len(a) > PARALLEL_CHARS or len(b) > PARALLEL_CHARS:
        return False
    return a[:3] == b[:3] or _common_run(a, b) >= 4


def _common_run(a: str, b: str) -> int:
    """Length of the longest run of CJK characters that ``a`` and ``b`` share."""
    best = 0
    for i in range(len(a)):
        for j in range(i + best + 1, len(a) + 1):
            piece = a[i:j]
            if not all("\u4e00" <= ch <= "\u9fff" for ch in piece) or piece not in b:
                break
            best = j - i
    return best


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    start: int  # character range in the passage text
    end: int
    score: float

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]


def question_parts(question: str) -> list[str]:
    """The parts of ``question`` that each ask something (at most ``MAX_PARTS``)."""
    parts = [p for p in _PART_END.split(question) if p.strip()]
    asking = [p for p in parts if _ASKS.search(p)]
    return asking[:MAX_PARTS] if asking and len(asking) == len(parts) else [question]


_TIMES = ("time", "anniversary", "age")
_NOT_COUNTS = ("money", "percent")  # "how many" counts things, not money or shares


def _lead_figure(question: str, text: str) -> str:
    """The figure an English lead-in names: one in the unit asked for, else one that is not
    a time (培育3年行动 is no count of cooperatives) nor, for "how many", money; of those, the one whose clause holds
    most of the question's Chinese terms (移送司法机关22人, not 党纪政务处分374人)."""
    english = re.sub(r"[\u4e00-\u9fff]+", " ", question)  # the question without its added terms
    terms = re.findall(r"[\u4e00-\u9fff]+", question)
    units = frame_of(english).units
    found = [(n, clause) for clause in re.split(r"[，,；;。]", text) for n in numbers(clause)]
    fitting = [f for f in found if unit_of(f[0]) in units] if units else []
    skip = _TIMES + (_NOT_COUNTS if re.search(r"\bhow many\b", english, re.I) else ())
    untimed = [f for f in found if unit_family(unit_of(f[0])) not in skip]
    pool = fitting or untimed or found
    if not pool:
        return ""
    return max(pool, key=lambda f: sum(t in f[1] for t in terms))[0]  # max keeps the first of a tie


def _opening_clause(cand: Candidate) -> Candidate:
    """The candidate cut after its first clause: ``紧盯机遇抓招商``."""
    cut = next((i for i, ch in enumerate(cand.text) if ch in _CLAUSE_END), len(cand.text))
    return Candidate(cand.passage, cand.start, cand.start + cut, cand.score)


def _overlaps(a: Candidate, b: Candidate) -> bool:
    """Whether two candidates are spans of the same sentence in the same document."""
    pa, pb = a.passage, b.passage
    return pa.chunk_id == pb.chunk_id and a.start < b.end and b.start < a.end


def asked_unit(question: str) -> str | None:
    """The unit the question asks for: ``多少所`` → ``所``; growth questions → ``%``."""
    match = _UNIT_ASKED.search(question)
    if match:
        return match.group(1)
    if _PERCENT_ASKED.search(question):
        return "%"
    return None


class ExtractiveAnswerer:
    """Selects and cites sentences from the passages.

    ``tokenize`` and ``idf`` come from the keyword index, so the answerer and
    retrieval agree on what a term is; ``embed`` (texts → unit vectors) is used
    only when the question's terms match weakly.
    """

    name = "extractive"

    def __init__(
        self,
        tokenize: Callable[[str], list[str]],
        idf: Callable[[str], float],
        embed: Callable[[list[str]], np.ndarray] | None = None,
        max_sentences: int = 2,
    ) -> None:
        self.tokenize = tokenize
        self.idf = idf
        self.embed = embed
        self.max_sentences = max_sentences
        self._terms = lru_cache(maxsize=8192)(lambda text: frozenset(self.tokenize(text)))

    # --- scoring ---------------------------------------------------------------

    def _candidates(self, question: str, passages: list[Passage]) -> list[tuple[Passage, int, int]]:
        found = []
        listing = bool(LIST_QUESTION.search(question) or ITEMS_QUESTION.search(question) or ORDINAL.search(question))
        for p in passages:
            if p.kind == "outline":
                if listing:
                    found.append((p, 0, len(p.text)))
                continue
            found += [(p, s, e) for s, e in sentence_spans(p.text)]
        return found

    def terms_with(self, aliases: dict[str, frozenset[str]] | None) -> Callable[[str], frozenset]:
        """The terms of a text, plus each question word whose alias the text holds (牛 for 肉牛)."""
        if not aliases:
            return self._terms

        def terms(text: str) -> frozenset:
            found = self._terms(text)
            return found | {t for t, alias in aliases.items() if alias & found}

        return terms

    def term_weights(self, question: str, context: str = "") -> dict[str, float]:
        """The question's terms with their IDF; question phrasing left out. The terms of
        ``context`` (the other parts of a two-part question) count ``CONTEXT_WEIGHT``."""
        # in the question's order: a set's order changes with Python's hash seed, and so would every sum over
        # the weights in its last bits (and a model trained on them)
        terms = sorted((t for t in self._terms(question) if t not in QUESTION_WORDS and not t.startswith("哪")),  # 哪三管
                       key=lambda t: (question.find(t), t))
        weights = {t: self.idf(t) for t in whole_words(terms)}  # 下半年 once, not also 下半 and 半年
        if context:
            weights |= {t: CONTEXT_WEIGHT * w for t, w in self.term_weights(context).items() if t not in weights}
        return weights

    def score(self, question: str, passages: list[Passage], qvec: np.ndarray | None = None,
              aliases: dict[str, frozenset[str]] | None = None, context: str = "") -> list[Candidate]:
        """Candidates best first. ``context`` (the other parts of a two-part question) adds
        its terms at ``CONTEXT_WEIGHT``: it names what the question leaves out."""
        terms_of = self.terms_with(aliases)
        weights = self.term_weights(question, context)
        total = sum(weights.values()) or 1.0
        figure = asks_for_figure(question)
        unit = asked_unit(question)
        frame = frame_of(question)
        quoted = QUOTED.findall(question)
        sections = bool(LIST_QUESTION.search(question))
        match = ORDINAL.search(question)
        ordinal = match.group(1) if match else ""
        ordinal_weight = sum(w for t, w in weights.items() if ordinal and t.startswith("第" + ordinal)) / total
        raw = self._candidates(question, passages)
        scored: list[tuple[float, tuple[Passage, int, int]]] = []
        best_terms = 0.0
        for passage, s, e in raw:
            text = passage.text[s:e]
            terms = terms_of(text) | terms_of(_context(passage))
            score = sum(w for t, w in weights.items() if t in terms) / total
            best_terms = max(best_terms, score)
            if figure:
                nums = numbers(text)
                if nums:
                    score += 0.15
                    if unit and any(n.endswith(unit) for n in nums):
                        score += 0.25
            if any(q in text for q in quoted):
                score += QUOTED_BONUS
            if not frame.empty and unmet(frame, text, _context(passage)):
                score -= FRAME_PENALTY  # does not give the kind of answer asked for
            if frame.lacks_verb(text):
                score -= VERB_PENALTY  # 跑出什么: a sentence without 跑出 does not say
            if frame.lacks_target(text):
                score -= VERB_PENALTY  # 计划再新建多少亩: 累计建成 is not the plan
            if passage.kind != "outline" and frame.lacks_quote(text):
                score -= FRAME_PENALTY  # 什么口号: a sentence that quotes no name does not give one
            if passage.kind != "outline" and frame.lacks_item(text):
                score -= ITEM_PENALTY  # 哪些领域: a sentence that names no 领域 is not the list
            in_part = bool(ordinal) and any(h.startswith(ordinal + "、") for h in passage.heading)
            if passage.kind == "outline" and sections and (in_part or not ordinal):
                score += 0.5  # asked for the sections (of part 四) and this is their list
            if in_part:
                score += 0.5 + ordinal_weight  # 第四部分 → the passages under 四、 hold "第四"
                if passage.kind == "outline":
                    score += 0.3  # and its outline sums the part up
            score += 0.1 / passage.n  # retrieval rank as a prior
            scored.append((score, (passage, s, e)))
        if self.embed is not None and qvec is not None and scored:
            if best_terms < 0.45:  # terms say little (an English or paraphrased question)
                texts = [p.text[s:e] for _, (p, s, e) in scored]
                sims = np.asarray(self.embed(texts)) @ qvec
                scored = [(sc + 2.0 * (float(sim) - 0.75), c) for (sc, c), sim in zip(scored, sims)]
        ranked = sorted(scored, key=lambda item: -item[0])
        return [Candidate(p, s, e, sc) for sc, (p, s, e) in ranked]

    # --- trimming and composing ---------------------------------------------------

    def trim(self, question: str, cand: Candidate, aliases: dict[str, frozenset[str]] | None = None) -> Candidate:
        """A long sentence cut to the fewest consecutive clauses holding the match."""
        text = cand.text
        if len(text) <= LONG_SENTENCE or cand.passage.kind == "outline":
            return cand
        weights = self.term_weights(question)
        unit = asked_unit(question)
        terms_of = self.terms_with(aliases)
        pieces = clauses(text)
        if len(pieces) < 2:
            return cand

        def value(s: int, e: int) -> float:
            piece = text[s:e]
            v = sum(w for t, w in weights.items() if t in terms_of(piece))
            if unit and any(n.endswith(unit) for n in numbers(piece)):
                v += max(weights.values(), default=1.0)
            return v

        full = value(0, len(text))
        if full <= TRIM_MIN_SHARE * sum(weights.values()):  # a weak match: keep the whole sentence
            return cand
        best = (len(text), 0, len(text))
        for i in range(len(pieces)):
            for j in range(i, min(i + 3, len(pieces))):
                s, e = pieces[i][0], pieces[j][1]
                if value(s, e) >= full * 0.999 and e - s < best[0]:
                    best = (e - s, s, e)
        _, s, e = best
        if text[s:e].rstrip().endswith(("：", ":")):  # "总体要求是：" — the answer follows the colon
            e = len(text)
        while e > s and text[e - 1] in "，,、；;：:":
            e -= 1
        return Candidate(cand.passage, cand.start + s, cand.start + e, cand.score)

    @staticmethod
    def _duplicate(a: str, b: str) -> bool:
        short, long_ = sorted((a, b), key=len)
        return short in long_

    def select(self, question: str, passages: list[Passage], qvec: np.ndarray | None = None,
               aliases: dict[str, frozenset[str]] | None = None) -> list[Candidate]:
        listing = bool(LIST_QUESTION.search(question) or ITEMS_QUESTION.search(question))
        parts = question_parts(question)
        if len(parts) > 1 and not (listing or ORDINAL.search(question)):
            return self._select_parts(parts, passages, qvec, aliases)
        if listing and not ORDINAL.search(question):
            spans = named_section(question, passages, self.terms_with(aliases), self.idf)
            if len(spans) >= MIN_ITEMS:  # 争当现代农业排头兵方面抓了哪几件事: the section's items
                return [_opening_clause(Candidate(p, s, e, 0.0)) for p, s, e in spans[:LIST_SENTENCES]]
        return self._select(question, passages, qvec, aliases)

    def _select_parts(self, parts: list[str], passages: list[Passage], qvec: np.ndarray | None,
                      aliases: dict[str, frozenset[str]] | None) -> list[Candidate]:
        """One sentence for each part, asked with the other parts as its context (they name
        what the part leaves out: 今年计划再新建多少亩 is about 高标准农田). A part whose
        best sentence is already chosen is answered by it."""
        chosen: list[Candidate] = []
        for i, part in enumerate(parts):
            others = "".join(p for j, p in enumerate(parts) if j != i)
            ranked = self.score(part, passages, qvec, aliases, context=others)
            if not ranked:
                continue
            best = self.trim(part + others, ranked[0], aliases)
            if not any(self._duplicate(best.text, c.text) or _overlaps(best, c) for c in chosen):
                chosen.append(best)
        return chosen

    def _select(self, question: str, passages: list[Passage], qvec: np.ndarray | None = None,
                aliases: dict[str, frozenset[str]] | None = None) -> list[Candidate]:
        ranked = self.score(question, passages, qvec, aliases)
        terms_of = self.terms_with(aliases)
        if not ranked:
            return []
        chosen = [self.trim(question, ranked[0], aliases)]
        title = _section_title(question, passages)
        if title is not None and any(h.startswith(title.text) for h in chosen[0].passage.heading):
            return [title, chosen[0]]  # 第四部分: its title from the outline, then what it holds
        listing = bool(LIST_QUESTION.search(question) or ITEMS_QUESTION.search(question))
        limit = LIST_SENTENCES if listing else self.max_sentences
        quoted_item = _QUOTED_ITEM.search(question)
        item = quoted_item.group(1) if quoted_item else ""
        covered = terms_of(chosen[0].text) | terms_of(_context(chosen[0].passage))
        weights = self.term_weights(question)
        total = sum(weights.values()) or 1.0
        if sum(w for t, w in weights.items() if t in covered) >= FIRST_SENTENCE_ENOUGH * total:
            if not (asks_for_figure(question) and not numbers(chosen[0].text)):
                return chosen  # the first sentence holds the question: one is the short answer
        for cand in ranked[1:]:
            if len(chosen) >= limit:
                break
            if cand.score < ranked[0].score * SECOND_SENTENCE_RATIO and not (
                listing and cand.passage.doc_id == chosen[0].passage.doc_id and _parallel(cand.text, chosen[0].text, item)
            ):
                continue
            cand = self.trim(question, cand, aliases)
            if any(self._duplicate(cand.text, c.text) for c in chosen):
                continue
            new_terms = (terms_of(cand.text) - covered) & set(weights)
            parallel = listing and cand.passage.doc_id == chosen[0].passage.doc_id and _parallel(cand.text, chosen[0].text, item)
            if not parallel and sum(weights[t] for t in new_terms) < SECOND_SENTENCE_NEW_WEIGHT * (sum(weights.values()) or 1):
                continue
            chosen.append(cand)
            covered |= terms_of(cand.text)
        if item:  # 哪几个“紧盯”: each item's opening clause, in the document's order
            items = [_opening_clause(c) for c in chosen if c.text.startswith(item)]
            if len(items) > 1:
                return sorted(items, key=lambda c: doc_position(c.passage, c.start))
        return chosen

    def compose(self, question: str, chosen: list[Candidate], lang: str, lead: str = "") -> str:
        """The chosen spans, each with its ``[n]``; an English figure question gets a lead-in
        naming the figure (``lead``, else the one its clause's terms point to)."""
        parts = []
        if lang == "en" and chosen and asks_for_figure(question):
            figure = lead or _lead_figure(question, chosen[0].text)
            if figure:
                parts.append(f"The report gives {figure}. [{chosen[0].passage.n}]\n")
        for cand in chosen:
            n = cand.passage.n
            if cand.passage.kind == "outline":  # a list: every item cited
                items = [line.strip().rstrip("。；;") for line in cand.text.splitlines() if line.strip()]
                parts.append("；".join(f"{item}[{n}]" for item in items) + "。")
                continue
            text = cand.text.strip()
            if not text.endswith(("。", "！", "？", "；", ".", "!", "?", "”")):
                text += "。"
            parts.append(f"{text}[{n}]")
        return "".join(parts)

    def answer(self, question: str, passages: list[Passage], lang: str, qvec: np.ndarray | None = None,
               aliases: dict[str, frozenset[str]] | None = None) -> str:
        return self.compose(question, self.select(question, passages, qvec, aliases), lang)
