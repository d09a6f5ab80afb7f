"""Retrieval metrics, as pure functions over ranked chunk texts."""

from __future__ import annotations

from eval.textnorm import norm


def relevant_ranks(ranked_texts: list[str], evidence: tuple[str, ...] | list[str]) -> list[int]:
    """1-based ranks of the chunks that contain any evidence string (normalised)."""
    needles = [norm(e) for e in evidence if e.strip()]
    return [i for i, text in enumerate(ranked_texts, 1) if any(n in norm(text) for n in needles)]


def hit_at(ranks: list[int], k: int) -> float:
    return 1.0 if ranks and ranks[0] <= k else 0.0


def mrr_at(ranks: list[int], k: int = 10) -> float:
    return 1.0 / ranks[0] if ranks and ranks[0] <= k else 0.0


def hit_within_budget(ranked_tokens: list[int], ranks: list[int], budget: int) -> float:
    """1 when a relevant chunk starts within the first ``budget`` tokens of context,
    so that large chunks cannot buy recall."""
    if not ranks:
        return 0.0
    used = sum(ranked_tokens[: ranks[0] - 1])
    return 1.0 if used + ranked_tokens[ranks[0] - 1] <= budget else 0.0


def key_fact_recall(answer: str, facts: tuple[str, ...] | list[str]) -> float:
    """1 when every key fact appears in the answer (after normalisation), else 0."""
    if not facts:
        return 1.0
    return 1.0 if all(norm(f) in norm(answer) for f in facts) else 0.0


def citation_precision(cited_texts: list[str], evidence, facts) -> float | None:
    """Share of cited passages that hold the evidence or a key fact; None without citations."""
    if not cited_texts:
        return None
    needles = [norm(x) for x in list(evidence) + list(facts) if x.strip()]
    good = sum(1 for text in cited_texts if any(n in norm(text) for n in needles))
    return good / len(cited_texts)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]
