"""The UI's own words in English and Simplified Chinese, and how a request picks its language.

One table per language, the same keys in both. Two paths use them:

* labels, placeholders, tab names, buttons and fixed Markdown go to the browser as keys
  (:data:`I18N`, Gradio's ``gr.I18n``); the page's language (``navigator.language``) picks the
  table there: Gradio's frontend knows ``zh-CN`` and ``zh-TW``, which fall back to our ``zh``
  table; anything else (a bare ``zh`` or ``zh-HK`` too) gets English;
* what the server writes for a request (status lines, ``gr.Error`` texts, the HTML of sources,
  documents and upload results) uses :func:`text` in the language of the request's
  ``Accept-Language`` (:func:`language`): the same choice, made from the header the browser sends.

Library error messages (``ragchat.errors``) are not translated: they stay English inside the
translated sentence.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

EN = "en"
ZH = "zh"
LANGUAGES = (EN, ZH)

WORDS: dict[str, dict[str, str]] = {
    EN: {
        # page and knowledge-base row
        "title": "## ragchat: questions about your reports, answered with cited passages",
        "auth_message": "ragchat: log in to ask about the documents.",
        "kb": "Knowledge base",
        "kb_new": "New knowledge base",
        "kb_new_placeholder": "name: letters, digits, - and _",
        "kb_create": "Create",
        "kb_delete": "Delete selected",
        "kb_created": "Created the knowledge base **{name}**: upload documents to it.",
        "kb_deleted": "Deleted the knowledge base **{name}**.",
        "kb_default_kept": "the default knowledge base cannot be deleted",
        # chat tab
        "tab_chat": "Chat",
        "conversation": "Conversation",
        "question": "Question",
        "question_placeholder": "Ask about the documents (Chinese or English)",
        "ask": "Ask",
        "new_conversation": "New conversation",
        "examples": "Examples",
        "sources": "### Sources",
        "settings": "Settings",
        "top_k": "Passages retrieved (top-k)",
        "answerer": "Answerer",
        "answerer_info": "extractive: sentences of the documents, no model; llm: an OpenAI-compatible endpoint",
        "base_url": "LLM base URL",
        "base_url_configured": "configured:",
        "model": "LLM model",
        "api_key": "API key",
        "api_key_placeholder": "sent to the endpoint only; never stored or shown",
        "answer_json": "Answer JSON (what /ask returns)",
        "answer": "Answer",
        # saved conversations
        "saved": "Saved conversations",
        "saved_info": "Click one to reopen it.",
        "conversation_title": "Title",
        "rename": "Rename",
        "delete": "Delete",
        "export": "Export as Markdown",
        "exported": "Markdown export",
        "untitled": "Untitled",
        "searched_as": "{question} (searched as: {standalone})",
        "title_needed": "type a title first",
        "not_stored": "conversations are not stored (conversations.enabled is off)",
        "none_open": "no saved conversation is open: ask a question, or choose one in the list",
        "not_saved": "the conversation was not saved: {error}",
        "unreadable": "the saved conversations cannot be read: {error}",
        # documents tab
        "tab_documents": "Documents",
        "upload_help": "Upload one or more files at once. Accepted types and the size limit per file:",
        "upload_swap": "Questions keep being answered from the previous index until the new one is ready.",
        "files": "Files to add",
        "upload": "Upload and index",
        "result": "Result",
        "indexed_documents": "### Indexed documents",
        "to_remove": "Documents to remove",
        "remove": "Remove",
        "index_them": "Index them",
        "doc_choice": "{name} ({chunks} chunks)",
        "choose_files": "choose one or more files to upload first",
        "choose_documents": "choose the documents to remove first",
        "not_changed": "the index was not changed: {error}",
        "unavailable": "the index is not available: {error}",
        # answers
        "cannot_open": "the index could not be opened: {error}",
        "no_answer": "no answer: {error}",
        # status line
        "status_building": ("**Building the index of the bundled report** (first run, about 10–20 s)… "
                            "Questions wait until it is ready."),
        "status_opening": "**Opening the index…**",
        "status_failed": "⚠ The index could not be opened: {error}",
        "status_empty": "The knowledge base **{kb}** holds no documents yet: upload some in the Documents tab.",
        "status_ready": "Ready: {documents} document(s), {chunks} chunks.",
        "status_orphans": " {n} file(s) in the documents folder are not indexed: see Documents.",
        "status_damaged": (" ⚠ The live index version is damaged: {damage}. "
                           "Answering from the older version meanwhile."),
        # render.py: sources, warnings, documents, upload results
        "warnings": "Warnings",
        "page": "p. {page}",
        "pages": "pp. {pages}",
        "score": "score {score} · dense {dense} · keyword {keyword}",
        "other_passages": "{n} other retrieved passage(s)",
        "sources_empty": "Sources of the answers appear here.",
        "no_citation": "No passage cited.",
        "answer_title": "Answer {turn}: {question}",
        "no_documents": "No documents indexed.",
        "col_document": "document",
        "col_chunks": "chunks",
        "col_size": "size",
        "col_indexed": "indexed",
        "col_id": "id",
        "chars": "{n} chars",
        "not_indexed": ("<strong>Not indexed</strong>: saved in the documents folder but not in the index "
                        "(an upload may have stopped before indexing)."),
        "added": "added",
        "updated": "updated",
        "unchanged": "unchanged",
        "removed": "removed",
        "skipped": "skipped",
        "nothing_changed": "nothing changed",
        "index_note": "index: {documents} documents, {chunks} chunks ({seconds} s)",
    },
    ZH: {
        "title": "## ragchat：就您的报告提问，回答附带引用原文",
        "auth_message": "ragchat：登录后即可就文档提问。",
        "kb": "知识库",
        "kb_new": "新建知识库",
        "kb_new_placeholder": "名称：字母、数字、- 和 _",
        "kb_create": "创建",
        "kb_delete": "删除所选",
        "kb_created": "已创建知识库 **{name}**：请上传文档。",
        "kb_deleted": "已删除知识库 **{name}**。",
        "kb_default_kept": "默认知识库不能删除",
        "tab_chat": "问答",
        "conversation": "对话",
        "question": "问题",
        "question_placeholder": "就文档提问（中文或英文）",
        "ask": "提问",
        "new_conversation": "新对话",
        "examples": "示例",
        "sources": "### 来源",
        "settings": "设置",
        "top_k": "检索段落数（top-k）",
        "answerer": "回答方式",
        "answerer_info": "extractive：摘取文档原句，不用模型；llm：OpenAI 兼容的接口",
        "base_url": "LLM 接口地址",
        "base_url_configured": "已配置：",
        "model": "LLM 模型",
        "api_key": "API 密钥",
        "api_key_placeholder": "只发送给该接口，不会保存或显示",
        "answer_json": "回答 JSON（/ask 的返回）",
        "answer": "回答",
        "saved": "历史对话",
        "saved_info": "点击即可重新打开。",
        "conversation_title": "标题",
        "rename": "重命名",
        "delete": "删除",
        "export": "导出为 Markdown",
        "exported": "Markdown 导出",
        "untitled": "未命名",
        "searched_as": "{question}（检索为：{standalone}）",
        "title_needed": "请先输入标题",
        "not_stored": "未保存对话（conversations.enabled 已关闭）",
        "none_open": "没有打开的历史对话：请先提问，或在列表中选择一个",
        "not_saved": "对话未能保存：{error}",
        "unreadable": "无法读取历史对话：{error}",
        "tab_documents": "文档",
        "upload_help": "可一次上传多个文件。可接受的类型及单个文件大小上限：",
        "upload_swap": "新索引就绪前，问题仍由原索引回答。",
        "files": "要添加的文件",
        "upload": "上传并索引",
        "result": "结果",
        "indexed_documents": "### 已索引的文档",
        "to_remove": "要移除的文档",
        "remove": "移除",
        "index_them": "索引这些文件",
        "doc_choice": "{name}（{chunks} 个片段）",
        "choose_files": "请先选择要上传的文件",
        "choose_documents": "请先选择要移除的文档",
        "not_changed": "索引未改变：{error}",
        "unavailable": "索引不可用：{error}",
        "cannot_open": "无法打开索引：{error}",
        "no_answer": "未能回答：{error}",
        "status_building": "**正在为内置报告建立索引**（首次运行，约 10–20 秒）… 索引就绪后再回答问题。",
        "status_opening": "**正在打开索引…**",
        "status_failed": "⚠ 无法打开索引：{error}",
        "status_empty": "知识库 **{kb}** 还没有文档：请在“文档”页上传。",
        "status_ready": "就绪：{documents} 个文档，{chunks} 个片段。",
        "status_orphans": " 文档文件夹中有 {n} 个文件未索引：见“文档”页。",
        "status_damaged": " ⚠ 当前索引版本已损坏：{damage}。暂由上一版本回答。",
        "warnings": "警告",
        "page": "第 {page} 页",
        "pages": "第 {pages} 页",
        "score": "得分 {score} · 向量 {dense} · 关键词 {keyword}",
        "other_passages": "另外检索到的 {n} 个段落",
        "sources_empty": "回答的来源将显示在这里。",
        "no_citation": "没有引用段落。",
        "answer_title": "回答 {turn}：{question}",
        "no_documents": "还没有已索引的文档。",
        "col_document": "文档",
        "col_chunks": "片段",
        "col_size": "大小",
        "col_indexed": "索引时间",
        "col_id": "ID",
        "chars": "{n} 字符",
        "not_indexed": "<strong>未索引</strong>：已存入文档文件夹，但不在索引中（上传可能在索引前中断）。",
        "added": "新增",
        "updated": "更新",
        "unchanged": "未变",
        "removed": "移除",
        "skipped": "跳过",
        "nothing_changed": "没有变化",
        "index_note": "索引：{documents} 个文档，{chunks} 个片段（{seconds} 秒）",
    },
}

I18N = gr.I18n(**WORDS)  # zh-CN and zh-TW find "zh" through the frontend's locale fallback


def label(key: str) -> Any:
    """A key for the browser to translate (a component's label, info, placeholder, value)."""
    if key not in WORDS[EN]:
        raise KeyError(f"no UI text {key!r}")
    return I18N(key)


# The browser tags for which Gradio's frontend shows the ``zh`` table: the server makes the same
# choice, so that one page never mixes the two languages.
CHINESE_TAGS = ("zh-cn", "zh-tw")


def language(request: Any = None) -> str:
    """The language of a request: ``zh`` when its most preferred ``Accept-Language`` is ``zh-CN`` or
    ``zh-TW`` (as the page's labels), else ``en``; ``en`` without a request or header (API clients)."""
    headers = getattr(request, "headers", None)
    header = headers.get("accept-language", "") if headers is not None else ""
    return ZH if preferred(header) in CHINESE_TAGS else EN


def preferred(header: str) -> str:
    """The most preferred language tag of an ``Accept-Language`` header, lower case; ``""`` for none."""
    best, best_q = "", 0.0
    for part in header.split(","):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and tag != "*" and q > best_q:
            best, best_q = tag.strip().lower(), q
    return best


def text(lang: str, key: str, **values: Any) -> str:
    """The UI text ``key`` in ``lang`` (English for any other), with ``values`` filled in."""
    words = WORDS.get(lang, WORDS[EN])
    return words[key].format(**values) if values else words[key]
