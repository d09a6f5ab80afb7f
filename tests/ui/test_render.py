"""Escaped HTML and Markdown of answers, sources and documents (pure functions)."""

from __future__ import annotations

import html

from chat.types import Answer, Checks, Citation, Passage
from chat.ui import render

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


def _passage(n: int, text: str, source: str = "/docs/a.txt", heading=("标题",)) -> Passage:
    return Passage(n=n, chunk_id=f"c{n}", doc_id="d", source=source, heading=heading, kind="body", text=text,
                   spans=((0, len(text)),), score=0.0312, dense_score=0.88, keyword_score=4.2)


def _answer(text: str, passages, citations, refused=False, checks=None, notes=()) -> Answer:
    return Answer(question="q", standalone_question="q", text=text, citations=citations, refused=refused,
                  passages=passages, checks=checks or Checks(), timings_ms={}, answerer="extractive", lang="zh",
                  refusal_reason="nothing relevant" if refused else "", notes=list(notes))


def test_markers_link_to_their_source_cards_and_text_is_literal():
    md = render.answer_markdown("增长5.3%。[1] *粗体* <b>x</b> $$a$$ [9]", turn=3, n_passages=2)
    assert '<a class="cite" href="#src-3-1" data-n="1">[1]</a>' in md
    assert "[9]" not in md.replace("\\[9\\]", "")  # a marker pointing nowhere stays plain (escaped) text
    assert "<b>" not in md and "&lt;b&gt;" in md
    assert "\\*粗体\\*" in md and "\\$\\$a\\$\\$" in md


def test_hostile_text_never_becomes_markup():
    passage = _passage(1, "前文。" + HOSTILE + "后文。", source="/docs/<img src=x onerror=alert(1)>.txt",
                       heading=("<b>标题</b>",))
    answer = _answer(HOSTILE + "[1]", [passage], [Citation(1, "c1", passage.source, passage.heading, HOSTILE, 3, 3 + len(HOSTILE))])
    out = render.sources_html(answer, turn=1) + render.answer_message(answer, 1)
    for tag in ("<script", "<img", "<b>"):
        assert tag not in out
    assert html.escape(HOSTILE) in render.sources_html(answer, 1)
    assert f"<mark>{html.escape(HOSTILE)}</mark>" in render.sources_html(answer, 1)


def test_highlight_marks_every_quote_and_merges_overlaps():
    text = "甲乙丙丁。戊己庚。甲乙丙丁。"
    assert render.highlight(text, ["乙丙", "丙丁"]) == "甲<mark>乙丙丁</mark>。戊己庚。甲<mark>乙丙丁</mark>。"
    assert render.highlight("a<b", ["<"]) == "a<mark>&lt;</mark>b"
    assert render.highlight("abc", ["zz", ""]) == "abc"


def test_source_card_has_file_heading_passage_and_score():
    passage = _passage(2, "规划建设7所社区食堂。其他。", heading=("一、民生", "（一）养老"))
    answer = _answer("规划建设7所社区食堂。[2]", [_passage(1, "无关。"), passage],
                     [Citation(2, "c2", passage.source, passage.heading, "规划建设7所社区食堂", 0, 10)])
    card = render.sources_html(answer, turn=4)
    assert 'id="src-4-2"' in card and "a.txt" in card and "一、民生 › （一）养老" in card
    assert "<mark>规划建设7所社区食堂</mark>" in card and "score 0.0312" in card
    assert "1 other retrieved passage(s)" in card and 'id="src-4-1"' not in card


def test_refusal_and_warnings_are_shown():
    refused = _answer("文档中没有找到这个问题的答案。", [], [], refused=True)
    assert render.answer_message(refused, 1).startswith("文档中没有找到这个问题的答案。")
    assert render.sources_html(refused, 1) == ""
    checks = Checks(numeric_faithful=False, unsupported_numbers=["9.9%"], dropped_markers=["[7]"], passages_dropped=2)
    warned = _answer("增长9.9%。[1]", [_passage(1, "增长5.3%。")], [], checks=checks, notes=["the LLM endpoint failed"])
    messages = render.warnings_of(warned)
    assert any("9.9%" in m for m in messages) and any("[7]" in m for m in messages)
    assert any("did not fit" in m for m in messages) and "the LLM endpoint failed" in messages
    box = render.warnings_html(messages)
    assert 'role="alert"' in box and "9.9%" in box
    assert "⚠" in render.answer_message(warned, 1)
    assert render.warnings_html([]) == ""


def test_documents_and_update_results_escape_names():
    rows = [{"doc_id": "x-1", "source": "/d/<i>x</i>.txt", "n_chunks": 3, "n_chars": 12345, "bytes": 2048,
             "indexed_at": "2026-01-01T00:00:00Z"}]
    table = render.documents_html(rows)
    assert "<i>" not in table and "&lt;i&gt;x&lt;/i&gt;.txt" in table and "12,345 chars · 2.0 KiB" in table
    done = render.update_html({"added": ["<b>a</b>.txt"], "skipped": [{"file": "b.exe", "reason": "type <x>"}],
                               "n_documents": 2, "n_chunks": 9, "seconds": 0.5})
    assert "<b>a" not in done and "type &lt;x&gt;" in done and "skipped" in done and "2 documents" in done


def test_the_short_answer_is_shown_in_bold_and_escaped():
    p = _passage(1, "肉牛养殖量达到131.7万头。")
    answer = _answer("肉牛养殖量达到131.7万头。[1]", [p], [])
    answer.short = "131.7万头"
    message = render.answer_message(answer, turn=1)
    assert message.startswith("**131\\.7万头**")
    answer.short = "<b>x</b>"
    assert "<b>" not in render.answer_message(answer, turn=1)
    answer.short = ""
    assert not render.answer_message(answer, turn=1).startswith("**")


def test_source_cards_show_the_cited_page_or_the_passage_pages():
    cited = Passage(n=1, chunk_id="c1", doc_id="d", source="/docs/r.pdf", heading=(), kind="body", text="甲。乙。",
                    spans=((0, 4),), score=0.1, dense_score=0.8, keyword_score=1.0, pages=((6, 0), (7, 2)))
    other = Passage(n=2, chunk_id="c2", doc_id="d", source="/docs/r.pdf", heading=(), kind="body", text="丙。",
                    spans=((9, 11),), score=0.1, dense_score=0.8, keyword_score=1.0, pages=((8, 9), (9, 10)))
    plain = _passage(3, "丁。")
    answer = _answer("乙。[1]", [cited, other, plain], [Citation(1, "c1", "/docs/r.pdf", (), "乙", 2, 3, page=7)])
    out = render.sources_html(answer, turn=1)
    assert '<span class="rc-page">p. 7</span>' in out  # the quote's page, not the passage's 6–7
    assert '<span class="rc-page">pp. 8–9</span>' in out
    assert out.count("rc-page") == 2  # a text file has no page
    assert render.page_label([3, 7]) == "pp. 3, 7" and render.page_label([]) == ""
