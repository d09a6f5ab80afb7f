"""The Milvus backend for long-running services: following other writers' commits (chat.live),
two Milvus calls per hybrid search, and `ragchat index status` / `verify`.

Milvus Lite serves one process at a time, so the "other writer" is a second store in this
process on the same Milvus Lite file (update_index opens its own connection), as two replicas
against one Milvus server would be.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from chat.live import LiveService
from chat.service import AnswerService
from index.milvus.store import MilvusStore
from index.milvus.verify import _token, masked_uri
from index.models import embeddings_from_settings
from index.open import open_index
from index.retriever import HybridRetriever
from index.update import update_index
from ragchat.cli.main import cli

GREENHOUSE = "今年全市新建温室大棚多少座?"


def _add(settings, *paths):
    return update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=paths)


def _env(settings) -> dict[str, str]:
    return {"RAGCHAT_HOME": str(settings.home), "RAGCHAT_INDEX__DIR": str(settings.index_dir),
            "RAGCHAT_INDEX__BACKEND": "milvus", "RAGCHAT_INDEX__MILVUS_URI": settings.index.milvus_uri}


# --- live follow ----------------------------------------------------------------------------------


def test_a_live_service_answers_from_a_generation_committed_by_another_writer(settings, docs):
    _add(settings, docs / "report.txt")
    embeddings = embeddings_from_settings(settings)
    live = LiveService(AnswerService(settings, open_index(settings, embeddings, build_if_missing=False), embeddings))
    try:
        first = live.get()
        assert first.snapshot.pointer == "g-1"
        assert "210" not in first.answer(GREENHOUSE).text
        assert live.get() is first  # the pointer did not move: nothing reloaded

        report = _add(settings, docs / "b.txt")  # another connection commits generation 2
        assert report.version == "g-2"
        service = live.get()
        assert service is not first and service.snapshot.pointer == "g-2"
        answer = service.answer(GREENHOUSE)
        assert not answer.refused and "210" in answer.text
        assert Path(answer.citations[0].source).name == "b.txt"
        assert "131.7万头" in service.answer("肉牛养殖量达到多少?").text
        assert "131.7万头" in first.answer("肉牛养殖量达到多少?").text  # a question still on the old service
    finally:
        live._release_retired(older_than=0)
        live.service.snapshot.close()


def test_follow_interval_limits_how_often_the_pointer_is_read(settings, docs):
    _add(settings, docs / "report.txt")
    slow = settings.model_copy(update={"index": settings.index.model_copy(update={"follow_interval_s": 3600.0})})
    embeddings = embeddings_from_settings(slow)
    live = LiveService(AnswerService(slow, open_index(slow, embeddings, build_if_missing=False), embeddings))
    try:
        first = live.get()  # the first look reads the pointer
        _add(settings, docs / "b.txt")
        assert live.get() is first  # within the interval: not looked at again
        live._looked -= 3600.0
        assert live.get().snapshot.pointer == "g-2"
    finally:
        live._release_retired(older_than=0)
        live.service.snapshot.close()


# --- calls per search -------------------------------------------------------------------------------


class _CountingClient:
    """The real MilvusClient, with each method call counted by name (a spy, not a fake)."""

    def __init__(self, client) -> None:
        self._client, self.calls = client, []

    def __getattr__(self, name):
        attr = getattr(self._client, name)
        if not callable(attr):
            return attr

        def counted(*args, **kwargs):
            self.calls.append(name)
            return attr(*args, **kwargs)
        return counted


def test_a_hybrid_search_is_two_milvus_calls_and_never_mixes_generations(settings, docs):
    _add(settings, docs / "report.txt", docs / "a.txt")
    embeddings = embeddings_from_settings(settings)
    old = open_index(settings, embeddings, build_if_missing=False)
    try:
        spy = _CountingClient(old.store.client)
        old.store.client = spy
        retriever = HybridRetriever.from_settings(old, embeddings, settings)
        qvec = retriever.query_vector("今年新建公园多少个?")
        hits = retriever.search("今年新建公园多少个?", k=3, qvec=qvec)
        assert spy.calls == ["search", "search"]  # dense, keyword: no pointer read, no hybrid_search
        assert any("公园14个" in d.page_content for d in hits)

        (docs / "a.txt").write_text("城市简报\n\n今年新建公园15个，改造供热管网96公里。\n", encoding="utf-8")
        assert _add(settings, docs / "a.txt").version == "g-2"
        spy.calls.clear()
        hits = retriever.search("今年新建公园多少个?", k=3, qvec=qvec)  # a reader still at generation 1
        # generation 2's rows come first: each side searches again with the generation filter
        assert spy.calls == ["search", "search", "search", "search"]
        assert all(d.id in old._rows for d in hits)
        assert not any("公园15个" in d.page_content for d in hits)
    finally:
        old.close()


# --- status and verify ----------------------------------------------------------------------------


def test_status_on_milvus(settings, docs):
    _add(settings, docs / "report.txt", docs / "a.txt")
    result = CliRunner().invoke(cli, ["index", "status"], env=_env(settings))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "backend:    milvus" in out and settings.index.milvus_uri in out
    assert "collection: ragchat_kb" in out and "generation: 1 (exact)" in out
    assert "documents:  2" in out and "a.txt" in out and "report.txt" in out
    store = MilvusStore(settings, settings.index_dir)
    try:
        assert store.exists()
        n_rows = len(store.client.query(store.name, filter='doc_gen != ""', output_fields=["pk"], limit=1 << 20))
    finally:
        store.close()
    assert f"chunks:     {n_rows}\n" in out
    assert "multilingual-e5-small" in out


def test_status_without_an_index_is_one_line(settings):
    result = CliRunner().invoke(cli, ["index", "status"], env=_env(settings))
    assert result.exit_code == 1 and "no index in Milvus collection" in result.output


def test_the_uri_and_token_are_masked(settings, monkeypatch):
    assert masked_uri("http://root:Milvus@milvus:19530") == "http://root:***@milvus:19530"
    assert masked_uri("https://milvus.internal:19530") == "https://milvus.internal:19530"
    monkeypatch.setenv("MILVUS_TOKEN", "root:s3cret")
    shown = _token(settings, "http://milvus:19530")
    assert shown == "$MILVUS_TOKEN (set)" and "s3cret" not in shown
    monkeypatch.delenv("MILVUS_TOKEN")
    assert "not set" in _token(settings, "http://milvus:19530")


def test_verify_passes_on_a_whole_index_and_after_updates(settings, docs):
    _add(settings, docs / "report.txt", docs / "a.txt")
    _add(settings, docs / "b.txt")
    result = CliRunner().invoke(cli, ["index", "verify"], env=_env(settings))
    assert result.exit_code == 0, result.output
    assert "generation 2 (live, pointer exact)" in result.output and "0 rows of other generations" in result.output
    assert result.output.rstrip().endswith("ok")


def test_verify_finds_rows_deleted_behind_its_back(settings, docs):
    _add(settings, docs / "report.txt", docs / "a.txt")
    store = MilvusStore(settings, settings.index_dir)
    try:
        assert store.exists()
        row = store.client.query(store.name, filter='doc_gen != ""', output_fields=["pk", "doc_id"], limit=1)[0]
        store.client.delete(store.name, filter=f'pk == "{row["pk"]}"')
    finally:
        store.close()
    result = CliRunner().invoke(cli, ["index", "verify"], env=_env(settings))
    assert result.exit_code == 1, result.output
    assert "DAMAGED" in result.output and "chunk rows, its record says" in result.output


def test_verify_finds_dead_rows_under_an_exact_pointer_and_bad_vectors(settings, docs):
    _add(settings, docs / "report.txt", docs / "a.txt")
    store = MilvusStore(settings, settings.index_dir)
    try:
        assert store.exists()
        row = store.client.query(store.name, filter='doc_id != ""', output_fields=["*"], limit=1)[0]
        row.pop("bm25", None)  # the BM25 function's output is computed by Milvus
        dead = dict(row, pk=row["chunk_id"] + "@99", doc_gen=row["doc_id"] + "@99")
        zero = dict(row, dense=[0.0] * len(row["dense"]))  # the live row, its vector zeroed
        store.client.upsert(store.name, [dead, zero])
    finally:
        store.close()
    result = CliRunner().invoke(cli, ["index", "verify"], env=_env(settings))
    assert result.exit_code == 1, result.output
    assert "1 rows of other generations" in result.output
    assert "pointer says exact" in result.output and "vector is zero" in result.output
