"""PowerPoint (.pptx) to paged text: one page per slide, in order.

Each slide gives its title as a Markdown heading, then the text frames and
table cells of its other shapes in the slide's shape order (one table row a
line, cells joined by `` | ``). The slide number is kept like a page number.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ingest.pages import PagedText, join_pages
from ragchat.errors import EmptyDocumentError, MalformedDocumentError


def pptx_pages(data: bytes, path: Path, progress: bool = False) -> PagedText:
    if not data.strip():
        raise EmptyDocumentError(path)
    from lxml.etree import XMLSyntaxError
    from pptx import Presentation
    from pptx.exc import PackageNotFoundError

    try:
        deck = Presentation(io.BytesIO(data))
        return join_pages([_slide_text(slide) for slide in deck.slides], "pptx")
    except (zipfile.BadZipFile, PackageNotFoundError, KeyError, ValueError, XMLSyntaxError) as exc:
        raise MalformedDocumentError(path, f"PPTX: {exc}") from None


def _slide_text(slide) -> str:
    parts: list[str] = []
    title = slide.shapes.title
    if title is not None and title.has_text_frame and title.text_frame.text.strip():
        parts.append("# " + " ".join(title.text_frame.text.split()))
    for shape in _shapes(slide.shapes):
        if title is not None and shape.shape_id == title.shape_id:
            continue
        if shape.has_text_frame:
            parts += [p.text.strip() for p in shape.text_frame.paragraphs if p.text.strip()]
        elif getattr(shape, "has_table", False) and shape.has_table:
            for row in shape.table.rows:
                cells = [cell.text.strip().replace("\n", " ") for cell in row.cells]
                if any(cells):
                    parts.append(" | ".join(cells))
    return "\n\n".join(parts)


def _shapes(shapes):
    """Shapes in the slide's order, groups opened."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)
        else:
            yield shape
