"""Which indexed document a file being added is: identity by path, content and relative name.

A new document's id hashes the path it was first indexed from
(:func:`ingest.loaders.doc_id_for`), but its path is not its identity: a file
is the same document as an indexed one when, in this order,

1. it is at the indexed document's path (``same``);
2. it has the indexed document's content (SHA-256 of the bytes) and the indexed
   file no longer exists: the document was moved or renamed (``moved``);
3. it has the indexed document's content and file name, and the indexed file
   still exists: it is a copy, not indexed again (``copy``);
4. its relative name (its path under the folder being added; its file name when
   added alone) ends the indexed document's path, the indexed file no longer
   exists, and no other indexed document fits: moved and edited (``moved``).

A moved document keeps its id, chunks and vectors; only its source changes.
docs/ingest.md ("What counts as the same document") says the same for users.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

from index.store import DocRecord

MatchKind = Literal["same", "moved", "copy"]


@dataclass(frozen=True)
class Match:
    doc_id: str
    kind: MatchKind


@dataclass
class _Known:
    source: str
    content_hash: str


class Identities:
    """The indexed documents (and those added so far in this update), matched against new files."""

    def __init__(self, records: dict[str, DocRecord], roots: Iterable[Path]) -> None:
        self._known: dict[str, _Known] = {}
        self._by_source: dict[str, str] = {}
        self._by_hash: dict[str, list[str]] = {}
        for doc_id, rec in records.items():
            self._learn(doc_id, rec.source, rec.content_hash)
        self._roots = [Path(r).resolve() for r in roots if Path(r).is_dir()]
        self._claimed: set[str] = set()  # matched by a file of this update: its source is that file

    def match(self, path: Path, content_hash: str) -> Match | None:
        """The indexed document that the file at ``path`` (resolved) is, or None for a new one."""
        if str(path) in self._by_source:
            return Match(self._by_source[str(path)], "same")
        same_content = [d for d in dict.fromkeys(self._by_hash.get(content_hash, []))
                        if self._known[d].content_hash == content_hash]
        gone = [d for d in same_content if self._gone(d)]
        if gone:
            named = [d for d in gone if Path(self._known[d].source).name == path.name]
            return Match((named or gone)[0], "moved")
        copies = [d for d in same_content if Path(self._known[d].source).name == path.name]
        if copies:
            return Match(copies[0], "copy")
        tail = self._relative_name(path).parts
        renamed = [d for d, k in self._known.items()
                   if Path(k.source).parts[-len(tail):] == tail and self._gone(d)]
        return Match(renamed[0], "moved") if len(renamed) == 1 else None

    def claim(self, doc_id: str, path: Path, content_hash: str) -> None:
        """Record that the file at ``path`` is now document ``doc_id``."""
        self._learn(doc_id, str(path), content_hash)
        self._claimed.add(doc_id)

    def _learn(self, doc_id: str, source: str, content_hash: str) -> None:
        previous = self._known.get(doc_id)
        if previous is not None and self._by_source.get(previous.source) == doc_id:
            del self._by_source[previous.source]  # a new file at the old path is another document
        self._known[doc_id] = _Known(source, content_hash)
        self._by_source[source] = doc_id
        self._by_hash.setdefault(content_hash, []).append(doc_id)

    def fresh_id(self, doc_id: str) -> str:
        """``doc_id``, or a variant of it when a moved document already holds it."""
        n, candidate = 1, doc_id
        while candidate in self._known:
            n += 1
            candidate = f"{doc_id}-{n}"
        return candidate

    def _gone(self, doc_id: str) -> bool:
        return doc_id not in self._claimed and not Path(self._known[doc_id].source).exists()

    def _relative_name(self, path: Path) -> Path:
        for root in self._roots:
            if path.is_relative_to(root):
                return path.relative_to(root)
        return Path(path.name)
