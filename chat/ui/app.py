"""The Gradio app: chat with cited sources, settings, and the document library.

``build_app(libraries)`` makes the ``gr.Blocks``; ``launch(settings)`` opens the
index in the background (building it on first run), queues requests with the
configured concurrency limit and serves the app. Each browser tab (and each
``gradio_client.Client``) is a session with its own history in ``gr.State``.

A selector above the tabs picks the knowledge base (``ragchat.kbs``) that questions and uploads
go to; knowledge bases can be created and deleted there (not ``default``). Switching clears the
conversation. Every endpoint below takes an optional last ``kb`` (default: the ``kb`` setting).

API endpoints (stable names, see README "API"):

* ``/ask`` (question, history, k, answerer) → the ``Answer`` JSON (``Answer.to_dict()``);
* ``/chat`` the UI's streaming chat; the history is the session's own;
* ``/clear`` starts a new conversation (the stored one stays in the list);
* ``/conversations`` lists the user's saved conversations; ``/open_conversation`` (id) reopens one
  into the session; ``/rename_conversation`` (title), ``/delete_conversation`` and
  ``/export_conversation`` (a Markdown file) act on the session's open one;
* ``/upload`` (files) and ``/remove`` (document ids) change the index; ``/documents`` lists it;
* ``/not_indexed`` lists the files of the documents folder that the index does not hold, and
  ``/index_not_indexed`` indexes them;
* ``/kbs`` lists the knowledge bases; ``/create_kb`` (name) and ``/delete_kb`` (name) change them.

The page speaks Chinese or English (:mod:`chat.ui.i18n`): labels through Gradio's i18n, the texts a
handler writes in the language of its request's ``Accept-Language`` (API clients: English).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import gradio as gr

from chat.conversations import ConversationStore, open_store
from chat.endpoints import configured_base_urls
from chat.ui import assets, render
from chat.ui.conversations import SavedConversations, new_session, turn_title
from chat.ui.i18n import I18N, label, language
from chat.ui.i18n import text as words  # `text` is the question in chat()
from chat.ui.documents import Library, Upload, allowed_extensions
from chat.ui.libraries import Libraries
from chat.ui.sessions import AnswererChoice, answer_once, parse_history, stream_answer
from ragchat.errors import (
    ConfigError,
    EmptyKnowledgeBaseError,
    EmptyQuestionError,
    InvalidRequestError,
    KnowledgeBaseError,
    RagchatError,
)
from ragchat.kbs import DEFAULT_KB
from ragchat.settings import Settings

EXAMPLES = [
    "上半年全市GDP增长多少?",
    "规划建设了多少所社区食堂?",
    "肉牛养殖量达到多少?",
    "下半年要推进哪些民生工程?",
    "那生态方面呢?",
    "How much did the city's GDP grow in the first half of the year?",
]

AUTH_MESSAGE = f"{words('en', 'auth_message')} / {words('zh', 'auth_message')}"  # before any language is known
CHAT_CONCURRENCY = "answers"  # /chat and /ask share the configured concurrency limit
INDEX_CONCURRENCY = "index"  # changes to the index run one at a time


class Handlers:
    """The app's event handlers, over the :class:`Libraries` of the knowledge bases. Per-session data
    (and the selected knowledge base) comes in and goes out through the components; nothing here
    holds a session's data."""

    def __init__(self, libraries: Libraries | Library, saved: SavedConversations | None = None) -> None:
        if isinstance(libraries, Library):  # one started library, served with the other KBs of its home
            libraries = Libraries(libraries.settings, preloaded=libraries)
        self.libraries = libraries
        self.saved = saved  # None when conversations are not stored

    def _library(self, kb: str | None) -> Library:
        try:
            return self.libraries.get(kb or None)
        except KnowledgeBaseError as exc:
            raise gr.Error(str(exc)) from None

    # --- knowledge bases ---------------------------------------------------------------------

    def kb_choices(self, selected: str | None = None) -> gr.Dropdown:
        names = self.libraries.names()
        value = selected if selected in names else self.libraries.default_name
        return gr.Dropdown(choices=names, value=value)

    def create_kb(self, name: str, request: gr.Request = None):
        """Create a knowledge base and select it: (selector, name box, message)."""
        try:
            made = self.libraries.create((name or "").strip())
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None
        return self.kb_choices(made.name), "", words(language(request), "kb_created", name=made.name)

    def delete_kb(self, kb: str, request: gr.Request = None):
        """Delete the selected knowledge base (not the default one), then select the default: (selector, message)."""
        lang = language(request)
        if not kb or kb == DEFAULT_KB:
            raise gr.Error(words(lang, "kb_default_kept"))
        try:
            self.libraries.delete(kb, wait=30.0)
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None
        return self.kb_choices(), words(lang, "kb_deleted", name=kb)

    def kbs(self) -> list:
        """The names of the knowledge bases, the default one first."""
        return self.libraries.names()

    # --- chat ------------------------------------------------------------------------------

    def chat(self, text: str, k: float, answerer: str, base_url: str, model: str, api_key: str,
             session: dict[str, Any], kb: str | None = None, request: gr.Request = None):
        """Stream the answer to ``text`` into the chat; at the end, its sources, warnings and JSON.
        The base URL must be one the settings allow the logged-in user (see ``chat.endpoints``).

        Yields (messages, sources, warnings, answer JSON, session, question box).
        """
        session = dict(session)
        lang = language(request)
        if not (text or "").strip():
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), session, gr.skip()
            return
        turn = len(session["turns"]) + 1
        messages = list(session["messages"]) + [
            {"role": "user", "content": render.markdown_text(text)},
            {"role": "assistant", "content": "…"},
        ]
        library = self._library(kb)
        if not library.ready:
            messages[-1] = {"role": "assistant", "content": _status(library, lang)}
            yield messages, gr.skip(), "", gr.skip(), session, ""
        try:
            service = library.wait()
        except EmptyKnowledgeBaseError as exc:
            raise gr.Error(str(exc)) from None
        except RagchatError as exc:
            raise gr.Error(words(lang, "cannot_open", error=exc)) from None
        choice = AnswererChoice(answerer or "extractive", base_url or "", model or "", api_key or "",
                                user=request.username if request is not None else None)
        partial, answer = "", None
        try:
            for event in stream_answer(service, text, session["history"], choice, k):
                if event.answer is not None:
                    answer = event.answer
                    break
                if event.notice:
                    partial = ""
                    messages[-1] = {"role": "assistant", "content": "⚠ " + render.markdown_text(event.notice)}
                else:
                    partial += event.text
                    messages[-1] = {"role": "assistant", "content": render.markdown_text(partial) + " ▍"}
                yield messages, gr.skip(), "", gr.skip(), session, ""
        except RagchatError as exc:
            plain = isinstance(exc, (EmptyQuestionError, InvalidRequestError))  # the asker's to fix
            raise gr.Error(str(exc) if plain else words(lang, "no_answer", error=exc)) from None
        assert answer is not None
        messages[-1] = {"role": "assistant", "content": render.answer_message(answer, turn)}
        title = turn_title(text, answer, lang)
        session["conversation_id"] = self._record(session.get("conversation_id"), text, answer, request.username,
                                                  kb or self.libraries.default_name, lang)
        session["messages"] = messages
        session["history"] = list(session["history"]) + [("user", text), ("assistant", answer.text)]
        session["turns"] = list(session["turns"]) + [(turn, title, render.sources_html(answer, turn, lang))]
        yield (messages, render.sources_panel(session["turns"], lang),
               render.warnings_html(render.warnings_of(answer), lang), answer.to_dict(), session, "")

    def _record(self, conversation_id: str | None, question: str, answer, user: str | None,
                kb: str, lang: str) -> str | None:
        """Store the turn; a failing database warns and the answer stays on the screen."""
        if self.saved is None:
            return None
        try:
            return self.saved.record(conversation_id, question, answer, user, kb)
        except RagchatError as exc:
            gr.Warning(words(lang, "not_saved", error=exc))
            return conversation_id

    @staticmethod
    def clear(request: gr.Request = None):
        """Start a new conversation: (messages, sources, warnings, answer JSON, session)."""
        return [], render.sources_panel([], language(request)), "", None, new_session()

    # --- saved conversations -------------------------------------------------------------

    def conversation_list(self, session: dict[str, Any], request: gr.Request):
        """The user's saved conversations, the session's open one selected; (list, title box)."""
        if self.saved is None:
            return gr.skip(), gr.skip()
        current = session.get("conversation_id")
        lang = language(request)
        try:
            choices = self.saved.choices(request.username, lang)
        except RagchatError as exc:
            raise gr.Error(words(lang, "unreadable", error=exc)) from None
        title = next((label.rsplit(" · ", 1)[0] for label, cid in choices if cid == current), "")
        return gr.Radio(choices=choices, value=current), title

    def open_conversation(self, conversation_id: str | None, request: gr.Request):
        """Reopen a saved conversation: (messages, sources, warnings, answer JSON, session)."""
        if self.saved is None or not conversation_id:
            return self.clear(request)
        lang = language(request)
        try:
            session = self.saved.reopen(conversation_id, request.username, lang)
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None
        return session["messages"], render.sources_panel(session["turns"], lang), "", None, session

    def rename_conversation(self, title: str, session: dict[str, Any], request: gr.Request) -> None:
        """Rename the open conversation."""
        conversation_id = self._open_id(session, request)
        if not (title or "").strip():
            raise gr.Error(words(language(request), "title_needed"))
        try:
            self.saved.store.rename(conversation_id, title, user=request.username)
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None

    def delete_conversation(self, session: dict[str, Any], request: gr.Request):
        """Delete the open conversation and start a new one: (messages, sources, warnings, answer JSON, session)."""
        conversation_id = self._open_id(session, request)
        try:
            self.saved.store.delete(conversation_id, user=request.username)
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None
        return self.clear(request)

    def export_conversation(self, session: dict[str, Any], request: gr.Request) -> str:
        """The open conversation as a Markdown file (questions, answers, numbered sources)."""
        conversation_id = self._open_id(session, request)
        try:
            return str(self.saved.export(conversation_id, request.username))
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None

    def _open_id(self, session: dict[str, Any], request: gr.Request | None) -> str:
        if self.saved is None:
            raise gr.Error(words(language(request), "not_stored"))
        conversation_id = session.get("conversation_id")
        if not conversation_id:
            raise gr.Error(words(language(request), "none_open"))
        return conversation_id

    def conversations(self, request: gr.Request) -> list:
        """The user's saved conversations, newest first: id, title, kb, created_at, updated_at, turns."""
        if self.saved is None:
            return []
        try:
            page = self.saved.store.list(user=request.username, limit=self.saved.page_size)
        except RagchatError as exc:
            raise gr.Error(str(exc)) from None
        return [{"id": s.id, "title": s.title, "kb": s.kb, "created_at": s.created_at.isoformat(),
                 "updated_at": s.updated_at.isoformat(), "turns": s.n_turns} for s in page.items]

    # --- documents -------------------------------------------------------------------------

    def library_view(self, kb: str | None = None, lang: str = "en"):
        """(document table, remove choices), once the index is open."""
        library = self._library(kb)
        if not library.ready or library.error is not None:
            return gr.skip(), gr.skip()
        rows = library.documents()
        choices = [(words(lang, "doc_choice", name=Path(r["source"]).name, chunks=r["n_chunks"]), r["doc_id"])
                   for r in rows]
        return render.documents_html(rows, lang), gr.Dropdown(choices=choices, value=None, multiselect=True)

    def not_indexed_view(self, kb: str | None = None, request: gr.Request = None):
        """(the not-indexed list, the "Index them" button), once the index is open."""
        library = self._library(kb)
        if not library.ready or library.error is not None:
            return gr.skip(), gr.skip()
        names = [p.name for p in library.not_indexed()]
        return render.not_indexed_html(names, language(request)), gr.Button(visible=bool(names))

    def upload(self, paths: list[str] | None, kb: str | None = None, progress=gr.Progress(track_tqdm=True),
               request: gr.Request = None):
        """Save and index uploaded files: (result, table, choices, result JSON, file box, status)."""
        lang = language(request)
        library = self._library(kb)
        _need_index(library, lang)
        if not paths:
            raise gr.Error(words(lang, "choose_files"))
        uploads = [Upload(Path(p), Path(p).name) for p in paths]
        try:
            result = library.add(uploads, lambda fraction, desc: progress(fraction, desc=desc))
        except RagchatError as exc:
            raise gr.Error(words(lang, "not_changed", error=exc)) from None
        finally:
            for upload in uploads:  # Gradio's temporary copy: the document now lives in documents_dir
                Path(upload.path).unlink(missing_ok=True)
        return (render.update_html(result.to_dict(), lang), *self.library_view(kb, lang), result.to_dict(), None,
                _status(library, lang))

    def remove(self, targets: list[str] | None, kb: str | None = None, request: gr.Request = None):
        """Remove documents by id: (result, table, choices, result JSON, status)."""
        lang = language(request)
        library = self._library(kb)
        _need_index(library, lang)
        if not targets:
            raise gr.Error(words(lang, "choose_documents"))
        try:
            result = library.remove(targets)
        except RagchatError as exc:
            raise gr.Error(words(lang, "not_changed", error=exc)) from None
        return (render.update_html(result.to_dict(), lang), *self.library_view(kb, lang), result.to_dict(),
                _status(library, lang))

    def index_not_indexed(self, kb: str | None = None, request: gr.Request = None):
        """Index the files of the documents folder that the index does not hold:
        (result, table, choices, result JSON, status)."""
        lang = language(request)
        library = self._library(kb)
        _need_index(library, lang)
        try:
            result = library.index_not_indexed()
        except RagchatError as exc:
            raise gr.Error(words(lang, "not_changed", error=exc)) from None
        return (render.update_html(result.to_dict(), lang), *self.library_view(kb, lang), result.to_dict(),
                _status(library, lang))

    def tick(self, kb: str | None = None, request: gr.Request = None):
        """(status, table, choices, timer, not-indexed list, its button): polled until the index is open."""
        library = self._library(kb)
        lang = language(request)
        return (_status(library, lang), *self.library_view(kb, lang), gr.Timer(active=not library.ready),
                *self.not_indexed_view(kb, request))

    # --- API only ----------------------------------------------------------------------------

    def ask(self, question: str, history: list | str | None = None, k: int | None = None,
            answerer: str | None = None, kb: str | None = None) -> dict:
        """Answer a question. history: [[role, text], ...] or [{"role", "content"}, ...] (roles
        user/assistant), oldest first; k: passages to retrieve (1 to 100; empty: retrieval.k);
        answerer: extractive or llm; kb: the knowledge base (empty: the default one).
        Returns the Answer JSON (the shape of `ragchat ask --json`)."""
        try:
            turns = parse_history(history)
            service = self._library(kb).wait()
            choice = AnswererChoice(answerer or ("llm" if service.endpoint is not None else "extractive"))
            return answer_once(service, question, turns, choice, k).to_dict()
        except (RagchatError, ValueError) as exc:
            raise gr.Error(str(exc)) from None

    def documents(self, kb: str | None = None) -> list:
        """The indexed documents: doc_id, source, n_chunks, n_chars, bytes, indexed_at."""
        library = self._library(kb)
        _need_index(library)
        return library.documents()

    def not_indexed(self, kb: str | None = None) -> list:
        """The names of the files in the documents folder that the index does not hold."""
        library = self._library(kb)
        _need_index(library)
        return [p.name for p in library.not_indexed()]


def build_app(libraries: Libraries | Library, conversations: ConversationStore | None = None) -> gr.Blocks:
    """The Blocks: the knowledge-base selector, a Chat tab and a Documents tab, wired to :class:`Handlers`.
    A single started :class:`Library` is served with the other knowledge bases of its home.
    ``conversations``: the store of saved conversations; by default the settings' one (none when they are off)."""
    if isinstance(libraries, Library):
        libraries = Libraries(libraries.settings, preloaded=libraries)
    settings = libraries.settings
    store = conversations if conversations is not None else open_store(settings)
    saved = SavedConversations(store, settings.conversations.page_size) if store is not None else None
    handlers = Handlers(libraries, saved)
    with gr.Blocks(title="ragchat", analytics_enabled=False) as demo:
        gr.Markdown(label("title"))
        libraries.get()  # the default knowledge base starts opening now
        status = gr.Markdown("", label="status", elem_id="rc-status")  # filled in the page's language on load
        kb, kb_message = _kb_row(handlers)
        with gr.Tab(label("tab_chat"), elem_id="rc-tab-chat"):
            cleared, relist = _chat_tab(handlers, settings, kb)
        with gr.Tab(label("tab_documents"), elem_id="rc-tab-documents"):
            documents, to_remove, unindexed, index_them = _documents_tab(handlers, settings, status, kb)
        timer = gr.Timer(1.0)
        outputs = [status, documents, to_remove, timer, unindexed, index_them]
        timer.tick(handlers.tick, [kb], outputs, queue=False, api_visibility="private", show_progress="hidden")
        demo.load(handlers.tick, [kb], outputs, queue=False, api_visibility="private", show_progress="hidden")
        demo.load(handlers.kb_choices, [kb], [kb], queue=False, api_visibility="private", show_progress="hidden")
        # another knowledge base: its conversation starts afresh, its status and documents are shown
        switched = kb.change(handlers.clear, None, cleared, queue=False, api_visibility="private",
                             show_progress="hidden"
                             ).then(handlers.tick, [kb], outputs, queue=False, api_visibility="private",
                                    show_progress="hidden")
        if relist is not None:  # the user's saved conversations, after a reload or a restart too
            demo.load(**relist)
            switched.then(**relist)
        gr.api(handlers.ask, api_name="ask", concurrency_id=CHAT_CONCURRENCY)
        gr.api(handlers.documents, api_name="documents", queue=False)
        gr.api(handlers.conversations, api_name="conversations", queue=False)
        gr.api(handlers.not_indexed, api_name="not_indexed", queue=False)
        gr.api(handlers.kbs, api_name="kbs", queue=False)
    return demo


def _kb_row(handlers: Handlers) -> tuple[gr.Dropdown, gr.Markdown]:
    """The knowledge-base selector, with creating a new one and deleting the selected one."""
    with gr.Row(equal_height=True):
        kb = gr.Dropdown(handlers.libraries.names(), value=handlers.libraries.default_name, label=label("kb"),
                         elem_id="rc-kb", scale=2, interactive=True)
        new_name = gr.Textbox(label=label("kb_new"), placeholder=label("kb_new_placeholder"),
                              elem_id="rc-kb-name", scale=2)
        create = gr.Button(label("kb_create"), elem_id="rc-kb-create", scale=1)
        delete = gr.Button(label("kb_delete"), variant="stop", elem_id="rc-kb-delete", scale=1)
    message = gr.Markdown("", elem_id="rc-kb-message")
    create.click(handlers.create_kb, [new_name], [kb, new_name, message], api_name="create_kb",
                 concurrency_id=INDEX_CONCURRENCY, concurrency_limit=1)
    new_name.submit(handlers.create_kb, [new_name], [kb, new_name, message], api_visibility="private",
                    concurrency_id=INDEX_CONCURRENCY, concurrency_limit=1)
    delete.click(handlers.delete_kb, [kb], [kb, message], api_name="delete_kb",
                 concurrency_id=INDEX_CONCURRENCY, concurrency_limit=1)
    return kb, message


def _chat_tab(handlers: Handlers, settings: Settings, kb: gr.Dropdown) -> tuple[list, dict[str, Any] | None]:
    """The chat; returns the outputs a new conversation clears, and the event that refreshes the saved
    conversations' list (None without them)."""
    state = gr.State(new_session())
    with gr.Row(equal_height=False):
        saved = _conversations_column(handlers) if handlers.saved is not None else None
        with gr.Column(scale=3):
            chatbot = gr.Chatbot(
                label=label("conversation"), elem_id="rc-chat", height=460, latex_delimiters=[],
                feedback_options=None, buttons=["copy"], sanitize_html=True,
            )
            question = gr.Textbox(
                label=label("question"), placeholder=label("question_placeholder"),
                elem_id="rc-question", lines=1, max_lines=4, autofocus=True,
            )
            with gr.Row():
                ask = gr.Button(label("ask"), variant="primary", elem_id="rc-ask")
                clear = gr.Button(label("new_conversation"), elem_id="rc-clear")
            gr.Examples(EXAMPLES, inputs=[question], label=label("examples"))
        with gr.Column(scale=2):
            warnings = gr.HTML("", label="warnings", elem_id="rc-warnings")
            gr.Markdown(label("sources"))
            sources = gr.HTML(_empty_sources(), label="sources", elem_id="rc-sources")
    with gr.Accordion(label("settings"), open=False, elem_id="rc-settings"):
        with gr.Row():
            k = gr.Slider(1, 20, value=settings.retrieval.k, step=1, label=label("top_k"))
            answerer = gr.Radio(
                ["extractive", "llm"], label=label("answerer"),
                value="llm" if settings.llm.base_url and settings.llm.model else "extractive",
                info=label("answerer_info"),
            )
        with gr.Row():
            configured = configured_base_urls(settings)
            info = f"{label('base_url_configured')} {', '.join(configured)}" if configured else None
            base_url = gr.Textbox(settings.llm.base_url, label=label("base_url"),
                                  placeholder="http://127.0.0.1:8080/v1", info=info)
            model = gr.Textbox(settings.llm.model, label=label("model"))
            api_key = gr.Textbox("", label=label("api_key"), type="password",
                                 placeholder=label("api_key_placeholder"))
    with gr.Accordion(label("answer_json"), open=False):
        answer_json = gr.JSON(label=label("answer"))

    inputs = [question, k, answerer, base_url, model, api_key, state, kb]
    outputs = [chatbot, sources, warnings, answer_json, state, question]
    cleared = [chatbot, sources, warnings, answer_json, state]
    asked = ask.click(handlers.chat, inputs, outputs, api_name="chat", concurrency_id=CHAT_CONCURRENCY)
    submitted = question.submit(handlers.chat, inputs, outputs, api_name="chat_submit", api_visibility="undocumented",
                                concurrency_id=CHAT_CONCURRENCY)
    cleared_events = [clear.click(handlers.clear, None, cleared, api_name="clear", queue=False),
                      chatbot.clear(handlers.clear, None, cleared, api_visibility="private", queue=False)]
    if saved is None:
        return cleared, None
    listing, title, rename, delete, export, exported = saved
    relist = dict(fn=handlers.conversation_list, inputs=[state], outputs=[listing, title], queue=False,
                  api_visibility="private", show_progress="hidden")
    for event in (asked, submitted, *cleared_events):
        event.then(**relist)
    listing.input(handlers.open_conversation, [listing], cleared, api_name="open_from_list",
                  api_visibility="private").then(**relist)
    # the API's way in: an id as text (the list accepts only the ids it shows this session)
    open_id = gr.Textbox(visible=False)
    open_by_id = gr.Button(visible=False)
    open_by_id.click(handlers.open_conversation, [open_id], cleared, api_name="open_conversation").then(**relist)
    rename.click(handlers.rename_conversation, [title, state], None, api_name="rename_conversation",
                 queue=False).then(**relist)
    delete.click(handlers.delete_conversation, [state], cleared, api_name="delete_conversation",
                 queue=False).then(**relist)
    export.click(handlers.export_conversation, [state], [exported], api_name="export_conversation")
    return cleared, relist


def _conversations_column(handlers: Handlers):
    """The saved conversations: the list (click one to reopen it), rename, delete, export."""
    with gr.Column(scale=1, min_width=220):
        listing = gr.Radio([], value=None, label=label("saved"), elem_id="rc-conversations",
                           info=label("saved_info"))
        title = gr.Textbox("", label=label("conversation_title"), elem_id="rc-conversation-title", max_lines=1)
        with gr.Row():
            rename = gr.Button(label("rename"), size="sm", elem_id="rc-rename")
            delete = gr.Button(label("delete"), size="sm", variant="stop", elem_id="rc-delete")
        export = gr.Button(label("export"), size="sm", elem_id="rc-export")
        exported = gr.File(label=label("exported"), interactive=False, elem_id="rc-exported")
    return listing, title, rename, delete, export, exported


def _documents_tab(handlers: Handlers, settings: Settings, status: gr.Markdown,
                   kb: gr.Dropdown) -> tuple[gr.HTML, gr.Dropdown, gr.HTML, gr.Button]:
    # one translated sentence per Markdown: the browser translates the first key of a text only
    gr.Markdown(f"{label('upload_help')} {', '.join(allowed_extensions(settings))} · "
                f"≤ {settings.ui.max_upload_mb:g} MiB", elem_id="rc-upload-help")
    gr.Markdown(label("upload_swap"))
    files = gr.File(label=label("files"), file_count="multiple", type="filepath", elem_id="rc-files")
    upload = gr.Button(label("upload"), variant="primary", elem_id="rc-upload")
    result = gr.HTML("", label="update", elem_id="rc-update")
    result_json = gr.JSON(label=label("result"), visible=False)
    gr.Markdown(label("indexed_documents"))
    documents = gr.HTML("", label="documents", elem_id="rc-documents")
    with gr.Row():
        to_remove = gr.Dropdown([], multiselect=True, label=label("to_remove"), allow_custom_value=True,
                                scale=4, elem_id="rc-remove-choice")
        remove = gr.Button(label("remove"), variant="stop", scale=1, elem_id="rc-remove")
    unindexed = gr.HTML("", label="not indexed", elem_id="rc-not-indexed")
    index_them = gr.Button(label("index_them"), visible=False, elem_id="rc-index-them")
    changed = [result, documents, to_remove, result_json, status]
    unindexed_view = dict(fn=handlers.not_indexed_view, inputs=[kb], outputs=[unindexed, index_them],
                          queue=False, api_visibility="private", show_progress="hidden")
    upload.click(handlers.upload, [files, kb], [result, documents, to_remove, result_json, files, status],
                 api_name="upload", concurrency_id=INDEX_CONCURRENCY, concurrency_limit=1).then(**unindexed_view)
    remove.click(handlers.remove, [to_remove, kb], changed,
                 api_name="remove", concurrency_id=INDEX_CONCURRENCY, concurrency_limit=1).then(**unindexed_view)
    index_them.click(handlers.index_not_indexed, [kb], changed, api_name="index_not_indexed",
                     concurrency_id=INDEX_CONCURRENCY, concurrency_limit=1).then(**unindexed_view)
    return documents, to_remove, unindexed, index_them


def _empty_sources() -> str:
    """The empty sources panel before the first request: its words translated by the browser."""
    return f'<div class="rc-empty">{label("sources_empty")}</div>'


def _need_index(library: Library, lang: str = "en") -> None:
    try:
        library.wait_loaded(timeout=600)
    except (RagchatError, TimeoutError) as exc:
        raise gr.Error(words(lang, "unavailable", error=exc)) from None


def _status(library: Library, lang: str = "en") -> str:
    """The status line of ``library``, in ``lang``."""
    if not library.ready:
        return words(lang, "status_building" if library.first_build else "status_opening")
    if library.error is not None:
        return words(lang, "status_failed", error=library.error)
    if library.empty:
        return words(lang, "status_empty", kb=library.settings.kb)
    snapshot = library.service.snapshot
    ready = words(lang, "status_ready", documents=len(snapshot.documents), chunks=len(snapshot.chunks))
    orphans = len(library.not_indexed())
    if orphans:
        ready += words(lang, "status_orphans", n=orphans)
    if snapshot.damage:
        ready += words(lang, "status_damaged", damage=snapshot.damage)
    return ready


def auth_from_settings(settings: Settings) -> tuple[str, str] | None:
    """The login, when ``ui.auth_username`` is set; the password comes from its environment variable."""
    user = settings.ui.auth_username.strip()
    if not user:
        return None
    password = os.environ.get(settings.ui.auth_password_env, "")
    if not password:
        raise ConfigError(
            f"ui.auth_username is set but ${settings.ui.auth_password_env} is empty; "
            "set the password in that environment variable, or clear ui.auth_username"
        )
    return (user, password)


def theme() -> gr.themes.Base:
    """The default theme with system fonts: nothing is fetched from the network."""
    return gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def launch(settings: Settings, host: str | None = None, port: int | None = None, block: bool = True,
           library: Library | None = None, quiet: bool = False,
           conversations: ConversationStore | None = None) -> tuple[gr.Blocks, str]:
    """Serve the app; returns the Blocks and its URL (``block=False`` returns at once)."""
    auth = auth_from_settings(settings)
    if library is None:
        library = Library(settings)
        library.start()
    demo = build_app(Libraries(settings, preloaded=library), conversations)
    demo.queue(default_concurrency_limit=settings.ui.concurrency_limit)
    _, url, _ = demo.launch(
        server_name=host or settings.ui.host,
        server_port=port or settings.ui.port,
        auth=auth,
        auth_message=AUTH_MESSAGE if auth else None,
        max_file_size=int(settings.ui.max_upload_mb * 2**20),
        prevent_thread_lock=not block,
        show_error=False,
        quiet=quiet,
        ssr_mode=False,
        run_history=False,  # it would keep every call's inputs (the API key too) in the browser
        footer_links=["api", "settings"],
        theme=theme(),
        css=assets.CSS,
        head=assets.HEAD,
        i18n=I18N,
    )
    return demo, url
