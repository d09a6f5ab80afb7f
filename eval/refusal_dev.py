"""The refusal model's dev loop: ``python -m eval.refusal_dev``.

Refits the refusal model the way ``make train`` does (LightGBM on the training runs' out-of-fold
selector probabilities, the same weights and thresholds) with and without the chosen sentence's
own feature row (``top_<feature>``), and reads its decisions on question sets it never saw:
``gen9`` … ``gen12`` by default (written report-genre documents, in no training run; a dev set,
not a held-out one). Session 15 measured the chosen row this way (docs/eval-results.md).

For each variant it prints the refusal AUC (answerable asks whose chosen sentence holds the answer
against asks with no answer: written unanswerable, the gold paragraph left out, the answering
sentences blanked), the share of those asks refused when 5% of the right answers are, and the
decisions at the trained threshold. Features are collected once (the training runs' with
``python -m eval.train``, into ``build/train/features.npz``; the dev runs' into ``--dev-features``)
and reused after.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chat.features import FEATURES
from chat.selector import REFUSAL_FEATURES
from eval import train as T

DEV_SETS = ("gen9", "gen10", "gen11", "gen12")
TOP = tuple(f"top_{name}" for name in FEATURES)


@dataclass(frozen=True)
class Result:
    """One refusal variant, read on the dev runs."""

    name: str
    auc: float  # right answers against asks with no answer
    refused_at_5: float  # asks with no answer refused when 5% of the right answers are
    threshold: float  # trained on the training runs, as ``make train`` does
    false_refusals: float  # answerable asks refused at that threshold
    refused: float  # asks with no answer refused at that threshold


def chosen_rows(runs: list[T.Run], probs: list[np.ndarray]) -> np.ndarray:
    """The feature row of each run's best-scored candidate (NaN for a run without candidates)."""
    rows = np.full((len(runs), len(FEATURES)), np.nan)
    for i, (run, p) in enumerate(zip(runs, probs)):
        if len(p):
            rows[i] = run.X[int(np.argmax(p))]
    return rows


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(positive)), np.zeros(len(negative))], np.r_[positive, negative]))


def evaluate(name: str, train: list[T.Run], oof: list[np.ndarray], dev: list[T.Run], dev_probs: list[np.ndarray],
             chosen: bool) -> Result:
    """A refusal model fit on ``train`` (with ``oof``, its out-of-fold selector probabilities), with the
    chosen sentence's row when ``chosen``, and its decisions on ``dev`` (``dev_probs`` from a selector
    fit on all of ``train``)."""
    R, D = T.refusal_matrix(train, oof), T.refusal_matrix(dev, dev_probs)
    features = REFUSAL_FEATURES
    if chosen:
        R, D = np.c_[R, chosen_rows(train, oof)], np.c_[D, chosen_rows(dev, dev_probs)]
        features = REFUSAL_FEATURES + TOP
    label = np.asarray([r.y.any() for r in train], dtype=np.int8)
    weights, fold = T.run_weights(train), T.folds_of(train)
    p = T.oof_refusal("lightgbm", R, label, weights, fold, features)
    t = T.thresholds(train, p, T.answered_right(train, oof))
    q = T.fit_refusal("lightgbm", R, label, weights, features).predict(D)
    answerable = np.asarray([r.answerable and r.kind == "normal" for r in dev])
    right = T.answered_right(dev, dev_probs)
    refused = T.refuses(D, q, t)
    at_5 = float(np.quantile(q[right], T.MAX_REFUSED_RIGHT)) if right.any() else 0.0
    return Result(name, _auc(q[right], q[~answerable]), float((q[~answerable] < at_5).mean()), t.low,
                  float(refused[answerable].mean()), float(refused[~answerable].mean()))


def dev_probabilities(train: list[T.Run], dev: list[T.Run]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The training runs' out-of-fold probabilities of the trained selector kind (lambdarank), and the
    dev runs' from one fit on every training run."""
    oof, platt = T.selector_probabilities("lambdarank", train, T.folds_of(train))
    selector = T.fit_selector("lambdarank", train, platt)
    return oof, [selector.predict(r.X) if len(r.X) else np.zeros(0) for r in dev]


def markdown(results: list[Result]) -> str:
    lines = ["| refusal inputs | AUC | no-answer asks refused at 5% of right answers refused | threshold | "
             "false refusals | no-answer asks refused |", "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r.name} | {r.auc:.3f} | {r.refused_at_5:.3f} | {r.threshold:.3f} | {r.false_refusals:.3f} | "
              f"{r.refused:.3f} |" for r in results]
    return "\n".join(lines)


def _runs(path: Path, datasets) -> list[T.Run]:
    if path.exists():
        return T.load_runs(path)
    runs = T.collect(datasets=datasets)
    T.save_runs(runs, path)
    return runs


def main(argv: list[str] | None = None) -> int:
    from eval.sets import load_squad

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=Path, default=T.FEATURES_CACHE, help="the training runs (collected if missing)")
    parser.add_argument("--dev", default=",".join(DEV_SETS), help="written sets under eval/data (never trained on)")
    parser.add_argument("--dev-features", type=Path, default=Path("build/train/dev-features.npz"))
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.dev.split(",") if n.strip()]
    data = Path(__file__).resolve().parent / "data"
    train = _runs(args.features, None)
    dev = _runs(args.dev_features, [(n, load_squad(data / n / f"{n}.json")) for n in names])
    oof, dev_probs = dev_probabilities(train, dev)
    results = [evaluate("question-level (shipped)", train, oof, dev, dev_probs, chosen=False),
               evaluate("question-level + chosen sentence's row", train, oof, dev, dev_probs, chosen=True)]
    print(f"dev: {', '.join(names)} ({len(dev)} asks)\n\n{markdown(results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
