"""One configuration of the scale benchmark, measured in its own process.

``python -m index.scale_runs KIND CORPUS_FOLDER OUT.json`` builds one index over the corpus
(:mod:`index.scale_data`) and writes one JSON record: build seconds, peak RSS of this process
(VmHWM: its own, not its parent's) and RSS once the corpus is loaded, index size on disk, and per search setting
p50/p95 of single queries at concurrency 1 and 8 (8 client threads), recall@10 against the exact
top-10, and the top-30 rows of each dev question (for hybrid hit@5, fused by the caller).

Kinds: ``flat``, ``hnsw`` (M 32, efConstruction 64 as the app; efSearch 64–512), ``hnsw-wide``
(the same, efSearch 1024 and 2048), ``ivfpq48``, ``ivfpq48r`` (with an exact refine), ``ivfpq96``,
``bm25s`` (ours), ``milvus-hnsw``, ``milvus-ivf``, ``milvus-bm25`` (Milvus Lite, jieba analyzer).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from index.scale_data import Corpus, load_corpus, log

KINDS = ("flat", "hnsw", "hnsw-wide", "ivfpq48", "ivfpq48r", "ivfpq96", "bm25s", "milvus-hnsw", "milvus-ivf", "milvus-bm25")
HNSW_EF = (64, 128, 256, 512)
HNSW_EF_WIDE = (1024, 2048)  # `hnsw-wide`: the same graph, searched wider (for the largest sizes)
IVF_NPROBE = (8, 16, 32, 64, 128)
REFINE_K_FACTORS = (4, 16)  # the refine step re-ranks k·k_factor PQ candidates exactly
DEPTH = 30  # candidates per side, as retrieval.candidates
CONCURRENCY = 8


@dataclass
class Setting:
    """One search setting of a configuration."""

    name: str
    p50_ms: float
    p95_ms: float
    p50_c8_ms: float
    p95_c8_ms: float
    qps_c8: float
    recall10: float | None
    dev_top: list[list[int]] = field(default_factory=list)


@dataclass
class Record:
    kind: str
    n: int
    build_s: float
    rss_data_mb: float
    rss_peak_mb: float
    disk_mb: float
    settings: list[Setting]
    load: str
    note: str = ""


def _status_mb(field_name: str) -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return math.nan


def rss_mb() -> float:
    return _status_mb("VmRSS")


def peak_rss_mb() -> float:
    """This process' peak RSS since its exec (VmHWM). Not ``ru_maxrss``: Linux keeps that across
    fork and exec, so a child would report its parent's peak when that was higher."""
    return _status_mb("VmHWM")


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def _timed(search: Callable[[int], list[int]], n_queries: int, threads: int) -> tuple[list[float], float]:
    def one(i: int) -> float:
        t = time.perf_counter()
        search(i)
        return (time.perf_counter() - t) * 1000

    started = time.perf_counter()
    if threads == 1:
        times = [one(i) for i in range(n_queries)]
    else:
        with ThreadPoolExecutor(threads) as pool:
            times = list(pool.map(one, range(n_queries)))
    return times, n_queries / (time.perf_counter() - started)


def measure(name: str, search_vec: Callable[[np.ndarray, int], list[int]], corpus: Corpus,
            set_threads: Callable[[int], None] = lambda t: None) -> Setting:
    """Latency over the benchmark's queries at concurrency 1 and 8, recall@10, dev top-30."""
    qs = corpus.queries
    search_vec(qs[0], 10)  # warm
    set_threads(2)
    found = [search_vec(q, 10) for q in qs]
    t1, _ = _timed(lambda i: search_vec(qs[i], 10), len(qs), 1)
    set_threads(1)  # 8 client threads, one OpenMP thread each
    t8, qps = _timed(lambda i: search_vec(qs[i % len(qs)], 10), 2 * len(qs), CONCURRENCY)
    set_threads(2)
    recall = float(np.mean([len(set(f) & set(t.tolist())) / 10 for f, t in zip(found, corpus.truth)]))
    dev = [search_vec(q, DEPTH) for q in corpus.dev_vectors]
    return Setting(name, _pct(t1, 50), _pct(t1, 95), _pct(t8, 50), _pct(t8, 95), round(qps, 1),
                   round(recall, 4), dev)


def _faiss_search(index) -> Callable[[np.ndarray, int], list[int]]:
    def search(q: np.ndarray, k: int) -> list[int]:
        _, rows = index.search(np.ascontiguousarray(q, dtype=np.float32).reshape(1, -1), k)
        return [int(r) for r in rows[0] if r >= 0]
    return search


def _disk_mb(write: Callable[[Path], None]) -> float:
    folder = Path(tempfile.mkdtemp(prefix="scale-disk-"))
    try:
        write(folder / "index")
        return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_faiss(kind: str, corpus: Corpus, started: float) -> tuple[float, float, list[Setting]]:
    import faiss

    threads = faiss.omp_set_num_threads
    threads(2)
    x = np.ascontiguousarray(corpus.vectors)
    d = x.shape[1]
    t = time.perf_counter()
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
        index.add(x)
    elif kind.startswith("hnsw"):
        index = faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 64  # as index/vector.py: max(40, 2·M)
        for lo in range(0, len(x), 100_000):
            index.add(x[lo:lo + 100_000])
            log(f"{kind}: added {min(len(x), lo + 100_000)}", started)
    else:
        m = 96 if kind == "ivfpq96" else 48
        nlist = max(16, int(round(4 * math.sqrt(len(x)))))
        quantizer = faiss.IndexFlatIP(d)
        ivf = faiss.IndexIVFPQ(quantizer, d, nlist, m, 8, faiss.METRIC_INNER_PRODUCT)
        index = faiss.IndexRefineFlat(ivf) if kind.endswith("r") else ivf
        sample = x[np.random.default_rng(0).choice(len(x), min(len(x), 39 * nlist), replace=False)]
        index.train(sample)
        log(f"{kind}: trained (nlist {nlist}, PQ {m} bytes, {len(sample)} samples)", started)
        index.add(x)
    build_s = time.perf_counter() - t
    log(f"{kind}: built in {build_s:.1f} s", started)
    disk = _disk_mb(lambda p: faiss.write_index(index, str(p)))
    search = _faiss_search(index)
    out = []
    if kind == "flat":
        out.append(measure("exact", search, corpus, threads))
    elif kind.startswith("hnsw"):
        for ef in HNSW_EF if kind == "hnsw" else HNSW_EF_WIDE:
            index.hnsw.efSearch = ef
            out.append(measure(f"ef={ef}", search, corpus, threads))
            log(f"{kind}: ef={ef} measured", started)
    else:
        ivf = faiss.extract_index_ivf(index)
        for nprobe in IVF_NPROBE:
            ivf.nprobe = nprobe
            for k_factor in REFINE_K_FACTORS if kind.endswith("r") else (None,):
                name = f"nprobe={nprobe}"
                if k_factor:
                    index.k_factor = k_factor
                    name += f" refine×{k_factor}"
                out.append(measure(name, search, corpus, threads))
                log(f"{kind}: {name} measured", started)
    return build_s, disk, out


def run_bm25s(corpus: Corpus, started: float) -> tuple[float, float, list[Setting]]:
    from index.keyword.bm25 import KeywordIndex

    texts = corpus.texts()
    log(f"bm25s: {len(texts)} texts read", started)
    t = time.perf_counter()
    index = KeywordIndex.build([(str(i), s) for i, s in enumerate(texts)])
    build_s = time.perf_counter() - t
    del texts
    log(f"bm25s: built in {build_s:.1f} s", started)
    disk = _disk_mb(index.save)
    return build_s, disk, [_measure_text("bm25s", lambda q, k: [int(c) for c, _ in index.search(q, k)], corpus)]


def _measure_text(name: str, search: Callable[[str, int], list[int]], corpus: Corpus) -> Setting:
    """Keyword latency over the dev questions (no recall: the exact answer is BM25 itself)."""
    qs = [d.question for d in corpus.dev]
    search(qs[0], 10)
    dev = [search(q, DEPTH) for q in qs]
    t1, _ = _timed(lambda i: search(qs[i], 10), len(qs), 1)
    t8, qps = _timed(lambda i: search(qs[i % len(qs)], 10), 2 * len(qs), CONCURRENCY)
    return Setting(name, _pct(t1, 50), _pct(t1, 95), _pct(t8, 50), _pct(t8, 95), round(qps, 1), None, dev)


def run_milvus(kind: str, corpus: Corpus, started: float) -> tuple[float, float, list[Setting]]:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    folder = Path(tempfile.mkdtemp(prefix="scale-milvus-"))
    try:
        client = MilvusClient(str(folder / "bench.db"))
        s = client.create_schema(auto_id=False)
        s.add_field("pk", DataType.INT64, is_primary=True)
        ip = client.prepare_index_params()
        nlist = max(16, int(round(4 * math.sqrt(corpus.n))))
        if kind == "milvus-bm25":
            s.add_field("text", DataType.VARCHAR, max_length=8192, enable_analyzer=True,
                        analyzer_params={"tokenizer": "jieba"})
            s.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
            s.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                    input_field_names=["text"], output_field_names=["bm25"]))
            ip.add_index("bm25", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
            texts = corpus.texts()
        else:
            s.add_field("dense", DataType.FLOAT_VECTOR, dim=corpus.vectors.shape[1])
            if kind == "milvus-hnsw":
                ip.add_index("dense", index_type="HNSW", metric_type="IP", params={"M": 32, "efConstruction": 64})
            else:
                ip.add_index("dense", index_type="IVF_FLAT", metric_type="IP", params={"nlist": nlist})
        client.create_collection("bench", schema=s, index_params=ip, consistency_level="Strong")
        t = time.perf_counter()
        batch = 2000
        for lo in range(0, corpus.n, batch):
            hi = min(corpus.n, lo + batch)
            if kind == "milvus-bm25":
                rows = [{"pk": i, "text": texts[i]} for i in range(lo, hi)]
            else:
                rows = [{"pk": i, "dense": corpus.vectors[i].tolist()} for i in range(lo, hi)]
            client.insert("bench", rows)
            if hi % 20_000 == 0 or hi == corpus.n:
                log(f"{kind}: inserted {hi}", started)
        client.flush("bench")
        client.load_collection("bench")
        build_s = time.perf_counter() - t
        log(f"{kind}: built in {build_s:.1f} s", started)
        disk = round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)
        out = []
        if kind == "milvus-bm25":
            def search_text(q: str, k: int) -> list[int]:
                res = client.search("bench", data=[q], anns_field="bm25", limit=k, search_params={"metric_type": "BM25"})
                return [int(h["pk"]) for h in res[0]]
            out.append(_measure_text("jieba BM25", search_text, corpus))
        else:
            sweep = [("ef", ef) for ef in HNSW_EF] if kind == "milvus-hnsw" else [("nprobe", p) for p in IVF_NPROBE]
            for key, value in sweep:
                def search(q: np.ndarray, k: int, key=key, value=value) -> list[int]:
                    res = client.search("bench", data=[q.tolist()], anns_field="dense", limit=k,
                                        search_params={"metric_type": "IP", "params": {key: max(value, k)}})
                    return [int(h["pk"]) for h in res[0]]
                out.append(measure(f"{key}={value}", search, corpus))
                log(f"{kind}: {key}={value} measured", started)
        client.close()
        return build_s, disk, out
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run(kind: str, folder: Path) -> Record:
    started = time.perf_counter()
    corpus = load_corpus(folder)
    rss_data = rss_mb()
    log(f"{kind} n={corpus.n}: corpus loaded ({rss_data:.0f} MB)", started)
    if kind in ("flat", "hnsw", "hnsw-wide", "ivfpq48", "ivfpq48r", "ivfpq96"):
        build_s, disk, settings = run_faiss(kind, corpus, started)
    elif kind == "bm25s":
        build_s, disk, settings = run_bm25s(corpus, started)
    elif kind.startswith("milvus-"):
        build_s, disk, settings = run_milvus(kind, corpus, started)
    else:
        raise ValueError(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    with open("/proc/loadavg") as fh:
        load = " ".join(fh.read().split()[:3])
    return Record(kind, corpus.n, round(build_s, 2), round(rss_data), round(peak_rss_mb()), disk, settings, load)


def main(argv: list[str] | None = None) -> None:
    kind, folder, out = (argv or sys.argv[1:])[:3]
    record = run(kind, Path(folder))
    Path(out).write_text(json.dumps(asdict(record)), encoding="utf-8")


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    main()
