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
