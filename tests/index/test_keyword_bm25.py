"""The BM25 keyword index: retrieval, empty results, save/load, typed errors, rebuild."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from index.keyword.bm25 import HEADER_FILE, KeywordIndex, _sha256
from ragchat.errors import CorruptIndexError, IncompatibleIndexError, IndexNotFoundError, IndexStoreError

CMRC = Path("/work/shared/data/cmrc2018/squad-style-data_cmrc2018_dev.json")

SMALL = [
    ("a", "肉牛养殖量达到131.7万头，同比增长13%。"),
    ("b", "上半年全市GDP增长5.3%，经济社会发展企稳向好。"),
    ("c", "探索实行“双轮双创”派驻监督模式。"),
    ("d", "永林化工年产6万吨三氯氧磷及年产1.5万吨磷酸三乙酯等项目加快建设。"),
    ("e", "四平市委八届六次全会于2023年8月3日召开。"),
    ("f", "，。！"),  # no token at all
]


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]


@pytest.fixture(scope="module")
def small() -> KeywordIndex:
    return KeywordIndex.build(SMALL)


@pytest.fixture(scope="module")
def mixed_chunks(report_text: str) -> list[tuple[str, str]]:
    if not CMRC.is_file():
        pytest.skip(f"{CMRC} is not available")
    data = json.loads(CMRC.read_text(encoding="utf-8"))
    cmrc = [(f"cmrc:{p['id']}", p["context"]) for article in data["data"] for p in article["paragraphs"]]
    assert len(cmrc) == 848
    return [(f"report:{i}", text) for i, text in enumerate(paragraphs(report_text))] + cmrc


@pytest.fixture(scope="module")
def mixed(mixed_chunks: list[tuple[str, str]]) -> KeywordIndex:
    return KeywordIndex.build(mixed_chunks)


def text_of(chunks: list[tuple[str, str]], chunk_id: str) -> str:
    return dict(chunks)[chunk_id]


# --- retrieval -------------------------------------------------------------------


@pytest.mark.slow
def test_figure_question_finds_its_paragraph_among_distractors(mixed, mixed_chunks) -> None:
    hits = mixed.search("永林化工磷酸三乙酯项目年产多少?", 5)
    assert "年产1.5万吨磷酸三乙酯" in text_of(mixed_chunks, hits[0][0])
    hits = mixed.search("肉牛养殖量达到多少?", 5)
    assert "131.7万头" in text_of(mixed_chunks, hits[0][0])


@pytest.mark.slow
def test_quoted_term_finds_its_paragraphs(mixed, mixed_chunks) -> None:
    owners = {cid for cid, text in mixed_chunks if "双轮双创" in text}
    assert len(owners) == 2
    hits = [cid for cid, _ in mixed.search("双轮双创", 5)]
    assert set(hits[:2]) == owners


@pytest.mark.slow
def test_bare_figure_finds_its_paragraph(mixed, mixed_chunks) -> None:
    for query, needle in (("131.7万", "131.7万头"), ("2023年8月3日", "2023年8月3日"), ("4+3", "“4+3”")):
        top = mixed.search(query, 1)
        assert top and needle in text_of(mixed_chunks, top[0][0]), query


def test_scores_are_raw_bm25_best_first(small: KeywordIndex) -> None:
    hits = small.search("肉牛 GDP 增长", 10)
    assert [cid for cid, _ in hits][:2] in (["a", "b"], ["b", "a"])
    scores = [score for _, score in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(isinstance(score, float) and score > 0 for score in scores)


def test_only_matching_chunks_are_returned(small: KeywordIndex) -> None:
    assert [cid for cid, _ in small.search("磷酸三乙酯", 10)] == ["d"]
    assert len(small.search("增长", 1)) == 1


@pytest.mark.parametrize("query", ["", "   ", "？！。", "的了和是在哪些多少什么", "what is the", "zzzqqq", "量子纠缠"])
def test_query_without_an_indexed_token_gives_nothing(small: KeywordIndex, query: str) -> None:
    assert small.search(query, 10) == []


def test_k_zero_gives_nothing(small: KeywordIndex) -> None:
    assert small.search("肉牛", 0) == []


def test_empty_index(tmp_path: Path) -> None:
    index = KeywordIndex.build([])
    assert len(index) == 0 and index.search("肉牛", 5) == []
    index.save(tmp_path / "kw")
    loaded = KeywordIndex.load(tmp_path / "kw")
    assert len(loaded) == 0 and loaded.search("肉牛", 5) == []


def test_chunk_ids_must_be_unique_strings() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        KeywordIndex.build([("x", "甲"), ("x", "乙")])
    with pytest.raises(ValueError):
        KeywordIndex.build([(1, "甲")])  # type: ignore[list-item]


# --- save / load -----------------------------------------------------------------

QUERIES = ["肉牛养殖量达到多少?", "双轮双创", "131.7万", "GDP增长5.3%", "2023年8月", "磷酸三乙酯"]


def test_save_load_round_trip_gives_identical_results(small: KeywordIndex, tmp_path: Path) -> None:
    small.save(tmp_path / "kw")
    loaded = KeywordIndex.load(tmp_path / "kw")
    assert loaded.chunk_ids == small.chunk_ids
    assert loaded.terms == small.terms == ("双轮双创",)
    assert loaded.tokenizer.settings == small.tokenizer.settings
    for query in QUERIES:
        assert loaded.search(query, 10) == small.search(query, 10)
    small.save(tmp_path / "kw")  # saving over an index replaces it
    assert KeywordIndex.load(tmp_path / "kw").search("双轮双创", 3) == small.search("双轮双创", 3)


def test_builds_are_byte_identical(tmp_path: Path) -> None:
    KeywordIndex.build(SMALL).save(tmp_path / "one")
    KeywordIndex.build(list(SMALL)).save(tmp_path / "two")
    one = json.loads((tmp_path / "one" / HEADER_FILE).read_text(encoding="utf-8"))
    two = json.loads((tmp_path / "two" / HEADER_FILE).read_text(encoding="utf-8"))
    assert one == two


@pytest.fixture
def saved(small: KeywordIndex, tmp_path: Path) -> Path:
    where = tmp_path / "kw"
    small.save(where)
    return where


def saved_files(where: Path) -> list[str]:
    return sorted(str(p.relative_to(where)) for p in where.rglob("*") if p.is_file())


def test_missing_directory_is_index_not_found(tmp_path: Path) -> None:
    with pytest.raises(IndexNotFoundError, match="build it first"):
        KeywordIndex.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(IndexNotFoundError):
        KeywordIndex.load(tmp_path / "empty")


def test_missing_header_is_corrupt(saved: Path) -> None:
    (saved / HEADER_FILE).unlink()
    with pytest.raises(CorruptIndexError, match="interrupted save"):
        KeywordIndex.load(saved)


@pytest.mark.parametrize("keep", [0, 1, 10])
def test_truncated_files_are_corrupt(small: KeywordIndex, tmp_path: Path, keep: int) -> None:
    small.save(tmp_path / "ref")
    for name in saved_files(tmp_path / "ref"):
        where = tmp_path / f"cut-{name.replace('/', '_')}"
        shutil.copytree(tmp_path / "ref", where)
        path = where / name
        path.write_bytes(path.read_bytes()[:keep])
        with pytest.raises(CorruptIndexError):
            KeywordIndex.load(where)


def test_altered_and_missing_files_are_corrupt(small: KeywordIndex, tmp_path: Path) -> None:
    small.save(tmp_path / "ref")
    for name in saved_files(tmp_path / "ref"):
        if name == HEADER_FILE:
            continue
        flipped = tmp_path / f"flip-{name.replace('/', '_')}"
        shutil.copytree(tmp_path / "ref", flipped)
        data = bytearray((flipped / name).read_bytes())
        data[-1] ^= 0xFF
        (flipped / name).write_bytes(bytes(data))
        with pytest.raises(CorruptIndexError, match="checksum"):
            KeywordIndex.load(flipped)
        missing = tmp_path / f"gone-{name.replace('/', '_')}"
        shutil.copytree(tmp_path / "ref", missing)
        (missing / name).unlink()
        with pytest.raises(CorruptIndexError, match="missing"):
            KeywordIndex.load(missing)


def test_garbage_header_is_corrupt(saved: Path) -> None:
    (saved / HEADER_FILE).write_bytes(b"\x00\xff not json")
    with pytest.raises(CorruptIndexError):
        KeywordIndex.load(saved)
    (saved / HEADER_FILE).write_text('{"format": "something-else"}', encoding="utf-8")
    with pytest.raises(CorruptIndexError, match="does not hold a keyword index"):
        KeywordIndex.load(saved)


def test_other_format_version_is_incompatible(saved: Path) -> None:
    header = json.loads((saved / HEADER_FILE).read_text(encoding="utf-8"))
    header["format_version"] = 999
    (saved / HEADER_FILE).write_text(json.dumps(header), encoding="utf-8")
    with pytest.raises(IncompatibleIndexError, match="rebuild"):
        KeywordIndex.load(saved)
    header["format_version"] = 1
    header["tokenizer"]["version"] = 999
    (saved / HEADER_FILE).write_text(json.dumps(header), encoding="utf-8")
    with pytest.raises(IncompatibleIndexError, match="tokenizer"):
        KeywordIndex.load(saved)


def test_inconsistent_content_with_valid_checksums_is_corrupt(saved: Path) -> None:
    """A file that passes its checksum but disagrees with the rest: a typed error, not a numpy crash."""
    (saved / "chunks.json").write_text(json.dumps({"ids": ["a"], "text_keys": ["k"]}), encoding="utf-8")
    header = json.loads((saved / HEADER_FILE).read_text(encoding="utf-8"))
    chunks = saved / "chunks.json"
    header["files"]["chunks.json"] = {"bytes": chunks.stat().st_size, "sha256": _sha256(chunks)}
    (saved / HEADER_FILE).write_text(json.dumps(header), encoding="utf-8")
    with pytest.raises(CorruptIndexError, match="inconsistent"):
        KeywordIndex.load(saved)


def test_index_errors_share_the_base_class() -> None:
    for error in (IndexNotFoundError, CorruptIndexError, IncompatibleIndexError):
        assert issubclass(error, IndexStoreError)


# --- rebuild ---------------------------------------------------------------------


def test_rebuild_equals_a_fresh_build(small: KeywordIndex, tmp_path: Path) -> None:
    small.save(tmp_path / "kw")
    loaded = KeywordIndex.load(tmp_path / "kw")
    changed = [c for c in SMALL if c[0] != "a"] + [("g", "创新“梨树模式”，肉牛养殖贷款16.27亿元。")]
    rebuilt = loaded.rebuild(changed)
    fresh = KeywordIndex.build(changed)
    assert rebuilt.terms == fresh.terms == ("双轮双创", "梨树模式")
    assert rebuilt.chunk_ids == fresh.chunk_ids
    for query in [*QUERIES, "梨树模式", "肉牛"]:
        assert rebuilt.search(query, 10) == fresh.search(query, 10)
    assert "a" not in [cid for cid, _ in rebuilt.search("131.7万头", 10)]
    assert [cid for cid, _ in rebuilt.search("肉牛", 10)] == ["g"]


def test_rebuild_retokenizes_text_holding_a_new_term() -> None:
    first = KeywordIndex.build([("x", "推动四个一定要再深化"), ("y", "无关的句子")])
    assert "四个一定要" not in first.terms
    second = first.rebuild([("x", "推动四个一定要再深化"), ("y", "无关的句子"), ("z", "“四个一定要”")])
    fresh = KeywordIndex.build([("x", "推动四个一定要再深化"), ("y", "无关的句子"), ("z", "“四个一定要”")])
    assert second.search("四个一定要", 5) == fresh.search("四个一定要", 5)
    assert {cid for cid, _ in second.search("四个一定要", 5)} == {"x", "z"}


def test_fixed_terms_are_kept_on_rebuild() -> None:
    index = KeywordIndex.build([("x", "梨树模式")], terms=["梨树模式"])
    assert not index.terms_learned
    assert index.rebuild([("y", "“双轮双创”")]).terms == ("梨树模式",)
