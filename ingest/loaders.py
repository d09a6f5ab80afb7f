"""Read one file into a :class:`LoadedDocument`, by its extension."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Callable

from ingest.captured import captured
from ingest.decode import decode_bytes
from ingest.images import image_pages
from ingest.office import csv_text, docx_text, xlsx_text
from ingest.pages import PagedText
from ingest.pdf import pdf_pages
from ingest.slides import pptx_pages
from ingest.types import LoadedDocument
from ingest.web import web_page_text
from ragchat.errors import (
    DocumentError,
    EmptyDocumentError,
    FileTooLargeError,
    MalformedDocumentError,
    UnreadableFileError,
    UnsupportedFileTypeError,
)

FORMATS = {
    ".txt": "text",
    ".text": "text",
    ".md": "markdown",
    ".markdown": "markdown",
    ".html": "html",
    ".htm": "html",
    ".pdf": "pdf",
    ".docx": "docx",
    ".xlsx": "xlsx",
    ".csv": "csv",
    ".pptx": "pptx",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
}
REASON_MAX_CHARS = 400  # a skipped file's reason is one line


def doc_id_for(path: Path) -> str:
    """Stable id of a document: its file name and a hash of its absolute path."""
    resolved = str(path.resolve())
    digest = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:10]
    name = re.sub(r"[^\w.\-]+", "_", path.name)[:60]
    return f"{name}-{digest}"


def load_file(path: Path, max_bytes: int | None = None, progress: bool = False) -> LoadedDocument:
    """Read ``path``; raises a :class:`DocumentError` subclass naming the file.
    ``progress``: show a bar per page while pages are recognised (OCR)."""
    path = Path(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UnsupportedFileTypeError(path, f"'{path.suffix or '(none)'}'; known: {', '.join(sorted(FORMATS))}")
    try:
        size = path.stat().st_size
        if max_bytes is not None and size > max_bytes:
            raise FileTooLargeError(path, f"{size / 2**20:.1f} MiB > {max_bytes / 2**20:.1f} MiB")
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableFileError(path, exc.strerror or str(exc)) from None
    paged = _extract(fmt, data, path, progress)
    return LoadedDocument(
        doc_id=doc_id_for(path),
        source=str(path),
        text=paged.text,
        format=fmt,
        encoding=paged.encoding,
        content_hash=hashlib.sha256(data).hexdigest(),
        pages=paged.pages,
    )


def _plain(data: bytes, path: Path) -> tuple[str, str]:
    return decode_bytes(data, path)


def _html(data: bytes, path: Path) -> tuple[str, str]:
    text, encoding = decode_bytes(data, path)
    return web_page_text(text), encoding


_EXTRACTORS: dict[str, Callable[[bytes, Path], tuple[str, str]]] = {
    "text": _plain,
    "markdown": _plain,
    "html": _html,
    "docx": docx_text,
    "xlsx": xlsx_text,
    "csv": csv_text,
}

# Formats with pages (or slides): their texts keep where each page starts.
_PAGED: dict[str, Callable[[bytes, Path, bool], PagedText]] = {
    "pdf": pdf_pages,
    "image": image_pages,
    "pptx": pptx_pages,
}


def _extract(fmt: str, data: bytes, path: Path, progress: bool) -> PagedText:
    """Run the format's extractor: the one safety net of every format. Any exception in it
    becomes a :class:`MalformedDocumentError` naming the file and the format, so a batch
    skips the file and goes on; what the libraries warned or logged meanwhile is added to
    the reason instead of being printed (and dropped when the file loads)."""
    with captured() as said:
        try:
            if fmt in _PAGED:
                paged = _PAGED[fmt](data, path, progress)
            else:
                paged = PagedText(*_EXTRACTORS[fmt](data, path), pages=())
            if not paged.text.strip():
                raise EmptyDocumentError(path)
            return paged
        except DocumentError as exc:
            error = exc
        except Exception as exc:  # noqa: BLE001 - a damaged file may make a library raise anything
            error = MalformedDocumentError(path, _one_line(f"{fmt.upper()}: {type(exc).__name__}: {exc}"))
        if said.lines():
            error = type(error)(error.path, _one_line("; ".join(filter(None, [error.detail, *said.lines()]))))
    raise error from None


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_MAX_CHARS else text[: REASON_MAX_CHARS - 1] + "…"
