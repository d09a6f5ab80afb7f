"""The checks on what a request asks for, shared by every front end (CLI, UI, API, eval)."""

from __future__ import annotations

import numbers

from ragchat.errors import InvalidRequestError
from ragchat.settings import MAX_K


def checked_k(k: object) -> int | None:
    """``k`` (passages to retrieve) as the service takes it: ``None`` for ``retrieval.k``, else a
    whole number from 1 to ``MAX_K``. A float is accepted when it is whole (a UI slider sends 5.0)."""
    if k is None:
        return None
    wrong = InvalidRequestError(f"k (passages to retrieve) must be a whole number from 1 to {MAX_K}, not {k!r:.40}")
    if isinstance(k, bool) or not isinstance(k, numbers.Real):
        raise wrong
    if isinstance(k, numbers.Integral):
        value = int(k)
    elif float(k).is_integer():  # NaN and infinities are not
        value = int(k)
    else:
        raise wrong
    if not 1 <= value <= MAX_K:
        raise wrong
    return value
