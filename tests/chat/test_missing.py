"""What a candidate leaves out of the question (chat.missing): the near miss's tell."""

from __future__ import annotations

import pytest

from chat.missing import heaviest_missing, missing_features, year_clash


def test_the_heaviest_missing_term_is_measured_against_the_heaviest_term():
    weights = {"本科": 3.0, "去向": 2.0, "落实率": 1.5}
    assert heaviest_missing(weights, [frozenset({"去向", "落实率"})]) == 1.0
    assert heaviest_missing(weights, [frozenset({"本科", "落实率"})]) == pytest.approx(2 / 3)
    assert heaviest_missing(weights, [frozenset(weights)]) == 0.0
    assert heaviest_missing({}, [frozenset()]) == 0.0


def test_a_term_held_by_the_heading_is_not_missing():
    weights = {"本科": 3.0, "落实率": 1.0}
    row = missing_features(weights, "本科毕业生的落实率是多少？", "落实率为95.1%。",
                           sentence_terms=frozenset({"落实率"}), context_terms=frozenset({"本科"}),
                           passage_terms=frozenset({"落实率"}))
    assert row["miss_top"] == 0.0 and row["miss_passage"] == 0.0


def test_a_term_elsewhere_in_the_passage_is_missing_from_the_sentence_only():
    weights = {"本科": 3.0, "落实率": 1.0}
    row = missing_features(weights, "本科毕业生的落实率是多少？", "研究生落实率为95.1%。",
                           sentence_terms=frozenset({"落实率", "研究生"}), context_terms=frozenset(),
                           passage_terms=frozenset({"落实率", "研究生", "本科"}))
    assert row["miss_top"] == 1.0 and row["miss_passage"] == 0.0


@pytest.mark.parametrize("question, sentence, clash", [
    ("2026云港马拉松男子冠军跑出了什么成绩？", "回顾上届，2025年赛事男子冠军成绩为2小时09分12秒。", True),
    ("2026年前三季度的GDP是多少？", "2026年前三季度，全省地区生产总值41862.7亿元。", False),
    ("本届比赛冠军成绩是多少？", "上届冠军成绩为2小时09分12秒。", True),
    ("去年的投资是多少？", "今年投资12亿元，去年为10亿元。", False),
    ("2025年投资了多少？", "项目投资2000万元。", False),  # a figure, not a year
    ("冠军成绩是多少？", "2025年冠军成绩为2小时09分。", False),  # no year asked
])
def test_a_year_other_than_the_one_asked_about_clashes(question, sentence, clash):
    assert year_clash(question, sentence) is clash
