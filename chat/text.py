"""Small text helpers of the answer path: language, numbers with units, sentences."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ingest.charclass import is_cjk
from ingest.quantity import quantities

_ASK_FIGURE = re.compile(r"多少|几|多大|多高|多长|多久|比例|增速|增长了|how (many|much|large|long)|what (percent|share)|percentage", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Lone surrogates: the undecodable bytes of an argv or a file name (surrogateescape). They cannot
# be written as UTF-8, so they become U+FFFD, as a UTF-8 decoder with errors="replace" would make them.
_SURROGATE = re.compile("[\ud800-\udfff]")
# A phrase a question quotes: “三管齐下”, “做强特色产业”.
QUOTED = re.compile(r"[“\"]([^”\"]{2,12})[”\"]")


def language(text: str) -> str:
    """``zh`` when Chinese characters make up a fifth of the letters, else ``en``."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return "zh"
    cjk = sum(1 for ch in letters if is_cjk(ch))
    return "zh" if cjk * 5 >= len(letters) else "en"


def clean_question(text: str) -> str:
    """NFC, control characters removed, lone surrogates replaced by U+FFFD, whitespace
    collapsed. Emoji stay."""
    text = unicodedata.normalize("NFC", _SURROGATE.sub("\ufffd", text))
    text = _CONTROL.sub(" ", text)
    return re.sub(r"\s+", " ", text).strip()


def numbers(text: str) -> list[str]:
    """The figures of ``text`` with their units, normalised (``131.7万头``, ``5.3%``,
    ``三周年``): the grammar of :mod:`ingest.quantity`."""
    return [q.text for q in quantities(text)]


def asks_for_figure(question: str) -> bool:
    return bool(_ASK_FIGURE.search(question))


@lru_cache(maxsize=1)
def _pos_tokenizer():
    """jieba's part-of-speech tagger over the keyword index's base dictionary
    (:mod:`index.keyword.tokenize`): parsed once, quietly, and with no cache file in /tmp."""
    import jieba.posseg

    from index.keyword.tokenize import _jieba_with_terms

    return jieba.posseg.POSTokenizer(_jieba_with_terms((), None))


@lru_cache(maxsize=4096)
def pos_tags(text: str) -> tuple[tuple[str, str], ...]:
    """jieba's words with their part-of-speech tags (``四平/ns``, ``利率/n``), cached."""
    return tuple((w, f) for w, f in _pos_tokenizer().cut(text))


def word_coverage(text: str) -> tuple[float, int]:
    """The share of ``text``'s Chinese characters that belong to a word of two or more characters
    in jieba's dictionary, and the number of Chinese characters. A long question in Chinese is
    mostly such words; characters strung at random are mostly not, even when drawn from the
    report (chat.refusal.RefusalPolicy.min_word_coverage)."""
    n_cjk = sum(1 for ch in text if is_cjk(ch))
    if not n_cjk:
        return 0.0, 0
    tokenizer = _pos_tokenizer().tokenizer
    in_words = sum(len(w) for w in tokenizer.cut(text, HMM=False)
                   if len(w) >= 2 and tokenizer.FREQ.get(w) and all(is_cjk(ch) for ch in w))
    return in_words / n_cjk, n_cjk


def whole_words(terms) -> list[str]:
    """The terms not inside a longer one: the tokenizer also cuts 下半年 as 下半 and 半年, and
    现代农业 as 现代 and 农业; count the word once."""
    terms = list(terms)
    return [t for t in terms if not any(t != u and t in u for u in terms)]


def holds_word(text: str, word: str) -> bool:
    """Whether ``text`` holds ``word`` as the word itself, not as a modifier inside a longer
    one: 标准 is in 最低工资标准 and 产量 in 粮食产量达到, but 标准 is not in 高标准农田
    (高标准 modifies 农田). An occurrence inside a longer word counts when it ends that word
    and no noun follows."""
    at = text.find(word)
    if at < 0:
        return False
    words, spans, pos = pos_tags(text), [], 0
    for w, flag in words:
        spans.append((pos, pos + len(w), flag))
        pos += len(w)
    while at >= 0:
        end = at + len(word)
        inside = next((i for i, (s, e, _) in enumerate(spans) if s <= at and end <= e and e - s > len(word)), None)
        if inside is None:
            return True
        noun_next = inside + 1 < len(spans) and spans[inside + 1][2].startswith("n")
        if spans[inside][1] == end and not noun_next:
            return True
        at = text.find(word, at + 1)
    return False
