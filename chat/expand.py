"""Question words the index has never seen, matched to index words that contain them.

A paraphrase often uses a shorter or a colloquial word than the report: ``牛``
for 肉牛, ``秆子`` for 秸秆, ``烧`` for 禁烧. Such a word matches nothing in the
keyword index. It is expanded to the index words that contain it, or, failing
that, to the index words that contain one of its characters, when that
character is rare enough (in at most ``RARE_CHAR`` index words) to mean
something on its own.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Callable, Iterable

from ingest.charclass import is_cjk

_ORDINAL = re.compile(r"第[一二三四五六七八九十百\d]")
RARE_CHAR = 3
PER_TERM = 3


class SubwordExpander:
    def __init__(self, vocabulary: Iterable[str], idf: Callable[[str], float]) -> None:
        self.idf = idf
        self.by_char: dict[str, set[str]] = defaultdict(set)
        for word in vocabulary:
            if len(word) >= 2 and all(is_cjk(ch) for ch in word):
                for ch in set(word):
                    self.by_char[ch].add(word)

    def _containing(self, term: str) -> set[str]:
        words = self.by_char.get(term[0], set())
        return {w for w in words if term in w and w != term}

    def expand(self, terms: Iterable[str], knows: Callable[[str], bool]) -> dict[str, frozenset[str]]:
        """Index words for each CJK term of ``terms`` that the index does not know."""
        found: dict[str, frozenset[str]] = {}
        for term in terms:
            if knows(term) or not term or not all(is_cjk(ch) for ch in term) or _ORDINAL.match(term):
                continue  # 第四 is no 第一
            words = self._containing(term)
            if not words:
                for ch in term:
                    rare = self.by_char.get(ch, set())
                    if 0 < len(rare) <= RARE_CHAR:
                        words |= rare
            if words:
                found[term] = frozenset(sorted(words, key=lambda w: (-self.idf(w), w))[:PER_TERM])
        return found
