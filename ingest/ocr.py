"""Offline OCR of page images, in reading order.

The engine is RapidOCR with the PP-OCRv4 Chinese detection and recognition
models that ship inside the ``rapidocr-onnxruntime`` wheel (nothing is
downloaded); it is loaded once per process, on first use.

Reading order: boxes are grouped into lines by their vertical overlap and each
line is read left to right. A page with two columns (a vertical gutter that no
narrow box crosses) is read column by column, in bands between the lines that
span both columns (a title over two columns). A short line, or a gap larger
than a line, ends a paragraph: a blank line follows it, as between paragraphs
of a text file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ingest.charclass import is_cjk_or_punct

_LOCK = threading.Lock()  # one recognition at a time: the engine uses every core


@dataclass(frozen=True)
class Box:
    """One recognised text line fragment, in page pixels."""

    x0: float
    y0: float
    x1: float
    y1: float
    text: str

    @property
    def height(self) -> float:
        return self.y1 - self.y0


@lru_cache(maxsize=1)
def _engine():
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(use_cls=False)  # pages are upright; the angle classifier flipped whole lines


def recognise(image) -> str:
    """The text of a page image (a Pillow image), in reading order."""
    rgb = np.asarray(image.convert("RGB"))
    with _LOCK:
        result, _ = _engine()(rgb)
    boxes = [
        Box(min(p[0] for p in quad), min(p[1] for p in quad), max(p[0] for p in quad), max(p[1] for p in quad),
            text.strip())
        for quad, text, _score in (result or [])
        if text.strip()
    ]
    return reading_order(boxes)


def reading_order(boxes: list[Box]) -> str:
    """The boxes' text: columns, then lines top to bottom, each left to right."""
    if not boxes:
        return ""
    gutter = _gutter(boxes)
    if gutter is None:
        return _paragraphs(_lines(boxes))
    spanning = sorted((b for b in boxes if b.x0 < gutter < b.x1), key=lambda b: b.y0)
    parts: list[str] = []
    top = float("-inf")
    for bottom in [b.y0 for b in spanning] + [float("inf")]:
        band = [b for b in boxes if not b.x0 < gutter < b.x1 and top <= (b.y0 + b.y1) / 2 < bottom]
        for column in ([b for b in band if b.x1 <= gutter], [b for b in band if b.x0 >= gutter]):
            if column:
                parts.append(_paragraphs(_lines(column)))
        crossing = [b for b in spanning if b.y0 == bottom]
        if crossing:
            parts.append(_paragraphs(_lines(crossing)))
        top = bottom
    return "\n\n".join(p for p in parts if p)


def _gutter(boxes: list[Box]) -> float | None:
    """The x of the gutter between two columns, if the page has two: at least three boxes
    on each side of it and at most a quarter as many crossing it (titles over both columns)."""
    best: tuple[int, int, float] | None = None  # (crossing, -smaller side, x)
    for x in sorted({b.x1 for b in boxes}):
        left = sum(1 for b in boxes if b.x1 <= x)
        right = sum(1 for b in boxes if b.x0 > x)
        crossing = len(boxes) - left - right
        if min(left, right) >= 3 and crossing * 4 <= left + right:
            key = (crossing, -min(left, right), x)
            best = key if best is None or key < best else best
    if best is None:
        return None
    x = best[2]
    return (x + min(b.x0 for b in boxes if b.x0 > x)) / 2


def _lines(boxes: list[Box]) -> list[list[Box]]:
    """Boxes grouped into lines (vertical overlap of half the smaller height), top to bottom."""
    lines: list[list[Box]] = []
    for box in sorted(boxes, key=lambda b: (b.y0 + b.y1) / 2):
        if lines:
            line = lines[-1]
            top, bottom = min(b.y0 for b in line), max(b.y1 for b in line)
            overlap = min(bottom, box.y1) - max(top, box.y0)
            if overlap > 0.5 * min(bottom - top, box.height):
                line.append(box)
                continue
        lines.append([box])
    return [sorted(line, key=lambda b: b.x0) for line in lines]


def _paragraphs(lines: list[list[Box]]) -> str:
    """Lines as text; a blank line after a line that ends short or before a wide gap."""
    if not lines:
        return ""
    right = max(b.x1 for line in lines for b in line)
    heights = sorted(b.height for line in lines for b in line)
    height = heights[len(heights) // 2]
    out: list[str] = []
    for i, line in enumerate(lines):
        out.append(_join(line))
        if i + 1 < len(lines):
            short = line[-1].x1 < right - 2 * height
            gap = min(b.y0 for b in lines[i + 1]) - max(b.y1 for b in line) > height
            out.append("\n\n" if short or gap else "\n")
    return "".join(out)


def _join(line: list[Box]) -> str:
    text = line[0].text
    for box in line[1:]:
        cjk = is_cjk_or_punct(text[-1]) and is_cjk_or_punct(box.text[0])
        text += ("" if cjk else " ") + box.text
    return text
