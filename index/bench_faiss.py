"""Where HNSW pays off over an exact flat index, measured.

    python -m index.bench_faiss [--sizes 1000,5000,20000,50000,100000]

Vectors are unit-length, 384-dimensional, drawn around 200 random centres
(clustered like real chunk embeddings, unlike uniform noise). For each
size: build time and single-query latency of IndexFlatIP and IndexHNSWFlat
(M=32, efSearch=128), and HNSW's recall@10 against the exact answer.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from index.vector import VectorIndex


EF_SEARCH = (128, 512)


def _vectors(n: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((200, dim)).astype(np.float32)
    x = centres[rng.integers(0, 200, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def measure(n: int, dim: int = 384, queries: int = 200, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    data = _vectors(n, dim, rng)
    qs = _vectors(queries, dim, rng)
    row = {"n": n}
    exact = None
    for kind, hnsw_min in (("flat", n + 1), ("hnsw", 0)):
        started = time.perf_counter()
        index = VectorIndex.build(data, hnsw_min=hnsw_min)
        row[f"{kind}_build_s"] = round(time.perf_counter() - started, 2)
        for ef in ((None,) if kind == "flat" else EF_SEARCH):
            if ef is not None:
                index._index.hnsw.efSearch = ef
            times, found = [], []
            for q in qs:
                t = time.perf_counter()
                hits = index.search(q, 10)
                times.append((time.perf_counter() - t) * 1000)
                found.append({r for r, _ in hits})
            if kind == "flat":
                row["flat_p50_ms"] = round(statistics.median(times), 3)
                exact = found
            else:
                row[f"hnsw{ef}_p50_ms"] = round(statistics.median(times), 3)
                row[f"hnsw{ef}_recall@10"] = round(np.mean([len(a & b) / 10 for a, b in zip(found, exact)]), 3)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,20000,50000,100000")
    args = parser.parse_args()
    cols = " | ".join(f"HNSW ef={ef} p50 ms | recall@10" for ef in EF_SEARCH)
    print(f"| vectors | flat build s | flat p50 ms | HNSW build s | {cols} |")
    print("|---" * (4 + 2 * len(EF_SEARCH)) + "|")
    for n in (int(s) for s in args.sizes.split(",")):
        r = measure(n)
        hnsw = " | ".join(f"{r[f'hnsw{ef}_p50_ms']} | {r[f'hnsw{ef}_recall@10']}" for ef in EF_SEARCH)
        print(f"| {r['n']} | {r['flat_build_s']} | {r['flat_p50_ms']} | {r['hnsw_build_s']} | {hnsw} |", flush=True)


if __name__ == "__main__":
    main()
