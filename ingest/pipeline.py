"""Ingest files into chunks: discover, load, clean, split; bad files are skipped."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable

from ingest.blocks import parse_blocks
from ingest.loaders import FORMATS, load_file
from ingest.pages import pages_of_spans
from ingest.split import split_blocks
from ingest.tokens import get_counter
from ingest.types import Chunk, LoadedDocument
from ragchat.errors import (DocumentError, EmptyDocumentError, InputNotFoundError, UnreadableFileError,
                            UnsupportedFileTypeError)
from ragchat.settings import ChunkingSettings, IngestSettings


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str
    error: str  # the error class name


@dataclass
class IngestResult:
    documents: list[LoadedDocument] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def n_tokens(self) -> int:
        return sum(c.n_tokens for c in self.chunks)


def ingest_document(doc: LoadedDocument, chunking: ChunkingSettings) -> list[Chunk]:
    """Clean and split one loaded document. :class:`EmptyDocumentError` when nothing is left
    to index (only markup, or only invisible characters)."""
    marked = doc.format in ("markdown", "docx", "html", "xlsx", "csv", "pptx")  # headings are marked up
    # Paragraphs (and table rows) are real in these: no sentence runs on into the next one.
    blocks = parse_blocks(doc.text, title_lines=not marked,
                          rejoin=doc.format not in ("docx", "html", "xlsx", "csv", "pptx"))
    chunks = split_blocks(blocks, doc.text, doc.doc_id, doc.source, chunking, get_counter(chunking.encoding))
    if not chunks:
        raise EmptyDocumentError(doc.source, "nothing is left after cleaning")
    if doc.pages:
        chunks = [replace(c, metadata={**c.metadata, "pages": pages_of_spans(doc.pages, c.spans)}) for c in chunks]
    return chunks


def require_inputs(paths: Iterable[Path | str]) -> None:
    """Raise :class:`InputNotFoundError` naming every path that does not exist. The commands
    check their inputs first: a mistyped path stops the job before anything is read or changed."""
    missing = [str(p) for p in paths if not Path(p).exists()]
    if missing:
        raise InputNotFoundError(f"no such file or folder: {', '.join(missing)}; nothing was done")


def discover(paths: Iterable[Path | str], ingest: IngestSettings) -> tuple[list[Path], list[Skipped]]:
    """Files named or found under folders, filtered by extension, sorted, unique."""
    files: list[Path] = []
    skipped: list[Skipped] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            pattern = "**/*" if ingest.recursive else "*"
            found = sorted(
                p for p in path.glob(pattern)
                if p.is_file() and p.suffix.lower() in ingest.extensions and not _hidden(p, path)
            )
            files += found
        elif path.is_file():
            if path.suffix.lower() not in ingest.extensions:
                error = UnsupportedFileTypeError(path, f"'{path.suffix or '(none)'}' is not in ingest.extensions")
                skipped.append(Skipped(str(path), str(error), type(error).__name__))
            else:
                files.append(path)
        else:
            error = UnreadableFileError(path, "no such file or folder")
            skipped.append(Skipped(str(path), str(error), type(error).__name__))
    unique = list(dict.fromkeys(p.resolve() for p in files))
    return unique, skipped


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def ingest_paths(
    paths: Iterable[Path | str],
    ingest: IngestSettings,
    chunking: ChunkingSettings,
    progress: bool = False,
) -> IngestResult:
    """Ingest every file; a bad file is recorded in ``skipped`` and the rest go on."""
    files, skipped = discover(paths, ingest)
    result = IngestResult(skipped=skipped)
    max_bytes = int(ingest.max_file_mb * 2**20)
    iterator: Iterable[Path] = files
    if progress:
        from tqdm import tqdm

        iterator = tqdm(files, desc="ingest", unit="file", file=sys.stderr, dynamic_ncols=True)
    for path in iterator:
        try:
            doc = load_file(path, max_bytes=max_bytes, progress=progress)
            chunks = ingest_document(doc, chunking)
        except DocumentError as exc:
            result.skipped.append(Skipped(str(path), str(exc), type(exc).__name__))
            continue
        result.documents.append(doc)
        result.chunks += chunks
    return result


__all__ = ["FORMATS", "IngestResult", "Skipped", "discover", "ingest_document", "ingest_paths", "require_inputs"]
