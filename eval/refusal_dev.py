"""The refusal model's dev loop: ``python -m eval.refusal_dev``.

Refits the refusal model the way ``make train`` does (on the training runs' out-of-fold selector
probabilities, the same weights and thresholds) in several variants (``VARIANTS``: which inputs,
which model) and reads each variant's decisions on question groups it never trained on:

- ``gen9`` … ``gen12`` (written report-genre documents; ``--dev-features``);
- the report's six held-out sets (``--report-features``, optional);
- CMRC 2018 dev's test half (``--cmrc-features``, optional).

These are dev sets, not held-out ones: a variant picked here needs a blind set before a claim.
Session 15 measured the chosen sentence's row this way and session 16 the variants that keep the
report (docs/eval-results.md).

For each variant and group it prints the refusal AUC (answerable asks whose chosen sentence holds
the answer against asks with no answer: written unanswerable, the gold paragraph left out, the
answering sentences blanked), the share of those asks refused when 5% of the right answers are,
the decisions at the trained threshold, and the asks decided right (a right answer given, or no
answer refused) against the first variant's, with a two-sided sign test. Features are collected
once (the training runs' with ``python -m eval.train``, into ``build/train/features.npz``; each
group's into its file) and reused after.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chat.features import FEATURES
from chat.selector import REFUSAL_FEATURES, Refusal
from eval import train as T

DEV_SETS = ("gen9", "gen10", "gen11", "gen12")


@dataclass(frozen=True)
class Variant:
    """A refusal model: ``kind`` (``lightgbm`` or ``logistic``) on the question-level inputs and the
    chosen sentence's ``chosen`` features; ``params`` override LightGBM's; ``blend`` averages its
    probability with the question-level model's (same kind)."""

    name: str
    kind: str = "lightgbm"
    chosen: tuple[str, ...] = ()
    params: dict = field(default_factory=dict)
    blend: bool = False
    report_weight: float | None = None  # the report's runs' weight, if not ``T.REPORT_WEIGHT``
    written_weight: float = 1.0  # a multiplier of the written unanswerable questions' weights


VARIANTS = (
    Variant("question-level (shipped)"),
    Variant("+ chosen row", chosen=FEATURES),
    Variant("+ chosen row, logistic", kind="logistic", chosen=FEATURES),
    Variant("+ chosen row, blended with shipped", chosen=FEATURES, blend=True),
    Variant("+ chosen row, regularised", chosen=FEATURES,
            params={"num_leaves": 7, "min_data_in_leaf": 120, "feature_fraction": 0.5, "lambda_l2": 10.0}),
    Variant("+ chosen row, report weight 30", chosen=FEATURES, report_weight=30.0),
    Variant("+ chosen row, blended, report weight 30", chosen=FEATURES, blend=True, report_weight=30.0),
    Variant("written unanswerable weighted x4", written_weight=4.0),
    Variant("+ chosen row, written unanswerable weighted x4", chosen=FEATURES, written_weight=4.0),
    Variant("+ chosen row, written unanswerable weighted x10", chosen=FEATURES, written_weight=10.0),
)


@dataclass(frozen=True)
class Result:
    """One refusal variant, read on one group of dev runs."""

    name: str
    auc: float  # right answers against asks with no answer
    refused_at_5: float  # asks with no answer refused when 5% of the right answers are
    threshold: float  # trained on the training runs, as ``make train`` does
    false_refusals: float  # answerable asks refused at that threshold
    refused: float  # asks with no answer refused at that threshold
    decided_right: np.ndarray = field(repr=False, compare=False)  # per ask: a right answer given, or no answer refused
    kinds: np.ndarray = field(repr=False, compare=False)  # per ask: answerable, written (unanswerable), nogold, nearmiss


@dataclass(frozen=True)
class Group:
    """Dev runs and their selector probabilities (from a selector fit on every training run)."""

    name: str
    runs: list[T.Run]
    probs: list[np.ndarray]


def chosen_rows(runs: list[T.Run], probs: list[np.ndarray], names: tuple[str, ...] = FEATURES) -> np.ndarray:
    """The ``names`` features of each run's best-scored candidate (NaN for a run without candidates)."""
    cols = [FEATURES.index(n) for n in names]
    rows = np.full((len(runs), len(cols)), np.nan)
    for i, (run, p) in enumerate(zip(runs, probs)):
        if len(p):
            rows[i] = run.X[int(np.argmax(p))][cols]
    return rows


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.r_[np.ones(len(positive)), np.zeros(len(negative))], np.r_[positive, negative]))


def _inputs(v: Variant, runs: list[T.Run], probs: list[np.ndarray]) -> tuple[np.ndarray, tuple[str, ...]]:
    R = T.refusal_matrix(runs, probs)[:, :len(REFUSAL_FEATURES)]
    if not v.chosen:
        return R, REFUSAL_FEATURES
    return np.c_[R, chosen_rows(runs, probs, v.chosen)], REFUSAL_FEATURES + tuple(f"top_{n}" for n in v.chosen)


def _part(v: Variant, R: np.ndarray, label, weight, features):
    if v.kind == "logistic":
        return T.fit_logistic(R, label, features, weight=weight)
    return T.Trees(R, label, rounds=T.REFUSAL_ROUNDS, features=features, weight=weight, params=v.params)


def _fit(v: Variant, R: np.ndarray, label, weight, features) -> Refusal:
    """A fitted variant: the blend's second part reads only the question-level columns, as in
    ``eval.train.fit_refusal``."""
    parts = [_part(v, R, label, weight, features)]
    if v.blend:
        n = len(REFUSAL_FEATURES)
        parts.append(_part(Variant("base", v.kind), R[:, :n], label, weight, REFUSAL_FEATURES))
    return Refusal(parts)


def evaluate(v: Variant, train: list[T.Run], oof: list[np.ndarray], groups: list[Group]) -> list[Result]:
    """A refusal variant fit on ``train`` (with ``oof``, its out-of-fold selector probabilities): its
    threshold from out-of-fold refusal probabilities, as ``make train`` sets it, and its decisions on
    each group."""
    R, features = _inputs(v, train, oof)
    label = np.asarray([r.y.any() for r in train], dtype=np.int8)
    weights, fold = T.run_weights(train), T.folds_of(train)
    if v.report_weight is not None:
        weights = np.where([r.dataset == "report-dev" for r in train], v.report_weight, weights)
    weights = weights * np.where([r.kind == "normal" and not r.answerable for r in train], v.written_weight, 1.0)
    p = np.zeros(len(R))
    for f in range(T.FOLDS):
        held = fold == f
        p[held] = _fit(v, R[~held], label[~held], weights[~held], features).predict(R[held])
    t = T.thresholds(train, p, T.answered_right(train, oof))
    model = _fit(v, R, label, weights, features)
    results = []
    for g in groups:
        D = _inputs(v, g.runs, g.probs)[0]
        q = model.predict(D)
        answerable = np.asarray([r.answerable and r.kind == "normal" for r in g.runs])
        right = T.answered_right(g.runs, g.probs)
        refused = T.refuses(D, q, t)
        at_5 = float(np.quantile(q[right], T.MAX_REFUSED_RIGHT)) if right.any() else 0.0
        auc = _auc(q[right], q[~answerable]) if right.any() and (~answerable).any() else float("nan")
        results.append(Result(v.name, auc, float((q[~answerable] < at_5).mean()), t.low,
                              float(refused[answerable].mean()) if answerable.any() else float("nan"),
                              float(refused[~answerable].mean()) if (~answerable).any() else float("nan"),
                              np.where(answerable, right & ~refused, refused), _kinds(g.runs)))
    return results


def _kinds(runs: list[T.Run]) -> np.ndarray:
    return np.asarray(["answerable" if r.answerable else "written" if r.kind == "normal" else r.kind for r in runs])


KINDS = ("answerable", "written", "nogold", "nearmiss")


def selector_fit(train: list[T.Run]):
    """The training runs' out-of-fold probabilities of the trained selector kind (lambdarank), and a
    selector fit on every training run."""
    oof, platt = T.selector_probabilities("lambdarank", train, T.folds_of(train))
    return oof, T.fit_selector("lambdarank", train, platt)


def group_of(name: str, runs: list[T.Run], selector) -> Group:
    return Group(name, runs, [selector.predict(r.X) if len(r.X) else np.zeros(0) for r in runs])


def sign_test(a: np.ndarray, b: np.ndarray) -> tuple[int, int, float]:
    """Asks right only under ``a``, only under ``b``, and the two-sided sign test's p."""
    from scipy.stats import binomtest

    only_a, only_b = int((a & ~b).sum()), int((b & ~a).sum())
    return only_a, only_b, float(binomtest(only_a, only_a + only_b).pvalue) if only_a + only_b else 1.0


def markdown(group: str, results: list[Result]) -> str:
    base = results[0].decided_right
    lines = [f"**{group}** ({len(base)} asks)", "",
             "| refusal variant | AUC | no-answer refused at 5% of right refused | threshold | false refusals | "
             "no-answer refused | decided right | only first / only this (p) |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        a, b, p = sign_test(base, r.decided_right)
        lines.append(f"| {r.name} | {r.auc:.3f} | {r.refused_at_5:.3f} | {r.threshold:.3f} | {r.false_refusals:.3f} | "
                     f"{r.refused:.3f} | {r.decided_right.mean():.3f} | {a} / {b} ({p:.2g}) |")
    kinds = [k for k in KINDS if (results[0].kinds == k).any()]
    lines += ["", "Decided right by kind of ask (answerable: a right answer given; the others: refused), only first / only this:",
              "", "| refusal variant | " + " | ".join(f"{k} ({(results[0].kinds == k).sum()})" for k in kinds) + " |",
              "|---|" + "---:|" * len(kinds)]
    for r in results:
        cells = []
        for k in kinds:
            m = r.kinds == k
            a, b, _ = sign_test(base[m], r.decided_right[m])
            cells.append(f"{r.decided_right[m].mean():.3f} ({a}/{b})")
        lines.append(f"| {r.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _runs(path: Path, datasets) -> list[T.Run]:
    if path.exists():
        return T.load_runs(path)
    runs = T.collect(datasets=datasets())
    T.save_runs(runs, path)
    return runs


def _report_sets():
    from eval import sets as S

    paths = [S.REPORT_HOLDOUT, S.REPORT_HOLDOUT2, S.REPORT_HOLDOUT3, S.REPORT_HOLDOUT4, S.REPORT_HOLDOUT5, S.REPORT_HOLDOUT6]
    return [(f"holdout{i}", S.load_jsonl(p)) for i, p in enumerate(paths, 1)]


def _cmrc_test():
    from eval.corpus import CMRC_DEV
    from eval.sets import load_squad, take_split

    return [("cmrc-dev-test", take_split(load_squad(CMRC_DEV), "test"))]


def main(argv: list[str] | None = None) -> int:
    from eval.sets import load_squad

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=Path, default=T.FEATURES_CACHE, help="the training runs (collected if missing)")
    parser.add_argument("--dev", default=",".join(DEV_SETS), help="written sets under eval/data (never trained on)")
    parser.add_argument("--dev-features", type=Path, default=Path("build/train/dev-features.npz"))
    parser.add_argument("--report-features", type=Path, help="the report's held-out sets' runs (collected if missing)")
    parser.add_argument("--cmrc-features", type=Path, help="CMRC 2018 dev's test half's runs (collected if missing)")
    parser.add_argument("--variants", help="comma-separated indices into VARIANTS (default: all)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.dev.split(",") if n.strip()]
    data = Path(__file__).resolve().parent / "data"
    train = _runs(args.features, lambda: None)
    oof, selector = selector_fit(train)
    groups = [group_of(", ".join(names), _runs(args.dev_features, lambda: [(n, load_squad(data / n / f"{n}.json")) for n in names]),
                       selector)]
    if args.report_features:
        groups.append(group_of("the report's held-out sets 1-6", _runs(args.report_features, _report_sets), selector))
    if args.cmrc_features:
        groups.append(group_of("CMRC 2018 dev, test half", _runs(args.cmrc_features, _cmrc_test), selector))
    chosen = VARIANTS if not args.variants else [VARIANTS[int(i)] for i in args.variants.split(",")]
    results = [evaluate(v, train, oof, groups) for v in chosen]
    for i, g in enumerate(groups):
        print(markdown(g.name, [r[i] for r in results]) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
