"""Aggregate metrics of a run, from its per-item rows (pure functions)."""

from __future__ import annotations

from typing import Any

from eval.metrics import mean, percentile, refusal_scores

STAGES = ("retrieve", "answer", "total")
CURVE_DEPTH = 10

# Each summary metric: the item metric it averages and the items it averages over.
_ANSWERABLE = ("hit@1", "hit@3", "hit@5", "mrr@10", "hit@400tok", "key_fact_recall", "gold_contained",
               "cmrc_f1", "cmrc_em", "citation_precision")
_ANSWERED = ("citation_coverage", "numeric_faithful", "answer_chars")


def _r(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)


def hit_curve(rows: list[dict[str, Any]], depth: int = CURVE_DEPTH) -> dict[str, float]:
    """hit@k for k = 1..depth over the answerable rows."""
    ranks = [r["metrics"].get("first_relevant_rank") for r in rows if r["answerable"]]
    if not ranks:
        return {}
    return {str(k): round(sum(1 for x in ranks if x is not None and x <= k) / len(ranks), 3)
            for k in range(1, depth + 1)}


def latency(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """p50 and p95 in milliseconds of each stage and end to end."""
    out = {}
    for stage in STAGES:
        values = [r["latency_ms"][stage] for r in rows if stage in r["latency_ms"]]
        if values:
            out[stage] = {"p50": round(percentile(values, 0.5), 1), "p95": round(percentile(values, 0.95), 1)}
    return out


def metrics_of(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The flat metrics of a group of rows; a metric no row has is left out."""
    answerable = [r for r in rows if r["answerable"]]
    answered = [r for r in rows if not r["refused"]]
    out: dict[str, Any] = {"questions": len(rows), "answerable": len(answerable),
                           "unanswerable": len(rows) - len(answerable)}
    out["accuracy"] = _r(mean(1.0 if r["metrics"]["correct"] else 0.0 for r in rows))
    for key in _ANSWERABLE:
        if any(key in r["metrics"] for r in answerable):
            out[key] = _r(mean(r["metrics"].get(key) for r in answerable))
    for key in _ANSWERED:
        name = "numeric_faithfulness" if key == "numeric_faithful" else key
        name = "answer_chars_mean" if key == "answer_chars" else name
        out[name] = _r(mean(r["metrics"].get(key) for r in answered), 1 if key == "answer_chars" else 3)
    refusals = refusal_scores([r["answerable"] for r in rows], [r["refused"] for r in rows])
    out.update({k: _r(v) for k, v in refusals.items()})
    return out


def summarize(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(metrics of the whole run, metrics by question type)."""
    metrics = metrics_of(rows)
    metrics["hit_curve"] = hit_curve(rows)
    metrics["latency_ms"] = latency(rows)
    types = sorted({r["type"] for r in rows})
    by_type = {t: metrics_of([r for r in rows if r["type"] == t]) for t in types}
    return metrics, by_type


def flat(metrics: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """Nested metrics as ``{"latency_ms.total.p50": 12.0, ...}``, numbers only."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flat(value, name + "."))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = value
    return out
