"""Eval sets (JSONL, SQuAD-style CMRC 2018 with its fixed sample) and the anchor recipes."""

from __future__ import annotations

import pytest

from eval.anchors import LANGCHAIN_CHUNK_CHARS, LANGCHAIN_OVERLAP_CHARS, langchain_snapshot, recipe
from eval.corpus import CMRC_DEV, corpus_docs, distractor_docs, eval_embeddings
from eval.sets import REPORT_DEV, EvalSetError, load_jsonl, load_set, set_digest
from ingest.loaders import load_file
from ragchat.errors import ConfigError
from ragchat.settings import load_settings


@pytest.fixture(scope="module")
def cmrc_sample():
    return load_set(CMRC_DEV, limit=300)


def test_the_report_dev_set_loads():
    dev = load_jsonl(REPORT_DEV)
    assert len(dev.items) == 131 and dev.passages == []
    assert sum(not i.answerable for i in dev.items) == 20


def test_cmrc_dev_ships_whole(cmrc_sample):
    full = load_set(CMRC_DEV)
    assert len(full.passages) == 848 and len(full.items) == 3219 and full.sample is None
    assert all(i.gold and i.context for i in full.items)
    assert {i.context for i in full.items} <= {pid for pid, _ in full.passages}


def test_the_cmrc_sample_is_fixed(cmrc_sample):
    again = load_set(CMRC_DEV, limit=300)
    assert len(cmrc_sample.items) == 300
    assert [i.id for i in again.items] == [i.id for i in cmrc_sample.items]
    assert cmrc_sample.sample == {"limit": 300, "seed": 2018, "of": 3219}
    assert set_digest(again) == set_digest(cmrc_sample) != set_digest(load_set(CMRC_DEV, limit=299))
    assert len(cmrc_sample.passages) == 848  # every question is asked against the whole collection


def test_a_squad_set_brings_its_passages_and_distractors_are_the_same_documents(cmrc_sample):
    docs = corpus_docs(cmrc_sample)
    assert len(docs) == 848
    assert [d.doc_id for d in docs] == [d.doc_id for d in distractor_docs()]
    with_report = corpus_docs(load_jsonl(REPORT_DEV), distractors=True)
    assert len(with_report) == 849 and with_report[0].source.endswith("siping-plenary-2023-08.txt")


def test_a_missing_or_empty_set_is_an_error(tmp_path):
    with pytest.raises(EvalSetError, match="not found"):
        load_set(tmp_path / "none.jsonl")
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match="no questions"):
        load_set(tmp_path / "empty.jsonl")
    (tmp_path / "short.jsonl").write_text('{"id": "a", "question": "q"}\n', encoding="utf-8")
    with pytest.raises(EvalSetError, match="short.jsonl:1: missing keys answers, evidence, answerable"):
        load_set(tmp_path / "short.jsonl")


def test_recipes_change_only_what_they_name():
    settings = load_settings()
    assert recipe("ragchat").settings(settings) == settings
    assert recipe("bm25").settings(settings).retrieval.mode == "keyword"
    assert recipe("dense").settings(settings).retrieval.mode == "dense"
    lc = recipe("langchain").settings(settings)
    assert lc.retrieval.mode == "dense" and lc.index.with_headings is False
    assert lc.chunking == settings.chunking
    with pytest.raises(ConfigError, match="unknown recipe"):
        recipe("bm42")


def test_the_langchain_recipe_splits_at_1000_with_200_overlap(report_path, eval_cache):
    settings = load_settings()
    doc = load_file(report_path)
    snapshot = langchain_snapshot([doc], settings, eval_embeddings(settings, eval_cache))
    chunks = snapshot.chunks
    assert len(chunks) >= 3 and snapshot.vectors.shape == (len(chunks), snapshot.vectors.shape[1])
    assert all(len(c.text) <= LANGCHAIN_CHUNK_CHARS for c in chunks)
    assert max(len(c.text) for c in chunks) > LANGCHAIN_CHUNK_CHARS * 0.8
    for c in chunks:
        assert doc.text[c.start:c.end] == c.text  # offsets point into the document
    overlaps = [a.end - b.start for a, b in zip(chunks, chunks[1:])]
    assert all(o <= LANGCHAIN_OVERLAP_CHARS for o in overlaps) and max(overlaps) > 100
    # where consecutive chunks do not overlap, only the whitespace between paragraphs is left out
    assert all(doc.text[a.end:b.start].strip() == "" for a, b in zip(chunks, chunks[1:]) if a.end <= b.start)
    assert snapshot.manifest["chunking"]["chunk_size"] == 1000 and snapshot.vector_index.kind == "flat"


def test_squad_2_unanswerable_questions_are_read_and_left_out_of_no_gold(tmp_path):
    import json

    data = {"version": "t", "data": [{"id": "D1", "title": "t", "paragraphs": [{"id": "D1_P1", "context": "全县粮食产量达到52万吨。", "qas": [
        {"id": "q1", "question": "粮食产量是多少？", "answers": [{"text": "52万吨", "answer_start": 6}]},
        {"id": "u1", "question": "全县的县长是谁？", "is_impossible": True, "answers": []},
    ]}]}]}
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    items = {i.id: i for i in load_set(path).items}
    assert items["q1"].answerable and items["q1"].gold == ("52万吨",)
    assert not items["u1"].answerable and items["u1"].gold == () and items["u1"].type == "unanswerable"
    nogold = load_set(path, no_gold=True).items
    assert [i.id for i in nogold] == ["q1"] and not nogold[0].answerable and nogold[0].without_context


def test_the_training_sets_are_never_evaluated_on():
    from eval.gate import SETTINGS as GATE
    from eval.results import SETTINGS as RESULTS
    from eval.sets import GEN_SETS

    assert len(GEN_SETS) == 8 and all(p.exists() for p in GEN_SETS)
    evaluated = {s.path for s in GATE.values()} | {s.set_path for s in RESULTS.values()}
    assert not evaluated & set(GEN_SETS)


def test_a_paragraph_of_a_longer_document_is_indexed_under_its_title(tmp_path):
    """A paragraph that says only 工程总投资 is found by the project's name in its document's title,
    as it would be in a file with that title line; a one-paragraph article gets no title line."""
    import json

    from ingest.pipeline import ingest_document
    from index.update import embed_text
    from ragchat.settings import Settings

    title = "白石峡水利枢纽工程通过竣工验收"
    data = {"version": "t", "data": [
        {"id": "D1", "title": title, "paragraphs": [
            {"id": "D1_P1", "context": "白石峡水利枢纽工程昨日通过竣工验收。", "qas": []},
            {"id": "D1_P2", "context": "工程总投资186.4亿元，其中中央预算内投资78.3亿元。", "qas": [
                {"id": "q1", "question": "白石峡工程总共花了多少钱？", "answers": [{"text": "186.4亿元", "answer_start": 5}]}]},
        ]},
        {"id": "D2", "title": "锣鼓经", "paragraphs": [
            {"id": "D2_P1", "context": "锣鼓经是传统器乐常用的打击乐记谱方法。", "qas": []}]},
    ]}
    path = tmp_path / "set.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    eval_set = load_set(path)
    assert eval_set.titles == {"D1_P1": title, "D1_P2": title}
    docs = {d.doc_id: d for d in corpus_docs(eval_set)}
    assert docs["cmrc-D2_P1"].text == "锣鼓经是传统器乐常用的打击乐记谱方法。"
    chunks = ingest_document(docs["cmrc-D1_P2"], Settings().chunking)
    assert [c.heading_path for c in chunks] == [(title,)]
    assert all(title not in c.text for c in chunks)  # a heading, never an answer sentence
    assert embed_text(chunks[0], True).startswith(title)  # what the dense and keyword index see
