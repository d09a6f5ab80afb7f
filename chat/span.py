"""The short answer: the span of the best sentence that answers, picked by a learned span ranker.

The candidates are the runs of up to ``MAX_TOKENS`` of LAC's tokens
(:mod:`chat.tagger`) inside one clause of the sentence, each whole clause, and a
clause's tail after its copula (``是``, ``为``, ``即``). Each gets features that
mean the same in any document (``SPAN_FEATURES``):

- its shape: tokens, characters, where it sits in the sentence, whether it fills
  a clause, the tags of its first and last tokens and of its neighbours;
- the question: how much of it the question already says (an answer seldom
  repeats its question), whether it holds the asked-for type (:class:`AnswerType`)
  and, for a figure, the asked-for unit;
- alignment: whether its neighbours are words the question has before and after
  its question word (``是由[哪两个公司]合作开发的`` against ``是由[光荣和ω-force]开发的``),
  how many of those words sit just before and just after it (in either order), and
  how near the question's matched terms sit;
- the rules' guess (the asked-for typed token grown into its phrase,
  :func:`chat.learned.short_answer`) as one more signal.

LightGBM's lambdarank orders them (``make train``: ``eval/train_span.py``,
labels from the CMRC 2018 gold spans by character F1); the model ships in
``chat/models/span.txt`` with its manifest ``span.json``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from chat.features import _of_type
from chat.question import TYPES, Question
from chat.slot import FUNCTION_TAGS, WINDOW, question_sides
from chat.selector import ModelFileError, checked_file, read_manifest
from chat.tagger import Token, is_figure, is_time, tag
from chat.text import numbers
from ingest.quantity import unit_of

MODELS_DIR = Path(__file__).resolve().parent / "models"
SPAN_FILE = "span.txt"
SPAN_MANIFEST = "span.json"
MAX_TOKENS = 8

TAGS = ("n", "f", "s", "t", "nr", "ns", "nt", "nw", "nz", "v", "vd", "vn", "a", "ad", "an", "d", "m", "q", "r",
        "p", "c", "u", "xc", "w", "PER", "LOC", "ORG", "TIME")
_TAG_ID = {t: i for i, t in enumerate(TAGS)}
KINDS = ("run", "clause", "tail")
SPAN_FEATURES = (
    "n_tokens", "chars", "rel_start", "rel_end", "clause_start", "clause_end", "fills_clause", "kind",
    "first_tag", "last_tag", "prev_tag", "next_tag", "asked",
    "q_chars", "q_tokens", "q_any", "typed", "typed_all", "figure", "time", "person", "place", "org", "work",
    "unit_hit", "prev_left", "prev_right", "next_right", "next_left", "left_ctx", "right_ctx", "left_after", "right_before",
    "dist",
    "quoted", "in_quote", "has_comma", "is_rule", "rule_overlap", "function_edge",
)
CATEGORICAL = ("kind", "first_tag", "last_tag", "prev_tag", "next_tag", "asked")
_INDEX = {name: i for i, name in enumerate(SPAN_FEATURES)}
_CLAUSE_END = frozenset("，。；：！？,;:!?（）()\n")
_COPULA = frozenset("是 为 即 叫 叫做 称为 指 乃".split())
_QUOTE_OPEN, _QUOTE_CLOSE = "《“「『", "》”」』"


class SpanModelError(ModelFileError):
    """The shipped span model is missing, damaged or does not match its manifest."""


@dataclass(frozen=True)
class Span:
    """A candidate short answer: passage offsets ``[start, end)`` and how it was made."""

    start: int
    end: int
    kind: str  # one of KINDS
    first: int  # its first and last token's index in the sentence's tokens
    last: int


def sentence_tokens(text: str, start: int, end: int) -> list[Token]:
    """LAC's tokens of ``text[start:end]``, blank ones left out, offsets into ``text``."""
    return [t for t in tag(text) if t.start >= start and t.end <= end and t.word.strip()]


def _is_break(t: Token) -> bool:
    return t.tag == "w" and t.word[-1] in _CLAUSE_END


def span_candidates(tokens: list[Token]) -> list[Span]:
    """Token runs inside a clause, whole clauses and clause tails (see the module's docstring)."""
    out: list[Span] = []
    seen: set[tuple[int, int]] = set()

    def add(i: int, j: int, kind: str) -> None:
        key = (tokens[i].start, tokens[j].end)
        if key not in seen:
            seen.add(key)
            out.append(Span(key[0], key[1], kind, i, j))

    clause: list[int] = []
    for k in range(len(tokens) + 1):
        if k < len(tokens) and not _is_break(tokens[k]):
            clause.append(k)
            continue
        if clause:
            for a, i in enumerate(clause):
                if tokens[i].tag == "w" and tokens[i].word not in _QUOTE_OPEN:
                    continue
                for j in clause[a:a + MAX_TOKENS]:
                    if tokens[j].tag == "w" and tokens[j].word not in _QUOTE_CLOSE:
                        continue
                    add(i, j, "run")
            add(clause[0], clause[-1], "clause")
            for a, i in enumerate(clause[:-1]):
                if tokens[i].word in _COPULA:
                    add(clause[a + 1], clause[-1], "tail")
        clause = []
    return out


def span_features(question: Question, text: str, tokens: list[Token], spans: list[Span],
                  rule: tuple[int, int] | None = None) -> np.ndarray:
    """One row of ``SPAN_FEATURES`` per span. ``text``: the passage; ``tokens``: the sentence's;
    ``rule``: the passage offsets of the rules' short answer, if any."""
    X = np.zeros((len(spans), len(SPAN_FEATURES)), dtype=np.float64)
    if not spans:
        return X
    q_text = question.standalone + question.focus
    q_chars = set(q_text)
    left, right = question_sides(question)
    where = [at for t in question.weights for at in _find_all(text, t, tokens[0].start, tokens[-1].end)]
    s_start, s_end = tokens[0].start, tokens[-1].end
    s_len = max(1, s_end - s_start)
    units = question.frame.units
    breaks = [i for i, t in enumerate(tokens) if _is_break(t)]
    for r, sp in enumerate(spans):
        toks = tokens[sp.first:sp.last + 1]
        body = text[sp.start:sp.end]
        prev = tokens[sp.first - 1] if sp.first > 0 else None
        nxt = tokens[sp.last + 1] if sp.last + 1 < len(tokens) else None
        clause_lo = max((b for b in breaks if b < sp.first), default=-1) + 1
        clause_hi = min((b for b in breaks if b > sp.last), default=len(tokens)) - 1
        content = [t for t in toks if t.tag != "w"] or toks
        typed = [t for t in content if _of_type(t, question.asked)]
        lctx = text[max(s_start, sp.start - WINDOW):sp.start]
        rctx = text[sp.end:min(s_end, sp.end + WINDOW)]
        dist = min((min(abs(w - sp.start), abs(w - sp.end)) for w in where if not sp.start <= w < sp.end),
                   default=60)
        quoted = body[:1] in _QUOTE_OPEN and body[-1:] in _QUOTE_CLOSE
        values = {
            "n_tokens": len(toks), "chars": math.log1p(len(body)),
            "rel_start": (sp.start - s_start) / s_len, "rel_end": (s_end - sp.end) / s_len,
            "clause_start": float(sp.first == clause_lo), "clause_end": float(sp.last == clause_hi),
            "fills_clause": float(sp.first == clause_lo and sp.last == clause_hi),
            "kind": KINDS.index(sp.kind),
            "first_tag": _TAG_ID.get(toks[0].tag, -1), "last_tag": _TAG_ID.get(toks[-1].tag, -1),
            "prev_tag": _TAG_ID.get(prev.tag, -1) if prev else -1, "next_tag": _TAG_ID.get(nxt.tag, -1) if nxt else -1,
            "asked": TYPES.index(question.asked),
            "q_chars": sum(1 for ch in body if ch in q_chars) / max(1, len(body)),
            "q_tokens": sum(1 for t in content if t.word in q_text) / len(content),
            "q_any": float(any(t.word in q_text and len(t.word) > 1 for t in content)),
            "typed": float(bool(typed)), "typed_all": len(typed) / len(content),
            "figure": float(any(is_figure(t) for t in content)), "time": float(any(is_time(t) for t in content)),
            "person": float(any(t.tag in ("PER", "nr") for t in content)),
            "place": float(any(t.tag in ("LOC", "ns") for t in content)),
            "org": float(any(t.tag in ("ORG", "nt") for t in content)),
            "work": float(any(t.tag in ("nw", "nz") for t in content)),
            "unit_hit": float(bool(units) and any(unit_of(n) in units for n in numbers(body))),
            "prev_left": float(prev is not None and prev.word in left),
            "prev_right": float(prev is not None and prev.word in right),
            "next_right": float(nxt is not None and nxt.word in right),
            "next_left": float(nxt is not None and nxt.word in left),
            "left_ctx": float(sum(1 for w in left if len(w) > 1 and w in lctx)),
            "right_ctx": float(sum(1 for w in right if len(w) > 1 and w in rctx)),
            # the same words in the other order (888万亩粮食作物全部播种完毕 for 粮食作物播种面积是多少)
            "left_after": float(sum(1 for w in left if len(w) > 1 and w in rctx)),
            "right_before": float(sum(1 for w in right if len(w) > 1 and w in lctx)),
            "dist": math.log1p(dist),
            "quoted": float(quoted), "in_quote": float(_inside_quote(text, sp.start, sp.end, s_start)),
            "has_comma": float("、" in body or "和" in body),
            "is_rule": float(rule is not None and (sp.start, sp.end) == rule),
            "rule_overlap": _overlap((sp.start, sp.end), rule) if rule else 0.0,
            "function_edge": float(toks[0].tag in FUNCTION_TAGS and toks[0].word not in _QUOTE_OPEN
                                   or toks[-1].tag in FUNCTION_TAGS and toks[-1].word not in _QUOTE_CLOSE),
        }
        X[r] = [values[name] for name in SPAN_FEATURES]
    return X


def _find_all(text: str, term: str, start: int, end: int) -> list[int]:
    out, at = [], text.find(term, start, end)
    while at >= 0:
        out.append(at)
        at = text.find(term, at + 1, end)
    return out


def _inside_quote(text: str, start: int, end: int, floor: int) -> bool:
    """Whether ``[start, end)`` lies inside a 《》 or “” pair (not counting its own brackets)."""
    before = text[floor:start]
    for o, c in zip(_QUOTE_OPEN, _QUOTE_CLOSE):
        if before.rfind(o) > before.rfind(c) and c in text[end:end + 40]:
            return True
    return False


def _overlap(a: tuple[int, int], b: tuple[int, int]) -> float:
    inter = max(0, min(a[1], b[1]) - max(a[0], b[0]))
    return 2 * inter / ((a[1] - a[0]) + (b[1] - b[0])) if inter else 0.0


class SpanModel:
    """The trained span ranker, read from LightGBM's text format."""

    def __init__(self, text: str, manifest: dict) -> None:
        import lightgbm

        self.booster = lightgbm.Booster(model_str=text)
        self.manifest = manifest

    def best(self, question: Question, text: str, start: int, end: int,
             rule: tuple[int, int] | None = None) -> tuple[int, int] | None:
        """The passage offsets of the best span of the sentence ``text[start:end]``."""
        tokens = sentence_tokens(text, start, end)
        spans = span_candidates(tokens)
        if not spans:
            return None
        X = span_features(question, text, tokens, spans, rule)
        scores = self.booster.predict(X, num_threads=1)
        best = spans[int(np.argmax(scores))]
        return best.start, best.end


@lru_cache(maxsize=2)
def load_span_model(folder: Path = MODELS_DIR) -> SpanModel:
    """The shipped span ranker, checked against its manifest."""
    manifest = read_manifest(folder, SPAN_MANIFEST, SpanModelError)
    data = checked_file(folder, SPAN_FILE, manifest.get("sha256", ""), SpanModelError)
    if tuple(manifest.get("features", ())) != SPAN_FEATURES:
        raise SpanModelError("the span model was trained on other features than this code computes; run `make train`")
    return SpanModel(data.decode("utf-8"), manifest)
