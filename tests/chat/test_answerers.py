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
