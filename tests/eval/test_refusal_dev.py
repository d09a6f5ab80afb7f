"""The refusal dev loop (eval/refusal_dev.py) on synthetic runs (not real questions)."""

from __future__ import annotations

import numpy as np

from chat.features import FEATURES
from eval.refusal_dev import chosen_rows, dev_probabilities, evaluate
from eval.train import Run

SIGNAL = FEATURES.index("lcs")


def _runs(n: int, seed: int) -> list[Run]:
    """The answer sits where feature 0 is highest; whether there is one shows only in ``SIGNAL``, which
    every candidate of a run shares (so no ranking of candidates can learn it)."""
    rng = np.random.default_rng(seed)
    runs = []
    for q in range(n):
        answerable = q % 2 == 0
        X = rng.normal(size=(5, len(FEATURES))).astype(np.float32)
        X[:, SIGNAL] = (1.5 if answerable else -1.5) + rng.normal()
        y = np.zeros(5, dtype=np.int8)
        if answerable:
            y[int(np.argmax(X[:, 0]))] = 1
        runs.append(Run(f"s{seed}q{q}", "cmrc-trial", "normal", answerable, X, y, (0.5, 0.5, 0.0, 0.9, 0.0), 4, "zh"))
    return runs


def test_the_chosen_rows_are_the_best_scored_candidates_rows():
    runs = _runs(3, seed=1)
    probs = [np.asarray([0.1, 0.7, 0.2, 0.0, 0.0]), np.asarray([0.9, 0.1, 0.0, 0.0, 0.0]), np.zeros(0)]
    rows = chosen_rows(runs, probs)
    assert np.array_equal(rows[0], runs[0].X[1]) and np.array_equal(rows[1], runs[1].X[0])
    assert np.isnan(rows[2]).all()


def test_a_signal_only_the_chosen_sentence_carries_is_learned_with_its_row_and_not_without():
    train, dev = _runs(400, seed=2), _runs(200, seed=3)
    oof, dev_probs = dev_probabilities(train, dev)
    without = evaluate("without", train, oof, dev, dev_probs, chosen=False)
    with_row = evaluate("with", train, oof, dev, dev_probs, chosen=True)
    assert without.auc < 0.65
    assert with_row.auc > 0.85 and with_row.refused_at_5 > without.refused_at_5 + 0.3
