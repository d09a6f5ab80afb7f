"""The UI in a real browser: Debian's chromium, driven by playwright, headless (no browser download)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ragchat.paths import bundled_report

pytestmark = [pytest.mark.browser, pytest.mark.server]

XSS_NAME = "xss-<img src=x onerror=window.__pwned=3>.md"
XSS = (
    '# 安全测试<img src=x onerror="window.__pwned=4">\n\n'
    "青松县的县树是银杏树。<script>window.__pwned=1</script>\n\n"
    '青松县的县鸟是喜鹊。<img src=x onerror="window.__pwned=2">\n'
)


def ask(page, question: str) -> float:
    """Type a question, press Ask, wait for the finished answer; the seconds it took."""
    before = page.locator("#rc-chat a[href^='#src-']").count()
    page.fill("#rc-question textarea", question)
    started = time.perf_counter()
    page.click("#rc-ask")
    page.wait_for_function(
        "n => document.querySelectorAll(\"#rc-chat a[href^='#src-']\").length > n"
        " || /文档中没有找到|do not say/.test(document.querySelector('#rc-chat').innerText)",
        arg=before, timeout=60000,
    )
    return time.perf_counter() - started


def test_question_answer_citation_and_highlighted_source(page, tmp_path: Path):
    report = bundled_report().read_text(encoding="utf-8")
    seconds = ask(page, "规划建设了多少所社区食堂?")
    print(f"\nfirst answer in the browser: {seconds:.2f} s")
    marker = page.locator("#rc-chat a[href^='#src-']").first
    assert marker.inner_text() == "[1]"
    assert "7所社区食堂" in page.inner_text("#rc-chat")

    card = page.locator("#src-1-1")
    assert card.count() == 1
    assert "siping-plenary-2023-08.txt" in card.inner_text()
    assert "score" in card.inner_text()
    highlighted = card.locator("mark").first.inner_text()
    assert "7所社区食堂" in highlighted and highlighted in report

    page.evaluate("window.scrollTo(0, 0)")
    marker.click()
    page.wait_for_function("document.getElementById('src-1-1').classList.contains('rc-flash')")
    assert page.evaluate("location.hash") == "#src-1-1"
    assert len(page.context.pages) == 1  # the marker did not open a new tab
    page.screenshot(path=str(tmp_path / "answer.png"), full_page=True)
    assert (tmp_path / "answer.png").stat().st_size > 10_000
    assert page.outside_requests == []


def test_follow_up_uses_history_and_clear_forgets_it(page):
    ask(page, "上半年全市GDP增长多少?")
    ask(page, "那生态方面呢?")
    assert "searched as: 上半年生态方面" in page.inner_text("#rc-sources")
    page.click("#rc-clear")
    page.wait_for_function("!document.querySelector('#rc-chat a[href^=\"#src-\"]')")
    assert "Sources of the answers appear here" in page.inner_text("#rc-sources")


def test_refusal_is_shown_plainly(page):
    ask(page, "四平市的地铁线路有几条?")
    assert "文档中没有找到这个问题的答案。" in page.inner_text("#rc-chat")


def test_uploaded_html_in_a_document_is_shown_as_text_and_never_runs(page, ui_app, tmp_path: Path):
    document = tmp_path / XSS_NAME
    document.write_text(XSS, encoding="utf-8")
    page.click("button[role='tab']:has-text('Documents')")
    page.set_input_files("#rc-files input[type='file']", str(document))
    page.wait_for_timeout(500)
    page.click("#rc-upload")
    page.wait_for_function("document.querySelector('#rc-update').innerText.includes('added')", timeout=120000)
    try:
        update = page.inner_text("#rc-update")
        documents = page.inner_text("#rc-documents")
        assert "added (1): xss-" in update and "onerror_window" in update  # the name, sanitised
        assert "xss-" in documents

        page.click("button[role='tab']:has-text('Chat')")
        ask(page, "青松县的县树是什么?")
        chat_text = page.inner_text("#rc-chat")
        sources_text = page.inner_text("#rc-sources")
        assert "银杏树" in chat_text
        assert "<script>window.__pwned=1</script>" in chat_text + sources_text
        ask(page, "青松县的县鸟是什么?")
        shown = page.inner_text("#rc-chat") + page.inner_text("#rc-sources")
        assert '<img src=x onerror="window.__pwned=2">' in shown
        assert '安全测试<img src=x onerror="window.__pwned=4">' in page.inner_text("#rc-sources")  # the heading
        page.wait_for_timeout(500)
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.locator("#rc-sources script, #rc-chat script, #rc-sources img, #rc-chat img[src='x']").count() == 0
        page.screenshot(path=str(tmp_path / "xss.png"), full_page=True)
    finally:
        library = ui_app.library
        library.remove([d["doc_id"] for d in library.documents() if Path(d["source"]).name.startswith("xss")])
