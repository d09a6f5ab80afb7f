"""The question's answer type, read from its grammar alone (chat.question)."""

from __future__ import annotations

import pytest

from chat.question import AnswerType, answer_type


@pytest.mark.parametrize(
    ("question", "lang", "kind"),
    [
        ("肉牛养殖量达到多少？", "zh", AnswerType.FIGURE),
        ("规划建设了几所社区食堂？", "zh", AnswerType.FIGURE),
        ("全会是哪一天召开的？", "zh", AnswerType.DATE),
        ("这座桥是什么时候建成的？", "zh", AnswerType.DATE),
        ("工作报告是谁作的？", "zh", AnswerType.PERSON),
        ("中国第三艘航母由哪位设计师主持设计？", "zh", AnswerType.PERSON),
        ("冬奥会的雪上项目在哪里举行？", "zh", AnswerType.PLACE),
        ("这款游戏是由哪家公司开发的？", "zh", AnswerType.ORG),
        ("中国第三艘航母叫什么名字？", "zh", AnswerType.TITLE),
        ("下半年要推进哪些民生工程？", "zh", AnswerType.LIST),
        ("为什么要推进秸秆禁烧？", "zh", AnswerType.REASON),
        ("四平是否建成了地铁？", "zh", AnswerType.YESNO),
        ("什么是乙酰胺？", "zh", AnswerType.OTHER),
        ("How many community canteens are planned?", "en", AnswerType.FIGURE),
        ("When was the plenary session held?", "en", AnswerType.DATE),
        ("Who delivered the work report?", "en", AnswerType.PERSON),
        ("Where is the new industrial park?", "en", AnswerType.PLACE),
        ("Why is straw burning banned?", "en", AnswerType.REASON),
    ],
)
def test_the_type_asked_for(question, lang, kind):
    assert answer_type(question, lang) is kind


def test_a_date_question_is_not_a_figure_question():
    """多少年 before a verb asks how long (a figure) only when no date word asks first."""
    assert answer_type("哪一年有多少人参加？", "zh") is AnswerType.DATE
