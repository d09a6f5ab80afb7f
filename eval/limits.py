"""Reset the gate's limits from a measured run: ``python -m eval.limits --runs build/eval-results``.

    python -m eval.limits --runs DIR [--thresholds eval/thresholds.toml] [--note "session 13"] [--write]

Each limit of ``eval/thresholds.toml`` becomes the value measured in ``--runs`` (the run directories
``python -m eval.results --recipes ragchat`` writes, ``<setting>-ragchat/summary.json``) minus a margin
(plus, for an ``at_most`` ceiling). The margin is one question of the metric's own denominator, and at
least 0.02: the same code on another CPU moves a set of 20–100 questions by one question (session 11),
and a gate that fails when only the machine changed protects nothing.

Without ``--write`` the new file is printed; the comments are kept and each changed line says what was
measured and what was measured before.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.gate import THRESHOLDS, load_thresholds
from ragchat.errors import RagchatError

MIN_MARGIN = 0.02
# which count of the run is a metric's denominator (the rest: the answerable questions)
DENOMINATOR = {"refusal_recall": "unanswerable", "refusal_precision": "unanswerable", "accuracy": "questions"}
_LINE = re.compile(r'^(?P<key>"[^"]+"|[A-Za-z_@0-9]+)(?P<pad>\s*=\s*)(?P<value>[0-9.]+)(?P<rest>.*)$')
_SECTION = re.compile(r"^\[(?P<setting>[a-z0-9_]+)\.(?P<bound>at_least|at_most)\]\s*$")
_MEASURED = re.compile(r"measured (?P<value>[0-9.]+)")


class RunMissingError(RagchatError):
    """A setting of the thresholds file has no measured run in --runs."""


@dataclass(frozen=True)
class Limit:
    setting: str
    bound: str  # "at_least" or "at_most"
    metric: str
    measured: float
    margin: float

    @property
    def value(self) -> float:
        if self.bound == "at_least":
            return max(0.0, math.floor(round((self.measured - self.margin) * 1000, 6)) / 1000)
        return math.ceil(round((self.measured + self.margin) * 1000, 6)) / 1000


def run_dir(runs: Path, setting: str) -> Path:
    """The eval.results directory of a gate setting (``report_distractors`` is ``distractors``)."""
    name = "distractors" if setting == "report_distractors" else setting.replace("_", "-")
    return runs / f"{name}-ragchat"


def margin(metric: str, metrics: dict[str, Any]) -> float:
    n = metrics.get(DENOMINATOR.get(metric, "answerable")) or 0
    if metric.startswith("refusal") and not n:  # a no-gold run: every question should be refused
        n = metrics.get("questions") or 0
    return max(MIN_MARGIN, 1 / n) if n else MIN_MARGIN


def propose(thresholds: Path, runs: Path) -> list[Limit]:
    limits = []
    for setting, bounds in load_thresholds(thresholds).items():
        summary = run_dir(runs, setting) / "summary.json"
        try:
            metrics = json.loads(summary.read_text(encoding="utf-8"))["metrics"]
        except OSError:
            raise RunMissingError(f"no run of {setting} in {runs} ({summary} is missing)") from None
        for bound, values in bounds.items():
            for metric in values:
                if metrics.get(metric) is None:
                    raise RunMissingError(f"{summary}: no {metric}")
                limits.append(Limit(setting, bound, metric, float(metrics[metric]), margin(metric, metrics)))
    return limits


def rewrite(text: str, limits: list[Limit], note: str) -> str:
    """The thresholds file with each limit's line set to its new value; other lines unchanged."""
    by_key = {(l.setting, l.bound, l.metric.strip('"')): l for l in limits}
    section: tuple[str, str] | None = None
    out = []
    for line in text.splitlines():
        if head := _SECTION.match(line):
            section = (head["setting"], head["bound"])
        elif section and (m := _LINE.match(line)) and (limit := by_key.get((*section, m["key"].strip('"')))):
            before = _MEASURED.search(m["rest"])
            if f"{limit.value:.3f}" != m["value"]:
                was = f"; {before['value']} before" if before and float(before["value"]) != limit.measured else ""
                comment = f"   # measured {limit.measured:.3f} ({note}{was}); margin {limit.margin:.3f}"
                line = f"{m['key']}{m['pad']}{limit.value:.3f}{comment}"
        out.append(line)
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, required=True, help="an eval.results --runs directory")
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS)
    parser.add_argument("--note", default="reset", help="said in each changed line's comment")
    parser.add_argument("--write", action="store_true", help="write the thresholds file instead of printing it")
    args = parser.parse_args(argv)
    try:
        limits = propose(args.thresholds, args.runs)
        text = rewrite(args.thresholds.read_text(encoding="utf-8"), limits, args.note)
    except (RagchatError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.write:
        args.thresholds.write_text(text, encoding="utf-8")
        print(f"{args.thresholds}: {len(limits)} limits reset from {args.runs}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
