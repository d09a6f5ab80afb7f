"""Answer quality on a JSONL eval set, through the app's own answer path.

    python -m eval.answers [--distractors] [--answerer extractive]

Prints key-fact recall, refusal precision/recall, false refusals, citation
precision and coverage, numeric faithfulness and latency. (The full runner
with reports and plots is ``ragchat eval run``.)
"""

from __future__ import annotations

import argparse
import json
import sys

from chat.service import AnswerService
from eval.metrics import citation_precision, hit_at, key_fact_recall, mrr_at, percentile, relevant_ranks
from eval.retrieval_bench import distractor_docs
from eval.sets import REPORT_DEV, EvalSet, load_jsonl
from index.models import embeddings_from_settings
from index.update import build_snapshot
from ingest.loaders import load_file
from ragchat.paths import bundled_report
from ragchat.settings import load_settings


def _shown(passage) -> str:
    """A passage as the user sees it: its section heading, then its text."""
    return (passage.heading[-1] + "\n" if passage.heading else "") + passage.text


def evaluate(service: AnswerService, dev: EvalSet, answerer: str = "extractive") -> tuple[dict, list[dict]]:
    rows = []
    for item in dev.items:
        answer = service.answer(item.question, answerer=answerer)
        texts = [_shown(p) for p in answer.passages]
        ranks = relevant_ranks(texts, item.evidence) if item.answerable else []
        cited = [next(p for p in answer.passages if p.n == c.n) for c in answer.citations]
        cited_texts = [_shown(p) for p in {p.n: p for p in cited}.values()]
        rows.append({
            "id": item.id, "type": item.type, "lang": item.lang, "answerable": item.answerable,
            "question": item.question, "answer": answer.text, "refused": answer.refused,
            "key_fact": key_fact_recall(answer.text, item.answers) if item.answerable and not answer.refused else 0.0,
            "hit@1": hit_at(ranks, 1), "hit@5": hit_at(ranks, 5), "mrr": mrr_at(ranks, 10),
            "citation_precision": citation_precision(cited_texts, item.evidence, item.answers) if item.answerable else None,
            "coverage": answer.checks.citation_coverage, "numeric_faithful": answer.checks.numeric_faithful,
            "latency_ms": answer.timings_ms["total"], "chars": len(answer.text),
        })
    ans = [r for r in rows if r["answerable"]]
    un = [r for r in rows if not r["answerable"]]
    answered = [r for r in rows if not r["refused"]]
    precisions = [r["citation_precision"] for r in ans if r["citation_precision"] is not None]
    refused = [r for r in rows if r["refused"]]
    lat = [r["latency_ms"] for r in rows]
    summary = {
        "questions": len(rows),
        "key_fact_recall": round(sum(r["key_fact"] for r in ans) / len(ans), 3),
        "hit@1": round(sum(r["hit@1"] for r in ans) / len(ans), 3),
        "hit@5": round(sum(r["hit@5"] for r in ans) / len(ans), 3),
        "refusal_recall": round(sum(r["refused"] for r in un) / max(len(un), 1), 3),
        "refusal_precision": round(sum(not r["answerable"] for r in refused) / max(len(refused), 1), 3),
        "false_refusal_rate": round(sum(r["refused"] for r in ans) / len(ans), 3),
        "citation_precision": round(sum(precisions) / max(len(precisions), 1), 3),
        "citation_coverage": round(sum(r["coverage"] for r in answered) / max(len(answered), 1), 3),
        "numeric_faithfulness": round(sum(r["numeric_faithful"] for r in answered) / max(len(answered), 1), 3),
        "answer_chars_mean": round(sum(r["chars"] for r in answered) / max(len(answered), 1), 1),
        "latency_p50_ms": round(percentile(lat, 0.5), 1),
        "latency_p95_ms": round(percentile(lat, 0.95), 1),
    }
    by_type: dict[str, list[float]] = {}
    for r in ans:
        by_type.setdefault(r["type"], []).append(r["key_fact"])
    summary["key_fact_recall_by_type"] = {t: round(sum(v) / len(v), 3) for t, v in sorted(by_type.items())}
    return summary, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distractors", action="store_true")
    parser.add_argument("--answerer", default="extractive")
    parser.add_argument("--rows", action="store_true", help="print every item")
    args = parser.parse_args()
    settings = load_settings()
    embeddings = embeddings_from_settings(settings)
    docs = [load_file(bundled_report())] + (distractor_docs() if args.distractors else [])
    service = AnswerService(settings, build_snapshot(docs, settings, embeddings, progress=True), embeddings)
    service.answer("预热")  # load the model before timing
    summary, rows = evaluate(service, load_jsonl(REPORT_DEV), args.answerer)
    if args.rows:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
    print(json.dumps(summary, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    sys.exit(main())
