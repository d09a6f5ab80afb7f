"""Passages cut mid-sentence, completed from the document.

The chunker cuts an over-long sentence at a comma so that chunks keep their
size. A retrieved chunk can then end in ``…扩开放、惠民生、`` and the next chunk
hold ``强党建…``: the answer would quote half a sentence. Before answering,
each body passage is extended, at either end, to the sentence boundary in the
document's normalised text, by at most ``MAX_EXTEND`` characters and never
across a line break (a caption or a new paragraph): a line with no end mark
ends with the line. Offsets stay exact: the
extension is one more span of the original.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

from chat.types import Passage
from ingest.charclass import CLOSERS, SENTENCE_END

MAX_EXTEND = 160


def _forward(doc: str, end: int) -> int:
    """Where the sentence running at ``end`` ends, or ``end`` when too far."""
    for j in range(end, min(len(doc), end + MAX_EXTEND)):
        ch = doc[j]
        if ch == "\n":
            return j  # a line without an end mark ends with the line
        if ch in SENTENCE_END:
            j += 1
            while j < len(doc) and doc[j] in CLOSERS:
                j += 1
            return j
    return len(doc) if len(doc) - end <= MAX_EXTEND else end


def _backward(doc: str, start: int) -> int:
    """Where the sentence running at ``start`` begins, or ``start`` when too far."""
    for j in range(start - 1, max(-1, start - 1 - MAX_EXTEND), -1):
        ch = doc[j]
        if ch == "\n" or ch in SENTENCE_END:
            return j + 1
        if ch in CLOSERS and j > 0 and doc[j - 1] in SENTENCE_END:
            return j + 1
    return start


def complete(passage: Passage, document: Callable[[str], str]) -> Passage:
    """``passage`` with a cut sentence at either end completed from its document."""
    if passage.kind != "body" or not passage.spans or not passage.text:
        return passage
    doc = document(passage.doc_id)
    (first, _), (_, last) = passage.spans[0], passage.spans[-1]
    if last > len(doc) or doc[first:first + 1] != passage.text[:1]:
        return passage  # the stored text does not line up; leave the passage as it is
    head_at, tail_at = _backward(doc, first), _forward(doc, last)
    if head_at == first and tail_at == last:
        return passage
    spans = list(passage.spans)
    if head_at < first:
        spans[0] = (head_at, spans[0][1])
    if tail_at > last:
        spans[-1] = (spans[-1][0], tail_at)
    text = doc[head_at:first] + passage.text + doc[last:tail_at]
    return replace(passage, text=text, spans=tuple(spans))
