"""The selector dev loop (eval/selector_dev.py) on synthetic runs (not real questions)."""

from __future__ import annotations

import numpy as np

from chat.features import FEATURES, INDEX
from eval.selector_dev import CONTEXT, Variant, context_features, fit, markdown, top1_hits
from eval.train import Run


def _passage_rows(covs: list[list[float]]) -> np.ndarray:
    """Candidates of passages ranked 1, 2, …, numbered within each passage, with these coverages."""
    rows = []
    for rank, passage in enumerate(covs, 1):
        for position, cov in enumerate(passage):
            row = np.zeros(len(FEATURES), dtype=np.float32)
            row[INDEX["rank"]], row[INDEX["position"]], row[INDEX["cov"]] = rank, position, cov
            row[INDEX["lcs"]], row[INDEX["s_dense"]] = cov, 0.5 + cov / 10
            rows.append(row)
    return np.asarray(rows)


def test_context_features_read_neighbours_within_a_passage_only():
    X = _passage_rows([[0.9, 0.2, 0.1], [0.3, 0.6]])
    C = context_features(X)
    col = {name: C[:, i] for i, name in enumerate(CONTEXT)}
    assert np.isnan(col["cov_prev"][0]) and col["cov_prev"][1] == np.float32(0.9)
    assert np.isnan(col["cov_prev"][3])  # the first sentence of the second passage has no sentence before it
    assert col["cov_next"][3] == np.float32(0.6) and np.isnan(col["cov_next"][4])
    assert list(col["after_best"]) == [0, 1, 0, 0, 0] and list(col["before_best"]) == [0, 0, 0, 0, 0]
    assert np.allclose(col["p_cov_max"], [0.9, 0.9, 0.9, 0.6, 0.6])
    assert np.allclose(col["p_cov_gap"], [0.0, 0.7, 0.8, 0.3, 0.0])
    assert context_features(X, ("after_best",)).shape == (5, 1)


def _runs(n: int, seed: int) -> list[Run]:
    """The answer is the sentence after the best-covered one: only the context features can tell."""
    rng = np.random.default_rng(seed)
    runs = []
    for q in range(n):
        covs = [list(rng.uniform(0, 0.5, size=4)) for _ in range(2)]
        best_p, best_s = int(rng.integers(2)), int(rng.integers(3))
        covs[best_p][best_s] = 0.9
        X = _passage_rows(covs)
        X[:, INDEX["chars"]] = rng.normal(size=len(X))
        y = np.zeros(len(X), dtype=np.int8)
        y[best_p * 4 + best_s + 1] = 1
        runs.append(Run(f"s{seed}q{q}", "cmrc-trial", "normal", True, X, y, (0.5, 0.5, 0.0, 0.9, 0.0), 4, "zh"))
    return runs


def test_the_sentence_after_the_best_covered_is_found_with_the_context_features_and_not_without():
    train, dev = _runs(300, seed=1), _runs(150, seed=2)
    plain, with_context = Variant("plain", rounds=60), Variant("context", rounds=60, context=("after_best",))
    hits_plain = top1_hits(plain, fit(plain, train), dev)
    hits_context = top1_hits(with_context, fit(with_context, train), dev)
    assert hits_context.mean() > 0.95 and hits_plain.mean() < hits_context.mean() - 0.3
    table = markdown({"dev": [hits_plain, hits_context]}, [plain, with_context])
    assert f"| context | {hits_context.mean():.3f}" in table
