"""kill -9 in the middle of an update on Milvus Lite: the reopened index answers from the old
state or the new one, never a mix, and the next update cleans up what the dead writer left.

The child is a real ``update_index`` process on a real Milvus Lite file; the test only picks
the moment of the SIGKILL by wrapping pymilvus' client calls in the child: after the first rows
of the new generation are inserted (before the commit point), right after the pointer flip
(the commit point, before the clean-up), and after the first clean-up delete.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from index.milvus.store import MilvusStore
from index.models import embeddings_from_settings
from index.open import open_index
from index.retriever import HybridRetriever
from index.update import update_index

ROOT = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent("""
    import os, signal, sys
    from pathlib import Path
    from pymilvus import MilvusClient
    from index.milvus.store import MilvusStore
    from index.models import embeddings_from_settings
    from index.update import update_index
    from ragchat.settings import load_settings

    point, docs = sys.argv[1], Path(sys.argv[2])
    seen = {"pointer": 0}

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    insert, delete, set_pointer = MilvusClient.insert, MilvusClient.delete, MilvusStore._set_pointer

    def insert_then_die(self, collection_name, data, *a, **kw):
        result = insert(self, collection_name, data, *a, **kw)
        if point == "insert" and not collection_name.endswith("_meta"):
            die()
        return result

    def delete_then_die(self, *a, **kw):
        result = delete(self, *a, **kw)
        if point == "clean":
            die()
        return result

    def set_pointer_then_die(self, pointer):
        set_pointer(self, pointer)
        seen["pointer"] += 1
        if point == "flip" and seen["pointer"] == 2:
            die()

    MilvusClient.insert, MilvusClient.delete, MilvusStore._set_pointer = insert_then_die, delete_then_die, set_pointer_then_die
    settings = load_settings()
    update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=[docs / "a.txt", docs / "b.txt"])
    print("not killed")
""")


def _sources(snapshot) -> set[str]:
    return {Path(rec.source).name for rec in snapshot.documents.values()}


def _live_rows(settings) -> tuple[int, bool]:
    store = MilvusStore(settings, settings.index_dir)
    try:
        assert store.exists()
        rows = store.client.query(store.name, filter='doc_gen != ""', output_fields=["pk"], limit=1 << 20)
        return len(rows), store.pointer().exact
    finally:
        store.close()


@pytest.mark.parametrize("point, committed", [("insert", False), ("flip", True), ("clean", True)])
def test_a_kill_mid_update_leaves_the_old_or_the_new_state(settings, docs, point, committed):
    emb = embeddings_from_settings(settings)
    update_index(settings.index_dir, settings, emb, add=[docs / "report.txt", docs / "a.txt"])
    (docs / "a.txt").write_text("城市简报\n\n今年新建公园15个，改造供热管网96公里。\n", encoding="utf-8")
    env = {**os.environ, "RAGCHAT_HOME": str(settings.home), "RAGCHAT_INDEX__BACKEND": "milvus",
           "RAGCHAT_INDEX__MILVUS_URI": settings.index.milvus_uri, "RAGCHAT_INDEX__DIR": str(settings.index_dir)}
    child = subprocess.run([sys.executable, "-c", CHILD, point, str(docs)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=600)
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]

    snap = open_index(settings, emb, build_if_missing=False)
    try:
        expected = {"report.txt", "a.txt", "b.txt"} if committed else {"report.txt", "a.txt"}
        assert _sources(snap) == expected
        retriever = HybridRetriever.from_settings(snap, emb, settings)
        for mode in ("dense", "keyword", "hybrid"):
            texts = [d.page_content for d in retriever.search("今年新建公园多少个?", k=5, mode=mode)]
            assert any(("公园15个" if committed else "公园14个") in t for t in texts), (mode, texts)
            assert not any(("公园14个" if committed else "公园15个") in t for t in texts), (mode, texts)
            sources = {Path(d.metadata["source"]).name for d in retriever.search("温室大棚", k=5, mode=mode)}
            assert sources <= expected
        n_chunks = len(snap.chunks)
    finally:
        snap.close()
    rows, exact = _live_rows(settings)
    assert not exact  # the dead writer's rows (or the old generation's) may be there: searches filter them
    if point != "clean":
        assert rows > n_chunks

    (docs / "c.txt").write_text("交通简报\n\n今年新开公交线路8条。\n", encoding="utf-8")
    after = update_index(settings.index_dir, settings, emb, add=[docs / "a.txt", docs / "b.txt", docs / "c.txt"])
    assert after.n_documents == 4
    assert _live_rows(settings) == (after.n_chunks, True)  # the next update left only live rows
