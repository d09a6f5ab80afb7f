"""Normalisation for matching answers and evidence: width, case, spaces."""

from __future__ import annotations

import re
import unicodedata

_SPACE = re.compile(r"\s+")


def norm(text: str) -> str:
    """NFKC (full width → half width), lower case, no whitespace.

    Units stay: ``131.7万头`` stays ``131.7万头`` and never matches ``131.7``
    alone the other way round.
    """
    return _SPACE.sub("", unicodedata.normalize("NFKC", text)).lower()


def contains(haystack: str, needle: str) -> bool:
    return norm(needle) in norm(haystack)
