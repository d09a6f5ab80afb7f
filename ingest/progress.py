"""Per-page progress while a file is read (OCR takes seconds a page)."""

from __future__ import annotations

import sys
from typing import Iterable, TypeVar

T = TypeVar("T")


def pages_progress(items: list[T], name: str, progress: bool) -> Iterable[T]:
    """``items`` with a tqdm bar on stderr when ``progress`` is on."""
    if not progress or not items:
        return items
    from tqdm import tqdm

    return tqdm(items, desc=f"OCR {name}", unit="page", file=sys.stderr, dynamic_ncols=True, leave=False)
