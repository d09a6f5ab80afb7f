"""Aggregating per-item rows into a run's metrics, and comparing runs (pure functions)."""

from __future__ import annotations

import pytest

from eval.report import deltas, flips, worst
from eval.summary import flat, hit_curve, latency, summarize


def row(id, type, answerable, refused, correct, rank=None, key_fact=None, ms=(10.0, 1.0, 12.0), **extra):
    metrics = {"correct": correct, **extra}
    if answerable:
        metrics.update({"first_relevant_rank": rank, "hit@5": float(rank is not None and rank <= 5),
                        "key_fact_recall": key_fact})
    return {"id": id, "type": type, "answerable": answerable, "refused": refused, "answer": "…",
            "question": "?", "expected": [], "metrics": metrics,
            "latency_ms": {"retrieve": ms[0], "answer": ms[1], "total": ms[2]}}


ROWS = [
    row("a", "figure", True, False, True, rank=1, key_fact=1.0, ms=(10, 1, 12)),
    row("b", "figure", True, False, False, rank=4, key_fact=0.0, ms=(20, 2, 30)),
    row("c", "entity", True, True, False, rank=None, key_fact=0.0, ms=(30, 3, 40)),
    row("d", "unanswerable", False, True, True, ms=(40, 4, 50)),
]


def test_the_hit_curve_counts_first_relevant_ranks_over_answerable_items():
    curve = hit_curve(ROWS)
    assert curve["1"] == curve["3"] == pytest.approx(1 / 3, abs=1e-3)
    assert curve["4"] == curve["10"] == pytest.approx(0.667, abs=1e-3)
    assert hit_curve([ROWS[3]]) == {}


def test_latency_percentiles_per_stage():
    lat = latency(ROWS)
    assert set(lat) == {"retrieve", "answer", "total"}
    assert lat["total"]["p50"] in (30.0, 40.0) and lat["total"]["p95"] == 50.0


def test_summarize_averages_each_metric_over_its_items():
    metrics, by_type = summarize(ROWS)
    assert metrics["questions"] == 4 and metrics["answerable"] == 3
    assert metrics["accuracy"] == 0.5
    assert metrics["key_fact_recall"] == pytest.approx(0.333, abs=1e-3)
    assert metrics["refusal_recall"] == 1.0 and metrics["refusal_precision"] == 0.5
    assert metrics["false_refusal_rate"] == pytest.approx(0.333, abs=1e-3)
    assert by_type["figure"]["questions"] == 2 and by_type["figure"]["accuracy"] == 0.5
    assert by_type["unanswerable"]["refusal_recall"] == 1.0
    assert flat(metrics)["latency_ms.total.p95"] == 50.0 and "hit_curve.10" in flat(metrics)


def test_worst_puts_retrieval_misses_first_and_leaves_out_right_items():
    assert [r["id"] for r in worst(ROWS)] == ["c", "b"]


def test_flips_and_deltas_between_two_runs():
    after = [dict(r, metrics=dict(r["metrics"])) for r in ROWS]
    after[0]["metrics"]["correct"] = False  # a broke
    after[1]["metrics"]["correct"] = True  # b was fixed
    broken, fixed = flips(ROWS, after)
    assert [f["id"] for f in broken] == ["a"] and [f["id"] for f in fixed] == ["b"]
    table = {k: (a, b, d) for k, a, b, d in deltas({"accuracy": 0.5, "x": 1.0}, {"accuracy": 0.75})}
    assert table["accuracy"] == (0.5, 0.75, 0.25) and table["x"] == (1.0, None, None)


def test_the_results_table_has_a_row_per_run_and_only_measured_columns():
    from eval.results import table

    def summary(setting, recipe, **metrics):
        return {"setting": setting, "recipe": recipe, "index": {"n_chunks": 69},
                "metrics": {**metrics, "latency_ms": {"total": {"p50": 30.0, "p95": 190.0}}}}

    text = table([summary("report", "ragchat", **{"hit@5": 0.919, "key_fact_recall": 0.865}),
                  summary("cmrc300", "bm25", **{"hit@5": 0.9, "cmrc_f1": 0.246, "key_fact_recall": None})])
    lines = text.splitlines()
    assert lines[0] == "| setting | recipe | chunks | hit@5 | key facts | CMRC F1 | p50 / p95 ms |"
    assert lines[2] == "| report | ragchat | 69 | 0.919 | 0.865 | – | 30 / 190 |"
    assert lines[3] == "| cmrc300 | bm25 | 69 | 0.900 | – | 24.6% | 30 / 190 |"


def test_item_metrics_take_numbers_from_the_cited_passage_or_the_cited_span():
    from eval.runner import item_metrics
    from eval.sets import EvalItem

    item = EvalItem(id="x", question="?", answers=("47亿元",), evidence=("总投资47亿元",))
    answer = "总投资47亿元的吉电项目加快落地。[1]"
    ranked = ["无关", "总投资47亿元的吉电项目"]
    cut = ["总投资127亿元的金钢钢铁转型升级、"]  # the cited chunk ends before the number
    m = item_metrics(item, answer, False, ranked, [100, 100], cut)
    assert m["numeric_faithful"] == 0.0 and m["first_relevant_rank"] == 2 and m["key_fact_recall"] == 1.0
    m = item_metrics(item, answer, False, ranked, [100, 100], cut, ["总投资47亿元的吉电项目加快落地"])
    assert m["numeric_faithful"] == 1.0
    refused = item_metrics(item, "文档中没有找到这个问题的答案。", True, ranked, [100, 100], [])
    assert refused["key_fact_recall"] == 0.0 and refused["numeric_faithful"] is None and not refused["correct"]
