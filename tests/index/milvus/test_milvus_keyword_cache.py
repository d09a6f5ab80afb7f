"""A Milvus reader does not build the keyword index at every open: it reads it from the local cache
by content (``index.keyword.cache``), the writer having left it there; a changed content is another
entry, a damaged entry is built again (Milvus Lite, a real engine)."""

from __future__ import annotations

import shutil

import pytest

from index.keyword import cache
from index.keyword.bm25 import KeywordIndex
from index.milvus.store import MilvusStore
from index.models import embeddings_from_settings
from index.open import open_index
from index.update import update_index

PARKS = "今年新建公园多少个?"


def _add(settings, *paths):
    return update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=paths)


def _open(settings):
    return open_index(settings, embeddings_from_settings(settings), build_if_missing=False)


def _scope(settings):
    """This knowledge base's folder of the keyword index cache."""
    store = MilvusStore(settings, settings.index_dir)
    try:
        return settings.cache_dir / cache.FOLDER / store.cache_scope
    finally:
        store.close()


def _entries(settings) -> list[str]:
    folder = _scope(settings)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


@pytest.fixture
def builds(monkeypatch) -> list[int]:
    """A spy on ``KeywordIndex.build``: the real build, its chunk counts recorded."""
    seen: list[int] = []
    real = KeywordIndex.build.__func__

    def counted(cls, chunks, **kwargs):
        chunks = list(chunks)
        seen.append(len(chunks))
        return real(cls, chunks, **kwargs)

    monkeypatch.setattr(KeywordIndex, "build", classmethod(counted))
    return seen


def test_a_reader_reads_the_index_the_writer_left_and_finds_the_same(settings, docs, builds):
    _add(settings, docs / "report.txt", docs / "a.txt")
    assert len(builds) == 1  # the writer's build (no index before it)
    (entry,) = _entries(settings)
    first, second = _open(settings), _open(settings)
    try:
        assert len(builds) == 1  # neither open built it
        assert cache.key_of(first.keyword) == entry
        fresh = KeywordIndex.build([(c, t) for c, t in zip(first.keyword.chunk_ids, _texts(first))])
        assert cache.key_of(fresh) == entry
        for query in (PARKS, "肉牛养殖量", "全会"):
            assert first.keyword.search(query, k=10) == fresh.search(query, k=10) == second.keyword.search(query, k=10)
    finally:
        first.close()
        second.close()


def _texts(snap) -> list[str]:
    from index.update import embed_text

    with_headings = snap.manifest["embedding"]["with_headings"]
    by_id = {c.id: c for c in snap.chunks}
    return [embed_text(by_id[c], with_headings) for c in snap.keyword.chunk_ids]


def test_an_update_is_a_new_entry_and_the_reader_sees_the_new_text(settings, docs, builds):
    _add(settings, docs / "report.txt", docs / "a.txt")
    (docs / "a.txt").write_text("城市简报\n\n今年新建口袋公园31个。\n", encoding="utf-8")
    _add(settings, docs / "report.txt", docs / "a.txt")
    assert len(_entries(settings)) == 2
    snap = _open(settings)
    try:
        assert len(builds) == 1  # the second index was the writer's rebuild, left for the reader
        hits = snap.keyword.search("口袋公园", k=3)
        assert hits and "口袋公园31个" in snap.chunks[snap.row(hits[0][0])].text
    finally:
        snap.close()


def test_a_damaged_entry_is_built_again(settings, docs, builds):
    _add(settings, docs / "report.txt", docs / "a.txt")
    (entry,) = _entries(settings)
    folder = _scope(settings) / entry
    tokens = folder / "doc_tokens.npy"
    tokens.write_bytes(tokens.read_bytes()[:-8])  # truncated: its SHA-256 no longer matches
    snap = _open(settings)
    try:
        assert len(builds) == 2  # the reader built it
        assert snap.keyword.search(PARKS, k=3)
    finally:
        snap.close()
    assert _entries(settings) == [entry]
    again = _open(settings)  # and wrote it back whole
    again.close()
    assert len(builds) == 2


def test_only_the_most_recent_entries_are_kept(settings, docs):
    _add(settings, docs / "report.txt")
    for n in range(cache.KEEP + 1):
        (docs / "a.txt").write_text(f"城市简报\n\n今年新建公园{n + 10}个。\n", encoding="utf-8")
        _add(settings, docs / "report.txt", docs / "a.txt")
    kept = _entries(settings)
    assert len(kept) == cache.KEEP
    snap = _open(settings)
    try:
        assert cache.key_of(snap.keyword) in kept  # the live one
    finally:
        snap.close()


def test_no_cache_dir_builds_and_writes_nothing(tmp_path):
    pairs = [("c1", "今年新建公园14个"), ("c2", "全市玉米单产提高到每亩712公斤")]
    index = cache.keyword_index(pairs, None, "kb")
    assert index.search("公园", k=1)[0][0] == "c1"
    assert cache.remember(index, None, "kb") is None
    assert not any(tmp_path.iterdir())


def test_an_unwritable_cache_still_returns_the_index(tmp_path):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be", encoding="utf-8")
    pairs = [("c1", "今年新建公园14个"), ("c2", "全市玉米单产提高到每亩712公斤")]
    index = cache.keyword_index(pairs, blocked, "kb")
    assert index.search("玉米", k=1)[0][0] == "c2"


def test_a_reader_on_another_machine_rebuilds_from_the_index_it_held(settings, docs, builds, monkeypatch):
    from index.keyword.tokenize import KeywordTokenizer
    from index.open import load_live

    _add(settings, docs / "report.txt", docs / "a.txt")
    held = _open(settings)
    try:
        _add(settings, docs / "report.txt", docs / "a.txt", docs / "b.txt")
        shutil.rmtree(_scope(settings))  # another machine: this cache is not there
        tokenized: list[str] = []
        real = KeywordTokenizer.tokenize

        def counted(self, text):  # a spy: the real tokenizer, its texts recorded
            tokenized.append(text)
            return real(self, text)

        monkeypatch.setattr(KeywordTokenizer, "tokenize", counted)
        built = len(builds)
        followed = load_live(settings, None, held)
        try:
            assert len(builds) == built  # not built from nothing ...
            new = [t for t in _texts(followed) if "农业简报" in t]
            assert new and tokenized == new  # ... only b.txt's chunks tokenized
            fresh = KeywordIndex.build([(c, t) for c, t in zip(followed.keyword.chunk_ids, _texts(followed))])
            assert cache.key_of(followed.keyword) == cache.key_of(fresh)
            for query in ("温室大棚", PARKS, "肉牛养殖量"):
                assert followed.keyword.search(query, k=10) == fresh.search(query, k=10)
            assert _entries(settings) == [cache.key_of(fresh)]  # and written for the next open here
        finally:
            followed.close()
    finally:
        held.close()
