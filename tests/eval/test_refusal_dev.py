"""The refusal dev loop (eval/refusal_dev.py) on synthetic runs (not real questions)."""

from __future__ import annotations

import numpy as np

from chat.features import FEATURES
from chat.selector import REFUSAL_INPUTS, Refusal, load_models
from eval.refusal_dev import Variant, chosen_rows, evaluate, group_of, selector_fit, sign_test
from eval.train import DEFAULT_REFUSAL_KINDS, REFUSAL_KINDS, Run, train as train_models

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
    oof, selector = selector_fit(train)
    groups = [group_of("dev", dev, selector)]
    (without,) = evaluate(Variant("without"), train, oof, groups)
    (with_row,) = evaluate(Variant("with", chosen=FEATURES), train, oof, groups)
    (blend,) = evaluate(Variant("blend", chosen=FEATURES, blend=True), train, oof, groups)
    assert without.auc < 0.65
    assert with_row.auc > 0.85 and with_row.refused_at_5 > without.refused_at_5 + 0.3
    assert blend.auc > 0.85  # the mean keeps the ranking the chosen row gives
    only_without, only_with, p = sign_test(without.decided_right, with_row.decided_right)
    assert only_with > only_without and p < 0.01


def test_training_picks_the_blend_when_asked_and_only_the_chosen_sentence_tells_and_it_loads(tmp_path):
    manifest = train_models(_runs(400, seed=4), tmp_path, log=lambda *_: None, refusal_kinds=REFUSAL_KINDS)
    assert manifest["refusal"]["kind"] == "blend"
    assert manifest["refusal"]["cv_refusal_recall"]["blend"] > manifest["refusal"]["cv_refusal_recall"]["lightgbm"] + 0.2
    refusal = load_models(tmp_path).refusal
    assert isinstance(refusal, Refusal) and refusal.kind == "blend"
    rows = np.random.default_rng(5).normal(size=(8, len(REFUSAL_INPUTS)))
    parts = [part.predict(rows[:, :len(part.features)]) for part in refusal.parts]
    assert np.allclose(refusal.predict(rows), np.mean(parts, axis=0))  # the mean of its parts
    assert not np.allclose(parts[0], parts[1])  # which read different inputs and differ


def test_training_leaves_the_blend_out_by_default(tmp_path):
    manifest = train_models(_runs(200, seed=6), tmp_path, log=lambda *_: None)
    assert set(manifest["refusal"]["cv_refusal_recall"]) == set(DEFAULT_REFUSAL_KINDS)
    assert load_models(tmp_path).refusal.kind in DEFAULT_REFUSAL_KINDS
