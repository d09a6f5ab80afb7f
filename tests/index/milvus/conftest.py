"""Fixtures of the Milvus backend tests: Milvus Lite, a real Milvus engine in this process.

Each test gets its own ``.db`` file; every store the library opens is closed by the
code that opened it, which stops Milvus Lite's server with its last user (checked
by ``_no_lite_server_left``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from index.models import embeddings_from_settings
from index.update import update_index
from ragchat.settings import load_settings

pytest.importorskip("pymilvus")


def live_rows(settings) -> int:
    """How many chunk rows the knowledge base's collection holds (of any generation)."""
    from index.milvus.store import MilvusStore

    store = MilvusStore(settings, settings.index_dir)
    try:
        assert store.exists()
        return len(store.client.query(store.name, filter='doc_gen != ""', output_fields=["pk"], limit=1 << 20))
    finally:
        store.close()


def milvus_settings(home: Path, db: Path, **index):
    """The default settings with ``home`` and the Milvus backend at ``db``."""
    settings = load_settings(home=home)
    return settings.model_copy(update={"index": settings.index.model_copy(
        update={"backend": "milvus", "milvus_uri": str(db), "dir": home / "kb" / "index", **index})})


@pytest.fixture(scope="session")
def warm_home(tmp_path_factory, report_text) -> Path:
    """A home whose embedding cache holds the report and the small documents below."""
    home = tmp_path_factory.mktemp("milvus-home")
    docs = small_docs(home / "docs", report_text)
    settings = load_settings(home=home)
    update_index(home / "faiss-index", settings, embeddings_from_settings(settings), add=[docs])
    return home


def small_docs(folder: Path, report_text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.txt").write_text(report_text, encoding="utf-8")
    (folder / "a.txt").write_text("城市简报\n\n今年新建公园14个，改造供热管网96公里。\n", encoding="utf-8")
    (folder / "b.txt").write_text("农业简报\n\n今年全市新建温室大棚210座。\n\n全市玉米单产提高到每亩712公斤。\n",
                                  encoding="utf-8")
    return folder


@pytest.fixture
def docs(tmp_path, report_text) -> Path:
    return small_docs(tmp_path / "docs", report_text)


@pytest.fixture
def settings(warm_home, tmp_path):
    return milvus_settings(warm_home, tmp_path / "milvus.db")


@pytest.fixture(autouse=True)
def _no_lite_server_left():
    yield
    from milvus_lite.server_manager import server_manager_instance

    assert not server_manager_instance._servers, "a Milvus Lite server was left running"
