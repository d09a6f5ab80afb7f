"""PDF to paged text: each page's text layer, or OCR of the rendered page when it has none.

pypdf's warnings and log messages are captured, never printed: a page whose
content stream cannot be decoded makes the file *damaged*
(:class:`MalformedDocumentError`, with pypdf's message), not empty.
"""

from __future__ import annotations

import io
import logging
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from ingest.pages import PagedText, join_pages
from ingest.progress import pages_progress
from ragchat.errors import EmptyDocumentError, MalformedDocumentError

OCR_DPI = 200  # render scale of a page without text (docs/ingest.md: "PDF, scans and images")


@contextmanager
def captured_messages() -> Iterator[list[str]]:
    """Collect pypdf's log records and warnings instead of printing them."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("pypdf")
    handler, propagate = Collect(logging.WARNING), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield messages
        messages += [str(w.message) for w in caught]
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def pdf_pages(data: bytes, path: Path, progress: bool = False, dpi: int = OCR_DPI) -> PagedText:
    """Each page's text layer; a page without one is rendered at ``dpi`` and recognised."""
    if not data.strip():
        raise EmptyDocumentError(path)
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    texts: list[str] = []
    damaged: list[str] = []
    with captured_messages() as messages:
        try:
            reader = PdfReader(io.BytesIO(data))
            for number, page in enumerate(reader.pages, 1):
                seen = len(messages)
                texts.append((page.extract_text() or "").strip("\n"))
                damaged += [f"page {number}: {m}" for m in messages[seen:] if _is_damage(m)]
        except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, OSError) as exc:
            raise MalformedDocumentError(path, f"PDF: {_with(exc, messages)}") from None
    if damaged:
        raise MalformedDocumentError(path, "PDF: damaged content stream: " + "; ".join(dict.fromkeys(damaged)))
    scanned = [i for i, text in enumerate(texts) if not text.strip()]
    if scanned:
        for i, text in zip(scanned, _ocr(data, path, scanned, progress, dpi)):
            texts[i] = text
    if not any(t.strip() for t in texts) and messages:
        raise EmptyDocumentError(path, "no text; pypdf said: " + "; ".join(dict.fromkeys(messages)))
    return join_pages(texts, "pdf+ocr" if scanned else "pdf")


def _ocr(data: bytes, path: Path, pages: list[int], progress: bool, dpi: int) -> list[str]:
    """The text of the given pages (from 0), rendered at ``dpi`` and recognised."""
    import pypdfium2 as pdfium

    from ingest.ocr import recognise

    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        raise MalformedDocumentError(path, f"PDF: cannot render: {exc}") from None
    try:
        texts = []
        for i in pages_progress(pages, path.name, progress):
            page = document[i]
            image = page.render(scale=dpi / 72, grayscale=True).to_pil()
            page.close()
            texts.append(recognise(image))
        return texts
    finally:
        document.close()


def _is_damage(message: str) -> bool:
    """pypdf's messages for a stream it could not decode: the page's text is lost, not absent."""
    lowered = message.lower()
    return "stream" in lowered or "decompress" in lowered or "decod" in lowered


def _with(exc: Exception, messages: list[str]) -> str:
    return "; ".join(dict.fromkeys([str(exc), *messages]))
