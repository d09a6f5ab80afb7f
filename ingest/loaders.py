"""Read one file into a :class:`LoadedDocument`, by its extension."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Callable

from ingest.decode import decode_bytes
from ingest.html_text import html_to_text
from ingest.images import image_pages
from ingest.pages import PagedText
from ingest.pdf import pdf_pages
from ingest.slides import pptx_pages
from ingest.types import LoadedDocument
from ragchat.errors import (
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
    ".pptx": "pptx",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".tif": "image",
    ".tiff": "image",
}


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
    pages: tuple[int, ...] = ()
    if fmt in _PAGED:
        paged = _PAGED[fmt](data, path, progress)
        text, encoding, pages = paged.text, paged.encoding, paged.pages
    else:
        text, encoding = _EXTRACTORS[fmt](data, path)
    if not text.strip():
        raise EmptyDocumentError(path)
    return LoadedDocument(
        doc_id=doc_id_for(path),
        source=str(path),
        text=text,
        format=fmt,
        encoding=encoding,
        content_hash=hashlib.sha256(data).hexdigest(),
        pages=pages,
    )


def _plain(data: bytes, path: Path) -> tuple[str, str]:
    return decode_bytes(data, path)


def _html(data: bytes, path: Path) -> tuple[str, str]:
    text, encoding = decode_bytes(data, path)
    return html_to_text(text), encoding


def _docx(data: bytes, path: Path) -> tuple[str, str]:
    if not data.strip():
        raise EmptyDocumentError(path)
    import zipfile

    from docx import Document as open_docx

    try:
        document = open_docx(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise MalformedDocumentError(path, f"DOCX: {exc}") from None
    parts: list[str] = []
    for para in document.paragraphs:
        text = para.text.strip()
        if not text:
            continue
        style = (para.style.name or "") if para.style is not None else ""
        match = re.match(r"(?:Heading|标题)\s*(\d)", style)
        if match:
            parts.append("#" * int(match.group(1)) + " " + text)
        elif style == "Title":
            parts.append("# " + text)
        else:
            parts.append(text)
    for table in document.tables:
        for row in table.rows:
            cells = [c.text.strip() for c in row.cells]
            if any(cells):
                parts.append(" | ".join(cells))
    return "\n\n".join(parts), "docx"


_EXTRACTORS: dict[str, Callable[[bytes, Path], tuple[str, str]]] = {
    "text": _plain,
    "markdown": _plain,
    "html": _html,
    "docx": _docx,
}

# Formats with pages (or slides): their texts keep where each page starts.
_PAGED: dict[str, Callable[[bytes, Path, bool], PagedText]] = {
    "pdf": pdf_pages,
    "image": image_pages,
    "pptx": pptx_pages,
}
