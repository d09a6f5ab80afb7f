"""Saved conversations through the API: ``conversation_id`` with the official ``openai`` client
(plain and streamed) and ``/v1/ask``, and ``/v1/conversations``, on the real server."""

from __future__ import annotations

import httpx
import pytest

from tests.serve.conftest import FIGURE, QUESTION

pytestmark = [pytest.mark.server, pytest.mark.slow]

MODEL = "ragchat/default"
FIRST = "下半年要推进哪些民生工程?"
FOLLOW_UP = "那生态方面呢?"


@pytest.fixture
def client(server):
    from openai import OpenAI

    return OpenAI(base_url=server.api, api_key="not-needed", max_retries=0, timeout=120)


def _new(server, **body) -> dict:
    response = httpx.post(server.api + "/conversations", json=body, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()


def _get(server, conversation_id: str, headers: dict | None = None) -> httpx.Response:
    return httpx.get(f"{server.api}/conversations/{conversation_id}", headers=headers, timeout=30)


def test_turns_are_stored_and_the_stored_history_condenses_the_follow_up(client, server):
    created = _new(server, model=MODEL)
    assert created["turns"] == 0 and created["kb"] == "default" and created["title"] == ""
    first = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": FIRST}],
                                           extra_body={"conversation_id": created["id"]})
    assert first.model_extra["conversation_id"] == created["id"] and first.model_extra["turn"] == 1
    # only the follow-up is sent: the stored turns are the history
    follow = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": FOLLOW_UP}],
                                            extra_body={"conversation_id": created["id"]})
    alone = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": FOLLOW_UP}])
    assert follow.choices[0].message.content != alone.choices[0].message.content
    stored = _get(server, created["id"]).json()
    assert stored["title"] == FIRST and stored["turns"] == 2
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "user", "assistant"]
    assert stored["messages"][2]["content"] == FOLLOW_UP
    second = stored["messages"][3]["answer"]
    assert second["standalone_question"] == "下半年生态方面"  # condensed with the stored first question
    assert follow.choices[0].message.content.startswith(second["answer"])
    assert second["citations"] == follow.model_extra["citations"]  # reopened, the citations are there again


def test_a_streamed_turn_is_stored_and_its_last_chunk_names_the_conversation(client, server):
    created = _new(server)
    chunks = list(client.chat.completions.create(
        model=MODEL, messages=[{"role": "user", "content": QUESTION}], stream=True,
        extra_body={"conversation_id": created["id"]}))
    last = chunks[-1]
    assert last.model_extra["conversation_id"] == created["id"] and last.model_extra["turn"] == 1
    stored = _get(server, created["id"]).json()
    answer = stored["messages"][1]["answer"]
    assert FIGURE in answer["answer"] and any(FIGURE in c["quote"] for c in answer["citations"])


def test_ask_appends_to_a_conversation(server):
    created = _new(server)
    one = httpx.post(server.api + "/ask", json={"question": FIRST, "conversation_id": created["id"]}, timeout=120)
    two = httpx.post(server.api + "/ask", json={"question": FOLLOW_UP, "conversation_id": created["id"]}, timeout=120)
    assert one.status_code == two.status_code == 200
    assert (one.json()["turn"], two.json()["turn"]) == (1, 2) and two.json()["conversation_id"] == created["id"]
    assert two.json()["standalone_question"] == "下半年生态方面"
    plain = httpx.post(server.api + "/ask", json={"question": FIRST}, timeout=120).json()
    assert "conversation_id" not in plain  # without one, the Answer JSON as ever


def test_a_request_without_a_conversation_id_stores_nothing(client, server):
    before = httpx.get(server.api + "/conversations", params={"limit": 500}, timeout=30).json()["data"]
    client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}])
    after = httpx.get(server.api + "/conversations", params={"limit": 500}, timeout=30).json()["data"]
    assert after == before


def test_an_unknown_conversation_is_404_in_openais_shape(client, server):
    import openai

    with pytest.raises(openai.NotFoundError) as caught:
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": QUESTION}],
                                       extra_body={"conversation_id": "no-such-id"})
    assert caught.value.code == "conversation_not_found"
    for response in (_get(server, "no-such-id"), httpx.delete(server.api + "/conversations/no-such-id"),
                     httpx.patch(server.api + "/conversations/no-such-id", json={"title": "x"}),
                     httpx.post(server.api + "/ask", json={"question": QUESTION, "conversation_id": "nope"},
                                timeout=60)):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "conversation_not_found"


def test_list_rename_export_and_delete(server):
    ids = [_new(server, title=f"list test {i}")["id"] for i in range(3)]
    page = httpx.get(server.api + "/conversations", params={"limit": 2}, timeout=30).json()
    assert [c["id"] for c in page["data"]] == [ids[2], ids[1]] and page["has_more"]  # newest first
    renamed = httpx.patch(f"{server.api}/conversations/{ids[0]}", json={"title": "肉牛与生态"}, timeout=30)
    assert renamed.status_code == 200 and renamed.json()["title"] == "肉牛与生态"
    assert httpx.get(server.api + "/conversations", params={"limit": 1}, timeout=30).json()["data"][0]["id"] == ids[0]
    httpx.post(server.api + "/ask", json={"question": QUESTION, "conversation_id": ids[0]}, timeout=120)
    markdown = httpx.get(f"{server.api}/conversations/{ids[0]}/markdown", timeout=30)
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith("# 肉牛与生态") and f"## 1. {QUESTION}" in markdown.text
    assert "1. siping-plenary-2023-08.txt" in markdown.text and FIGURE in markdown.text
    assert httpx.patch(f"{server.api}/conversations/{ids[0]}", json={"title": ""}, timeout=30).status_code == 422
    deleted = httpx.delete(f"{server.api}/conversations/{ids[0]}", timeout=30)
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True
    assert _get(server, ids[0]).status_code == 404


def test_each_token_sees_its_own_conversations(token_server):
    """A second server process on the same home (and so the same SQLite file): with tokens, a
    conversation belongs to the token that made it."""
    a, b = {"Authorization": "Bearer s3cret-token"}, {"Authorization": "Bearer other-token"}
    made = httpx.post(token_server.api + "/conversations", json={"title": "a's"}, headers=a, timeout=30).json()
    assert _get(token_server, made["id"], headers=a).status_code == 200
    assert _get(token_server, made["id"], headers=b).status_code == 404
    listed_b = httpx.get(token_server.api + "/conversations", headers=b, timeout=30).json()["data"]
    assert made["id"] not in [c["id"] for c in listed_b]
    assert httpx.get(token_server.api + "/conversations", timeout=30).status_code == 401
