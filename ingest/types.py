"""The records that ingest hands to the index."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

BlockKind = Literal["heading", "body", "caption"]
ChunkKind = Literal["body", "caption", "outline"]


@dataclass(frozen=True)
class LoadedDocument:
    """A file read into text. ``text`` is what chunk offsets point into."""

    doc_id: str
    source: str
    text: str
    format: str
    encoding: str
    content_hash: str  # sha256 of the file's bytes
    pages: tuple[int, ...] = ()  # offset in ``text`` where each page (or slide) starts; () without pages


@dataclass(frozen=True)
class Block:
    """A cleaned paragraph, heading or caption, with its heading path."""

    kind: BlockKind
    text: str
    spans: tuple[tuple[int, int], ...]
    heading_path: tuple[str, ...] = ()
    level: int = 0  # headings only


@dataclass(frozen=True)
class Chunk:
    """A piece of a document sized for retrieval.

    ``text`` is the cleaned text. ``spans`` are the ranges of the original
    document it came from, in order: normalising ``original[s:e]`` for each
    span and concatenating gives ``text`` (paragraph joins become one newline,
    which sits on the original's own line break). ``start``/``end`` are the
    first and last offsets, for highlighting.
    """

    id: str
    doc_id: str
    source: str
    text: str
    kind: ChunkKind
    heading_path: tuple[str, ...]
    start: int
    end: int
    spans: tuple[tuple[int, int], ...]
    n_tokens: int
    seq: int
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["heading_path"] = list(self.heading_path)
        data["spans"] = [list(s) for s in self.spans]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Chunk":
        data = dict(data)
        data["heading_path"] = tuple(data["heading_path"])
        data["spans"] = tuple(tuple(s) for s in data["spans"])
        data.setdefault("metadata", {})
        return cls(**data)


def chunk_id(doc_id: str, text: str, occurrence: int = 0) -> str:
    """Stable id: a hash of the document id and the chunk text.

    ``occurrence`` tells apart identical texts repeated in one document.
    """
    key = f"{doc_id}\x00{text}" + (f"\x00{occurrence}" if occurrence else "")
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:20]
