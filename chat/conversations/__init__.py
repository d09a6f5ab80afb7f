"""Saved conversations: a SQLAlchemy store (SQLite by default, PostgreSQL for shared servers).

* :mod:`chat.conversations.types` holds the typed values that go in and out of the store;
* :mod:`chat.conversations.schema` holds the tables (ORM models) and the schema version;
* :mod:`chat.conversations.engine` opens a database URL (SQLite in WAL mode, or PostgreSQL);
* :mod:`chat.conversations.store` is :class:`ConversationStore`: create, append a turn, get,
  list, rename, delete;
* :mod:`chat.conversations.export` renders a conversation as Markdown.
"""

from chat.conversations.store import ConversationStore, open_store
from chat.conversations.types import Conversation, ConversationPage, ConversationSummary, StoredMessage, Turn

__all__ = ["Conversation", "ConversationPage", "ConversationStore", "ConversationSummary", "StoredMessage",
           "Turn", "open_store"]
