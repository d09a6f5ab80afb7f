"""CMRC 2018 EM and F1, as the official evaluation defines them."""

from __future__ import annotations

import pytest

from eval.cmrc import cmrc_em, cmrc_f1, longest_common_run, tokens


def test_chinese_is_split_into_characters_and_other_text_into_words():
    assert tokens("我爱Python 3.5版本！") == ["我", "爱", "python", "3.5", "版", "本"]
    assert tokens("共1,000人") == ["共", "1,000", "人"]
    assert tokens("《红楼梦》，（清）") == ["红", "楼", "梦", "清"]
    assert tokens(" \n") == []


def test_em_ignores_punctuation_case_spaces_and_width():
    assert cmrc_em("《红楼梦》", ["红楼梦"]) == 1.0
    assert cmrc_em("New  York", ["new york"]) == 1.0
    assert cmrc_em("２０１８年", ["2018年"]) == 1.0
    assert cmrc_em("红楼", ["红楼梦"]) == 0.0


def test_em_is_the_best_over_the_gold_answers():
    assert cmrc_em("雨燕卫星", ["雨燕", "雨燕卫星"]) == 1.0
    assert cmrc_em("雨燕卫星", []) == 0.0


def test_f1_uses_the_longest_common_contiguous_run():
    assert cmrc_f1("红楼梦", ["红楼梦"]) == 1.0
    # run 3 of 5 predicted and 3 gold tokens: P = 0.6, R = 1
    assert cmrc_f1("红楼梦作者", ["红楼梦"]) == pytest.approx(0.75)
    # the same characters out of order share runs of one only: not a bag of characters
    assert cmrc_f1("梦楼红", ["红楼梦"]) == pytest.approx(1 / 3)


def test_f1_counts_english_words_and_numbers_whole():
    assert cmrc_f1("New York City", ["New York"]) == pytest.approx(0.8)
    assert cmrc_f1("3.5", ["3"]) == 0.0
    assert cmrc_f1("2009年4月23日", ["2009年"]) == pytest.approx(2 * (2 / 6) / (1 + 2 / 6))


def test_f1_is_the_best_over_the_gold_answers_and_zero_without_overlap():
    assert cmrc_f1("雨燕卫星", ["卫星", "雨燕卫星"]) == 1.0
    assert cmrc_f1("哈勃", ["雨燕"]) == 0.0
    assert cmrc_f1("", ["雨燕"]) == 0.0
    assert cmrc_f1("雨燕", []) == 0.0
    assert cmrc_f1("。，", ["雨燕"]) == 0.0


def test_longest_common_run():
    assert longest_common_run(list("abcde"), list("xbcdy")) == 3
    assert longest_common_run([], list("abc")) == 0
