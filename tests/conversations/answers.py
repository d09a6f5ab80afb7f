"""Answers to store: real ``chat.types.Answer`` values, built here without an index (the store keeps
whatever answer it is given; the API and UI tests store answers of the real answer path)."""

from __future__ import annotations

from chat.types import Answer, Checks, Citation, Passage


def make_answer(question: str, text: str, source: str = "/docs/report.pdf", page: int | None = 3) -> Answer:
    citation = Citation(n=1, chunk_id="c1", source=source, heading=("一、经济", "工业"), quote=text,
                        start=10, end=22, page=page)
    passage = Passage(n=1, chunk_id="c1", doc_id="d1", source=source, heading=("一、经济", "工业"), kind="text",
                      text=f"……{text}……", spans=((0, 20),), score=0.9, dense_score=0.8, keyword_score=3.0,
                      pages=((page, 0),) if page is not None else ())
    return Answer(question=question, standalone_question=question, text=text + "[1]", citations=[citation],
                  refused=False, passages=[passage], checks=Checks(), timings_ms={"total": 1.0},
                  answerer="extractive", lang="zh")


def append_many(url: str, conversation_id: str, worker: int, n: int) -> list[int]:
    """Append ``n`` turns ``w<worker>-<i>`` to a conversation through a store of this process's own."""
    from chat.conversations import ConversationStore, Turn

    store = ConversationStore(url)
    try:
        return [store.append(conversation_id, Turn(f"w{worker}-{i}", make_answer(f"w{worker}-{i}", f"a{worker}-{i}")))
                for i in range(n)]
    finally:
        store.close()
