"""The files of a run (results.jsonl, summary.json, report.md), and comparing two runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.summary import flat
from ragchat.errors import RagchatError

RESULTS = "results.jsonl"
SUMMARY = "summary.json"
REPORT = "report.md"
WORST = 15
# Metrics where a smaller value is better (for the arrows of a comparison).
LOWER_IS_BETTER = ("false_refusal_rate", "latency_ms", "answer_chars_mean")
# The order of the metrics table; the rest follow alphabetically.
ORDER = ("questions", "accuracy", "hit@1", "hit@3", "hit@5", "mrr@10", "hit@400tok", "key_fact_recall",
         "gold_contained", "cmrc_f1", "cmrc_em", "answer_chars_mean", "citation_precision", "citation_coverage",
         "numeric_faithfulness", "refusal_precision", "refusal_recall", "false_refusal_rate")


class RunNotFoundError(RagchatError):
    """A folder is not the output of ``ragchat eval run``."""


def write_results(out_dir: Path, rows: list[dict[str, Any]]) -> None:
    with (out_dir / RESULTS).open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_summary(out_dir: Path, summary: dict[str, Any]) -> None:
    (out_dir / SUMMARY).write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")


@dataclass
class Run:
    path: Path
    summary: dict[str, Any]
    rows: list[dict[str, Any]]


def load_run(path: Path | str) -> Run:
    path = Path(path)
    try:
        summary = json.loads((path / SUMMARY).read_text(encoding="utf-8"))
        rows = [json.loads(line) for line in (path / RESULTS).read_text(encoding="utf-8").splitlines() if line]
    except (OSError, json.JSONDecodeError) as exc:
        raise RunNotFoundError(f"{path} is not an eval run ({exc}); make one with `ragchat eval run`") from None
    return Run(path, summary, rows)


# --- report.md ----------------------------------------------------------------


def _fmt(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def ordered_keys(metrics: dict[str, Any]) -> list[str]:
    scalar = [k for k, v in metrics.items() if not isinstance(v, dict)]
    return [k for k in ORDER if k in scalar] + sorted(k for k in scalar if k not in ORDER)


def metrics_table(summary: dict[str, Any]) -> str:
    metrics = summary["metrics"]
    lines = ["| metric | value |", "|---|---:|"]
    lines += [f"| {k} | {_fmt(metrics[k])} |" for k in ordered_keys(metrics)]
    for stage, values in metrics.get("latency_ms", {}).items():
        lines.append(f"| latency {stage} p50 / p95 (ms) | {values['p50']:.0f} / {values['p95']:.0f} |")
    return "\n".join(lines)


def by_type_table(by_type: dict[str, dict[str, Any]]) -> str:
    if not by_type:
        return ""
    keys = [k for k in ("questions", "accuracy", "hit@5", "key_fact_recall", "gold_contained", "cmrc_f1",
                        "citation_precision", "refusal_recall", "false_refusal_rate")
            if any(m.get(k) is not None for m in by_type.values())]
    lines = ["| type | " + " | ".join(keys) + " |", "|---|" + "---:|" * len(keys)]
    for name, m in by_type.items():
        lines.append(f"| {name} | " + " | ".join(_fmt(m.get(k)) for k in keys) + " |")
    return "\n".join(lines)


def worst(rows: list[dict[str, Any]], n: int = WORST) -> list[dict[str, Any]]:
    """The items to look at first: wrong ones, retrieval misses before answer misses."""
    def badness(row):
        m = row["metrics"]
        missed = row["answerable"] and m.get("first_relevant_rank") is None
        partial = m.get("cmrc_f1", 0.0)
        return (m["correct"], not missed, partial, row["id"])

    return sorted((r for r in rows if not r["metrics"]["correct"]), key=badness)[:n]


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def worst_table(rows: list[dict[str, Any]]) -> str:
    lines = ["| id | type | question | expected | answer | first relevant rank |", "|---|---|---|---|---|---:|"]
    for r in rows:
        expected = " · ".join(r["expected"]) if r["answerable"] else "(refuse)"
        answer = ("REFUSED: " if r["refused"] else "") + r["answer"]
        rank = r["metrics"].get("first_relevant_rank")
        lines.append(f"| {r['id']} | {r['type']} | {_cell(r['question'], 80)} | {_cell(expected, 60)} | "
                     f"{_cell(answer)} | {_fmt(rank) if r['answerable'] else ''} |")
    return "\n".join(lines)


def report_markdown(summary: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    index = summary["index"]
    failing = worst(rows)
    parts = [
        f"# Eval: {summary['label']}",
        "",
        f"- set: `{summary['set']['name']}` ({summary['set']['questions']} questions"
        + (f", fixed sample of {summary['set']['sample']['of']}, seed {summary['set']['sample']['seed']}"
           if summary["set"].get("sample") else "") + ")",
        f"- recipe: {summary['recipe']['name']} ({summary['recipe']['description']})",
        f"- answerer: {summary['answerer']}, k = {summary['k']}; retrieval metrics over the top {summary['depth']}, "
        f"hit@{summary['budget_tokens']}tok within {summary['budget_tokens']} tokens of context",
        f"- index: {index['what']}, {index['n_chunks']} chunks, manifest `{index['manifest_hash'][:12]}`, "
        f"chunks `{index['chunks_hash'][:12]}`",
        f"- revision `{summary['source_revision'][:12] or 'unknown'}`, ran {summary['started_at']} "
        f"in {summary['duration_s']:.0f} s (index {summary['index_build_s']:.0f} s)",
        "",
        "## Metrics",
        "",
        metrics_table(summary),
        "",
        "## By question type",
        "",
        by_type_table(summary["by_type"]),
        "",
        "## Where to look first",
        "",
        f"{sum(1 for r in rows if not r['metrics']['correct'])} of {len(rows)} items are wrong; "
        f"the {len(failing)} worst (retrieval misses first):" if failing else "Every item is right.",
        "",
        worst_table(failing) if failing else "",
        "",
        "## Plots",
        "",
    ]
    parts += [f"![{name}]({name})" for name in summary.get("plots", [])]
    return "\n".join(parts) + "\n"


def write_report(out_dir: Path, summary: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    (out_dir / REPORT).write_text(report_markdown(summary, rows), encoding="utf-8")


# --- compare ------------------------------------------------------------------


def deltas(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, float | None, float | None, float | None]]:
    """(metric, A, B, B − A) for every number in either summary's metrics."""
    fa, fb = flat(a), flat(b)
    keys = [k for k in ordered_keys(a) if k in fa or k in fb]
    keys += sorted(k for k in set(fa) | set(fb) if k not in keys)
    out = []
    for key in keys:
        va, vb = fa.get(key), fb.get(key)
        out.append((key, va, vb, None if va is None or vb is None else round(vb - va, 4)))
    return out


def flips(a_rows: list[dict[str, Any]], b_rows: list[dict[str, Any]]) -> tuple[list[dict], list[dict]]:
    """Items right in A and wrong in B (broken), and wrong in A and right in B (fixed), matched by id."""
    a_by_id = {r["id"]: r for r in a_rows}
    broken, fixed = [], []
    for row in b_rows:
        before = a_by_id.get(row["id"])
        if before is None:
            continue
        was, now = before["metrics"]["correct"], row["metrics"]["correct"]
        if was and not now:
            broken.append({"id": row["id"], "question": row["question"], "a": before["answer"], "b": row["answer"]})
        elif now and not was:
            fixed.append({"id": row["id"], "question": row["question"], "a": before["answer"], "b": row["answer"]})
    return broken, fixed


def mcnemar(broken: int, fixed: int) -> float:
    """Exact two-sided McNemar p-value for paired right/wrong results: under "no difference" each
    of the ``broken + fixed`` discordant items goes either way with probability 1/2."""
    from math import comb

    n, k = broken + fixed, min(broken, fixed)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(comb(n, i) for i in range(k + 1)) / 2**n)


def compare_markdown(a: Run, b: Run) -> str:
    lines = [f"# Compare: A = {a.path} ({a.summary['label']}), B = {b.path} ({b.summary['label']})", "",
             "| metric | A | B | B − A |", "|---|---:|---:|---:|"]
    for key, va, vb, d in deltas(a.summary["metrics"], b.summary["metrics"]):
        if key.startswith("hit_curve."):
            continue
        worse = d is not None and d != 0 and ((d > 0) == any(key.startswith(p) for p in LOWER_IS_BETTER))
        mark = "" if not d else (" ▼" if worse else " ▲")
        lines.append(f"| {key} | {_fmt(va)} | {_fmt(vb)} | {'–' if d is None else f'{d:+.3f}'}{mark} |")
    broken, fixed = flips(a.rows, b.rows)
    lines += ["", f"Paired test on `correct` ({len(broken)} right only in A, {len(fixed)} right only in B): "
              f"exact McNemar p = {mcnemar(len(broken), len(fixed)):.3g}."]
    for title, items in (("Right in A, wrong in B", broken), ("Wrong in A, right in B", fixed)):
        lines += ["", f"## {title}: {len(items)}", ""]
        if items:
            lines += ["| id | question | A | B |", "|---|---|---|---|"]
            lines += [f"| {f['id']} | {_cell(f['question'], 60)} | {_cell(f['a'], 100)} | {_cell(f['b'], 100)} |"
                      for f in items]
    return "\n".join(lines) + "\n"
