"""eval.limits: the gate's limits reset from a measured run, with a margin of one question."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from eval.gate import load_thresholds
from eval.limits import RunMissingError, main, margin, propose, rewrite, run_dir

THRESHOLDS = """\
# a comment that stays
[report.at_least]
"hit@5"               = 0.944   # measured 0.964
refusal_recall        = 0.830   # measured 0.850 (session 11)

[report.at_most]
false_refusal_rate    = 0.047   # measured 0.027

# the test half of CMRC
[cmrc_test.at_least]
gold_contained        = 0.793   # measured 0.813

[cmrc_test_nogold.at_least]
refusal_recall        = 0.852   # measured 0.872
"""


def _run(runs: Path, setting: str, **metrics) -> None:
    folder = run_dir(runs, setting)
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"metrics": metrics}), encoding="utf-8")


@pytest.fixture()
def measured(tmp_path: Path) -> tuple[Path, Path]:
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text(THRESHOLDS, encoding="utf-8")
    runs = tmp_path / "runs"
    _run(runs, "report", questions=131, answerable=111, unanswerable=20,
         **{"hit@5": 0.964, "refusal_recall": 0.9, "false_refusal_rate": 0.027})
    _run(runs, "cmrc_test", questions=1631, answerable=1631, unanswerable=0, gold_contained=0.814)
    _run(runs, "cmrc_test_nogold", questions=1631, answerable=0, unanswerable=0, refusal_recall=0.874)
    return thresholds, runs


def test_the_margin_is_one_question_of_the_metrics_own_denominator_and_at_least_002():
    small = {"questions": 131, "answerable": 111, "unanswerable": 20}
    assert margin("refusal_recall", small) == pytest.approx(1 / 20)
    assert margin("hit@5", small) == pytest.approx(0.02)  # 1/111 < 0.02
    assert margin("accuracy", {"questions": 40, "answerable": 30}) == pytest.approx(1 / 40)
    assert margin("gold_contained", {"questions": 30, "answerable": 30}) == pytest.approx(1 / 30)
    # a no-gold run counts every question as one that should be refused
    assert margin("refusal_recall", {"questions": 25, "answerable": 0, "unanswerable": 0}) == pytest.approx(1 / 25)


def test_limits_follow_the_measurement_floors_down_and_ceilings_up(measured):
    thresholds, runs = measured
    limits = {(l.setting, l.bound, l.metric): l.value for l in propose(thresholds, runs)}
    assert limits[("report", "at_least", "refusal_recall")] == pytest.approx(0.85)  # 0.900 - 1/20
    assert limits[("report", "at_least", "hit@5")] == pytest.approx(0.944)  # 0.964 - 0.02
    assert limits[("report", "at_most", "false_refusal_rate")] == pytest.approx(0.047)  # 0.027 + 0.02
    assert limits[("cmrc_test", "at_least", "gold_contained")] == pytest.approx(0.794)


def test_the_rewritten_file_keeps_comments_and_says_what_changed(measured):
    thresholds, runs = measured
    text = rewrite(thresholds.read_text(encoding="utf-8"), propose(thresholds, runs), "session 13")
    assert "# a comment that stays" in text and "# the test half of CMRC" in text
    lines = text.splitlines()
    assert 'refusal_recall        = 0.850   # measured 0.900 (session 13; 0.850 before); margin 0.050' in lines
    assert '"hit@5"               = 0.944   # measured 0.964' in lines  # unchanged: left as it was
    data = tomllib.loads(text)
    assert data["cmrc_test"]["at_least"]["gold_contained"] == pytest.approx(0.794)
    assert data["cmrc_test_nogold"]["at_least"]["refusal_recall"] == pytest.approx(0.854)
    path = thresholds.parent / "new.toml"
    path.write_text(text, encoding="utf-8")
    assert load_thresholds(path)  # still a valid thresholds file


def test_a_setting_without_a_run_is_a_clear_error(measured, capsys):
    thresholds, runs = measured
    (run_dir(runs, "cmrc_test") / "summary.json").unlink()
    with pytest.raises(RunMissingError, match="no run of cmrc_test"):
        propose(thresholds, runs)
    assert main(["--runs", str(runs), "--thresholds", str(thresholds), "--write"]) == 1
    assert "no run of cmrc_test" in capsys.readouterr().err
    assert thresholds.read_text(encoding="utf-8") == THRESHOLDS  # nothing written


def test_write_replaces_the_file(measured):
    thresholds, runs = measured
    assert main(["--runs", str(runs), "--thresholds", str(thresholds), "--write", "--note", "session 13"]) == 0
    assert tomllib.loads(thresholds.read_text(encoding="utf-8"))["report"]["at_least"]["refusal_recall"] == 0.85
