"""eval.threshold_sweep: a higher refusal threshold simulated on a finished run's rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.report import RunNotFoundError, mcnemar
from eval.threshold_sweep import load_settings, main, point, refused_at, right_at


def _row(i: int, *, answerable: bool, refused: bool, p: float | None, correct: bool, lang: str = "zh") -> dict:
    return {"id": f"q{i}", "question": f"q{i}?", "answer": "", "lang": lang, "answerable": answerable,
            "refused": refused, "probability": p, "metrics": {"correct": correct}}


def _run(root: Path, setting: str, rows: list[dict]) -> None:
    folder = root / f"{setting}-ragchat"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"label": setting, "metrics": {}}), encoding="utf-8")
    (folder / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


GOLD = [
    _row(0, answerable=True, refused=False, p=0.90, correct=True),   # sure and right: stays right
    _row(1, answerable=True, refused=False, p=0.20, correct=True),   # right, refused at 0.25: lost
    _row(2, answerable=True, refused=False, p=0.21, correct=False),  # wrong answer, refused at 0.25: still wrong
    _row(3, answerable=False, refused=False, p=0.22, correct=False),  # answered without an answer: refused, gained
    _row(4, answerable=False, refused=True, p=0.05, correct=True),   # refused as run: unchanged
    _row(5, answerable=True, refused=False, p=0.10, correct=True, lang="en"),  # English keeps its threshold
]
NOGOLD = [
    _row(0, answerable=False, refused=False, p=0.24, correct=False),  # gained at 0.25
    _row(1, answerable=False, refused=False, p=0.40, correct=False),  # still answered
]


def test_a_raised_threshold_refuses_only_chinese_answers_below_it():
    assert [refused_at(r, 0.25) for r in GOLD] == [False, True, True, True, True, False]
    assert [right_at(r, 0.25) for r in GOLD] == [True, False, False, True, True, True]
    assert [right_at(r, 0.15) for r in GOLD] == [r["metrics"]["correct"] for r in GOLD]  # below every answer's p


def test_a_point_pools_the_gold_and_nogold_settings(tmp_path):
    _run(tmp_path, "blind9", GOLD)
    _run(tmp_path, "blind9-nogold", NOGOLD)
    _run(tmp_path, "blind18", [_row(0, answerable=False, refused=False, p=0.01, correct=False)])
    settings = load_settings(tmp_path, exclude={"blind18"})
    assert set(settings) == {"blind9", "blind9-nogold"}
    at = point(settings, 0.25)
    assert (at.answerable, at.unanswerable, at.nogold) == (4, 2, 2)
    assert at.answered_right == pytest.approx(2 / 4)  # rows 0 and 5
    assert at.false_refusals == pytest.approx(2 / 4)  # rows 1 and 2
    assert at.unanswerable_refused == pytest.approx(1.0) and at.nogold_refused == pytest.approx(0.5)
    assert (at.only_run, at.only_raised) == (1, 2)  # row 1 lost; gold row 3 and nogold row 0 gained
    assert at.p == pytest.approx(mcnemar(1, 2))


def test_the_cli_writes_a_table_and_a_plot(tmp_path):
    _run(tmp_path / "runs", "blind9", GOLD)
    out, plot = tmp_path / "sweep.md", tmp_path / "sweep.png"
    assert main([str(tmp_path / "runs"), "--thresholds", "0.25,0.15", "--out", str(out), "--plot", str(plot)]) == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[2].startswith("| 0.15 |") and lines[3].startswith("| 0.25 |")  # sorted
    assert plot.stat().st_size > 1000


def test_bad_input_is_a_clear_error(tmp_path, capsys):
    assert main([str(tmp_path), "--thresholds", "high"]) == 2
    assert "--thresholds takes numbers" in capsys.readouterr().err
    assert main([str(tmp_path)]) == 1
    assert "no ragchat run" in capsys.readouterr().err
    with pytest.raises(RunNotFoundError):
        load_settings(tmp_path)
