"""One :class:`chat.ui.documents.Library` per knowledge base, for a process that serves several
(the HTTP server, the UI): each is opened on first use, in the background, and then kept.

The registry (:mod:`ragchat.kbs`) is the truth about which knowledge bases exist: one created or
deleted by another process is seen at the next request.
"""

from __future__ import annotations

import os
import threading

from chat.ui.documents import Library
from ragchat.kbs import KnowledgeBase, Registry, kb_settings
from ragchat.settings import Settings


class Libraries:
    """The libraries of the knowledge bases of one home, loaded lazily and thread-safely."""

    def __init__(self, settings: Settings, preloaded: Library | None = None) -> None:
        """``settings``: as loaded (not one KB's copy); ``preloaded``: a library already started,
        for the knowledge base its settings name."""
        self.settings = settings
        self.registry = Registry(settings)
        self._lock = threading.Lock()
        self._libraries: dict[str, tuple[Library, int]] = {}  # with the identity of the KB's folder
        if preloaded is not None:
            kb = self.registry.get(preloaded.settings.kb)
            self._libraries[kb.name] = (preloaded, _identity(kb))

    @property
    def default_name(self) -> str:
        """The knowledge base used when none is named (the ``kb`` setting, ``--kb``)."""
        return self.settings.kb

    def names(self) -> list[str]:
        return self.registry.names()

    def get(self, name: str | None = None) -> Library:
        """The library of ``name`` (default: :attr:`default_name`), started on first use.
        Raises :class:`ragchat.errors.KnowledgeBaseNotFoundError` for an unknown one."""
        kb = self.registry.get(name or self.default_name)
        identity = _identity(kb)
        with self._lock:
            library, known = self._libraries.get(kb.name, (None, identity))
            if library is None or known != identity:  # new here, or deleted and made again by another process
                library = Library(kb_settings(self.settings, kb.name))
                library.start()
                self._libraries[kb.name] = (library, identity)
            return library

    def loaded(self, name: str) -> Library | None:
        """The library of ``name`` if this process opened it already."""
        with self._lock:
            return self._libraries.get(name, (None, 0))[0]

    def create(self, name: str) -> KnowledgeBase:
        return self.registry.create(name)

    def delete(self, name: str, wait: float = 0.0) -> None:
        """Delete the knowledge base (under its writer lock) and forget its library."""
        kb = self.registry.get(name)
        library = self.loaded(kb.name)
        if library is not None:
            with library.update_lock:  # an upload of this process finishes first
                self.registry.delete(kb.name, wait=wait)
        else:
            self.registry.delete(kb.name, wait=wait)
        with self._lock:
            self._libraries.pop(kb.name, None)


def _identity(kb: KnowledgeBase) -> int:
    """The inode of the knowledge base's folder (0 for the default KB, which is never deleted)."""
    if kb.is_default:
        return 0
    try:
        return os.stat(kb.index_dir.parent).st_ino
    except OSError:
        return 0
