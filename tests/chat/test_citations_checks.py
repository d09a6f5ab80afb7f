"""Citation markers and grounding checks: pure functions."""

from __future__ import annotations

from chat.checks import numeric_check
from chat.citations import answer_sentences, coverage, drop_invalid, quote_span, repair_markers, resolve
from chat.text import asks_for_figure, language, numbers
from chat.types import Passage

TEXT = "落实肉牛倍增计划，投放肉牛养殖贷款16.27亿元，肉牛养殖量达到131.7万头，同比增长13%。推进玉米全产业链高质量发展。"


def _passage(n=1, text=TEXT, start=100):
    return Passage(n, f"c{n}", "d", "report.txt", ("四、抓“三农”",), "body", text, ((start, start + len(text)),),
                   0.03, 0.9, 5.0)


def test_marker_variants_are_repaired():
    text, repaired = repair_markers("甲【1】。乙[1, 2]。丙[passage 3]。丁[2]。")
    assert text == "甲[1]。乙[1][2]。丙[3]。丁[2]。"
    assert repaired == ["【1】", "[1, 2]", "[passage 3]"]


def test_markers_pointing_nowhere_are_dropped():
    text, dropped = drop_invalid("甲[1]。乙[7][0]。", n_passages=2)
    assert text == "甲[1]。乙。" and dropped == ["[7]", "[0]"]


def test_sentences_and_coverage():
    sentences = answer_sentences("肉牛养殖量达到131.7万头。[1] 同比增长13%[1][2]。没有出处的一句。")
    assert sentences == [("肉牛养殖量达到131.7万头。", [1]), ("同比增长13%。", [1, 2]), ("没有出处的一句。", [])]
    assert coverage(sentences) == 2 / 3


def test_a_verbatim_quote_maps_to_its_original_offsets():
    original = "x" * 100 + TEXT
    passage = _passage()
    quote, start, end = quote_span("肉牛养殖量达到131.7万头。", passage)
    assert quote == "肉牛养殖量达到131.7万头" and original[start:end] == quote
    citations = resolve([("肉牛养殖量达到131.7万头。", [1])], [passage])
    assert [(c.n, c.chunk_id, c.quote) for c in citations] == [(1, "c1", "肉牛养殖量达到131.7万头")]


def test_a_paraphrase_quotes_the_closest_sentence():
    quote, _, _ = quote_span("The herd reached 1.317 million head, up 13% (131.7万头).", _passage())
    assert "131.7万头" in quote


def test_numbers_with_units_and_the_faithfulness_check():
    assert numbers("GDP增长5.3%，肉牛131.7万头，12000余人，2023年8月3日，1,000人") == [
        "5.3%", "131.7万头", "12000余人", "2023年", "8月", "3日", "1000人"]
    ok, missing = numeric_check([("肉牛养殖量达到131.7万头，增长13%。", [1])], [_passage()])
    assert ok and missing == []
    bad, missing = numeric_check([("肉牛养殖量达到140万头，贷款16.27亿元。", [1])], [_passage()])
    assert not bad and missing == ["140万头"]


def test_language_and_figure_questions():
    assert language("规划建设了多少所社区食堂?") == "zh"
    assert language("How much did GDP grow (增长) in H1?") == "en"
    assert asks_for_figure("肉牛养殖量达到多少?") and asks_for_figure("How many cattle?")
    assert not asks_for_figure("全会由谁主持?")
