"""Read one file into a :class:`LoadedDocument`, by its extension."""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import Callable

from ingest.captured import captured
from ingest.decode import decode_bytes
from ingest.office import csv_text, docx_text, xlsx_text
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
}
REASON_MAX_CHARS = 400  # a skipped file's reason is one line


def doc_id_for(path: Path) -> str:
    """Stable id of a document: its file name and a hash of its absolute path."""
    resolved = str(path.resolve())
    digest = hashlib.sha256(resolved.encode("utf-8")).hexdigest()[:10]
    name = re.sub(r"[^\w.\-]+", "_", path.name)[:60]
    return f"{name}-{digest}"


def load_file(path: Path, max_bytes: int | None = None) -> LoadedDocument:
    """Read ``path``; raises a :class:`DocumentError` subclass naming the file."""
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
    text, encoding = _extract(fmt, data, path)
    return LoadedDocument(
        doc_id=doc_id_for(path),
        source=str(path),
        text=text,
        format=fmt,
        encoding=encoding,
        content_hash=hashlib.sha256(data).hexdigest(),
    )


def _plain(data: bytes, path: Path) -> tuple[str, str]:
    return decode_bytes(data, path)


def _html(data: bytes, path: Path) -> tuple[str, str]:
    text, encoding = decode_bytes(data, path)
    return web_page_text(text), encoding


def _pdf(data: bytes, path: Path) -> tuple[str, str]:
    if not data.strip():
        raise EmptyDocumentError(path)
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedDocumentError(path, f"PDF: {exc}") from None
    # Pages are separated by a blank line; broken sentences are rejoined later.
    return "\n\n".join(p.strip("\n") for p in pages), "pdf"


_EXTRACTORS: dict[str, Callable[[bytes, Path], tuple[str, str]]] = {
    "text": _plain,
    "markdown": _plain,
    "html": _html,
    "pdf": _pdf,
    "docx": docx_text,
    "xlsx": xlsx_text,
    "csv": csv_text,
}


def _extract(fmt: str, data: bytes, path: Path) -> tuple[str, str]:
    """Run the format's extractor: the one safety net of every format. Any exception in it
    becomes a :class:`MalformedDocumentError` naming the file and the format, so a batch
    skips the file and goes on; what the libraries warned or logged meanwhile is added to
    the reason instead of being printed (and dropped when the file loads)."""
    with captured() as said:
        try:
            text, encoding = _EXTRACTORS[fmt](data, path)
            if not text.strip():
                raise EmptyDocumentError(path)
            return text, encoding
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
