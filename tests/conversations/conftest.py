"""The conversation store's databases: SQLite in the test's home, and a real PostgreSQL server
(``postgres_url``, tests/conftest.py: the session's throw-away cluster; these tests drop its tables)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path) -> Iterator[str]:
    """Each store test runs on SQLite and on PostgreSQL (on an empty database each time)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'conversations.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    _empty(url)
    yield url
    _empty(url)


def _empty(url: str) -> None:
    from sqlalchemy import create_engine

    from chat.conversations.schema import Base

    engine = create_engine(url)
    try:
        Base.metadata.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def store(store_url):
    from chat.conversations import ConversationStore

    opened = ConversationStore(store_url)
    try:
        yield opened
    finally:
        opened.close()
