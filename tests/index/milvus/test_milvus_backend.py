"""The Milvus backend on Milvus Lite: settings and errors, the incremental update, the
retriever (langchain's standard suite) and the same hits as FAISS."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from index.milvus.client import collection_name, connect
from index.milvus.store import MilvusStore
from index.models import embeddings_from_settings
from index.open import open_index
from index.retriever import HybridRetriever
from index.update import update_index
from ragchat.errors import ConfigError, IndexBackendUnavailableError, IndexNotFoundError
from ragchat.net import free_loopback_port
from ragchat.settings import load_settings

from ..retriever_suite import StandardRetrieverSuite
from .conftest import live_rows, milvus_settings

ROOT = Path(__file__).resolve().parents[3]


def _add(settings, *paths, **kw):
    return update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=paths, **kw)


# --- settings and errors -----------------------------------------------------------------------


def test_the_default_backend_is_faiss_and_never_imports_pymilvus(tmp_path):
    assert load_settings().index.backend == "faiss"
    code = ("import sys; import index.open, index.update, index.retriever, chat.service; "
            "print('pymilvus' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert out.stdout.strip() == "False"


def test_an_unknown_backend_is_a_config_error():
    with pytest.raises(Exception, match="unknown index backend"):
        load_settings(index={"backend": "elastic"})


@pytest.mark.parametrize("uri", ["ftp://host/x", "/tmp/no-suffix", "milvus.sqlite"])
def test_a_bad_uri_is_a_config_error(tmp_path, uri):
    with pytest.raises(ConfigError, match="milvus_uri"):
        connect(milvus_settings(tmp_path, Path("x.db"), milvus_uri=uri))


def test_an_unreachable_server_is_a_typed_error(tmp_path):
    port = free_loopback_port()
    with pytest.raises(IndexBackendUnavailableError, match=f"127.0.0.1:{port}"):
        connect(milvus_settings(tmp_path, Path("x.db"), milvus_uri=f"http://127.0.0.1:{port}"))


def test_a_lite_file_held_by_another_process_is_a_typed_error(settings, docs):
    _add(settings, docs / "a.txt")
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from pymilvus import MilvusClient; "
        f"c = MilvusClient({settings.index.milvus_uri!r}); print('open', flush=True); time.sleep(60)")],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(IndexBackendUnavailableError, match="another process"):
            MilvusStore(settings, settings.index_dir)
    finally:
        holder.kill()
        holder.wait()


def test_one_collection_per_knowledge_base():
    assert collection_name(Path("/h/kbs/default/index")) == "ragchat_default"
    assert collection_name(Path("/h/kbs/财务-2024/index")) != collection_name(Path("/h/kbs/default/index"))
    assert collection_name(Path("/tmp/my index")) == "ragchat_my_index"


# --- the incremental update ----------------------------------------------------------------------


def test_add_update_unchanged_remove_on_milvus(settings, docs):
    with pytest.raises(IndexNotFoundError):
        open_index(settings, embeddings_from_settings(settings), build_if_missing=False)
    first = _add(settings, docs / "report.txt", docs / "a.txt")
    assert len(first.added) == 2 and first.version == "g-1"
    n_report = first.n_chunks - 1
    assert live_rows(settings) == first.n_chunks

    again = _add(settings, docs / "report.txt", docs / "a.txt")
    assert len(again.unchanged) == 2 and again.chunks_embedded == 0 and again.version == "g-1"

    (docs / "a.txt").write_text("城市简报\n\n今年新建公园15个。\n", encoding="utf-8")
    changed = _add(settings, docs / "a.txt", docs / "b.txt")
    assert len(changed.updated) == 1 and len(changed.added) == 1 and changed.version == "g-2"
    snap = open_index(settings, embeddings_from_settings(settings), build_if_missing=False)
    try:
        retriever = HybridRetriever.from_settings(snap, embeddings_from_settings(settings), settings)
        texts = [d.page_content for d in retriever.invoke("今年新建公园多少个?", k=3)]
        assert any("公园15个" in t for t in texts) and not any("公园14个" in t for t in texts)
        assert retriever.invoke("温室大棚", k=1)[0].metadata["source"].endswith("b.txt")
        assert "公园15个" in snap.document_text(next(d for d, r in snap.documents.items() if r.source.endswith("a.txt")))
    finally:
        snap.close()
    assert live_rows(settings) == changed.n_chunks  # the old a.txt rows are gone

    removed = update_index(settings.index_dir, settings, embeddings_from_settings(settings), remove=["a.txt", "b.txt"])
    assert len(removed.removed) == 2 and removed.n_chunks == n_report == live_rows(settings)

    rebuilt = update_index(settings.index_dir, settings, embeddings_from_settings(settings), rebuild=True)
    assert rebuilt.n_chunks == n_report and rebuilt.chunks_embedded == 0 and live_rows(settings) == n_report


# --- the retriever -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def report_on_both(warm_home, tmp_path_factory):
    """The report indexed on FAISS and on Milvus Lite, from the same embedding cache."""
    from ragchat.paths import bundled_report

    folder = tmp_path_factory.mktemp("both")
    faiss_settings = load_settings(home=warm_home).model_copy(update={"index": load_settings().index.model_copy(
        update={"dir": folder / "faiss"})})
    both = {}
    for name, s in (("faiss", faiss_settings), ("milvus", milvus_settings(warm_home, folder / "m.db"))):
        _add(s, bundled_report())
        emb = embeddings_from_settings(s)
        both[name] = (s, open_index(s, emb, build_if_missing=False), emb)
    yield both
    for _, snap, _ in both.values():
        snap.close()


@pytest.fixture(autouse=True)
def _no_lite_server_left():  # the module fixture above keeps one open across tests
    yield


class TestStandardRetrieverOnMilvus(StandardRetrieverSuite):
    """langchain_tests' standard retriever suite on the report indexed in Milvus Lite."""

    @pytest.fixture(autouse=True)
    def _index(self, report_on_both):
        _, type(self)._snapshot, type(self)._embeddings = report_on_both["milvus"]


def _dev_questions(n: int) -> list[str]:
    lines = (ROOT / "eval" / "sets" / "report_dev.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()][:n]


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_milvus_finds_what_faiss_finds(report_on_both, mode):
    """Dense and keyword hits are the same as FAISS' and bm25s' (same vectors, same BM25 terms);
    hybrid's top 5 overlap at least 90% (RRF ties may break differently)."""
    (s, faiss_snap, emb), (_, milvus_snap, _) = report_on_both["faiss"], report_on_both["milvus"]
    faiss_r = HybridRetriever.from_settings(faiss_snap, emb, s, mode=mode)
    milvus_r = HybridRetriever.from_settings(milvus_snap, emb, s, mode=mode)
    overlap, total = 0, 0
    for question in _dev_questions(40):
        a = [d.id for d in faiss_r.invoke(question, k=5)]
        b = [d.id for d in milvus_r.invoke(question, k=5)]
        overlap, total = overlap + len(set(a) & set(b)), total + len(a)
        if mode != "hybrid":
            assert a[:1] == b[:1], question
    assert total and overlap / total >= (0.97 if mode != "hybrid" else 0.9), (mode, overlap, total)


def test_milvus_documents_carry_the_same_metadata(report_on_both):
    (s, faiss_snap, emb), (_, milvus_snap, _) = report_on_both["faiss"], report_on_both["milvus"]
    question = "永林化工磷酸三乙酯项目年产多少?"
    a = HybridRetriever.from_settings(faiss_snap, emb, s).invoke(question, k=1)[0]
    b = HybridRetriever.from_settings(milvus_snap, emb, s).invoke(question, k=1)[0]
    assert a.id == b.id and a.page_content == b.page_content
    for key in ("source", "doc_id", "heading_path", "kind", "start", "end", "spans", "pages", "dense_rank"):
        assert a.metadata[key] == b.metadata[key], key
    assert b.metadata["keyword_score"] == pytest.approx(a.metadata["keyword_score"], rel=1e-3)
    assert b.metadata["dense_score"] == pytest.approx(a.metadata["dense_score"], abs=1e-5)


def test_excluded_documents_are_filtered_in_milvus(report_on_both):
    s, snap, emb = report_on_both["milvus"]
    retriever = HybridRetriever.from_settings(snap, emb, s)
    doc_id = retriever.search("肉牛养殖量达到多少？", k=3)[0].metadata["doc_id"]
    for mode in ("dense", "keyword", "hybrid"):
        assert retriever.search("肉牛养殖量达到多少？", k=3, mode=mode, exclude_docs=[doc_id]) == []
        assert retriever.search("肉牛养殖量达到多少？", k=3, mode=mode, exclude_docs=["another"])


def test_the_answer_path_gives_the_same_answers_on_both_backends(report_on_both):
    """A sample of 15 dev questions through AnswerService: at most one answer may differ (a
    fusion tie broken otherwise); the full dev-set figure is in docs/scale.md."""
    from index.milvus.bench import same_answers

    (s, faiss_snap, emb), (_, milvus_snap, _) = report_on_both["faiss"], report_on_both["milvus"]
    questions = _dev_questions(15)
    assert len(same_answers(faiss_snap, milvus_snap, s, emb, questions)) <= 1


# --- migrate ---------------------------------------------------------------------------------


def test_migrate_copies_a_faiss_index_without_embedding(settings, docs, tmp_path):
    from click.testing import CliRunner

    from index.store import load_snapshot
    from ragchat.cli.main import cli

    faiss = settings.model_copy(update={"index": settings.index.model_copy(update={"backend": "faiss"})})
    _add(faiss, docs / "report.txt", docs / "a.txt")
    env = {"RAGCHAT_HOME": str(settings.home), "RAGCHAT_INDEX__DIR": str(settings.index_dir),
           "RAGCHAT_INDEX__MILVUS_URI": settings.index.milvus_uri}
    result = CliRunner().invoke(cli, ["index", "migrate", "--to", "milvus"], env=env)
    assert result.exit_code == 0, result.output
    assert "copied 2 documents" in result.output
    again = CliRunner().invoke(cli, ["index", "migrate", "--to", "milvus"], env=env)
    assert again.exit_code == 1 and "--replace" in again.output

    emb = embeddings_from_settings(settings)
    local = load_snapshot(settings.index_dir)
    moved = open_index(settings, emb, build_if_missing=False)
    try:
        assert [c.id for c in sorted(moved.chunks, key=lambda c: c.id)] == [c.id for c in sorted(local.chunks, key=lambda c: c.id)]
        assert moved.documents == local.documents
        ids = [c.id for c in local.chunks]  # the vectors are copied, not embedded again
        assert (moved.vectors_of(ids) == local.vectors_of(ids)).all()
        doc = next(d for d, r in local.documents.items() if r.source.endswith("a.txt"))
        assert moved.document_text(doc) == local.document_text(doc)
        hits = HybridRetriever.from_settings(moved, emb, settings).invoke("今年新建公园多少个?", k=3)
        assert any("公园14个" in d.page_content for d in hits)
    finally:
        moved.close()
        local.close()
    # the Milvus index then takes the usual incremental updates
    assert len(_add(settings, docs / "a.txt", docs / "b.txt").added) == 1


def test_migrate_waits_for_a_writer_of_the_index_and_copies_nothing_meanwhile(settings, docs, tmp_path):
    """`index migrate` holds the writer lock `index add` holds: while another process changes the
    FAISS folder, the copy is refused (after its --wait) and Milvus is left untouched."""
    import textwrap

    from click.testing import CliRunner

    from ragchat.cli.main import cli

    settings = settings.model_copy(update={"index": settings.index.model_copy(update={"dir": tmp_path / "index"})})
    faiss = settings.model_copy(update={"index": settings.index.model_copy(update={"backend": "faiss"})})
    _add(faiss, docs / "a.txt")
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from index.lock import index_lock
        with index_lock(Path({str(settings.index_dir)!r})):
            print("locked", flush=True)
            time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[3])
    env = {"RAGCHAT_HOME": str(settings.home), "RAGCHAT_INDEX__DIR": str(settings.index_dir),
           "RAGCHAT_INDEX__MILVUS_URI": settings.index.milvus_uri}
    try:
        assert holder.stdout.readline().strip() == "locked"
        refused = CliRunner().invoke(cli, ["index", "migrate", "--to", "milvus", "--wait", "0.5"], env=env)
        assert refused.exit_code == 1
        assert f"process {holder.pid} is changing the index; waiting up to 0.5 s" in refused.output
        assert f"being changed by process {holder.pid} (waited 0.5 s)" in refused.output
        store = MilvusStore(settings, settings.index_dir)
        try:
            assert store.pointer() is None  # nothing was written
        finally:
            store.close()
    finally:
        holder.kill()
        holder.wait()
    done = CliRunner().invoke(cli, ["index", "migrate", "--to", "milvus"], env=env)
    assert done.exit_code == 0 and "copied 1 documents" in done.output, done.output
