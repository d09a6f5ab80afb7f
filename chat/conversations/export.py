"""A conversation as Markdown: its questions, its answers, and each answer's numbered sources
(file, page, heading, quote)."""

from __future__ import annotations

from pathlib import Path

from chat.conversations.types import Conversation, StoredMessage


def to_markdown(conversation: Conversation) -> str:
    s = conversation.summary
    lines = [f"# {s.title or 'Conversation'}", "",
             f"- conversation: `{s.id}`", f"- knowledge base: {s.kb}",
             f"- started: {s.created_at:%Y-%m-%d %H:%M} UTC", f"- last changed: {s.updated_at:%Y-%m-%d %H:%M} UTC"]
    for message in conversation.messages:
        if message.role == "user":
            lines += ["", f"## {message.turn}. {message.text.strip()}"]
        else:
            lines += ["", message.text.strip(), *_sources(message)]
    return "\n".join(lines) + "\n"


def _sources(message: StoredMessage) -> list[str]:
    citations = message.citations
    if not citations:
        return []
    lines = ["", "Sources:", ""]
    for c in citations:
        where = Path(c.source).name + (f", p. {c.page}" if c.page is not None else "")
        heading = f" ({' > '.join(c.heading)})" if c.heading else ""
        lines.append(f"{c.n}. {where}{heading}: “{c.quote}”")
    return lines
