"""A BM25 keyword index over chunks, on top of ``bm25s``.

``KeywordIndex.build([(chunk_id, text), ...])`` tokenizes every chunk with
:class:`~index.keyword.tokenize.KeywordTokenizer` (learning quoted corpus terms first),
and hands bm25s pre-tokenised token ids with our own sorted vocabulary, so the
index is the same from run to run. bm25s precomputes the BM25 weight of every
(term, chunk) pair in a sparse matrix; a query sums a few columns.

- ``search(query, k)`` → ``[(chunk_id, score), ...]``: raw BM25 (Lucene variant,
  always > 0 for a chunk sharing a term with the query), best first, ties by chunk
  order; chunks sharing no term with the query are never returned, and a query
  without any indexed term gives ``[]``.
- ``rebuild(chunks)``: BM25 statistics are global, so adding or deleting chunks
  means a new index. The tokens of every unchanged chunk text are reused (they are
  saved with the index), so a rebuild costs the tokenization of the new texts plus
  the matrix build. Chunks whose text contains a learned term that appeared or
  disappeared are re-tokenized, which keeps the result identical to a fresh build.
- ``save(dir)`` / ``load(dir)``: bm25s' own files in ``dir/bm25s/`` plus chunk ids,
  text hashes, learned terms, per-chunk tokens and ``header.json`` (format version,
  tokenizer settings, size and SHA-256 of every file). ``header.json`` is written
  last, so an interrupted save is detected. A missing directory raises
  :class:`IndexNotFoundError`; a missing, truncated or altered file
  :class:`CorruptIndexError`; another format or tokenizer version
  :class:`IncompatibleIndexError`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from index.keyword.tokenize import (
    TOKENIZER_VERSION,
    KeywordTokenizer,
    TokenizerSettings,
    learn_terms,
    normalize,
)
from ragchat.errors import CorruptIndexError, IncompatibleIndexError, IndexNotFoundError

FORMAT = "ragchat-keyword-index"
FORMAT_VERSION = 1

HEADER_FILE = "header.json"
CHUNKS_FILE = "chunks.json"
TERMS_FILE = "terms.json"
TOKENS_FILE = "doc_tokens.npy"
OFFSETS_FILE = "doc_offsets.npy"
BM25S_DIR = "bm25s"
BM25S_FILES = (
    "data.csc.index.npy",
    "indices.csc.index.npy",
    "indptr.csc.index.npy",
    "vocab.index.json",
    "params.index.json",
)

Chunk = tuple[str, str]


@dataclass(frozen=True)
class BM25Params:
    """BM25 (Lucene variant) parameters."""

    k1: float = 1.5
    b: float = 0.75


def _import_bm25s() -> ModuleType:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # bm25s sets DEBUG on import
    module: ModuleType = bm25s
    return module


def text_key(text: str) -> str:
    """A short hash of a chunk text: equal keys mean the stored tokens can be reused."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=12).hexdigest()


def _check_chunks(chunks: Iterable[Chunk]) -> list[Chunk]:
    checked = list(chunks)
    seen: set[str] = set()
    for item in checked:
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise ValueError(f"a chunk must be a (chunk_id, text) pair, got {item!r:.80}")
        chunk_id, text = item
        if not isinstance(chunk_id, str) or not isinstance(text, str):
            raise ValueError(f"chunk id and text must be strings, got {type(chunk_id).__name__}, {type(text).__name__}")
        if chunk_id in seen:
            raise ValueError(f"duplicate chunk id {chunk_id!r}")
        seen.add(chunk_id)
    return [(chunk_id, text) for chunk_id, text in checked]


class KeywordIndex:
    """BM25 over a fixed list of chunks. Immutable; rebuild to change the chunks."""

    def __init__(
        self,
        *,
        chunk_ids: Sequence[str],
        text_keys: Sequence[str],
        vocab: Sequence[str],
        flat_tokens: np.ndarray,
        offsets: np.ndarray,
        tokenizer: KeywordTokenizer,
        terms_learned: bool,
        params: BM25Params,
        bm25: Any,
    ) -> None:
        """Use :meth:`build` or :meth:`load`; this only wires checked parts together."""
        self._chunk_ids = list(chunk_ids)
        self._text_keys = list(text_keys)
        self._vocab_list = list(vocab)
        self._vocab = {token: i for i, token in enumerate(self._vocab_list)}
        self._flat = flat_tokens
        self._offsets = offsets
        self.tokenizer = tokenizer
        self.terms_learned = terms_learned
        self.params = params
        self._bm25 = bm25

    # --- building --------------------------------------------------------------

    @classmethod
    def build(
        cls,
        chunks: Iterable[Chunk],
        *,
        terms: Iterable[str] | None = None,
        settings: TokenizerSettings | None = None,
        params: BM25Params | None = None,
        cache_dir: Path | str | None = None,
    ) -> KeywordIndex:
        """Index ``(chunk_id, text)`` pairs.

        ``terms=None`` learns the quoted terms of the chunk texts (and again on every
        :meth:`rebuild`); pass a list to fix them. ``cache_dir`` holds jieba's
        dictionary cache (nothing is written when it is ``None``).
        """
        checked = _check_chunks(chunks)
        texts = [text for _, text in checked]
        term_list = learn_terms(texts) if terms is None else sorted(set(terms))
        tokenizer = KeywordTokenizer(term_list, settings, cache_dir=cache_dir)
        docs = tokenizer.tokenize_many(texts)
        return cls._from_tokens(checked, docs, tokenizer, terms is None, params or BM25Params())

    @classmethod
    def _from_tokens(
        cls,
        chunks: list[Chunk],
        docs: list[list[str]],
        tokenizer: KeywordTokenizer,
        terms_learned: bool,
        params: BM25Params,
    ) -> KeywordIndex:
        vocab = sorted({token for doc in docs for token in doc})
        ids = {token: i for i, token in enumerate(vocab)}
        doc_ids = [[ids[token] for token in doc] for doc in docs]
        offsets = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum([len(doc) for doc in docs], out=offsets[1:])
        flat = np.fromiter((i for doc in doc_ids for i in doc), dtype=np.int32, count=int(offsets[-1]))
        bm25 = None
        if vocab:
            bm25s = _import_bm25s()
            bm25 = bm25s.BM25(k1=params.k1, b=params.b, method="lucene")
            bm25.index((doc_ids, ids), create_empty_token=False, show_progress=False)
        return cls(
            chunk_ids=[chunk_id for chunk_id, _ in chunks],
            text_keys=[text_key(text) for _, text in chunks],
            vocab=vocab,
            flat_tokens=flat,
            offsets=offsets,
            tokenizer=tokenizer,
            terms_learned=terms_learned,
            params=params,
            bm25=bm25,
        )

    def rebuild(self, chunks: Iterable[Chunk]) -> KeywordIndex:
        """A new index over ``chunks`` (the full new list), reusing tokens of unchanged texts.

        Gives the same index as :meth:`build` with the same chunks and settings.
        """
        checked = _check_chunks(chunks)
        texts = [text for _, text in checked]
        old_terms = self.tokenizer.terms
        new_terms = tuple(learn_terms(texts)) if self.terms_learned else old_terms
        tokenizer = self.tokenizer
        changed: frozenset[str] = frozenset()
        if new_terms != old_terms:
            tokenizer = KeywordTokenizer(new_terms, self.tokenizer.settings, cache_dir=self.tokenizer.cache_dir)
            changed = frozenset(old_terms).symmetric_difference(new_terms)
        reusable = {key: i for i, key in enumerate(self._text_keys)}
        docs: list[list[str]] = []
        for text in texts:
            old = reusable.get(text_key(text))
            if old is not None and changed:
                norm = normalize(text)
                if any(term in norm for term in changed):
                    old = None
            docs.append(self._doc_tokens(old) if old is not None else tokenizer.tokenize(text))
        return self._from_tokens(checked, docs, tokenizer, self.terms_learned, self.params)

    def _doc_tokens(self, i: int) -> list[str]:
        ids = self._flat[self._offsets[i] : self._offsets[i + 1]].tolist()
        return [self._vocab_list[j] for j in ids]

    # --- reading ---------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._chunk_ids)

    @property
    def chunk_ids(self) -> list[str]:
        return list(self._chunk_ids)

    @property
    def text_keys(self) -> list[str]:
        """Each chunk text's :func:`text_key`, in chunk order."""
        return list(self._text_keys)

    @property
    def terms(self) -> tuple[str, ...]:
        return self.tokenizer.terms

    @property
    def vocab_size(self) -> int:
        return len(self._vocab_list)

    def vocabulary(self) -> list[str]:
        """Every token that occurs in some indexed chunk."""
        return list(self._vocab_list)

    def knows(self, token: str) -> bool:
        """Whether ``token`` occurs in any indexed chunk."""
        return token in self._vocab

    def idf(self, token: str) -> float:
        """Inverse document frequency of ``token``, ``log(1 + N / df)``; a token the
        index has never seen gets the weight of one seen in half a chunk."""
        df = self._document_frequencies()
        i = self._vocab.get(token)
        n = max(len(self._chunk_ids), 1)
        return float(np.log1p(n / (df[i] if i is not None and df[i] else 0.5)))

    def _document_frequencies(self) -> np.ndarray:
        cached = self.__dict__.get("_df")
        if cached is None:
            df = np.zeros(len(self._vocab_list), dtype=np.int64)
            for i in range(len(self._chunk_ids)):
                ids = np.unique(self._flat[self._offsets[i] : self._offsets[i + 1]])
                df[ids] += 1
            self.__dict__["_df"] = cached = df
        return cached

    def query_terms(self, query: str) -> list[str]:
        """The distinct query tokens that occur in the index, in query order."""
        return [token for token in dict.fromkeys(self.tokenizer.tokenize(query)) if token in self._vocab]

    def search(self, query: str, k: int = 10) -> list[tuple[str, float]]:
        """Up to ``k`` ``(chunk_id, bm25_score)`` pairs, best first; ``[]`` when nothing matches.

        Each distinct query token counts once (a repeated question word does not
        weigh more).
        """
        if k <= 0 or self._bm25 is None:
            return []
        token_ids = sorted({self._vocab[token] for token in self.query_terms(query)})
        if not token_ids:
            return []
        scores = self._bm25.get_scores_from_ids(token_ids)
        hits = np.flatnonzero(scores > 0)
        order = hits[np.lexsort((hits, -scores[hits]))][:k]
        return [(self._chunk_ids[i], float(scores[i])) for i in order]

    # --- persistence -----------------------------------------------------------

    def save(self, directory: Path | str) -> None:
        """Write the index into ``directory`` (created if needed; our files are replaced)."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        (root / HEADER_FILE).unlink(missing_ok=True)  # no header until every file is in place
        _write_json(root / CHUNKS_FILE, {"ids": self._chunk_ids, "text_keys": self._text_keys})
        _write_json(root / TERMS_FILE, list(self.tokenizer.terms))
        _write_npy(root / TOKENS_FILE, self._flat)
        _write_npy(root / OFFSETS_FILE, self._offsets)
        files = [CHUNKS_FILE, TERMS_FILE, TOKENS_FILE, OFFSETS_FILE]
        shutil.rmtree(root / BM25S_DIR, ignore_errors=True)
        if self._bm25 is not None:
            self._bm25.save(root / BM25S_DIR, show_progress=False)
            files += [f"{BM25S_DIR}/{name}" for name in BM25S_FILES]
        bm25s_version = _import_bm25s().__version__ if self._bm25 is not None else None
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tokenizer": self.tokenizer.settings.to_json(),
            "terms_learned": self.terms_learned,
            "bm25": {"k1": self.params.k1, "b": self.params.b, "method": "lucene"},
            "bm25s_version": bm25s_version,
            "num_docs": len(self._chunk_ids),
            "vocab_size": len(self._vocab_list),
            "files": {name: _file_meta(root / name) for name in files},
        }
        _write_json(root / HEADER_FILE, header, indent=2)

    @classmethod
    def load(cls, directory: Path | str, *, cache_dir: Path | str | None = None) -> KeywordIndex:
        """Read an index written by :meth:`save`, checking every file against the header."""
        root = Path(directory)
        if not root.is_dir():
            raise IndexNotFoundError(f"no keyword index at {root}: build it first")
        header_path = root / HEADER_FILE
        if not header_path.is_file():
            if any(root.iterdir()):
                raise CorruptIndexError(
                    f"keyword index at {root} has no {HEADER_FILE} (an interrupted save?): rebuild it"
                )
            raise IndexNotFoundError(f"no keyword index at {root} (the directory is empty): build it first")
        header = _read_header(header_path)
        _verify_files(root, header)
        try:
            return cls._load_checked(root, header, cache_dir)
        except (CorruptIndexError, IncompatibleIndexError):
            raise
        except Exception as exc:  # whatever numpy/bm25s/json raise on bad content
            raise CorruptIndexError(
                f"keyword index at {root} cannot be read ({type(exc).__name__}: {exc}): rebuild it"
            ) from exc

    @classmethod
    def _load_checked(cls, root: Path, header: dict[str, Any], cache_dir: Path | str | None) -> KeywordIndex:
        def bad(what: str) -> CorruptIndexError:
            return CorruptIndexError(f"keyword index at {root} is inconsistent ({what}): rebuild it")

        settings = TokenizerSettings.from_json(header["tokenizer"])
        params = BM25Params(k1=float(header["bm25"]["k1"]), b=float(header["bm25"]["b"]))
        chunks = json.loads((root / CHUNKS_FILE).read_text(encoding="utf-8"))
        chunk_ids, keys = chunks["ids"], chunks["text_keys"]
        terms = json.loads((root / TERMS_FILE).read_text(encoding="utf-8"))
        if not (isinstance(chunk_ids, list) and all(isinstance(c, str) for c in chunk_ids)):
            raise bad("chunk ids")
        if not (isinstance(keys, list) and len(keys) == len(chunk_ids) and len(set(chunk_ids)) == len(chunk_ids)):
            raise bad("chunk ids and text hashes")
        if not (isinstance(terms, list) and all(isinstance(t, str) for t in terms)):
            raise bad("terms")
        num_docs = len(chunk_ids)
        if header["num_docs"] != num_docs:
            raise bad("number of chunks")
        flat = np.load(root / TOKENS_FILE, allow_pickle=False)
        offsets = np.load(root / OFFSETS_FILE, allow_pickle=False)
        if flat.ndim != 1 or offsets.shape != (num_docs + 1,) or offsets[0] != 0 or offsets[-1] != flat.size:
            raise bad("token offsets")
        if num_docs and np.any(np.diff(offsets) < 0):
            raise bad("token offsets")
        bm25 = None
        vocab: list[str] = []
        if header["vocab_size"]:
            bm25 = _import_bm25s().BM25.load(root / BM25S_DIR, load_corpus=False, mmap=False, allow_pickle=False)
            vocab_dict = bm25.vocab_dict
            vocab = sorted(vocab_dict, key=vocab_dict.__getitem__)
            if [vocab_dict[token] for token in vocab] != list(range(len(vocab))):
                raise bad("vocabulary ids")
            scores = bm25.scores
            if scores["num_docs"] != num_docs or len(scores["indptr"]) != len(vocab) + 1:
                raise bad("BM25 matrix shape")
            if scores["indptr"][-1] != len(scores["data"]) or len(scores["data"]) != len(scores["indices"]):
                raise bad("BM25 matrix arrays")
            if len(scores["indices"]) and (scores["indices"].min() < 0 or scores["indices"].max() >= num_docs):
                raise bad("BM25 matrix document ids")
        if header["vocab_size"] != len(vocab):
            raise bad("vocabulary size")
        if flat.size and (flat.min() < 0 or flat.max() >= len(vocab)):
            raise bad("token ids")
        tokenizer = KeywordTokenizer(terms, settings, cache_dir=cache_dir)
        return cls(
            chunk_ids=chunk_ids,
            text_keys=keys,
            vocab=vocab,
            flat_tokens=flat.astype(np.int32, copy=False),
            offsets=offsets.astype(np.int64, copy=False),
            tokenizer=tokenizer,
            terms_learned=bool(header["terms_learned"]),
            params=params,
            bm25=bm25,
        )


# --- file helpers ----------------------------------------------------------------


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json(path: Path, value: Any, indent: int | None = None) -> None:
    _atomic_write(path, json.dumps(value, ensure_ascii=False, indent=indent, sort_keys=True).encode("utf-8"))


def _write_npy(path: Path, array: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            np.save(handle, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _file_meta(path: Path) -> dict[str, Any]:
    return {"bytes": path.stat().st_size, "sha256": _sha256(path)}


def _read_header(path: Path) -> dict[str, Any]:
    root = path.parent
    try:
        header = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptIndexError(f"keyword index at {root}: {HEADER_FILE} is unreadable ({exc}): rebuild it") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise CorruptIndexError(f"{root} does not hold a keyword index ({HEADER_FILE} has no {FORMAT!r} format)")
    if header.get("format_version") != FORMAT_VERSION:
        raise IncompatibleIndexError(
            f"keyword index at {root} has format version {header.get('format_version')!r}, "
            f"this version reads {FORMAT_VERSION}: rebuild it"
        )
    tokenizer = header.get("tokenizer")
    if not isinstance(tokenizer, dict) or tokenizer.get("version") != TOKENIZER_VERSION:
        version = tokenizer.get("version") if isinstance(tokenizer, dict) else None
        raise IncompatibleIndexError(
            f"keyword index at {root} was tokenized with tokenizer version {version!r}, "
            f"this version uses {TOKENIZER_VERSION}: rebuild it"
        )
    required = ("terms_learned", "bm25", "num_docs", "vocab_size", "files")
    if any(key not in header for key in required) or not isinstance(header["files"], dict):
        raise CorruptIndexError(f"keyword index at {root}: {HEADER_FILE} is incomplete: rebuild it")
    return header


def _verify_files(root: Path, header: dict[str, Any]) -> None:
    files: dict[str, Any] = header["files"]
    needed = {CHUNKS_FILE, TERMS_FILE, TOKENS_FILE, OFFSETS_FILE}
    if header["vocab_size"]:
        needed |= {f"{BM25S_DIR}/{name}" for name in BM25S_FILES}
    if not needed <= files.keys():
        raise CorruptIndexError(f"keyword index at {root}: {HEADER_FILE} does not list every file: rebuild it")
    for name, meta in sorted(files.items()):
        path = root / name
        if name.startswith(("/", "..")) or ".." in Path(name).parts or not isinstance(meta, dict):
            raise CorruptIndexError(f"keyword index at {root}: bad file entry {name!r} in {HEADER_FILE}")
        if not path.is_file():
            raise CorruptIndexError(f"keyword index at {root}: {name} is missing: rebuild it")
        size = path.stat().st_size
        if size != meta.get("bytes"):
            raise CorruptIndexError(
                f"keyword index at {root}: {name} has {size} bytes, expected {meta.get('bytes')} "
                "(truncated or altered): rebuild it"
            )
        if _sha256(path) != meta.get("sha256"):
            raise CorruptIndexError(f"keyword index at {root}: {name} fails its checksum (altered): rebuild it")
