"""Connecting to Milvus: Milvus Lite by a local ``.db`` path, or a server by URL.

Errors are typed: a URI that is neither is :class:`ConfigError`, a server that
cannot be reached (or a Lite file held by another process) is
:class:`IndexBackendUnavailableError`, a missing pymilvus is
:class:`MissingDependencyError`.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from ragchat.errors import ConfigError, IndexBackendUnavailableError, MissingDependencyError
from ragchat.kbs import knowledge_base_name
from ragchat.settings import Settings

CONNECT_TIMEOUT_S = 10.0


def milvus_uri(settings: Settings) -> str:
    """The configured URI: a server URL as it is, a local path made absolute."""
    uri = settings.index.milvus_uri.strip() or str(settings.home / "milvus.db")
    if re.match(r"^(https?|tcp|grpc)://", uri):
        return uri
    if "://" in uri:
        raise ConfigError(f"index.milvus_uri {uri!r}: use a local file path ending in .db or http://host:19530")
    if not uri.endswith(".db"):
        raise ConfigError(f"index.milvus_uri {uri!r}: a Milvus Lite file path must end in .db")
    return str(Path(uri).expanduser().resolve())


def is_lite(uri: str) -> bool:
    return uri.endswith(".db") and "://" not in uri


def collection_name(index_dir: Path) -> str:
    """One collection per knowledge base: the index folder's name, or its KB's (``kbs/<kb>/index``)."""
    clean = re.sub(r"[^0-9A-Za-z_]", "_", knowledge_base_name(index_dir))[:200] or "default"
    return f"ragchat_{clean}"


class _LiteUnimplemented(logging.Filter):
    """Milvus Lite's in-process server logs an error, traceback and all, for each call it does not
    implement (pymilvus asks for timestamps while it waits for an index, then does without)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Method not implemented" not in record.getMessage()


def connect(settings: Settings) -> Any:
    """A ``MilvusClient`` for the configured URI."""
    try:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException
    except ImportError:
        raise MissingDependencyError(
            "index.backend = 'milvus' needs pymilvus and milvus-lite: pip install 'ragchat[milvus]'") from None
    uri = milvus_uri(settings)
    kwargs: dict[str, Any] = {"uri": uri, "timeout": CONNECT_TIMEOUT_S}
    if is_lite(uri):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        server_log = logging.getLogger("grpc._server")
        if not any(isinstance(f, _LiteUnimplemented) for f in server_log.filters):
            server_log.addFilter(_LiteUnimplemented())
    else:
        token = os.environ.get(settings.index.milvus_token_env, "")
        if token:
            kwargs["token"] = token
    try:
        return MilvusClient(**kwargs)
    except MilvusException as exc:
        if is_lite(uri):
            raise IndexBackendUnavailableError(
                f"cannot open Milvus Lite at {uri} ({exc.message}); another process may hold it: "
                "Milvus Lite serves one process at a time, use a Milvus server for more") from None
        raise IndexBackendUnavailableError(f"cannot reach Milvus at {uri}: {exc.message}") from None
