"""Calibrate the refusal policy on the dev set.

    python -m eval.calibrate_refusal [--distractors]

Prints each question's support signals (term share, whether its rarest term
is missing, best dense score) and, for a grid of thresholds, the share of
unanswerable questions refused and of answerable questions wrongly refused.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys

from chat.refusal import RefusalPolicy
from chat.service import AnswerService
from eval.corpus import distractor_docs
from eval.sets import REPORT_DEV, load_jsonl
from index.models import embeddings_from_settings
from index.update import build_snapshot
from ingest.loaders import load_file
from ragchat.paths import bundled_report
from ragchat.settings import load_settings


def signals(service: AnswerService, items) -> list[dict]:
    rows = []
    for item in items:
        state = service.pre_chain.invoke({"question": item.question, "history": [], "answerer": "extractive", "k": None})
        s = state["support"]
        rows.append({"id": item.id, "answerable": item.answerable, "lang": item.lang, "type": item.type,
                     "sentence": round(s.sentence, 3), "unknown": round(s.unknown, 3), "dense": round(s.dense, 4)})
    return rows


def rates(rows: list[dict], policy: RefusalPolicy) -> tuple[float, float]:
    from chat.refusal import Support

    refused = [bool(policy.refuse(Support(r["sentence"], r["unknown"], r["dense"], 1), r["lang"])) for r in rows]
    unans = [x for x, r in zip(refused, rows) if not r["answerable"]]
    ans = [x for x, r in zip(refused, rows) if r["answerable"]]
    return sum(unans) / max(len(unans), 1), sum(ans) / max(len(ans), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distractors", action="store_true")
    parser.add_argument("--dump", action="store_true")
    args = parser.parse_args()
    settings = load_settings()
    embeddings = embeddings_from_settings(settings)
    docs = [load_file(bundled_report())] + (distractor_docs() if args.distractors else [])
    snapshot = build_snapshot(docs, settings, embeddings, progress=True)
    service = AnswerService(settings, snapshot, embeddings)
    rows = signals(service, load_jsonl(REPORT_DEV).items)
    if args.dump:
        for r in rows:
            print(json.dumps(r, ensure_ascii=False))
    print("min_sentence max_unknown en_min_dense | refused(unanswerable) refused(answerable)")
    grid = []
    for ms, mu, ed in itertools.product((0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6), (0.4, 0.5, 0.6, 0.7, 0.8, 1.01),
                                        (0.70, 0.72, 0.73, 0.74, 0.75)):
        tp, fp = rates(rows, RefusalPolicy(min_sentence=ms, max_unknown=mu, en_min_dense=ed))
        grid.append((fp > 0.05, -tp, fp, ms, mu, ed))
    for _, tp, fp, ms, mu, ed in sorted(grid)[:12]:
        print(f"{ms} {mu} {ed} | {-tp:.3f} {fp:.3f}")
    default = RefusalPolicy()
    tp, fp = rates(rows, default)
    print(f"default {default}: refused {tp:.3f} of unanswerable, {fp:.3f} of answerable")


if __name__ == "__main__":
    sys.exit(main())
