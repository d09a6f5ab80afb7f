"""Which-questions about a section the question names: its items, not its best sentence.

``上半年在争当现代农业排头兵方面，主要抓了哪几件事？`` names the heading
``——争当现代农业发展排头兵``; ``“做强特色产业”这一块具体包括哪些内容？`` names the
outline item ``要做强特色产业``, which leads a run of sentences in the body. The
answer lists what the section does, one sentence opening each, in the
document's order; the best single sentence would give one item of four.

A section is named when the question holds ``SECTION_SHARE`` of its heading's
weight (IDF), or quotes a phrase of it.
"""

from __future__ import annotations

import re
from typing import Callable

from chat.frame import frame_of
from chat.text import QUOTED, whole_words
from chat.types import Passage
from ingest.mapped import original_offset
from ingest.sentences import sentence_spans

SECTION_SHARE = 0.6
MIN_ITEMS = 2
GAP = 4  # characters between two sentences that run on (a line break, a space)
_QUOTED_ITEM = re.compile(r"哪(?:几|些)?(?:个|种|项|条|点)?[“\"]")  # 哪几个“紧盯”: the quoted items, not a section
Span = tuple[Passage, int, int]


def _name(heading: str) -> str:
    return heading.lstrip("—-－ ").strip()


def _share(name: str, question: str, terms_of: Callable[[str], frozenset], idf: Callable[[str], float]) -> float:
    """How much of ``name``'s weight (its words' IDF) the question holds; 1 when it quotes part of it."""
    if any(q in name for q in QUOTED.findall(question)):
        return 1.0
    terms = whole_words(terms_of(name))  # 现代农业, not also 现代 and 农业
    total = sum(idf(t) for t in terms)
    # in the question's text, not its words: jieba cuts 做强 in the question, 做 | 强 in 要做强特色产业
    return sum(idf(t) for t in terms if t in question) / total if total else 0.0


def named_section(question: str, passages: list[Passage], terms_of: Callable[[str], frozenset],
                  idf: Callable[[str], float]) -> list[Span]:
    """The sentences of the section the question names, in the document's order ([] if none)."""
    found = section_name(question, passages, terms_of, idf)
    if found is None:
        return []
    kind, name, items = found
    spans = _heading_sentences(name, passages) if kind == "heading" else _item_sentences(name, items, passages)
    return _in_order(spans)


def section_name(question: str, passages: list[Passage], terms_of: Callable[[str], frozenset],
                 idf: Callable[[str], float]) -> tuple[str, str, tuple[str, ...]] | None:
    """The section the question names: ("heading", heading, ()) or ("item", outline item, its
    sibling items); None when it names none, or asks for a kind of item of its own
    (哪几个贷款目标), or a heading that has its own outline (the outline is the answer)."""
    if frame_of(question).item or _QUOTED_ITEM.search(question):
        return None
    best: tuple[float, str, str, tuple[str, ...]] | None = None  # (share, kind, name, sibling items)
    for p in passages:
        if p.kind == "outline":
            items = tuple(line.strip().rstrip("。；;") for line in p.text.splitlines() if line.strip())
            names = [("item", item, items) for item in items]
        elif p.heading:
            names = [("heading", p.heading[-1], ())]
        else:
            continue
        for kind, name, items in names:
            share = _share(_name(name), question, terms_of, idf)
            # an outline that lists the body's headings names them too: the heading wins a tie
            if share >= SECTION_SHARE and (best is None or (share, kind == "heading") > (best[0], best[1] == "heading")):
                best = (share, kind, name, items)
    if best is None:
        return None
    _, kind, name, items = best
    if kind == "heading" and any(p.kind == "outline" and p.heading and p.heading[-1] == name for p in passages):
        return None
    return kind, name, items


def _heading_sentences(heading: str, passages: list[Passage]) -> list[Span]:
    return [(p, s, e) for p in passages if p.kind != "outline" and p.heading and p.heading[-1] == heading
            for s, e in sentence_spans(p.text)]


def _item_sentences(item: str, items: tuple[str, ...], passages: list[Passage]) -> list[Span]:
    """The sentences after the body's sentence ``item`` (要做强特色产业。) up to the next item,
    read across the passages in the document's order while they run on without a gap."""
    body = _in_order([(p, s, e) for p in passages if p.kind != "outline" for s, e in sentence_spans(p.text)])
    found: list[Span] = []
    inside, last_end = False, -1
    for p, s, e in body:
        sentence = p.text[s:e].strip()
        start = original_offset(p.spans, s)
        if inside and (any(sentence.startswith(other) for other in items) or start > last_end + GAP):
            break  # the next item, or a passage that was not retrieved
        if sentence.startswith(item):
            inside = True
        elif inside:
            found.append((p, s, e))
        last_end = original_offset(p.spans, e - 1) + 1
    return found


def doc_position(passage: Passage, start: int) -> tuple[str, int]:
    """Where character ``start`` of a passage sits: its document, then its offset there."""
    return passage.doc_id, original_offset(passage.spans, start)


def _in_order(spans: list[Span]) -> list[Span]:
    """Document order, each sentence once (overlapping chunks repeat them)."""
    seen, out = set(), []
    for p, s, e in sorted(spans, key=lambda x: doc_position(x[0], x[1])):
        key = doc_position(p, s)
        if key not in seen:
            seen.add(key)
            out.append((p, s, e))
    return out
