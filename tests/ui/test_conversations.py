"""Saved conversations in the UI, through its API (gradio_client): each answer is stored, and a
conversation reopens, also in a new app on the same home (a restart), with its sources; rename,
export as Markdown, delete."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradio_client import Client

FIRST = "下半年要推进哪些民生工程?"
FOLLOW_UP = "那生态方面呢?"


def _chat(client: Client, question: str):
    return client.predict(question, 5, "extractive", "", "", "", api_name="/chat")


def _listed(client: Client) -> list[dict]:
    return client.predict(api_name="/conversations")


def test_a_conversation_reopens_after_a_restart_and_goes_on(ui_app, start_ui):
    client = Client(ui_app.url, verbose=False)
    client.predict(api_name="/clear")
    _chat(client, FIRST)
    newest = _listed(client)[0]
    assert newest["title"] == FIRST and newest["turns"] == 1 and newest["kb"] == "default"
    conversation_id = newest["id"]

    restarted = start_ui(ui_app.settings.home, library=ui_app.library)  # a new app and store on the same home
    try:
        again = Client(restarted.url, verbose=False)
        assert conversation_id in [c["id"] for c in _listed(again)]
        messages, sources, _warnings, _json = again.predict(conversation_id, api_name="/open_conversation")
        assert len(messages) == 2 and 'href="#src-1-' in str(messages[1]["content"])
        assert 'id="src-1-1"' in sources and "<mark>" in sources  # its citations, shown again
        follow = _chat(again, FOLLOW_UP)  # the reopened history condenses the follow-up
        assert follow[3]["standalone_question"] == "下半年生态方面"
        assert len(follow[0]) == 4
        stored = next(c for c in _listed(again) if c["id"] == conversation_id)
        assert stored["turns"] == 2
    finally:
        restarted.demo.close()


def test_new_conversation_rename_export_and_delete(client: Client):
    client.predict(api_name="/clear")
    _chat(client, FIRST)
    first_id = _listed(client)[0]["id"]
    client.predict(api_name="/clear")  # a new conversation; the first stays saved
    _chat(client, "肉牛养殖量达到多少?")
    listed = _listed(client)
    second_id = listed[0]["id"]
    assert second_id != first_id and first_id in [c["id"] for c in listed]

    client.predict("肉牛", api_name="/rename_conversation")
    assert next(c for c in _listed(client) if c["id"] == second_id)["title"] == "肉牛"
    exported = Path(client.predict(api_name="/export_conversation"))
    text = exported.read_text(encoding="utf-8")
    assert text.startswith("# 肉牛\n") and "## 1. 肉牛养殖量达到多少?" in text
    assert "Sources:" in text and "1. siping-plenary-2023-08.txt" in text and "131.7万头" in text

    messages, *_ = client.predict(api_name="/delete_conversation")
    assert messages == []
    assert second_id not in [c["id"] for c in _listed(client)]
    with pytest.raises(Exception, match="no saved conversation is open"):
        client.predict(api_name="/export_conversation")


@pytest.mark.browser
@pytest.mark.server
def test_the_list_reopens_a_conversation_in_the_browser(page):
    from tests.ui.test_browser import ask

    question = "规划建设了多少所社区食堂?"
    ask(page, question)
    listed = page.locator("#rc-conversations label", has_text=question).first
    listed.wait_for(timeout=30000)
    page.click("#rc-clear")
    page.wait_for_function("!document.querySelector('#rc-chat a[href^=\"#src-\"]')")
    page.reload()  # a new session: the saved list is there again
    page.wait_for_selector("#rc-question textarea")
    page.locator("#rc-conversations label", has_text=question).first.click()
    page.wait_for_selector("#rc-chat a[href='#src-1-1']", timeout=30000)
    assert question in page.inner_text("#rc-chat")
    assert "7所社区食堂" in page.inner_text("#rc-sources")
    # the title box is filled by the list's refresh, an event after the reopening itself
    page.wait_for_function("q => document.querySelector('#rc-conversation-title input').value.startsWith(q)",
                           arg=question, timeout=10000)
    assert page.outside_requests == []


def test_with_a_login_the_list_is_the_users_own(ui_app, start_ui, monkeypatch):
    """The same home (and so the same database) with a login: alice sees only what she asked."""
    from chat.conversations import ConversationStore

    anonymous = Client(ui_app.url, verbose=False)
    anonymous.predict(api_name="/clear")
    _chat(anonymous, FIRST)
    theirs = _listed(anonymous)[0]["id"]
    monkeypatch.setenv("RAGCHAT_UI_PASSWORD", "s3cret-pass")
    guarded = start_ui(ui_app.settings.home, library=ui_app.library, auth_username="alice")
    try:
        alice = Client(guarded.url, auth=("alice", "s3cret-pass"), verbose=False)
        assert _listed(alice) == []  # not the conversations asked without a login
        _chat(alice, "肉牛养殖量达到多少?")
        hers = _listed(alice)
        assert [c["title"] for c in hers] == ["肉牛养殖量达到多少?"]
        with pytest.raises(Exception, match="no conversation"):
            alice.predict(theirs, api_name="/open_conversation")
    finally:
        guarded.demo.close()
    store = ConversationStore(ui_app.settings.conversations_url)
    try:
        assert store.get(hers[0]["id"]).summary.user == "alice"
        assert hers[0]["id"] not in [c["id"] for c in _listed(anonymous)]
    finally:
        store.close()
