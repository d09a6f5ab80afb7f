"""Cleaning the bundled report: broken sentences, captions, headings."""

from __future__ import annotations

import pytest

from ingest.blocks import parse_blocks

BROKEN = [
    ("大力实施新", "型经营主体培育3年行动", "大力实施新型经营主体培育3年行动"),
    ("找差", "距", "找差距"),
    ("试验区建", "设", "试验区建设"),
    ("重污", "染天气", "重污染天气"),
    ("专班作", "用", "专班作用"),
    ("优良水", "体比例", "优良水体比例"),
]
CAPTIONS = ["中共四平市委八届六次全会现场。毛思博 摄", "发展中的四平。李敬元 摄"]
TITLE = "四平市委八届六次全会总结上半年工作"
SUBTITLE = "经济社会发展企稳向好稳中有进"


@pytest.mark.parametrize("head, tail, joined", BROKEN)
def test_broken_sentences_are_rejoined(report_text, report_chunks, head, tail, joined):
    assert joined not in report_text  # the source really is broken there
    body = [c for c in report_chunks if c.kind == "body"]
    assert any(joined in c.text for c in body)
    # No body chunk ends on the broken half.
    assert not any(c.text.endswith(head) for c in body)


def test_captions_are_separate_caption_chunks(report_chunks):
    captions = [c for c in report_chunks if c.kind == "caption"]
    assert sorted(c.text for c in captions) == sorted(CAPTIONS)
    for chunk in report_chunks:
        if chunk.kind == "body":
            assert "摄" not in chunk.text.replace("摄影", "")  # no credit glued into body text


def test_title_and_subtitle_are_headings(report_text):
    headings = [b for b in parse_blocks(report_text) if b.kind == "heading"]
    assert (headings[0].text, headings[0].level) == (TITLE, 1)
    assert (headings[1].text, headings[1].level) == (SUBTITLE, 2)
    assert headings[1].heading_path == (TITLE,)


def test_dash_items_are_headings_with_their_body(report_chunks):
    chunk = next(c for c in report_chunks if "累计建成高标准农田482万亩" in c.text)
    assert chunk.heading_path == (TITLE, SUBTITLE, "——坚决交上落实殷切嘱托高分答卷")
    dash_sections = {c.heading_path[-1] for c in report_chunks if c.heading_path[-1].startswith("——")}
    assert len(dash_sections) == 5


def test_numbered_sections_one_to_six(report_chunks):
    sections = []
    for c in report_chunks:
        last = c.heading_path[-1] if c.heading_path else ""
        if last[:2] in {"一、", "二、", "三、", "四、", "五、", "六、"} and last not in sections:
            sections.append(last)
    assert [s[0] for s in sections] == list("一二三四五六")
    assert sections[0] == "一、抓招商、上项目，奋力实现争先晋位"


def test_livestock_paragraph_knows_its_section(report_chunks):
    chunk = next(c for c in report_chunks if "实施肉牛倍增计划" in c.text)
    assert chunk.heading_path[-1] == "四、抓“三农”，扬优势，加快建设农业强市"
    assert chunk.heading_path[:2] == (TITLE, SUBTITLE)


def test_a_new_article_dateline_leaves_the_last_dash_section(report_chunks):
    chunk = next(c for c in report_chunks if "下半年全市工作的总体要求是" in c.text)
    assert chunk.heading_path == (TITLE, SUBTITLE)


def test_ascii_punctuation_used_as_chinese_is_normalised(report_chunks):
    text = "".join(c.text for c in report_chunks)
    assert "本报讯（记者崔维利）" in text
    assert "," not in text and "(" not in text and ")" not in text
    assert "5.3%" in text and "“4+3”" in text  # numbers keep their ASCII form


def test_sibling_headings_form_outline_chunks(report_chunks):
    outlines = [c for c in report_chunks if c.kind == "outline"]
    numbered = next(c for c in outlines if c.text.startswith("一、"))
    assert [line[:2] for line in numbered.text.split("\n")] == ["一、", "二、", "三、", "四、", "五、", "六、"]
    assert numbered.heading_path == (TITLE, SUBTITLE)
    dashes = next(c for c in outlines if c.text.startswith("——"))
    assert len(dashes.text.split("\n")) == 5
