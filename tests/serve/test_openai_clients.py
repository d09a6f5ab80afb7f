"""The API through the clients people use: the official ``openai`` client and LangChain's ``ChatOpenAI``."""

from __future__ import annotations

import httpx
import pytest

from tests.serve.conftest import FIGURE, QUESTION

pytestmark = [pytest.mark.server, pytest.mark.slow]

MODEL = "ragchat/default"


@pytest.fixture
def client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.api, api_key="not-needed", max_retries=0, timeout=120)


def test_models_lists_the_knowledge_base(client):
    assert [m.id for m in client.models.list()] == [MODEL]


def test_plain_completion_has_the_figure_its_markers_and_citations(client):
    completion = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    assert completion.object == "chat.completion"
    choice = completion.choices[0]
    assert choice.finish_reason == "stop" and choice.message.role == "assistant"
    text = choice.message.content
    assert FIGURE in text and "[1]" in text
    citations = completion.model_extra["citations"]
    assert citations and any(FIGURE in c["quote"] for c in citations)
    assert {"n", "chunk_id", "source", "heading", "quote", "start", "end", "page"} <= set(citations[0])
    # serve.sources_in_text (on by default): the sources as a Markdown list after the answer
    assert "**Sources**" in text and f"- [{citations[0]['n']}] siping-plenary-2023-08.txt" in text


def test_streamed_completion_ends_with_the_citations_then_done(client, server):
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], stream=True))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert FIGURE in text and "[1]" in text
    *body, last = chunks
    assert last.choices[0].finish_reason == "stop" and all(c.choices[0].finish_reason is None for c in body)
    assert any(FIGURE in c["quote"] for c in last.model_extra["citations"])
    assert all("citations" not in (c.model_extra or {}) for c in body)
    # the wire format itself: SSE data lines, the last one [DONE]
    with httpx.stream("POST", server.api + "/chat/completions", timeout=120, json={
            "model": MODEL, "stream": True, "messages": [{"role": "user", "content": QUESTION}]}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert all(line.startswith("data: ") for line in events)
    assert events[-1] == "data: [DONE]"


def test_a_follow_up_is_condensed_with_the_earlier_messages(client, server):
    first = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    earlier = first.choices[0].message.content
    follow_up = "那生态方面呢?"
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": earlier}]
    with_history = client.chat.completions.create(
        model=MODEL, messages=[{"role": "system", "content": "Answer from the reports."}, *history,
                               {"role": "user", "content": follow_up}])
    alone = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": follow_up}])
    native = httpx.post(server.api + "/ask", json={"question": follow_up, "history": history}, timeout=120).json()
    assert native["standalone_question"] != follow_up  # the history rewrote the question
    condensed = with_history.choices[0].message.content
    assert condensed.startswith(native["answer"])
    assert condensed != alone.choices[0].message.content


def test_langchain_chat_openai_in_an_lcel_chain(server):
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_openai import ChatOpenAI

    llm = ChatOpenAI(base_url=server.api, api_key="not-needed", model=MODEL, max_retries=0, timeout=120,
                     max_tokens=256)
    chain = ChatPromptTemplate.from_messages([("human", "{question}")]) | llm | StrOutputParser()
    answer = chain.invoke({"question": QUESTION})
    assert FIGURE in answer and "[1]" in answer
    streamed = "".join(chain.stream({"question": QUESTION}))
    assert FIGURE in streamed
