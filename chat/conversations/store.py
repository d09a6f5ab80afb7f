"""``ConversationStore``: conversations and their turns in a SQLAlchemy database.

Safe for several threads and processes: each operation is one short transaction; a turn is
appended by one ``UPDATE ... SET n_turns = n_turns + 1 RETURNING n_turns`` (which takes the row's
write lock on PostgreSQL and the database's on SQLite), then its two messages are inserted under
that number in the same transaction, so concurrent appends never lose or mix a turn.

A conversation belongs to a user (the UI's login user, an API token's identity, or None). Reads and
changes with ``user=...`` see only that user's conversations; an id of another user's is "not found".
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timezone
from typing import TypeVar

from sqlalchemy import Engine, delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from chat.conversations.engine import first_line, open_engine, scrubbed
from ragchat.dburl import safe_url
from chat.conversations.schema import ConversationRow, MessageRow
from chat.conversations.types import (
    DEFAULT_KB,
    Conversation,
    ConversationPage,
    ConversationSummary,
    StoredMessage,
    Turn,
    title_of,
)
from ragchat.errors import ConversationNotFoundError, ConversationStoreError
from ragchat.settings import Settings

T = TypeVar("T")
ANY_USER = object()  # the CLI on this machine: every user's conversations
ID_BYTES = 12  # 24 hex characters
MAX_PAGE = 500


def new_id() -> str:
    """A random id in hex: URL-safe, and never starting with ``-``, which a command line would read as
    an option (``ragchat conversations show -c…``: one id in 64 did with ``token_urlsafe``)."""
    return secrets.token_hex(ID_BYTES)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def open_store(settings: Settings) -> ConversationStore | None:
    """The store of ``settings`` (``conversations.url``), or None when ``conversations.enabled`` is off."""
    if not settings.conversations.enabled:
        return None
    return ConversationStore(settings.conversations_url)


class ConversationStore:
    """Conversations in the database at ``url`` (tables created on first use)."""

    def __init__(self, url: str) -> None:
        self.engine: Engine = open_engine(url)

    def close(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"ConversationStore({safe_url(self.engine.url)!r})"

    # --- writes ------------------------------------------------------------------------------

    def create(self, title: str = "", kb: str = DEFAULT_KB, user: str | None = None) -> ConversationSummary:
        """A new, empty conversation; its title is the first question unless given here."""
        now = utcnow()
        row = ConversationRow(id=new_id(), title=title_of(title), kb=kb or DEFAULT_KB, user=user,
                              created_at=now, updated_at=now, n_turns=0)

        def run(session: Session) -> ConversationSummary:
            session.add(row)
            session.flush()
            return _summary(row)

        return self._write(run)

    def append(self, conversation_id: str, turn: Turn, user: str | None | object = ANY_USER) -> int:
        """Append a question and its answer; returns the turn's number (1 for the first)."""
        question, answer_json = turn.question, turn.answer_json
        now = utcnow()

        def run(session: Session) -> int:
            number = session.scalar(
                update(ConversationRow)
                .where(ConversationRow.id == conversation_id, *_owned(user))
                .values(n_turns=ConversationRow.n_turns + 1, updated_at=now)
                .returning(ConversationRow.n_turns))
            if number is None:
                raise ConversationNotFoundError(conversation_id)
            if number == 1:  # the first question names an untitled conversation
                session.execute(update(ConversationRow)
                                .where(ConversationRow.id == conversation_id, ConversationRow.title == "")
                                .values(title=title_of(question)))
            session.add_all([
                MessageRow(conversation_id=conversation_id, turn=number, role="user", text=question,
                           answer=None, created_at=now),
                MessageRow(conversation_id=conversation_id, turn=number, role="assistant",
                           text=str(answer_json.get("answer", "")), answer=answer_json, created_at=utcnow()),
            ])
            return number

        return self._write(run)

    def rename(self, conversation_id: str, title: str, user: str | None | object = ANY_USER) -> ConversationSummary:
        def run(session: Session) -> ConversationSummary:
            row = self._row(session, conversation_id, user)
            row.title = title_of(title)
            row.updated_at = utcnow()
            session.flush()
            return _summary(row)

        return self._write(run)

    def delete(self, conversation_id: str, user: str | None | object = ANY_USER) -> None:
        def run(session: Session) -> None:
            self._row(session, conversation_id, user)
            session.execute(delete(MessageRow).where(MessageRow.conversation_id == conversation_id))
            session.execute(delete(ConversationRow).where(ConversationRow.id == conversation_id))

        self._write(run)

    # --- reads -------------------------------------------------------------------------------

    def get(self, conversation_id: str, user: str | None | object = ANY_USER) -> Conversation:
        """The conversation with its messages; ConversationNotFoundError if there is none (for ``user``)."""
        def run(session: Session) -> Conversation:
            row = self._row(session, conversation_id, user)
            messages = session.scalars(select(MessageRow).where(MessageRow.conversation_id == conversation_id)
                                       .order_by(MessageRow.turn, MessageRow.id)).all()
            return Conversation(_summary(row), tuple(_message(m) for m in messages))

        return self._read(run)

    def list(self, user: str | None | object = ANY_USER, offset: int = 0, limit: int = 50) -> ConversationPage:
        """``user``'s conversations, the most recently changed first."""
        offset, limit = max(0, offset), max(1, min(limit, MAX_PAGE))

        def run(session: Session) -> ConversationPage:
            rows = session.scalars(select(ConversationRow).where(*_owned(user))
                                   .order_by(ConversationRow.updated_at.desc(), ConversationRow.id)
                                   .offset(offset).limit(limit + 1)).all()
            return ConversationPage(tuple(_summary(r) for r in rows[:limit]), offset, limit, len(rows) > limit)

        return self._read(run)

    def count(self, user: str | None | object = ANY_USER) -> int:
        return self._read(lambda s: s.scalar(select(func.count()).select_from(ConversationRow).where(*_owned(user))))

    # --- sessions ------------------------------------------------------------------------------

    @staticmethod
    def _row(session: Session, conversation_id: str, user: str | None | object) -> ConversationRow:
        row = session.scalar(select(ConversationRow).where(ConversationRow.id == conversation_id, *_owned(user)))
        if row is None:
            raise ConversationNotFoundError(conversation_id)
        return row

    def _write(self, run: Callable[[Session], T]) -> T:
        try:
            with Session(self.engine, expire_on_commit=False) as session, session.begin():
                return run(session)
        except SQLAlchemyError as exc:
            raise self._error(exc) from None

    def _read(self, run: Callable[[Session], T]) -> T:
        try:
            with Session(self.engine, expire_on_commit=False) as session:
                return run(session)
        except SQLAlchemyError as exc:
            raise self._error(exc) from None

    def _error(self, exc: SQLAlchemyError) -> ConversationStoreError:
        return ConversationStoreError(f"the conversation database {safe_url(self.engine.url)} failed: "
                                      f"{scrubbed(first_line(exc), self.engine.url)}")


def _owned(user: str | None | object) -> tuple:
    if user is ANY_USER:
        return ()
    if user is None:
        return (ConversationRow.user.is_(None),)
    return (ConversationRow.user == user,)


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def _summary(row: ConversationRow) -> ConversationSummary:
    return ConversationSummary(id=row.id, title=row.title, kb=row.kb, user=row.user,
                               created_at=_aware(row.created_at), updated_at=_aware(row.updated_at),
                               n_turns=row.n_turns)


def _message(row: MessageRow) -> StoredMessage:
    return StoredMessage(role=row.role, text=row.text, created_at=_aware(row.created_at), turn=row.turn,
                         answer=row.answer)
