"""The answer selector's dev loop: ``python -m eval.selector_dev``.

Refits the selector the way ``make train`` does (LightGBM lambdarank on the answerable runs of the
training data) in several variants (``VARIANTS``: its parameters, more rounds, or context features
derived from the feature rows) and reads each variant's top-1 accuracy (the best-scored candidate
holds the answer) on question groups it never trained on:

- ``gen9`` … ``gen12`` (written report-genre documents; ``--dev-features``);
- the report's six held-out sets (``--report-features``, optional);
- CMRC 2018 dev's test half (``--cmrc-features``, optional).

The runs are the ones ``eval.refusal_dev`` collects (the same files). These are dev sets, not
held-out ones: a variant picked here needs a blind set before a claim. Each variant's questions
answered right are compared with the first variant's (a two-sided sign test), because a point of
accuracy on a few hundred questions is a handful of questions.

The context features (``context_features``) are read from the rows themselves, so no collection is
needed: the coverage of the sentence before and after in the same passage, the best coverage of the
passage, whether the sentence follows (or precedes) the question's best-covered one, and the
sentence's cosine against its passage's best. They test whether "the sentence after the one that
repeats the question" is what the selector misses (session 18: it is not; docs/eval-results.md).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from chat.features import INDEX
from eval import train as T
from eval.refusal_dev import DEV_SETS, _cmrc_test, _report_sets, _runs, sign_test

CONTEXT = ("cov_prev", "cov_next", "type_prev", "p_cov_max", "p_cov_gap", "after_best", "before_best",
           "dense_p_rel", "lcs_rel")


@dataclass(frozen=True)
class Variant:
    """A selector: LightGBM lambdarank with ``params`` over ``T.RANK_PARAMS``, ``rounds`` rounds and
    the ``context`` features added."""

    name: str
    params: dict = field(default_factory=dict)
    rounds: int = T.LGBM_ROUNDS
    context: tuple[str, ...] = ()


VARIANTS = (
    Variant("shipped (lambdarank, 300 rounds)"),
    Variant("+ all context features", context=CONTEXT),
    Variant("+ neighbours' features", context=("cov_prev", "cov_next", "type_prev", "after_best", "before_best")),
    Variant("+ passage features", context=("p_cov_max", "p_cov_gap", "dense_p_rel")),
    Variant("600 rounds", rounds=600),
    Variant("150 rounds", rounds=150),
    Variant("31 leaves", params={"num_leaves": 31}),
    Variant("7 leaves, 500 rounds", params={"num_leaves": 7}, rounds=500),
    Variant("truncation 20", params={"lambdarank_truncation_level": 20}),
    Variant("rank_xendcg", params={"objective": "rank_xendcg"}),
    Variant("min 100 in a leaf", params={"min_data_in_leaf": 100}),
    Variant("feature fraction 0.5", params={"feature_fraction": 0.5}),
)


def context_features(X: np.ndarray, names: tuple[str, ...] = CONTEXT) -> np.ndarray:
    """``names`` (of ``CONTEXT``) for each candidate of one question, read from its feature rows:
    candidates of a passage share its ``rank`` and are numbered by ``position``."""
    n = len(X)
    out = np.full((n, len(names)), np.nan, dtype=np.float32)
    if not n:
        return out
    rank, pos = X[:, INDEX["rank"]], X[:, INDEX["position"]]
    cov, dense, typed, lcs = (X[:, INDEX[f]] for f in ("cov", "s_dense", "type_hit", "lcs"))
    at = {(rank[i], pos[i]): i for i in range(n)}
    best = int(np.nanargmax(cov)) if not np.all(np.isnan(cov)) else -1
    p_cov = {r: np.nanmax(cov[rank == r]) for r in set(rank.tolist())}
    p_dense = {r: np.nanmax(dense[rank == r]) if not np.all(np.isnan(dense[rank == r])) else np.nan
               for r in set(rank.tolist())}
    top_lcs = np.nanmax(lcs) or 1.0
    for i in range(n):
        before, after = at.get((rank[i], pos[i] - 1)), at.get((rank[i], pos[i] + 1))
        values = {
            "cov_prev": cov[before] if before is not None else np.nan,
            "cov_next": cov[after] if after is not None else np.nan,
            "type_prev": typed[before] if before is not None else np.nan,
            "p_cov_max": p_cov[rank[i]],
            "p_cov_gap": p_cov[rank[i]] - cov[i],
            "after_best": float(before == best),
            "before_best": float(after == best),
            "dense_p_rel": dense[i] - p_dense[rank[i]],
            "lcs_rel": lcs[i] / top_lcs,
        }
        out[i] = [values[name] for name in names]
    return out


def rows_of(v: Variant, run: T.Run) -> np.ndarray:
    """The run's feature rows, with the variant's context features after them."""
    X = np.asarray(run.X, dtype=np.float64)
    return np.concatenate([X, context_features(run.X, v.context)], axis=1) if v.context else X


def fit(v: Variant, train: list[T.Run]):
    """The variant's lambdarank, fit on the answerable runs of ``train``."""
    import lightgbm

    rows = [r for r in train if r.kind == "normal" and r.answerable and len(r.y)]
    data = lightgbm.Dataset(np.concatenate([rows_of(v, r) for r in rows]), label=np.concatenate([r.y for r in rows]),
                            group=[len(r.y) for r in rows], free_raw_data=False)
    return lightgbm.train({**T.RANK_PARAMS, **v.params}, data, num_boost_round=v.rounds)


def top1_hits(v: Variant, model, runs: list[T.Run]) -> np.ndarray:
    """Per answerable run: whether the best-scored candidate holds the answer (no candidate: False)."""
    return np.asarray([bool(len(r.y)) and bool(r.y[int(np.argmax(model.predict(rows_of(v, r), num_threads=1)))])
                       for r in runs if r.kind == "normal" and r.answerable])


def markdown(groups: dict[str, list[np.ndarray]], variants: list[Variant]) -> str:
    lines = ["| selector variant | " + " | ".join(f"{g} ({len(h[0])})" for g, h in groups.items()) + " |",
             "|---|" + "---:|" * len(groups)]
    for i, v in enumerate(variants):
        cells = []
        for hits in groups.values():
            a, b, p = sign_test(hits[0], hits[i])
            cells.append(f"{hits[i].mean():.3f} ({a} / {b}, p {p:.2g})")
        lines.append(f"| {v.name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n\nTop-1 accuracy on answerable questions (questions right only under the first " \
                              "variant / only under this one, two-sided sign test)."


def main(argv: list[str] | None = None) -> int:
    from eval.sets import load_squad

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--features", type=Path, default=T.FEATURES_CACHE, help="the training runs (collected if missing)")
    parser.add_argument("--dev-features", type=Path, default=Path("build/train/dev-features.npz"))
    parser.add_argument("--report-features", type=Path, help="the report's held-out sets' runs (collected if missing)")
    parser.add_argument("--cmrc-features", type=Path, help="CMRC 2018 dev's test half's runs (collected if missing)")
    parser.add_argument("--variants", help="comma-separated indices into VARIANTS (default: all)")
    args = parser.parse_args(argv)
    data = Path(__file__).resolve().parent / "data"
    train = _runs(args.features, lambda: None)
    groups = {"gen9 … gen12": _runs(args.dev_features,
                                    lambda: [(n, load_squad(data / n / f"{n}.json")) for n in DEV_SETS])}
    if args.report_features:
        groups["report held-out 1–6"] = _runs(args.report_features, _report_sets)
    if args.cmrc_features:
        groups["CMRC test half"] = _runs(args.cmrc_features, _cmrc_test)
    chosen = list(VARIANTS) if not args.variants else [VARIANTS[int(i)] for i in args.variants.split(",")]
    hits: dict[str, list[np.ndarray]] = {g: [] for g in groups}
    for v in chosen:
        model = fit(v, train)
        for g, runs in groups.items():
            hits[g].append(top1_hits(v, model, runs))
    print(markdown(hits, chosen))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
