"""The hybrid retriever on the bundled report: langchain's standard suite and sanity checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document

from index.embeddings import CachedEmbeddings, E5Embeddings
from index.retriever import HybridRetriever, rrf_fuse
from index.update import build_snapshot
from ingest.loaders import load_file
from ragchat.paths import bundled_report
from ragchat.settings import load_settings

from .retriever_suite import StandardRetrieverSuite


@pytest.fixture(scope="module")
def report_index(tmp_path_factory):
    cache = tmp_path_factory.mktemp("vectors") / "embeddings.sqlite"
    embeddings = CachedEmbeddings(E5Embeddings(), cache)
    snapshot = build_snapshot([load_file(bundled_report())], load_settings(), embeddings)
    return snapshot, embeddings


@pytest.fixture(scope="module")
def retriever(report_index) -> HybridRetriever:
    snapshot, embeddings = report_index
    return HybridRetriever.from_settings(snapshot, embeddings, load_settings())


class TestStandardRetriever(StandardRetrieverSuite):
    """langchain_tests' standard retriever suite, run on the real index of the report (FAISS + bm25s)."""

    @pytest.fixture(autouse=True)
    def _index(self, report_index):
        type(self)._snapshot, type(self)._embeddings = report_index


def _texts(docs: list[Document]) -> list[str]:
    return [d.page_content for d in docs]


def test_yonglin_chemical_output_is_in_the_top_three(retriever):
    docs = retriever.invoke("永林化工磷酸三乙酯项目年产多少?", k=3)
    assert any("年产1.5万吨磷酸三乙酯" in t for t in _texts(docs))


def test_an_english_question_finds_the_chinese_straw_burning_passage(retriever):
    docs = retriever.invoke("What does the plan say about burning straw in autumn?", k=3)
    assert any("秸秆秋季全域禁烧" in t for t in _texts(docs))


@pytest.mark.parametrize("mode", ["dense", "keyword", "hybrid"])
def test_each_mode_finds_a_figure(retriever, mode):
    docs = retriever.invoke("肉牛养殖量达到多少万头?", k=5, mode=mode)
    assert any("131.7万头" in t for t in _texts(docs))


def test_documents_carry_citation_metadata(retriever, report_text):
    doc = retriever.invoke("规划建设了多少所社区食堂?", k=5)[0]
    meta = doc.metadata
    assert doc.id == meta["chunk_id"]
    assert {"score", "dense_score", "keyword_score", "source", "doc_id", "heading_path", "kind", "start",
            "end", "spans"} <= set(meta)
    assert Path(meta["source"]).name == "siping-plenary-2023-08.txt"
    assert meta["heading_path"][0] == "四平市委八届六次全会总结上半年工作"
    assert 0 <= meta["start"] < meta["end"] <= len(report_text)
    assert -1.0 <= meta["dense_score"] <= 1.0


def test_fusion_ranks_are_those_of_reciprocal_rank_fusion():
    fused = rrf_fuse([(["a", "b", "c"], 1.0), (["c", "a"], 2.0)], rrf_k=10)
    expected = {"a": 1 / 11 + 2 / 12, "b": 1 / 12, "c": 1 / 13 + 2 / 11}
    assert [cid for cid, _ in fused] == sorted(expected, key=lambda c: -expected[c])
    assert all(abs(score - expected[cid]) < 1e-12 for cid, score in fused)
    assert rrf_fuse([(["a"], 0.0)], 60) == []


def test_captions_are_demoted_in_hybrid_mode(report_index):
    snapshot, embeddings = report_index
    question = "四平市委八届六次全会是哪天召开的?"
    plain = HybridRetriever(snapshot=snapshot, embeddings=embeddings, caption_weight=1.0).invoke(question)
    demoted = HybridRetriever(snapshot=snapshot, embeddings=embeddings, caption_weight=0.0).invoke(question)
    assert any(d.metadata["kind"] == "caption" for d in plain)
    assert all(d.metadata["kind"] != "caption" for d in demoted)
    assert "2023年8月3日" in demoted[0].page_content


def test_an_empty_query_or_k_zero_returns_nothing(retriever):
    assert retriever.invoke("   ") == []
    assert retriever.invoke("GDP", k=0) == []


def test_fusion_ties_keep_first_appearance_not_chunk_id_order():
    # "zz" and "aa" score the same; ids hash the checkout path, so they must not decide.
    fused = rrf_fuse([(["zz", "aa"], 1.0), (["aa", "zz"], 1.0)], rrf_k=60)
    assert [cid for cid, _ in fused] == ["zz", "aa"]


def test_under_heading_reads_a_section_whole_in_the_documents_order(report_index, retriever):
    snapshot, _ = report_index
    heading = next(c.heading_path for c in snapshot.chunks if c.heading_path[-1:] == ("——争当现代农业发展排头兵",))
    doc_id = snapshot.chunks[0].doc_id
    docs = retriever.under_heading(doc_id, heading)
    expected = [c for c in snapshot.chunks if c.kind == "body" and c.heading_path == heading]
    assert [d.id for d in docs] == [c.id for c in sorted(expected, key=lambda c: c.seq)] and len(docs) >= 2
    assert all(d.metadata["heading_path"] == list(heading) and d.metadata["score"] == 0.0 for d in docs)
    assert retriever.under_heading(doc_id, ("no such heading",)) == []


def test_excluded_documents_are_searched_as_if_not_indexed(retriever):
    """The eval's negative rejection: a question asked without its own document finds none of it."""
    question = "肉牛养殖量达到多少？"
    doc_id = retriever.search(question, k=3)[0].metadata["doc_id"]
    assert retriever.search(question, k=3, exclude_docs=[doc_id]) == []  # the index holds one document
    for mode in ("dense", "keyword", "hybrid"):
        assert retriever.search(question, k=3, mode=mode, exclude_docs=["another-document"])
