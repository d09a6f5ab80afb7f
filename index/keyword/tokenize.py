"""Tokens for the BM25 side of retrieval: jieba words, whole numbers with units, learned terms.

``KeywordTokenizer(terms).tokenize(text)`` turns a chunk or a question into index terms:

- the text is normalised first (:func:`normalize`): NFKC (full width → half width),
  lower case, every punctuation mark or symbol becomes a space except the few that
  live inside numbers (``. , % ‰ + - /``);
- a number with its magnitude and unit is one token, and its bare number a second
  one: ``131.7万头`` → ``131.7万头 131.7万 131.7``; ``5.3%`` → ``5.3% 5.3``;
  ``12000余人`` → ``12000余人 12000``; ``4+3`` stays whole; dates stay whole and also
  give their parts: ``2023年8月3日`` → ``2023年8月3日 2023年8月 8月3日 2023年 8月 3日 2023``;
  ``2023-08-03`` gives the same tokens;
- Latin words are lower-cased whole words (``gdp``);
- the Chinese in between is cut by jieba (``cut_for_search`` by default, which also
  emits the 2- and 3-character dictionary words inside longer words);
- stopwords (a short Chinese and English list, question words included) are dropped.

Corpus terms in Chinese quotes (“梨树模式”, 《…》, 「…」) are collected by
:func:`learn_terms` and added to this tokenizer's own jieba dictionary so they are
never split; save them with the index and pass the same terms at query time.

jieba is imported lazily and stays quiet: its dictionary is loaded by this module
(no log lines, no cache file in /tmp); with ``cache_dir`` a marshal cache of the
parsed dictionary is kept there. Learned terms are added without changing jieba's
total frequency, so they only change how text that contains them is cut.
"""

from __future__ import annotations

import hashlib
import logging
import marshal
import os
import re
import tempfile
import threading
import unicodedata
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

from ingest.quantity import APPROX, INDEX_UNITS, ISO_DATE, MAGNITUDE, MD_DATE, NUMBER, PLUS, YMD_DATE, alternation

JiebaMode = Literal["search", "default"]

# Bump when the rules below change: an index built with other rules must be rebuilt.
TOKENIZER_VERSION = 1

TERM_MIN_CHARS = 2
TERM_MAX_CHARS = 12

STOPWORDS_ZH: frozenset[str] = frozenset(
    """
    的 地 得 了 着 过 和 与 及 以及 或 或者 跟 同 是 在 于 对 对于 从 把 被 将 为 以 由 向 给
    而 且 并 也 都 就 又 还 则 之 其 这 那 这个 那个 这些 那些 这里 那里 这样 那样 此 该 各 每
    吗 呢 吧 啊 呀 么 嘛 哦 哪 哪些 哪个 哪里 哪儿 哪年 哪天 哪位 哪家 哪种 多少 几 几个 多久 多大
    什么 什么样 啥 怎么 怎样 怎么样 如何 为什么 为何 谁 何 何时 何地 是否 是不是 有没有 能否
    要 会 能 可以 应 应该 请问 请 一下 告诉 我 你 他 她 它 我们 你们 他们 她们 它们 等 等等 有 没有 个
    """.split()
)

STOPWORDS_EN: frozenset[str] = frozenset(
    """
    a an the of and or to in on at by for with from as into about is are was were be been being
    it its this that these those what which who whom whose when where why how do does did done
    not no can could will would should shall may might must has have had i you he she we they
    me my your our their his her them us there here than then so if
    """.split()
)

STOPWORDS: frozenset[str] = STOPWORDS_ZH | STOPWORDS_EN

# --- normalisation -------------------------------------------------------------

# Punctuation that can be part of a number token survives normalisation.
_KEEP_PUNCT = frozenset(".,%‰+-/")


def _is_separator(ch: str) -> bool:
    if ch in _KEEP_PUNCT:
        return False
    category = unicodedata.category(ch)
    return category[0] in "PSZC"


class _SeparatorTable(dict[int, str]):
    """``str.translate`` table: separators → space, other characters to themselves (memoised)."""

    def __missing__(self, code: int) -> str:
        value = " " if _is_separator(chr(code)) else chr(code)
        self[code] = value
        return value


_SEPARATORS = _SeparatorTable()


def normalize(text: str) -> str:
    """NFKC, lower case, punctuation/symbols/controls → one space, spaces collapsed."""
    text = unicodedata.normalize("NFKC", text).lower().translate(_SEPARATORS)
    return " ".join(text.split())


# --- learned terms -------------------------------------------------------------

_QUOTED = re.compile(r"“([^“”\n]+)”|「([^「」\n]+)」|『([^『』\n]+)』|《([^《》\n]+)》|〈([^〈〉\n]+)〉|\"([^\"\n]+)\"")
_CJK_ONLY = re.compile(r"[\u4e00-\u9fd5]+")  # the characters jieba segments


def learn_terms(texts: Iterable[str], *, min_chars: int = TERM_MIN_CHARS, max_chars: int = TERM_MAX_CHARS) -> list[str]:
    """Terms quoted in the texts (“…” 「…」 『…』 《…》 〈…〉 "…"), sorted and unique.

    Only all-Chinese terms of ``min_chars``–``max_chars`` characters are kept: numbers
    and Latin words are whole tokens anyway, and a quote with punctuation inside is a
    phrase, not a name.
    """
    found: set[str] = set()
    for text in texts:
        for match in _QUOTED.finditer(unicodedata.normalize("NFKC", text)):
            term = next(group for group in match.groups() if group is not None).strip()
            if min_chars <= len(term) <= max_chars and _CJK_ONLY.fullmatch(term) and term not in STOPWORDS:
                found.add(term)
    return sorted(found)


# --- numbers, dates and Latin words ----------------------------------------------

_UNIT = alternation(INDEX_UNITS)
_LATIN = r"0-9a-z\u00df-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff"
_LATIN_LETTER = r"a-z\u00df-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff"

_WORD_PATTERN = rf"(?P<word>[{_LATIN}]*[{_LATIN_LETTER}][{_LATIN}]*)"
# Numbers, dates and sums: the grammar of ingest.quantity, with the units of index version 1.
_UNIT_PATTERNS = (
    ISO_DATE,
    YMD_DATE,
    MD_DATE,
    PLUS,
    rf"(?P<num>(?P<n>{NUMBER})(?P<mag>{MAGNITUDE})?"
    rf"(?:(?P<approx>{APPROX})(?=(?:{_UNIT})))?(?P<unit>{_UNIT})?)",
)
_WORDS_ONLY = re.compile(_WORD_PATTERN)
_WORDS_AND_UNITS = re.compile("|".join((_WORD_PATTERN, *_UNIT_PATTERNS)))
_DIGITS_THEN_LETTERS = re.compile(r"(\d+(?:\.\d+)?)[a-z]+")


def _date_tokens(year: str | None, month: str, day: str | None) -> list[str]:
    y, m, d = (str(int(part)) if part else None for part in (year, month, day))
    tokens: list[str] = []
    if y and d:
        tokens.append(f"{y}年{m}月{d}日")
    if y:
        tokens.append(f"{y}年{m}月")
    if d:
        tokens.append(f"{m}月{d}日")
    if y:
        tokens.append(f"{y}年")
    tokens.append(f"{m}月")
    if d:
        tokens.append(f"{d}日")
    if y:
        tokens.append(y)
    return tokens


def special_tokens(match: re.Match[str]) -> list[str]:
    """The tokens of one number, date, ``4+3`` or Latin-word match of the token pattern."""
    groups = match.groupdict()
    if groups.get("word"):
        word = groups["word"]
        if word in STOPWORDS:
            return []
        digits = _DIGITS_THEN_LETTERS.fullmatch(word)
        return [word, digits.group(1)] if digits else [word]
    if groups.get("iso"):
        return _date_tokens(groups["iy"], groups["im"], groups["id"])
    if groups.get("ymd"):
        return _date_tokens(groups["y"], groups["m"], groups["d"])
    if groups.get("md"):
        return _date_tokens(None, groups["m2"], groups["d2"])
    if groups.get("plus"):
        return [groups["plus"]]
    number = groups["n"].replace(",", "")
    magnitude = groups["mag"] or ""
    tokens = [number + magnitude + (groups["approx"] or "") + (groups["unit"] or "")]
    if magnitude and groups["unit"]:
        tokens.append(number + magnitude)
    if tokens[0] != number:
        tokens.append(number)
    return tokens


# --- jieba ---------------------------------------------------------------------

_JIEBA_LOCK = threading.Lock()
_BASE_DICTIONARY: dict[str, tuple[dict[str, int], int]] = {}


def _import_jieba() -> ModuleType:
    """Import jieba without its stderr chatter (its logger is set to WARNING)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # jieba imports the deprecated pkg_resources
        import jieba
    logging.getLogger("jieba").setLevel(logging.WARNING)
    module: ModuleType = jieba
    return module


def _read_cache(path: Path) -> tuple[dict[str, int], int] | None:
    try:
        loaded: Any = marshal.loads(path.read_bytes())  # loads(bytes) is ~2x faster than load(file)
    except (OSError, EOFError, ValueError, TypeError):
        return None
    if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[0], dict) and isinstance(loaded[1], int):
        return loaded[0], loaded[1]
    return None


def _write_cache(path: Path, value: tuple[dict[str, int], int]) -> None:
    """Write the cache atomically; a cache that cannot be written only makes the next start slower."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".jieba-", suffix=".tmp")
    except OSError:
        return
    try:
        with os.fdopen(fd, "wb") as handle:
            marshal.dump(value, handle)
        os.replace(tmp, path)
    except OSError:
        Path(tmp).unlink(missing_ok=True)


def base_dictionary(cache_dir: Path | None = None) -> tuple[dict[str, int], int]:
    """jieba's prefix dictionary (word → frequency, total), parsed once per process.

    With ``cache_dir`` it is read from / written to a marshal file there; without it
    nothing is written anywhere. The returned dict is shared: copy before changing it.
    """
    jieba = _import_jieba()
    dict_path = Path(str(jieba.__file__)).with_name("dict.txt")
    with _JIEBA_LOCK:
        key = str(dict_path)
        if key in _BASE_DICTIONARY:
            return _BASE_DICTIONARY[key]
        raw = dict_path.read_bytes()
        cache = None
        if cache_dir is not None:
            digest = hashlib.sha1(raw).hexdigest()[:12]
            cache = Path(cache_dir) / f"jieba-{jieba.__version__}-{digest}.marshal"
        value = _read_cache(cache) if cache is not None else None
        if value is None:
            value = _parse_dictionary(raw)
            if cache is not None:
                _write_cache(cache, value)
        _BASE_DICTIONARY[key] = value
        return value


def _parse_dictionary(raw: bytes) -> tuple[dict[str, int], int]:
    """Same result as ``jieba.Tokenizer.gen_pfdict``: words, their prefixes (0) and the total."""
    freq: dict[str, int] = {}
    total = 0
    for line in raw.decode("utf-8").splitlines():
        parts = line.strip().split(" ")
        if len(parts) < 2:
            continue
        word, count = parts[0], int(parts[1])
        freq[word] = count
        total += count
        for end in range(1, len(word)):
            freq.setdefault(word[:end], 0)
    return freq, total


def _jieba_with_terms(terms: Sequence[str], cache_dir: Path | None) -> Any:
    """A private ``jieba.Tokenizer`` with the base dictionary plus ``terms``."""
    jieba = _import_jieba()
    base_freq, total = base_dictionary(cache_dir)
    tokenizer = jieba.Tokenizer()
    tokenizer.FREQ = dict(base_freq)
    tokenizer.total = total
    tokenizer.initialized = True  # never runs jieba's own initialise (which logs and writes /tmp)
    if cache_dir is not None:
        tokenizer.tmp_dir = str(cache_dir)
    # Every frequency is suggested against the base dictionary, so the result does not
    # depend on the order of the terms; the total is left alone, so text without a
    # learned term is cut exactly as by plain jieba.
    suggested = {term: tokenizer.suggest_freq(term, False) for term in terms}
    for term, count in suggested.items():
        tokenizer.FREQ[term] = max(count, tokenizer.FREQ.get(term) or 0)
        for end in range(1, len(term)):
            tokenizer.FREQ.setdefault(term[:end], 0)
    return tokenizer


@dataclass(frozen=True)
class TokenizerSettings:
    """How text is cut. Persisted with an index; query and index must agree."""

    mode: JiebaMode = "search"
    units: bool = True
    hmm: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "units": self.units, "hmm": self.hmm, "version": TOKENIZER_VERSION}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenizerSettings:
        mode = data.get("mode")
        if mode not in ("search", "default"):
            raise ValueError(f"unknown jieba mode {mode!r}")
        return cls(mode=mode, units=bool(data.get("units", True)), hmm=bool(data.get("hmm", True)))


class KeywordTokenizer:
    """Text → BM25 terms. Deterministic; safe to share between threads once warmed.

    ``terms`` are all-Chinese words to keep whole (see :func:`learn_terms`); numbers and
    Latin words are split off before jieba runs, so terms containing them never match.
    """

    def __init__(
        self,
        terms: Iterable[str] = (),
        settings: TokenizerSettings | None = None,
        *,
        cache_dir: Path | str | None = None,
        stopwords: frozenset[str] = STOPWORDS,
    ) -> None:
        self.terms: tuple[str, ...] = tuple(sorted(set(terms)))
        self.settings = settings or TokenizerSettings()
        self.stopwords = stopwords
        self._cache_dir = Path(cache_dir) if cache_dir is not None else None
        self._jieba: Any = None
        self._lock = threading.Lock()
        self._pattern = _WORDS_AND_UNITS if self.settings.units else _WORDS_ONLY

    def __repr__(self) -> str:
        return f"KeywordTokenizer(terms={len(self.terms)}, settings={self.settings})"

    @property
    def cache_dir(self) -> Path | None:
        """Where jieba's dictionary cache lives (``None``: no cache file)."""
        return self._cache_dir

    def warm(self) -> None:
        """Load the jieba dictionary now rather than on the first call."""
        self._segmenter()

    def _segmenter(self) -> Any:
        if self._jieba is None:
            with self._lock:
                if self._jieba is None:
                    self._jieba = _jieba_with_terms(self.terms, self._cache_dir)
        return self._jieba

    def _cut(self, text: str, out: list[str]) -> None:
        if not text.strip():
            return
        segmenter = self._segmenter()
        if self.settings.mode == "search":
            words = segmenter.cut_for_search(text, HMM=self.settings.hmm)
        else:
            words = segmenter.cut(text, HMM=self.settings.hmm)
        for word in words:
            word = word.strip()
            if word and word not in self.stopwords and any(ch.isalnum() for ch in word):
                out.append(word)

    def tokenize(self, text: str) -> list[str]:
        """The BM25 terms of ``text``, in text order (repeats kept: they are term frequency)."""
        norm = normalize(text)
        out: list[str] = []
        position = 0
        for match in self._pattern.finditer(norm):
            self._cut(norm[position : match.start()], out)
            out.extend(special_tokens(match))
            position = match.end()
        self._cut(norm[position:], out)
        return out

    def tokenize_many(self, texts: Iterable[str]) -> list[list[str]]:
        return [self.tokenize(text) for text in texts]
