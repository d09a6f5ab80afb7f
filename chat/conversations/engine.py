"""Open the conversation database: the URL checked, SQLite set up for several threads and processes
(WAL, a busy timeout, foreign keys), the tables created on first use and the schema version checked.

Errors become :class:`ragchat.errors.ConversationStoreError` with the URL shown without its password.
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import Session

from chat.conversations.schema import SCHEMA_VERSION, Base, SchemaRow
from ragchat.dburl import safe_url
from ragchat.errors import ConversationStoreError

SQLITE_BUSY_TIMEOUT_S = 30.0  # a writer waits this long for another one (SQLite allows one at a time)
CONNECT_TIMEOUT_S = 10  # PostgreSQL: how long to try to reach the server
CREATE_ATTEMPTS = 3  # two processes creating the tables at once: the loser retries and finds them


def parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConversationStoreError(
            "conversations.url is not a database URL; use e.g. sqlite:///path/conversations.db "
            "or postgresql+psycopg://user:password@host:5432/ragchat") from None
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConversationStoreError(f"conversations.url {safe_url(parsed)}: only sqlite and postgresql are supported")
    return parsed


def open_engine(url: str) -> Engine:
    """An engine on ``url`` whose schema is ready; raises ConversationStoreError if it cannot be used."""
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(parsed)
        else:
            engine = create_engine(parsed, pool_pre_ping=True, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    except (NoSuchModuleError, ImportError) as exc:
        raise ConversationStoreError(f"cannot open {safe_url(parsed)}: the database driver is missing ({exc}); "
                                     "for PostgreSQL install ragchat[postgres]") from None
    try:
        ensure_schema(engine)
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ConversationStoreError(f"cannot use the conversation database {safe_url(parsed)}: "
                                     f"{scrubbed(first_line(exc), parsed)}") from None
    return engine


def _sqlite_engine(url: URL) -> Engine:
    if url.database and url.database != ":memory:":
        folder = Path(url.database).expanduser().parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConversationStoreError(f"cannot make the folder of {safe_url(url)}: {exc.strerror}") from None
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
        cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


def ensure_schema(engine: Engine) -> None:
    """Create the tables if missing and check the schema version (a newer one is refused)."""
    for attempt in range(1, CREATE_ATTEMPTS + 1):
        try:
            _create(engine)
            break
        except SQLAlchemyError:
            if attempt == CREATE_ATTEMPTS:
                raise
            time.sleep(0.2 * attempt)  # another process was creating them; they exist now
    with Session(engine) as session:
        version = session.scalar(select(SchemaRow.version).where(SchemaRow.id == 1))
    if version is not None and version > SCHEMA_VERSION:
        raise ConversationStoreError(
            f"the conversation database {safe_url(engine.url)} has schema version {version}, newer than this "
            f"ragchat's {SCHEMA_VERSION}; upgrade ragchat or use another conversations.url")


def _create(engine: Engine) -> None:
    if not inspect(engine).has_table(SchemaRow.__tablename__):
        Base.metadata.create_all(engine)
    with Session(engine) as session, session.begin():
        if session.get(SchemaRow, 1) is None:
            session.add(SchemaRow(id=1, version=SCHEMA_VERSION))


def scrubbed(message: str, url: URL) -> str:
    """``message`` without the URL's password, should a driver ever quote it."""
    return message.replace(url.password, "***") if url.password else message


def first_line(exc: SQLAlchemyError) -> str:
    """The driver's own message, first line, without SQLAlchemy's SQL dump and link."""
    original = getattr(exc, "orig", None) or exc
    text = str(original).strip().splitlines()
    return text[0] if text else type(original).__name__
