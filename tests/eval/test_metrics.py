"""The eval metrics, one pure function at a time."""

from __future__ import annotations

import pytest

from eval.metrics import (
    answer_chars,
    answer_sentences,
    citation_coverage,
    citation_precision,
    gold_contained,
    hit_at,
    hit_within_budget,
    key_fact_recall,
    mean,
    mrr_at,
    numeric_faithful,
    numbers,
    percentile,
    refusal_scores,
    relevant_ranks,
    strip_markers,
)

# --- retrieval -------------------------------------------------------------------


def test_relevant_ranks_are_one_based_and_match_any_evidence_after_normalisation():
    ranked = ["无关的段落", "上半年全市ＧＤＰ增长\n5.3％，高于全省", "另一段", "肉牛养殖量达到131.7万头"]
    assert relevant_ranks(ranked, ["上半年全市GDP增长5.3%"]) == [2]
    assert relevant_ranks(ranked, ["不在这里", "肉牛养殖量达到131.7万头"]) == [4]
    assert relevant_ranks(ranked, ["上半年全市GDP增长5.3%", "131.7万头"]) == [2, 4]
    assert relevant_ranks(ranked, []) == [] and relevant_ranks(ranked, ["  "]) == []


def test_hit_at_k_looks_at_the_first_relevant_rank():
    assert hit_at([3, 7], 1) == 0.0
    assert hit_at([3, 7], 3) == 1.0
    assert hit_at([], 10) == 0.0


def test_mrr_is_the_reciprocal_of_the_first_relevant_rank_within_k():
    assert mrr_at([4], 10) == 0.25
    assert mrr_at([1, 2], 10) == 1.0
    assert mrr_at([11], 10) == 0.0
    assert mrr_at([], 10) == 0.0


def test_hit_within_budget_counts_the_tokens_before_and_of_the_relevant_chunk():
    tokens = [300, 200, 50]
    assert hit_within_budget(tokens, [1], 400) == 1.0
    assert hit_within_budget(tokens, [2], 400) == 0.0  # 300 + 200 > 400: a big chunk cannot buy recall
    assert hit_within_budget(tokens, [2], 500) == 1.0
    assert hit_within_budget(tokens, [], 10_000) == 0.0


# --- answers ------------------------------------------------------------------


def test_key_fact_recall_needs_every_fact():
    answer = "上半年全市GDP增长5.3%，肉牛养殖量达到131.7万头。[1]"
    assert key_fact_recall(answer, ["5.3%", "131.7万头"]) == 1.0
    assert key_fact_recall(answer, ["5.3%", "482万亩"]) == 0.0
    assert key_fact_recall("anything", []) == 1.0


def test_key_fact_recall_normalises_width_and_spaces_and_keeps_units():
    assert key_fact_recall("增长５.３％", ["5.3%"]) == 1.0
    assert key_fact_recall("达到 131.7 万头", ["131.7万头"]) == 1.0
    assert key_fact_recall("达到131.7头", ["131.7万头"]) == 0.0  # 万 is part of the fact
    assert key_fact_recall("达到131.7亿元", ["131.7万元"]) == 0.0


def test_markers_are_not_part_of_the_answer():
    assert strip_markers("GDP增长5.3%。[1] 就业稳定。[2, 3]") == "GDP增长5.3%。 就业稳定。"
    assert answer_chars("五个字的话[1]") == 5
    assert answer_chars("") == 0


def test_gold_contained_accepts_any_gold_answer():
    assert gold_contained("由雨燕卫星探测到。[1]", ["雨燕", "雨燕卫星"]) == 1.0
    assert gold_contained("由哈勃探测到。", ["雨燕", "雨燕卫星"]) == 0.0
    assert gold_contained("……第[1]段", ["1"]) == 0.0  # a citation marker is not an answer


# --- citations ------------------------------------------------------------------


def test_citation_precision_is_the_share_of_cited_passages_with_evidence_or_facts():
    cited = ["累计建成高标准农田482万亩", "别的内容", "另一个482万亩"]
    assert citation_precision(cited, ["累计建成高标准农田482万亩"], []) == pytest.approx(1 / 3)
    assert citation_precision(cited, ["累计建成高标准农田482万亩"], ["482万亩"]) == pytest.approx(2 / 3)
    assert citation_precision([], ["x"], ["y"]) is None


def test_sentences_keep_a_marker_that_follows_the_full_stop():
    assert answer_sentences("GDP增长5.3%。[1]就业稳定[2]。\n第三句") == ["GDP增长5.3%。[1]", "就业稳定[2]。", "第三句"]
    assert answer_sentences("The report gives 5.3% [1]. It grew 3.2 percent.") == [
        "The report gives 5.3% [1].", "It grew 3.2 percent."]


def test_citation_coverage_is_the_share_of_sentences_with_a_marker():
    assert citation_coverage("GDP增长5.3%。[1]就业稳定。") == 0.5
    assert citation_coverage("一、抓招商[4]；二、抓改革[4]。") == 1.0
    assert citation_coverage("") is None


def test_numbers_are_width_normalised_and_thousands_separators_dropped():
    assert numbers("１２,０００余人，增长5.3%，2023年") == {"12000", "5.3", "2023"}


def test_numeric_faithfulness_needs_every_number_in_a_cited_passage():
    assert numeric_faithful("增长5.3%。[1]", ["上半年全市GDP增长5.3%"]) == 1.0
    assert numeric_faithful("增长5.3%，达到131.7万头。[1]", ["上半年全市GDP增长5.3%"]) == 0.0
    assert numeric_faithful("增长5.3%。[1]", ["增长15.3%"]) == 0.0  # 5.3 is not 15.3
    assert numeric_faithful("增长5.3%。", []) == 0.0
    assert numeric_faithful("稳中有进。[1]", ["x"]) is None  # the marker's 1 is not a number of the answer


# --- refusals and aggregates ------------------------------------------------------


def test_refusal_precision_recall_and_false_refusals():
    answerable = [True, True, True, True, False, False]
    refused = [False, False, False, True, True, False]
    scores = refusal_scores(answerable, refused)
    assert scores["refusal_precision"] == 0.5  # 2 refusals, 1 of them right
    assert scores["refusal_recall"] == 0.5  # 1 of 2 unanswerable refused
    assert scores["false_refusal_rate"] == 0.25  # 1 of 4 answerable refused


def test_refusal_scores_leave_out_what_they_cannot_measure():
    scores = refusal_scores([True, True], [False, False])
    assert scores == {"refusal_precision": None, "refusal_recall": None, "false_refusal_rate": 0.0}
    # a set without unanswerable items (CMRC) measures false refusals only
    assert refusal_scores([True, True], [True, False]) == {
        "refusal_precision": None, "refusal_recall": None, "false_refusal_rate": 0.5}
    with pytest.raises(ValueError, match="items"):
        refusal_scores([True], [])


def test_percentile_and_mean():
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) in (50.0, 51.0)
    assert percentile(values, 0.95) in (95.0, 96.0)
    assert percentile([], 0.5) == 0.0
    assert mean([1.0, None, 0.0]) == 0.5 and mean([None]) is None
