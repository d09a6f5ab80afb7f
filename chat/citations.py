"""Citation markers: parse ``[n]``, repair or drop bad ones, resolve to exact quotes."""

from __future__ import annotations

import re

from chat.types import Citation, Passage
from ingest.mapped import original_offset
from ingest.pages import page_at
from ingest.sentences import sentence_spans

MARKER = re.compile(r"\[(\d+)\]")
# Marker spellings models produce, and what they become.
_VARIANTS = [
    (re.compile(r"[【［]\s*(\d+(?:\s*[,，、]\s*\d+)*)\s*[】］]"), None),
    (re.compile(r"\[\s*(?:\^|passage\s*|段落\s*|资料\s*|来源\s*)?(\d+(?:\s*[,，、]\s*\d+)*)\s*\]", re.I), None),
]


def repair_markers(text: str) -> tuple[str, list[str]]:
    """Rewrite marker variants (``【1】``, ``[1, 2]``, ``[passage 3]``) as ``[1][2]``.

    Returns the new text and the variants that were rewritten.
    """
    repaired: list[str] = []

    def rewrite(match: re.Match[str]) -> str:
        numbers = re.findall(r"\d+", match.group(1))
        canonical = "".join(f"[{n}]" for n in numbers)
        if canonical != match.group(0):
            repaired.append(match.group(0))
        return canonical

    for pattern, _ in _VARIANTS:
        text = pattern.sub(rewrite, text)
    return text, repaired


def drop_invalid(text: str, n_passages: int) -> tuple[str, list[str]]:
    """Remove markers that point at no passage; returns the text and what was dropped."""
    dropped: list[str] = []

    def check(match: re.Match[str]) -> str:
        n = int(match.group(1))
        if 1 <= n <= n_passages:
            return match.group(0)
        dropped.append(match.group(0))
        return ""

    return MARKER.sub(check, text), dropped


def answer_sentences(text: str) -> list[tuple[str, list[int]]]:
    """The answer's sentences with the passage numbers each one cites.

    A marker that follows the sentence end (``…亩。[1]``) belongs to that sentence.
    """
    result: list[tuple[str, list[int]]] = []
    for s, e in sentence_spans(text):
        piece = text[s:e]
        lead = re.match(r"(?:\s*\[\d+\])+", piece)
        if lead and result:  # "…。[1]" split as "…。" and "[1]…": the marker closes the previous sentence
            result[-1][1].extend(int(n) for n in MARKER.findall(lead.group(0)))
            piece = piece[lead.end():]
        marks = [int(n) for n in MARKER.findall(piece)]
        body = MARKER.sub("", piece).strip()
        if not body.strip("。.!?！？；; "):
            if result and marks:
                result[-1][1].extend(marks)
            continue
        result.append((body, marks))
    return result


def coverage(sentences: list[tuple[str, list[int]]]) -> float:
    if not sentences:
        return 1.0
    return sum(1 for _, marks in sentences if marks) / len(sentences)


def _overlap(a: str, b: str) -> float:
    """Character-bigram F1 of two strings."""
    grams_a = {a[i : i + 2] for i in range(len(a) - 1)} or {a}
    grams_b = {b[i : i + 2] for i in range(len(b) - 1)} or {b}
    common = len(grams_a & grams_b)
    if not common:
        return 0.0
    p, r = common / len(grams_a), common / len(grams_b)
    return 2 * p * r / (p + r)


def quote_span(sentence: str, passage: Passage) -> tuple[str, int, int]:
    """The passage text that ``sentence`` rests on, and its original offsets.

    A verbatim sentence is found as it is; otherwise the passage sentence that
    overlaps it most is quoted.
    """
    core = sentence.strip().rstrip("。.!?！？；;")
    text = passage.text
    at = text.find(core) if core else -1
    if at >= 0:
        start, end = at, at + len(core)
    else:
        spans = sentence_spans(text) or [(0, len(text))]
        start, end = max(spans, key=lambda se: _overlap(core, text[se[0]:se[1]]))
    return (
        text[start:end],
        original_offset(passage.spans, start),
        original_offset(passage.spans, end - 1) + 1,
    )


def resolve(sentences: list[tuple[str, list[int]]], passages: list[Passage]) -> list[Citation]:
    """One citation per (sentence, marker), in order of first use, each with its quote."""
    by_n = {p.n: p for p in passages}
    citations: list[Citation] = []
    seen: set[tuple[int, int, int]] = set()
    for sentence, marks in sentences:
        for n in marks:
            passage = by_n.get(n)
            if passage is None:
                continue
            quote, start, end = quote_span(sentence, passage)
            if any(m == n and start < e and s < end for m, s, e in seen):
                continue  # the same words of the passage, already cited (an English lead-in and its sentence)
            seen.add((n, start, end))
            citations.append(Citation(n, passage.chunk_id, passage.source, passage.heading, quote, start, end,
                                      page_at(passage.pages, start)))
    return citations
