"""Two ``eval.results`` run directories compared setting by setting: ``python -m eval.paired A B``.

    python -m eval.paired build/base build/new [--recipe ragchat] [--out FILE.md] [--plot FILE.png]

For every setting run in both, the share of questions handled right (``correct``: answered with the
answer, or rightly refused), the questions right only in A and only in B, and the exact McNemar p of
that pair; then the totals. The plot draws both shares per setting, so a reader sees where a change
gains and where it loses (``ragchat eval compare`` lists one setting's flipped questions).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

from eval.plots import plot_paired
from eval.report import RunNotFoundError, flips, load_run, mcnemar
from ragchat.errors import RagchatError


@dataclass(frozen=True)
class Paired:
    setting: str
    questions: int
    right_a: int
    right_b: int
    only_a: int  # right in A, wrong in B
    only_b: int

    @property
    def p(self) -> float:
        return mcnemar(self.only_a, self.only_b)


def pair(runs_a: Path, runs_b: Path, recipe: str = "ragchat") -> list[Paired]:
    """One :class:`Paired` for each ``<setting>-<recipe>`` run present under both directories."""
    suffix = f"-{recipe}"
    names = sorted(d.name for d in runs_a.glob(f"*{suffix}") if (runs_b / d.name / "summary.json").is_file())
    if not names:
        raise RunNotFoundError(f"no {recipe} run is in both {runs_a} and {runs_b}")
    out = []
    for name in names:
        a, b = load_run(runs_a / name), load_run(runs_b / name)
        broken, fixed = flips(a.rows, b.rows)
        ids = {r["id"] for r in a.rows} & {r["id"] for r in b.rows}
        out.append(Paired(name.removesuffix(suffix), len(ids),
                          sum(bool(r["metrics"]["correct"]) for r in a.rows if r["id"] in ids),
                          sum(bool(r["metrics"]["correct"]) for r in b.rows if r["id"] in ids),
                          len(broken), len(fixed)))
    return out


def markdown(rows: list[Paired], label_a: str, label_b: str) -> str:
    lines = [f"| setting | questions | right, {label_a} | right, {label_b} | only {label_a} | only {label_b} | McNemar p |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r.setting} | {r.questions} | {r.right_a / r.questions:.3f} | {r.right_b / r.questions:.3f} | "
                     f"{r.only_a} | {r.only_b} | {r.p:.3g} |")
    total = Paired("all", *(sum(getattr(r, f) for r in rows) for f in ("questions", "right_a", "right_b", "only_a", "only_b")))
    lines.append(f"| **all** | {total.questions} | {total.right_a / total.questions:.3f} | "
                 f"{total.right_b / total.questions:.3f} | {total.only_a} | {total.only_b} | {total.p:.3g} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs_a", type=Path)
    parser.add_argument("runs_b", type=Path)
    parser.add_argument("--recipe", default="ragchat")
    parser.add_argument("--labels", default="A,B", help="two names for the runs, comma-separated")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here (default: print it)")
    parser.add_argument("--plot", type=Path, default=None, help="draw the shares into this PNG")
    args = parser.parse_args(argv)
    label_a, _, label_b = args.labels.partition(",")
    try:
        rows = pair(args.runs_a, args.runs_b, args.recipe)
    except RagchatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    text = markdown(rows, label_a, label_b or "B")
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    if args.plot:
        plot_paired(args.plot, rows, label_a, label_b or "B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
