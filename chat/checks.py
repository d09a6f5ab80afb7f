"""Grounding checks on a finished answer."""

from __future__ import annotations

import re
import unicodedata

from chat.text import numbers
from chat.types import Passage


def _flat(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    return re.sub(r"(?<=\d),(?=\d{3})|\s+", "", text)


def numeric_check(sentences: list[tuple[str, list[int]]], passages: list[Passage]) -> tuple[bool, list[str]]:
    """Every number in the answer, with its unit, must appear in the passages its
    sentence cites (all passages for a sentence without a citation).

    Returns (faithful, the numbers that were not found).
    """
    by_n = {p.n: _flat(p.text) for p in passages}
    everything = "\n".join(by_n.values())
    missing: list[str] = []
    for sentence, marks in sentences:
        sources = "\n".join(by_n[n] for n in marks if n in by_n) or everything
        for number in numbers(sentence):
            if _flat(number) not in sources and number not in missing:
                missing.append(number)
    return not missing, missing
