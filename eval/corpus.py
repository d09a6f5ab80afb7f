"""What an eval indexes: the documents of a set, the distractors, and the embedding cache.

An eval never touches the user's index: it builds one in memory. Vectors come
from a SQLite cache keyed by model and text, kept outside the checkout
(``$RAGCHAT_EVAL_CACHE``, else ``~/.cache/ragchat/eval``), so a re-run, or
a CI run on a clean clone, embeds only texts it has never seen.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from langchain_core.embeddings import Embeddings

from eval.sets import EvalSet, load_squad
from ingest.loaders import load_file
from ingest.types import LoadedDocument
from ragchat.paths import bundled_report
from ragchat.settings import Settings

CACHE_ENV = "RAGCHAT_EVAL_CACHE"
CMRC_DEV = Path(__file__).resolve().parent / "data" / "cmrc2018" / "squad-style-data_cmrc2018_dev.json"
PASSAGE_PREFIX = "cmrc"


def eval_cache_dir() -> Path:
    """Where eval runs keep embedding vectors: ``$RAGCHAT_EVAL_CACHE``, else ``~/.cache/ragchat/eval``."""
    explicit = os.environ.get(CACHE_ENV)
    return Path(explicit).expanduser() if explicit else Path.home() / ".cache" / "ragchat" / "eval"


def eval_embeddings(settings: Settings, cache_dir: Path) -> Embeddings:
    """The configured embedding model behind the eval's vector cache (nothing loads yet)."""
    from index.embeddings import make_embeddings
    from index.models import embedding_options

    cache_dir.mkdir(parents=True, exist_ok=True)
    return make_embeddings(
        settings.embedding.kind, cache_path=cache_dir / "embeddings.sqlite", **embedding_options(settings)
    )


def passage_docs(
    passages: list[tuple[str, str]], prefix: str = PASSAGE_PREFIX, titles: dict[str, str] | None = None
) -> list[LoadedDocument]:
    """Each (id, text) passage as its own document, ``<prefix>-<id>``.

    A passage with a title in ``titles`` (a paragraph of a longer document) opens with it as a
    heading line, as the paragraph's part of a file with that title line would be chunked: the
    title is its chunks' heading, so a paragraph that says only 工程总投资 is still known to be
    about the 白石峡水利枢纽 its title names. The title is a heading, never an answer sentence."""
    titles = titles or {}
    out = []
    for pid, text in passages:
        if pid in titles:
            text = f"# {titles[pid]}\n\n{text}"
        out.append(LoadedDocument(
            doc_id=f"{prefix}-{pid}", source=f"cmrc2018/{pid}", text=text, format="text", encoding="utf-8",
            content_hash=hashlib.sha256(text.encode()).hexdigest(),
        ))
    return out


def distractor_docs(path: Path = CMRC_DEV) -> list[LoadedDocument]:
    """The 848 CMRC 2018 dev passages, each its own document."""
    return passage_docs(load_squad(path).passages)


def corpus_docs(eval_set: EvalSet, docs: tuple[Path, ...] = (), distractors: bool = False) -> list[LoadedDocument]:
    """The documents to index for ``eval_set``.

    A SQuAD-style set brings its passages; otherwise ``docs`` are loaded, the
    bundled report when there are none. ``distractors`` adds the CMRC passages.
    """
    if eval_set.passages:
        loaded = passage_docs(eval_set.passages, titles=eval_set.titles)
    else:
        loaded = [load_file(p) for p in (docs or (bundled_report(),))]
    if distractors:
        have = {d.doc_id for d in loaded}
        loaded += [d for d in distractor_docs() if d.doc_id not in have]
    return loaded


def doc_id_of_passage(passage_id: str, prefix: str = PASSAGE_PREFIX) -> str:
    return f"{prefix}-{passage_id}"
