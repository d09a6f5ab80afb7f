"""The answer path end to end on the bundled report, with the default extractive answerer."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from chat.service import AnswerService
from eval.textnorm import contains
from ragchat.cli.main import cli
from ragchat.errors import EmptyQuestionError, LLMError
from ragchat.settings import load_settings


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("chat-home")


@pytest.fixture(scope="module")
def service(home) -> AnswerService:
    return AnswerService.from_settings(load_settings(home=home))


def test_a_figure_question_gets_the_sentence_with_the_figure(service, report_text):
    answer = service.answer("规划建设了多少所社区食堂?")
    assert not answer.refused
    assert "7所社区食堂" in answer.text
    assert answer.text.endswith("[1]") or "[" in answer.text
    assert len(answer.text) < 120  # a sentence, not the paragraph
    assert answer.checks.citation_coverage == 1.0 and answer.checks.numeric_faithful
    citation = answer.citations[0]
    assert "7所社区食堂" in citation.quote
    assert report_text[citation.start:citation.end].replace(",", "，") == citation.quote


def test_every_answer_sentence_is_verbatim_from_its_passage(service):
    for question in ["永林化工磷酸三乙酯项目年产多少?", "肉牛养殖量达到多少?", "上半年全市GDP增长多少?"]:
        answer = service.answer(question)
        assert answer.citations, question
        for c in answer.citations:
            passage = next(p for p in answer.passages if p.n == c.n)
            assert c.quote in passage.text


def test_a_section_question_lists_the_sections(service):
    answer = service.answer("下半年全市工作分哪几个方面部署？")
    for key in ["抓招商", "抓改革", "抓开放", "抓“三农”", "抓民生", "抓党建"]:
        assert key in answer.text
    assert answer.checks.citation_coverage == 1.0


def test_a_question_the_report_does_not_answer_is_refused(service):
    answer = service.answer("四平市的地铁线路有几条?")
    assert answer.refused and answer.text == "文档中没有找到这个问题的答案。"
    assert answer.citations == [] and answer.refusal_reason
    assert answer.passages  # what was retrieved is still reported


def test_a_follow_up_uses_the_history(service):
    history = [("user", "下半年要推进哪些民生工程?"), ("assistant", "……")]
    answer = service.answer("那生态方面呢?", history)
    assert answer.standalone_question == "下半年生态方面"
    assert any("擦亮生态底色" in p.text for p in answer.passages[:3])
    assert "生态" in answer.text and not answer.refused


def test_an_english_question_is_answered_from_chinese_passages(service):
    answer = service.answer("How much did Siping's GDP grow in the first half of the year?")
    assert answer.lang == "en"
    assert not answer.refused and "5.3%" in answer.text
    assert answer.text.startswith("The report gives")


@pytest.mark.parametrize("question", ["", "   \n\t  "])
def test_an_empty_question_is_a_clear_error(service, question):
    with pytest.raises(EmptyQuestionError, match="empty"):
        service.answer(question)


def test_a_huge_question_is_truncated_with_a_note(service):
    answer = service.answer("肉牛养殖量达到多少？" + "请详细说明。" * 2000)
    assert answer.checks.question_truncated
    assert "truncated" in " ".join(answer.checks.warnings)
    assert len(answer.question) < 1000


@pytest.mark.parametrize("question", ["？？？", "🙂🙂", "…!?"])
def test_a_question_without_words_is_a_clear_error(service, question):
    with pytest.raises(EmptyQuestionError, match="no words"):
        service.answer(question)


def test_emoji_and_control_characters_are_handled(service):
    answer = service.answer("肉牛🐄养殖量\x00达到多少?\x07")
    assert "\x00" not in answer.question and "🐄" in answer.question
    assert "131.7万头" in answer.text


def test_asking_for_the_llm_without_one_is_a_clear_error(service):
    with pytest.raises(LLMError, match="no LLM endpoint is configured"):
        service.answer("GDP增长多少?", answerer="llm", fallback=False)


def test_streaming_yields_text_then_the_answer(service):
    pieces = list(service.stream("规划建设了多少所社区食堂?"))
    final = pieces[-1]
    assert "".join(pieces[:-1]) == final.text


def test_timings_and_json_shape(service):
    data = service.answer("肉牛养殖量达到多少?").to_dict()
    assert {"answer", "refused", "citations", "retrieved", "checks", "timings_ms"} <= set(data)
    assert {"n", "chunk_id", "source", "heading", "quote", "start", "end"} <= set(data["citations"][0])
    assert {"retrieve", "answer", "total"} <= set(data["timings_ms"])
    assert data["retrieved"][0]["rank"] == 1 and "score" in data["retrieved"][0]


def test_cli_ask_json_and_text(home):
    runner = CliRunner(env={"RAGCHAT_HOME": str(home)})
    result = runner.invoke(cli, ["ask", "肉牛养殖量达到多少?", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output[result.output.index("{"):])
    assert contains(data["answer"], "131.7万头")
    text = runner.invoke(cli, ["ask", "肉牛养殖量达到多少?"])
    assert "sources:" in text.output and "[1] siping-plenary-2023-08.txt" in text.output
    empty = runner.invoke(cli, ["ask", "  "])
    assert empty.exit_code == 1 and "error: the question is empty" in empty.output


def test_cli_chat_keeps_history(home):
    runner = CliRunner(env={"RAGCHAT_HOME": str(home)})
    result = runner.invoke(cli, ["chat"], input="下半年要推进哪些民生工程?\n那生态方面呢?\n\n")
    assert result.exit_code == 0, result.output
    second = result.output.split("? 那生态方面呢?")[1]
    assert "擦亮生态底色" in second or "秸秆" in second


def test_passages_that_do_not_fit_the_window_are_dropped_and_said(home):
    settings = load_settings(home=home)
    tight = settings.model_copy(update={"llm": settings.llm.model_copy(update={"context_window": 700, "max_tokens": 100})})
    service = AnswerService(tight, *_parts(home))
    answer = service.answer("肉牛养殖量达到多少?")
    assert 0 < len(answer.passages) < settings.retrieval.k
    assert answer.checks.passages_dropped == settings.retrieval.k - len(answer.passages)
    assert "did not fit the context budget" in " ".join(answer.checks.warnings)


def _parts(home):
    from index.models import embeddings_from_settings
    from index.open import open_index

    settings = load_settings(home=home)
    embeddings = embeddings_from_settings(settings)
    return open_index(settings, embeddings), embeddings


def test_refusal_thresholds_sit_inside_the_score_scale(service):
    """A threshold outside its score's range would refuse every question, silently."""
    from chat.refusal import RefusalPolicy

    policy = RefusalPolicy()
    assert 0 < policy.min_sentence < 1 and 0 < policy.max_unknown <= 1 and -1 < policy.en_min_dense < 1
    answerable = ["规划建设了多少所社区食堂?", "肉牛养殖量达到多少?", "全会于哪天召开?", "上半年全市GDP增长多少?",
                  "How much did GDP grow in the first half of the year?"]
    for question in answerable:
        answer = service.answer(question)
        assert not answer.refused, question
        assert all(-1.0 <= p.dense_score <= 1.0 for p in answer.passages)
    # The English threshold is a cosine below what a relevant passage scores.
    top = service.answer(answerable[-1]).passages[0].dense_score
    assert policy.en_min_dense < top


@pytest.mark.parametrize("question", ["肉牛养殖量达到多少?", "下半年工作分哪几个方面?", "四平市的地铁线路有几条?",
                                      "How many community canteens are planned?"])
def test_answer_is_stream_collected(service, question):
    """One path: ``answer`` and ``stream`` give the same answer, citations, short answer and decision."""
    streamed = list(service.stream(question))[-1]
    answered = service.answer(question)
    assert (streamed.text, streamed.refused, streamed.short, streamed.citations, streamed.probability) == (
        answered.text, answered.refused, answered.short, answered.citations, answered.probability)


def test_a_failing_llm_falls_back_with_a_notice(service):
    """An endpoint that refuses connections (a closed port on this machine): a Notice, then the
    extractive answer, in the stream and in ``answer``; the endpoint is given per request."""
    from chat.llm import ChatEndpoint
    from chat.types import Answer, Notice
    from ragchat.settings import LLMSettings

    dead = ChatEndpoint(LLMSettings(base_url="http://127.0.0.1:1/v1", model="m", timeout_s=5))
    pieces = list(service.stream("肉牛养殖量达到多少?", answerer="llm", endpoint=dead, fallback=True))
    notices = [p for p in pieces if isinstance(p, Notice)]
    assert len(notices) == 1 and "LLM endpoint failed" in notices[0].text
    final = pieces[-1]
    assert isinstance(final, Answer) and final.answerer == "extractive" and "131.7万头" in final.text
    assert final.notes[0] == notices[0].text
    answered = service.answer("肉牛养殖量达到多少?", answerer="llm", endpoint=dead)
    assert answered.text == final.text and answered.notes == final.notes
    with pytest.raises(LLMError):
        list(service.stream("肉牛养殖量达到多少?", answerer="llm", endpoint=dead))
    assert service.endpoint is None  # the service's own endpoint is untouched


def test_the_answer_carries_its_short_answer_and_probability(service):
    answer = service.answer("肉牛养殖量达到多少?")
    assert answer.short == "131.7万头" and answer.short in answer.text
    assert 0.5 < answer.probability <= 1
    data = answer.to_dict()
    assert data["short"] == "131.7万头" and data["probability"] == round(answer.probability, 4)
    refused = service.answer("四平市的地铁线路有几条?")
    assert refused.refused and refused.short == "" and refused.probability < 0.5


def test_answering_embeds_no_sentence_that_indexing_did_not(service):
    """The selector's sentence similarity reads vectors the index build put in the cache: an answer
    looks its candidate sentences up (hits) and sends none to the model (misses)."""
    cache = service.embeddings
    hits, misses = cache.hits, cache.misses
    answer = service.answer("沟渠修复治理了多少公里？")
    assert not answer.refused
    assert cache.misses == misses and cache.hits > hits


def test_without_sentence_vectors_at_index_time_answering_embeds_them(tmp_path):
    settings = load_settings(home=tmp_path)
    settings = settings.model_copy(update={"index": settings.index.model_copy(update={"embed_sentences": False})})
    service = AnswerService.from_settings(settings)
    misses = service.embeddings.misses
    assert not service.answer("沟渠修复治理了多少公里？").refused
    assert service.embeddings.misses > misses


def test_sentence_cosines_are_features_only_with_the_model_they_were_trained_with(service):
    from dataclasses import replace

    from chat.features import INDEX

    cols = [INDEX[f] for f in ("s_dense", "s_dense_rel", "s_dense_rank")]
    found = service.retrieve("沟渠修复治理了多少公里？")
    _, X = service.features(found.question, found.passages, found.qvec)
    assert len(X) and np.isfinite(X[:, cols]).all()
    other = replace(service.models, manifest={**service.models.manifest, "embedding_model": "some/other-model"})
    elsewhere = AnswerService(service.settings, service.snapshot, service.embeddings, models=other)
    _, X = elsewhere.features(found.question, found.passages, found.qvec)
    assert len(X) and np.isnan(X[:, cols]).all()
