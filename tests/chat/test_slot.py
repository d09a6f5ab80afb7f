"""Where the asked-for thing would sit (chat.slot): the sentence that answers, not the one that
repeats the question."""

from __future__ import annotations

import math

from chat.features import _of_type
from chat.frame import frame_of
from chat.question import Question, answer_type
from chat.slot import SLOT_FEATURES, question_sides, slot_features

COL = {name: i for i, name in enumerate(SLOT_FEATURES)}


def _question(text: str, lang: str = "zh") -> Question:
    return Question(text=text, lang=lang, standalone=text, focus=text, weights={},
                    asked=answer_type(text, lang), frame=frame_of(text))


def _rows(question: Question, *sentences: str):
    text = "".join(sentences)
    spans, at = [], 0
    for s in sentences:
        spans.append((at, at + len(s)))
        at += len(s)
    return slot_features(question, text, spans, lambda t: _of_type(t, question.asked))


def test_the_question_word_splits_the_question_into_its_two_sides():
    before, after = question_sides(_question("这座大桥是由哪家公司设计的？"))
    assert "大桥" in before and "设计" in after and "设计" not in before


def test_the_sentence_with_a_new_thing_between_the_question_words_has_the_slot():
    q = _question("这座大桥是由哪家公司设计的？")
    answer, repeat = _rows(q, "这座大桥由中铁大桥勘测设计院设计，于2018年建成。", "这座大桥的设计历时三年。")
    assert answer[COL["slot_between"]] == 1
    assert repeat[COL["slot_between"]] == 0
    assert answer[COL["slot_ordered"]] > repeat[COL["slot_ordered"]]


def test_a_figure_with_the_question_words_after_it_is_a_typed_slot():
    q = _question("全市粮食作物播种面积是多少？")
    answer, repeat = _rows(q, "888万亩粮食作物全部播种完毕。", "播种面积统计工作正在进行。")
    assert answer[COL["slot_typed"]] > 0  # 888万亩, its words after it (the question has them before 多少)
    assert repeat[COL["slot_typed"]] == 0


def test_an_untyped_question_has_no_typed_slot_and_english_has_none():
    (row,) = _rows(_question("为什么要建设游客中心？"), "为了缓解停车难，县里建设游客中心。")
    assert math.isnan(row[COL["slot_typed"]])
    (row,) = _rows(_question("Who designed the bridge?", "en"), "这座大桥由中铁大桥勘测设计院设计。")
    assert all(math.isnan(v) for v in row)
