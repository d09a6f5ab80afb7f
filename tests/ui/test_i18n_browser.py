"""The page in the browser's language: Debian's chromium with locale zh-CN (and zh-TW) shows the
Chinese labels and the server's Chinese texts; en-US and any other language show the English ones."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.server]

CHINESE = {"ask": "提问", "kb": "知识库", "chat": "问答", "documents": "文档", "status": "就绪：",
           "sources": "回答的来源将显示在这里。", "upload": "上传并索引", "no_files": "请先选择要上传的文件",
           "new": "新对话", "score": "得分", "table": "片段"}
ENGLISH = {"ask": "Ask", "kb": "Knowledge base", "chat": "Chat", "documents": "Documents", "status": "Ready:",
           "sources": "Sources of the answers appear here.", "upload": "Upload and index",
           "no_files": "choose one or more files to upload first", "new": "New conversation", "score": "score",
           "table": "chunks"}


def _open(browser, url: str, locale: str):
    context = browser.new_context(locale=locale, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector("#rc-question textarea")
    return context, page


def _status_starts_with(page, words: str) -> None:
    """The status line (written by the server on load) starts with ``words``; it may show
    Gradio's progress for a moment first."""
    page.wait_for_function("w => document.querySelector('#rc-status').innerText.trim().startsWith(w)",
                           arg=words, timeout=15000)


@pytest.mark.parametrize(("locale", "words"), [("zh-CN", CHINESE), ("en-US", ENGLISH)])
def test_labels_and_server_texts_follow_the_browser_language(browser, ui_app, locale, words):
    context, page = _open(browser, ui_app.url, locale)
    try:
        assert page.inner_text("#rc-ask").strip() == words["ask"]
        assert page.inner_text("#rc-clear").strip() == words["new"]
        assert words["kb"] in page.inner_text("#rc-kb")
        assert page.get_by_role("tab", name=words["chat"]).count() == 1
        _status_starts_with(page, words["status"])
        assert page.inner_text("#rc-sources").strip() == words["sources"]

        page.fill("#rc-question textarea", "规划建设了多少所社区食堂?")
        page.click("#rc-ask")
        page.wait_for_selector("#src-1-1", timeout=60000)
        assert words["score"] in page.inner_text("#src-1-1")

        page.get_by_role("tab", name=words["documents"]).click()
        assert page.inner_text("#rc-upload").strip() == words["upload"]
        page.wait_for_selector("#rc-documents table")
        assert words["table"] in page.inner_text("#rc-documents thead")
        page.click("#rc-upload")  # no files chosen: the error is in the page's language too
        page.get_by_text(words["no_files"]).first.wait_for(timeout=10000)
    finally:
        context.close()


@pytest.mark.parametrize(("locale", "words"), [("zh-TW", CHINESE), ("fr-FR", ENGLISH)])
def test_other_regions_and_languages(browser, ui_app, locale, words):
    """zh-TW takes the Chinese words (there is one Chinese table); French falls back to English."""
    context, page = _open(browser, ui_app.url, locale)
    try:
        assert page.inner_text("#rc-ask").strip() == words["ask"]
        _status_starts_with(page, words["status"])
    finally:
        context.close()
