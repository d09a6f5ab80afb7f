"""What a Milvus reader's open spends on the keyword index: building it, reading it from the local
cache (:mod:`index.keyword.cache`), and rebuilding it from the index it held when another machine's
update changed a share of the chunks.

    python -m index.keyword.cache_bench [--chunks 100000] [--changed 0.01] [--out docs/keyword-cache-bench.md]

The chunks are the scale benchmark's corpus (:mod:`index.scale_data`: CMRC sentences recombined,
the report's chunks mixed in), made under ``$RAGCHAT_HOME/bench-scale`` when missing. Figures of
one run, on whatever else the machine is doing; docs/scale.md holds them.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from index.bench_scale import default_work
from index.keyword.bm25 import KeywordIndex
from index.keyword.cache import keyword_index, remember
from index.scale_data import make_corpus
from index.scale_runs import peak_rss_mb


def _folder_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20


def run(n: int, changed: float, work: Path, real: int = 2000) -> list[tuple[str, float, str]]:
    """Rows of (step, seconds, note)."""
    texts = make_corpus(work, n, real=real).texts()
    pairs = [(str(i), t) for i, t in enumerate(texts)]
    rows = []

    def step(label, action, note=""):
        started = time.perf_counter()
        result = action()
        rows.append((label, time.perf_counter() - started, note))
        print(f"{label}: {rows[-1][1]:.1f} s", file=sys.stderr, flush=True)
        return result

    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        KeywordIndex.build(pairs[:10], cache_dir=cache)  # jieba's dictionary cache, not what is measured
        index = step("build (what every open did before the cache)", lambda: KeywordIndex.build(pairs, cache_dir=cache))
        entry = step("write into the cache (the writer, after its commit)", lambda: remember(index, cache, "bench"))
        assert entry is not None
        rows[-1] = rows[-1][:2] + (f"{_folder_mb(entry):.0f} MB on disk",)
        read = step("open: read from the cache", lambda: keyword_index(pairs, cache, "bench"))
        assert read.chunk_ids == index.chunk_ids
        del read
        m = int(n * changed)
        moved = pairs[:n - m] + [(f"new-{i}", texts[(i * 7919) % n][::-1]) for i in range(m)]  # new chunks, new texts
        other = Path(tmp) / "other-machine"
        step(f"open after an update of {m} chunks on another machine: rebuilt from the index held",
             lambda: keyword_index(moved, other, "bench", previous=index))
    return rows


def markdown(n: int, rows) -> str:
    lines = [f"Keyword index of {n:,} chunks (`python -m index.keyword.cache_bench --chunks {n}`, "
             f"{os.cpu_count()} cores, peak RSS {peak_rss_mb():.0f} MB):", "", "| step | seconds | note |", "|---|---|---|"]
    lines += [f"| {label} | {s:.2f} | {note} |" for label, s, note in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=100_000)
    parser.add_argument("--changed", type=float, default=0.01, help="share of chunks an update replaces")
    parser.add_argument("--work", type=Path, default=None, help="where the scale corpus is kept")
    parser.add_argument("--real", type=int, default=2000, help="as index.bench_scale (the corpus' CMRC bases)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    text = markdown(args.chunks, run(args.chunks, args.changed, args.work or default_work(), args.real))
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
