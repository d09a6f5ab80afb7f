"""Keyword quality on Milvus: its own BM25 (jieba analyzer) against our sparse BM25 vectors.

    python -m index.milvus.bench [--distractors] [--answers]

Builds the bundled report (with ``--distractors``, plus the 848 CMRC 2018 dev
passages) once in memory, writes the same chunks and vectors into a throw-away
Milvus Lite file, then scores the report dev set (hit@1/3/5, MRR@10, as
eval.retrieval_bench) for FAISS + bm25s and for Milvus with each keyword side,
in keyword and hybrid mode, with the latency of each search, and the time and memory (RSS) the
Milvus snapshot's open takes (first building the keyword index, then reading it from the cache);
with ``--answers``,
how many dev questions get the same answer on both backends. Vectors come from
the embedding cache under ``$RAGCHAT_HOME``. docs/scale.md holds the figures.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from eval.retrieval_bench import score
from eval.sets import REPORT_DEV, load_jsonl
from index.milvus.store import MilvusStore
from index.models import embeddings_from_settings
from index.retriever import HybridRetriever
from index.scale_runs import rss_mb
from index.update import build_snapshot
from ingest.loaders import load_file
from ragchat.paths import bundled_report
from ragchat.settings import load_settings


def _latency_ms(retriever: HybridRetriever, questions: list[str]) -> tuple[float, float]:
    times = []
    for q in questions:
        qvec = retriever.query_vector(q)  # the query embedding is the same on both backends: left out
        started = time.perf_counter()
        retriever.search(q, k=5, qvec=qvec)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return round(statistics.median(times), 2), round(times[int(0.95 * (len(times) - 1))], 2)


def run(distractors: bool, answers: bool = False) -> list[dict]:
    base = load_settings()
    settings = base.model_copy(update={"index": base.index.model_copy(update={"embed_sentences": False})})
    docs = [load_file(bundled_report())]
    if distractors:
        from eval.corpus import distractor_docs

        docs += distractor_docs()
    embeddings = embeddings_from_settings(settings)
    snapshot = build_snapshot(docs, settings, embeddings, progress=True)
    dev = load_jsonl(REPORT_DEV)
    questions = [i.question for i in dev.items]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        milvus = settings.model_copy(update={"index": settings.index.model_copy(
            update={"backend": "milvus", "milvus_uri": str(Path(tmp) / "bench.db")})})
        store = MilvusStore(milvus, Path(tmp) / "bench")
        started = time.perf_counter()
        store.commit(snapshot, dict(snapshot._texts), None)
        write_s = time.perf_counter() - started
        keyword_cache = Path(tmp) / "cache"  # the keyword index cache (index.keyword.cache), empty at first
        for label in ("builds the keyword index", "reads it from the cache"):
            rss_before, started = rss_mb(), time.perf_counter()
            loaded = store.load(cache_dir=keyword_cache)
            print(f"milvus open ({label}): {time.perf_counter() - started:.1f} s, RSS +{rss_mb() - rss_before:.0f} MB, "
                  f"vectors held {loaded.vectors.nbytes / 2**20:.1f} MiB", file=sys.stderr)
        variants = [("faiss + bm25s", snapshot, "ours"), ("milvus, our sparse BM25", loaded, "ours"),
                    ("milvus, its BM25 (jieba)", loaded, "milvus")]
        for label, snap, keyword_side in variants:
            for mode in ("keyword", "hybrid"):
                retriever = HybridRetriever.from_settings(snap, embeddings, settings, mode=mode,
                                                          milvus_keyword=keyword_side)
                row = {"chunks": len(snapshot.chunks), "index": label, "mode": mode}
                row.update({k: round(v, 3) for k, v in score(retriever, dev).items()})
                row["p50 ms"], row["p95 ms"] = _latency_ms(retriever, questions)
                rows.append(row)
                print(json.dumps(row, ensure_ascii=False), file=sys.stderr)
        print(f"milvus write: {write_s:.1f} s for {len(snapshot.chunks)} chunks", file=sys.stderr)
        if answers:
            differ = same_answers(snapshot, loaded, settings, embeddings, questions)
            print(f"answers: {len(questions) - len(differ)}/{len(questions)} the same on both backends; "
                  f"differ: {differ}", file=sys.stderr)
        store.close()
    return rows


def same_answers(faiss_snapshot, milvus_snapshot, settings, embeddings, questions: list[str]) -> list[str]:
    """The questions whose answer (text, refusal, citations) differs between the two backends."""
    from chat.service import AnswerService

    services = [AnswerService(settings, snap, embeddings) for snap in (faiss_snapshot, milvus_snapshot)]
    differ = []
    for q in questions:
        a, b = (s.answer(q) for s in services)
        if (a.text, a.refused, [c.chunk_id for c in a.citations]) != (b.text, b.refused, [c.chunk_id for c in b.citations]):
            differ.append(q)
    return differ


def markdown(rows: list[dict]) -> str:
    keys = ["chunks", "index", "mode", "hit@1", "hit@3", "hit@5", "mrr@10", "p50 ms", "p95 ms"]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distractors", action="store_true", help="mix in the 848 CMRC 2018 dev passages")
    parser.add_argument("--answers", action="store_true", help="also compare the answers on the whole dev set")
    args = parser.parse_args(argv)
    print(markdown(run(args.distractors, args.answers)))


if __name__ == "__main__":
    main()
