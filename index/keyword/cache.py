"""Keyword indexes kept on local disk by their content, for a reader that would otherwise build one.

A Milvus generation's chunks live in the collection, but the answer path reads a bm25s
:class:`~index.keyword.bm25.KeywordIndex` in memory (IDF, sentence features, our sparse vectors), and
building it is slow at scale (413 s at 100k chunks, 12 minutes at 1M: ``docs/scale.md``). So a
reader does not build it at every open: :func:`keyword_index` looks it up under
``<cache_dir>/keyword/<scope>/<key>`` (the scope: one per collection), where the key is a SHA-256 of everything the build reads (each chunk
id and text hash, in order, the tokenizer settings and version, the BM25 parameters and the index
format). Another content is another key, so a cached index is never stale; a fresh build and a
load give the same index (``KeywordIndex.rebuild`` documents that it equals ``build``).

An entry is written into a temporary folder and renamed into place, so a crash leaves no half
entry; :meth:`KeywordIndex.load` checks every file's SHA-256, and an entry that fails is removed
and built again. The :data:`KEEP` most recently used entries are kept. The cache only saves time:
when it cannot be written (a full disk, a read-only home) the index is still returned, with a
warning in the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from pathlib import Path

from index.keyword.bm25 import FORMAT_VERSION, BM25Params, KeywordIndex, text_key
from index.keyword.tokenize import TokenizerSettings
from ragchat.errors import CorruptIndexError, IncompatibleIndexError, IndexNotFoundError

log = logging.getLogger(__name__)

FOLDER = "keyword"
KEEP = 3  # entries kept per scope: the live generation's, the one before it, and one more


def content_key(
    chunk_ids: Sequence[str], text_keys: Sequence[str], settings: TokenizerSettings, params: BM25Params,
    terms_learned: bool,
) -> str:
    """The key of the index :meth:`KeywordIndex.build` makes from these chunks with these settings."""
    digest = hashlib.sha256()
    head = {"format_version": FORMAT_VERSION, "tokenizer": settings.to_json(), "bm25": asdict(params),
            "terms_learned": terms_learned, "n": len(chunk_ids)}
    digest.update(json.dumps(head, sort_keys=True).encode("utf-8"))
    for chunk_id, key in zip(chunk_ids, text_keys, strict=True):
        digest.update(f"\n{chunk_id}\x00{key}".encode("utf-8"))
    return digest.hexdigest()[:40]


def key_of(index: KeywordIndex) -> str:
    return content_key(index.chunk_ids, index.text_keys, index.tokenizer.settings, index.params,
                       index.terms_learned)


def keyword_index(
    pairs: Iterable[tuple[str, str]], cache_dir: Path | None, scope: str, previous: KeywordIndex | None = None,
) -> KeywordIndex:
    """``KeywordIndex.build(pairs)`` (default settings, terms learned), read from the cache when it
    holds that content, else built and written there. ``previous`` (the index of the generation a
    reader held before) is rebuilt instead of building from nothing: the tokens of its unchanged
    texts are reused, so a reader that follows another machine's update tokenizes only the new
    chunks. ``cache_dir`` None: built, nothing written."""
    pairs = list(pairs)
    fresh = (lambda: previous.rebuild(pairs)) if _rebuildable(previous) else (
        lambda: KeywordIndex.build(pairs, cache_dir=cache_dir))
    if cache_dir is None:
        return fresh()
    key = content_key([c for c, _ in pairs], [text_key(t) for _, t in pairs], TokenizerSettings(), BM25Params(),
                      terms_learned=True)
    entry = Path(cache_dir) / FOLDER / scope / key
    if (entry / "header.json").is_file():
        try:
            index = KeywordIndex.load(entry, cache_dir=cache_dir)
            _touch(entry)
            return index
        except (CorruptIndexError, IncompatibleIndexError, IndexNotFoundError) as exc:
            log.warning("keyword index cache entry %s is unusable (%s): building it again", entry, exc)
            shutil.rmtree(entry, ignore_errors=True)
    index = fresh()
    remember(index, cache_dir, scope, key)
    return index


def _rebuildable(previous: KeywordIndex | None) -> bool:
    """Whether ``previous.rebuild`` gives what the default build does (same settings, terms learned)."""
    return (previous is not None and previous.terms_learned and previous.params == BM25Params()
            and previous.tokenizer.settings == TokenizerSettings())


def remember(index: KeywordIndex, cache_dir: Path | None, scope: str, key: str | None = None) -> Path | None:
    """Write ``index`` into the cache (a writer that just built it saves its readers the build);
    the entry's folder, or None when it could not be written."""
    if cache_dir is None:
        return None
    key = key or key_of(index)
    root = Path(cache_dir) / FOLDER / scope
    entry = root / key
    if (entry / "header.json").is_file():
        _touch(entry)
        return entry
    tmp = root / f".{key}.{os.getpid()}.tmp"
    try:
        root.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        index.save(tmp)
        shutil.rmtree(entry, ignore_errors=True)  # a folder left without its header
        os.replace(tmp, entry)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        if (entry / "header.json").is_file():  # another process wrote the same entry first
            return entry
        log.warning("could not write the keyword index cache at %s (%s); the index is built at each open", entry, exc)
        return None
    _prune(root)
    return entry


def _touch(entry: Path) -> None:
    try:
        now = time.time()
        os.utime(entry, (now, now))
    except OSError:
        pass


def _prune(root: Path) -> None:
    """Remove all but the :data:`KEEP` most recently used entries (and temporary folders a crash left)."""
    entries = []
    for path in root.iterdir():
        try:
            mtime = path.stat().st_mtime
        except OSError:
            continue
        if path.name.startswith("."):
            if time.time() - mtime > 24 * 3600:  # another process's write in progress is younger than that
                shutil.rmtree(path, ignore_errors=True)
            continue
        entries.append((mtime, path))
    for _, path in sorted(entries, reverse=True)[KEEP:]:
        shutil.rmtree(path, ignore_errors=True)
