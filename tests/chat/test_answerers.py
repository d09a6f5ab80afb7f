"""The answerers are peers behind one protocol (chat.answerers), chosen per request."""

from __future__ import annotations

import pytest

from chat.answerers import Extractive, LLMAnswerer, pieces
from chat.service import AnswerService
from chat.stages import Draft, Request
from ragchat.settings import load_settings


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> AnswerService:
    return AnswerService.from_settings(load_settings(home=tmp_path_factory.mktemp("answerers-home")))


def test_the_extractive_answerer_is_shared_and_an_llm_answerer_takes_the_requests_endpoint(service):
    first, second = service.answerer(Request("q")), service.answerer(Request("q2"))
    assert isinstance(first, Extractive) and first is second  # one loaded index, one answerer
    endpoint = object()  # never called here: only its identity is checked
    llm = service.answerer(Request("q", answerer="llm", endpoint=endpoint))
    assert isinstance(llm, LLMAnswerer) and llm.endpoint is endpoint


def test_the_extractive_draft_streams_its_sentences_and_has_nothing_to_revise(service):
    retrieval = service.retrieve("肉牛养殖量达到多少？")
    out = list(service.answerer(retrieval.prepared.request).generate(retrieval))
    draft = out[-1]
    assert isinstance(draft, Draft) and "131.7万头" in draft.short
    assert "".join(out[:-1]) == draft.text and len(out) >= 2
    assert service.quoting.revise(retrieval, ["1万头"]) is None


def test_the_llm_prompt_numbers_the_passages_and_carries_the_reminder(service):
    retrieval = service.retrieve("肉牛养殖量达到多少？")
    llm = LLMAnswerer(endpoint=None)
    [(role, prompt)] = llm.messages(retrieval, reminder="注意：99万头")
    assert role == "user"
    assert "[1]" in prompt and retrieval.passages[0].text[:20] in prompt
    assert prompt.rstrip().endswith("注意：99万头")


def test_pieces_cut_after_each_citation():
    assert list(pieces("甲。[1]乙。[2][3]丙")) == ["甲。[1]", "乙。[2][3]", "丙"]


def test_a_trimmed_sentence_keeps_the_rest_of_the_short_answers_clause(service):
    """``于2025年12月`` alone would read as the answer to "when did it start"; the clause says what happened."""
    from chat.extractive import Candidate as Span
    from chat.types import Passage

    text = ("东院区项目总投资18.6亿元，总建筑面积21.4万平方米，设计床位1200张，于2025年12月实现主体结构封顶，"
            "计划2027年下半年投入使用。")
    passage = Passage(n=1, chunk_id="c1", doc_id="d", source="s.txt", heading=(), kind="body", text=text,
                      spans=((0, len(text)),), score=1.0, dense_score=0.9, keyword_score=1.0)
    question, _ = service.analyse(service.prepare(Request("东院区项目总投资多少？")))
    learned = service.answerer(Request("q")).learned
    cut = learned._trim(question, Span(passage, 0, len(text), 1.0), short="2025年12月")
    assert cut.text.endswith("于2025年12月实现主体结构封顶")
    assert "18.6亿元" in cut.text


def test_a_questions_terms_come_in_its_own_order_whatever_the_hash_seed(service):
    """Sums over the weights (coverage, the refusal's unknown share) must not change in their last bits
    with Python's hash seed, or retraining would not give the same models."""
    question = "肉牛养殖贷款的利率是多少？"
    terms = list(service.extractive.term_weights(question))
    assert len(terms) >= 3 and terms == sorted(terms, key=lambda t: (question.find(t), t))


def test_the_unknown_head_rule_can_be_switched_off_and_the_refusal_model_decides(service):
    """``answer.unknown_head_rule``: on (the default), a question naming an attribute no document uses is
    refused outright; off, the refusal model weighs it like any other question (and still refuses here)."""
    question = "肉牛养殖贷款的利率是多少？"
    ruled = service.retrieve(question).decision
    assert not ruled.answer and ruled.probability == 0.0 and ruled.reason == "the documents never mention the 利率"
    settings = service.settings.model_copy(
        update={"answer": service.settings.answer.model_copy(update={"unknown_head_rule": False})})
    learned = AnswerService(settings, service.snapshot, service.embeddings, models=service.models).retrieve(question)
    assert not learned.decision.answer and learned.decision.probability > 0.0
    assert "never mention the 利率" not in learned.decision.reason
