"""Each retrieval expander on its own, on a real index of the report and one other document."""

from __future__ import annotations

import hashlib

import pytest

from chat.expanders import EnglishTerms, FollowUp, NamedSection, OrdinalPart, Places, expanders
from chat.service import AnswerService, Request
from index.models import embeddings_from_settings
from index.update import build_snapshot
from ingest.loaders import load_file
from ingest.types import LoadedDocument
from ragchat.errors import ConfigError
from ragchat.settings import EXPANDERS, load_settings

OTHER = ("杭州市地铁运营情况。杭州市已开通地铁线路12条，运营里程516公里。"
         "杭州市还规划了19条公交线路。")


@pytest.fixture(scope="module")
def service(tmp_path_factory, report_path) -> AnswerService:
    settings = load_settings(home=tmp_path_factory.mktemp("expanders-home"))
    embeddings = embeddings_from_settings(settings)
    other = LoadedDocument(doc_id="hangzhou", source="hangzhou.txt", text=OTHER, format="text", encoding="utf-8",
                           content_hash=hashlib.sha256(OTHER.encode()).hexdigest())
    snapshot = build_snapshot([load_file(report_path), other], settings, embeddings)
    return AnswerService(settings, snapshot, embeddings)


def _first(service, question, history=()):
    return service.first_search(service.prepare(Request(question, tuple(history))))


def test_places_sets_aside_documents_that_never_name_the_place(service):
    search, docs = _first(service, "四平市的公交线路有几条？")
    assert any(d.metadata["doc_id"] == "hangzhou" for d in docs)  # the first search finds 19条公交线路
    kept = Places().expand(search, docs)
    assert kept and all(d.metadata["doc_id"] != "hangzhou" for d in kept)


def test_english_terms_bring_the_chinese_passage(service):
    search, docs = _first(service, "How many community canteens are planned?")
    assert search.question.chinese
    expanded = EnglishTerms().expand(search, docs)
    assert any("社区食堂" in d.page_content for d in expanded[:5])


def test_follow_up_ranks_its_own_topic_first(service):
    history = [("user", "下半年要推进哪些民生工程?"), ("assistant", "……")]
    search, docs = _first(service, "那生态方面呢?", history)
    assert search.is_follow_up
    expanded = FollowUp().expand(search, docs)
    assert "生态" in expanded[0].page_content
    plain, _ = _first(service, "那生态方面呢?")
    assert FollowUp().expand(plain, docs) == docs  # not a follow-up: nothing changes


def test_ordinal_part_keeps_the_outline_and_adds_the_part(service):
    search, docs = _first(service, "下半年工作的第四部分讲什么？")
    expanded = OrdinalPart().expand(search, docs)
    assert any(d.metadata["kind"] == "outline" for d in expanded)
    assert any(h.startswith("四、") for d in expanded for h in d.metadata["heading_path"])


def test_named_section_reads_the_section_whole(service):
    search, docs = _first(service, "上半年在争当现代农业排头兵方面，主要抓了哪几件事？")
    expanded = NamedSection().expand(search, docs)
    headings = [d.metadata["heading_path"][-1] for d in expanded if d.metadata["heading_path"]]
    assert headings[0] == "——争当现代农业发展排头兵"
    assert NamedSection().expand(*_first(service, "肉牛养殖量达到多少？")) is not None


def test_expanders_are_chosen_by_settings_in_a_fixed_order():
    assert [e.name for e in expanders(EXPANDERS)] == ["places", "english", "follow_up", "ordinal_part", "named_section"]
    assert [e.name for e in expanders(["named_section", "places"])] == ["places", "named_section"]
    with pytest.raises(ConfigError):
        load_settings(answer={"expanders": ["nope"]})


def test_switching_an_expander_off_changes_retrieval(service, tmp_path):
    settings = load_settings(home=tmp_path, answer={"expanders": [e for e in EXPANDERS if e != "places"]})
    plain = AnswerService(settings, service.snapshot, service.embeddings, models=service.models)
    question = "四平市的公交线路有几条？"
    assert any(p.doc_id == "hangzhou" for p in plain.retrieve(question).passages)
    assert all(p.doc_id != "hangzhou" for p in service.retrieve(question).passages)
