"""The one logging setup of every ``ragchat`` command: the level (``--log-level``, else
``$RAGCHAT_LOG_LEVEL``, else WARNING), one line format on stderr, and the secrets of the settings
(API keys, bearer tokens, the UI's password) masked in whatever any logger writes, at every level.

``ragchat serve`` keeps its request log (logger ``ragchat.serve``) at INFO when no level is chosen.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragchat.settings import Settings

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
ENV_VAR = "RAGCHAT_LOG_LEVEL"
DEFAULT_LEVEL = "WARNING"
REQUEST_LOG = "ragchat.serve"  # the server's one line per request (chat.server.middleware)
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
MASK = "***"
# Loggers that write what people asked at INFO (SQLAlchemy: each statement and its parameters, the
# saved messages among them): WARNING unless the level is DEBUG.
CONTENT_AT_INFO = ("sqlalchemy.engine",)


class MaskSecrets(logging.Filter):
    """Replaces each known secret in a record's message, traceback and stack by ``***``."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: tuple[str, ...] = ()

    def add(self, values: Iterable[str]) -> None:
        known = {*self.secrets, *(v for v in values if v and v.strip())}
        self.secrets = tuple(sorted(known, key=len, reverse=True))  # a longer secret first: no half-masked one

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        record.msg, record.args = self.mask(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


class _Handler(logging.StreamHandler):
    """ragchat's handler on the root logger (one, however often the setup runs). It writes to the
    ``sys.stderr`` of the moment, so a replaced stderr (click's test runner, pytest) is followed."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ sets it; sys.stderr is always used
        pass


_MASK = MaskSecrets()


def chosen_level(level: str | None) -> str | None:
    """The level the user chose: ``level`` (the option), else ``$RAGCHAT_LOG_LEVEL``; None if neither."""
    chosen = level or os.environ.get(ENV_VAR, "").strip()
    return chosen.upper() if chosen else None


def setup_logging(level: str | None = None) -> str:
    """Route every logger to one stderr handler at ``level`` (see :func:`chosen_level`; else WARNING).
    Returns the level name. A name that is not one of :data:`LEVELS` raises ``ValueError``."""
    name = chosen_level(level) or DEFAULT_LEVEL
    if name not in LEVELS:
        raise ValueError(f"log level {name!r} is not one of {', '.join(LEVELS)}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler()
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(_MASK)
    root.addHandler(handler)
    root.setLevel(name)
    for logger in CONTENT_AT_INFO:
        # DEBUG set here, not NOTSET: SQLAlchemy puts its own root logger ("sqlalchemy") at WARNING on import
        logging.getLogger(logger).setLevel(logging.DEBUG if name == "DEBUG" else logging.WARNING)
        for child_name, child in list(logging.root.manager.loggerDict.items()):  # a level set on a child
            if child_name.startswith(logger + ".") and isinstance(child, logging.Logger):  # would win
                child.setLevel(logging.NOTSET)
    return name


def serve_request_log(level: str | None) -> None:
    """The server's request log at INFO unless the user chose a level (then it follows that level)."""
    logging.getLogger(REQUEST_LOG).setLevel(logging.NOTSET if chosen_level(level) else logging.INFO)


def mask_secrets(values: Iterable[str]) -> None:
    """Never write these strings in a log line, at any level."""
    _MASK.add(values)


def secrets_of(settings: Settings) -> tuple[str, ...]:
    """The secrets a process with ``settings`` may hold: bearer tokens, and the values of the
    environment variables that hold the LLM's and the embedding endpoint's keys and the UI's password."""
    names = (settings.llm.api_key_env, settings.embedding.api_key_env, settings.ui.auth_password_env)
    return (*settings.serve.tokens, *(os.environ.get(n, "") for n in names if n))
