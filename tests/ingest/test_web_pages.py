"""Saved web pages: only the main content is indexed; fragments keep all their text."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.update import update_index
from ingest.loaders import load_file
from ingest.pipeline import ingest_document
from ragchat.settings import load_settings

BOILERPLATE = ("首页", "登录", "版权所有", "推荐阅读", "天气预报", "春季招聘会")

PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>四平日报网</title>
<script>var tracker = "首页统计";</script></head>
<body>
<nav><a href="/">首页</a> | <a href="/news">新闻</a> | <a href="/login">登录</a></nav>
<div class="layout">
<aside class="sidebar"><h3>热门标签</h3><ul><li><a href="/t/1">天气预报</a></li>
<li><a href="/t/2">招聘信息</a></li></ul></aside>
<main><article>
<h1>四平市畜牧业发展报告</h1>
<p>今年以来，四平市坚持把畜牧业作为农业农村经济的支柱产业来抓，全市肉牛养殖量达到131.7万头，同比增长8.2%。</p>
<h2>生猪生产</h2>
<p>全市生猪出栏量达到412万头，规模化养殖比重提高到百分之六十五，新建标准化养殖场二十三个。</p>
<p>下一步，全市将继续推进畜牧业转型升级，加快建设现代畜牧业产业体系，力争明年肉牛养殖量突破一百四十万头。</p>
</article></main>
</div>
<section class="recommend"><h3>推荐阅读</h3><ul>
<li><a href="/a/1">某地举办春季招聘会</a></li><li><a href="/a/2">明日天气晴转多云</a></li></ul></section>
<footer><p>版权所有 © 2024 四平日报网 吉ICP备12345678号</p></footer>
</body></html>
"""


def test_a_page_keeps_only_its_article_with_its_headings(tmp_path, chunking):
    path = tmp_path / "page.html"
    path.write_text(PAGE, encoding="utf-8")
    doc = load_file(path)
    chunks = ingest_document(doc, chunking)
    for word in BOILERPLATE:
        assert not any(word in c.text for c in chunks), word
    assert "131.7万头" in doc.text and "412万头" in doc.text
    pigs = next(c for c in chunks if "412万头" in c.text)
    assert pigs.heading_path == ("四平市畜牧业发展报告", "生猪生产")


def test_a_question_about_the_page_is_answered_from_the_article(tmp_path):
    from chat.service import AnswerService
    from index.models import embeddings_from_settings

    settings = load_settings(home=tmp_path / "home")
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "page.html").write_text(PAGE, encoding="utf-8")
    report = update_index(settings.index_dir, settings, embeddings_from_settings(settings), add=[docs])
    assert report.added and not report.skipped
    service = AnswerService.from_settings(settings)
    for c in service.snapshot.chunks:
        assert not any(word in c.text for word in BOILERPLATE), c.text
    answer = service.answer("全市生猪出栏量达到多少?")
    assert not answer.refused and "412万头" in answer.text
    assert answer.citations and Path(answer.citations[0].source).name == "page.html"


@pytest.mark.parametrize("fragment", [
    "<h2>通知</h2><p>本周六停水。</p><nav>其他栏目</nav>",
    "<div><p>只有一段文字的片段。</p></div>",
])
def test_a_fragment_keeps_all_its_text(tmp_path, chunking, fragment):
    path = tmp_path / "fragment.html"
    path.write_text(fragment, encoding="utf-8")
    text = "\n".join(c.text for c in ingest_document(load_file(path), chunking))
    for piece in ("本周六停水", "其他栏目") if "通知" in fragment else ("只有一段文字的片段",):
        assert piece in text


def test_a_page_without_main_content_falls_back_to_all_its_text(tmp_path, chunking):
    path = tmp_path / "menu.html"
    path.write_text("<html><body><ul><li><a href='/a'>办事指南</a></li></ul></body></html>", encoding="utf-8")
    assert "办事指南" in load_file(path).text
