"""Retrieval expanders: each widens or reorders what the first search found, for one reason.

The first search embeds the standalone question and searches its keywords (with
the subword aliases of :mod:`chat.query`). Each expander then sees that ranking
and the :class:`Search` context, and returns a new ranking of langchain
``Document``s. Each has a name, can be switched off in ``answer.expanders``,
and is tested on its own (``tests/chat/test_expanders.py``):

- ``places``: passages of documents that never name the place the question
  names are set aside (and the search repeated deeper when any were);
- ``english``: an English question's Chinese terms (CC-CEDICT) searched again
  by meaning, fused;
- ``follow_up``: a follow-up's own topic searched alone, fused ahead of the
  carried-over scope;
- ``ordinal_part``: ``第四部分``: what sits under the outline's line ``四、…``;
- ``named_section``: a which-question about a section it names: the section
  read whole.

(``subwords``, the aliases of words the index never saw, acts on the first
search's keywords, in :class:`chat.query.QueryBuilder`.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

import numpy as np

from chat.condense import follow_up_core
from chat.extractive import ITEMS_QUESTION, LIST_QUESTION, section_line
from chat.question import Question
from chat.scope import in_scope
from chat.sections import section_name
from chat.types import Passage, passages_of
from index.retriever import HybridRetriever, rrf_fuse

SCOPE_DEPTH = 4  # with places to match, look this many times deeper for passages of documents that name them


@dataclass(frozen=True)
class Search:
    """What an expander may use: the retriever, the analysed question and the first search."""

    retriever: HybridRetriever
    question: Question
    k: int
    qvec: np.ndarray
    keyword_query: str | None
    exclude: tuple[str, ...]
    document: Callable[[str], str]  # doc id → normalised document text
    terms_of: Callable[[str], frozenset]
    idf: Callable[[str], float]
    is_follow_up: bool = False

    def search(self, text: str, k: int | None = None, **kw) -> list:
        return self.retriever.search(text, k=k or self.k, exclude_docs=self.exclude, **kw)


class Expander(Protocol):
    name: str

    def expand(self, search: Search, docs: list) -> list: ...


def fuse(first: list, second: list, k: int) -> list:
    """Two rankings of documents merged by reciprocal rank fusion."""
    by_id = {d.id: d for d in first + second}
    fused = rrf_fuse([([d.id for d in first], 1.0), ([d.id for d in second], 1.0)], rrf_k=10)
    return [by_id[cid] for cid, _ in fused[:k]]


class Places:
    name = "places"

    def expand(self, search: Search, docs: list) -> list:
        places = list(search.question.places)
        kept = in_scope(docs, places, search.document)
        if len(kept) < len(docs):  # passages of documents that never name the place: look deeper
            deeper = search.search(search.question.standalone, k=search.k * SCOPE_DEPTH, qvec=search.qvec,
                                   keyword_query=search.keyword_query)
            kept = in_scope(deeper, places, search.document)[: search.k]
        return kept


class EnglishTerms:
    name = "english"

    def expand(self, search: Search, docs: list) -> list:
        if not search.question.chinese:
            return docs
        return fuse(docs, search.search(search.question.chinese), search.k)


class FollowUp:
    name = "follow_up"

    def expand(self, search: Search, docs: list) -> list:
        if not search.is_follow_up:
            return docs
        core = follow_up_core(search.question.text, search.question.lang)
        return fuse(search.search(core), docs, search.k)


class OrdinalPart:
    name = "ordinal_part"

    def expand(self, search: Search, docs: list) -> list:
        section = section_line(search.question.standalone, passages_of(docs))
        if section is None:
            return docs
        passage, start, end = section
        outline = next(d for d in docs if d.id == passage.chunk_id)
        docs = fuse(docs, search.search(passage.text[start:end]), search.k)
        return docs if outline in docs else docs[: search.k - 1] + [outline]


class NamedSection:
    name = "named_section"

    def expand(self, search: Search, docs: list) -> list:
        focus = search.question.focus
        if not LIST_QUESTION.search(focus) and not ITEMS_QUESTION.search(focus):
            return docs
        passages: list[Passage] = passages_of(docs)
        named = section_name(focus, passages, search.terms_of, search.idf)
        if named is None:
            return docs
        kind, name, _ = named
        holder = next((p for p in passages if p.kind != "outline" and
                       (p.heading[-1:] == (name,) if kind == "heading" else name in p.text)), None)
        if holder is None:
            return docs
        section = search.retriever.under_heading(holder.doc_id, holder.heading, search.qvec)[: search.k]
        ids = {d.id for d in section}
        return section + [d for d in docs if d.id not in ids][: max(0, search.k - len(section))]


ALL: tuple[Expander, ...] = (Places(), EnglishTerms(), FollowUp(), OrdinalPart(), NamedSection())


def expanders(names: Sequence[str]) -> list[Expander]:
    """The expanders switched on, in their fixed order."""
    wanted = set(names)
    return [e for e in ALL if e.name in wanted]
