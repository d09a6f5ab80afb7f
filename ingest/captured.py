"""What libraries say while a file is read (``warnings`` and log records), kept, not printed.

A loader's library may warn on stderr (pypdf, openpyxl) or log through ``logging``. While
:func:`captured` is open, warnings are recorded and the log records of this thread that
would be printed are held back; :meth:`Captured.lines` gives them as short lines, for the
reason of a skipped file. Records of other threads (the UI's) go on as usual.
"""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager


class Captured(logging.Filter):
    """The warnings and log records caught so far."""

    def __init__(self, caught_warnings: list[warnings.WarningMessage]) -> None:
        super().__init__()
        self._thread = threading.get_ident()
        self._warnings = caught_warnings
        self._records: list[logging.LogRecord] = []

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread != self._thread:
            return True
        self._records.append(record)
        return False

    def lines(self) -> list[str]:
        said = [f"{w.category.__name__}: {w.message}" for w in self._warnings]
        said += [f"{r.name}: {r.getMessage()}" for r in self._records]
        return list(dict.fromkeys(" ".join(s.split()) for s in said))  # a record reaches each handler once


@contextmanager
def captured() -> Iterator[Captured]:
    """Record warnings and hold back this thread's log records until the block ends."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        capture = Captured(caught)
        handlers = [*logging.getLogger().handlers, logging.lastResort]
        for handler in handlers:
            if handler is not None:
                handler.addFilter(capture)
        try:
            yield capture
        finally:
            for handler in handlers:
                if handler is not None:
                    handler.removeFilter(capture)
