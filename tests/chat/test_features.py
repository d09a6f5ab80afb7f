"""Candidate sentences and their features (chat.features), with Baidu's LAC model for real."""

from __future__ import annotations

import math

import numpy as np

from chat.features import FEATURE_GROUPS, FEATURES, INDEX, candidates, featurize, typed_tokens, without
from chat.frame import frame_of
from chat.question import Question, answer_type
from chat.tagger import tag
from chat.types import Passage


def _passage(text: str, n: int = 1, kind: str = "body") -> Passage:
    return Passage(n=n, chunk_id=f"c{n}", doc_id="d", source="s.txt", heading=("标题",), kind=kind, text=text,
                   spans=((0, len(text)),), score=1.0 / n, dense_score=0.8, keyword_score=2.0 / n)


def _question(text: str, weights: dict[str, float]) -> Question:
    return Question(text=text, lang="zh", standalone=text, focus=text, weights=weights,
                    asked=answer_type(text, "zh"), frame=frame_of(text))


def test_lac_keeps_figures_and_names_whole():
    tokens = tag("郭灵计主持会议，肉牛养殖量达到131.7万头。")
    assert ("郭灵计", "PER") in [(t.word, t.tag) for t in tokens]
    assert any(t.word == "131.7万头" for t in tokens)
    assert "".join(t.word for t in tokens) == "郭灵计主持会议，肉牛养殖量达到131.7万头。"


def test_the_asked_for_thing_must_not_be_named_by_the_question():
    """The sentence that repeats the question holds no new name; the one that answers does."""
    q = _question("中国第三艘航母的名字是由谁宣布的？", {"航母": 3.0, "名字": 2.0, "宣布": 2.0})
    text = "我国第三艘航母下水命名仪式在上海举行。张又侠宣布了航母的名字。"
    p = _passage(text)
    first, second = candidates(q, [p])
    assert typed_tokens(q, first) == []
    assert [t.word for t in typed_tokens(q, second)] == ["张又侠"]


def test_features_say_which_sentence_holds_an_asked_for_figure():
    q = _question("全市粮食作物播种面积是多少？", {"粮食": 2.0, "作物": 2.0, "播种": 3.0, "面积": 2.0})
    p = _passage("全市粮食作物播种面积稳定。888万亩粮食作物全部播种完毕。")
    cands = candidates(q, [p])
    X = featurize(q, cands, lambda t: frozenset(w for w in ("粮食", "作物", "播种", "面积") if w in t), lambda t: 1.0)
    assert X.shape == (2, len(FEATURES))
    assert X[0, INDEX["cov"]] > X[1, INDEX["cov"]]  # the first repeats more of the question
    assert X[0, INDEX["type_hit"]] == 0 and X[1, INDEX["type_hit"]] == 1  # only the second has a figure
    assert X[1, INDEX["asked_figure"]] == 1


def test_an_outline_is_a_candidate_only_for_list_questions():
    outline = _passage("一、抓招商\n二、抓改革", kind="outline")
    assert candidates(_question("下半年工作分哪几个方面？", {}), [outline])
    assert not candidates(_question("肉牛养殖量达到多少？", {}), [outline])


def test_a_switched_off_group_is_missing():
    X = np.zeros((3, len(FEATURES)), dtype=np.float32)
    off = without(X, ("type",))
    for name in FEATURES:
        assert math.isnan(off[0, INDEX[name]]) == (name in FEATURE_GROUPS["type"])
    assert not np.isnan(X).any()  # the input is not changed
