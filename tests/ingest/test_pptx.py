"""PowerPoint decks: slides in order, titles as headings, text frames and tables, slide numbers as pages."""

from __future__ import annotations

import pytest

from chat.citations import resolve
from chat.types import Passage
from ingest.loaders import load_file
from ingest.pipeline import ingest_document, ingest_paths
from ragchat.errors import MalformedDocumentError
from ragchat.settings import ChunkingSettings, IngestSettings


def _deck(path):
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    cover = deck.slides.add_slide(deck.slide_layouts[0])
    cover.shapes.title.text = "四平市上半年工作报告"
    cover.placeholders[1].text = "2023年8月"

    farming = deck.slides.add_slide(deck.slide_layouts[1])
    farming.shapes.title.text = "一、农业"
    body = farming.placeholders[1].text_frame
    body.text = "累计建成高标准农田482万亩。"
    body.add_paragraph().text = "肉牛养殖量达到131.7万头，同比增长13%。"

    figures = deck.slides.add_slide(deck.slide_layouts[5])  # title only
    figures.shapes.title.text = "二、主要指标"
    box = figures.shapes.add_textbox(Inches(1), Inches(1.5), Inches(8), Inches(1))
    box.text_frame.text = "上半年全市GDP增长5.3%。"
    table = figures.shapes.add_table(3, 2, Inches(1), Inches(3), Inches(8), Inches(2)).table
    for r, row in enumerate([("指标", "数值"), ("社区食堂", "7所"), ("沟渠修复", "7829公里")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    deck.save(path)
    return path


def test_slides_in_order_with_titles_tables_and_slide_numbers(tmp_path, chunking):
    doc = load_file(_deck(tmp_path / "deck.pptx"))
    assert doc.format == "pptx" and len(doc.pages) == 3
    text = doc.text
    order = ["# 四平市上半年工作报告", "2023年8月", "# 一、农业", "482万亩", "131.7万头", "# 二、主要指标",
             "GDP增长5.3%", "指标 | 数值", "社区食堂 | 7所", "沟渠修复 | 7829公里"]
    positions = [text.find(x) for x in order]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), text
    slides = [text[s:e] for s, e in zip(doc.pages, [*doc.pages[1:], len(text)])]
    assert slides[1].startswith("# 一、农业") and slides[2].startswith("# 二、主要指标")

    chunks = ingest_document(doc, chunking)
    cattle = next(c for c in chunks if "131.7万头" in c.text)
    assert cattle.heading_path[-1] == "一、农业"
    assert [p for p, _ in cattle.metadata["pages"]] == [2]
    canteen = next(c for c in chunks if "7所" in c.text)
    assert canteen.heading_path[-1] == "二、主要指标" and [p for p, _ in canteen.metadata["pages"]] == [3]

    # a citation of the chunk names its slide
    passage = Passage(1, cattle.id, cattle.doc_id, cattle.source, cattle.heading_path, cattle.kind, cattle.text,
                      cattle.spans, 1.0, 1.0, 1.0, pages=tuple(tuple(p) for p in cattle.metadata["pages"]))
    (citation,) = resolve([("肉牛养殖量达到131.7万头，同比增长13%。", [1])], [passage])
    assert citation.page == 2


def test_a_damaged_deck_is_skipped_with_a_reason(tmp_path):
    good = _deck(tmp_path / "good.pptx")
    bad = tmp_path / "bad.pptx"
    bad.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    with pytest.raises(MalformedDocumentError, match="PPTX"):
        load_file(bad)
    result = ingest_paths([tmp_path], IngestSettings(), ChunkingSettings())
    assert [d.format for d in result.documents] == ["pptx"]
    assert [s.error for s in result.skipped] == ["MalformedDocumentError"]
