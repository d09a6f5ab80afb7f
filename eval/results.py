"""The results table of docs/eval-results.md: every recipe on every setting, one runner.

    python -m eval.results [--runs build/eval-results] [--out docs/eval-results.md]
                           [--recipes ragchat,langchain,bm25,dense] [--settings report,…,blind7-nogold,blind8,blind8-nogold,blind9,blind9-nogold,blind10,blind10-nogold,blind11,blind11-nogold]

Each (setting, recipe) is a full ``ragchat eval run`` whose files stay under
``--runs``; the table is made from their summary.json files. A run whose
summary is already there is reused with ``--reuse``. Notes below the notes
marker of an existing ``--out`` file are kept.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.anchors import recipe
from eval.corpus import CMRC_DEV
from eval.sets import (
    BLIND5, BLIND6, BLIND7, BLIND8, BLIND9, BLIND10, BLIND11, BLIND12, BLIND13, BLIND14, BLIND15, BLIND16, BLIND17, BLIND18, BLIND19, REPORT_DEV, REPORT_HOLDOUT, REPORT_HOLDOUT2, REPORT_HOLDOUT3, REPORT_HOLDOUT4,
    REPORT_HOLDOUT5, REPORT_HOLDOUT6,
)

CMRC_SAMPLE = 300
NOTES_MARKER = "<!-- notes: written by hand, kept when the table is regenerated -->"


@dataclass(frozen=True)
class Setting:
    name: str
    title: str
    set_path: Path
    limit: int | None = None
    distractors: bool = False
    split: str | None = None
    no_gold: bool = False


SETTINGS = {
    "report": Setting("report", "report dev set, report only", REPORT_DEV),
    "distractors": Setting("distractors", "report dev set, report + 848 CMRC passages", REPORT_DEV, distractors=True),
    "holdout": Setting("holdout", "report held-out set (60 questions written after tuning), report only", REPORT_HOLDOUT),
    "holdout2": Setting("holdout2", "second held-out set (60 questions, session 3), report only", REPORT_HOLDOUT2),
    "holdout3": Setting("holdout3", "third held-out set (71 questions, session 4), report only", REPORT_HOLDOUT3),
    "holdout4": Setting("holdout4", "fourth held-out set (75 questions, session 4, blind until its one run), report only",
                        REPORT_HOLDOUT4),
    "holdout5": Setting("holdout5", "fifth held-out set (75 questions, session 8, blind for its two runs: the session's "
                        "starting and final code), report only", REPORT_HOLDOUT5),
    "holdout6": Setting("holdout6", "sixth held-out set (80 questions, session 10, blind until its first run), report only",
                        REPORT_HOLDOUT6),
    "cmrc-test": Setting("cmrc-test", "CMRC 2018 dev, test half (1,631 questions, never trained on), 848 passages",
                         CMRC_DEV, split="test"),
    "cmrc-test-nogold": Setting("cmrc-test-nogold", "the same, each question without its own passage (all should "
                                "be refused)", CMRC_DEV, split="test", no_gold=True),
    "blind5": Setting("blind5", "five new documents of other genres (100 questions, session 6; blind for its first "
                      "run, a dev set since), 47 passages", BLIND5),
    "blind5-nogold": Setting("blind5-nogold", "the same, each question without its own passage", BLIND5, no_gold=True),
    "blind6": Setting("blind6", "five more new documents (100 questions, session 6, blind until its one run), 51 passages",
                      BLIND6),
    "blind6-nogold": Setting("blind6-nogold", "the same, each question without its own passage", BLIND6, no_gold=True),
    "blind7": Setting("blind7", "five more new documents with 30 unanswerable questions (130 questions, session 7; "
                      "blind for two runs, a dev set since), 51 passages", BLIND7),
    "blind7-nogold": Setting("blind7-nogold", "the same, each answerable question without its own passage", BLIND7,
                             no_gold=True),
    "blind8": Setting("blind8", "five more new documents with 30 unanswerable questions (130 questions, session 7, "
                      "blind for its two runs: the session's starting and final code), 57 passages", BLIND8),
    "blind8-nogold": Setting("blind8-nogold", "the same, each answerable question without its own passage", BLIND8,
                             no_gold=True),
    "blind9": Setting("blind9", "five more new documents with 30 unanswerable questions (130 questions, session 8, "
                      "blind for its runs: the session's starting and final code), 60 passages", BLIND9),
    "blind9-nogold": Setting("blind9-nogold", "the same, each answerable question without its own passage", BLIND9,
                             no_gold=True),
    "blind10": Setting("blind10", "five more new documents with 30 unanswerable questions (130 questions, session 10, "
                       "blind until its first run), 60 passages", BLIND10),
    "blind10-nogold": Setting("blind10-nogold", "the same, each answerable question without its own passage", BLIND10,
                              no_gold=True),
    "blind11": Setting("blind11", "five more new documents with 30 unanswerable questions (130 questions, session 13, "
                       "blind until its runs: the session's starting and final code), 60 passages", BLIND11),
    "blind11-nogold": Setting("blind11-nogold", "the same, each answerable question without its own passage", BLIND11,
                              no_gold=True),
    "blind12": Setting("blind12", "five more new documents with 30 unanswerable questions (130 questions, session 14; run "
                       "blind on session 10's answer path and on session 15's candidate, not shipped), 60 passages", BLIND12),
    "blind12-nogold": Setting("blind12-nogold", "the same, each answerable question without its own passage", BLIND12,
                              no_gold=True),
    "blind13": Setting("blind13", "five more new documents with 30 unanswerable questions (130 questions, session 15; run "
                       "blind on session 10's answer path and on session 15's candidate, not shipped), 70 passages", BLIND13),
    "blind13-nogold": Setting("blind13-nogold", "the same, each answerable question without its own passage", BLIND13,
                              no_gold=True),
    "blind14": Setting("blind14", "five more new documents with 30 unanswerable questions (130 questions, session 16; run "
                       "blind on session 10's answer path and on session 16's candidate, not shipped), 70 passages", BLIND14),
    "blind14-nogold": Setting("blind14-nogold", "the same, each answerable question without its own passage", BLIND14,
                              no_gold=True),
    "blind15": Setting("blind15", "five more new documents with 30 unanswerable questions (130 questions, session 17; run "
                       "blind on session 10's answer path and on session 16's candidate, not shipped), 85 passages", BLIND15),
    "blind15-nogold": Setting("blind15-nogold", "the same, each answerable question without its own passage", BLIND15,
                              no_gold=True),
    "blind16": Setting("blind16", "five more new documents with 30 unanswerable questions (130 questions, session 18), "
                       "85 passages", BLIND16),
    "blind16-nogold": Setting("blind16-nogold", "the same, each answerable question without its own passage", BLIND16,
                              no_gold=True),
    "blind17": Setting("blind17", "five more new documents with 30 unanswerable questions (130 questions, session 19), "
                       "135 passages", BLIND17),
    "blind17-nogold": Setting("blind17-nogold", "the same, each answerable question without its own passage", BLIND17,
                              no_gold=True),
    "blind18": Setting("blind18", "five more new documents with 30 unanswerable questions (130 questions, session 20), "
                       "132 passages", BLIND18),
    "blind18-nogold": Setting("blind18-nogold", "the same, each answerable question without its own passage", BLIND18,
                              no_gold=True),
    "blind19": Setting("blind19", "five more new documents with 30 unanswerable questions (130 questions, session 22), "
                       "126 passages", BLIND19),
    "blind19-nogold": Setting("blind19-nogold", "the same, each answerable question without its own passage", BLIND19,
                              no_gold=True),
    "cmrc300": Setting("cmrc300", f"CMRC 2018 dev, fixed {CMRC_SAMPLE}-question sample, 848 passages",
                       CMRC_DEV, limit=CMRC_SAMPLE),
    "cmrc-full": Setting("cmrc-full", "CMRC 2018 dev, all 3,219 questions, 848 passages", CMRC_DEV),
}
RECIPES = ("ragchat", "langchain", "bm25", "dense")
# every setting but the CMRC samples the table does not show (the 300-question sample, the whole dev set)
DEFAULT_SETTINGS = tuple(name for name in SETTINGS if name not in ("cmrc300", "cmrc-full"))

COLUMNS = [  # (header, metric key, format)
    ("hit@1", "hit@1", "{:.3f}"), ("hit@5", "hit@5", "{:.3f}"), ("MRR@10", "mrr@10", "{:.3f}"),
    ("hit@400tok", "hit@400tok", "{:.3f}"), ("key facts", "key_fact_recall", "{:.3f}"),
    ("gold contained", "gold_contained", "{:.3f}"), ("CMRC F1", "cmrc_f1", "{:.1%}"), ("CMRC EM", "cmrc_em", "{:.1%}"),
    ("citation precision", "citation_precision", "{:.3f}"), ("refusal recall", "refusal_recall", "{:.3f}"),
    ("false refusals", "false_refusal_rate", "{:.3f}"), ("answer chars", "answer_chars_mean", "{:.0f}"),
]


def run_all(settings_names: list[str], recipes: list[str], runs: Path, reuse: bool) -> list[dict[str, Any]]:
    from eval.runner import RunOptions, run_eval
    from eval.sets import load_set
    from ragchat.settings import load_settings

    app_settings = load_settings()
    summaries = []
    for name in settings_names:
        setting = SETTINGS[name]
        eval_set = load_set(setting.set_path, limit=setting.limit, split=setting.split, no_gold=setting.no_gold)
        for recipe_name in recipes:
            out = runs / f"{name}-{recipe_name}"
            if reuse and (out / "summary.json").is_file():
                summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
            else:
                print(f"== {setting.title} / {recipe_name}", file=sys.stderr)
                options = RunOptions(recipe=recipe_name, distractors=setting.distractors, label=f"{name} / {recipe_name}")
                summary = run_eval(eval_set, app_settings, options, out)
            summaries.append({**summary, "setting": name, "recipe": recipe_name, "dir": str(out)})
    return summaries


def _cell(metrics: dict[str, Any], key: str, fmt: str) -> str:
    value = metrics.get(key)
    return "–" if value is None else fmt.format(value)


def table(summaries: list[dict[str, Any]]) -> str:
    """One row per run; a column no run has is left out."""
    columns = [c for c in COLUMNS if any(s["metrics"].get(c[1]) is not None for s in summaries)]
    head = ["setting", "recipe", "chunks"] + [c[0] for c in columns] + ["p50 / p95 ms"]
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for s in summaries:
        m = s["metrics"]
        total = m.get("latency_ms", {}).get("total", {})
        cells = [s["setting"], s["recipe"], str(s["index"]["n_chunks"])]
        cells += [_cell(m, key, fmt) for _, key, fmt in columns]
        cells.append(f"{total.get('p50', 0):.0f} / {total.get('p95', 0):.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(summaries: list[dict[str, Any]]) -> str:
    first = summaries[0]
    settings_used = dict.fromkeys(s["setting"] for s in summaries)
    lines = [
        "# Eval results",
        "",
        "Generated by `python -m eval.results` (see [eval.md](eval.md) for what each metric means and how to "
        "re-run); do not edit the table by hand.",
        "",
        f"- revision `{first['source_revision'][:12] or 'unknown'}` (plus any uncommitted changes), "
        f"{time.strftime('%Y-%m-%d')}",
        f"- answerer: {first['answerer']}, k = {first['k']}; retrieval metrics over the top {first['depth']} chunks; "
        f"hit@400tok: a relevant chunk within the first {first['budget_tokens']} tokens of context",
        f"- embedding model: {first['index']['manifest'].get('embedding', {}).get('model_id', '?')}",
        "",
        "Settings:",
        "",
    ]
    lines += [f"- **{n}**: {SETTINGS[n].title}" for n in settings_used]
    lines += ["", "Recipes:", ""]
    lines += [f"- **{r}**: {recipe(r).description}" for r in dict.fromkeys(s["recipe"] for s in summaries)]
    lines += ["", table(summaries), ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=Path("build/eval-results"))
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown here (default: print it)")
    parser.add_argument("--recipes", default=",".join(RECIPES))
    parser.add_argument("--settings", default=",".join(DEFAULT_SETTINGS))
    parser.add_argument("--reuse", action="store_true", help="reuse runs already under --runs")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.settings.split(",") if n.strip()]
    unknown = [n for n in names if n not in SETTINGS]
    recipes = [r.strip() for r in args.recipes.split(",") if r.strip()]
    if unknown or any(r not in RECIPES for r in recipes):
        print(f"error: settings are {', '.join(SETTINGS)}; recipes are {', '.join(RECIPES)}", file=sys.stderr)
        return 1
    text = markdown(run_all(names, recipes, args.runs, args.reuse))
    if args.out and args.out.is_file():
        old = args.out.read_text(encoding="utf-8")
        if NOTES_MARKER in old:
            text += "\n" + old[old.index(NOTES_MARKER):]
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
