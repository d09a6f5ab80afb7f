"""CachedEmbeddings: counting, order, duplicates, persistence, two processes."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from index.embeddings import CachedEmbeddings, E5Embeddings
from ragchat.errors import EmbeddingError

REPO_ROOT = Path(__file__).resolve().parents[2]


def fake_vector(text: str, dim: int = 8) -> list[float]:
    """A deterministic unit vector for ``text`` (exactly representable in float32)."""
    seed = int.from_bytes(
        hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:8], "little"
    )
    vector = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return (vector / np.linalg.norm(vector)).astype(np.float32).tolist()


class CountingEmbeddings(Embeddings):
    """A fake model that records every call."""

    def __init__(self, model_id: str = "fake/v1") -> None:
        self.model_id = model_id
        self.calls: list[list[str]] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [fake_vector(self.model_id + t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return fake_vector("query:" + self.model_id + text)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "cache" / "embeddings.sqlite"


def test_misses_then_hits_and_one_batched_call(db: Path) -> None:
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner, db)
    texts = ["甲", "乙", "丙"]
    first = cache.embed_documents(texts)
    assert inner.calls == [texts]
    assert (cache.hits, cache.misses) == (0, 3)
    assert first == [fake_vector("fake/v1" + t) for t in texts]

    again = cache.embed_documents(texts)
    assert inner.calls == [texts]  # the model was not called again
    assert (cache.hits, cache.misses) == (3, 3)
    assert again == first

    mixed = cache.embed_documents(["丁", "乙", "戊", "甲"])
    assert inner.calls[-1] == ["丁", "戊"]  # only the new texts, in one call
    assert (cache.hits, cache.misses) == (5, 5)
    assert mixed == [fake_vector("fake/v1" + t) for t in ["丁", "乙", "戊", "甲"]]
    assert len(cache) == 5


def test_fill_stores_what_is_missing_and_a_later_call_finds_it(db: Path) -> None:
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner, db)
    cache.embed_documents(["甲"])
    assert cache.fill(["甲", "乙", "丙"]) is None  # warms the cache, returns no vectors
    assert inner.calls == [["甲"], ["乙", "丙"]]
    assert cache.embed_documents(["丙", "乙"]) == [fake_vector("fake/v1" + t) for t in ["丙", "乙"]]
    assert inner.calls[-1] == ["乙", "丙"] and len(cache) == 3


def test_order_is_preserved_for_a_shuffled_mix(db: Path) -> None:
    cache = CachedEmbeddings(CountingEmbeddings(), db)
    texts = [f"text {i}" for i in range(50)]
    cache.embed_documents(texts[::2])
    order = list(np.random.default_rng(1).permutation(texts))
    assert cache.embed_documents(order) == [fake_vector("fake/v1" + t) for t in order]


def test_duplicates_in_one_call_are_embedded_once(db: Path) -> None:
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner, db)
    result = cache.embed_documents(["a", "b", "a", "a", "b"])
    assert inner.calls == [["a", "b"]]
    assert (cache.hits, cache.misses) == (0, 2)
    assert result[0] == result[2] == result[3] and result[1] == result[4]


def test_exact_text_is_the_key(db: Path) -> None:
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner, db)
    cache.embed_documents(["秸秆", "秸秆 ", "", "\ud800"])  # lone surrogate must not crash
    assert cache.misses == 4
    cache.embed_documents(["秸秆 ", ""])
    assert cache.hits == 2 and len(inner.calls) == 1


def test_persistence_across_instances(db: Path) -> None:
    texts = ["one", "two", "three"]
    with CachedEmbeddings(CountingEmbeddings(), db) as first:
        expected = first.embed_documents(texts)
    inner = CountingEmbeddings()
    second = CachedEmbeddings(inner, db)
    assert second.embed_documents(texts) == expected
    assert (second.hits, second.misses) == (3, 0)
    assert inner.calls == []


def test_other_model_id_misses(db: Path) -> None:
    CachedEmbeddings(CountingEmbeddings("fake/v1"), db).embed_documents(["x", "y"])
    inner = CountingEmbeddings("fake/v2")
    other = CachedEmbeddings(inner, db)
    assert other.embed_documents(["x", "y"]) == [fake_vector("fake/v2" + t) for t in "xy"]
    assert (other.hits, other.misses) == (0, 2)
    overridden = CachedEmbeddings(CountingEmbeddings("fake/v2"), db, model_id="fake/v1")
    overridden.embed_documents(["x"])
    assert overridden.hits == 1


def test_vectors_stored_as_float32_blobs(db: Path) -> None:
    cache = CachedEmbeddings(CountingEmbeddings(), db)
    cache.embed_documents(["blob"])
    cache.close()
    with sqlite3.connect(db) as conn:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        key, dim, blob = conn.execute("SELECT text_sha256, dim, vector FROM embeddings").fetchone()
    assert mode == "wal"
    assert key == hashlib.sha256(b"blob").digest()
    assert dim == 8 and len(blob) == 8 * 4
    assert np.frombuffer(blob, dtype="<f4").tolist() == fake_vector("fake/v1blob")


def test_queries_are_not_cached(db: Path) -> None:
    inner = CountingEmbeddings()
    cache = CachedEmbeddings(inner, db)
    assert cache.embed_query("q") == inner.embed_query("q")
    assert (cache.hits, cache.misses) == (0, 0)
    assert not db.exists() or len(cache) == 0


def test_errors_are_typed(tmp_path: Path) -> None:
    class Anonymous(CountingEmbeddings):
        pass

    anonymous = Anonymous()
    del anonymous.model_id
    with pytest.raises(EmbeddingError, match="pass model_id"):
        CachedEmbeddings(anonymous, tmp_path / "c.sqlite")

    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(EmbeddingError, match="delete it"):
        CachedEmbeddings(CountingEmbeddings(), junk).embed_documents(["x"])

    class Short(CountingEmbeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return super().embed_documents(texts)[:-1]

    with pytest.raises(EmbeddingError, match="returned 1 vectors for 2 texts"):
        CachedEmbeddings(Short(), tmp_path / "s.sqlite").embed_documents(["a", "b"])


def test_wraps_the_real_e5_model(db: Path) -> None:
    e5 = E5Embeddings()
    cache = CachedEmbeddings(e5, db)
    texts = ["扎实做好秸秆秋季全域禁烧", "四平市委八届六次全会于2023年8月3日召开"]
    first = cache.embed_documents(texts)
    assert cache.model_id == e5.model_id and cache.dimension == 384
    calls = e5.stats.texts
    second = CachedEmbeddings(E5Embeddings(), db)
    assert second.embed_documents(texts) == first
    assert second.misses == 0 and e5.stats.texts == calls
    np.testing.assert_allclose(first, e5.embed_documents(texts), atol=1e-6)


ROUNDS = 400
WORKER = textwrap.dedent(
    """
    import hashlib, json, sys
    import numpy as np
    from langchain_core.embeddings import Embeddings
    from index.embeddings import CachedEmbeddings

    def fake_vector(text, dim=8):
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
        return (v / np.linalg.norm(v)).astype(np.float32).tolist()

    class Fake(Embeddings):
        model_id = "fake/v1"
        sent = 0
        def embed_documents(self, texts):
            Fake.sent += len(texts)
            return [fake_vector(self.model_id + t) for t in texts]
        def embed_query(self, text):
            return fake_vector(text)

    path, worker = sys.argv[1], int(sys.argv[2])
    cache = CachedEmbeddings(Fake(), path)
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    bad = 0
    for round_ in range(ROUNDS):
        # overlapping windows: both processes write many of the same texts
        texts = [f"text {(round_ * 7 + worker * 3 + i) % 3000}" for i in range(25)]
        got = cache.embed_documents(texts)
        bad += sum(g != fake_vector("fake/v1" + t) for g, t in zip(got, texts))
    cache.close()
    print(json.dumps({"bad": bad, "hits": cache.hits, "misses": cache.misses, "sent": Fake.sent}))
    """
)


def test_two_processes_share_one_file(db: Path) -> None:
    db.parent.mkdir(parents=True)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER.replace("ROUNDS", str(ROUNDS)), str(db), str(worker)],
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for worker in (0, 1)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    outputs = [proc.communicate("go\n", timeout=120) for proc in procs]
    for proc, (_, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    results = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert all(r["bad"] == 0 for r in results)
    assert all(r["sent"] == r["misses"] for r in results)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        rows = conn.execute("SELECT text_sha256, vector FROM embeddings").fetchall()
    texts = {
        f"text {(r * 7 + w * 3 + i) % 3000}"
        for r in range(ROUNDS)
        for w in (0, 1)
        for i in range(25)
    }
    assert len(rows) == len(texts)
    by_key = {bytes(k): np.frombuffer(v, dtype="<f4").tolist() for k, v in rows}
    for text in texts:
        assert by_key[hashlib.sha256(text.encode()).digest()] == fake_vector("fake/v1" + text)
    # a new instance finds every text
    inner = CountingEmbeddings()
    assert CachedEmbeddings(inner, db).embed_documents(sorted(texts))
    assert inner.calls == []


def test_an_interrupted_embedding_keeps_the_slices_already_done(tmp_path):
    """Vectors are stored a batch at a time: a failure halfway loses only the unfinished batch."""
    from index.embeddings import CachedEmbeddings, E5Embeddings

    class FailsOnThirdBatch(E5Embeddings):
        calls = 0

        def _embed_batch(self, texts, *, query):
            type(self).calls += 1
            if type(self).calls == 3:
                raise KeyboardInterrupt
            return super()._embed_batch(texts, query=query)

    path = tmp_path / "cache.sqlite"
    texts = [f"第{i}条测试句子。" for i in range(10)]
    cache = CachedEmbeddings(FailsOnThirdBatch(batch_size=4), path)
    try:
        cache.embed_documents(texts)
    except KeyboardInterrupt:
        pass
    again = CachedEmbeddings(E5Embeddings(), path, model_id=cache.model_id)
    again.embed_documents(texts)
    assert (again.hits, again.misses) == (8, 2)
