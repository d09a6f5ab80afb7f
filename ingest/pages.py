"""Pages of a document: where each page starts in its text, and which pages a range covers.

A document with pages (PDF pages, images, slides) keeps the offset in its
text at which each page starts. A chunk records the pages its spans touch as
``[page, start]`` pairs (page numbers from 1, start offsets in the document
text), so a citation can name the page of any quoted offset.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

PAGE_SEPARATOR = "\n\n"  # a blank line: a page ends a paragraph


@dataclass(frozen=True)
class PagedText:
    """Text made of pages; ``pages[i]`` is the offset in ``text`` where page i + 1 starts."""

    text: str
    encoding: str
    pages: tuple[int, ...]


def join_pages(texts: list[str], encoding: str) -> PagedText:
    """The pages' texts joined by a blank line, with the offset of each page."""
    parts: list[str] = []
    starts: list[int] = []
    pos = 0
    for text in texts:
        if parts:
            parts.append(PAGE_SEPARATOR)
            pos += len(PAGE_SEPARATOR)
        starts.append(pos)
        parts.append(text)
        pos += len(text)
    return PagedText("".join(parts), encoding, tuple(starts))


def pages_of_spans(pages: tuple[int, ...], spans: tuple[tuple[int, int], ...]) -> list[list[int]]:
    """The ``[page, start]`` pairs of the pages from the first to the last that ``spans`` touch."""
    if not pages or not spans:
        return []
    first = _page_index(pages, spans[0][0])
    last = _page_index(pages, spans[-1][1] - 1)
    return [[i + 1, pages[i]] for i in range(first, last + 1)]


def page_at(pairs, offset: int) -> int | None:
    """The page (from ``[page, start]`` pairs, as a chunk keeps them) holding ``offset``."""
    found = None
    for page, start in pairs:
        if start > offset:
            break
        found = page
    return found if found is not None else (pairs[0][0] if pairs else None)


def _page_index(pages: tuple[int, ...], offset: int) -> int:
    return max(bisect_right(pages, offset) - 1, 0)
