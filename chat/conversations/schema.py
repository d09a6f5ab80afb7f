"""The tables of the conversation store, and its schema version.

The schema is created on first use (``metadata.create_all``). A ``ragchat_schema`` table holds one
row with :data:`SCHEMA_VERSION`. A later change to the tables raises the version and adds a small
upgrade step in :mod:`chat.conversations.engine` (or alembic, when there are more than a few); a
database written by a newer version is refused rather than misread.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

SCHEMA_VERSION = 1


class Base(DeclarativeBase):
    pass


class SchemaRow(Base):
    __tablename__ = "ragchat_schema"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1: one row
    version: Mapped[int] = mapped_column(Integer)


class ConversationRow(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    title: Mapped[str] = mapped_column(String(400), default="")
    kb: Mapped[str] = mapped_column(String(100), default="default")
    user: Mapped[str | None] = mapped_column("username", String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    n_turns: Mapped[int] = mapped_column(Integer, default=0)  # raised by one UPDATE per appended turn

    messages: Mapped[list[MessageRow]] = relationship(
        back_populates="conversation", cascade="all, delete-orphan", passive_deletes=True,
        order_by="(MessageRow.turn, MessageRow.id)")

    __table_args__ = (Index("ix_conversations_user_updated", "username", "updated_at"),)


class MessageRow(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    turn: Mapped[int] = mapped_column(Integer)
    role: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    conversation: Mapped[ConversationRow] = relationship(back_populates="messages")

    __table_args__ = (UniqueConstraint("conversation_id", "turn", "role", name="uq_messages_turn_role"),)
