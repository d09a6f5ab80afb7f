"""Uploads and reindexing for the UI.

:class:`Library` owns the live :class:`AnswerService`. Questions read
``library.service`` (one attribute read); an upload or a removal runs
``update_index`` (which writes a new index version and flips the pointer under
the writer lock), loads the new snapshot, builds a new service on it and swaps
the attribute in one assignment. Questions already running finish on the old
service; the next ones use the new one. A version written by another process is
taken the same way before the next question (chat.live).

Uploads are checked one by one (type, size, and that the file loads with text),
saved under a sanitised name in the documents folder only, and indexed in one
batch; a bad file is reported as skipped with its reason and the others go on.
A rejected file never replaces a stored one: it is checked before the swap.

Files of the documents folder that the index does not hold (an upload that
stopped before indexing) are listed by :meth:`Library.not_indexed` and indexed
by :meth:`Library.index_not_indexed`.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chat.live import LiveService
from chat.service import AnswerService
from ragchat.errors import DocumentError, EmptyKnowledgeBaseError, IndexNotFoundError, RagchatError
from ragchat.kbs import DEFAULT_KB
from ragchat.settings import Settings

MAX_NAME_CHARS = 120
_ODD = re.compile(r"[^\w.\-()（）【】《》、，·]+", re.UNICODE)

Progress = Callable[[float, str], None]
LOG = logging.getLogger(__name__)


class UploadRejectedError(RagchatError):
    """An uploaded file was refused before indexing (type, size, name)."""


def sanitize_filename(name: str) -> str:
    """A safe file name from a client-supplied one.

    The base name only (``/`` and ``\\`` both separate), NFC, control and odd
    characters replaced by ``_`` (letters of every script, CJK included, are
    kept), no leading dots, at most ``MAX_NAME_CHARS`` characters with the
    extension kept. ``../../etc/passwd`` becomes ``passwd``.
    """
    base = unicodedata.normalize("NFC", name).replace("\\", "/").split("/")[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = _ODD.sub("_", base.strip()).strip("._ ")
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    ext = ext.lower()
    stem = stem.strip("._ ") or "document"
    room = MAX_NAME_CHARS - (len(ext) + 1 if ext else 0)
    return f"{stem[:room]}.{ext}" if ext else stem[:MAX_NAME_CHARS]


def allowed_extensions(settings: Settings) -> tuple[str, ...]:
    return settings.ui.upload_extensions or settings.ingest.extensions


def check_upload(path: Path, name: str, settings: Settings) -> str:
    """The sanitised name under which ``path`` (uploaded as ``name``) may be saved.

    Raises :class:`UploadRejectedError` when its type is not allowed or it is too large.
    """
    clean = sanitize_filename(name)
    suffix = Path(clean).suffix.lower()
    allowed = allowed_extensions(settings)
    if suffix not in allowed:
        raise UploadRejectedError(
            f"file type {suffix or '(none)'!r} is not accepted; upload one of {', '.join(allowed)}"
        )
    size = path.stat().st_size
    limit = settings.ui.max_upload_mb * 2**20
    if size > limit:
        raise UploadRejectedError(
            f"the file is {size / 2**20:.1f} MiB, larger than the {settings.ui.max_upload_mb:g} MiB limit"
        )
    return clean


def check_content(path: Path, settings: Settings) -> None:
    """Raise :class:`UploadRejectedError` unless ``path`` loads and chunks into some text, as indexing reads it."""
    from ingest.loaders import load_file
    from ingest.pipeline import ingest_document

    try:
        ingest_document(load_file(path, max_bytes=int(settings.ingest.max_file_mb * 2**20)), settings.chunking)
    except DocumentError as exc:  # its message starts with the (temporary) path: keep the reason only
        raise UploadRejectedError(f"{exc.reason} ({exc.detail})" if exc.detail else exc.reason) from None


WRITE_WAIT_S = 300.0  # an upload waits this long for another process's reindex before it fails
STALE_UPLOAD_S = 3600.0  # far longer than copying and checking one upload takes


def remove_stale_uploads(folder: Path, older_than: float = STALE_UPLOAD_S) -> list[Path]:
    """Delete the temporary copies (``.upload-*``) that an upload killed mid-way left in
    ``folder``, when older than ``older_than`` seconds (a younger one may be another
    process's upload in progress). Returns what was deleted."""
    if not folder.is_dir():
        return []
    now = time.time()
    stale = [p for p in folder.glob(".upload-*") if p.is_file() and now - p.stat().st_mtime > older_than]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def save_into(folder: Path, source: Path, name: str, verify: Callable[[Path], None] | None = None) -> Path:
    """Copy ``source`` to ``folder/name`` atomically; the result is always inside ``folder``.

    ``verify`` is called on the complete copy (a temporary file with the same extension) before it
    replaces anything; when it raises, ``folder/name`` is left as it was.
    """
    folder = folder.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = (folder / name).resolve()
    if target.parent != folder:
        raise UploadRejectedError(f"the file name {name!r} points outside the documents folder")
    fd, tmp = tempfile.mkstemp(prefix=".upload-", suffix=target.suffix, dir=folder)
    try:
        with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
            shutil.copyfileobj(src, out)
        if verify is not None:
            verify(Path(tmp))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


@dataclass
class Upload:
    """A file as received: where the server stored it, and the name the client gave."""

    path: Path
    name: str


@dataclass
class UpdateResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"file", "reason"}
    n_documents: int = 0
    n_chunks: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "added": self.added, "updated": self.updated, "unchanged": self.unchanged,
            "removed": self.removed, "skipped": self.skipped, "n_documents": self.n_documents,
            "n_chunks": self.n_chunks, "seconds": round(self.seconds, 2),
        }


class Library:
    """The live answer service, its documents, and the changes made to them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._live: LiveService | None = None
        self._ready = threading.Event()
        self._error: RagchatError | None = None
        self.update_lock = threading.Lock()
        self.first_build = False
        self.empty = False  # a knowledge base other than the default with no documents yet: no index
        self.loaded_in_s = 0.0
        self._embeddings: Any = None

    # --- start-up ----------------------------------------------------------------

    def start(self) -> threading.Thread:
        """Open (on first run: build) the index in the background, after removing the partial
        copies that killed uploads left behind."""
        from index.store import live_version

        remove_stale_uploads(self.documents_dir)
        try:
            live_version(self.settings.index_dir)
        except IndexNotFoundError:  # built from the corpus; a new knowledge base's may be empty
            self.first_build = self.settings.kb == DEFAULT_KB or any(
                p.is_file() and not p.name.startswith(".") for p in _files(self.documents_dir))
        except RagchatError:
            pass
        thread = threading.Thread(target=self._load, name="ragchat-ui-load", daemon=True)
        thread.start()
        return thread

    def _load(self) -> None:
        started = time.perf_counter()
        try:
            self._live = LiveService(AnswerService.from_settings(self.settings, progress=True, on_wait=_log_waiting))
        except IndexNotFoundError as exc:  # nothing to index: a new knowledge base waits for its documents
            if self.settings.kb == DEFAULT_KB:
                self._error = exc
            else:
                self.empty = True
        except RagchatError as exc:
            self._error = exc
        finally:
            self.loaded_in_s = time.perf_counter() - started
            self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def error(self) -> RagchatError | None:
        return self._error

    def wait(self, timeout: float | None = None) -> AnswerService:
        """The service over the live version (another process may have written a newer one),
        once loaded. Raises the load's error, or ``TimeoutError``."""
        if not self._ready.wait(timeout):
            raise TimeoutError("the index is still being opened")
        if self._error is not None:
            raise self._error
        if self._live is None:
            kb = self.settings.kb
            raise EmptyKnowledgeBaseError(f"the knowledge base {kb!r} holds no documents yet; upload some, "
                                          f"or run `ragchat index add --kb {kb} FILES`")
        return self._live.get()

    @property
    def service(self) -> AnswerService:
        return self.wait()

    def wait_loaded(self, timeout: float | None = None) -> None:
        """Wait until the index is open, or known to be empty; raises the load's error, or ``TimeoutError``."""
        if not self._ready.wait(timeout):
            raise TimeoutError("the index is still being opened")
        if self._error is not None:
            raise self._error

    def _indexed(self) -> dict[str, Any]:
        """The live version's document records; none while the knowledge base is empty."""
        self.wait_loaded()
        return {} if self._live is None else self.service.snapshot.documents

    # --- documents -----------------------------------------------------------------

    @property
    def documents_dir(self) -> Path:
        return self.settings.documents_dir

    def documents(self) -> list[dict[str, Any]]:
        """The indexed documents: id, source, chunks, characters, bytes on disk, when indexed."""
        rows = []
        for doc_id, rec in self._indexed().items():
            path = Path(rec.source)
            rows.append({
                "doc_id": doc_id, "source": rec.source, "n_chunks": rec.n_chunks, "n_chars": rec.n_chars,
                "bytes": path.stat().st_size if path.is_file() else None, "indexed_at": rec.indexed_at,
            })
        return sorted(rows, key=lambda r: (Path(r["source"]).name.lower(), r["doc_id"]))

    def add(self, uploads: Sequence[Upload], progress: Progress | None = None) -> UpdateResult:
        """Check and save ``uploads`` into the documents folder, then index them in one batch."""
        progress = progress or (lambda fraction, desc: None)
        result = UpdateResult()
        saved: list[Path] = []
        fresh: set[Path] = set()
        for i, upload in enumerate(uploads):
            progress(0.2 * i / max(1, len(uploads)), f"checking {upload.name}")
            try:
                name = check_upload(Path(upload.path), upload.name, self.settings)
                existed = (self.documents_dir / name).exists()
                target = save_into(self.documents_dir, Path(upload.path), name,
                                   verify=lambda staged: check_content(staged, self.settings))
            except (UploadRejectedError, OSError) as exc:
                result.skipped.append({"file": sanitize_filename(upload.name), "reason": _reason(exc)})
                continue
            if target in saved:
                result.skipped.append({"file": name, "reason": "the same file name was uploaded twice; the last copy is used"})
                continue
            saved.append(target)
            if not existed:
                fresh.add(target)
        if saved:
            progress(0.2, f"indexing {len(saved)} file(s)")
            not_indexed = self._update(result, add=saved)
            for path in fresh & not_indexed:  # a new file that could not be indexed is not kept
                path.unlink(missing_ok=True)
        progress(1.0, "done")
        return result

    def not_indexed(self) -> list[Path]:
        """Files of the documents folder that the index does not hold (hidden files left out)."""
        folder = self.documents_dir
        if not folder.is_dir():
            return []
        indexed = {Path(rec.source).resolve() for rec in self._indexed().values()}
        found = [p for p in folder.iterdir()
                 if p.is_file() and not p.name.startswith(".") and p.resolve() not in indexed]
        return sorted(found, key=lambda p: p.name.lower())

    def index_not_indexed(self) -> UpdateResult:
        """Index the files of :meth:`not_indexed`; a file that cannot be indexed stays, listed as skipped."""
        result = UpdateResult()
        paths = self.not_indexed()
        if paths:
            self._update(result, add=paths)
        return result

    def remove(self, targets: Iterable[str]) -> UpdateResult:
        """Remove documents (by id or source) from the index; their uploaded files are deleted."""
        from index.update import UnknownDocumentError, resolve_doc_id

        result = UpdateResult()
        documents = self._indexed()
        ids: list[str] = []
        for target in targets:
            try:
                ids.append(resolve_doc_id(target, documents))
            except UnknownDocumentError as exc:
                result.skipped.append({"file": target, "reason": str(exc)})
        if ids:
            sources = [Path(documents[d].source) for d in ids]
            self._update(result, remove=ids)
            folder = self.documents_dir.resolve()
            for path in sources:
                if path.resolve().parent == folder:
                    path.unlink(missing_ok=True)
        return result

    def _update(self, result: UpdateResult, **change: Any) -> set[Path]:
        """Apply one change, swap in the new service, fill ``result``; the paths skipped."""
        from index.update import update_index

        with self.update_lock:
            embeddings = self.service.embeddings if self._live is not None else self._new_embeddings()
            report = update_index(self.settings.index_dir, self.settings, embeddings, progress=True,
                                  wait=WRITE_WAIT_S, on_wait=_log_waiting, **change)
            if self._live is not None:
                self._live.replace_from_disk()
            elif report.n_documents:  # the first documents of a new knowledge base
                self._live = LiveService(AnswerService.from_settings(self.settings))
                self.empty = False
        result.added += [Path(s).name for s in report.added]
        result.updated += [Path(s).name for s in report.updated]
        # A moved document or a copy of an indexed one is in the index already, unchanged.
        result.unchanged += [Path(s).name for s in report.unchanged + report.moved + report.copies]
        result.removed += [Path(s).name for s in report.removed]
        result.skipped += [{"file": Path(s.path).name, "reason": _strip_path(s.reason, s.path)} for s in report.skipped]
        result.n_documents, result.n_chunks = report.n_documents, report.n_chunks
        result.seconds = report.seconds
        return {Path(s.path).resolve() for s in report.skipped}


    def _new_embeddings(self) -> Any:
        """The embedding model of a knowledge base that has no index yet, loaded once."""
        from index.models import embeddings_from_settings

        self.wait_loaded()
        if self._embeddings is None:
            self._embeddings = embeddings_from_settings(self.settings)
        return self._embeddings


def _files(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def _log_waiting(holder: str) -> None:
    LOG.warning("process %s is changing the index; waiting for it", holder)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        return f"cannot save the file ({exc.strerror or exc})"
    return str(exc)


def _strip_path(reason: str, path: str) -> str:
    """A reason without the server-side path in front (``/srv/docs/a.pdf: the file is empty``)."""
    prefix = f"{path}: "
    return reason[len(prefix):] if reason.startswith(prefix) else reason
