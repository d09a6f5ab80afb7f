"""Retrieval quality by chunking and fusion settings, on the report's dev set.

    python -m eval.retrieval_bench [--distractors] [--chunk-tokens 100,160,250] [--out FILE]

For each chunk size it builds an in-memory index of the bundled report (and,
with ``--distractors``, the 848 CMRC 2018 dev passages, each its own
document), then measures hit@1/3/5, MRR@10 and hit within a 400-token context
for dense, keyword and several fusions. Vectors come from the embedding cache
under ``$RAGCHAT_HOME``, so re-runs only embed new chunk texts.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from eval.corpus import CMRC_DEV, distractor_docs  # noqa: F401  (CMRC_DEV: kept for importers)
from eval.metrics import hit_at, hit_within_budget, mrr_at, relevant_ranks
from eval.sets import REPORT_DEV, EvalSet, load_jsonl
from index.models import embeddings_from_settings
from index.retriever import HybridRetriever
from index.update import build_snapshot
from ingest.loaders import load_file
from ragchat.paths import bundled_report
from ragchat.settings import Settings, load_settings

BUDGET_TOKENS = 400

# (label, mode, dense_weight, keyword_weight, rrf_k, caption_weight)
VARIANTS = [
    ("dense", "dense", 1.0, 0.0, 60, 1.0),
    ("keyword", "keyword", 0.0, 1.0, 60, 1.0),
    ("rrf 1:1 k=60", "hybrid", 1.0, 1.0, 60, 1.0),
    ("rrf 1:1 k=60 cap.5", "hybrid", 1.0, 1.0, 60, 0.5),
    ("rrf 1:2 k=60", "hybrid", 1.0, 2.0, 60, 1.0),
    ("rrf 1:2 k=60 cap.5", "hybrid", 1.0, 2.0, 60, 0.5),
    ("rrf 1:2 k=10 cap.5", "hybrid", 1.0, 2.0, 10, 0.5),
    ("rrf 2:3 k=60 cap.5", "hybrid", 2.0, 3.0, 60, 0.5),
    ("rrf 1:1 k=60 cap0", "hybrid", 1.0, 1.0, 60, 0.0),
]


def shown_text(doc) -> str:
    """A passage as the user sees it: its section heading, then its text."""
    path = doc.metadata.get("heading_path") or []
    return (path[-1] + "\n" if path else "") + doc.page_content


def score(retriever: HybridRetriever, dev: EvalSet, **search) -> dict[str, float]:
    rows = {"hit@1": 0.0, "hit@3": 0.0, "hit@5": 0.0, "mrr@10": 0.0, f"hit@{BUDGET_TOKENS}tok": 0.0}
    items = [i for i in dev.items if i.answerable]
    counter_tokens = {c.id: c.n_tokens for c in retriever.snapshot.chunks}
    for item in items:
        docs = retriever.search(item.question, k=10, **search)
        ranks = relevant_ranks([shown_text(d) for d in docs], item.evidence)
        rows["hit@1"] += hit_at(ranks, 1)
        rows["hit@3"] += hit_at(ranks, 3)
        rows["hit@5"] += hit_at(ranks, 5)
        rows["mrr@10"] += mrr_at(ranks, 10)
        rows[f"hit@{BUDGET_TOKENS}tok"] += hit_within_budget([counter_tokens[d.id] for d in docs], ranks, BUDGET_TOKENS)
    return {k: v / len(items) for k, v in rows.items()}


def run(settings: Settings, chunk_sizes: list[int], distractors: bool, headings: list[bool]) -> list[dict]:
    dev = load_jsonl(REPORT_DEV)
    report = load_file(bundled_report())
    extra = distractor_docs() if distractors else []
    embeddings = embeddings_from_settings(settings)
    results = []
    for size in chunk_sizes:
        for with_heading in headings:
            cfg = settings.model_copy(update={
                "chunking": settings.chunking.model_copy(update={
                    "chunk_tokens": size,
                    "overlap_tokens": min(settings.chunking.overlap_tokens, size // 4),
                    "min_chunk_tokens": min(settings.chunking.min_chunk_tokens, size // 3),
                }),
                "index": settings.index.model_copy(update={"with_headings": with_heading}),
            })
            started = time.perf_counter()
            snapshot = build_snapshot([report, *extra], cfg, embeddings, progress=True)
            build_s = time.perf_counter() - started
            report_chunks = [c for c in snapshot.chunks if c.doc_id == report.doc_id]
            mean_chars = sum(len(c.text) for c in report_chunks) / len(report_chunks)
            for label, mode, dw, kw, rrf_k, cap in VARIANTS:
                retriever = HybridRetriever(snapshot=snapshot, embeddings=embeddings, mode=mode, dense_weight=dw,
                                            keyword_weight=kw, rrf_k=rrf_k, caption_weight=cap, candidates=30)
                row = {"chunk_tokens": size, "headings": with_heading, "report_chunks": len(report_chunks),
                       "mean_chars": round(mean_chars), "variant": label, "build_s": round(build_s, 1)}
                row.update({k: round(v, 3) for k, v in score(retriever, dev).items()})
                results.append(row)
                print(json.dumps(row, ensure_ascii=False), file=sys.stderr)
    return results


def markdown(results: list[dict]) -> str:
    keys = ["chunk_tokens", "mean_chars", "report_chunks", "headings", "variant", "hit@1", "hit@3", "hit@5",
            "mrr@10", f"hit@{BUDGET_TOKENS}tok"]
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in results:
        lines.append("| " + " | ".join(str(row[k]) for k in keys) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunk-tokens", default="100,160,250,1000")
    parser.add_argument("--distractors", action="store_true", help="mix in the 848 CMRC 2018 dev passages")
    parser.add_argument("--headings", default="1", help="embed headings: 1, 0 or 1,0")
    parser.add_argument("--out", type=Path, default=None, help="append the Markdown table to this file")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.chunk_tokens.split(",")]
    headings = [s.strip() == "1" for s in args.headings.split(",")]
    results = run(load_settings(), sizes, args.distractors, headings)
    table = markdown(results)
    print(table)
    if args.out:
        with args.out.open("a", encoding="utf-8") as fh:
            title = "report + 848 CMRC passages" if args.distractors else "report only"
            fh.write(f"\n### {title}\n\n{table}")


if __name__ == "__main__":
    main()
