"""The UI's saved conversations: a session's turns go into the store, and a stored conversation
becomes a session again (its chat messages, its sources panel and the history that condenses the
next follow-up), after a reload or a restart.

Conversations belong to the logged-in user (``request.username``), or to nobody in particular
without a login.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from chat.conversations import Conversation, ConversationStore, Turn
from chat.conversations.export import to_markdown
from chat.conversations.types import DEFAULT_KB, answer_from_json
from chat.types import Answer
from chat.ui import render
from chat.ui.i18n import EN, text


def new_session() -> dict[str, Any]:
    """A session's state: the history for the answer path, the chat messages, the sources per answer,
    and the stored conversation its turns go to (None until the first answer)."""
    return {"history": [], "messages": [], "turns": [], "conversation_id": None}


def turn_title(question: str, answer: Answer, lang: str = EN) -> str:
    """The title of an answer's sources: the question, and what it was searched as when condensed."""
    if answer.standalone_question == answer.question or not answer.standalone_question:
        return question
    return text(lang, "searched_as", question=question, standalone=answer.standalone_question)


def session_of(conversation: Conversation, lang: str = EN) -> dict[str, Any]:
    """A stored conversation as a session: what the chat, the sources panel and the history need
    (their words in ``lang``)."""
    session = new_session()
    session["conversation_id"] = conversation.id
    question = ""
    for message in conversation.messages:
        if message.role == "user":
            question = message.text
            session["messages"].append({"role": "user", "content": render.markdown_text(message.text)})
        else:
            answer = answer_from_json(message.answer or {"answer": message.text})
            session["messages"].append({"role": "assistant", "content": render.answer_message(answer, message.turn)})
            session["turns"].append((message.turn, turn_title(question, answer, lang),
                                     render.sources_html(answer, message.turn, lang)))
        session["history"].append((message.role, message.text))
    return session


class SavedConversations:
    """The store as the UI uses it: the user's list, recording a turn, reopening, exporting."""

    def __init__(self, store: ConversationStore, page_size: int) -> None:
        self.store = store
        self.page_size = page_size

    def choices(self, user: str | None, lang: str = EN) -> list[tuple[str, str]]:
        """(label, id) of the user's most recent conversations, newest first."""
        page = self.store.list(user=user, limit=self.page_size)
        return [(f"{s.title or text(lang, 'untitled')} · {s.updated_at:%m-%d %H:%M}", s.id) for s in page.items]

    def record(self, conversation_id: str | None, question: str, answer: Answer, user: str | None,
               kb: str = DEFAULT_KB) -> str:
        """Append the turn to the session's conversation (made on its first answer, in knowledge base
        ``kb``); returns its id."""
        if conversation_id is None:
            conversation_id = self.store.create(kb=kb, user=user).id
        self.store.append(conversation_id, Turn(question, answer), user=user)
        return conversation_id

    def reopen(self, conversation_id: str, user: str | None, lang: str = EN) -> dict[str, Any]:
        return session_of(self.store.get(conversation_id, user=user), lang)

    def export(self, conversation_id: str, user: str | None) -> Path:
        """The conversation as a Markdown file in a temporary folder of its own (for a download)."""
        conversation = self.store.get(conversation_id, user=user)
        folder = Path(tempfile.mkdtemp(prefix="ragchat-export-"))
        path = folder / f"conversation-{conversation.id}.md"
        path.write_text(to_markdown(conversation), encoding="utf-8")
        return path
