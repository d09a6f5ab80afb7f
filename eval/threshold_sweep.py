"""A higher Chinese refusal threshold, simulated on a finished run: ``python -m eval.threshold_sweep RUNS``.

    python -m eval.threshold_sweep build/base [--thresholds 0.1864,0.2268] [--exclude blind18,blind18-nogold]
                                   [--out FILE.md] [--plot FILE.png]

The decision answers when the refusal model's probability reaches the threshold; the rows of an
``eval.results`` run keep each answer's probability. At a threshold ``t`` above the one the run was
made with, a Chinese question answered with a probability below ``t`` would have been refused, and
nothing else changes: that question becomes right exactly when it has no answer. So the outcome of
every higher threshold is known without asking again. A lower one is not (a refused question has no
answer to score), and English questions keep their own threshold.

For each threshold: over the gold settings, the answerable questions answered right and refused (false
refusals), the written unanswerable ones refused; over the ``-nogold`` settings, the questions refused;
then the questions right only as run and only at ``t``, with the exact McNemar p. The plot draws the
three shares against the threshold.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.plots import plot_threshold_sweep
from eval.report import RunNotFoundError, load_run, mcnemar
from ragchat.errors import RagchatError

Row = dict[str, Any]


def refused_at(row: Row, t: float) -> bool:
    """Whether the question is refused at Chinese threshold ``t`` (at least the run's own)."""
    if row["refused"]:
        return True
    p = row.get("probability")
    return row.get("lang") != "en" and p is not None and p < t


def right_at(row: Row, t: float) -> bool:
    """Whether the question is handled right at ``t``: as run, unless it is newly refused."""
    if row["refused"] or not refused_at(row, t):
        return bool(row["metrics"]["correct"])
    return not row["answerable"]


@dataclass(frozen=True)
class SweepPoint:
    threshold: float
    answerable: int  # answerable questions of the gold settings
    answered_right: float  # their share answered right
    false_refusals: float  # their share refused
    unanswerable: int  # written unanswerable questions of the gold settings
    unanswerable_refused: float
    nogold: int  # questions of the -nogold settings (none has its answer in the index)
    nogold_refused: float
    only_run: int  # right as run, wrong at the threshold
    only_raised: int

    @property
    def p(self) -> float:
        return mcnemar(self.only_run, self.only_raised)


def load_settings(runs: Path, exclude: set[str] = frozenset(), recipe: str = "ragchat") -> dict[str, list[Row]]:
    """Each ``<setting>-<recipe>`` run's rows, but the excluded settings'."""
    suffix = f"-{recipe}"
    out = {d.name.removesuffix(suffix): load_run(d).rows for d in sorted(runs.glob(f"*{suffix}"))
           if d.name.removesuffix(suffix) not in exclude}
    if not out:
        raise RunNotFoundError(f"no {recipe} run is in {runs}")
    return out


def _share(rows: list[Row], keep) -> float:
    return sum(map(keep, rows)) / len(rows) if rows else float("nan")


def point(settings: dict[str, list[Row]], t: float) -> SweepPoint:
    gold = [r for name, rows in settings.items() if not name.endswith("-nogold") for r in rows]
    answerable = [r for r in gold if r["answerable"]]
    unanswerable = [r for r in gold if not r["answerable"]]
    nogold = [r for name, rows in settings.items() if name.endswith("-nogold") for r in rows]
    every = [r for rows in settings.values() for r in rows]
    return SweepPoint(
        t, len(answerable), _share(answerable, lambda r: right_at(r, t)), _share(answerable, lambda r: refused_at(r, t)),
        len(unanswerable), _share(unanswerable, lambda r: refused_at(r, t)),
        len(nogold), _share(nogold, lambda r: refused_at(r, t)),
        sum(1 for r in every if r["metrics"]["correct"] and not right_at(r, t)),
        sum(1 for r in every if not r["metrics"]["correct"] and right_at(r, t)),
    )


def markdown(points: list[SweepPoint]) -> str:
    lines = ["| threshold | answerable right | false refusals | written unanswerable refused | refused without gold | "
             "only as run | only at threshold | McNemar p |", "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {p.threshold:.4g} | {p.answered_right:.3f} | {p.false_refusals:.3f} | {p.unanswerable_refused:.3f} | "
              f"{p.nogold_refused:.3f} | {p.only_run} | {p.only_raised} | {p.p:.3g} |" for p in points]
    if points:
        p = points[0]
        lines.append(f"\n{p.answerable} answerable and {p.unanswerable} written unanswerable questions in the gold "
                     f"settings, {p.nogold} in the settings without the gold passage.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", type=Path, help="an eval.results --runs directory")
    parser.add_argument("--thresholds", default="0.17,0.2,0.25,0.3", help="comma-separated, each above the run's own")
    parser.add_argument("--exclude", default="", help="settings left out, comma-separated (e.g. a blind set)")
    parser.add_argument("--recipe", default="ragchat")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here (default: print it)")
    parser.add_argument("--plot", type=Path, default=None, help="draw the shares against the threshold into this PNG")
    args = parser.parse_args(argv)
    try:
        ts = sorted(float(x) for x in args.thresholds.split(",") if x.strip())
        if not ts:
            raise ValueError("no threshold")
    except ValueError:
        print(f"error: --thresholds takes numbers separated by commas, not {args.thresholds!r}", file=sys.stderr)
        return 2
    try:
        settings = load_settings(args.runs, set(filter(None, args.exclude.split(","))), args.recipe)
    except RagchatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    points = [point(settings, t) for t in ts]
    text = markdown(points)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.plot:
        lo, hi = ts[0], max(ts[-1], ts[0] + 0.2)
        curve = [point(settings, lo + (hi - lo) * i / 60) for i in range(61)]
        plot_threshold_sweep(args.plot, curve, ts, f"{len(settings)} settings of {args.runs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
