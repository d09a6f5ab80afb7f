"""The quality gate: the report's eval sets must stay above the floors in thresholds.toml.

    python -m eval.gate [--thresholds eval/thresholds.toml] [--out DIR]

Runs the default answerer on each setting of the thresholds file (the dev set
on the bundled report alone and with the 848 CMRC 2018 passages as
distractors; the six held-out sets on the report; the test half of CMRC 2018
dev against all 848 passages, and the same with each question's own passage
left out; the new documents of ``eval/data/blind5`` … ``blind18``, alike), prints a table and exits
with 1 when any metric is below its ``at_least`` floor or above its
``at_most`` ceiling.
Latency is reported, never gated. Embeddings come from the eval cache
(``$RAGCHAT_EVAL_CACHE``), so only the first run on a machine embeds.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.corpus import CMRC_DEV
from eval.sets import (
    BLIND5, BLIND6, BLIND7, BLIND8, BLIND9, BLIND10, BLIND11, BLIND12, BLIND13, BLIND14, BLIND15, BLIND16, BLIND17, BLIND18, BLIND19, REPORT_DEV, REPORT_HOLDOUT, REPORT_HOLDOUT2, REPORT_HOLDOUT3,
    REPORT_HOLDOUT4, REPORT_HOLDOUT5, REPORT_HOLDOUT6,
)
from ragchat.errors import RagchatError
from ragchat.settings import Settings

THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"


@dataclass(frozen=True)
class GateSetting:
    path: Path
    distractors: bool = False
    split: str | None = None  # a side of the fixed CMRC 2018 dev split
    no_gold: bool = False  # each question asked with its own passage left out


SETTINGS = {
    "report": GateSetting(REPORT_DEV),
    "report_distractors": GateSetting(REPORT_DEV, distractors=True),
    "holdout": GateSetting(REPORT_HOLDOUT),
    "holdout2": GateSetting(REPORT_HOLDOUT2),
    "holdout3": GateSetting(REPORT_HOLDOUT3),
    "holdout4": GateSetting(REPORT_HOLDOUT4),
    "holdout5": GateSetting(REPORT_HOLDOUT5),
    "holdout6": GateSetting(REPORT_HOLDOUT6),
    "cmrc_test": GateSetting(CMRC_DEV, split="test"),
    "cmrc_test_nogold": GateSetting(CMRC_DEV, split="test", no_gold=True),
    "blind5": GateSetting(BLIND5),
    "blind5_nogold": GateSetting(BLIND5, no_gold=True),
    "blind6": GateSetting(BLIND6),
    "blind6_nogold": GateSetting(BLIND6, no_gold=True),
    "blind7": GateSetting(BLIND7),
    "blind7_nogold": GateSetting(BLIND7, no_gold=True),
    "blind8": GateSetting(BLIND8),
    "blind8_nogold": GateSetting(BLIND8, no_gold=True),
    "blind9": GateSetting(BLIND9),
    "blind9_nogold": GateSetting(BLIND9, no_gold=True),
    "blind10": GateSetting(BLIND10),
    "blind10_nogold": GateSetting(BLIND10, no_gold=True),
    "blind11": GateSetting(BLIND11),
    "blind11_nogold": GateSetting(BLIND11, no_gold=True),
    "blind12": GateSetting(BLIND12),
    "blind12_nogold": GateSetting(BLIND12, no_gold=True),
    "blind13": GateSetting(BLIND13),
    "blind13_nogold": GateSetting(BLIND13, no_gold=True),
    "blind14": GateSetting(BLIND14),
    "blind14_nogold": GateSetting(BLIND14, no_gold=True),
    "blind15": GateSetting(BLIND15),
    "blind15_nogold": GateSetting(BLIND15, no_gold=True),
    "blind16": GateSetting(BLIND16),
    "blind16_nogold": GateSetting(BLIND16, no_gold=True),
    "blind17": GateSetting(BLIND17),
    "blind17_nogold": GateSetting(BLIND17, no_gold=True),
    "blind18": GateSetting(BLIND18),
    "blind18_nogold": GateSetting(BLIND18, no_gold=True),
    "blind19": GateSetting(BLIND19),
    "blind19_nogold": GateSetting(BLIND19, no_gold=True),
}


class ThresholdsError(RagchatError):
    """The thresholds file is missing or malformed."""


@dataclass(frozen=True)
class Check:
    setting: str
    metric: str
    bound: str  # "at_least" or "at_most"
    limit: float
    value: float | None

    @property
    def passed(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.limit if self.bound == "at_least" else self.value <= self.limit


def load_thresholds(path: Path) -> dict[str, dict[str, dict[str, float]]]:
    """``{setting: {"at_least": {metric: floor}, "at_most": {metric: ceiling}}}``."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ThresholdsError(f"cannot read thresholds file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ThresholdsError(f"thresholds file {path} is not TOML: {exc}") from None
    for setting, bounds in data.items():
        if setting not in SETTINGS:
            raise ThresholdsError(f"{path}: unknown setting [{setting}]; use {', '.join(SETTINGS)}")
        for bound, metrics in bounds.items():
            if bound not in ("at_least", "at_most") or not isinstance(metrics, dict):
                raise ThresholdsError(f"{path}: [{setting}.{bound}] should be [{setting}.at_least] or [{setting}.at_most]")
            for metric, limit in metrics.items():
                if not isinstance(limit, (int, float)) or isinstance(limit, bool):
                    raise ThresholdsError(f"{path}: {setting}.{bound}.{metric} must be a number, not {limit!r}")
                if metric.startswith("latency"):
                    raise ThresholdsError(f"{path}: {metric}: latency is reported, not gated")
    if not data:
        raise ThresholdsError(f"{path}: no thresholds")
    return data


def check(setting: str, bounds: dict[str, dict[str, float]], metrics: dict[str, Any]) -> list[Check]:
    """One check per threshold; a metric the run lacks fails."""
    return [
        Check(setting, metric, bound, float(limit), metrics.get(metric))
        for bound, limits in bounds.items()
        for metric, limit in limits.items()
    ]


def table(checks: list[Check]) -> str:
    lines = [f"{'setting':<20} {'metric':<22} {'value':>7}  {'limit':>12}  result"]
    for c in checks:
        value = "missing" if c.value is None else f"{c.value:.3f}"
        limit = (">= " if c.bound == "at_least" else "<= ") + f"{c.limit:.3f}"
        lines.append(f"{c.setting:<20} {c.metric:<22} {value:>7}  {limit:>12}  {'ok' if c.passed else 'FAIL'}")
    return "\n".join(lines)


def run_gate(thresholds: Path, out: Path, set_path: Path | None = None, cache_dir: Path | None = None,
             progress: bool = True, settings: Settings | None = None) -> tuple[list[Check], dict[str, dict[str, Any]]]:
    """Run every setting named in ``thresholds``; returns the checks and each run's summary.
    ``set_path`` replaces every setting's eval set (for tests)."""
    from eval.runner import RunOptions, run_eval
    from eval.sets import load_set
    from ragchat.settings import load_settings

    limits = load_thresholds(thresholds)
    settings = settings or load_settings()
    checks: list[Check] = []
    summaries = {}
    for setting, bounds in limits.items():
        spec = SETTINGS[setting]
        eval_set = load_set(set_path) if set_path else load_set(spec.path, split=spec.split, no_gold=spec.no_gold)
        options = RunOptions(distractors=spec.distractors, cache_dir=cache_dir, progress=progress,
                             label=f"{eval_set.name} / {setting}")
        summary = run_eval(eval_set, settings, options, out / setting)
        summaries[setting] = summary
        checks += check(setting, bounds, summary["metrics"])
    return checks, summaries


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=Path, default=THRESHOLDS)
    parser.add_argument("--out", type=Path, default=Path(".ragchat/eval-gate"), help="where each run's files go")
    parser.add_argument("--set", dest="set_path", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        checks, summaries = run_gate(args.thresholds, args.out, args.set_path)
    except RagchatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(table(checks))
    for setting, summary in summaries.items():
        lat = summary["metrics"]["latency_ms"].get("total", {})
        print(f"{setting}: {summary['metrics']['questions']} questions, end-to-end p50 {lat.get('p50', 0):.0f} ms, "
              f"p95 {lat.get('p95', 0):.0f} ms (not gated); files in {args.out / setting}")
    failed = [c for c in checks if not c.passed]
    if failed:
        print(f"quality gate FAILED: {len(failed)} of {len(checks)} checks "
              f"({', '.join(f'{c.setting}.{c.metric}' for c in failed)})", file=sys.stderr)
        return 1
    print(f"quality gate passed: {len(checks)} checks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
