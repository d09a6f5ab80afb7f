"""What a rebuild starts from: each document's text, from wherever an intact copy is.

A rebuild never reads the chunk store, the vectors, FAISS or the keyword index,
so damage to any of them cannot stop it. The list of documents comes from the
newest readable manifest (the live version's first). A document's text comes
from the first version that holds an intact copy of the same content (its
checksum matches that version's manifest), else from its source file when that
still has the same content hash. A document found in neither is *lost*: the
rebuild goes on without it and reports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from index.store import DocRecord, file_sha256, pointer_name, read_manifest, versions
from ingest.loaders import load_file
from ragchat.errors import CorruptIndexError, IndexNotFoundError, RagchatError


@dataclass
class Recovered:
    """The documents of a damaged or rebuilt index, with their texts."""

    records: dict[str, DocRecord]
    texts: dict[str, str]
    manifest: dict[str, Any]  # the manifest the records came from
    lost: list[tuple[str, str]] = field(default_factory=list)  # (source, why)
    note: str = ""  # what the recovery could not know


def recover_documents(index_dir: Path) -> Recovered:
    """The documents and texts of the index at ``index_dir`` (which must hold a version).

    Raises :class:`IndexNotFoundError` when there is no version at all and
    :class:`CorruptIndexError` when no version has a readable manifest.
    """
    manifests = _readable_manifests(index_dir)
    if not manifests:
        raise CorruptIndexError(
            f"no version of the index at {index_dir} has a readable manifest; "
            "index the documents again with `ragchat index add PATH`"
        )
    name, first = next(iter(manifests.items()))
    records = {k: DocRecord(**v) for k, v in first.get("documents", {}).items()}
    recovered = Recovered({}, {}, first)
    live = _live_name(index_dir)
    if live in versions(index_dir) and name != live:
        recovered.note = (f"the live version {live} has no readable manifest, so its list of documents came from "
                          f"{name}: add again any document indexed after that")
    for doc_id, rec in records.items():
        text = _stored_text(index_dir, manifests, doc_id, rec.content_hash)
        if text is None:
            text = _source_text(doc_id, rec)
        if text is None:
            recovered.lost.append((rec.source, "its text is damaged in every index version and its source file "
                                               "is missing or has changed; add the file again"))
            continue
        recovered.records[doc_id] = rec
        recovered.texts[doc_id] = text
    return recovered


def _readable_manifests(index_dir: Path) -> dict[str, dict[str, Any]]:
    """Readable manifests by version, the live one first, then newest first."""
    names = list(reversed(versions(index_dir)))
    if not names:
        raise IndexNotFoundError(f"no index at {index_dir}")
    live = _live_name(index_dir)
    if live in names:
        names.remove(live)
        names.insert(0, live)
    found = {}
    for name in names:
        try:
            found[name] = read_manifest(index_dir / name)
        except CorruptIndexError:
            continue
    return found


def _live_name(index_dir: Path) -> str:
    try:
        return pointer_name(index_dir)
    except (IndexNotFoundError, CorruptIndexError):
        return ""


def _stored_text(index_dir: Path, manifests: dict[str, dict[str, Any]], doc_id: str, content_hash: str) -> str | None:
    rel = f"docs/{doc_id}.txt"
    for name, manifest in manifests.items():
        rec = manifest.get("documents", {}).get(doc_id)
        digest = manifest.get("files", {}).get(rel)
        path = index_dir / name / rel
        if not rec or rec.get("content_hash") != content_hash or not digest or not path.is_file():
            continue
        try:
            if file_sha256(path) == digest:
                return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
    return None


def _source_text(doc_id: str, rec: DocRecord) -> str | None:
    try:
        doc = load_file(Path(rec.source))
    except (RagchatError, OSError):
        return None
    return doc.text if doc.doc_id == doc_id and doc.content_hash == rec.content_hash else None
