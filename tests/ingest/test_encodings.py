"""Encodings Chinese text really uses: each decoded to the original, named, or refused."""

from __future__ import annotations

import codecs
import random
from pathlib import Path

import pytest

from index.update import update_index
from ingest.decode import decode_bytes
from ingest.loaders import load_file
from ragchat.errors import DecodeError
from ragchat.settings import load_settings

SIMPLIFIED = "四平市今年全市肉牛养殖量达到131.7万头，同比增长8.2%。\n全市生猪出栏量达到412万头。\n"
TRADITIONAL = ("臺北市政府今年推動公共住宅興建計畫，預計完成12000戶社會住宅。\n"
               "市長表示，將持續改善交通與環境品質，捷運環狀線預計於明年通車。\n")
# Characters outside GBK: CJK Extension B and A, encoded in GB18030's four-byte form.
BEYOND_GBK = SIMPLIFIED + "𠮷㐀字段。\n"


@pytest.mark.parametrize("text, data, expected", [
    (TRADITIONAL, TRADITIONAL.encode("big5"), "big5"),
    (SIMPLIFIED, SIMPLIFIED.encode("gbk"), "gbk"),
    (TRADITIONAL, TRADITIONAL.encode("gbk"), "gbk"),  # Traditional characters in a GBK file
    (BEYOND_GBK, BEYOND_GBK.encode("gb18030"), "gb18030"),
    (SIMPLIFIED, SIMPLIFIED.encode("utf-16-le"), "utf-16-le"),
    (SIMPLIFIED, SIMPLIFIED.encode("utf-16-be"), "utf-16-be"),
    (TRADITIONAL, TRADITIONAL.encode("utf-16-le"), "utf-16-le"),
    (SIMPLIFIED, codecs.BOM_UTF16_LE + SIMPLIFIED.encode("utf-16-le"), "utf-16"),
    (SIMPLIFIED, codecs.BOM_UTF16_BE + SIMPLIFIED.encode("utf-16-be"), "utf-16"),
    (SIMPLIFIED, codecs.BOM_UTF8 + SIMPLIFIED.encode("utf-8"), "utf-8-sig"),
    (TRADITIONAL, TRADITIONAL.encode("utf-8"), "utf-8"),
], ids=["big5", "gbk", "gbk-traditional", "gb18030", "utf16le-nobom", "utf16be-nobom", "utf16le-traditional",
        "utf16le-bom", "utf16be-bom", "utf8-bom", "utf8"])
def test_each_encoding_decodes_to_the_original(tmp_path, text, data, expected):
    path = tmp_path / "doc.txt"
    path.write_bytes(data)
    doc = load_file(path)
    assert (doc.text, doc.encoding) == (text, expected)


@pytest.mark.parametrize("short", ["會議紀錄", "颱風警報解除", "學校開學了"])
def test_short_big5_is_not_read_as_gb18030(short):
    assert decode_bytes(short.encode("big5")) == (short, "big5")


def test_an_undecidable_file_is_skipped_with_a_reason(tmp_path):
    # High bytes without any structure: every reading is noise.
    noise = bytes(random.Random(7).randrange(0x80, 0x100) for _ in range(600))
    path = tmp_path / "noise.txt"
    path.write_bytes(noise)
    with pytest.raises(DecodeError, match="noise.txt.*cannot decode the text with confidence"):
        load_file(path)
    settings = load_settings(home=tmp_path / "home")
    from index.models import embeddings_from_settings

    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "noise.txt").write_bytes(noise)
    (tmp_path / "docs" / "good.txt").write_bytes(TRADITIONAL.encode("big5"))
    report = update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=[tmp_path / "docs"])
    assert [Path(p).name for p in report.added] == ["good.txt"]
    assert [(Path(s.path).name, s.error) for s in report.skipped] == [("noise.txt", "DecodeError")]


def test_a_traditional_question_is_answered_from_a_big5_file(tmp_path):
    from chat.service import AnswerService
    from index.models import embeddings_from_settings

    settings = load_settings(home=tmp_path / "home")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "taipei.txt").write_bytes(TRADITIONAL.encode("big5"))
    (docs / "siping.txt").write_bytes(SIMPLIFIED.encode("gbk"))
    update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=[docs])
    service = AnswerService.from_settings(settings)
    assert any("公共住宅興建計畫" in c.text for c in service.snapshot.chunks)  # kept Traditional, no mojibake
    answer = service.answer("臺北市預計完成多少戶社會住宅？")
    assert not answer.refused and "12000戶" in answer.text
    assert Path(answer.citations[0].source).name == "taipei.txt"
