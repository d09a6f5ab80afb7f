"""Ablations: each retrieval expander and each selector feature group switched off, measured alone
on every held-out set.

    python -m eval.ablation --out docs/ablation.md      (make ablation)

- **The sets** are every held-out set the repository has (none was ever trained on): the six report
  held-out sets, blind5 to blind17 (each also asked without its own passage), and a fixed sample of
  the CMRC 2018 test half (against all 848 passages). The blind sets from ``NEWEST_BLIND`` on (blind18,
  blind19) are left out, so that they stay blind for the next candidate.
- **Expanders** are switched off in the settings (``answer.expanders``) and every set is run end to
  end through the app's answer path (``run_eval``); runs are kept under ``--runs`` and, with
  ``--reuse``, read again instead of re-run.
- **Feature groups** are switched off by retraining: the selector and the refusal model are fit
  on the training features (``build/train/features.npz``, from ``make train``) with the group's
  features missing, then scored on features collected the same way from the held-out sets: the
  selector's top-1 accuracy (its best sentence holds the answer), the refusal model's false
  refusals and refusal recall at its cross-validated threshold, and each ask decided right or not
  (a right answer given, or a question without an answer refused), which is paired against the
  full model with a sign test.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from chat.features import FEATURE_GROUPS, without
from eval.refusal_dev import sign_test
from eval.train import (
    FEATURES_CACHE, FOLDS, Run, StaleFeaturesError, answered_right, collect, fit_refusal, fit_selector, folds_of,
    load_runs, refusal_matrix, refuses, run_weights, save_runs, selector_probabilities, thresholds,
)
from ragchat.settings import EXPANDERS, Settings

CMRC_SAMPLE = 300
BUILD = Path("build/ablation")
NEWEST_BLIND = 18  # this set and every later one left out: blind until they judge a candidate
HELD_OUT = ("holdout", "holdout2", "holdout3", "holdout4", "holdout5", "holdout6",
            *(f"blind{n}" for n in range(5, NEWEST_BLIND)))
# follow_up serves conversations only, and no set has one (tests/chat/test_expanders.py tests it)
ABLATED_EXPANDERS = tuple(e for e in EXPANDERS if e != "follow_up")


def family(name: str) -> str:
    if name == "report":
        return "report dev"
    return "report held-out" if name.startswith("holdout") else "blind" if name.startswith("blind") else "CMRC"


def _set_order(name: str) -> tuple[int, int, str]:
    """The report dev set, the held-out sets in ``HELD_OUT`` order (each blind set before its -nogold), CMRC."""
    base = name.removesuffix("-nogold")
    return ((0, 0, name) if name == "report" else (1, HELD_OUT.index(base), name) if base in HELD_OUT
            else (2, 0, name))


def _cmrc_sample(cmrc_limit: int):
    from eval.corpus import CMRC_DEV
    from eval.sets import load_squad, take_split

    test = take_split(load_squad(CMRC_DEV), "test")
    items = sorted(random.Random(2018).sample(test.items, min(cmrc_limit, len(test.items))), key=lambda i: i.id)
    return replace(test, name=f"cmrc-test-{len(items)}", items=items)


def heldout_sets(cmrc_limit: int, no_gold: bool = False) -> list[tuple[str, object]]:
    """(name, set) of every held-out set; ``no_gold`` adds each blind set asked without its own passage."""
    from eval.results import SETTINGS
    from eval.sets import load_set

    out = []
    for name in HELD_OUT:
        out.append((name, load_set(SETTINGS[name].set_path)))
        if no_gold and name.startswith("blind"):
            out.append((f"{name}-nogold", load_set(SETTINGS[name].set_path, no_gold=True)))
    out.append(("cmrc_test", _cmrc_sample(cmrc_limit)))
    return out


# --- expanders, end to end ---------------------------------------------------------------


def expander_runs(cmrc_limit: int, root: Path, reuse: bool, log) -> dict[str, Path]:
    """Every set run end to end with each expander off (and with none off): ``root/<off>/<set>-ragchat``,
    the layout of ``eval.results`` (so ``eval.paired`` reads it too). Returns each variant's folder."""
    from eval.runner import RunOptions, run_eval
    from eval.sets import REPORT_DEV, load_jsonl

    sets = [("report", load_jsonl(REPORT_DEV))] + heldout_sets(cmrc_limit, no_gold=True)
    folders = {}
    for off in ("none",) + ABLATED_EXPANDERS:
        base = Settings()
        answer = base.answer.model_copy(update={"expanders": tuple(e for e in EXPANDERS if e != off)})
        settings = base.model_copy(update={"answer": answer})
        folders[off] = root / off
        for name, eval_set in sets:
            out = root / off / f"{name}-ragchat"
            if reuse and (out / "summary.json").is_file():
                continue
            started = time.time()
            run_eval(eval_set, settings, RunOptions(recipe="ragchat", progress=False, label=f"{name} / {off} off"), out)
            log(f"expander off {off:14s} {name:16s} ({time.time() - started:.0f} s)")
    return folders


@dataclass(frozen=True)
class Outcome:
    """One variant on one set: each ask decided right or not, and the headline shares."""

    decided: np.ndarray  # bool per ask, in a fixed order
    top1: float | None = None
    false_refusals: float | None = None
    refusal_recall: float | None = None


def expander_outcomes(folders: dict[str, Path]) -> dict[tuple[str, str], Outcome]:
    from eval.report import load_run

    out = {}
    for off, folder in folders.items():
        for run in sorted(folder.glob("*-ragchat"), key=lambda d: _set_order(d.name.removesuffix("-ragchat"))):
            rows = sorted(load_run(run).rows, key=lambda r: str(r["id"]))
            summary = json.loads((run / "summary.json").read_text(encoding="utf-8"))["metrics"]
            out[(off, run.name.removesuffix("-ragchat"))] = Outcome(
                np.asarray([bool(r["metrics"]["correct"]) for r in rows]),
                false_refusals=summary.get("false_refusal_rate"), refusal_recall=summary.get("refusal_recall"))
    return out


# --- feature groups, retrained ------------------------------------------------------------


def heldout_runs(cmrc_limit: int, log) -> dict[str, list[Run]]:
    """Features of the held-out sets (cached in build/ablation)."""
    out = {}
    for name, eval_set in heldout_sets(cmrc_limit):
        path = BUILD / f"features-{name}.npz"
        if path.exists():
            try:
                out[name] = load_runs(path)
                continue
            except StaleFeaturesError:  # collected by code with other features: collect again
                log(f"{path} is stale; collecting {name} again")
        started = time.time()
        runs = collect(progress=False, datasets=[(name, eval_set)])
        save_runs(runs, path)
        out[name] = runs
        log(f"collected {name}: {len(runs)} runs ({time.time() - started:.0f} s)")
    return out


def _masked(runs: list[Run], groups: tuple[str, ...]) -> list[Run]:
    return [replace(r, X=without(r.X, groups)) for r in runs]


def feature_outcomes(kind: str, refusal_kind: str, cmrc_limit: int, log) -> dict[tuple[str, str], Outcome]:
    train_runs = load_runs(FEATURES_CACHE)
    held = heldout_runs(cmrc_limit, log)
    out = {}
    for off in ("none",) + tuple(FEATURE_GROUPS):
        started = time.time()
        groups = () if off == "none" else (off,)
        train = _masked(train_runs, groups)
        fold = folds_of(train)
        oof, platt = selector_probabilities(kind, train, fold)
        R = refusal_matrix(train, oof)
        label = np.asarray([r.y.any() for r in train], dtype=np.int8)
        weights = run_weights(train)
        p = np.zeros(len(train))
        for f in range(FOLDS):
            model = fit_refusal(refusal_kind, R[fold != f], label[fold != f], weights[fold != f])
            p[fold == f] = model.predict(R[fold == f])
        t = thresholds(train, p, answered_right(train, oof))
        selector = fit_selector(kind, train, platt)
        refusal = fit_refusal(refusal_kind, R, label, weights)
        for name, runs in held.items():
            runs = _masked(runs, groups)
            probs = [selector.predict(r.X) if len(r.y) else np.zeros(0) for r in runs]
            answerable = np.asarray([r.answerable and r.kind == "normal" for r in runs])
            negative = np.asarray([not r.answerable for r in runs])
            right = answered_right(runs, probs)
            Rh = refusal_matrix(runs, probs)
            refused = refuses(Rh, refusal.predict(Rh), t)
            keep = answerable | negative  # answerable asks of the other kinds are neither
            out[(off, name)] = Outcome(
                np.where(answerable, right & ~refused, refused)[keep],
                top1=float(right[answerable].mean()) if answerable.any() else None,
                false_refusals=float(refused[answerable].mean()) if answerable.any() else None,
                refusal_recall=float(refused[negative].mean()) if negative.any() else None)
        log(f"features off {off:8s} ({time.time() - started:.0f} s)")
    return out


# --- tables and plots ---------------------------------------------------------------------


def _pooled(outcomes: dict[tuple[str, str], Outcome], off: str, names: list[str]) -> np.ndarray:
    return np.concatenate([outcomes[(off, n)].decided for n in names]) if names else np.zeros(0, dtype=bool)


def _mean(values: list[float | None]) -> str:
    values = [v for v in values if v is not None]
    return f"{np.mean(values):.3f}" if values else "–"


def summary_table(outcomes: dict[tuple[str, str], Outcome], title: str, shares: tuple[str, ...]) -> str:
    """Per family of sets: the share of asks decided right and the mean of each set's ``shares``; then
    the asks decided right only with the variant's component on (none off) and only with it off, over
    every set, with the sign test's p."""
    offs = list(dict.fromkeys(off for off, _ in outcomes))
    sets = list(dict.fromkeys(name for _, name in outcomes))
    families = list(dict.fromkeys(family(n) for n in sets))
    head = ["switched off"] + [f"{f}: {c}" for f in families for c in ("decided right",) + shares]
    head += ["only on", "only off", "p"]
    lines = [f"### {title}", "", "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    base_all = _pooled(outcomes, "none", sets)
    for off in offs:
        cells = [off]
        for fam in families:
            names = [n for n in sets if family(n) == fam]
            cells.append(f"{_pooled(outcomes, off, names).mean():.3f}")
            for share in shares:
                cells.append(_mean([getattr(outcomes[(off, n)], share) for n in names]))
        if off == "none":
            cells += ["–", "–", "–"]
        else:
            a, b, p = sign_test(base_all, _pooled(outcomes, off, sets))
            cells += [str(a), str(b), f"{p:.3g}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def delta_table(outcomes: dict[tuple[str, str], Outcome], title: str) -> str:
    """Per set: asks decided right with the component off minus with everything on."""
    offs = [off for off in dict.fromkeys(off for off, _ in outcomes) if off != "none"]
    sets = list(dict.fromkeys(name for _, name in outcomes))
    lines = [f"#### {title}", "", "| switched off | " + " | ".join(sets) + " |", "|---|" + "---:|" * len(sets)]
    for off in offs:
        cells = [f"{int(outcomes[(off, n)].decided.sum()) - int(outcomes[('none', n)].decided.sum()):+d}" for n in sets]
        lines.append(f"| {off} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _plot(outcomes: dict[tuple[str, str], Outcome], path: Path, title: str) -> None:
    """Asks decided right with each component off minus with everything on, per family of sets."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    offs = [off for off in dict.fromkeys(off for off, _ in outcomes) if off != "none"]
    sets = list(dict.fromkeys(name for _, name in outcomes))
    families = list(dict.fromkeys(family(n) for n in sets))
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(families)
    for i, fam in enumerate(families):
        names = [n for n in sets if family(n) == fam]
        base = _pooled(outcomes, "none", names).sum()
        ax.bar([j + i * width for j in range(len(offs))],
               [int(_pooled(outcomes, off, names).sum() - base) for off in offs], width, label=fam)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks([j + 0.4 - width / 2 for j in range(len(offs))], offs, rotation=20)
    ax.set_ylabel("asks decided right, off − on")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


READING = """### Reading the tables

- **Decided right** is one ask handled right: an answerable question answered with a sentence
  that holds its answer (feature groups: the selector's best sentence; expanders: key facts or a
  gold answer contained in the final answer), or a question without an answer refused. The blind
  sets also ask each answerable question without its own passage (`-nogold`), and the feature
  table adds, for every set, the asks whose answer sentences are blanked (near misses). A positive
  "only off" beside a small p says the component hurts there.
- **top1** is the selector alone, on the answerable questions; false refusals and refusal recall
  are at the retrained model's own cross-validated threshold. These are question-level figures of
  the trained models, not the end-to-end figures of docs/eval-results.md.
- One question is about 1.3–1.7 points on a report held-out set (60–80 questions) and 0.8–1.0 on a
  blind set: only pooled differences with a small p mean much.
- **Expanders**: `follow_up` serves conversations and no set has one: it is tested on its own in
  `tests/chat/test_expanders.py`. `places` sets aside documents about other places, so it can only
  matter on the multi-document sets.
- The newest blind sets (blind18, blind19) are left out, so that they stay blind for the next candidate.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("docs/ablation.md"))
    parser.add_argument("--cmrc-limit", type=int, default=CMRC_SAMPLE)
    parser.add_argument("--runs", type=Path, default=BUILD / "expanders",
                        help="the expander runs' folder: <runs>/<expander off>/<set>-ragchat")
    parser.add_argument("--reuse", action="store_true", help="reuse expander runs already under --runs")
    parser.add_argument("--skip-expanders", action="store_true")
    args = parser.parse_args(argv)
    from chat.selector import load_models

    manifest = load_models().manifest
    kind, refusal_kind = manifest["selector"]["kind"], manifest["refusal"].get("kind", "logistic")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731
    parts = [f"# Ablations\n\nGenerated by `python -m eval.ablation` ({time.strftime('%Y-%m-%d')}) on every held-out "
             f"set: report held-out 1–6, blind5–blind{NEWEST_BLIND - 1}, and a fixed sample of {args.cmrc_limit} "
             "questions of the CMRC test half, against all 848 passages.\n"]
    plots = args.out.parent / "plots"
    features = feature_outcomes(kind, refusal_kind, args.cmrc_limit, log)
    parts.append(summary_table(features, f"Selector feature groups (retrained without the group; {kind})",
                               ("top1", "false_refusals", "refusal_recall")))
    parts.append(delta_table(features, "Feature groups, per set: asks decided right, off − on"))
    _plot(features, plots / "ablation-features.png", "one selector feature group off")
    parts.append("![features](plots/ablation-features.png)\n")
    if not args.skip_expanders:
        expanders = expander_outcomes(expander_runs(args.cmrc_limit, args.runs, args.reuse, log))
        parts.append(summary_table(expanders, "Retrieval expanders (end to end)", ("false_refusals", "refusal_recall")))
        parts.append(delta_table(expanders, "Expanders, per set: asks decided right, off − on"))
        _plot(expanders, plots / "ablation-expanders.png", "one retrieval expander off")
        parts.append("![expanders](plots/ablation-expanders.png)\n")
    parts.append(READING)
    args.out.write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
