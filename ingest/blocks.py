"""Clean a document into blocks: headings, body paragraphs and captions.

Newspaper text extracted from a page layout breaks sentences at page ends and
drops photo captions in the middle of them. This module:

1. cuts the text into paragraphs at blank lines (lines of one paragraph are
   joined; no space between Chinese characters);
2. tells captions (``发展中的四平。李敬元 摄``) and headings (title lines,
   ``一、…``, ``（一）…``, ``——…。`` lead sentences, Markdown ``#``) from body;
3. rejoins a body paragraph that stops mid-sentence with the next body
   paragraph, across any captions in between;
4. gives every block the path of headings above it.

All text is a :class:`MappedText`, so every character keeps its offset into
the original document.
"""

from __future__ import annotations

import re

import numpy as np

from ingest.charclass import SENTENCE_END, ends_sentence, is_cjk
from ingest.mapped import MappedText
from ingest.normalize import normalize_text
from ingest.types import Block

TITLE_MAX_CHARS = 40
CAPTION_MAX_CHARS = 120

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v\u3000]*\n")
_MARKDOWN = re.compile(r"^(#{1,6})\s+\S")
_CN_NUM = "一二三四五六七八九十百零〇两"
_NUMBERED = [
    (re.compile(rf"^第[{_CN_NUM}\d]+[章部篇]"), 2),
    (re.compile(rf"^第[{_CN_NUM}\d]+节"), 3),
    (re.compile(rf"^[{_CN_NUM}]+[、．.]"), 3),
    (re.compile(rf"^[（(][{_CN_NUM}]+[）)]"), 4),
    (re.compile(r"^\d{1,2}[、．.]\s*\D"), 5),
    (re.compile(r"^[（(]\d{1,2}[）)]"), 6),
]
_DASH = re.compile(r"^(?:——|--|—)")
_CAPTION = re.compile(
    r"(?:[\u4e00-\u9fff·]{2,6}\s*(?:摄影?|供图|制图)|(?:图片来源|图源|图/|Photo(?: by)?:?)\s*\S+)\s*[)）]?$"
)
_DATELINE = re.compile(r"^(?:本报讯|本报[\u4e00-\u9fff]{0,4}电|新华社[\u4e00-\u9fff]{0,6}电)")
_LIST_ITEM = re.compile(r"^(?:[-*+•·]|\d+[.)])\s")


def paragraphs(original: str) -> list[MappedText]:
    """Paragraphs at blank lines, with their lines joined and text normalised."""
    normalised = normalize_text(original)  # 1:1, so offsets hold for both
    bounds = [0]
    for match in _BLANK_LINE.finditer(normalised):
        bounds += [match.start(), match.end()]
    bounds.append(len(normalised))
    result = []
    for start, end in zip(bounds[0::2], bounds[1::2]):
        for piece in _split_strong_headings(_join_lines(normalised, start, end)):
            piece = piece.strip()
            if piece.text:
                result.append(piece)
    return result


def _join_lines(original: str, start: int, end: int) -> MappedText:
    """Join the lines of one paragraph: nothing between Chinese characters,
    one space (the line break itself, as a space) between other words."""
    parts: list[MappedText] = []
    pos = start
    while pos < end:
        nl = original.find("\n", pos, end)
        line_end = end if nl == -1 else nl
        line = MappedText.from_original(original, pos, line_end).strip()
        if line.text:
            if parts and not (is_cjk(parts[-1].text[-1]) or is_cjk(line.text[0])):
                parts.append(_gap(" ", line))
            elif parts and _starts_strong_heading(line.text):
                parts.append(_gap("\n", line))
            parts.append(line)
        pos = line_end + 1
    return MappedText.join(parts)


def _gap(char: str, line: MappedText) -> MappedText:
    """A separator that sits on the line break just before ``line``."""
    newline = int(line.offsets[0]) - 1
    return MappedText(char, np.array([newline], dtype=np.int64))


def _joint(left: MappedText, right: MappedText) -> MappedText:
    """Nothing between Chinese text; a space (on the break itself) between words."""
    if is_cjk(left.text[-1]) or is_cjk(right.text[0]):
        return MappedText.empty()
    return MappedText(" ", np.array([left.end], dtype=np.int64))


def _split_strong_headings(mt: MappedText) -> list[MappedText]:
    """Lines that are headings (PDF text has no blank lines) become paragraphs."""
    if "\n" not in mt.text:
        return [mt]
    pieces, start = [], 0
    for i, ch in enumerate(mt.text):
        if ch == "\n":
            pieces.append(mt[start:i])
            start = i + 1
    pieces.append(mt[start:])
    return pieces


def _starts_strong_heading(line: str) -> bool:
    return _heading_level(line, allow_title=False) is not None


def is_caption(text: str) -> bool:
    return len(text) <= CAPTION_MAX_CHARS and bool(_CAPTION.search(text))


def _has_sentence_end(text: str) -> bool:
    return any(ch in SENTENCE_END for ch in text)


def _heading_level(text: str, allow_title: bool) -> int | None:
    """The level of a heading paragraph, or None for body text."""
    match = _MARKDOWN.match(text)
    if match:
        return len(match.group(1))
    if len(text) > TITLE_MAX_CHARS * 2 or _has_sentence_end(text.rstrip("。")):
        return None
    for pattern, level in _NUMBERED:
        if pattern.match(text):
            return level
    if ends_sentence(text):
        return None
    if allow_title and len(text) <= TITLE_MAX_CHARS and not _LIST_ITEM.match(text):
        if not text.endswith(("，", ",", "、", "：", ":")):
            return 0  # a title line; its level depends on its place
    return None


def _dash_heading(mt: MappedText) -> tuple[MappedText, MappedText] | None:
    """``——坚决交上落实殷切嘱托高分答卷。坚持…`` → (heading, rest of the body)."""
    if not _DASH.match(mt.text):
        return None
    end = mt.text.find("。")
    if end == -1 or end > TITLE_MAX_CHARS:
        return None
    return mt[:end], mt[end + 1 :].strip()


def parse_blocks(original: str, title_lines: bool = True, rejoin: bool = True) -> list[Block]:
    """Clean ``original`` into blocks in reading order, with heading paths.

    ``title_lines``: short lines without a sentence end are titles (plain text
    and PDF; off where headings are marked, as in Markdown, DOCX and HTML).
    ``rejoin``: a paragraph that stops mid-sentence continues in the next one
    (off where paragraphs are real, as in DOCX and HTML).
    """
    paras = paragraphs(original)
    stack: list[tuple[int, str]] = []
    blocks: list[Block] = []
    pending_captions: list[MappedText] = []
    open_body: MappedText | None = None  # a body paragraph that stopped mid-sentence
    title_run = 0  # consecutive title lines; the first ones of a document are levels 1 and 2
    seen_body = False

    def path() -> tuple[str, ...]:
        return tuple(text for _, text in stack)

    def emit_body(mt: MappedText) -> None:
        blocks.append(Block("body", mt.text, mt.spans(), path()))

    def flush_captions() -> None:
        for cap in pending_captions:
            blocks.append(Block("caption", cap.text, cap.spans(), path()))
        pending_captions.clear()

    def push_heading(mt: MappedText, level: int) -> None:
        while stack and stack[-1][0] >= level:
            stack.pop()
        if _MARKDOWN.match(mt.text):
            mt = mt[len(mt.text) - len(mt.text.lstrip("#")):].strip()
        stack.append((level, mt.text))
        blocks.append(Block("heading", mt.text, mt.spans(), path()[:-1], level))

    for mt in paras:
        text = mt.text
        if is_caption(text):
            pending_captions.append(mt)
            continue
        strong = _heading_level(text, allow_title=False)
        if open_body is not None and strong is None:
            mt = open_body + _joint(open_body, mt) + mt  # rejoin a sentence broken by a page or a caption
            open_body = None
            text = mt.text
        elif open_body is not None:
            emit_body(open_body)
            open_body = None
        level = _heading_level(text, allow_title=title_lines)
        if level is not None:
            flush_captions()
            if level == 0:
                level = (1 if title_run == 0 else 2) if not seen_body else (3 if title_run == 0 else 4)
                title_run += 1
            else:
                title_run = 0
            push_heading(mt, level)
            continue
        title_run = 0
        if _DATELINE.match(text):  # a new article: its sections start afresh
            while stack and stack[-1][0] >= 3:
                stack.pop()
        dash = _dash_heading(mt)
        if dash is not None:
            flush_captions()
            push_heading(dash[0], 3)
            mt = dash[1]
            if not mt.text:
                continue
        seen_body = True
        if rejoin and not ends_sentence(mt.text):
            open_body = mt
            continue
        emit_body(mt)
        flush_captions()
    if open_body is not None:
        emit_body(open_body)
    flush_captions()
    return blocks
