"""Comparing two runs, and the quality gate with thresholds that must pass and must fail."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.slow  # builds an index of the report (seconds with the session cache)

from eval.gate import THRESHOLDS, Check, ThresholdsError, check, load_thresholds, main as gate_main
from eval.runner import RunOptions, run_eval
from eval.sets import load_set
from ragchat.cli.main import cli
from ragchat.settings import load_settings


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, tiny_set, tiny_items, make_set, eval_cache):
    """A on the tiny set; B on the same set with two golds swapped, so t-1 breaks and t-5 is fixed."""
    root = tmp_path_factory.mktemp("compare")
    swapped = tiny_items
    swapped[0]["answers"], swapped[4]["answers"] = ["999万亩"], ["482万亩"]
    b_set = make_set(root / "swapped.jsonl", swapped)
    settings = load_settings()
    runs = []
    for name, path in (("a", tiny_set), ("b", b_set)):
        run_eval(load_set(path), settings, RunOptions(cache_dir=eval_cache, progress=False), root / name)
        runs.append(root / name)
    return runs


def test_compare_lists_the_flipped_items_and_the_deltas(two_runs):
    a, b = two_runs
    result = CliRunner().invoke(cli, ["eval", "compare", str(a), str(b)])
    assert result.exit_code == 0, result.output
    text = result.output
    broken = text[text.index("## Right in A, wrong in B: 1"):text.index("## Wrong in A, right in B")]
    fixed = text[text.index("## Wrong in A, right in B: 1"):]
    assert "| t-1 |" in broken and "| t-5 |" not in broken
    assert "| t-5 |" in fixed and "| t-1 |" not in fixed
    assert "| key_fact_recall |" in text and "| hit@5 |" in text
    hit5 = next(line for line in text.splitlines() if line.startswith("| hit@5 |"))
    assert hit5.endswith("+0.000 |")  # same index, same retrieval


def test_compare_of_a_run_with_itself_has_no_flips(two_runs):
    result = CliRunner().invoke(cli, ["eval", "compare", str(two_runs[0]), str(two_runs[0])])
    assert "## Right in A, wrong in B: 0" in result.output and "## Wrong in A, right in B: 0" in result.output


def _thresholds(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_the_gate_passes_above_the_floors_and_fails_below(tmp_path, tiny_set, eval_cache, monkeypatch, capsys):
    monkeypatch.setenv("RAGCHAT_EVAL_CACHE", str(eval_cache))
    passing = _thresholds(tmp_path / "pass.toml", """
[report.at_least]
"hit@5" = 0.5
citation_precision = 0.5
[report.at_most]
false_refusal_rate = 0.5
""")
    # t-5's key fact is not in the report: key_fact_recall can never reach 0.95 on this set
    failing = _thresholds(tmp_path / "fail.toml", """
[report.at_least]
"hit@5" = 0.5
key_fact_recall = 0.95
""")
    args = ["--set", str(tiny_set), "--out", str(tmp_path / "out")]
    assert gate_main(["--thresholds", str(passing), *args]) == 0
    out = capsys.readouterr()
    assert "quality gate passed: 3 checks" in out.out and "FAIL" not in out.out
    assert gate_main(["--thresholds", str(failing), *args]) == 1
    out = capsys.readouterr()
    assert "key_fact_recall" in out.out and "FAIL" in out.out
    assert "quality gate FAILED: 1 of 2 checks (report.key_fact_recall)" in out.err
    assert (tmp_path / "out" / "report" / "summary.json").is_file()


def test_a_metric_the_run_lacks_fails_the_gate():
    checks = check("report", {"at_least": {"no_such_metric": 0.1, "hit@5": 0.5}}, {"hit@5": 0.9})
    assert [c.passed for c in checks] == [False, True]
    assert Check("report", "false_refusal_rate", "at_most", 0.05, 0.06).passed is False
    assert Check("report", "false_refusal_rate", "at_most", 0.05, 0.05).passed is True


@pytest.mark.parametrize("text, message", [
    ("[report.at_least]\nlatency_ms = 100\n", "latency is reported, not gated"),
    ("[nightly.at_least]\nhit_at_5 = 0.5\n", "unknown setting"),
    ("[report.above]\nhit_at_5 = 0.5\n", "at_least"),
    ("[report.at_least]\naccuracy = 'high'\n", "must be a number"),
    ("[report.at_least\n", "not TOML"),
])
def test_a_malformed_thresholds_file_is_a_clear_error(tmp_path, text, message):
    with pytest.raises(ThresholdsError, match=message):
        load_thresholds(_thresholds(tmp_path / "t.toml", text))


def test_the_shipped_thresholds_name_only_metrics_a_run_produces(two_runs):
    from eval.gate import SETTINGS

    limits = load_thresholds(THRESHOLDS)
    assert set(limits) == set(SETTINGS)
    metrics = json.loads((two_runs[0] / "summary.json").read_text(encoding="utf-8"))["metrics"]
    squad = {"gold_contained", "cmrc_f1", "cmrc_em"}  # what a SQuAD-style set adds
    for setting, bounds in limits.items():
        for names in bounds.values():
            known = set(metrics) | (squad if setting.startswith(("cmrc", "blind")) else set())
            assert set(names) <= known, set(names) - known


def test_the_paired_test_of_compare():
    from eval.report import mcnemar

    assert mcnemar(0, 0) == 1.0
    assert mcnemar(5, 5) == 1.0
    assert mcnemar(0, 6) == pytest.approx(2 / 64)  # six flips all one way: p = 2 · (1/2)^6
    assert mcnemar(2, 20) < 0.001 < mcnemar(8, 14)
