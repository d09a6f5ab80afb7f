"""Split text into sentences and, for over-long ones, into clauses."""

from __future__ import annotations

from ingest.charclass import CLOSERS, SENTENCE_END

CLAUSE_END = set("，,、：:")


def _cut(text: str, ends: set[str], english_stop: bool) -> list[tuple[int, int]]:
    """(start, end) ranges: each range ends after an end mark and its closers.

    Whitespace between ranges belongs to neither; every other character
    belongs to exactly one range, in order.
    """
    spans: list[tuple[int, int]] = []
    n = len(text)
    start = 0
    i = 0
    while i < n:
        ch = text[i]
        stop = ch in ends
        if english_stop and ch == "." and (i + 1 == n or text[i + 1].isspace()):
            stop = i > 0 and not text[i - 1].isdigit()
        if stop:
            j = i + 1
            while j < n and (text[j] in ends or text[j] in CLOSERS):
                j += 1
            spans.append((start, j))
            while j < n and text[j].isspace():
                j += 1
            start = i = j
            continue
        i += 1
    if start < n and text[start:].strip():
        spans.append((start, len(text[start:].rstrip()) + start))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentence ranges: ends are 。！？； !?; and an English full stop; closing
    quotes and brackets stay with the sentence they close."""
    return _cut(text, SENTENCE_END, english_stop=True)


def clause_spans(text: str) -> list[tuple[int, int]]:
    """Clause ranges of one sentence, cut after ，, 、 and ：."""
    return _cut(text, CLAUSE_END, english_stop=False)
