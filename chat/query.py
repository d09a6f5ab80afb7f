"""What each side of retrieval searches for, and what the answerer weighs.

The dense side always embeds the question as asked. The keyword side and the
answerer get help the question's own words cannot give:

- an English question's Chinese terms from CC-CEDICT (:mod:`chat.lexicon`),
  searched by keyword and, as a second dense query, by meaning;
- a Chinese question's words the index never saw, matched to index words that
  contain them (:mod:`chat.expand`: 牛 → 肉牛);
- the places it names (:mod:`chat.scope`; in English, through CC-CEDICT:
  ``Siping`` → 四平), which a passage's document must name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chat.expand import SubwordExpander
from chat.extractive import QUESTION_WORDS
from chat.lexicon import cedict
from chat.scope import names
from index.keyword.bm25 import KeywordIndex


@dataclass(frozen=True)
class Query:
    text: str  # the standalone question: what the dense side embeds
    keyword: str | None = None  # what the keyword side searches, when it is not ``text``
    focus: str = ""  # what the answerer and the refusal policy weigh
    chinese: str = ""  # an English question's Chinese terms, for a second dense query
    aliases: dict[str, frozenset[str]] = field(default_factory=dict)  # unknown word → index words
    places: tuple[str, ...] = ()  # places the question names


class QueryBuilder:
    """Builds :class:`Query` objects over one keyword index (its vocabulary is read once, lazily)."""

    def __init__(self, keyword: KeywordIndex, subwords: bool = True) -> None:
        self.keyword = keyword
        self.subwords = subwords
        self._expander: SubwordExpander | None = None

    def build(self, question: str, lang: str) -> Query:
        if lang == "en":
            lexicon = cedict()
            terms = lexicon.translate(question, self.keyword.knows, self.keyword.idf) if lexicon else []
            if not terms:
                return Query(question, focus=question)
            chinese = " ".join(terms)
            with_terms = question + " " + chinese
            places = tuple(names(chinese, self.keyword.knows))  # Siping → 四平
            return Query(question, keyword=with_terms, focus=with_terms, chinese=chinese, places=places)
        aliases = self._subwords(question) if self.subwords else {}
        keyword = question + " " + " ".join(sorted(set().union(*aliases.values()))) if aliases else None
        places = tuple(names(question, self.keyword.knows))
        return Query(question, keyword=keyword, focus=question, aliases=aliases, places=places)

    def _subwords(self, question: str) -> dict[str, frozenset[str]]:
        if self._expander is None:
            self._expander = SubwordExpander(self.keyword.vocabulary(), self.keyword.idf)
        terms = [t for t in self.keyword.tokenizer.tokenize(question) if t not in QUESTION_WORDS]
        return self._expander.expand(terms, self.keyword.knows)
