"""The places a question is about, and the documents that mention them.

In an index of many documents, a question about 四平 can retrieve a passage of
another document that shares its other words (``19条公交线路`` for
``四平市的地铁线路有几条``). A passage whose document never mentions the place,
person or organisation the question names cannot answer it, so such passages
are set aside before answering; when no retrieved passage is left, the
answer is a refusal (``北京市的GDP是多少`` asked of the report).
"""

from __future__ import annotations

from typing import Callable

from chat.tagger import tag


def names(question: str, knows: Callable[[str], bool]) -> list[str]:
    """The place names of ``question`` (四平, 北京市), by LAC's tags (:mod:`chat.tagger`).

    A word LAC tags as a place (``LOC``, ``ns``) counts when it ends like a place (市, 县 …)
    or the index knows it: 辽宁 in a question about the report, which says 吉辽蒙, must not
    scope the question to documents that name 辽宁. jieba's place tag, used before, also took
    common words for places (城市 in ``设在哪个城市``, 治安), and such a question was refused.
    """
    found = [t.word for t in tag(question) if t.tag in ("LOC", "ns") and len(t.word) >= 2
             and (t.word[-1] in _SUFFIXES or knows(t.word))]
    return list(dict.fromkeys(found))


def mentions(text: str, name: str) -> bool:
    """``name`` in ``text``, also without its administrative suffix (四平市 → 四平)."""
    return name in text or (len(name) > 2 and name[-1] in _SUFFIXES and name[:-1] in text)


_SUFFIXES = "市县区省镇乡村州"


def in_scope(docs: list, wanted: list[str], document: Callable[[str], str]) -> list:
    """The documents (langchain ``Document``s of chunks) whose source document names all of ``wanted``."""
    if not wanted:
        return docs
    keep: dict[str, bool] = {}
    out = []
    for doc in docs:
        doc_id = doc.metadata["doc_id"]
        if doc_id not in keep:
            text = document(doc_id)
            keep[doc_id] = all(mentions(text, name) for name in wanted)
        if keep[doc_id]:
            out.append(doc)
    return out
