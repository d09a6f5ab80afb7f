"""Answer quality on the report dev set, printed as JSON (a thin wrapper of the eval runner).

    python -m eval.answers [--distractors] [--answerer extractive] [--rows]

Prints the run's metrics; ``--rows`` prints every item first. The full runner,
with results files, a report and plots, is ``ragchat eval run``.
"""

from __future__ import annotations

import argparse
import json
import sys

from eval.runner import RunOptions, open_target, score_set
from eval.sets import REPORT_DEV, load_jsonl
from eval.summary import summarize
from ragchat.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distractors", action="store_true", help="mix in the 848 CMRC 2018 dev passages")
    parser.add_argument("--answerer", default=None, help="extractive or llm (default: as configured)")
    parser.add_argument("--rows", action="store_true", help="print every item")
    args = parser.parse_args(argv)
    dev = load_jsonl(REPORT_DEV)
    target = open_target(dev, load_settings(), RunOptions(answerer=args.answerer, distractors=args.distractors))
    rows = score_set(target.service, dev, answerer=args.answerer)
    if args.rows:
        for row in rows:
            print(json.dumps({k: v for k, v in row.items() if k != "retrieved"}, ensure_ascii=False))
    metrics, by_type = summarize(rows)
    print(json.dumps({**metrics, "by_type": by_type}, ensure_ascii=False, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
