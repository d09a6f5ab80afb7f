"""The UI's two languages: the tables match, every key the UI uses exists, and a request's
``Accept-Language`` picks the language of what the server writes."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import gradio as gr
import pytest
from starlette.requests import Request

from chat.ui import i18n, render
from chat.ui.i18n import EN, WORDS, ZH, language, text

UI = Path(__file__).resolve().parents[2] / "chat" / "ui"
HAN = re.compile(r"[\u4e00-\u9fff]")


def _request(accept_language: str | None) -> gr.Request:
    """A real request (Starlette's, as Gradio hands it over) with that header."""
    headers = [] if accept_language is None else [(b"accept-language", accept_language.encode())]
    return gr.Request(request=Request({"type": "http", "method": "GET", "path": "/", "headers": headers}))


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _keys_used() -> set[str]:
    """Keys given as literals to ``label(...)``, ``text(lang, ...)`` and ``words(lang, ...)`` in chat/ui,
    and the keys render.py loops over."""
    used: set[str] = set()
    for path in UI.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            position = {"label": 0, "text": 1, "words": 1}.get(node.func.id)
            if position is None or len(node.args) <= position:
                continue
            arg = node.args[position]
            options = [arg.body, arg.orelse] if isinstance(arg, ast.IfExp) else [arg]
            used |= {o.value for o in options if isinstance(o, ast.Constant) and isinstance(o.value, str)}
    return used | set(render._COLUMNS) | set(render._UPDATE_KEYS)


def test_both_languages_have_the_same_keys_and_placeholders():
    assert set(WORDS) == {EN, ZH}
    assert WORDS[EN].keys() == WORDS[ZH].keys()
    for key, english in WORDS[EN].items():
        chinese = WORDS[ZH][key]
        assert english.strip() and chinese.strip(), key
        assert _fields(english) == _fields(chinese), key
        assert not HAN.search(english), key


def test_every_key_the_ui_uses_exists_and_every_key_is_used():
    used = _keys_used()
    assert len(used) > 60  # the scan found the UI's calls
    assert used - WORDS[EN].keys() == set()
    assert WORDS[EN].keys() - used == set()  # no word left behind by a change of the UI


def test_chinese_words_are_chinese():
    """Every Chinese text has Chinese in it, except the few that are the same in both (names, IDs)."""
    same = {k for k in WORDS[ZH] if not HAN.search(WORDS[ZH][k])}
    assert same <= {"col_id"}


def test_label_refuses_an_unknown_key():
    with pytest.raises(KeyError):
        i18n.label("no-such-key")


@pytest.mark.parametrize(("header", "expected"), [
    ("zh-CN,zh;q=0.9,en;q=0.8", ZH),
    ("zh-TW", ZH),
    ("zh-cn", ZH),
    ("en-US,en;q=0.9", EN),
    ("en-US,zh-CN;q=0.9", EN),
    ("fr-FR,fr;q=0.9", EN),
    ("fr;q=0.5, zh-CN;q=0.8", ZH),  # the most preferred wins, not the first written
    ("zh-CN;q=0, en", EN),
    ("zh-HK", EN),  # Gradio's frontend shows English labels for it: the server agrees
    ("*", EN),
    ("", EN),
    (None, EN),
])
def test_accept_language_picks_the_language(header, expected):
    assert language(_request(header)) == expected


def test_no_request_is_english():
    assert language(None) == EN


def test_text_fills_values_and_falls_back_to_english():
    assert text(ZH, "status_ready", documents=2, chunks=31) == "就绪：2 个文档，31 个片段。"
    assert text("fr", "status_ready", documents=2, chunks=31) == "Ready: 2 document(s), 31 chunks."


def test_render_speaks_the_language_it_is_given():
    assert "回答的来源将显示在这里" in render.sources_panel([], ZH)
    assert "Sources of the answers appear here" in render.sources_panel([])
    rows = [{"doc_id": "d1", "source": "/docs/报告.txt", "n_chunks": 3, "n_chars": 1200, "bytes": None,
             "indexed_at": "2026-01-01T00:00:00"}]
    table = render.documents_html(rows, ZH)
    assert "<th>文档</th><th>片段</th><th>大小</th><th>索引时间</th>" in table and "1,200 字符" in table
    update = render.update_html({"added": ["/x/a.md"], "skipped": [{"file": "b.exe", "reason": "no"}],
                                 "n_documents": 1, "n_chunks": 4, "seconds": 0.5}, ZH)
    assert "<strong>新增</strong> (1): a.md" in update and "<strong>跳过</strong> (1)" in update
    assert "索引：1 个文档，4 个片段（0.5 秒）" in update
    assert render.update_html({}, ZH) == '<ul class="rc-update"><li>没有变化</li></ul>'
    assert render.page_label([7, 8], ZH) == "第 7–8 页" and render.page_label([3], ZH) == "第 3 页"


def test_launch_hands_both_tables_to_the_browser(ui_app):
    """``ragchat ui`` (``launch``) passes the gr.I18n: the page's config carries both tables."""
    import httpx

    assert httpx.get(ui_app.url.rstrip("/") + "/config", timeout=30).json()["i18n_translations"] == WORDS
