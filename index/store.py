"""The index on disk: versioned folders and an atomic pointer.

::

    <index_dir>/
      CURRENT          the name of the live version, replaced atomically
      .lock            the writer lock (see index.lock)
      .lock.holder     the pid of its last holder, for the message of a waiting writer
      v-000007/        one complete index
        chunks.jsonl   the chunk store, row i = FAISS row i
        vectors.npy    the chunk vectors (float32), for incremental rebuilds
        faiss.index    FAISS over the vectors
        keyword/       the BM25 index
        docs/          each document's text, which chunk offsets point into
        manifest.json  written last: model, settings hash, versions,
                       documents, and the SHA-256 of every file above

A writer builds a new version in a temporary folder, renames it into place
and then replaces ``CURRENT``. A crash at any point leaves the previous
version live and whole. Readers verify the checksums before they trust a file,
hold a lease on the version they read (:mod:`index.lease`), so that no writer
prunes it under them, and fall back to the newest intact version when the live
one is damaged. docs/reliability.md lists what is promised and how it is tested.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from index.keyword.bm25 import KeywordIndex
from index.lease import Lease, retire, stale_leases
from index.vector import VectorIndex
from ingest.types import Chunk
from ragchat.errors import CorruptIndexError, IndexNotFoundError, ModelMismatchError, RagchatError

FORMAT = "ragchat-index/1"
POINTER = "CURRENT"
MANIFEST = "manifest.json"
LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class DocRecord:
    doc_id: str
    source: str
    format: str
    encoding: str
    content_hash: str
    chunking_hash: str
    n_chunks: int
    n_chars: int
    indexed_at: str
    pages: tuple[int, ...] = ()  # LoadedDocument.pages; absent from manifests written before pages

    def __post_init__(self) -> None:
        object.__setattr__(self, "pages", tuple(self.pages))  # a JSON list when read from a manifest


@dataclass
class Snapshot:
    """One loaded index version. Immutable by convention: updates make a new one."""

    manifest: dict[str, Any]
    chunks: list[Chunk]
    vectors: np.ndarray
    documents: dict[str, DocRecord]
    vector_index: VectorIndex | None  # None on Milvus, where the dense search runs
    keyword: KeywordIndex
    path: Path | None = None
    lease: Lease | None = None  # held while this snapshot may read its folder
    pointer: str = ""  # what CURRENT named when this was loaded
    damage: str = ""  # why CURRENT's version was not loaded, when this is an older one
    _texts: dict[str, str] = field(default_factory=dict)
    _rows: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._rows = {c.id: i for i, c in enumerate(self.chunks)}

    def close(self) -> None:
        """Let writers prune this version (texts not read yet can no longer be read)."""
        if self.lease is not None:
            self.lease.release()

    @property
    def model_id(self) -> str:
        return self.manifest["embedding"]["model_id"]

    def row(self, chunk_id: str) -> int:
        return self._rows[chunk_id]

    @property
    def dimension(self) -> int:
        """The length of the index's vectors (a query vector must have it too)."""
        return int(self.vectors.shape[1])

    def vectors_of(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """The vectors of ``chunk_ids``, one row each, in that order."""
        return self.vectors[[self._rows[c] for c in chunk_ids]].reshape(len(chunk_ids), self.dimension)

    def document_text(self, doc_id: str) -> str:
        """The text a document's chunk offsets point into."""
        if doc_id not in self._texts:
            if self.path is None:
                raise CorruptIndexError(f"no text stored for document {doc_id}")
            path = self.path / "docs" / f"{doc_id}.txt"
            try:
                self._texts[doc_id] = path.read_text(encoding="utf-8")
            except OSError as exc:
                raise CorruptIndexError(f"document text missing from the index: {path} ({exc.strerror})") from None
        return self._texts[doc_id]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(root: Path) -> None:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _next_version(index_dir: Path) -> str:
    numbers = [int(p.name[2:]) for p in index_dir.glob("v-*") if p.name[2:].isdigit()]
    return f"v-{max(numbers, default=0) + 1:06d}"


def write_snapshot(index_dir: Path, snapshot: Snapshot, texts: dict[str, str]) -> Path:
    """Write ``snapshot`` as a new version and make it live. Returns its folder.

    ``texts`` holds the text of every document whose text is not in the live
    version yet; the others are copied over from it.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    name = _next_version(index_dir)
    tmp = index_dir / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "docs").mkdir(parents=True)
    with (tmp / "chunks.jsonl").open("w", encoding="utf-8") as fh:
        for chunk in snapshot.chunks:
            fh.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
    np.save(tmp / "vectors.npy", np.ascontiguousarray(snapshot.vectors, dtype=np.float32), allow_pickle=False)
    snapshot.vector_index.save(tmp / "faiss.index")
    snapshot.keyword.save(tmp / "keyword")
    for doc_id in snapshot.documents:
        text = texts[doc_id] if doc_id in texts else snapshot.document_text(doc_id)
        (tmp / "docs" / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    files = {
        str(p.relative_to(tmp)): file_sha256(p)
        for p in sorted(tmp.rglob("*"))
        if p.is_file()
    }
    manifest = dict(snapshot.manifest, files=files, documents={k: asdict(v) for k, v in snapshot.documents.items()})
    (tmp / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    _fsync_tree(tmp)
    final = index_dir / name
    previous = (index_dir / POINTER).read_text(encoding="utf-8").strip() if (index_dir / POINTER).is_file() else ""
    os.replace(tmp, final)
    pointer_tmp = index_dir / f".{POINTER}.tmp-{os.getpid()}"
    pointer_tmp.write_text(name + "\n", encoding="utf-8")
    with pointer_tmp.open("rb") as fh:
        os.fsync(fh.fileno())
    os.replace(pointer_tmp, index_dir / POINTER)  # the commit point
    _prune(index_dir, keep={name, previous})
    return final


def _prune(index_dir: Path, keep: set[str]) -> None:
    """Drop versions other than the live one and the one before it, unless a reader holds
    them, and what dead writers left: temporary folders and pointer files, lease files."""
    for name in versions(index_dir):
        if name not in keep:
            retire(index_dir, name)
    for name in stale_leases(index_dir):
        retire(index_dir, name)
    for tmp in [*index_dir.glob(".tmp-*"), *index_dir.glob(f".{POINTER}.tmp-*")]:
        pid = tmp.name.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)


def versions(index_dir: Path) -> list[str]:
    """The version folders, oldest first."""
    return sorted(p.name for p in index_dir.glob("v-*") if p.is_dir() and p.name[2:].isdigit())


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def pointer_name(index_dir: Path) -> str:
    """What ``CURRENT`` names; :class:`IndexNotFoundError` if there is no index."""
    pointer = index_dir / POINTER
    try:
        return pointer.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise IndexNotFoundError(
            f"no index at {index_dir}; build one with `ragchat index add PATH` or `ragchat index rebuild`"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CorruptIndexError(f"cannot read {pointer} ({exc}); run `ragchat index rebuild`") from None


def live_version(index_dir: Path) -> Path:
    """The folder of the live version; :class:`IndexNotFoundError` if there is none."""
    name = pointer_name(index_dir)
    folder = index_dir / name
    if not name.startswith("v-") or not folder.is_dir():
        raise CorruptIndexError(
            f"{index_dir / POINTER} names {name!r}, which is not an index version; run `ragchat index rebuild`"
        )
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorruptIndexError(f"{folder / MANIFEST} is missing; run `ragchat index rebuild`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CorruptIndexError(f"{folder / MANIFEST} is damaged ({exc}); run `ragchat index rebuild`") from None
    if manifest.get("format") != FORMAT:
        raise CorruptIndexError(
            f"{folder} holds index format {manifest.get('format')!r}, not {FORMAT!r}; run `ragchat index rebuild`"
        )
    return manifest


def check_model(manifest: dict[str, Any], model_id: str, dimension: int | None = None) -> None:
    built = manifest["embedding"]
    if built["model_id"] != model_id or (dimension is not None and built["dimension"] != dimension):
        raise ModelMismatchError(
            f"the index was built with embedding model {built['model_id']!r} (dimension {built['dimension']}), "
            f"but the configured model is {model_id!r}"
            + (f" (dimension {dimension})" if dimension is not None else "")
            + "; run `ragchat index rebuild` to reindex with the configured model"
        )


def load_snapshot(
    index_dir: Path, model_id: str | None = None, ef_search: int = 512, cache_dir: Path | None = None,
    fallback: bool = True,
) -> Snapshot:
    """Load and verify the live version, holding a reader lease on it.

    ``cache_dir`` keeps jieba's parsed dictionary between processes.
    With ``model_id``, an index built by another embedding model raises
    :class:`ModelMismatchError`. Missing, truncated or altered files raise
    :class:`CorruptIndexError`, never an error from deep inside FAISS; with
    ``fallback``, the newest intact older version is loaded instead, with the
    damage logged and kept in ``Snapshot.damage``.
    """
    damage: CorruptIndexError | None = None
    for _ in range(16):  # CURRENT may move on while it is read
        name = pointer_name(index_dir)
        if not name.startswith("v-") or "/" in name:
            damage = CorruptIndexError(
                f"{index_dir / POINTER} names {name!r}, which is not an index version; run `ragchat index rebuild`")
            break
        lease = Lease(index_dir, name)
        if not (index_dir / name).is_dir():
            lease.release()
            if pointer_name(index_dir) != name:
                continue
            damage = CorruptIndexError(
                f"{index_dir / POINTER} names {name!r}, which is not an index version; run `ragchat index rebuild`")
            break
        try:
            return _load_version(index_dir / name, lease, name, model_id, ef_search, cache_dir)
        except CorruptIndexError as exc:
            damage = exc
            break
    else:
        raise CorruptIndexError(f"{index_dir / POINTER} keeps changing; another process is rewriting the index")
    if not fallback:
        raise damage
    for older in reversed(versions(index_dir)):
        if older == name:
            continue
        lease = Lease(index_dir, older)
        if not (index_dir / older).is_dir():  # pruned meanwhile
            lease.release()
            continue
        try:
            snapshot = _load_version(index_dir / older, lease, name, model_id, ef_search, cache_dir)
        except CorruptIndexError:
            continue
        snapshot.damage = str(damage)
        LOG.warning("the live index version is damaged (%s); serving the older version %s", damage, older)
        return snapshot
    raise damage


def _load_version(
    folder: Path, lease: Lease | None, pointer: str, model_id: str | None, ef_search: int, cache_dir: Path | None
) -> Snapshot:
    """One version, verified; the lease is released unless the snapshot is returned."""
    try:
        manifest = verify_files(folder)
        if model_id is not None:
            check_model(manifest, model_id)
        snapshot = _read_parts(folder, manifest, ef_search, cache_dir)
    except BaseException:
        if lease is not None:
            lease.release()
        raise
    snapshot.lease, snapshot.pointer = lease, pointer
    return snapshot


@dataclass(frozen=True)
class VersionCheck:
    """One version as :func:`verify_index` found it."""

    version: str
    live: bool
    problem: str = ""  # empty when every file is intact and the parts agree


def verify_index(index_dir: Path, cache_dir: Path | None = None) -> list[VersionCheck]:
    """Every version checked (each file against its checksum, then read in full), oldest first;
    the live one is flagged. :class:`IndexNotFoundError` when there is no index."""
    try:
        live = pointer_name(index_dir)
    except CorruptIndexError:
        live = ""
    checks = []
    for name in versions(index_dir):
        lease = Lease(index_dir, name)
        try:
            if not (index_dir / name).is_dir():
                continue  # pruned meanwhile
            _read_parts(index_dir / name, verify_files(index_dir / name), 8, cache_dir)
            checks.append(VersionCheck(name, name == live))
        except CorruptIndexError as exc:
            checks.append(VersionCheck(name, name == live, str(exc)))
        finally:
            lease.release()
    if live not in {c.version for c in checks}:
        checks.append(VersionCheck(live, True, f"{index_dir / POINTER} names {live!r}, which is not an index version"))
    return checks


def verify_files(folder: Path) -> dict[str, Any]:
    """The manifest of ``folder``, after checking every file it lists against its checksum."""
    manifest = read_manifest(folder)
    for rel, digest in manifest.get("files", {}).items():
        path = folder / rel
        if not path.is_file():
            raise CorruptIndexError(f"index file missing: {path}; run `ragchat index rebuild`")
        if file_sha256(path) != digest:
            raise CorruptIndexError(f"index file damaged (checksum mismatch): {path}; run `ragchat index rebuild`")
    return manifest


def _read_parts(folder: Path, manifest: dict[str, Any], ef_search: int, cache_dir: Path | None) -> Snapshot:
    try:
        with (folder / "chunks.jsonl").open(encoding="utf-8") as fh:
            chunks = [Chunk.from_dict(json.loads(line)) for line in fh]
        vectors = np.load(folder / "vectors.npy", allow_pickle=False)
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise CorruptIndexError(f"cannot read the chunk store in {folder}: {exc}") from None
    vector_index = VectorIndex.load(folder / "faiss.index", manifest["faiss"]["kind"], ef_search)
    try:
        keyword = KeywordIndex.load(folder / "keyword", cache_dir=cache_dir)
    except RagchatError as exc:
        raise CorruptIndexError(f"{exc}; run `ragchat index rebuild`") from None
    n = len(chunks)
    if vectors.shape[0] != n or vector_index.size != n or len(keyword) != n:
        raise CorruptIndexError(
            f"index parts disagree in {folder}: {n} chunks, {vectors.shape[0]} vectors, "
            f"{vector_index.size} FAISS rows, {len(keyword)} keyword rows; run `ragchat index rebuild`"
        )
    documents = {k: DocRecord(**v) for k, v in manifest.get("documents", {}).items()}
    return Snapshot(manifest, chunks, vectors, documents, vector_index, keyword, path=folder)


def index_size_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
