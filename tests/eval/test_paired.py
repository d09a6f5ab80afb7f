"""eval.paired: two eval.results directories compared setting by setting, with McNemar's test."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval.paired import main, pair
from eval.report import RunNotFoundError, mcnemar


def _run(root: Path, setting: str, correct: list[bool]) -> None:
    folder = root / f"{setting}-ragchat"
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text(json.dumps({"label": setting, "metrics": {}}), encoding="utf-8")
    rows = [{"id": f"q{i}", "question": f"q{i}?", "answer": "", "metrics": {"correct": c}} for i, c in enumerate(correct)]
    (folder / "results.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")


@pytest.fixture()
def runs(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a", tmp_path / "b"
    _run(a, "report", [True, True, False, False, True])
    _run(b, "report", [True, False, True, True, True])
    _run(a, "blind9", [True] * 10)
    _run(b, "blind9", [False] * 10)
    _run(a, "only-in-a", [True])
    return a, b


def test_each_setting_in_both_is_paired_by_question(runs):
    rows = {r.setting: r for r in pair(*runs)}
    assert set(rows) == {"report", "blind9"}  # a setting run on one side only is left out
    report = rows["report"]
    assert (report.questions, report.right_a, report.right_b, report.only_a, report.only_b) == (5, 3, 4, 1, 2)
    assert report.p == pytest.approx(mcnemar(1, 2)) and report.p == pytest.approx(1.0)
    assert rows["blind9"].p == pytest.approx(2 / 2**10)  # ten broken, none fixed


def test_the_table_totals_and_the_plot(runs, tmp_path, capsys):
    png = tmp_path / "paired.png"
    assert main([str(runs[0]), str(runs[1]), "--labels", "old,new", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    assert "| setting | questions | right, old | right, new |" in out
    assert "| **all** | 15 | 0.867 | 0.267 | 11 | 2 |" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nothing_in_common_is_a_clear_error(tmp_path, capsys):
    _run(tmp_path / "a", "report", [True])
    (tmp_path / "b").mkdir()
    with pytest.raises(RunNotFoundError, match="no ragchat run is in both"):
        pair(tmp_path / "a", tmp_path / "b")
    assert main([str(tmp_path / "a"), str(tmp_path / "b")]) == 1
    assert "no ragchat run is in both" in capsys.readouterr().err
