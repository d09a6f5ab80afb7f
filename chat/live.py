"""The answer service over the index's live version, for a process that runs for long.

Another process (``ragchat index add``, a second UI, the HTTP server) may write
the index at any time. Before each question (at most every
``index.follow_interval_s`` seconds), :meth:`LiveService.get` reads what names
the live version: ``CURRENT`` on FAISS (a few bytes), the pointer row on Milvus
(one single-row get); when it names another version than the one loaded, the
new version is loaded and a new service swapped in with one assignment.
Questions already running finish on the old service, whose version is held by
its reader lease (index.lease) for ``RETIRE_AFTER_S`` more seconds; then the
lease is released and a later write may prune that version (on Milvus: its
connection is closed). A version that
cannot be loaded leaves the old service answering, with the reason kept.
"""

from __future__ import annotations

import logging
import threading
import time

from chat.service import AnswerService
from index.open import live_pointer, load_live
from ragchat.errors import RagchatError

LOG = logging.getLogger(__name__)
RETIRE_AFTER_S = 600.0  # longer than any question takes, streamed LLM answers included


class LiveService:
    """Holds the current :class:`AnswerService` and follows ``CURRENT``."""

    def __init__(self, service: AnswerService) -> None:
        self._service = service
        self._swap = threading.Lock()
        self._retire = threading.Lock()
        self.reload_error: RagchatError | None = None  # why the last newer version was not taken
        self._refused = ""  # the pointer that failed to load, not retried until it changes
        self._retired: list[tuple[float, AnswerService]] = []  # swapped out, lease still held
        self._looked = float("-inf")  # when the live version's name was last read (time.monotonic)

    @property
    def service(self) -> AnswerService:
        """The service as it is now, without looking for a newer version."""
        return self._service

    def get(self) -> AnswerService:
        """The service over the live version, loading it first when another process changed it."""
        current = self._service
        settings = current.settings
        self._release_retired()
        now = time.monotonic()
        if now - self._looked < settings.index.follow_interval_s:
            return current
        self._looked = now
        try:
            pointer = live_pointer(settings, current.snapshot)
        except RagchatError:
            return current  # no readable pointer: keep answering from what is loaded
        if pointer in (current.snapshot.pointer, self._refused) or not self._swap.acquire(blocking=False):
            return current  # unchanged, known bad, or another question is loading it already
        try:
            if self._service is not current:
                return self._service
            self.replace_from_disk()
        except RagchatError as exc:
            self._refused, self.reload_error = pointer, exc
            LOG.warning("keeping index version %s: cannot load the new one (%s)", current.snapshot.path, exc)
        finally:
            self._swap.release()
        return self._service

    def replace_from_disk(self) -> AnswerService:
        """Load the live version now and serve it (after this process's own update)."""
        current = self._service
        settings = current.settings
        snapshot = load_live(settings, str(getattr(current.embeddings, "model_id", "")) or None, current.snapshot)
        self._service = AnswerService(settings, snapshot, current.embeddings, current.endpoint,
                                      policy=current.policy, models=current.models)
        self._retired.append((time.monotonic(), current))
        self._refused, self.reload_error = "", None
        return self._service

    def _release_retired(self, older_than: float = RETIRE_AFTER_S) -> None:
        now = time.monotonic()
        with self._retire:
            while self._retired and now - self._retired[0][0] >= older_than:
                self._retired.pop(0)[1].snapshot.close()
